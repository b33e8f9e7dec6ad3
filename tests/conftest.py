from __future__ import annotations

import subprocess
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


def tiny_export(tmp_path_factory, preset: str, noise_seed: int) -> Path:
    """An .onnx generator from two steps of ``preset`` on synthetic noise (untrained, but a
    real export with real metadata; no colour calibration and no drop fit, which tests of
    their own exercise)."""
    import soundfile as sf

    from raingan.export.onnx_export import export_model
    from raingan.training.train import TrainRequest, train

    root = tmp_path_factory.mktemp(preset)
    (root / "data").mkdir()
    noise = 0.1 * np.random.default_rng(noise_seed).standard_normal((60_000, 1))
    sf.write(root / "data" / "noise.wav", noise, 44_100)
    train(TrainRequest(root / "data", root / "run", preset=preset, steps=2,
                       overrides={"eval_every": 0}, progress=False))
    return export_model(root / "run", root / f"{preset}.onnx", colour_seconds=0,
                        fit_drops=False).path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A chunk generator (the ``tiny`` preset; see :func:`tiny_export`)."""
    return tiny_export(tmp_path_factory, "tiny", 3)


@pytest.fixture(scope="session")
def tiny_stream_model(tmp_path_factory) -> Path:
    """A streaming generator (the ``stream-tiny`` preset; see :func:`tiny_export`)."""
    return tiny_export(tmp_path_factory, "stream-tiny", 4)


def run_leaving_no_ring(args: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run a program that makes RainGAN shared-memory rings (a C ABI consumer names each
    ``/dev/shm/raingan-<its pid>-...``) and assert it left none behind. Only its own rings
    count: tests on the other worker may hold theirs meanwhile."""
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          **kwargs) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    shm = Path("/dev/shm")
    left = sorted(p.name for p in shm.glob(f"raingan-{process.pid}-*")) if shm.is_dir() else []
    assert not left, f"a ring was left behind: {left}"
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
