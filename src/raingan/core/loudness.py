"""Loudness as meters measure it: ITU-R BS.1770 (pyloudnorm) integrated loudness and its
K-weighting, for stems' targets, the intensity axis and the intensity sweep."""

from __future__ import annotations

import functools

import numpy as np

from .errors import RainGANError
from .spec import SpectralSpec


class LoudnessError(RainGANError, ValueError):
    """Audio too quiet (or too short) for an integrated loudness."""


def measure_lufs(audio: np.ndarray, sample_rate_hz: int) -> float:
    """Integrated loudness of ``audio`` (frames, channels), LUFS (ITU-R BS.1770)."""
    import pyloudnorm

    measured = float(pyloudnorm.Meter(sample_rate_hz).integrated_loudness(
        audio.astype(np.float64)))
    if not np.isfinite(measured):
        raise LoudnessError("the audio is too quiet to measure its loudness")
    return measured



@functools.lru_cache(maxsize=8)
def k_weighting_power(spec: SpectralSpec) -> np.ndarray:
    """Power response of ITU-R BS.1770's K-weighting at each FFT bin, shape (n_fft_bins,).

    Loudness is weighted as loudness meters (and the stems' LUFS targets) weigh it: with
    plain power, low rows dominate, and an axis fitted to it raised the bass more than the
    loudness a listener or a meter hears (on the noise-input model, 5.9 dB of LUFS for a
    12 dB fitted range).
    """
    import pyloudnorm
    from scipy.signal import freqz

    freqs_hz = np.arange(spec.n_fft_bins) * spec.sample_rate_hz / spec.n_fft
    response = np.ones(spec.n_fft_bins)
    for stage in pyloudnorm.Meter(spec.sample_rate_hz)._filters.values():
        _, h = freqz(stage.b, stage.a, worN=freqs_hz, fs=spec.sample_rate_hz)
        response *= np.abs(h) ** 2
    return response


def power_loudness_db(power: np.ndarray, spec: SpectralSpec) -> np.ndarray:
    """Loudness of STFT power of shape (batch, frames, n_fft_bins): mean K-weighted power,
    dB (:func:`k_weighting_power`), shape (batch,)."""
    weighted = (power * k_weighting_power(spec).astype(power.dtype)).mean(axis=(1, 2))
    return 10.0 * np.log10(weighted.astype(np.float64) + 1e-12)
