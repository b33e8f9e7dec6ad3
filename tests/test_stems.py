"""`raingan stems`: variations, loudness normalisation and the manifest."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from raingan.core.errors import OutputPathError
from raingan.runtime.generator import Generator
from raingan.runtime.render import RenderSettings
from raingan.runtime.stems import render_stems
from raingan.runtime.stream import StreamSettingsError

RAINGAN = [str(Path(sys.executable).with_name("raingan"))]


def test_stems_are_distinct_normalised_and_described(tiny_model, tmp_path):
    out = tmp_path / "stems"
    result = subprocess.run([*RAINGAN, "stems", str(out), "--count", "3", "--seconds", "2",
                             "--model", str(tiny_model), "--seed", "40", "--lufs", "-20"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "stem_01.wav",
                                                     "stem_02.wav", "stem_03.wav"]
    assert [s["seed"] for s in manifest["stems"]] == [40, 41, 42]
    assert manifest["model"]["sha256"] == hashlib.sha256(tiny_model.read_bytes()).hexdigest()
    assert manifest["settings"]["target_lufs"] == -20
    audio = [sf.read(out / s["file"], dtype="float64")[0] for s in manifest["stems"]]
    assert not np.allclose(audio[0], audio[1])
    for samples in audio:
        assert samples.shape == (96_000, 2)
        loudness = pyloudnorm.Meter(48_000).integrated_loudness(samples)
        assert abs(loudness + 20.0) < 0.5


def test_intensity_layers_line_up_and_keep_their_levels(tmp_path):
    # The bundled model: its intensity axis makes heavier layers louder.
    out = tmp_path / "layers"
    result = subprocess.run([*RAINGAN, "stems", str(out), "--count", "1", "--seconds", "4",
                             "--seed", "3", "--layers", "3", "--lufs", "-20"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    names = [s["file"] for s in manifest["stems"]]
    assert names == ["stem_01_intensity_0.00.wav", "stem_01_intensity_0.50.wav",
                     "stem_01_intensity_1.00.wav"]
    assert [s["intensity"] for s in manifest["stems"]] == [0.0, 0.5, 1.0]
    assert len({s["gain_db"] for s in manifest["stems"]}) == 1  # one gain per variation
    meter = pyloudnorm.Meter(48_000)
    loudness = [meter.integrated_loudness(sf.read(out / n, dtype="float64")[0]) for n in names]
    assert abs(loudness[-1] + 20.0) < 0.5 and loudness[0] < loudness[-1] - 3.0


def test_bad_stem_requests_leave_nothing(tiny_model, tmp_path):
    generator = Generator(tiny_model, device="cpu")
    with pytest.raises(StreamSettingsError, match="count"):
        render_stems(generator, tmp_path / "a", 0, RenderSettings(seconds=1.0))
    with pytest.raises(StreamSettingsError, match="at least"):
        render_stems(generator, tmp_path / "a", 1, RenderSettings(seconds=0.2))
    with pytest.raises(StreamSettingsError, match="LUFS"):
        render_stems(generator, tmp_path / "a", 1, RenderSettings(seconds=1.0), target_lufs=6)
    with pytest.raises(StreamSettingsError, match="layers"):
        render_stems(generator, tmp_path / "a", 1, RenderSettings(seconds=1.0), layers=1)
    with pytest.raises(OutputPathError, match="does not exist"):
        render_stems(generator, tmp_path / "no" / "a", 1, RenderSettings(seconds=1.0))
    assert list(tmp_path.iterdir()) == []


def test_a_failure_midway_leaves_no_partial_set(tiny_model, tmp_path, monkeypatch):
    from raingan.runtime import stems

    calls = []

    def failing_write(path, samples, rate, subtype=None):
        calls.append(path)
        if len(calls) == 2:
            raise OutputPathError(f"{path}: disk full")
        sf.write(path, samples, rate)

    monkeypatch.setattr(stems, "write_audio", failing_write)
    generator = Generator(tiny_model, device="cpu")
    with pytest.raises(OutputPathError, match="disk full"):
        render_stems(generator, tmp_path / "set", 3, RenderSettings(seconds=1.0, seed=1))
    assert list(tmp_path.iterdir()) == []  # no folder at all, not an empty one
