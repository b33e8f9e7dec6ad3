"""Fine modulation spectrum: periodic artifacts, named by their frequency.

Each signal is split into a few broad cochlear bands (:data:`MODULATION_BANDS`, 0.5-12 kHz),
whose Hilbert envelopes, sampled at 1 kHz and divided by their mean, are what is heard as
the rain's fluctuation. Their power spectrum (a Hann-windowed periodogram of the whole signal)
is averaged into fine bins from 0.5 to 200 Hz: 0.25 Hz wide, and narrower below 1.1 Hz, so
that every bin is at most a third of an octave wide. Files are pooled by duration.

A periodogram is noisy: a bin's level is as steady as the number of raw periodogram values
behind it (its degrees of freedom, two per value) allows, and short references hold few. So
the comparison merges neighbouring fine bins until both sides have at least
:data:`MIN_DOF` degrees of freedom; a group that would grow wider than a third of an octave
is not judged. Long references are judged at 0.25 Hz; 25 s of reference audio, from about
10 Hz up.

A narrow artifact (a frame-rate checkerboard, a chunk rate, a latent grid) is a line that
stands above its neighbourhood: a bin's *prominence* is its level over the median of the bins
within a third of an octave on either side, its own close neighbours left out. The judge
compares the candidate's prominence with the reference's, bin by bin, averaged over the bands:
:attr:`ModulationComparison.peak_db` is the largest excess (a line the reference does not
have), :attr:`ModulationComparison.dip_db` the largest deficit. Broad differences of
modulation depth are reported per third-octave band (:attr:`ModulationComparison.third_octave_db`).

These are judging statistics: no training loss of RainGAN uses them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.fft as sfft

from . import cochlear
from .cochlear import TextureConfig

#: Modulation frequencies judged, Hz.
MODULATION_RANGE_HZ = (0.5, 200.0)
#: Widest fine bin, Hz; below :data:`FINE_BIN_HZ` / :data:`THIRD_OCTAVE_WIDTH` bins are a third
#: of an octave wide.
FINE_BIN_HZ = 0.25
#: Width of a third-octave band relative to its centre (2^(1/6) - 2^(-1/6)).
THIRD_OCTAVE_WIDTH = 2.0 ** (1 / 6) - 2.0 ** (-1 / 6)
#: Broad bands whose envelopes are analysed (uncompressed, at 1 kHz).
MODULATION_BANDS = TextureConfig(n_bands=6, low_hz=500.0, high_hz=12_000.0, compression=1.0,
                                 envelope_rate_hz=1000, correlation_offsets=(1,))
#: A bin's neighbourhood for its prominence: within a third of an octave on either side,
#: except the bins this close to it (a line a bin wide must not raise its own baseline).
_NEIGHBOURHOOD_OCTAVES = 1 / 3
_OWN_BINS = 1
#: Degrees of freedom a judged bin needs on both sides: a level's noise is then about
#: 4.34 * sqrt(2 / MIN_DOF) = 0.54 dB per band.
MIN_DOF = 128


def fine_bin_edges_hz(low_hz: float = MODULATION_RANGE_HZ[0],
                      high_hz: float = MODULATION_RANGE_HZ[1]) -> np.ndarray:
    """Edges of the fine bins, shape (n_bins + 1,), Hz, from ``low_hz`` to about ``high_hz``.

    A bin centred at ``f`` is ``min(FINE_BIN_HZ, THIRD_OCTAVE_WIDTH * f)`` wide.
    """
    edges = [low_hz]
    while edges[-1] < high_hz:
        lower = edges[-1]
        # Width from the bin's centre: lower + w/2 = c and w = k c give w = 2 k lower / (2 - k).
        width = min(FINE_BIN_HZ, 2 * THIRD_OCTAVE_WIDTH * lower / (2 - THIRD_OCTAVE_WIDTH))
        edges.append(lower + width)
    return np.array(edges)


FINE_EDGES_HZ = fine_bin_edges_hz()
FINE_CENTRES_HZ = 0.5 * (FINE_EDGES_HZ[:-1] + FINE_EDGES_HZ[1:])
#: Third-octave band centres (base-2, through 1 Hz) for the broad comparison, Hz.
THIRD_OCTAVE_CENTRES_HZ = 2.0 ** (np.arange(-3, 24) / 3)


@dataclass(frozen=True)
class ModulationSpectrum:
    """Envelope power spectra of one signal, or of several pooled.

    Attributes
    ----------
    power : shape (n_bands, n_bins), envelope power density per fine bin (relative to the
        envelope's squared mean, per Hz); NaN where no periodogram value falls in a bin
    dof : degrees of freedom behind each bin, shape (n_bins,): two per periodogram value
    """

    power: np.ndarray
    dof: np.ndarray


@dataclass(frozen=True)
class ModulationComparison:
    """A candidate's modulation spectrum against the reference's.

    Attributes
    ----------
    peak_db, peak_hz : the largest excess of prominence over the reference's, averaged over
        bands, dB, and its modulation frequency, Hz (NaN when no bin is comparable)
    dip_db, dip_hz : the largest deficit, dB (positive: the candidate lacks a line or a hump
        the reference has), and its frequency
    band_peak_db : per broad band, its own largest excess of prominence, dB
    third_octave_db : per third-octave band (:data:`THIRD_OCTAVE_CENTRES_HZ`), the
        candidate's modulation power over the reference's, averaged over bands, dB (NaN where
        not comparable)
    judged_from_hz : the lowest modulation frequency judged, Hz: lower ones need more audio
        on both sides (:func:`judging_groups`); NaN when none is judged
    """

    peak_db: float
    peak_hz: float
    dip_db: float
    dip_hz: float
    band_peak_db: list[float]
    third_octave_db: list[float]
    judged_from_hz: float


def modulation_spectrum(audio: np.ndarray, sample_rate_hz: float,
                        bands: TextureConfig = MODULATION_BANDS) -> ModulationSpectrum:
    """Envelope power spectra of a mono signal on the fine bins.

    Parameters
    ----------
    audio : shape (n_samples,), mono
    sample_rate_hz : Hz; bands above its Nyquist frequency come out NaN

    Returns
    -------
    ModulationSpectrum with ``power`` of shape (bands.n_bands, len(FINE_CENTRES_HZ))
    """
    envelopes = cochlear.cochlear_envelopes(audio, sample_rate_hz, bands)
    rate = bands.envelope_rate_hz
    n = envelopes.shape[1]
    mean = envelopes.mean(axis=1, keepdims=True)
    live = mean[:, 0] > 1e-12
    window = np.hanning(n)
    depth = np.where(live[:, None], envelopes / np.maximum(mean, 1e-12) - 1.0, 0.0)
    depth -= (depth * window).sum(axis=1, keepdims=True) / max(window.sum(), 1e-12)
    spectrum = np.abs(sfft.rfft(depth * window, axis=1)) ** 2 / (rate * np.sum(window ** 2))
    freqs = np.arange(spectrum.shape[1]) * rate / n
    power = np.full((bands.n_bands, FINE_CENTRES_HZ.size), np.nan)
    index = np.searchsorted(FINE_EDGES_HZ, freqs, side="right") - 1
    inside = (index >= 0) & (index < FINE_CENTRES_HZ.size)
    counts = np.bincount(index[inside], minlength=FINE_CENTRES_HZ.size)
    resolved = counts > 0
    for b in np.flatnonzero(live):
        sums = np.bincount(index[inside], weights=spectrum[b, inside],
                           minlength=FINE_CENTRES_HZ.size)
        power[b, resolved] = sums[resolved] / counts[resolved]
    return ModulationSpectrum(power, 2.0 * counts)


def pool(spectra: Sequence[ModulationSpectrum]) -> ModulationSpectrum:
    """Spectra of several signals pooled, each bin weighted by its degrees of freedom."""
    dofs = np.stack([s.dof for s in spectra])  # (n_signals, n_bins)
    powers = np.stack([np.nan_to_num(s.power) for s in spectra])  # (n, bands, bins)
    valid = np.stack([np.isfinite(s.power) for s in spectra])
    w = np.where(valid, dofs[:, None, :], 0.0)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        power = np.where(total > 0, (w * powers).sum(axis=0) / total, np.nan)
    return ModulationSpectrum(power, dofs.sum(axis=0))


def judging_groups(*dofs: np.ndarray, min_dof: float = MIN_DOF) -> list[np.ndarray]:
    """Consecutive fine bins merged until every side has ``min_dof`` degrees of freedom.

    Returns
    -------
    list of index arrays into the fine bins, in ascending frequency; groups that would be
    wider than a third of an octave are dropped (not judged)
    """
    groups, start = [], 0
    n = FINE_CENTRES_HZ.size
    while start < n:
        stop = start + 1
        while stop <= n and min(float(d[start:stop].sum()) for d in dofs) < min_dof:
            stop += 1
        if stop > n:
            break
        low, high = FINE_EDGES_HZ[start], FINE_EDGES_HZ[stop]
        if high - low <= THIRD_OCTAVE_WIDTH * 0.5 * (low + high) or stop - start == 1:
            groups.append(np.arange(start, stop))
        start = stop
    return groups


def _grouped(spectrum: ModulationSpectrum, groups: list[np.ndarray]) -> np.ndarray:
    """Power of each group, weighted by degrees of freedom, shape (n_bands, n_groups)."""
    out = np.empty((spectrum.power.shape[0], len(groups)))
    for k, members in enumerate(groups):
        w = spectrum.dof[members]
        with np.errstate(all="ignore"):
            out[:, k] = (np.nan_to_num(spectrum.power[:, members]) * w).sum(axis=1) / w.sum()
        out[~np.all(np.isfinite(spectrum.power[:, members]), axis=1), k] = np.nan
    return out


def prominence_db(power: np.ndarray, centres_hz: np.ndarray) -> np.ndarray:
    """Each bin's level over the median level of its neighbourhood, dB.

    Parameters
    ----------
    power : shape (n_bands, n_bins)
    centres_hz : the bins' centres, shape (n_bins,), ascending

    Returns
    -------
    np.ndarray, shape (n_bands, n_bins); NaN where the bin or its whole neighbourhood is NaN
    """
    level = 10.0 * np.log10(np.maximum(power, 1e-30))
    level = np.where(np.isfinite(power), level, np.nan)
    out = np.full(level.shape, np.nan)
    ratio = 2.0 ** _NEIGHBOURHOOD_OCTAVES
    for k, centre in enumerate(centres_hz):
        lo = np.searchsorted(centres_hz, centre / ratio)
        hi = np.searchsorted(centres_hz, centre * ratio, side="right")
        around = [j for j in range(lo, hi) if abs(j - k) > _OWN_BINS]
        if len(around) < 2:
            continue
        with np.errstate(all="ignore"):
            baseline = np.nanmedian(level[:, around], axis=1) if np.any(
                np.isfinite(level[:, around])) else np.full(level.shape[0], np.nan)
        out[:, k] = level[:, k] - baseline
    return out


def third_octave_power(power: np.ndarray, centres_hz: np.ndarray) -> np.ndarray:
    """Mean power density of the bins (centred at ``centres_hz``) within each third-octave
    band, shape (n_bands, len(THIRD_OCTAVE_CENTRES_HZ)); NaN where no bin is resolved."""
    lower, upper = THIRD_OCTAVE_CENTRES_HZ * 2 ** (-1 / 6), THIRD_OCTAVE_CENTRES_HZ * 2 ** (1 / 6)
    out = np.full((power.shape[0], THIRD_OCTAVE_CENTRES_HZ.size), np.nan)
    for k, (lo, hi) in enumerate(zip(lower, upper)):
        members = (centres_hz >= lo) & (centres_hz < hi)
        if members.any():
            with np.errstate(all="ignore"):
                out[:, k] = np.nanmean(power[:, members], axis=1) if np.any(
                    np.isfinite(power[:, members])) else np.nan
    return out


def band_mean(values: np.ndarray) -> np.ndarray:
    """Mean over bands (axis 0), ignoring NaN; NaN where every band is NaN."""
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    total = np.where(finite, values, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def compare(reference: ModulationSpectrum, candidate: ModulationSpectrum
            ) -> ModulationComparison:
    """The candidate's prominences and third-octave levels against the reference's, on the
    bins both resolve (:func:`judging_groups`)."""
    groups = judging_groups(reference.dof, candidate.dof)
    centres = np.array([FINE_CENTRES_HZ[g].mean() for g in groups]) if groups else np.zeros(0)
    ref_power, cand_power = _grouped(reference, groups), _grouped(candidate, groups)
    excess = prominence_db(cand_power, centres) - prominence_db(ref_power, centres)
    pooled = band_mean(excess)
    if not np.any(np.isfinite(excess)):
        nan = math.nan
        return ModulationComparison(nan, nan, nan, nan, [nan] * excess.shape[0],
                                    [nan] * THIRD_OCTAVE_CENTRES_HZ.size, nan)
    peak, dip = int(np.nanargmax(pooled)), int(np.nanargmin(pooled))
    with np.errstate(all="ignore"):
        band_peaks = [float(np.nanmax(row)) if np.any(np.isfinite(row)) else math.nan
                      for row in excess]
        broad = 10.0 * np.log10(third_octave_power(cand_power, centres)
                                / third_octave_power(ref_power, centres))
    return ModulationComparison(
        peak_db=float(pooled[peak]), peak_hz=float(centres[peak]),
        dip_db=float(-pooled[dip]), dip_hz=float(centres[dip]),
        band_peak_db=band_peaks, third_octave_db=[float(v) for v in band_mean(broad)],
        judged_from_hz=float(FINE_EDGES_HZ[groups[0][0]]))
