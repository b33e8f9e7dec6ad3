"""Seam periodicity: the strongest line in the modulation spectrum of the audio's loudness."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import cochlear
from .texture import TextureConfig

#: Seam periodicity looks for lines between these modulation frequencies, Hz.
SEAM_RANGE_HZ = (0.5, 50.0)
#: Shortest audio for which seam periodicity is measured, seconds.
SEAM_MIN_DURATION_S = 2.0
_SEAM_BANDS = TextureConfig(n_bands=8, correlation_offsets=(1,))
_SEAM_SEGMENT_S = (2.0, 16.0)
_SEAM_NEIGHBOURS_HZ = 2.0



@dataclass(frozen=True)
class SeamPeriodicity:
    """The strongest line of the loudness modulation spectrum (see :func:`seam_periodicity_db`).

    Attributes
    ----------
    peak_db : height above the running median of neighbouring modulation frequencies, dB
    peak_hz : its modulation frequency, Hz; when lines at a sub-multiple of it stand out
        nearly as strongly (a comb of seam harmonics), the lowest such frequency
    """

    peak_db: float
    peak_hz: float


def _seam_spectrum(audio: np.ndarray, sample_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Modulation spectrum of the audio's loudness, averaged over a few wide bands.

    Returns
    -------
    (freqs_hz, power): shape (n_freqs,) each; power is relative (each band's spectrum is
    divided by its median within :data:`SEAM_RANGE_HZ` before the bands are averaged)
    """
    envelopes = cochlear.cochlear_envelopes(audio, sample_rate_hz, _SEAM_BANDS)
    envelopes = envelopes[envelopes.max(axis=1) > 0]  # bands above Nyquist are all zero
    rate_hz = _SEAM_BANDS.envelope_rate_hz
    duration_s = envelopes.shape[1] / rate_hz
    segment_s = min(max(duration_s / 2.0, _SEAM_SEGMENT_S[0]), _SEAM_SEGMENT_S[1])
    n_segment = min(int(round(segment_s * rate_hz)), envelopes.shape[1])
    import scipy.signal  # here, not above: it takes a second to import, and every
    # `raingan` command imports this module (for its constants)
    freqs, power = scipy.signal.welch(envelopes, fs=rate_hz, window="hann", nperseg=n_segment,
                                      noverlap=(3 * n_segment) // 4, detrend="linear", axis=-1)
    in_range = (freqs >= SEAM_RANGE_HZ[0]) & (freqs <= SEAM_RANGE_HZ[1])
    in_range[:2] = False  # DC and the first bin carry the removed trend
    scale = np.median(power[:, in_range], axis=1, keepdims=True)
    return freqs, np.mean(power / np.maximum(scale, 1e-300), axis=0)


def _ring_median(power: np.ndarray, inner: int, outer: int, first: int) -> np.ndarray:
    """Median of ``power[k + d]`` over ``inner < |d| <= outer`` (bins >= ``first`` only).

    Returns
    -------
    np.ndarray, shape (n_freqs,); NaN where no neighbour exists
    """
    offsets = np.concatenate([np.arange(-outer, -inner), np.arange(inner + 1, outer + 1)])
    index = np.arange(power.shape[0])[:, None] + offsets[None, :]
    valid = (index >= first) & (index < power.shape[0])
    neighbours = np.where(valid, power[np.clip(index, 0, power.shape[0] - 1)], np.nan)
    has_any = valid.any(axis=1)
    neighbours[~has_any] = 1.0  # placeholder rows, so nanmedian never sees an all-NaN row
    return np.where(has_any, np.nanmedian(neighbours, axis=1), np.nan)


def seam_periodicity_db(audio: np.ndarray, sample_rate_hz: float) -> SeamPeriodicity:
    """How strongly the audio's loudness pulses at one modulation frequency.

    Loudness is measured in 8 wide ERB bands (compressed Hilbert envelopes at 400 Hz, as in
    :mod:`.texture`) rather than as one broadband envelope: chunk seams modulate every band
    at once, while the random fluctuations of noise are independent between bands, so
    averaging the bands' modulation spectra (each first divided by its own median) keeps the
    seam line and steadies the noise floor. Each band's spectrum is Welch's estimate with
    Hann segments of half the audio, clamped to 2-16 s (75 % overlap; each segment's linear
    trend removed, so fades do not count).

    The peak of that spectrum within :data:`SEAM_RANGE_HZ` is reported in dB above the
    median of its neighbours from 3 bins to max(2 Hz, 5 bins) away on either side (the
    Hann main lobe, +-2 bins, is left out so a line does not raise its own baseline).
    Only frequencies with at least three such neighbours below them are examined, so the
    rising low end of slow swells cannot fake a line: the lowest frequency examined is
    7 bins, i.e. ``7 / segment_s`` (0.9 Hz for audio of 16 s, 1.75 Hz for 8 s, 3.5 Hz for
    4 s or less). Stationary noise and real rain score a few dB (2-4 dB, up to ~6 dB with
    slow swells); a stream of 0.5 s chunks with a level step or gap at each seam scores
    15-20 dB over 8 s of audio.

    Parameters
    ----------
    audio : shape (n_samples,), mono
    sample_rate_hz : Hz

    Returns
    -------
    SeamPeriodicity, NaN for audio shorter than :data:`SEAM_MIN_DURATION_S`.
    """
    if audio.shape[0] / sample_rate_hz < SEAM_MIN_DURATION_S:
        return SeamPeriodicity(math.nan, math.nan)
    freqs, power = _seam_spectrum(audio, sample_rate_hz)
    resolution_hz = freqs[1]
    inner = 2
    outer = max(int(round(_SEAM_NEIGHBOURS_HZ / resolution_hz)), inner + 3)
    first = 2
    baseline = _ring_median(power, inner, outer, first)
    bins = np.arange(freqs.shape[0])
    examined = ((bins >= first + inner + 3) & (freqs >= SEAM_RANGE_HZ[0])
                & (freqs <= SEAM_RANGE_HZ[1]) & np.isfinite(baseline))
    if not np.any(examined):
        return SeamPeriodicity(math.nan, math.nan)
    ratio_db = 10.0 * np.log10(np.maximum(power[examined], 1e-300)
                               / np.maximum(baseline[examined], 1e-300))
    peak = int(np.argmax(ratio_db))
    fundamental_hz = _fundamental_hz(freqs[examined], ratio_db, peak)
    return SeamPeriodicity(float(ratio_db[peak]), fundamental_hz)


def _fundamental_hz(freqs_hz: np.ndarray, ratio_db: np.ndarray, peak: int) -> float:
    """The lowest sub-multiple ``f_peak / k`` (k <= 8) that is itself a clear line.

    Seams make a comb of lines at the chunk rate and its harmonics, any of which can come out
    strongest; the chunk rate is what a reader needs. A sub-multiple counts when the line at
    the nearest frequency bin stands within 6 dB of the peak and at least 6 dB up.

    Parameters
    ----------
    freqs_hz, ratio_db : shape (n,), the examined frequencies and their line heights, dB
    peak : index of the strongest line
    """
    resolution_hz = freqs_hz[1] - freqs_hz[0] if freqs_hz.shape[0] > 1 else np.inf
    threshold_db = max(ratio_db[peak] - 6.0, 6.0)
    for k in range(8, 1, -1):
        target_hz = freqs_hz[peak] / k
        near = np.flatnonzero(np.abs(freqs_hz - target_hz) <= resolution_hz * 1.01)
        if near.size and ratio_db[near].max() >= threshold_db:
            return float(freqs_hz[near[np.argmax(ratio_db[near])]])
    return float(freqs_hz[peak])


