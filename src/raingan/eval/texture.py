"""Sound-texture statistics after McDermott & Simoncelli (2011), windowed.

A signal is split into ERB-spaced cochlear subbands by half-cosine filters applied to one FFT
of the whole signal; each subband's Hilbert envelope is compressed (``^0.3``) and resampled to
400 Hz. On analysis windows of those envelopes (2 s long, 1 s hop by default) we measure, per
band, the envelope mean, coefficient of variation, skewness and kurtosis; correlations between
band envelopes a few bands apart (linear trend removed per window); and the envelope's
modulation power in octave bands,
normalised by the envelope's variance. Statistics come out grouped (:data:`GROUPS`), one row
per window, so that a caller can compare means and judge them against the reference's own
window-to-window spread.

Everything is float64 and vectorised over bands and windows; the only Python loop runs over
the ~30 subbands, each of which is demodulated to baseband so that its FFT is short.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from .cochlear import TextureConfig, band_centres_hz, cochlear_envelopes

#: Statistic groups, in report order.
GROUPS: tuple[str, ...] = ("envelope_mean", "envelope_cv", "envelope_skew",
                           "envelope_kurtosis", "band_correlation", "modulation_power")

#: An envelope whose standard deviation is below this fraction of its mean (or is exactly
#: zero, as in digital silence) has no fluctuation to describe: its normalised moments,
#: correlations and modulation fractions are reported as 0 instead of 0/0.
_FLAT_ENVELOPE_REL = 1e-9
_TINY = 1e-30


@dataclass(frozen=True)
class TextureStats:
    """Windowed texture statistics of one signal.

    Attributes
    ----------
    groups : dict mapping each name in :data:`GROUPS` to an array of shape
        (n_windows, n_statistics), float64
    window_s : analysis window length actually used, seconds
    band_centres_hz : shape (n_bands,), centre frequency of each cochlear band, Hz
    modulation_centres_hz : shape (n_modulation_bands,), the modulation bands kept, Hz
    correlation_offsets : band offsets of the ``band_correlation`` statistics
    """

    groups: dict[str, np.ndarray]
    window_s: float
    band_centres_hz: np.ndarray
    modulation_centres_hz: np.ndarray
    correlation_offsets: tuple[int, ...] = TextureConfig().correlation_offsets

    @property
    def n_windows(self) -> int:
        return next(iter(self.groups.values())).shape[0]

    def layout(self, group: str) -> tuple[np.ndarray, np.ndarray]:
        """Which cochlear band and which kind each statistic of ``group`` belongs to.

        Returns
        -------
        (band, kind) : two int arrays of shape (n_statistics,). ``band`` is the (lower)
        cochlear band; ``kind`` is 0 for per-band moments, the offset's index for
        correlations, and the modulation band's index for modulation power.
        """
        n_bands = self.band_centres_hz.shape[0]
        if group == "band_correlation":
            band = np.concatenate([np.arange(n_bands - k) for k in self.correlation_offsets])
            kind = np.concatenate([np.full(n_bands - k, i)
                                   for i, k in enumerate(self.correlation_offsets)])
        elif group == "modulation_power":  # band-major, see _modulation_power
            n_mod = self.modulation_centres_hz.shape[0]
            band, kind = np.repeat(np.arange(n_bands), n_mod), np.tile(np.arange(n_mod), n_bands)
        else:
            band, kind = np.arange(n_bands), np.zeros(n_bands, dtype=np.int64)
        return band, kind


# -- analysis windows --------------------------------------------------------------------------

def analysis_window_s(duration_s: float, config: TextureConfig = TextureConfig()) -> float:
    """Window length used for a signal of ``duration_s`` seconds: ``window_s``, or the whole
    signal when it is shorter.

    Raises
    ------
    ValueError
        If ``duration_s`` is below ``config.min_window_s``.
    """
    if duration_s < config.min_window_s:
        raise ValueError(f"{duration_s:.2f} s is too short for texture statistics "
                         f"(at least {config.min_window_s:g} s)")
    return min(config.window_s, duration_s)


def window_starts(n_frames: int, window_frames: int, hop_frames: int) -> np.ndarray:
    """Start frames, shape (n_windows,), int, of windows spread evenly over the whole signal.

    The number of windows is what the hop allows, rounded up, so the step is at most
    ``hop_frames`` and the last window ends at the last frame: no tail goes unanalysed.
    """
    span = n_frames - window_frames
    if span < 0:
        raise ValueError("window longer than the signal")
    n_windows = 1 + int(np.ceil(span / hop_frames - 1e-9))
    return np.round(np.linspace(0, span, n_windows)).astype(np.int64)


def modulation_centres_for(window_s: float, config: TextureConfig = TextureConfig()) -> np.ndarray:
    """Modulation band centres, Hz, whose period ``1 / centre`` fits in a ``window_s`` window."""
    centres = np.asarray(config.modulation_centres_hz, dtype=np.float64)
    return centres[centres * window_s >= 1.0 - 1e-9]


# -- statistics --------------------------------------------------------------------------------

def _moment_statistics(flat: np.ndarray, sigma: np.ndarray, centred: np.ndarray,
                       mean: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, CV, skewness and kurtosis, each (n_windows, n_bands), from arrays of shape
    (n_bands, n_windows[, window_frames])."""
    safe_sigma = np.where(flat, 1.0, sigma)
    skew = np.mean(centred ** 3, axis=-1) / safe_sigma ** 3
    kurtosis = np.mean(centred ** 4, axis=-1) / safe_sigma ** 4
    cv = sigma / np.maximum(mean, _TINY)
    return {
        "envelope_mean": mean.T,
        "envelope_cv": np.where(flat, 0.0, cv).T,
        "envelope_skew": np.where(flat, 0.0, skew).T,
        "envelope_kurtosis": np.where(flat, 0.0, kurtosis).T,
    }


def _detrended_standardised(centred: np.ndarray) -> np.ndarray:
    """Envelopes with their linear trend removed, scaled to unit variance.

    A fade or a slow swell within a window moves every band together and would read as
    strong cross-band correlation; the correlations are meant to capture co-modulation
    (raindrops exciting many bands at once), so each window's linear trend is removed first.

    Parameters
    ----------
    centred : shape (n_bands, n_windows, window_frames), zero-mean envelopes

    Returns
    -------
    np.ndarray, same shape; rows without fluctuation are all zero
    """
    length = centred.shape[-1]
    ramp = np.arange(length) - (length - 1) / 2.0
    ramp /= max(float(np.sqrt(np.sum(ramp ** 2))), _TINY)
    detrended = centred - np.einsum("bwt,t->bw", centred, ramp)[..., None] * ramp
    sigma = np.sqrt(np.mean(detrended ** 2, axis=-1))
    scale = np.max(np.abs(centred), axis=-1)
    flat = sigma <= _FLAT_ENVELOPE_REL * scale + _TINY
    return np.where(flat[..., None], 0.0, detrended / np.where(flat, 1.0, sigma)[..., None])


def _band_correlations(standardised: np.ndarray, offsets: tuple[int, ...]) -> np.ndarray:
    """Pearson correlations between bands ``j`` and ``j + k`` for each offset ``k``.

    Parameters
    ----------
    standardised : shape (n_bands, n_windows, window_frames), zero mean, unit variance
        (or all zero for a flat envelope); see :func:`_detrended_standardised`

    Returns
    -------
    np.ndarray, shape (n_windows, sum over k of (n_bands - k))
    """
    parts = [np.mean(standardised[:-k] * standardised[k:], axis=-1) for k in offsets]
    return np.concatenate(parts, axis=0).T


def _modulation_power(centred: np.ndarray, window_s: float,
                      centres_hz: np.ndarray, envelope_rate_hz: float) -> np.ndarray:
    """Fraction of each envelope's variance in octave-wide modulation bands.

    The envelope (mean removed) is Hann-windowed; its power spectrum summed over one octave
    band ``[c / sqrt 2, c * sqrt 2)`` is divided by the whole spectrum without DC, which is
    the windowed envelope's variance (Parseval), so a flat envelope spectrum gives the same
    value at every level.

    Parameters
    ----------
    centred : shape (n_bands, n_windows, window_frames), envelopes minus their window mean

    Returns
    -------
    np.ndarray, shape (n_windows, n_bands * n_modulation_bands), band-major
    """
    n_bands, n_windows, length = centred.shape
    taper = np.hanning(length + 2)[1:-1]
    power = np.abs(sfft.rfft(centred * taper, axis=-1)) ** 2
    freqs = np.arange(power.shape[-1]) * (envelope_rate_hz / length)
    lower = centres_hz[:, None] / np.sqrt(2.0)
    masks = ((freqs[None, :] >= lower) & (freqs[None, :] < 2.0 * lower)).astype(np.float64)
    masks[:, 0] = 0.0
    band_power = np.einsum("bwf,mf->wbm", power, masks)
    total = np.sum(power[..., 1:], axis=-1).T[..., None]
    fraction = np.where(total > _TINY, band_power / np.maximum(total, _TINY), 0.0)
    return fraction.reshape(n_windows, n_bands * centres_hz.shape[0])


def window_statistics(envelopes: np.ndarray, window_s: float, modulation_centres: np.ndarray,
                      config: TextureConfig = TextureConfig()) -> dict[str, np.ndarray]:
    """Texture statistics of each analysis window of some envelopes.

    Parameters
    ----------
    envelopes : shape (n_bands, n_frames), float64, at ``config.envelope_rate_hz``
    window_s : window length, seconds (at most the envelopes' duration)
    modulation_centres : modulation band centres to measure, Hz, shape (n_modulation_bands,)

    Returns
    -------
    dict mapping each name in :data:`GROUPS` to shape (n_windows, n_statistics), float64
    """
    rate = config.envelope_rate_hz
    window_frames = min(int(round(window_s * rate)), envelopes.shape[1])
    hop_frames = max(int(round(config.hop_s * rate)), 1)
    starts = window_starts(envelopes.shape[1], window_frames, hop_frames)
    windows = envelopes[:, starts[:, None] + np.arange(window_frames)]  # (bands, windows, frames)
    mean = windows.mean(axis=-1)
    centred = windows - mean[..., None]
    sigma = np.sqrt(np.mean(centred ** 2, axis=-1))
    flat = sigma <= _FLAT_ENVELOPE_REL * mean + _TINY
    # Flat envelopes become all-zero rows, so correlations and modulation fractions are 0.
    centred = np.where(flat[..., None], 0.0, centred)
    groups = _moment_statistics(flat, sigma, centred, mean)
    groups["band_correlation"] = _band_correlations(_detrended_standardised(centred),
                                                    config.correlation_offsets)
    groups["modulation_power"] = _modulation_power(centred, window_frames / rate,
                                                   modulation_centres, rate)
    return {name: groups[name] for name in GROUPS}


def texture_statistics(audio: np.ndarray, sample_rate_hz: float,
                       config: TextureConfig = TextureConfig(),
                       shortest_window_s: float | None = None) -> TextureStats:
    """Windowed texture statistics of a mono signal.

    Parameters
    ----------
    audio : np.ndarray, shape (n_samples,), float; mono
    sample_rate_hz : sampling rate, Hz (at least ``2.2 * config.high_hz`` is sensible)
    shortest_window_s : the shortest window used by any signal this one will be compared
        with; it decides which modulation bands are kept, so that every signal in a
        comparison has the same statistics. Defaults to this signal's own window.

    Raises
    ------
    ValueError
        If the signal is shorter than ``config.min_window_s``.
    """
    duration_s = np.asarray(audio).shape[0] / sample_rate_hz
    window_s = analysis_window_s(duration_s, config)
    shortest = window_s if shortest_window_s is None else min(shortest_window_s, window_s)
    centres = modulation_centres_for(shortest, config)
    envelopes = cochlear_envelopes(audio, sample_rate_hz, config)
    groups = window_statistics(envelopes, window_s, centres, config)
    return TextureStats(groups, window_s, band_centres_hz(config), centres,
                        config.correlation_offsets)
