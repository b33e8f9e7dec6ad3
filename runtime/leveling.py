"""Chunk levelling: each band of each chunk held to that band's recent level in its stream.

Part of a generated chunk's level is set by the latent components drawn afresh for every
chunk (per-column latents, noise inputs), so consecutive chunks step up and down in level,
and not by the same amount in every band: the spectrum's tilt and its low-pass edge step
too. One step per chunk reads as a slow pulse (``raingan eval``'s seam periodicity found
lines at 0.5-1 Hz). :class:`ChunkLeveller` follows each channel's level in
:data:`LEVEL_BANDS` wide ERB bands with a one-pole filter per band (time constant
:data:`LEVEL_SMOOTHING_S`) and shifts each band of each chunk by its deviation from that
track, so level changes slower than a couple of chunks (the drift, an intensity move) pass
and chunk-to-chunk steps do not. Levelling loudness alone (one gain per chunk) took the
noise-input model's seam score from 5.85 to 3.91 dB; models trained on heard texture step
band by band as well, which only per-band levelling removes (BENCHMARKS.md, "Chunk levelling").

The levelled images then take the model's colour gains (:mod:`.colour`), where it has
them, and are held under its level ceiling (:mod:`.ceiling`), where it has one: no row
louder than the training audio ever is there. The colour gains are constant, so the level
tracks, which follow the model's own images, do not see them.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..core.spec import SpectralSpec
from ..eval.cochlear import TextureConfig, band_centres_hz, band_weights

#: Time constant of the level tracks, seconds (about two chunk steps of the default spec).
LEVEL_SMOOTHING_S = 1.4
#: Bands levelled separately: ERB-spaced half-cosine bands, centred from 20 Hz to 10 kHz
#: (the texture measure's range); rows outside take the nearest band's gain.
LEVEL_BANDS = TextureConfig(n_bands=8, correlation_offsets=(1,))


@lru_cache(maxsize=8)
def level_bands(spec: SpectralSpec) -> tuple[np.ndarray, np.ndarray]:
    """How image rows make band levels and take band gains.

    Returns
    -------
    measure : shape (n_bands, height), each band's weights over the rows, summing to 1
        (a band with no row inside it borrows its nearest row)
    spread : shape (n_bands, height), each row's share of every band's gain, summing to 1
        over the bands: the bands' responses normalised, or all of the nearest band's
        below the lowest centre and above the highest
    """
    row_hz, centres_hz = spec.image_row_hz(), band_centres_hz(LEVEL_BANDS)
    weights = band_weights(row_hz, LEVEL_BANDS)
    for band in np.flatnonzero(weights.sum(axis=1) == 0):
        weights[band, np.argmin(np.abs(row_hz - centres_hz[band]))] = 1.0
    measure = weights / weights.sum(axis=1, keepdims=True)
    spread = weights.copy()
    spread[:, row_hz <= centres_hz[0]] = 0.0
    spread[0, row_hz <= centres_hz[0]] = 1.0
    spread[:, row_hz >= centres_hz[-1]] = 0.0
    spread[-1, row_hz >= centres_hz[-1]] = 1.0
    spread /= spread.sum(axis=0, keepdims=True)
    measure, spread = measure.astype(np.float32), spread.astype(np.float32)
    measure.flags.writeable = spread.flags.writeable = False  # shared by the cache
    return measure, spread


def band_levels_db(images: np.ndarray, spec: SpectralSpec) -> np.ndarray:
    """Each image's mean level in each of :data:`LEVEL_BANDS`, dB, shape (batch, n_bands)."""
    measure, _ = level_bands(spec)
    return (images.mean(axis=2) @ measure.T) * np.float32(spec.db_per_image_unit)


class ChunkLeveller:
    """Holds every band of consecutive chunks of ``channels`` streams to that band's recent
    level in its stream.

    Parameters
    ----------
    spec : the model's spectral spec (chunk step, dB range, row frequencies)
    channels : streams whose chunks arrive interleaved, chunk by chunk
    ceiling_db : shape (height,), the loudest each row may be, dB (the model's
        :attr:`~raingan.runtime.generator.Generator.ceiling_db`); None: only the image range
    colour_db : shape (height,), a gain added to each row, dB (the model's
        :attr:`~raingan.runtime.generator.Generator.colour_db`); None: none
    track_levels : False applies only the colour gains and the ceiling: a streaming model's
        chunks continue each other, so there are no steps to level, and levelling would
        make them
    """

    def __init__(self, spec: SpectralSpec, channels: int, ceiling_db: np.ndarray | None = None,
                 colour_db: np.ndarray | None = None, track_levels: bool = True):
        self.spec, self.channels, self.track_levels = spec, channels, track_levels
        self._upper = (np.float32(1.0) if ceiling_db is None else
                       spec.db_to_images(ceiling_db).astype(np.float32)[:, None])
        self._colour = (np.zeros(spec.image_shape[0], np.float32) if colour_db is None else
                        (np.asarray(colour_db) / spec.db_per_image_unit).astype(np.float32))
        step_s = spec.chunk_step_samples / spec.sample_rate_hz
        self.pole = math.exp(-step_s / LEVEL_SMOOTHING_S)
        self._spread = level_bands(spec)[1] / np.float32(spec.db_per_image_unit)  # dB -> image
        self._track: list[np.ndarray | None] = [None] * channels

    def process(self, images: np.ndarray) -> np.ndarray:
        """Level a batch of images, shape (count * channels, height, width), ordered chunk
        by chunk with the channels interleaved (as streams generate them), add the colour
        gains, and clip to [-1, 1] and the ceiling. Image values are dB on a linear scale,
        so a gain is an offset."""
        if not self.track_levels:
            return np.clip(images + self._colour[:, None], -1.0, self._upper)
        levels = band_levels_db(images, self.spec)
        gains = np.empty_like(levels)
        for i, level in enumerate(levels):
            channel = i % self.channels
            track = self._track[channel]
            track = level if track is None else self.pole * track + (1.0 - self.pole) * level
            self._track[channel] = track
            gains[i] = track - level
        row_gains = gains @ self._spread + self._colour  # (batch, height), image units
        return np.clip(images + row_gains[:, :, None], -1.0, self._upper)


def level_cyclic(images: np.ndarray, spec: SpectralSpec, channels: int,
                 ceiling_db: np.ndarray | None = None, colour_db: np.ndarray | None = None,
                 track_levels: bool = True) -> np.ndarray:
    """:meth:`ChunkLeveller.process` for a loop: the last chunk is followed by the first.

    The track runs around the loop twice and the second lap's gains are used; its state
    after a lap differs from the first lap's start by ``pole ** n_chunks`` of the start, so
    the second lap is (to that precision) periodic.
    """
    leveller = ChunkLeveller(spec, channels, ceiling_db, colour_db, track_levels)
    leveller.process(images)  # first lap: settles the track
    return leveller.process(images)
