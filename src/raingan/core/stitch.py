"""Overlap-add stitching of chunks into one endless stream.

Consecutive chunks share ``crossfade_samples`` samples. The fades are a quarter sine and
cosine, scaled for how alike the two overlapping stretches are (:func:`seam_fades`): for
uncorrelated chunks (a chunk generator's independent images) the plain fades' powers add to
one at every sample; but a streaming model's consecutive chunks reconstruct the same frames
from the same starting phase, and their overlaps are nearly identical (correlation 0.99 and
more), which the plain fades would sum to a +3 dB swell at every seam, a pulse at the chunk
rate. Scaled, the sum keeps its power whatever the correlation.
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


def seam_fades(tail: np.ndarray, head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fades for one seam that keep the sum's power: (fade_in for ``head``, fade_out for
    ``tail``), each shape ``tail.shape`` (float32).

    Parameters
    ----------
    tail : the earlier chunk's last samples, unfaded, shape (crossfade_samples, ...)
    head : the later chunk's first samples, unfaded, the same shape

    With ``s``, ``c`` the quarter sine and cosine of :func:`equal_power_fades` and ``rho`` the
    two stretches' correlation along the first axis (per channel, clipped to [0, 1]), the sum
    ``s x + c y`` of signals of equal power has power ``1 + 2 rho s c``; both fades are
    divided by its square root. At ``rho = 0`` they are the plain fades; at ``rho = 1`` they
    add to one (an amplitude crossfade).
    """
    fade_in, fade_out = equal_power_fades(tail.shape[0])
    shape = (tail.shape[0],) + (1,) * (tail.ndim - 1)
    a, b = np.asarray(tail, np.float64), np.asarray(head, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        norms = np.sqrt(np.sum(a * a, axis=0) * np.sum(b * b, axis=0))
        rho = np.divide(np.sum(a * b, axis=0), norms, out=np.zeros_like(norms),
                        where=norms > 0)
    rho = np.clip(np.nan_to_num(rho, nan=0.0), 0.0, 1.0)  # a damaged chunk: plain fades
    scale = 1.0 / np.sqrt(1.0 + 2.0 * rho * (fade_in * fade_out).reshape(shape))
    return ((fade_in.reshape(shape) * scale).astype(np.float32),
            (fade_out.reshape(shape) * scale).astype(np.float32))


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
        self._fade_out = equal_power_fades(self.crossfade_samples)[1]
        self._tail: np.ndarray | None = None

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Add one chunk; return the finished samples, shape (n, *chunk.shape[1:])."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.shape[0] != self.chunk_samples:
            raise ValueError(f"chunk has {chunk.shape[0]} samples, expected {self.chunk_samples}")
        fade = self.crossfade_samples
        if fade == 0:
            return chunk.copy()
        if self._tail is not None:
            fade_in, fade_out = seam_fades(self._tail, chunk[:fade])
            head = chunk[:fade] * fade_in + self._tail * fade_out
        else:
            head = chunk[:fade].copy()  # the stream's very start is not faded in
        self._tail = chunk[-fade:].copy()  # unfaded: the next chunk's head decides the fades
        return np.concatenate([head, chunk[fade:-fade]], axis=0)

    def flush(self) -> np.ndarray:
        """The held tail, faded out; ends the stream."""
        if self._tail is None:
            return np.zeros((0,), dtype=np.float32)
        shape = (self.crossfade_samples,) + (1,) * (self._tail.ndim - 1)
        tail, self._tail = self._tail * self._fade_out.reshape(shape), None
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
