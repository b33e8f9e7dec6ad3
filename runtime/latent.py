"""Latent vectors for the generator: truncated normal, drawn with numpy.

Training and the runtime draw latents the same way, so the truncation a model was trained
with and the truncation a user asks for at run time mean the same thing.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import ndtr, ndtri

#: Components beyond this many standard deviations are redrawn (the default truncation).
DEFAULT_TRUNCATION = 3.0
#: Equiprobable values of :func:`quantile_table`: one 16-bit random integer per draw.
TABLE_LEVELS = 65_536


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


@lru_cache(maxsize=8)
def quantile_table(threshold: float) -> np.ndarray:
    """The truncated normal's quantiles at the midpoints of :data:`TABLE_LEVELS` equal
    steps of probability, shape (TABLE_LEVELS,), float32, ascending.

    Indexing it with uniform random integers draws from the truncated normal by inverse
    transform, with values quantised to 1/65536 of probability: steps of 4e-5 standard
    deviations at the mean, 3e-3 at 3. ``inf`` (no truncation) reaches +-4.3.
    """
    if not threshold > 0:
        raise ValueError(f"truncation threshold must be > 0, got {threshold}")
    low, high = ndtr(-threshold), ndtr(threshold)
    steps = (np.arange(TABLE_LEVELS, dtype=np.float64) + 0.5) / TABLE_LEVELS
    return ndtri(low + steps * (high - low)).astype(np.float32)


def table_draws(rng: np.random.Generator, table: np.ndarray, count: int) -> np.ndarray:
    """``count`` draws from :func:`quantile_table`'s distribution, float32: 0.4 ms for a
    noise-input model's 82 k values per chunk, where :func:`truncated_normal` takes 0.9."""
    return table.take(rng.integers(0, TABLE_LEVELS, count, dtype=np.uint16))


class LatentWalk:
    """Latents for consecutive chunks of one stream: a slow random walk, not independent draws.

    Independent latents let every chunk (0.7 s with the default spec) pick a different kind
    of rain, which is heard as switching. Here ``z[k] = rho * z[k-1] + sqrt(1 - rho^2) * e[k]``
    with standard normal ``e``: every latent is still standard normal (so the generator sees
    what it was trained on), while neighbours stay alike. Components that would leave
    ``[-threshold, threshold]`` have their innovation redrawn.

    Parameters
    ----------
    rng : source of randomness
    latent_dim : size of each latent
    threshold : truncation, standard deviations
    correlation : ``rho`` in [0, 1): 0 gives independent latents
    drifting_dims : only the first this many components walk; the others are drawn
        independently for every chunk from :func:`quantile_table` (None: all walk)
    """

    def __init__(self, rng: np.random.Generator, latent_dim: int,
                 threshold: float = DEFAULT_TRUNCATION, correlation: float = 0.0,
                 drifting_dims: int | None = None):
        if not 0.0 <= correlation < 1.0:
            raise ValueError(f"correlation must be in [0, 1), got {correlation}")
        self.rng, self.threshold, self.correlation = rng, threshold, correlation
        self.latent_dim = latent_dim
        rho = drift_correlations(latent_dim, correlation, drifting_dims)
        # Only the drifting components walk; the rest (a noise-input model's tens of
        # thousands among them) are fresh table draws: 0.3 ms a chunk instead of 2.2.
        self._walking = latent_dim if drifting_dims is None else min(drifting_dims, latent_dim)
        self._table = quantile_table(float(threshold))
        self._rho = rho[:self._walking]
        self._spread = np.sqrt(1.0 - self._rho * self._rho)
        self._z = truncated_normal(rng, (self._walking,), threshold).astype(np.float64)

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` latents, shape (count, latent_dim), float32."""
        rho, spread = self._rho, self._spread
        out = np.empty((count, self.latent_dim), dtype=np.float32)
        for k in range(count):
            z = rho * self._z + spread * self.rng.standard_normal(self._z.shape)
            outside = np.abs(z) > self.threshold
            while outside.any():
                z[outside] = (rho[outside] * self._z[outside]
                              + spread[outside] * self.rng.standard_normal(int(outside.sum())))
                outside = np.abs(z) > self.threshold
            self._z = z
            out[k, :self._walking] = z
            # Chunk by chunk, so that the draws do not depend on how many are taken at once.
            out[k, self._walking:] = table_draws(self.rng, self._table,
                                                 self.latent_dim - self._walking)
        return out


def first_child(seed: np.random.SeedSequence) -> np.random.SeedSequence:
    """The seed that a fresh generator of ``seed`` spawns first (``default_rng(seed).spawn(1)``
    before anything else spawned from it), without spawning from ``seed``: generators made
    from it draw what that child would, in every channel that makes one."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 0),
                                  pool_size=seed.pool_size)


def drift_correlations(latent_dim: int, correlation: float,
                       drifting_dims: int | None) -> np.ndarray:
    """Per-component ``rho``, shape (latent_dim,): ``correlation`` for the first
    ``drifting_dims`` components (all when None), 0 for the rest."""
    rho = np.full(latent_dim, correlation)
    if drifting_dims is not None:
        rho[drifting_dims:] = 0.0
    return rho


def walk_correlation(step_s: float, drift_s: float) -> float:
    """``rho`` for chunks ``step_s`` apart whose latents decorrelate over ``drift_s`` seconds
    (time constant); ``drift_s`` of 0 gives independent chunks."""
    return 0.0 if drift_s <= 0 else float(np.exp(-step_s / drift_s))
