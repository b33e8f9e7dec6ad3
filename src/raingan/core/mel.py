"""The mel scale (Slaney) and the triangular filterbank that mel images are made with."""

from __future__ import annotations

import functools

import numpy as np


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)),
                    mel * (200.0 / 3))


@functools.lru_cache(maxsize=8)
def mel_filterbank(sample_rate_hz: int, n_fft: int, n_mels: int, fmin_hz: float,
                   fmax_hz: float) -> np.ndarray:
    """Triangular bands, shape (n_mels, n_fft_bins), each normalised to unit sum.

    Unit-sum bands keep a band's power on the same scale as a single bin's, so the dB range
    of a spec means the same for mel and linear images. A band narrower than one FFT bin
    takes the nearest bin, so that no band is empty.
    """
    edges_hz = mel_edges_hz(n_mels, fmin_hz, fmax_hz)
    bin_hz = np.arange(n_fft // 2 + 1) * sample_rate_hz / n_fft
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bin_hz - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - bin_hz) / np.maximum(upper - centre, 1e-9)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    for band in np.flatnonzero(weights.sum(axis=1) == 0):
        weights[band, np.argmin(np.abs(bin_hz - centre[band, 0]))] = 1.0
    weights /= weights.sum(axis=1, keepdims=True)
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


def mel_edges_hz(n_mels: int, fmin_hz: float, fmax_hz: float) -> np.ndarray:
    """Edges of the mel triangles, shape (n_mels + 2,), Hz: band ``m`` rises from edge ``m``,
    peaks at edge ``m + 1`` and falls to edge ``m + 2``."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin_hz), hz_to_mel(fmax_hz), n_mels + 2))


@functools.lru_cache(maxsize=8)
def mel_interpolation(sample_rate_hz: int, n_fft: int, n_mels: int, fmin_hz: float,
                      fmax_hz: float) -> np.ndarray:
    """Map band powers back to bins, shape (n_fft_bins, n_mels).

    Each bin takes the average of the bands that cover it, weighted by the triangles:
    smooth and non-negative, unlike the pseudo-inverse, which rings. Rain is broadband
    noise, so the spectral envelope is what matters; fine structure comes from the phase
    reconstruction.
    """
    weights = mel_filterbank(sample_rate_hz, n_fft, n_mels, fmin_hz, fmax_hz).astype(np.float64).T  # (bins, mels)
    coverage = weights.sum(axis=1, keepdims=True)
    interp = np.where(coverage > 0, weights / np.maximum(coverage, 1e-12), 0.0)
    # Bins outside [fmin, fmax] copy the nearest band, so no bin is left empty.
    covered = np.flatnonzero(coverage[:, 0] > 0)
    for b in np.flatnonzero(coverage[:, 0] == 0):
        nearest = covered[np.argmin(np.abs(covered - b))]
        interp[b] = interp[nearest]
    interp = interp.astype(np.float32)
    interp.flags.writeable = False
    return interp


def band_smoothing(n_bands: int, passes: int) -> np.ndarray:
    """Blend of neighbouring bands, shape (n_bands, n_bands): ``levels @ band_smoothing(...)``
    takes each band's level to ``(1/4, 1/2, 1/4)`` of its neighbours' and its own, ``passes``
    times (a binomial kernel of ``2 * passes + 1`` taps); a band at either end counts itself
    in place of the missing neighbour.

    Each column sums to one, so levels in [-1, 1] stay there and a flat spectrum stays flat.
    A level that alternates from band to band is removed entirely, as real spectra's
    envelopes have no such ripple; an edge spreads over about ``passes`` bands each side.
    """
    if passes < 0:
        raise ValueError(f"passes must be >= 0, got {passes}")
    step = np.zeros((n_bands, n_bands))
    for band in range(n_bands):
        for offset, weight in ((-1, 0.25), (0, 0.5), (1, 0.25)):
            step[min(max(band + offset, 0), n_bands - 1), band] += weight
    return np.linalg.matrix_power(step, passes).astype(np.float32)
