"""Latent vectors for the generator: truncated normal, drawn with numpy.

Training and the runtime draw latents the same way, so the truncation a model was trained
with and the truncation a user asks for at run time mean the same thing.
"""

from __future__ import annotations

import numpy as np

#: Components beyond this many standard deviations are redrawn (the default truncation).
DEFAULT_TRUNCATION = 3.0


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...],
                     threshold: float = DEFAULT_TRUNCATION) -> np.ndarray:
    """Standard normal samples with every component inside ``[-threshold, threshold]``.

    Components outside are redrawn (not clipped), so the result is a true truncated normal;
    a low threshold trades variety for typicality.

    Parameters
    ----------
    rng : source of randomness; the same generator state gives the same latents
    shape : output shape, e.g. ``(batch, latent_dim)``
    threshold : truncation in standard deviations, > 0; ``inf`` disables truncation

    Returns
    -------
    np.ndarray, float32, of ``shape``
    """
    if not threshold > 0:
        raise ValueError(f"truncation threshold must be > 0, got {threshold}")
    z = rng.standard_normal(shape)
    outside = np.abs(z) > threshold
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > threshold
    return z.astype(np.float32)
