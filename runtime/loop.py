"""Seamless loops: rain whose end flows into its start.

Two things could betray the wrap: a click or level change where the last sample meets the
first, and a change of character (the latents at the end unlike those at the start). Loop
latents therefore lie on a closed random curve (:func:`closed_walk_latents`): every latent
is standard normal, neighbours are as alike as in a stream, the loop wanders no further than
a stream does over its length, and the last chunk is the first chunk's neighbour. A chunk
model's chunk levels are held to a track that runs around the loop
(:func:`.leveling.level_cyclic`); a streaming model's global code takes its knots from
such a curve, and its whole latent field and speckle noise are periodic (:mod:`.field`), so
its frames are. The K chunks are stitched cyclically (the last fades into the first exactly as any two neighbours do), and
the loop is resampled to the host's rate by FFT, which treats the signal as periodic.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

import numpy as np
import scipy.fft

from .field import closed_field_images
from .generator import Generator
from .latent import first_child, truncated_normal, walk_correlation
from .leveling import level_cyclic
from .safety import OutputSafety
from ..core.stitch import seam_fades
from ..core.synthesis import images_to_chunks
from .intensity import apply_intensity, knot_on_axis
from .intensity_level import loop_gains_db
from ..core import limits
from .stream import (apply_width, default_drift_s, check_intensity, check_seed,
                     check_stream_settings, checked, width_matrix)

MIN_LOOP_CHUNKS = 4


@dataclass(frozen=True)
class LoopResult:
    samples: np.ndarray  # shape (frames, channels), float32, periodic
    sample_rate_hz: int
    seed: int
    n_chunks: int


def closed_walk_latents(rng: np.random.Generator, count: int, latent_dim: int,
                        threshold: float, correlation: float,
                        drifting_dims: int | None = None) -> np.ndarray:
    """``count`` latents on a random closed curve, shape (count, latent_dim), float32.

    ``z(theta) = sqrt(k) c + sqrt(1 - k) sum_h (a_h cos(h theta) + b_h sin(h theta)) /
    sqrt(H)`` over harmonics ``h = 1..H`` with independent standard normal ``c, a_h, b_h``:
    every latent is standard normal and the last neighbours the first. ``k =
    correlation ** (count / 2)`` is what a stream's latents keep of each other over half the
    loop's length, so that a loop wanders no further from its centre than a stream of the same
    drift does in that time (a short loop at a slow drift: hardly at all); ``H`` is the
    smallest number of harmonics whose neighbour correlation, ``k + (1 - k) mean_h cos(2 pi h
    / count)``, is at most ``correlation`` (as in that stream). Components are clipped at
    ``threshold``. Components from ``drifting_dims`` on (None: none) are independent for
    every chunk, as in a stream.
    """
    step = 2.0 * math.pi / count
    shared = correlation ** (count / 2.0) if correlation > 0.0 else 0.0
    curve_correlation = (correlation - shared) / (1.0 - shared) if shared < 1.0 else 1.0
    harmonics = 1
    while (harmonics < count // 2
           and np.mean(np.cos(step * np.arange(1, harmonics + 1))) > curve_correlation):
        harmonics += 1
    coefficients = truncated_normal(rng, (2, harmonics, latent_dim), threshold)
    angles = step * np.arange(count)[:, None] * np.arange(1, harmonics + 1)[None, :]
    z = (np.cos(angles) @ coefficients[0] + np.sin(angles) @ coefficients[1]) / math.sqrt(harmonics)
    if drifting_dims is not None:
        z[:, drifting_dims:] = truncated_normal(rng, (count, latent_dim - drifting_dims), threshold)
    if shared > 0.0:  # drawn last: a loop of independent chunks draws as it always did
        centre = truncated_normal(rng, (latent_dim,), threshold)
        stop = latent_dim if drifting_dims is None else drifting_dims
        z[:, :stop] = math.sqrt(shared) * centre[:stop] + math.sqrt(1.0 - shared) * z[:, :stop]
    return np.clip(z, -threshold, threshold).astype(np.float32)


def _closed_field(generator: Generator, rng: np.random.Generator, n_chunks: int,
                  threshold: float, correlation: float, intensity: float | None,
                  clicks: np.random.Generator, character: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One channel's loop images from a streaming model (:func:`.field.closed_field_images`;
    ``clicks``: the drops the channels share; ``character``: the walk of the global code
    they share, a generator in the same state for every channel)."""
    field_rng = rng.spawn(2)[1]  # (the first child was this channel's own walk)
    knots = closed_walk_latents(character, n_chunks, generator.field.global_dim, threshold,
                                correlation)
    if intensity is not None:
        knots = knot_on_axis(knots, generator, intensity, threshold)
    return closed_field_images(generator, field_rng, knots, threshold, clicks)


def cyclic_stitch(chunks: np.ndarray, crossfade: int) -> np.ndarray:
    """Stitch (K, chunk_samples, ...) chunks into a periodic signal of K * (chunk - crossfade).

    Chunk k's faded tail overlaps chunk k+1's head, and chunk K-1's overlaps chunk 0's; each
    seam's fades keep the power whatever its two sides' correlation
    (:func:`raingan.core.stitch.seam_fades`).
    """
    n_chunks, chunk = chunks.shape[:2]
    step = chunk - crossfade
    # seams[k]: (fade_in of chunk k + 1's head, fade_out of chunk k's tail)
    seams = [seam_fades(chunks[k, chunk - crossfade:], chunks[(k + 1) % n_chunks, :crossfade])
             for k in range(n_chunks)] if crossfade else []
    out = np.zeros((n_chunks * step,) + chunks.shape[2:], dtype=np.float32)
    for k in range(n_chunks):
        body = chunks[k].copy()
        if crossfade:
            body[:crossfade] *= seams[k - 1][0]
            body[chunk - crossfade:] *= seams[k][1]
        index = (k * step + np.arange(chunk)) % out.shape[0]
        np.add.at(out, index, body)
    return out


def fft_resample(x: np.ndarray, num: int) -> np.ndarray:
    """``x`` (frames, ...) resampled to ``num`` frames by FFT, treating it as periodic.

    ``scipy.signal.resample(x, num, axis=0)`` for real ``x``, operation for operation (so
    sample for sample), without importing scipy.signal (50 MB of a render's memory).
    """
    x = np.moveaxis(np.asarray(x), 0, -1)
    n_x = x.shape[-1]
    m = min(num, n_x)  # frequency bins both signals have
    spectrum = scipy.fft.rfft(x)[..., :m // 2 + 1]
    if m % 2 == 0 and num != n_x:  # the unpaired bin at m // 2
        spectrum[..., m // 2] *= 2 if num < n_x else 0.5
    return np.moveaxis(scipy.fft.irfft(spectrum / (n_x / num), n=num, overwrite_x=True), -1, 0)


def render_loop(generator: Generator, seconds: float, sample_rate_hz: int = 48_000,
                channels: int = 2, seed: int | None = None, gain_db: float = 0.0, width: float = 1.0,
                truncation: float | None = None, drift_s: float | None = None,
                intensity: float | None = None) -> LoopResult:
    """A loop of exactly ``round(seconds * sample_rate_hz)`` frames (settings as for
    :class:`~raingan.runtime.stream.RainStream`; ``seed`` None draws one; a fixed
    ``intensity`` holds the whole loop at it).

    The loop holds a whole number of chunks; FFT resampling to the exact length changes the
    tempo by less than half a chunk step over the loop (under 1 % for a 30 s loop).

    Raises
    ------
    StreamSettingsError
        ``seconds`` outside :data:`raingan.core.limits.LOOP_SECONDS`, or settings outside
        :class:`~raingan.runtime.stream.RainStream`'s ranges.
    """
    checked(limits.LOOP_SECONDS, "loop length", seconds)
    check_stream_settings(sample_rate_hz, channels, gain_db, width, truncation, drift_s)
    check_seed(seed)
    check_intensity(generator, intensity)
    seed = secrets.randbits(63) if seed is None else seed
    spec = generator.spec
    step_s = spec.chunk_step_samples / spec.sample_rate_hz
    n_chunks = max(MIN_LOOP_CHUNKS, round(seconds / step_s))
    threshold = generator.metadata.truncation if truncation is None else truncation
    correlation = walk_correlation(step_s, default_drift_s(generator) if drift_s is None
                                   else drift_s)
    *streams, clicks = np.random.SeedSequence(seed).spawn(channels + 1)
    if generator.field is None:
        latents = np.stack([closed_walk_latents(np.random.default_rng(s), n_chunks,
                                                generator.latent_dim, threshold, correlation,
                                                generator.metadata.drifting_dims)
                            for s in streams], axis=1)
        latents = latents.reshape(n_chunks * channels, -1)
        if intensity is not None:
            latents = apply_intensity(latents, generator.intensity_axis, intensity, threshold)
        images, phase = generator.images(latents), None
    else:
        parts = [_closed_field(generator, np.random.default_rng(s), n_chunks, threshold,
                               correlation, intensity, np.random.default_rng(clicks),
                               np.random.default_rng(first_child(streams[0])))
                 for s in streams]
        images = np.stack([images for images, _ in parts], axis=1)
        phase = np.stack([phase for _, phase in parts], axis=1)
        images = images.reshape(n_chunks * channels, *images.shape[2:])
        phase = phase.reshape(n_chunks * channels, *phase.shape[2:])
    levelled = level_cyclic(images, spec, channels, generator.ceiling_db, generator.colour_db,
                            track_levels=generator.field is None)
    chunks = images_to_chunks(levelled, spec, generator.phase, phase)
    chunks = chunks.reshape(n_chunks, channels, -1).transpose(0, 2, 1)
    axis = generator.intensity_axis
    if intensity is not None and axis.levels_db is not None:
        chunks *= np.power(10.0, loop_gains_db(levelled, spec, axis, channels, intensity) / 20.0
                           ).astype(chunks.dtype)
    audio = cyclic_stitch(chunks, spec.crossfade_samples)
    if channels == 2:
        audio = apply_width(audio, width_matrix(width))
    n_out = int(round(seconds * sample_rate_hz))
    audio = fft_resample(audio, n_out).astype(np.float32) * np.float32(10 ** (gain_db / 20))
    # Run the (stateful) DC blocker over two periods and keep the second: its steady state
    # is periodic, so the loop stays seamless.
    safe = OutputSafety(sample_rate_hz, channels).process(np.concatenate([audio, audio]))
    return LoopResult(safe[n_out:], sample_rate_hz, seed, n_chunks)
