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
    spectra = stft(noise, spec.n_fft, spec.win_length, spec.hop_length)
    power = (spectra.real ** 2 + spectra.imag ** 2)[:, :spec.image_shape[0]]
    power *= np.float32(1.0 / window_power(spec))
    return (np.float32(10.0) * np.log10(np.maximum(power, np.float32(1e-12)))).T


def window_power(spec: SpectralSpec) -> float:
    """Sum of the squared window: the mean STFT power of unit white noise in every bin."""
    return float(np.sum(hann_window(spec.win_length).astype(np.float64) ** 2))
