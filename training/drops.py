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

from typing import Callable, Sequence

import numpy as np
from scipy import signal

from ..core.speckle import Drops, excitation
from ..core.spec import SpectralSpec
from ..core.stft import hann_window

#: The band whose samples are measured, Hz: where drops stand out from the rain's bed.
DROP_BAND_HZ = (2000.0, 8000.0)
#: How far out a sample must stand, in its window's rms, to count in the tail fraction.
TAIL_RMS = 4.0
#: Candidate drop rates (Hz) and power shares; a share of 0 is plain Gaussian noise.
RATES_HZ = (25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0)
SHARES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
#: Seconds of each candidate's excitation simulated.
SIMULATED_S = 10.0


def drop_statistics(x: np.ndarray, spec: SpectralSpec) -> tuple[float, float]:
    """How impulsive a signal is inside one STFT window.

    The signal is band-passed to :data:`DROP_BAND_HZ` and divided by its own rms over a
    sliding analysis window of the spec (what one frame's mean level already holds).

    Parameters
    ----------
    x : shape (n_samples,), at the spec's rate; longer than a few windows

    Returns
    -------
    (kurtosis, tail): the normalised samples' kurtosis (Gaussian noise: about 3, a little
    less after the normalisation) and the fraction beyond :data:`TAIL_RMS` times their rms
    """
    sos = signal.butter(4, DROP_BAND_HZ, btype="band", fs=spec.sample_rate_hz, output="sos")
    band = signal.sosfilt(sos, np.asarray(x, dtype=np.float64))
    window = hann_window(spec.win_length).astype(np.float64)
    window /= window.sum()
    level = np.sqrt(np.maximum(signal.fftconvolve(band * band, window, mode="same"), 0.0)) + 1e-12
    edge = 2 * spec.win_length  # the filter's and the window's start-up
    z = (band / level)[edge:band.shape[0] - edge]
    if z.size < spec.win_length:
        raise ValueError(f"drop statistics need more than {2 * edge + spec.win_length} samples")
    power = float(np.mean(z * z))
    return float(np.mean(z ** 4) / power ** 2), float(np.mean(np.abs(z) > TAIL_RMS * np.sqrt(power)))


def pooled_drop_statistics(signals: Sequence[np.ndarray], spec: SpectralSpec
                           ) -> tuple[float, float] | None:
    """The signals' :func:`drop_statistics`, pooled in logarithms and weighted by length;
    None when no signal is long enough (five windows)."""
    measured = [(drop_statistics(x, spec), x.shape[0]) for x in signals
                if x.shape[0] > 5 * spec.win_length]
    if not measured:
        return None
    weights = np.array([n for _, n in measured], dtype=np.float64)
    kurtosis = np.exp(np.average(np.log([k for (k, _), _ in measured]), weights=weights))
    tail = np.exp(np.average(np.log([max(t, 1e-7) for (_, t), _ in measured]), weights=weights))
    return float(kurtosis), float(tail)


def statistics_distance(measured: tuple[float, float], target: tuple[float, float]) -> float:
    """Sum of squared log ratios of kurtosis and tail fraction."""
    return float(np.log(measured[0] / target[0]) ** 2
                 + np.log(max(measured[1], 1e-7) / max(target[1], 1e-7)) ** 2)


def nearest_drops(target: tuple[float, float],
                  measure: Callable[[Drops], tuple[float, float]]) -> tuple[Drops | None, float]:
    """The candidate (:data:`RATES_HZ` x :data:`SHARES`) whose ``measure`` is nearest
    ``target`` by :func:`statistics_distance`, None when plain Gaussian noise (share 0) is;
    and its distance."""
    best, best_distance = None, np.inf
    for rate_hz in RATES_HZ:
        for share in SHARES:
            drops = Drops(rate_hz, share)
            distance = statistics_distance(measure(drops), target)
            if distance < best_distance:
                best, best_distance = drops, distance
    return (None if best is None or best.share == 0.0 else best), float(best_distance)


def fit_drops(signals: Sequence[np.ndarray], spec: SpectralSpec, seed: int = 0
              ) -> Drops | None:
    """The candidate excitation whose :func:`drop_statistics` are nearest the signals'
    (:func:`pooled_drop_statistics`, :func:`nearest_drops`), simulated alone: what a frame's
    speckle is drawn from in training. Returns None when plain Gaussian noise is nearest."""
    target = pooled_drop_statistics(signals, spec)
    if target is None:
        return None
    rng = np.random.default_rng(seed)
    n_samples = int(SIMULATED_S * spec.sample_rate_hz)
    return nearest_drops(target, lambda drops: drop_statistics(
        excitation(rng, n_samples, drops, spec.sample_rate_hz), spec))[0]
