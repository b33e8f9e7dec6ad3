"""Frames from a streaming generator: one endless latent field, no chunks.

A streaming model's graph maps a latent field, one column per STFT frame, to the mean log
power of every frame (``raingan.training.streaming``). :class:`FieldStream` keeps one field
per channel and runs the graph over consecutive windows of it, each with the graph's
context on both sides, so consecutive windows' frames continue each other exactly. It then
adds a noisy spectrum's speckle (:func:`raingan.core.speckle.speckle_and_phase`, the STFT
of one endless white noise, so that it is correlated across frames and bins as a real
spectrum's is, with the model's drops in it; its phase is where phase reconstruction starts) and hands the frames on as chunk images
that overlap by the spec's crossfade, the shape the rest of the runtime (phase
reconstruction, stitching, loops, stems) takes.

A column holds the global code, which drifts: a :class:`~.latent.LatentWalk` draws a knot
per chunk step and every column between two knots takes their linear interpolation, so the
code has no step anywhere; and the column's own noise, drawn afresh.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from ..core.model_meta import FieldLayout
from ..core.level_smoothing import level_pole, smooth_levels, smooth_levels_periodic
from ..core.speckle import Drops, ExcitationStream, excitation, speckle_and_phase
from ..core.spec import SpectralSpec
from .latent import LatentWalk, truncated_normal


class FieldModel(Protocol):
    """What a :class:`FieldStream` needs of a model (a Generator, or a training monitor's)."""

    spec: SpectralSpec

    @property
    def field(self) -> FieldLayout: ...

    @property
    def drops(self) -> Drops | None: ...

    @property
    def level_smoothing_frames(self) -> float: ...

    def field_images(self, field: np.ndarray) -> np.ndarray: ...


class FieldStream:
    """Chunk images of one channel of a streaming model, continuing each other.

    Parameters
    ----------
    model : a streaming model (:attr:`~raingan.runtime.generator.Generator.field` set)
    rng : this channel's randomness
    correlation : correlation of consecutive knots of the global code (one per chunk step)
    truncation : truncation of every latent value, standard deviations
    knot_hook : called with every new knot of the global code, shape (1, global_dim), as it
        is drawn; returns the knot to use (the stream's intensity setting, for one)
    clicks : the drops every channel shares (:func:`raingan.core.speckle.excitation`'s
        ``common``): a generator in the same state in each channel's stream; None: none
    character : the walk of the global code every channel shares: a generator in the same
        state in each channel's stream (:func:`.latent.first_child` of the first channel's
        seed: that channel's own walk); None: this channel's own walk. Two microphones hear
        one rain: the recordings' channels differ in spectral shape by 0.1-1.5 dB.
    """

    def __init__(self, model: FieldModel, rng: np.random.Generator, correlation: float,
                 truncation: float,
                 knot_hook: Callable[[np.ndarray], np.ndarray] | None = None,
                 clicks: np.random.Generator | None = None,
                 character: np.random.Generator | None = None):
        self.model, self.spec, self.layout = model, model.spec, model.field
        self.truncation = truncation
        knots, local, speckle = rng.spawn(3)
        if character is not None:
            knots = character
        self._walk = LatentWalk(knots, self.layout.global_dim, truncation, correlation)
        self._local_rng, self._speckle_rng = local, speckle
        self._step = self.spec.n_frames - self.spec.crossfade_frames
        self._knot_hook = knot_hook
        self._knots = np.zeros((0, self.layout.global_dim), np.float32)  # from _first_knot on
        self._first_knot = 0
        self._next_column = -self.layout.context_frames  # frame index of the next column
        self._columns = np.zeros((0, self.layout.channels), np.float32)
        self._tail: np.ndarray | None = None  # last crossfade frames of the last image
        # The white noise the speckle is the STFT of: its last win - hop samples, which the
        # next frame shares with the last one.
        overlap = self.spec.win_length - self.spec.hop_length
        self._noise = self._speckle_rng.standard_normal(overlap, dtype=np.float32)
        self._excitation = np.zeros(0, np.float32)  # drawn ahead, in whole chunk steps
        self._source = ExcitationStream(self._speckle_rng, model.drops, self.spec.sample_rate_hz,
                                        clicks)
        self._level_pole = level_pole(model.level_smoothing_frames)
        self._level_state: np.ndarray | None = None  # the smoothing's, between blocks

    def next_images(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``count`` chunk images, shape (count, height, n_frames), in [-1, 1], each
        beginning with the previous one's last ``crossfade_frames`` frames; and the phase
        their reconstruction starts from, shape (count, n_frames, n_fft // 2 + 1), radians
        (:func:`raingan.core.speckle.speckle_and_phase`)."""
        fresh = count * self._step + (self.spec.crossfade_frames if self._tail is None else 0)
        frames, phase = self._frames(fresh)
        if self._tail is not None:
            frames = np.concatenate([self._tail[0], frames], axis=1)
            phase = np.concatenate([self._tail[1], phase], axis=0)
        fade = self.spec.crossfade_frames
        self._tail = (frames[:, frames.shape[1] - fade:], phase[phase.shape[0] - fade:])
        return chunk_views(frames, phase, self.spec, count, periodic=False)

    def _frames(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``count`` frames with speckle, shape (height, count), image units, and
        their noise's phase, shape (count, n_fft // 2 + 1)."""
        context = self.layout.context_frames
        self._extend(count + 2 * context - self._columns.shape[0])
        means = self.model.field_images(self._columns[None, :count + 2 * context])[0]
        means, self._level_state = smooth_levels(means, self.spec, self._level_pole,
                                                 self._level_state)
        self._columns = self._columns[count:]
        noise = np.concatenate([self._noise, self._excite(count * self.spec.hop_length)])
        self._noise = noise[noise.shape[0] - self._noise.shape[0]:]
        return with_speckle(means, noise, self.spec)

    def _excite(self, n_samples: int) -> np.ndarray:
        """The next ``n_samples`` of the excitation, drawn a chunk step at a time so that the
        random draws do not depend on how the stream is called."""
        block = self._step * self.spec.hop_length
        parts = [self._excitation]
        available = self._excitation.shape[0]
        while available < n_samples:
            parts.append(self._source.draw(block))
            available += block
        drawn = np.concatenate(parts) if len(parts) > 1 else parts[0]
        self._excitation = drawn[n_samples:]
        return drawn[:n_samples]

    def _extend(self, count: int) -> None:
        """Append at least ``count`` new field columns, in whole chunk steps, so that the
        random draws do not depend on how the stream is called."""
        while count > 0:
            t = self._next_column + np.arange(self._step)
            knot = np.maximum(t, 0) // self._step - self._first_knot
            while knot[-1] + 1 >= self._knots.shape[0]:
                new = self._walk.take(1)
                new = new if self._knot_hook is None else self._knot_hook(new)
                self._knots = np.concatenate([self._knots, new])
            phase = (np.maximum(t, 0) % self._step / self._step).astype(np.float32)[:, None]
            codes = (1.0 - phase) * self._knots[knot] + phase * self._knots[knot + 1]
            local = truncated_normal(self._local_rng, (self._step, self.layout.local_dim),
                                     self.truncation)
            columns = np.concatenate([codes, local], axis=1)
            self._columns = np.concatenate([self._columns, columns])
            self._next_column += self._step
            drop = int(knot[-1])
            self._knots, self._first_knot = self._knots[drop:], self._first_knot + drop
            count -= self._step


def closed_field_images(model: FieldModel, rng: np.random.Generator, knots: np.ndarray,
                        truncation: float, clicks: np.random.Generator | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Chunk images of a loop: the field, and so the frames, are periodic.

    Parameters
    ----------
    knots : the global code's knots on a closed curve, shape (n_chunks, global_dim), one per
        chunk step (:func:`raingan.runtime.loop.closed_walk_latents`)
    clicks : the drops every channel shares, as :class:`FieldStream`'s

    Returns
    -------
    (images, phase) as :meth:`FieldStream.next_images`'s: image ``k`` starts at chunk step
    ``k`` of the period, the last one wrapping around into the first frames, as a stream's
    consecutive images overlap.
    """
    spec, layout = model.spec, model.field
    step = spec.n_frames - spec.crossfade_frames
    n_chunks = knots.shape[0]
    period = n_chunks * step
    t = np.arange(period)
    phase = (t % step / step).astype(np.float32)[:, None]
    knot = t // step
    codes = (1.0 - phase) * knots[knot] + phase * knots[(knot + 1) % n_chunks]
    local_rng, speckle_rng = rng.spawn(2)
    local = truncated_normal(local_rng, (period, layout.local_dim), truncation)
    columns = np.concatenate([codes, local], axis=1)
    wrapped = np.arange(-layout.context_frames, period + layout.context_frames) % period
    means = smooth_levels_periodic(model.field_images(columns[None, wrapped])[0], spec,
                                   level_pole(model.level_smoothing_frames))
    noise = excitation(speckle_rng, period * spec.hop_length, model.drops, spec.sample_rate_hz,
                       clicks)
    noise = np.concatenate([noise, noise[:spec.win_length - spec.hop_length]])  # periodic
    frames, phase = with_speckle(means, noise, spec)
    return chunk_views(frames, phase, spec, n_chunks, periodic=True)


def with_speckle(means: np.ndarray, noise: np.ndarray, spec: SpectralSpec
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Mean frames (height, frames) with the speckle of ``noise`` added and clipped like a
    real image, and the noise's phase (frames, n_fft // 2 + 1)."""
    speckle, phase = speckle_and_phase(noise, spec)
    frames = means + speckle * np.float32(1.0 / spec.db_per_image_unit)
    return np.clip(frames, -1.0, 1.0, out=frames), phase


def chunk_views(frames: np.ndarray, phase: np.ndarray, spec: SpectralSpec, count: int,
                periodic: bool) -> tuple[np.ndarray, np.ndarray]:
    """``count`` chunk images (count, height, n_frames) and their phase (count, n_frames,
    bins) from consecutive frames, chunk ``k`` starting at ``k`` chunk steps; ``periodic``
    wraps the last chunks around into the first frames."""
    step = spec.n_frames - spec.crossfade_frames
    index = np.arange(count)[:, None] * step + np.arange(spec.n_frames)[None, :]
    if periodic:
        index %= frames.shape[1]
    return frames[:, index].transpose(1, 0, 2), phase[index]
