"""Batched, float32 short-time Fourier transform pair used by every stage.

Convention (shared with the native PGHI): frame ``m`` is ``x[m*hop : m*hop + win]``
multiplied by a periodic Hann window of length ``win``, placed at the start of an
``n_fft`` buffer and zero-padded at the end, then passed through a real FFT. No centre
padding: ``n_frames`` frames need ``(n_frames - 1) * hop + win`` samples.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft

#: Worker threads for scipy.fft; batched transforms split over both cores.
FFT_WORKERS = -1


@functools.lru_cache(maxsize=16)
def hann_window(win_length: int) -> np.ndarray:
    """Periodic Hann window, shape (win_length,), float32 (read-only, cached)."""
    n = np.arange(win_length, dtype=np.float64)
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * n / win_length)).astype(np.float32)
    window.flags.writeable = False
    return window


def frames_for_samples(n_samples: int, win_length: int, hop_length: int) -> int:
    """Number of whole frames that fit in ``n_samples`` samples."""
    if n_samples < win_length:
        return 0
    return 1 + (n_samples - win_length) // hop_length


def samples_for_frames(n_frames: int, win_length: int, hop_length: int) -> int:
    """Samples spanned by ``n_frames`` frames."""
    return (n_frames - 1) * hop_length + win_length


def stft(x: np.ndarray, n_fft: int, win_length: int, hop_length: int,
         workers: int = FFT_WORKERS) -> np.ndarray:
    """Complex STFT of a batch of signals.

    Parameters
    ----------
    x : np.ndarray, shape (..., n_samples), real
    n_fft, win_length, hop_length : int, samples
    workers : scipy.fft worker threads

    Returns
    -------
    np.ndarray, shape (..., n_frames, n_fft // 2 + 1), complex64
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    n_frames = frames_for_samples(x.shape[-1], win_length, hop_length)
    if n_frames == 0:
        raise ValueError(f"signal of {x.shape[-1]} samples is shorter than one window ({win_length})")
    frames = np.empty((*x.shape[:-1], n_frames, win_length), dtype=np.float32)
    return _windowed_rfft(x, frames, n_fft, hop_length, workers)


def _windowed_rfft(x: np.ndarray, frames: np.ndarray, n_fft: int, hop_length: int,
                   workers: int) -> np.ndarray:
    """Frame ``x`` into the preallocated ``frames`` (..., n_frames, win), window, rfft."""
    n_frames, win_length = frames.shape[-2:]
    view = np.lib.stride_tricks.sliding_window_view(x, win_length, axis=-1)[..., ::hop_length, :]
    np.multiply(view[..., :n_frames, :], hann_window(win_length), out=frames)
    return scipy.fft.rfft(frames, n=n_fft, axis=-1, workers=workers)


@functools.lru_cache(maxsize=16)
def inverse_window_sum(n_frames: int, win_length: int, hop_length: int) -> np.ndarray:
    """1 / (sum of squared windows) at each output sample, 0 where no window reaches."""
    window_sq = hann_window(win_length).astype(np.float64) ** 2
    total = np.zeros(samples_for_frames(n_frames, win_length, hop_length))
    for m in range(n_frames):
        total[m * hop_length: m * hop_length + win_length] += window_sq
    tiny = np.finfo(np.float32).tiny * win_length
    inverse = np.where(total > tiny, 1.0 / np.maximum(total, tiny), 0.0).astype(np.float32)
    inverse.flags.writeable = False
    return inverse


def istft(spectra: np.ndarray, n_fft: int, win_length: int, hop_length: int,
          workers: int = FFT_WORKERS) -> np.ndarray:
    """Least-squares inverse of :func:`stft` (weighted overlap-add).

    Parameters
    ----------
    spectra : np.ndarray, shape (..., n_frames, n_fft // 2 + 1), complex

    Returns
    -------
    np.ndarray, shape (..., (n_frames - 1) * hop_length + win_length), float32
    """
    if win_length % hop_length:
        raise ValueError(f"win_length {win_length} must be a multiple of hop_length {hop_length}")
    n_frames = spectra.shape[-2]
    out = np.empty((*spectra.shape[:-2], samples_for_frames(n_frames, win_length, hop_length)),
                   dtype=np.float32)
    return _irfft_overlap_add(spectra, out, n_fft, win_length, hop_length, workers)


def _irfft_overlap_add(spectra: np.ndarray, out: np.ndarray, n_fft: int, win_length: int,
                       hop_length: int, workers: int) -> np.ndarray:
    """Inverse FFT, window and overlap-add into the preallocated ``out`` (..., samples)."""
    n_frames = spectra.shape[-2]
    frames = scipy.fft.irfft(spectra, n=n_fft, axis=-1, workers=workers)[..., :win_length]
    frames *= hann_window(win_length)
    # Overlap-add in blocks of one hop: each frame spans `overlap` consecutive hop blocks.
    overlap = win_length // hop_length
    blocks = frames.reshape(*frames.shape[:-1], overlap, hop_length)
    summed = out.reshape(*out.shape[:-1], n_frames + overlap - 1, hop_length)
    summed[...] = 0.0
    for r in range(overlap):
        summed[..., r:r + n_frames, :] += blocks[..., :, r, :]
    out *= inverse_window_sum(n_frames, win_length, hop_length)
    return out
