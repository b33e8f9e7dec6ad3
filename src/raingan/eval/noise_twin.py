"""Coloured-noise twins: a candidate's long-term spectrum with none of its structure, a yardstick."""

from __future__ import annotations


import numpy as np
import scipy.fft as sfft


def coloured_noise_twin(audio: np.ndarray, sample_rate_hz: float, seed: int) -> np.ndarray:
    """Gaussian noise with the long-term magnitude spectrum, length and RMS of ``audio``.

    The FFT of the whole signal keeps its magnitudes and gets uniformly random phases
    (DC and Nyquist stay real). The result has the same spectrum but none of rain's
    temporal structure (drops, bursts, correlated bands): a baseline that real rain beats.

    Parameters
    ----------
    audio : shape (n_samples,) or (n_samples, n_channels), float; channels get independent
        phases
    sample_rate_hz : Hz (recorded for symmetry with the other analyses; the twin does not
        depend on it)
    seed : seeds numpy's default generator

    Returns
    -------
    np.ndarray, same shape as ``audio``, float64
    """
    x = np.asarray(audio, dtype=np.float64)
    flat = x.reshape(x.shape[0], -1)
    n = flat.shape[0]
    magnitude = np.abs(sfft.rfft(flat, axis=0))
    rng = np.random.default_rng(seed)
    phase = np.exp(2j * np.pi * rng.random(magnitude.shape))
    phase[0] = np.sign(rng.standard_normal(flat.shape[1]))
    if n % 2 == 0:
        phase[-1] = np.sign(rng.standard_normal(flat.shape[1]))
    twin = sfft.irfft(magnitude * phase, n=n, axis=0)
    rms_in = np.sqrt(np.mean(flat ** 2, axis=0))
    rms_out = np.sqrt(np.mean(twin ** 2, axis=0))
    twin *= np.where(rms_out > 0, rms_in / np.maximum(rms_out, 1e-300), 0.0)
    return twin.reshape(x.shape)


