"""Seamless loops: closed latent walks, cyclic stitching, and the wrap itself."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import DATA

from raingan.runtime.generator import Generator
from raingan.runtime.loop import closed_walk_latents, cyclic_stitch, fft_resample, render_loop

RAINGAN = [str(Path(sys.executable).with_name("raingan"))]


@pytest.mark.parametrize("count, rho", [(8, 0.5), (43, 0.93), (100, 0.0)])
def test_closed_walk_is_standard_normal_periodic_and_as_smooth_as_asked(count, rho):
    z = closed_walk_latents(np.random.default_rng(1), count, 256, 4.0, rho).astype(float)
    assert z.shape == (count, 256)
    assert abs(z.std() - 1.0) < 0.1
    neighbours = np.mean(np.sum(z * np.roll(z, -1, axis=0), axis=1)) / 256
    assert neighbours <= rho + 0.1
    wrap = np.sum(z[-1] * z[0]) / 256  # the last latent neighbours the first
    assert abs(wrap - neighbours) < 0.25


def test_a_short_loop_at_a_slow_drift_keeps_its_character():
    # 14 chunks (10 s) at the default drift (600 s): a stream keeps 99 % of its latents'
    # correlation over half that time, and so does the loop between its farthest chunks (a
    # closed curve alone would pass through the opposite of its start).
    rho = np.exp(-0.697 / 600.0)
    z = closed_walk_latents(np.random.default_rng(2), 14, 256, 4.0, rho).astype(float)
    assert abs(z.std() - 1.0) < 0.1
    assert np.sum(z[0] * z[7]) / np.sqrt(np.sum(z[0] ** 2) * np.sum(z[7] ** 2)) > 0.95


def test_cyclic_stitch_keeps_power_across_every_seam_including_the_wrap():
    rng = np.random.default_rng(0)
    chunks = rng.standard_normal((6, 4000, 1)).astype(np.float32)
    out = cyclic_stitch(chunks, crossfade=500)
    assert out.shape == (6 * 3500, 1)
    power = np.convolve(out[:, 0] ** 2, np.ones(500) / 500, mode="valid")
    assert 0.75 < power.min() and power.max() < 1.3
    head = np.concatenate([out[-250:], out[:250]])  # across the wrap
    assert 0.7 < float(np.mean(head ** 2)) < 1.3
    # Chunks that agree where they overlap (a streaming model's) keep their power too.
    signal = rng.standard_normal(6 * 3500).astype(np.float32)
    agreeing = np.stack([np.roll(signal, -3500 * k)[:4000] for k in range(6)])[..., None]
    looped = cyclic_stitch(agreeing, crossfade=500)
    np.testing.assert_allclose(looped[:, 0], signal, atol=1e-5)  # the signal itself, seamless



@pytest.mark.parametrize("frames, num", [(1000, 1088), (1001, 1088), (1088, 1000),
                                         (1088, 1001), (999, 999), (64, 4000)])
def test_fft_resample_is_scipy_signal_resample(frames, num):
    from scipy.signal import resample

    x = np.random.default_rng(frames).standard_normal((frames, 2)).astype(np.float32)
    np.testing.assert_array_equal(fft_resample(x, num), resample(x, num, axis=0))
    np.testing.assert_array_equal(fft_resample(x[:, :1], num), resample(x[:, :1], num, axis=0))


@pytest.fixture(scope="module")
def generator(tiny_model) -> Generator:
    return Generator(tiny_model, device="cpu")


def test_loop_has_the_exact_length_and_no_step_at_the_wrap(generator):
    loop = render_loop(generator, 5.0, 48_000, 2, seed=3).samples
    assert loop.shape == (240_000, 2) and np.all(np.isfinite(loop))
    twice = np.concatenate([loop, loop])
    steps = np.abs(np.diff(twice, axis=0))
    wrap = steps[loop.shape[0] - 1]
    assert np.all(wrap <= np.quantile(steps, 0.999, axis=0))
    # Level around the wrap, 50 ms windows, lies within the loop's own range of levels.
    window = 2400
    levels = [np.sqrt(np.mean(twice[i:i + window] ** 2)) for i in range(0, 240_000, window)]
    at_wrap = np.sqrt(np.mean(twice[240_000 - window // 2:240_000 + window // 2] ** 2))
    assert min(levels) <= at_wrap <= max(levels)
    again = render_loop(generator, 5.0, 48_000, 2, seed=3).samples
    np.testing.assert_array_equal(loop, again)


def test_loop_cli(tiny_model, tmp_path):
    out = tmp_path / "loop.wav"
    result = subprocess.run([*RAINGAN, "loop", str(out), "--seconds", "3", "--model",
                             str(tiny_model), "--seed", "1", "--sr", "44100"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sf.info(str(out)).frames == 132_300
    bad = subprocess.run([*RAINGAN, "loop", str(tmp_path / "x.wav"), "--seconds", "-2",
                          "--model", str(tiny_model)], capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and "seconds" in bad.stderr
    assert not (tmp_path / "x.wav").exists()


def test_bundled_loop_played_twice_has_no_change_of_texture_at_the_wrap():
    # Issue 4: judge the loop with the eval tool on the loop played twice. A 4 s window
    # across the wrap must score like 4 s windows inside the loop or of real rain. Their seam
    # scores (the strongest periodicity) differ among themselves by 2 dB or more: seeds 1-5 of
    # the streaming model 1.6-4.6 dB inside, flare_rain 1.7-4.6 dB.
    from raingan.core.audio_io import read_audio
    from raingan.eval import evaluate
    from raingan.runtime.generator import Generator, default_model_path

    loop = render_loop(Generator(default_model_path(), device="cpu"), 10.0, 48_000, 2,
                       seed=1).samples
    twice = np.concatenate([loop, loop])
    n, half = loop.shape[0], 96_000
    starts = [n - half] + [n * k // 16 - half + n for k in range(4, 13)]
    report = evaluate.evaluate_arrays([loop], [twice[s:s + 2 * half] for s in starts], 48_000,
                                      classifier=False)
    across, *inside = report.candidates
    assert across.mean_distance <= max(c.mean_distance for c in inside) + 0.25
    real = read_audio(DATA / "flare_rain_part1.flac", 48_000).samples
    real_windows = [real[s:s + 2 * half] for s in range(0, real.shape[0] - 2 * half, half)]
    real_seams = evaluate.evaluate_arrays([real], real_windows, 48_000,
                                          classifier=False).candidates
    assert across.seam_db <= max(c.seam_db for c in [*inside, *real_seams]) + 1.0
    # No click where the end meets the start: that step is like any other sample's.
    steps = np.abs(np.diff(twice[n - 4800:n + 4800], axis=0))
    assert steps[4799].max() <= 4.0 * np.percentile(steps, 99.9)
