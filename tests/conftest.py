from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "rain"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def rain_path() -> Path:
    """A short real rain recording (7 s, mono, 44.1 kHz) from the bundled corpus."""
    return DATA / "flightgear_rain.wav"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """An .onnx generator from two steps of the tiny preset on synthetic noise (untrained,
    but a real export with real metadata)."""
    import soundfile as sf

    from raingan.export.onnx_export import export_model
    from raingan.training.train import TrainRequest, train

    root = tmp_path_factory.mktemp("tiny_model")
    (root / "data").mkdir()
    noise = 0.1 * np.random.default_rng(3).standard_normal((60_000, 1))
    sf.write(root / "data" / "noise.wav", noise, 44_100)
    train(TrainRequest(root / "data", root / "run", preset="tiny", steps=2,
                       overrides={"eval_every": 0}, progress=False))
    return export_model(root / "run", root / "tiny.onnx", colour_seconds=0).path


@pytest.fixture(scope="session")
def tiny_stream_model(tmp_path_factory) -> Path:
    """An .onnx streaming generator (``stream-tiny``, two steps on synthetic noise)."""
    import soundfile as sf

    from raingan.export.onnx_export import export_model
    from raingan.training.train import TrainRequest, train

    root = tmp_path_factory.mktemp("tiny_stream_model")
    (root / "data").mkdir()
    noise = 0.1 * np.random.default_rng(4).standard_normal((60_000, 1))
    sf.write(root / "data" / "noise.wav", noise, 44_100)
    train(TrainRequest(root / "data", root / "run", preset="stream-tiny", steps=2,
                       overrides={"eval_every": 0}, progress=False))
    return export_model(root / "run", root / "stream.onnx", colour_seconds=0).path
