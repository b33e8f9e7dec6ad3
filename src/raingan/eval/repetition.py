"""Repetition: the best match between 1 s patches of the log-band spectrogram at least 2 s apart."""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft
import scipy.ndimage


#: Repetition compares patches this long, seconds ...
REPETITION_PATCH_S = 1.0
#: ... whose start times are more than this apart, seconds.
REPETITION_MIN_LAG_S = 2.0
_REPETITION_FRAME_S = 0.064
_REPETITION_HOP_S = 0.004
_REPETITION_COARSE = 4  # earlier patches start on every 4th frame (a 16 ms grid)
_REPETITION_DETREND_S = 0.5
_REPETITION_BANDS = 40
_REPETITION_LOW_HZ = 80.0
_REPETITION_HIGH_HZ = 12_000.0



def log_band_spectrogram(audio: np.ndarray, sample_rate_hz: float,
                         frame_s: float = _REPETITION_FRAME_S, hop_s: float = _REPETITION_HOP_S,
                         n_bands: int = _REPETITION_BANDS) -> np.ndarray:
    """Log power in log-spaced bands (80 Hz to 12 kHz, or 0.45 x the rate) of Hann frames.

    Parameters
    ----------
    audio : shape (n_samples,), mono

    Returns
    -------
    np.ndarray, shape (n_frames, n_nonempty_bands), log10 power, float64; frame ``t`` starts
    at sample ``t * hop`` (no padding).
    """
    frame = int(round(frame_s * sample_rate_hz))
    hop = int(round(hop_s * sample_rate_hz))
    x = np.asarray(audio, dtype=np.float64)
    if x.shape[0] < frame:
        return np.zeros((0, n_bands))
    freqs = np.fft.rfftfreq(frame, 1.0 / sample_rate_hz)
    high_hz = min(_REPETITION_HIGH_HZ, 0.45 * sample_rate_hz)
    edges = np.geomspace(_REPETITION_LOW_HZ, high_hz, n_bands + 1)
    band_of_bin = np.searchsorted(edges, freqs, side="right") - 1
    inside = (band_of_bin >= 0) & (band_of_bin < n_bands)
    pool = np.zeros((freqs.shape[0], n_bands))
    pool[np.flatnonzero(inside), band_of_bin[inside]] = 1.0
    pool = pool[:, pool.sum(axis=0) > 0]
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[::hop]
    taper = np.hanning(frame + 2)[1:-1]
    power = np.empty((frames.shape[0], pool.shape[1]))
    for start in range(0, frames.shape[0], 1024):  # bounded memory for long audio
        block = sfft.rfft(frames[start:start + 1024] * taper, axis=-1)
        power[start:start + 1024] = (block.real ** 2 + block.imag ** 2) @ pool
    # A floor relative to the mean keeps digital silence from dominating the logs.
    return np.log10(power + 1e-10 * max(float(power.mean()), 1e-30))


def _patch_moments(z: np.ndarray, patch_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and centred norm of every patch ``z[i:i+P]``, each shape (n_frames - P + 1,)."""
    size = patch_frames * z.shape[1]
    cumulative = np.concatenate([[0.0], np.cumsum(z.sum(axis=1))])
    cumulative_sq = np.concatenate([[0.0], np.cumsum((z ** 2).sum(axis=1))])
    mean = (cumulative[patch_frames:] - cumulative[:-patch_frames]) / size
    ss = cumulative_sq[patch_frames:] - cumulative_sq[:-patch_frames] - size * mean ** 2
    return mean, np.sqrt(np.maximum(ss, 1e-300))


def _max_patch_correlation(za: np.ndarray, zb: np.ndarray, patch_frames: int,
                           min_lag_frames: int) -> float:
    """Highest Pearson correlation between patches ``za[i:i+P]`` and ``zb[j:j+P]``, ``j - i >= L``.

    Computed blockwise in lag coordinates: for a block of start frames ``i``, the frame inner
    products with every later frame of ``zb`` (one matrix product), read along diagonals and
    summed over ``P`` consecutive frames. Time O(n_frames^2 * n_bands), memory
    O(block * n_frames).

    Parameters
    ----------
    za, zb : shape (n_frames_a, n_bands) and (n_frames_b, n_bands), the same frame rate

    Returns
    -------
    float, or NaN when no pair of patches is far enough apart
    """
    size = patch_frames * za.shape[1]
    mean_a, norm_a = _patch_moments(za, patch_frames)
    mean_b, norm_b = _patch_moments(zb, patch_frames)
    n_first = min(mean_a.shape[0], mean_b.shape[0] - min_lag_frames)
    if n_first <= 0:
        return math.nan
    block = max(16, int(2_000_000 // max(zb.shape[0], 1)))
    best = -math.inf
    for first in range(0, n_first, block):
        stop = min(first + block, n_first)
        rows = za[first:stop + patch_frames - 1]
        cols = zb[first + min_lag_frames:]
        # gram[r, c] = za[first + r] . zb[first + min_lag + c]; zero padding on the right lets
        # every row be read along its diagonal with one strided view.
        gram = np.zeros((rows.shape[0], cols.shape[0] + rows.shape[0]))
        gram[:, :cols.shape[0]] = rows @ cols.T
        diagonals = np.lib.stride_tricks.as_strided(
            gram, shape=(rows.shape[0], cols.shape[0]),
            strides=(gram.strides[0] + gram.strides[1], gram.strides[1]), writeable=False)
        # diagonals[r, l] = za[first + r] . zb[first + r + min_lag + l]
        summed = np.cumsum(np.concatenate([np.zeros((1, cols.shape[0])), diagonals]), axis=0)
        inner = summed[patch_frames:patch_frames + stop - first] - summed[:stop - first]
        i = np.arange(first, stop)[:, None]
        j = i + min_lag_frames + np.arange(cols.shape[0])[None, :]
        valid = j < mean_b.shape[0]
        j = np.minimum(j, mean_b.shape[0] - 1)
        corr = (inner - size * mean_a[i] * mean_b[j]) / (norm_a[i] * norm_b[j])
        best = max(best, float(np.max(np.where(valid, corr, -math.inf))))
    return best


def repetition_score(audio: np.ndarray, sample_rate_hz: float) -> float:
    """How much the audio repeats itself: about 1 for material looped at least twice.

    Features: the log-band spectrogram (:func:`log_band_spectrogram`: 64 ms Hann frames every
    4 ms, 40 log-spaced bands from 80 Hz to 12 kHz), with each band's 0.5 s moving average
    subtracted. That removes the shared spectral shape and slow swells in loudness, which
    are not repetition; what is left is the fine pattern of drops, which only a loop
    reproduces.

    Score: the highest Pearson correlation between two 1 s patches whose start times are
    more than 2 s apart. Patches are compared on a 16 ms grid for the earlier patch and the
    full 4 ms grid for the later one (four interleaved 16 ms grids), so a loop of any length
    is matched to within 2 ms and scores about 1, at four times the cost of a 16 ms grid.
    Audio that never repeats still scores the best of its chance matches, and longer audio
    has more of them: rain-coloured Gaussian noise scores about 0.14 over 6 s and 0.20 over
    60 s, real rain recordings 0.14-0.17 over 5-8 s and up to 0.27 over 18-25 s
    (``benchmarks/repetition_length.py``). Compare files of equal length.

    Parameters
    ----------
    audio : shape (n_samples,), mono
    sample_rate_hz : Hz

    Returns
    -------
    float in [-1, 1], or NaN when the audio is too short for two patches more than 2 s
    apart (about 3.1 s).
    """
    spectrogram = log_band_spectrogram(audio, sample_rate_hz)
    if spectrogram.shape[0] == 0:
        return math.nan
    hop_s = int(round(_REPETITION_HOP_S * sample_rate_hz)) / sample_rate_hz
    smooth = int(round(_REPETITION_DETREND_S / hop_s)) | 1
    z = spectrogram - scipy.ndimage.uniform_filter1d(spectrogram, smooth, axis=0, mode="nearest")
    stride = _REPETITION_COARSE
    coarse_hop_s = stride * hop_s
    patch_frames = int(round(REPETITION_PATCH_S / coarse_hop_s))
    min_lag_frames = int(math.floor(REPETITION_MIN_LAG_S / coarse_hop_s)) + 1
    scores = [_max_patch_correlation(z[::stride], z[offset::stride], patch_frames,
                                     min_lag_frames) for offset in range(stride)]
    return math.nan if all(math.isnan(v) for v in scores) else float(np.nanmax(scores))


