"""ServedRainSource: RainSource's surface over the C ABI's producer process."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from raingan import ServedRainSource
from raingan.core.limits import SettingRangeError
from raingan.runtime.served_source import ServedSourceError


def _first_buffers(seed: int, count: int = 8) -> np.ndarray:
    with ServedRainSource(sample_rate=44_100, channels=2, seed=seed) as rain:
        buffer, out = np.zeros((512, 2), np.float32), []
        for _ in range(count):
            assert rain.render(buffer) == 512
            out.append(buffer.copy())
        planar = np.zeros((2, 256), np.float32)
        assert rain.render_planar(planar) == 256
        # Checked natively, as RainSource's core checks them, before anything is written.
        with pytest.raises(TypeError, match="float32"):
            rain.render(np.zeros((64, 2)))
        with pytest.raises(ValueError, match="shape"):
            rain.render(np.zeros((64, 3), np.float32))
        with pytest.raises(ValueError, match="C-contiguous"):
            rain.render_planar(np.zeros((64, 2), np.float32).T)
        with pytest.raises(ValueError, match="frame"):
            rain.render(np.zeros((70_000, 2), np.float32))
        rain.gain_db, rain.width, rain.intensity = -6.0, 0.5, 0.8
        stats = rain.stats()
        assert stats.frames_rendered == count * 512 + 256 and stats.error is None
        assert stats.producer_pid > 0
        assert np.any(planar != 0)
    return np.concatenate(out)


def test_renders_the_same_rain_for_the_same_seed_and_silence_once_stopped():
    first, again = _first_buffers(5), _first_buffers(5)
    assert np.all(np.isfinite(first)) and np.abs(first).max() <= 1.0
    assert np.sqrt(np.mean(first ** 2)) > 1e-3
    # wait_ready filled the ring before the first render: the stream itself, as seeded.
    np.testing.assert_array_equal(first, again)
    rain = ServedRainSource(seed=1)
    buffer = np.ones((64, 2), np.float32)
    assert rain.render(buffer) == 64 and not buffer.any()  # not started: silence
    assert rain.stats().frames_rendered == 0 and not rain.running


def test_bad_settings_and_buffers_are_refused_with_one_line(tmp_path):
    for settings, name in (({"latency_ms": 5.0}, "latency"), ({"channels": 3}, "channels"),
                           ({"gain_db": float("nan")}, "gain"), ({"seed": -1}, "seed"),
                           ({"sample_rate": 1000}, "sample rate")):
        with pytest.raises(SettingRangeError, match=name):
            ServedRainSource(**settings)
    with pytest.raises(SettingRangeError, match="no such model file"):
        ServedRainSource(tmp_path / "missing.onnx")
    rain = ServedRainSource(channels=2, seed=1)
    with pytest.raises(TypeError, match="float32"):
        rain.render(np.zeros((64, 2)))
    with pytest.raises(ValueError, match="shape"):
        rain.render(np.zeros((64, 1), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        rain.render(np.zeros((2, 64), np.float32).T)
    with pytest.raises(ValueError, match="shape"):
        rain.render_planar(np.zeros((64, 2), np.float32))
    with pytest.raises(SettingRangeError, match="intensity"):
        rain.intensity = 1.5


def test_a_bad_model_fails_start_with_the_producers_line_and_leaves_nothing_running(tmp_path):
    fake = tmp_path / "fake.onnx"
    fake.write_bytes(b"not a model")
    rain = ServedRainSource(fake, seed=1)
    started = time.monotonic()
    with pytest.raises(ServedSourceError) as failure:
        rain.start(timeout_s=60)
    assert time.monotonic() - started < 60
    message = str(failure.value)
    assert "\n" not in message and "fake.onnx" in message, message
    assert not rain.running


def test_the_host_process_loads_neither_onnxruntime_nor_the_model():
    script = ("import sys, numpy as np, raingan\n"
              "with raingan.ServedRainSource(seed=2) as rain:\n"
              "    rain.render(np.zeros((256, 2), np.float32))\n"
              "print(sorted(m for m in ('onnxruntime', 'scipy', 'raingan.runtime.generator')"
              " if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
