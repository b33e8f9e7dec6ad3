"""The speckle of a noisy spectrum, as the spec's STFT makes it.

A bin of a noise-like sound's STFT has power ``P E``: ``P`` the mean power there, ``E``
exponentially distributed (the squared magnitude of a complex Gaussian). ``E`` is not
independent from bin to bin and frame to frame: the window's overlap (75 % at hop 256 of
1024) and its spectral width correlate neighbours. Drawing ``E`` independently for every
frame changes the level of every frame at random, a modulation at the frame rate (172 Hz)
that no recording has; taking it from the STFT of white noise gives it exactly the
correlations of a real spectrum. A streaming generator writes ``P``; training and the
runtime add ``10 log10 E`` (:func:`speckle_db`).
"""

from __future__ import annotations

import numpy as np

from .spec import SpectralSpec
from .stft import hann_window, stft


def speckle_db(noise: np.ndarray, spec: SpectralSpec) -> np.ndarray:
    """``10 log10 E`` of white noise, the image rows' speckle, dB.

    Parameters
    ----------
    noise : shape (n_samples,), standard normal; ``n_samples = (frames - 1) * hop + win``

    Returns
    -------
    np.ndarray, shape (height, frames), float32; mean -2.5 dB, standard deviation 5.6 dB
    """
    return speckle_and_phase(noise, spec)[0]


def speckle_and_phase(noise: np.ndarray, spec: SpectralSpec) -> tuple[np.ndarray, np.ndarray]:
    """:func:`speckle_db`, and the phase of the noise's STFT, shape (frames, n_fft // 2 + 1),
    float32, radians: with the speckle's magnitudes it is a consistent STFT, so phase
    reconstruction that starts from it has nothing to repair where the mean is steady
    (PGHI's estimate, made for sounds with structure, left noise modulated at the frame rate
    unless many Griffin-Lim iterations followed)."""
    spectra = stft(noise, spec.n_fft, spec.win_length, spec.hop_length)
    power = (spectra.real ** 2 + spectra.imag ** 2)[:, :spec.image_shape[0]]
    power *= np.float32(1.0 / window_power(spec))
    speckle = (np.float32(10.0) * np.log10(np.maximum(power, np.float32(1e-12)))).T
    return speckle, np.arctan2(spectra.imag, spectra.real)


def window_power(spec: SpectralSpec) -> float:
    """Sum of the squared window: the mean STFT power of unit white noise in every bin."""
    return float(np.sum(hann_window(spec.win_length).astype(np.float64) ** 2))


def frame_power_weights(spec: SpectralSpec) -> np.ndarray:
    """How much of a frame's power comes from each hop-long stretch of sound around its
    centre, shape (2 * reach + 1,), symmetric, summing to 1; ``reach`` hops each side.

    A frame sees a power envelope through its squared window, so the mean powers of
    neighbouring frames of any real sound are blends of one envelope: a frame whose mean
    jumps alone, as a generator may write it, is a spectrum no sound has, and its
    reconstruction is modulated at the frame rate. Smoothing the means with these weights
    makes them blends of one envelope again.
    """
    window = hann_window(spec.win_length).astype(np.float64) ** 2
    centre, hop = spec.win_length // 2, spec.hop_length
    reach = (spec.win_length // 2 + hop // 2) // hop
    weights = []
    for k in range(-reach, reach + 1):
        low = max(centre + k * hop - hop // 2, 0)
        high = min(centre + k * hop + hop - hop // 2, spec.win_length)
        weights.append(window[low:high].sum() if high > low else 0.0)
    weights = np.array(weights)
    weights = 0.5 * (weights + weights[::-1])
    return weights / weights.sum()
