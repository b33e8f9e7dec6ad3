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
                     settings: PhaseSettings = PhaseSettings(),
                     initial_phase: np.ndarray | None = None) -> np.ndarray:
    """The audio each image owns, reconstructed on its own.

    Parameters
    ----------
    images : np.ndarray, shape (batch, height, width), values in [-1, 1]
    initial_phase : shape (batch, width, n_fft // 2 + 1), radians: where phase
        reconstruction starts, instead of ``settings.init`` (a streaming model's speckle
        comes with the phase of the noise it was taken from, see :mod:`.speckle`)

    Returns
    -------
    np.ndarray, shape (batch, spec.chunk_samples), float32, at ``spec.sample_rate_hz``
    """
    owned = slice(spec.margin_samples, spec.margin_samples + spec.chunk_samples)
    return phase.reconstruct(spec.images_to_magnitudes(images), spec, settings,
                             initial_phase)[:, owned]

