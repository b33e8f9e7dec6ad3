"""Model images -> magnitudes -> phase reconstruction -> chunk audio.

The one path from generator output to sound: streams (and so the training monitor), loops
and the round trip all use it, so what training scores is what users hear.
"""

from __future__ import annotations

import numpy as np

from . import phase
from .phase import PhaseSettings
from .spec import SpectralSpec


def images_to_chunks(images: np.ndarray, spec: SpectralSpec,
                     settings: PhaseSettings = PhaseSettings()) -> np.ndarray:
    """The audio each image owns, reconstructed on its own.

    Parameters
    ----------
    images : np.ndarray, shape (batch, height, width), values in [-1, 1]

    Returns
    -------
    np.ndarray, shape (batch, spec.chunk_samples), float32, at ``spec.sample_rate_hz``
    """
    owned = slice(spec.margin_samples, spec.margin_samples + spec.chunk_samples)
    return phase.reconstruct(spec.images_to_magnitudes(images), spec, settings)[:, owned]

