"""Endless rain, block by block, at a host's sample rate: the runtime's streaming engine.

latents (a slow random walk per channel) -> generator -> chunk levelling -> phase
reconstruction -> stitching -> stereo width -> streaming soxr resampler -> smoothed gain ->
output safety. Everything is stateful and continues across blocks, so the stream has no
seams of its own making, and the same seed and settings give the same samples. Offline
rendering is this stream, cut to length; a background thread feeding a ring buffer (the
native core) pulls from it too.
"""

from __future__ import annotations

import math
import secrets

import numpy as np
import soxr

from ..core import limits
from ..core.limits import SettingRangeError
from .field import FieldStream
from .generator import BATCH_LATENTS, Generator
from .intensity import apply_intensity, knot_on_axis
from .intensity_level import IntensityLevel
from .latent import first_child, walk_correlation
from .leveling import ChunkLeveller
from .safety import OutputSafety
from ..core.stitch import Stitcher
from ..core.synthesis import images_to_chunks

#: Default time constant of the rain's drift, seconds (see :class:`RainStream`). With the
#: bundled model 5 s and 10 s score alike over 20 seeds (texture distance 0.247 and 0.252;
#: 5 s looked 8 % better on seeds 0-9 and was 4 % worse on 10-19), 20 s is worse (mean
#: band levels: a minute of it holds one or two kinds of rain); BENCHMARKS.md.
DEFAULT_DRIFT_S = 10.0
#: ... of a streaming model (:mod:`.field`). It learned from crops that each hold one
#: global code, so a code that moves within seconds is a change it never saw: with a 10 s
#: drift its renders fluctuated too much at 4-16 Hz (+3 to +5 dB over the held-out thirds'
#: modulation) and scored a texture distance of 0.58; with 600 s, 0.38 (BENCHMARKS.md).
FIELD_DRIFT_S = 600.0


def default_drift_s(generator: Generator) -> float:
    """The drift a stream of ``generator`` takes when none is given."""
    return DEFAULT_DRIFT_S if generator.field is None else FIELD_DRIFT_S
#: Gain changes glide with this time constant, so a moving fader makes no zipper noise.
GAIN_SMOOTHING_S = 0.02
#: Intensity glides towards its target with this time constant, chunk by chunk.
INTENSITY_SMOOTHING_S = 0.5


def width_matrix(width: float) -> np.ndarray:
    """2x2 mix of two independent streams into L/R: identity at 1, equal mix at 0.

    Rows are unit vectors, so each output channel keeps the power of one stream.
    """
    angle = (1.0 - width) * math.pi / 4.0
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, s], [s, c]], dtype=np.float32)


def apply_width(audio: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Mix two streams, shape (frames, 2), into L/R with :func:`width_matrix`'s ``matrix``:
    ``audio @ matrix.T``, same shape.

    Written out, one pass per output channel (1 ms for a render's block), rather than as a
    matrix product: numpy hands a product of a block's size (about 10^6 multiply-adds) to
    OpenBLAS's threads, which then spin for a while and take a core from the onnxruntime
    call that follows (renders took 1.13-1.15x the time; BENCHMARKS.md, "Render speed").
    """
    left, right = audio[:, 0], audio[:, 1]
    mixed = np.empty(audio.shape, dtype=np.result_type(audio, matrix))
    for out, (from_left, from_right) in zip(mixed.T, matrix):
        np.multiply(left, from_left, out=out)
        out += from_right * right
    return mixed


class RainStream:
    """A synchronous producer of endless rain.

    Parameters
    ----------
    generator : the model
    sample_rate_hz : output rate, 8 to 192 kHz
    channels : 1, or 2 (a streaming model: one character, each channel its own texture and
        drops, some shared; a chunk model: independent latent walks per channel)
    seed : None draws one (see :attr:`seed`)
    gain_db : output gain, dB; :meth:`set_gain_db` glides to new values
    width : stereo width 0-1 (see :func:`width_matrix`)
    truncation : latent truncation; None for the model's
    drift_s : time constant over which the rain's character drifts; 0 for independent chunks;
        None for the model's default (:func:`default_drift_s`)
    chunks_per_block : chunks generated per :meth:`next_block` (up to one onnxruntime batch)
    intensity : None leaves the rain as the latent walk makes it; 0-1 moves it from light to
        heavy along the model's intensity axis (:mod:`.intensity`), gliding over about
        :data:`INTENSITY_SMOOTHING_S`, and, for models whose axis carries its levels, holds
        the loudness at the knob's level (:mod:`.intensity_level`)

    Raises
    ------
    ValueError
        Settings outside those ranges (a :class:`StreamSettingsError`).
    """

    def __init__(self, generator: Generator, sample_rate_hz: int = 48_000, channels: int = 2,
                 seed: int | None = None, gain_db: float = 0.0, width: float = 1.0,
                 truncation: float | None = None, drift_s: float | None = None,
                 chunks_per_block: int = 4, intensity: float | None = None):
        check_stream_settings(sample_rate_hz, channels, gain_db, width, truncation, drift_s)
        check_intensity(generator, intensity)
        drift_s = default_drift_s(generator) if drift_s is None else drift_s
        check_seed(seed)
        if not 1 <= chunks_per_block <= BATCH_LATENTS:
            raise StreamSettingsError(f"chunks_per_block must be in 1..{BATCH_LATENTS}")
        self.generator, self.sample_rate_hz, self.channels = generator, sample_rate_hz, channels
        self.seed = secrets.randbits(63) if seed is None else seed
        self.chunks_per_block = chunks_per_block
        spec = generator.spec
        correlation = walk_correlation(spec.chunk_step_samples / spec.sample_rate_hz, drift_s)
        # One random stream per channel, so the audio does not depend on the block size.
        self._intensity = self._intensity_target = intensity
        self._knot_intensity: list[float | None] = [intensity] * channels
        # The last child is the clicks every channel shares (a generator of its own in each
        # channel, drawing the same); the first ``channels`` are as they were without it.
        *children, clicks = np.random.SeedSequence(self.seed).spawn(channels + 1)
        self._threshold = generator.metadata.truncation if truncation is None else truncation
        if generator.field is None:
            self._walks = [generator.latent_walk(np.random.default_rng(child), correlation,
                                                 truncation) for child in children]
        else:
            # Every channel walks the first one's global code: one character, heard twice.
            walk = first_child(children[0])
            self._fields = [FieldStream(generator, np.random.default_rng(child), correlation,
                                        self._threshold, self._knot_hook(channel),
                                        np.random.default_rng(clicks), np.random.default_rng(walk))
                            for channel, child in enumerate(children)]
        self._stitcher = Stitcher(spec)
        self._leveller = ChunkLeveller(spec, channels, generator.ceiling_db,
                                       generator.colour_db,
                                       track_levels=generator.field is None)
        self._resampler = (None if sample_rate_hz == spec.sample_rate_hz else
                           soxr.ResampleStream(spec.sample_rate_hz, sample_rate_hz, channels,
                                               dtype="float32", quality="HQ"))
        self._width = width_matrix(width)
        self._gain = 10.0 ** (gain_db / 20.0)
        self._gain_target = self._gain
        self._gain_pole = math.exp(-1.0 / (GAIN_SMOOTHING_S * sample_rate_hz))
        self._safety = OutputSafety(sample_rate_hz, channels)
        self._intensity_pole = math.exp(-spec.chunk_step_samples / spec.sample_rate_hz
                                        / INTENSITY_SMOOTHING_S)
        axis = generator.intensity_axis
        self._level = (None if axis is None or axis.levels_db is None
                       else IntensityLevel(spec, axis, channels))
        self._level_intensity = intensity  # the glide the level follows, chunk step by step

    @property
    def intensity(self) -> float | None:
        """The intensity the stream is gliding to (None: released)."""
        return self._intensity_target

    def set_intensity(self, intensity: float | None) -> None:
        """Glide to a new intensity (0 light - 1 heavy) from the next chunk; None releases it."""
        check_intensity(self.generator, intensity)
        self._intensity_target = intensity
        if intensity is None or self._intensity is None:
            self._intensity = self._level_intensity = intensity
            self._knot_intensity = [intensity] * self.channels
        if intensity is None and self._level is not None:
            self._level.reset()

    def set_gain_db(self, gain_db: float) -> None:
        """Glide to a new gain over about :data:`GAIN_SMOOTHING_S`."""
        check_stream_settings(self.sample_rate_hz, self.channels, gain_db, 1.0, None, 0.0)
        self._gain_target = 10.0 ** (gain_db / 20.0)

    def set_width(self, width: float) -> None:
        """Change the stereo width (applied from the next block)."""
        check_stream_settings(self.sample_rate_hz, self.channels, 0.0, width, None, 0.0)
        self._width = width_matrix(width)

    def next_block(self) -> np.ndarray:
        """The next samples of the stream, shape (frames, channels), float32 in [-1, 1].

        The block length varies (about ``chunks_per_block`` chunk steps, at the output rate);
        the first block is shorter by the resampler's delay.
        """
        count = self.chunks_per_block
        images, phase = self._images(count)
        levelled = self._leveller.process(images)
        chunks = images_to_chunks(levelled, self.generator.spec, self.generator.phase, phase)
        if self._level is not None and self._intensity_target is not None:
            # On the audio, not the images: image values stop at the top of their dB range.
            gains_db = self._level.gains_db(levelled, self._level_glide(count))
            chunks *= np.power(10.0, gains_db / 20.0).astype(chunks.dtype)[:, None]
        chunks = chunks.reshape(count, self.channels, -1)
        audio = np.concatenate([self._stitcher.push(chunk.T) for chunk in chunks], axis=0)
        if self.channels == 2:
            audio = apply_width(audio, self._width)
        if self._resampler is not None:
            audio = self._resampler.resample_chunk(np.ascontiguousarray(audio))
        return self._safety.process(audio * self._gain_ramp(audio.shape[0])[:, None])

    def _images(self, count: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The next ``count`` chunks' images, shape (count * channels, height, width), the
        channels interleaved chunk by chunk; and, for a streaming model, the phase their
        reconstruction starts from (None: the phase settings' own start)."""
        if self.generator.field is not None:
            parts = [field.next_images(count) for field in self._fields]
            images = np.stack([images for images, _ in parts], axis=1)
            phase = np.stack([phase for _, phase in parts], axis=1)
            return (images.reshape(count * self.channels, *images.shape[2:]),
                    phase.reshape(count * self.channels, *phase.shape[2:]))
        latents = np.stack([walk.take(count) for walk in self._walks], axis=1)
        if self._intensity_target is not None:
            latents = self._with_intensity(latents)
        return self.generator.images(latents.reshape(count * self.channels, -1)), None

    def _with_intensity(self, latents: np.ndarray) -> np.ndarray:
        """Set each chunk's latents on the intensity axis, gliding chunk by chunk."""
        axis, out = self.generator.intensity_axis, np.empty_like(latents)
        for k in range(latents.shape[0]):
            pole = self._intensity_pole
            self._intensity = pole * self._intensity + (1.0 - pole) * self._intensity_target
            out[k] = apply_intensity(latents[k], axis, self._intensity, self._threshold)
        return out

    def _level_glide(self, count: int) -> np.ndarray:
        """The intensity of each of the next ``count`` chunk steps, gliding to the target as
        the latents do."""
        out = np.empty(count)
        for k in range(count):
            self._level_intensity = (self._intensity_pole * self._level_intensity
                                     + (1.0 - self._intensity_pole) * self._intensity_target)
            out[k] = self._level_intensity
        return out

    def _knot_hook(self, channel: int):
        """A streaming model's knot hook for ``channel``: sets each new knot of the global
        code on the intensity axis, gliding knot by knot (one per chunk step)."""
        def hook(knot: np.ndarray) -> np.ndarray:
            target = self._intensity_target
            if target is None:
                return knot
            current = self._knot_intensity[channel]
            current = target if current is None else (
                self._intensity_pole * current + (1.0 - self._intensity_pole) * target)
            self._knot_intensity[channel] = current
            return knot_on_axis(knot, self.generator, current, self._threshold)
        return hook

    def _gain_ramp(self, frames: int) -> np.ndarray:
        """Per-sample gain, a one-pole glide from the current gain to the target."""
        if self._gain == self._gain_target:
            return np.full(frames, self._gain, dtype=np.float32)
        # The one-pole glide y[n] = (1 - pole) * target + pole * y[n - 1] from y[-1] = gain,
        # in closed form: target + (gain - target) * pole ** (n + 1).
        target = self._gain_target
        ramp = np.power(self._gain_pole, np.arange(1.0, frames + 1.0))
        ramp *= self._gain - target
        ramp += target
        self._gain = float(ramp[-1]) if frames else self._gain
        if abs(self._gain - self._gain_target) < 1e-6 * self._gain_target:
            self._gain = self._gain_target
        return ramp.astype(np.float32)


class StreamSettingsError(SettingRangeError):
    """Stream or render settings outside what RainGAN can produce."""


def check_intensity(generator: Generator, intensity: float | None) -> None:
    """Raise :class:`StreamSettingsError` for an intensity outside [0, 1], or for any
    intensity when the model has no intensity axis."""
    if intensity is None:
        return
    check_intensity_range(intensity)
    if generator.intensity_axis is None:
        raise StreamSettingsError(f"{generator.path}: this model has no intensity axis "
                                  f"(export it again with this version of raingan)")


def check_intensity_range(intensity: float | None) -> None:
    """Raise :class:`StreamSettingsError` for an intensity outside [0, 1] (None is fine)."""
    if intensity is not None:
        checked(limits.INTENSITY, "intensity", intensity)


def check_seed(seed: int | None) -> None:
    """Raise :class:`StreamSettingsError` for a seed that is not None or an integer in
    0 .. 2**63 - 1."""
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise StreamSettingsError(f"seed must be an integer, got {seed!r}")
        checked(limits.SEED, "seed", int(seed))


def check_stream_settings(sample_rate_hz: int, channels: int, gain_db: float, width: float,
                          truncation: float | None, drift_s: float | None) -> None:
    """Raise :class:`StreamSettingsError` with one line naming the first bad setting."""
    checked(limits.SAMPLE_RATE_HZ, "sample rate", sample_rate_hz)
    if channels not in (1, 2):
        raise StreamSettingsError(f"{channels} channels is not supported (1 or 2)")
    checked(limits.WIDTH, "width", width)
    checked(limits.GAIN_DB, "gain", gain_db)
    if truncation is not None:
        checked(limits.TRUNCATION, "truncation", truncation)
    if drift_s is not None:
        checked(limits.DRIFT_S, "drift", drift_s)


def checked(limit: limits.Range, name: str, value: object) -> None:
    """:meth:`Range.check <raingan.core.limits.Range.check>`, raising
    :class:`StreamSettingsError` (which callers of the runtime catch)."""
    limit.check(name, value, StreamSettingsError)
