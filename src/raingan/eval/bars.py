"""Quality bars: the held-out split of a recording, and what a model must reach against it.

Real rain sets the bars. Every recording is split in time: its first two thirds are the
reference a candidate is judged against, its last third is held out (a model never trains
on it) and scored the same way. The held-out thirds' figures are what real rain achieves
against the reference; a model's renders must come within the bars derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A model's mean texture distance may be at most this multiple of the held-out thirds'.
DISTANCE_RATIO = 1.5
#: A model's mean repetition may exceed the held-out thirds' by at most this much.
REPETITION_MARGIN = 0.1
#: A model's mean seam periodicity may exceed the held-out thirds' by at most this, dB.
SEAM_MARGIN_DB = 1.0


@dataclass(frozen=True)
class QualityBars:
    """Upper bounds for a model's mean figures over seeds (lower is better for each).

    Attributes
    ----------
    distance : texture distance, in units of the reference's own spread
    repetition : repetition score (about 1 for a loop)
    seam_db : seam periodicity, dB above its neighbourhood
    """

    distance: float
    repetition: float
    seam_db: float


def split_thirds(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A recording's first two thirds (the reference) and its last third (held out).

    Parameters
    ----------
    samples : shape (n_samples,) or (n_samples, n_channels)

    Returns
    -------
    (reference, held_out), split along the first axis at ``2 * n_samples // 3``
    """
    cut = 2 * samples.shape[0] // 3
    return samples[:cut], samples[cut:]


def quality_bars(distance: float, repetition: float, seam_db: float) -> QualityBars:
    """The bars that held-out real rain's figures (distance, repetition, seam dB) set."""
    return QualityBars(DISTANCE_RATIO * distance, repetition + REPETITION_MARGIN,
                       seam_db + SEAM_MARGIN_DB)
