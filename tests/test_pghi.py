"""Native PGHI (raingan._native.pghi): argument checks, and phase quality on known signals.

Quality is the spectral convergence of the magnitudes rebuilt with the estimated phase,
``20 log10(|| |STFT(istft(S e^{i phi}))| - S ||_F / ||S||_F)``: lower is better, random phase
scores about -4 dB at 4x redundancy and -1 dB at 16x.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest
from scipy.io import wavfile

from raingan import _native
from raingan.core.stft import istft, stft

SAMPLE_RATE_HZ = 44100
#: (n_fft, win_length, hop_length, n_frames): the default chunk, and the RainGAN article's.
DEFAULT = (1024, 1024, 256, 128)
ARTICLE = (2048, 1024, 64, 375)


def _signal(name: str, n_samples: int) -> np.ndarray:
    t = np.arange(n_samples) / SAMPLE_RATE_HZ
    if name == "sines":
        x = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 3000 * t + 1.0)
             + 0.2 * np.sin(2 * np.pi * 7000.3 * t))
    elif name == "chirp":  # linear, 200 Hz rising at 4 kHz/s
        x = np.sin(2 * np.pi * (200 * t + 0.5 * 4000 * t ** 2))
    elif name == "clicks":  # an impulse every 50 ms
        x = np.zeros(n_samples)
        x[300::2205] = 1.0
    else:
        raise ValueError(name)
    return x.astype(np.float32)


def _magnitudes(x: np.ndarray, geometry: tuple[int, int, int, int]) -> np.ndarray:
    n_fft, win, hop, _ = geometry
    return np.abs(stft(x, n_fft, win, hop)).astype(np.float32)


def _spectral_convergence_db(magnitudes: np.ndarray, phase: np.ndarray,
                             geometry: tuple[int, int, int, int]) -> float:
    n_fft, win, hop, _ = geometry
    audio = istft(magnitudes * np.exp(1j * phase), n_fft, win, hop)
    rebuilt = np.abs(stft(audio, n_fft, win, hop))
    return float(20 * np.log10(np.linalg.norm(rebuilt - magnitudes) / np.linalg.norm(magnitudes)))


def _samples(geometry: tuple[int, int, int, int]) -> int:
    _, win, hop, n_frames = geometry
    return (n_frames - 1) * hop + win


# Measured when written (dB): default geometry sines -37.4, chirp -36.2, clicks -16.8;
# article geometry -30.9, -48.4, -29.4. Random phase: -4 and -1.3. PGHI is known to be weakest
# on impulses at low redundancy (the default geometry is 4x).
QUALITY_CASES = [
    (DEFAULT, "sines", -30.0),
    (DEFAULT, "chirp", -30.0),
    (DEFAULT, "clicks", -13.0),
    (ARTICLE, "sines", -25.0),
    (ARTICLE, "chirp", -40.0),
    (ARTICLE, "clicks", -24.0),
]


@pytest.mark.parametrize("geometry,name,threshold_db", QUALITY_CASES,
                         ids=[f"{g[0]}-{g[2]}-{n}" for g, n, _ in QUALITY_CASES])
def test_pghi_phase_rebuilds_known_signals(geometry, name, threshold_db):
    n_fft, win, hop, _ = geometry
    magnitudes = _magnitudes(_signal(name, _samples(geometry))[None], geometry)
    pghi = _spectral_convergence_db(magnitudes, _native.pghi(magnitudes, n_fft, win, hop), geometry)
    random_phase = np.random.default_rng(0).uniform(-np.pi, np.pi, magnitudes.shape)
    random = _spectral_convergence_db(magnitudes, random_phase, geometry)
    assert pghi < threshold_db
    assert pghi < random - 10.0


def test_pghi_phase_rebuilds_recorded_rain(rain_path):
    # Measured when written: -14.1 dB, random phase -4.2 dB.
    n_fft, win, hop, n_frames = DEFAULT
    rate_hz, audio = wavfile.read(rain_path)
    assert rate_hz == SAMPLE_RATE_HZ
    audio = audio.astype(np.float32) / np.float32(np.iinfo(audio.dtype).max)
    span, step = _samples(DEFAULT), n_frames * hop
    chunks = np.stack([audio[s:s + span] for s in range(0, audio.size - span + 1, step)])
    magnitudes = _magnitudes(chunks, DEFAULT)
    pghi = _spectral_convergence_db(magnitudes, _native.pghi(magnitudes, n_fft, win, hop), DEFAULT)
    random_phase = np.random.default_rng(0).uniform(-np.pi, np.pi, magnitudes.shape)
    assert pghi < -12.0
    assert pghi < _spectral_convergence_db(magnitudes, random_phase, DEFAULT) - 8.0


@pytest.mark.parametrize("geometry", [DEFAULT, ARTICLE], ids=["default", "article"])
def test_pghi_follows_the_true_phase_of_a_sinusoid(geometry):
    # PGHI's phase may differ from the truth by a constant. Across the main lobe it must not
    # differ at all (a wrong window-centre term shows up as pi between adjacent bins), and
    # along time only by the small frequency bias of approximating Hann by a Gaussian
    # (measured 0.02 rad per frame, where the phase advances by 36 or 18 rad per frame).
    n_fft, win, hop, _ = geometry
    t = np.arange(_samples(geometry)) / SAMPLE_RATE_HZ
    spectra = stft(np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)[None], n_fft, win, hop)
    phase = _native.pghi(np.abs(spectra).astype(np.float32), n_fft, win, hop)
    peak_bin = round(1000.0 * n_fft / SAMPLE_RATE_HZ)
    lobe = slice(peak_bin - 1, peak_bin + 2)
    error = np.angle(spectra[0, :, lobe] * np.exp(-1j * phase[0, :, lobe]))
    across_bins = np.angle(np.exp(1j * (error - error[:, 1:2])))
    per_frame = np.angle(np.exp(1j * np.diff(error, axis=0)))
    assert np.abs(across_bins).max() < 0.01
    assert np.abs(per_frame).max() < 0.05


def test_pghi_output_is_wrapped_float32_and_depends_on_each_chunk_only(rng):
    n_fft, win, hop, n_frames = 64, 48, 12, 20
    x = rng.standard_normal((5, (n_frames - 1) * hop + win)).astype(np.float32)
    magnitudes = np.abs(stft(x, n_fft, win, hop)).astype(np.float32)
    phase = _native.pghi(magnitudes, n_fft, win, hop)
    assert phase.shape == magnitudes.shape and phase.dtype == np.float32
    assert phase.flags.c_contiguous
    assert np.all(np.abs(phase) <= np.float32(np.pi))
    np.testing.assert_array_equal(phase[2:3], _native.pghi(magnitudes[2:3], n_fft, win, hop))
    for threads in (1, 2, 7):
        np.testing.assert_array_equal(
            phase, _native.pghi(magnitudes, n_fft, win, hop, num_threads=threads))


def test_pghi_handles_silence_non_finite_values_and_tiny_geometries():
    silence = np.zeros((2, 4, 5), dtype=np.float32)
    phase = _native.pghi(silence, 8, 8, 2)
    assert np.all(np.abs(phase) <= np.float32(np.pi))
    np.testing.assert_array_equal(phase, _native.pghi(silence, 8, 8, 2))
    magnitudes = np.ones((1, 6, 9), dtype=np.float32)
    magnitudes[0, 2, 3] = np.nan
    magnitudes[0, 4, 1] = np.inf
    assert np.all(np.isfinite(_native.pghi(magnitudes, 16, 16, 4)))
    # One frame; an odd n_fft; a single bin.
    assert _native.pghi(np.ones((1, 1, 9), dtype=np.float32), 16, 12, 3).shape == (1, 1, 9)
    assert _native.pghi(np.ones((3, 4, 5), dtype=np.float32), 9, 8, 4).shape == (3, 4, 5)
    assert _native.pghi(np.ones((1, 3, 1), dtype=np.float32), 1, 1, 1).shape == (1, 3, 1)
    assert _native.pghi(np.ones((0, 3, 5), dtype=np.float32), 8, 8, 2).shape == (0, 3, 5)


def test_pghi_releases_the_gil():
    n_fft, win, hop, n_frames = DEFAULT
    magnitudes = np.random.default_rng(0).rayleigh(size=(48, n_frames, n_fft // 2 + 1)).astype(np.float32)
    ticks = [0]
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks[0] += 1

    # A short switch interval bounds how long the ticker can run around the call even when
    # the call holds the GIL; the ticks during a sleep as long as the call are the yardstick.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        before, start = ticks[0], time.perf_counter()
        _native.pghi(magnitudes, n_fft, win, hop, num_threads=1)
        during_call, elapsed = ticks[0] - before, time.perf_counter() - start
        before = ticks[0]
        time.sleep(elapsed)
        during_sleep = ticks[0] - before
    finally:
        stop.set()
        ticker.join()
        sys.setswitchinterval(interval)
    assert during_call > 0.25 * during_sleep, (during_call, during_sleep)


@pytest.mark.parametrize("magnitudes,match", [
    (np.zeros((1, 4, 513), dtype=np.float64), "float32"),
    (np.zeros((1, 513, 4), dtype=np.float32).transpose(0, 2, 1), "C-contiguous"),
    (np.zeros((4, 513), dtype=np.float32), "shape"),
    (np.zeros((1, 4, 512), dtype=np.float32), r"n_fft // 2 \+ 1 = 513"),
    (np.zeros((1, 0, 513), dtype=np.float32), "at least one frame"),
])
def test_pghi_refuses_bad_arrays(magnitudes, match):
    with pytest.raises(ValueError, match=match):
        _native.pghi(magnitudes, 1024, 1024, 256)


@pytest.mark.parametrize("n_fft,win,hop,match", [
    (1024, 2048, 256, "must not exceed n_fft"),
    (1024, 1024, 2048, "must not exceed win_length"),
    (1024, 1024, 0, "must be positive"),
])
def test_pghi_refuses_bad_geometry(n_fft, win, hop, match):
    with pytest.raises(ValueError, match=match):
        _native.pghi(np.zeros((1, 4, n_fft // 2 + 1), dtype=np.float32), n_fft, win, hop)


@pytest.mark.parametrize("tolerance_db", [0.0, 10.0, float("nan"), float("-inf")])
def test_pghi_refuses_bad_tolerance(tolerance_db):
    with pytest.raises(ValueError, match="tolerance_db"):
        _native.pghi(np.ones((1, 4, 5), dtype=np.float32), 8, 8, 2, tolerance_db=tolerance_db)
