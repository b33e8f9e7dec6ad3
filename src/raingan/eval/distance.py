"""Texture distance: a candidate's texture statistics against the references' own spread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .texture import GROUPS, TextureStats


# Spread floors of :func:`texture_distance`. The reference's window-to-window standard
# deviation of a statistic is floored at max(REL * |reference mean|, ABS): a statistic that
# barely moves in the reference (or a reference with a single window) must not turn a
# negligible difference into a huge distance. The floors are a few per cent of each group's
# natural scale, below the spreads real rain shows in 2 s windows (so they rarely bind there):
# envelope means are level-like (relative floor: 2 % of the compressed envelope, about
# 0.3 dB of power); CV, skewness, kurtosis and correlations are dimensionless (absolute
# floors); modulation power is a fraction of variance (0.005 = half a per cent of it).
SPREAD_FLOOR_REL: dict[str, float] = {
    "envelope_mean": 0.02, "envelope_cv": 0.02, "envelope_skew": 0.0,
    "envelope_kurtosis": 0.02, "band_correlation": 0.0, "modulation_power": 0.05,
}
SPREAD_FLOOR_ABS: dict[str, float] = {
    "envelope_mean": 1e-6, "envelope_cv": 0.005, "envelope_skew": 0.05,
    "envelope_kurtosis": 0.05, "band_correlation": 0.02, "modulation_power": 0.002,
}

#: Seam periodicity looks for lines between these modulation frequencies, Hz.


#: Statistics are compared in frequency regions of this many adjacent cochlear bands.
REGION_BANDS = 5


@dataclass(frozen=True)
class TextureDistance:
    """Distances between candidate and reference statistics.

    Attributes
    ----------
    groups : per statistic group, the mean over frequency regions of
        ``|mean_cand - mean_ref| / spread_ref`` (see :func:`texture_distance`)
    mean : mean over groups
    """

    groups: dict[str, float]
    mean: float


def _pool(stats: Sequence[TextureStats], group: str) -> np.ndarray:
    """The windows of every signal, stacked: shape (total windows, n_statistics)."""
    return np.concatenate([s.groups[group] for s in stats], axis=0)


def reference_spread(windows: np.ndarray, group: str) -> np.ndarray:
    """Floored window-to-window standard deviation of each statistic.

    Parameters
    ----------
    windows : shape (n_windows, n_statistics), the pooled reference windows
    group : statistic group name, selects the floors

    Returns
    -------
    np.ndarray, shape (n_statistics,): ``max(std, SPREAD_FLOOR_REL * |mean|, SPREAD_FLOOR_ABS)``
    (a single window has std 0, so only the floors apply)
    """
    std = windows.std(axis=0, ddof=1) if windows.shape[0] > 1 else np.zeros(windows.shape[1])
    floor = np.maximum(SPREAD_FLOOR_REL[group] * np.abs(windows.mean(axis=0)),
                       SPREAD_FLOOR_ABS[group])
    return np.maximum(std, floor)


def region_means(z: np.ndarray, band: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Mean of ``z`` over each (kind, region of :data:`REGION_BANDS` bands) cell.

    Parameters
    ----------
    z : shape (n_statistics,), signed standardised differences
    band, kind : shape (n_statistics,), from :meth:`.texture.TextureStats.layout`

    Returns
    -------
    np.ndarray, shape (n_cells,), the non-empty cells only
    """
    cell = kind * (int(band.max()) // REGION_BANDS + 1) + band // REGION_BANDS
    counts = np.bincount(cell)
    sums = np.bincount(cell, weights=z)
    return sums[counts > 0] / counts[counts > 0]


def texture_distance(reference: Sequence[TextureStats],
                     candidate: Sequence[TextureStats]) -> TextureDistance:
    """Distance of the candidates' texture statistics from the references', per group.

    Windows of all references are pooled, and so are the candidates'. For each statistic,
    ``mean over candidate windows - mean over reference windows`` is divided by the
    reference's spread (:func:`reference_spread`). These signed differences are averaged
    over frequency regions of :data:`REGION_BANDS` adjacent cochlear bands (within one
    correlation offset or modulation band) before their magnitude is taken: a statistic of
    one band in a few seconds of audio is noisy, while a real difference in texture (duller
    drops, smeared transients, a pulse) moves neighbouring bands together. Each group
    reports the mean magnitude over its regions; ``mean`` is the mean over groups.

    Parameters
    ----------
    reference, candidate : statistics computed with the same configuration and the same
        modulation bands (see ``shortest_window_s`` in :func:`.texture.texture_statistics`)
    """
    if not reference or not candidate:
        raise ValueError("need at least one reference and one candidate")
    groups = {}
    for group in GROUPS:
        ref = _pool(reference, group)
        cand = _pool(candidate, group)
        if ref.shape[1] != cand.shape[1]:
            raise ValueError(f"{group}: reference has {ref.shape[1]} statistics, candidate "
                             f"{cand.shape[1]}; compute both with the same shortest window")
        z = (cand.mean(axis=0) - ref.mean(axis=0)) / reference_spread(ref, group)
        groups[group] = float(np.mean(np.abs(region_means(z, *reference[0].layout(group)))))
    return TextureDistance(groups, float(np.mean(list(groups.values()))))


