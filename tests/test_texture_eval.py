"""Texture statistics and `raingan eval` scoring on small synthetic signals."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from raingan.eval import cochlear, display, distance, evaluate, noise_twin, repetition, seam, texture
from raingan.core.errors import AudioInputError

SR = 32_000  # the analysis rate: no resampling in most tests


def noise(seed: int, seconds: float, sample_rate_hz: int = SR) -> np.ndarray:
    return 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * sample_rate_hz))


def lowpassed(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    sos = scipy.signal.butter(8, cutoff_hz, fs=SR, output="sos")
    return scipy.signal.sosfilt(sos, x)


def chunked(seed: int, seconds: float, chunk_gain: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Noise whose every 0.5 s chunk is shaped by the same gain curve (a seam every 0.5 s)."""
    n_chunks = int(seconds * 2)
    x = np.random.default_rng(seed).standard_normal(n_chunks * chunk_gain.shape[0])
    return 0.1 * x * np.tile(chunk_gain, n_chunks)


# -- texture -----------------------------------------------------------------------------------

def test_filterbank_centres_are_erb_spaced_from_20_hz_to_10_khz():
    centres = cochlear.band_centres_hz()
    assert centres.shape == (30,)
    assert centres[0] == pytest.approx(20.0) and centres[-1] == pytest.approx(10_000.0)
    np.testing.assert_allclose(np.diff(cochlear.erb_number(centres)),
                               np.diff(cochlear.erb_number(centres))[0])


def test_envelopes_follow_a_tone_and_its_level():
    t = np.arange(2 * SR) / SR
    tone = np.sin(2 * np.pi * 1000.0 * t)
    env = cochlear.cochlear_envelopes(0.5 * tone, SR)
    assert env.shape == (30, 800)
    band = int(np.argmax(env[:, 400]))
    assert abs(cochlear.band_centres_hz()[band] - 1000.0) < 100.0
    steady = env[band, 100:-100]
    assert np.ptp(steady) < 1e-3 * steady.mean()  # a steady tone has a flat envelope
    louder = cochlear.cochlear_envelopes(1.0 * tone, SR)[band, 100:-100]
    np.testing.assert_allclose(louder / steady, 2.0 ** 0.3, rtol=1e-6)  # ^0.3 compression


def test_windows_cover_the_signal_and_short_signals_get_one_window():
    starts = texture.window_starts(n_frames=1800, window_frames=800, hop_frames=400)
    assert starts[0] == 0 and starts[-1] == 1000 and np.all(np.diff(starts) <= 400)
    stats = texture.texture_statistics(noise(0, 1.5), SR)
    assert stats.n_windows == 1 and stats.window_s == pytest.approx(1.5)
    # 0.5 Hz needs a 2 s window: a 1.5 s window keeps 1 Hz and up.
    assert stats.modulation_centres_hz[0] == pytest.approx(1.0)
    assert stats.groups["modulation_power"].shape == (1, 30 * 8)
    assert stats.groups["band_correlation"].shape == (1, sum(30 - k for k in (1, 2, 3, 5, 8, 11,
                                                                               16, 21)))
    with pytest.raises(ValueError, match="too short"):
        texture.texture_statistics(noise(0, 0.5), SR)


def test_statistics_of_gaussian_noise_are_sane():
    stats = texture.texture_statistics(noise(1, 4.0), SR)
    assert stats.n_windows == 3
    groups = stats.groups
    assert set(groups) == set(texture.GROUPS)
    assert all(np.all(np.isfinite(v)) for v in groups.values())
    assert np.all(groups["envelope_mean"] > 0)
    assert np.all((groups["envelope_cv"] > 0.02) & (groups["envelope_cv"] < 0.6))
    assert np.all(np.abs(groups["band_correlation"]) < 1.0)
    fractions = groups["modulation_power"].reshape(3, 30, -1).sum(axis=-1)
    assert np.all(fractions <= 1.0 + 1e-9) and np.all(fractions > 0.5)


def test_silent_bands_do_not_produce_nan():
    x = lowpassed(noise(2, 2.0), 1000.0)
    x[SR // 2: SR] = 0.0  # digital silence inside the signal too
    stats = texture.texture_statistics(x, SR)
    assert all(np.all(np.isfinite(v)) for v in stats.groups.values())


# -- texture distance --------------------------------------------------------------------------

def test_white_noise_scores_low_against_white_noise_and_high_against_lowpassed():
    reference = [noise(10, 6.0)]
    identical = evaluate.evaluate_arrays(reference, reference, SR)
    assert identical.overall.mean_distance == pytest.approx(0.0, abs=1e-9)
    fresh = evaluate.evaluate_arrays(reference, [noise(11, 6.0)], SR)
    dull = evaluate.evaluate_arrays(reference, [lowpassed(noise(11, 6.0), 2000.0)], SR)
    assert fresh.overall.mean_distance < 1.0
    assert dull.overall.mean_distance > 5.0
    assert dull.overall.distances["envelope_mean"] > 10 * fresh.overall.distances["envelope_mean"]


def test_amplitude_modulation_moves_modulation_power():
    reference = [noise(20, 6.0)]
    t = np.arange(6 * SR) / SR
    modulated = noise(21, 6.0) * (1.0 + 0.8 * np.sin(2 * np.pi * 8.0 * t))
    plain = evaluate.evaluate_arrays(reference, [noise(21, 6.0)], SR).overall.distances
    pulsing = evaluate.evaluate_arrays(reference, [modulated], SR).overall.distances
    assert pulsing["modulation_power"] > 3.0
    assert pulsing["modulation_power"] > 5 * plain["modulation_power"]


def test_distances_average_neighbouring_bands_before_taking_magnitudes():
    stats = texture.texture_statistics(noise(3, 2.0), SR)
    band, kind = stats.layout("modulation_power")
    assert band.shape == kind.shape == (stats.groups["modulation_power"].shape[1],)
    band, kind = stats.layout("band_correlation")
    assert band.shape[0] == stats.groups["band_correlation"].shape[1]
    assert kind.max() == len(stats.correlation_offsets) - 1
    # Opposite deviations within a region cancel; one-sided ones do not.
    z = np.r_[np.tile([1.0, -1.0], 15)]
    band, kind = stats.layout("envelope_cv")
    np.testing.assert_allclose(np.abs(distance.region_means(z, band, kind)), 0.2)
    np.testing.assert_allclose(distance.region_means(np.ones(30), band, kind), np.ones(6))


def test_spread_floor_keeps_a_constant_statistic_finite():
    windows = np.ones((5, 3))
    spread = distance.reference_spread(windows, "envelope_mean")
    np.testing.assert_allclose(spread, distance.SPREAD_FLOOR_REL["envelope_mean"])
    single = distance.reference_spread(np.zeros((1, 2)), "band_correlation")
    np.testing.assert_allclose(single, distance.SPREAD_FLOOR_ABS["band_correlation"])


# -- seams and repetition ----------------------------------------------------------------------

def test_seam_periodicity_finds_chunk_seams_and_not_stationary_noise():
    sr = 16_000
    chunk = sr // 2
    level_step = chunked(30, 8.0, np.linspace(1.0, 0.6, chunk), sr)
    gaps = chunked(31, 8.0, np.r_[np.ones(chunk - 320), np.zeros(320)], sr)
    for audio in (level_step, gaps):
        line = seam.seam_periodicity_db(audio, sr)
        assert line.peak_db > 10.0
        assert line.peak_hz == pytest.approx(2.0, abs=0.3)
    steady = seam.seam_periodicity_db(noise(32, 8.0, sr), sr)
    assert steady.peak_db < 4.0
    assert math.isnan(seam.seam_periodicity_db(noise(33, 1.5, sr), sr).peak_db)


def test_repetition_is_about_one_for_a_loop_and_low_for_fresh_noise():
    sr = 16_000
    clip = noise(40, 2.61, sr)  # not a whole number of frames: alignment must not matter
    assert repetition.repetition_score(np.tile(clip, 2), sr) > 0.9
    assert repetition.repetition_score(noise(41, 6.0, sr), sr) < 0.4
    assert math.isnan(repetition.repetition_score(noise(42, 3.0, sr), sr))


def test_repetition_of_fresh_noise_rises_with_length():
    # The score is the best of all chance matches, so more audio finds a better one: the
    # reason to compare files of equal length (the docstring's figures).
    sr = 16_000
    long = noise(43, 30.0, sr)
    pieces = [repetition.repetition_score(long[i:i + 5 * sr], sr) for i in range(0, 30 * sr, 5 * sr)]
    assert repetition.repetition_score(long, sr) > np.mean(pieces) + 0.03  # 0.18 against 0.12


# -- clipping, DC, coloured noise ----------------------------------------------------------------

def test_clipping_and_dc_are_reported_per_candidate():
    reference = [noise(50, 3.0)]
    loud = np.clip(20.0 * noise(51, 3.0), -1.0, 1.0)
    stereo = np.stack([noise(52, 3.0) + 0.05, noise(53, 3.0)], axis=1)
    report = evaluate.evaluate_arrays(reference, [loud, stereo], SR, cand_names=["loud", "dc"])
    by_name = {c.name: c for c in report.candidates}
    assert by_name["loud"].clipping_fraction > 0.5
    assert by_name["dc"].clipping_fraction == 0.0
    assert by_name["dc"].dc_offset == pytest.approx(0.05, abs=0.005)
    assert abs(by_name["loud"].dc_offset) < 0.01
    assert report.overall.dc_offset == pytest.approx(0.05, abs=0.005)


def test_coloured_noise_twin_matches_spectrum_length_and_rms():
    x = lowpassed(noise(60, 4.0), 3000.0) + 0.3 * noise(61, 4.0)
    twin = noise_twin.coloured_noise_twin(x, SR, seed=7)
    assert twin.shape == x.shape
    assert np.sqrt(np.mean(twin ** 2)) == pytest.approx(np.sqrt(np.mean(x ** 2)), rel=1e-9)
    _, p_x = scipy.signal.welch(x, fs=SR, nperseg=1024)
    _, p_t = scipy.signal.welch(twin, fs=SR, nperseg=1024)
    banded = lambda p: p[1:-16].reshape(-1, 16).mean(axis=1)  # noqa: E731
    np.testing.assert_allclose(10 * np.log10(banded(p_t) / banded(p_x)), 0.0, atol=1.0)
    assert abs(np.corrcoef(x, twin)[0, 1]) < 0.05  # new noise, not a copy
    np.testing.assert_array_equal(twin, noise_twin.coloured_noise_twin(x, SR, seed=7))


def test_noise_baseline_scores_each_candidate_twin():
    report = evaluate.evaluate_arrays([noise(70, 3.0)], [noise(71, 3.0)], SR,
                                      noise_baseline=True)
    assert len(report.noise_baseline) == 1 and report.noise_overall is not None
    assert report.noise_baseline[0].name.startswith("noise twin")


# -- report, files, plot -----------------------------------------------------------------------

def test_report_serialises_and_formats():
    report = evaluate.evaluate_arrays([noise(80, 4.0)], [noise(81, 2.5)], SR,
                                      ref_names=["rain.wav"], cand_names=["gen.wav"])
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["candidates"][0]["name"] == "gen.wav"
    assert set(data["overall"]["distances"]) == set(texture.GROUPS)
    assert data["candidates"][0]["repetition"] is None  # 2.5 s: too short
    table = report.format_table()
    assert "gen.wav" in table and "overall" in table and "n/a" in table


def test_evaluate_files_mixes_rates_and_channels(tmp_path):
    ref = tmp_path / "ref.wav"
    cand = tmp_path / "cand.flac"
    sf.write(ref, noise(90, 3.0, 44_100), 44_100)
    sf.write(cand, np.stack([noise(91, 3.0, 22_050), noise(92, 3.0, 22_050)], axis=1), 22_050)
    report = evaluate.evaluate_files([ref], [cand])
    assert report.references == [str(ref)]
    assert report.candidates[0].duration_s == pytest.approx(3.0, abs=0.01)
    assert report.analysis_rate_hz == evaluate.ANALYSIS_RATE_HZ


def test_evaluate_files_refuses_missing_and_too_short_audio(tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, noise(93, 0.5), SR)
    ok = tmp_path / "ok.wav"
    sf.write(ok, noise(94, 2.0), SR)
    with pytest.raises(AudioInputError, match="too short"):
        evaluate.evaluate_files([ok], [short])
    with pytest.raises(AudioInputError, match="no such file"):
        evaluate.evaluate_files([tmp_path / "missing.wav"], [ok])
    with pytest.raises(AudioInputError, match="silent"):
        evaluate.evaluate_arrays([np.zeros(2 * SR)], [noise(95, 2.0)], SR)


def test_plot_report_writes_a_png_atomically(tmp_path):
    ref, cand = noise(100, 2.0), lowpassed(noise(101, 2.0), 4000.0)
    report = evaluate.evaluate_arrays([ref], [cand], SR)
    target = tmp_path / "eval.png"
    display.plot_report(report, [ref], cand, SR, target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["eval.png"]
