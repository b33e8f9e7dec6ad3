"""Overlap-add stitching of independent chunks into one endless stream.

Consecutive chunks share ``crossfade_samples`` samples. The fades are a quarter sine and
cosine: for uncorrelated chunks (independent latents or independent phase reconstructions)
the powers add to one at every sample, so there is no level dip and no pulse at the chunk
rate.
"""

from __future__ import annotations

import functools

import numpy as np

from .spec import SpectralSpec


@functools.lru_cache(maxsize=8)
def equal_power_fades(crossfade_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade_in, fade_out), each shape (crossfade_samples,), float32, with in^2 + out^2 = 1."""
    t = (np.arange(crossfade_samples) + 0.5) / max(crossfade_samples, 1)
    fade_in = np.sin(0.5 * np.pi * t).astype(np.float32)
    fade_out = np.cos(0.5 * np.pi * t).astype(np.float32)
    fade_in.flags.writeable = fade_out.flags.writeable = False
    return fade_in, fade_out


class Stitcher:
    """Streams chunks into audio: push a chunk, get the samples that are now final.

    Each pushed chunk has ``spec.chunk_samples`` samples (leading axis; extra axes such as
    channels are carried along). The first push returns ``chunk_samples - crossfade``
    samples, every later push ``chunk_step_samples``; the last ``crossfade`` samples wait
    for the next chunk to fade into.
    """

    def __init__(self, spec: SpectralSpec):
        self.chunk_samples = spec.chunk_samples
        self.crossfade_samples = spec.crossfade_samples
        self._fade_in, self._fade_out = equal_power_fades(self.crossfade_samples)
        self._tail: np.ndarray | None = None

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Add one chunk; return the finished samples, shape (n, *chunk.shape[1:])."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.shape[0] != self.chunk_samples:
            raise ValueError(f"chunk has {chunk.shape[0]} samples, expected {self.chunk_samples}")
        fade = self.crossfade_samples
        if fade == 0:
            return chunk.copy()
        shape = (fade,) + (1,) * (chunk.ndim - 1)
        head = chunk[:fade] * self._fade_in.reshape(shape)
        if self._tail is not None:
            head = head + self._tail
        else:
            head = chunk[:fade].copy()  # the stream's very start is not faded in
        self._tail = chunk[-fade:] * self._fade_out.reshape(shape)
        return np.concatenate([head, chunk[fade:-fade]], axis=0)

    def flush(self) -> np.ndarray:
        """The held tail, faded out; ends the stream."""
        if self._tail is None:
            return np.zeros((0,), dtype=np.float32)
        tail, self._tail = self._tail, None
        return tail


def stitch(chunks: np.ndarray, spec: SpectralSpec) -> np.ndarray:
    """Stitch a batch of chunks, shape (n_chunks, chunk_samples, ...), into one signal.

    Returns
    -------
    np.ndarray, shape ((n_chunks - 1) * chunk_step_samples + chunk_samples, ...), float32
        The last chunk's tail is kept unfaded, so chunk ``k`` starts at
        ``k * chunk_step_samples``.
    """
    stitcher = Stitcher(spec)
    pieces = [stitcher.push(chunk) for chunk in chunks]
    if spec.crossfade_samples:
        pieces.append(chunks[-1][-spec.crossfade_samples:])
    return np.concatenate(pieces, axis=0)
