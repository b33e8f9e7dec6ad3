"""Drops: how impulsive real rain is inside one STFT window, and the excitation that matches it.

A streaming generator writes each frame's mean spectrum; everything shorter than a frame
comes from the excitation its speckle is taken from (:func:`raingan.core.speckle.excitation`).
Gaussian noise has no clicks, and rain's drops are clicks. This module measures, on the
training audio only, how far a drop band's samples stand out from their own window's level,
and picks the :class:`~raingan.core.speckle.Drops` whose excitation stands out as much, by
simulating each candidate through the same measure.

These are **training statistics**: the export stores the fit in the model, and nothing in
:mod:`raingan.eval` uses them. The judges look at other things (8 ms levels, 2 ms band
envelopes' modulation, spectral shape), on held-out audio.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import numpy as np
from scipy import signal

from ..core.speckle import Drops, excitation
from ..core.spec import SpectralSpec
from ..core.stft import hann_window

#: The bands whose samples are measured, Hz: below, in and above the middle band where drops
#: stand out most from the rain's bed (real drops stand out more the higher the band).
DROP_BANDS_HZ = ((1000.0, 3000.0), (2000.0, 8000.0), (6000.0, 11000.0))
#: How far out a sample must stand, in its window's rms, to count in the tail fraction; and
#: in the far tail, where only big drops reach.
TAIL_RMS, FAR_TAIL_RMS = 4.0, 6.0
#: Candidate drop rates (Hz), power shares (a share of 0 is plain Gaussian noise) and spreads
#: of the drops' levels (dB).
RATES_HZ = (25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0)
SHARES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
LEVEL_SPREADS_DB = (0.0, 4.0, 8.0, 12.0)
#: Candidate tilts of the drops' share, dB per octave (:attr:`Drops.tilt_db_per_octave`).
TILTS_DB_PER_OCTAVE = (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0)
#: (kurtosis, tail fraction, far tail fraction) of each band of :data:`DROP_BANDS_HZ` in
#: turn, see :func:`drop_statistics`.
DropStatistics = tuple[float, ...]
#: How many numbers a :data:`DropStatistics` holds.
STATISTICS_LENGTH = 3 * len(DROP_BANDS_HZ)
#: The band of :data:`DROP_BANDS_HZ` around :data:`~raingan.core.speckle.TILT_REFERENCE_HZ`,
#: where a tilt pivots: it changes this band's share least.
REFERENCE_BAND = 1
#: Fractions below this count as this in :func:`statistics_distance`: about one sample of a
#: fit's renders (a million samples), below which a count is chance.
FRACTION_FLOOR = 1e-6
#: Candidate fractions of the drops every channel shares (:attr:`Drops.shared`).
SHARED = (0.0, 0.125, 0.25, 0.5, 0.75, 1.0)
#: Seconds of each candidate's excitation simulated.
SIMULATED_S = 10.0


def drop_statistics(x: np.ndarray, spec: SpectralSpec) -> DropStatistics:
    """How impulsive a signal is inside one STFT window.

    The signal is band-passed to each band of :data:`DROP_BANDS_HZ` (cut at 0.9 of the
    Nyquist frequency) and divided by its own rms over a sliding analysis window of the spec
    (what one frame's mean level already holds).

    Parameters
    ----------
    x : shape (n_samples,), at the spec's rate; longer than a few windows

    Returns
    -------
    For each band in turn (:data:`STATISTICS_LENGTH` numbers): the normalised samples'
    kurtosis (Gaussian noise: about 3, a little less after the normalisation) and the
    fractions beyond :data:`TAIL_RMS` and :data:`FAR_TAIL_RMS` times their rms (how many
    drops stand out, and how far)
    """
    x = np.asarray(x, dtype=np.float64)
    window = hann_window(spec.win_length).astype(np.float64)
    window /= window.sum()
    top_hz = 0.45 * spec.sample_rate_hz
    return tuple(v for low_hz, high_hz in DROP_BANDS_HZ
                 for v in _band_statistics(x, (min(low_hz, 0.5 * top_hz), min(high_hz, top_hz)),
                                           window, spec))


def _band_statistics(x: np.ndarray, band_hz: tuple[float, float], window: np.ndarray,
                     spec: SpectralSpec) -> tuple[float, float, float]:
    sos = signal.butter(4, band_hz, btype="band", fs=spec.sample_rate_hz, output="sos")
    band = signal.sosfilt(sos, x)
    # Overlap-add: a long signal and a short window (twice as fast as one FFT of the whole).
    level = np.sqrt(np.maximum(signal.oaconvolve(band * band, window, mode="same"), 0.0)) + 1e-12
    edge = 2 * spec.win_length  # the filter's and the window's start-up
    z = (band / level)[edge:band.shape[0] - edge]
    if z.size < spec.win_length:
        raise ValueError(f"drop statistics need more than {2 * edge + spec.win_length} samples")
    squared = z * z  # (products, not powers: ``z ** 4`` costs as much as the rest together)
    power = float(np.mean(squared))
    return (float(np.mean(squared * squared) / power ** 2),
            float(np.count_nonzero(squared > TAIL_RMS ** 2 * power) / z.size),
            float(np.count_nonzero(squared > FAR_TAIL_RMS ** 2 * power) / z.size))


def in_band(statistics: DropStatistics, band: int) -> tuple[float, float, float]:
    """The (kurtosis, tail, far tail) of band ``band`` of :data:`DROP_BANDS_HZ` in
    ``statistics``."""
    return tuple(statistics[3 * band:3 * band + 3])


def pooled_drop_statistics(signals: Sequence[np.ndarray], spec: SpectralSpec
                           ) -> DropStatistics | None:
    """The signals' :func:`drop_statistics` as of one signal: each averaged over the signals,
    weighted by length; None when no signal is long enough (five windows)."""
    measured = [(drop_statistics(x, spec), x.shape[0]) for x in signals
                if x.shape[0] > 5 * spec.win_length]
    if not measured:
        return None
    pooled = np.average([m for m, _ in measured], axis=0, weights=[n for _, n in measured])
    return tuple(float(v) for v in pooled)


def statistics_distance(measured: DropStatistics, target: DropStatistics) -> float:
    """Sum of squared log ratios of the statistics (fractions floored at
    :data:`FRACTION_FLOOR`)."""
    return float(sum(np.log(max(m, FRACTION_FLOOR) / max(t, FRACTION_FLOOR)) ** 2
                     for m, t in zip(measured, target, strict=True)))


def candidate_drops() -> list[Drops]:
    """Every candidate: :data:`RATES_HZ` x :data:`SHARES` x :data:`LEVEL_SPREADS_DB`, a share
    of 0 (plain Gaussian noise) once."""
    return [Drops(RATES_HZ[0], 0.0)] + [
        Drops(rate_hz, share, level_spread_db=spread_db)
        for rate_hz in RATES_HZ for share in SHARES if share > 0.0
        for spread_db in LEVEL_SPREADS_DB]


def nearest_drops(target: DropStatistics, measure: Callable[[Drops], DropStatistics],
                  band: int | None = None) -> tuple[Drops | None, float]:
    """The candidate (:func:`candidate_drops`) whose ``measure`` is nearest ``target`` by
    :func:`statistics_distance` (in every band, or in ``band`` of :data:`DROP_BANDS_HZ`
    alone), None when plain Gaussian noise (share 0) is; and its distance."""
    best, best_distance = None, np.inf
    for drops in candidate_drops():
        measured = measure(drops)
        distance = (statistics_distance(measured, target) if band is None else
                    statistics_distance(in_band(measured, band), in_band(target, band)))
        if distance < best_distance:
            best, best_distance = drops, distance
    return (None if best is None or best.share == 0.0 else best), float(best_distance)


def nearest_tilt(drops: Drops, target: DropStatistics,
                 measure: Callable[[Drops], DropStatistics]) -> tuple[Drops, float]:
    """``drops`` with the tilt (:data:`TILTS_DB_PER_OCTAVE`) and share (:data:`SHARES`, but
    0) whose ``measure`` is nearest ``target``; and its distance. The untilted candidates
    are among them."""
    return _nearest([replace(drops, share=share, tilt_db_per_octave=tilt)
                     for tilt in TILTS_DB_PER_OCTAVE for share in SHARES if share > 0.0],
                    target, measure)


def nearest_shared(drops: Drops, target: DropStatistics,
                   measure: Callable[[Drops], DropStatistics]) -> tuple[Drops, float]:
    """``drops`` with the fraction in common (:data:`SHARED`) whose ``measure`` (of a mono mix
    of the channels) is nearest ``target`` (the recordings' mixes') by
    :func:`statistics_distance`; and its distance."""
    return _nearest([replace(drops, shared=shared) for shared in SHARED], target, measure)


def _nearest(candidates: list[Drops], target: DropStatistics,
             measure: Callable[[Drops], DropStatistics]) -> tuple[Drops, float]:
    """The first of ``candidates`` whose ``measure`` is nearest ``target``, and its
    distance."""
    distances = [statistics_distance(measure(candidate), target) for candidate in candidates]
    best = int(np.argmin(distances))
    return candidates[best], float(distances[best])


def fit_drops(signals: Sequence[np.ndarray], spec: SpectralSpec, seed: int = 0
              ) -> Drops | None:
    """The candidate excitation whose :func:`drop_statistics` are nearest the signals'
    (:func:`pooled_drop_statistics`, :func:`nearest_drops`), simulated alone: what a frame's
    speckle is drawn from in training (untilted: training's speckle has one share at every
    frequency). Returns None when plain Gaussian noise is nearest."""
    target = pooled_drop_statistics(signals, spec)
    if target is None:
        return None
    n_samples = int(SIMULATED_S * spec.sample_rate_hz)
    # The same random draws for every candidate, so that they differ by their drops only.
    return nearest_drops(target, lambda drops: drop_statistics(excitation(
        np.random.default_rng(seed), n_samples, drops, spec.sample_rate_hz), spec))[0]
