"""The streaming architecture: a generator that is fully convolutional along time.

A spatial GAN (Jetchev et al. 2016) with PSGAN's global code (Bergmann et al. 2017), for
spectrogram frames rather than image tiles. The generator reads a *latent field*, one
column per STFT frame: a global code (the rain's character, shared by every column of a
training crop, drifting slowly at run time) and local noise of its own. Dilated 1-D
convolutions over time map the field to the log-power *mean* of every frame, on mel bands
interpolated to the image rows (smooth across frequency, as a noisy spectrum's envelope
is). The speckle of a noisy spectrum (:mod:`raingan.core.speckle`) is added on top, by the
:class:`Speckle` layer in training and by the runtime at render.

The convolutions are unpadded ("valid"), so the frames at any time depend only on the field
around them: the runtime generates any length by running the same network over overlapping
windows of one endless field, and the frames agree exactly where the windows meet. Nothing
is upsampled along time, so there is no frame-rate checkerboard, no latent grid and no
chunk: the three periodic artifacts of the chunk architecture (:mod:`.models`).

Layout of the flat generator input that training draws (:func:`stream_input_dim`): the
global code, then the crop's local noise, frame-major (``field_frames x field_local_dim``).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from ..core.model_meta import FIELD_INPUT_NAME, INPUT_NAME, OUTPUT_NAME, FieldLayout
from ..core.mel import band_smoothing, mel_interpolation
from ..core.speckle import Drops, frame_power_weights, window_power
from ..core.spec import SpectralSpec
from .config import TrainConfig
from .layers import SNConv1D, SNDense

LEAKY_SLOPE = 0.2
BN_MOMENTUM = 0.9


def context_frames(spec: SpectralSpec, config: TrainConfig) -> int:
    """Field columns the generator consumes on each side: frame ``t`` depends on field
    columns ``t - context .. t + context``."""
    smoothing = (len(frame_power_weights(spec)) // 2) if config.stream_window_smoothing else 0
    return int(sum(config.stream_dilations)) + smoothing


def field_layout(spec: SpectralSpec, config: TrainConfig) -> FieldLayout:
    """The latent-field layout an exported generator of ``config`` carries."""
    return FieldLayout(config.field_global_dim, config.field_local_dim,
                       context_frames(spec, config))


def field_channels(config: TrainConfig) -> int:
    """Channels of one latent-field column: the global code, then the local noise."""
    return config.field_global_dim + config.field_local_dim


def field_frames(spec: SpectralSpec, config: TrainConfig) -> int:
    """Field columns that one training crop of ``spec.n_frames`` frames reads."""
    return spec.n_frames + 2 * context_frames(spec, config)


def stream_input_dim(spec: SpectralSpec, config: TrainConfig) -> int:
    """Length of the flat training input (see the module docstring for its layout)."""
    return config.field_global_dim + field_frames(spec, config) * config.field_local_dim


def build_field_generator(spec: SpectralSpec, config: TrainConfig) -> keras.Model:
    """Latent field (batch, frames, :func:`field_channels`) -> mean images
    (batch, height, frames - 2 * :func:`context_frames`) in [-1, 1], for any frame count.

    This is the graph the exporter writes, with a dynamic time axis.
    """
    height = spec.image_shape[0]
    width = config.g_channels[0]
    field = keras.Input((None, field_channels(config)), name=FIELD_INPUT_NAME)
    x = keras.layers.Conv1D(width, 1)(field)
    for dilation in config.stream_dilations:
        h = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        h = keras.layers.LeakyReLU(LEAKY_SLOPE)(h)
        h = keras.layers.Conv1D(width, 3, dilation_rate=dilation, padding="valid")(h)
        # The residual path loses as many frames as the convolution consumes.
        x = keras.layers.Cropping1D(dilation)(x) + h
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = keras.layers.LeakyReLU(LEAKY_SLOPE)(x)
    x = keras.layers.Conv1D(config.field_bands or height, 1, activation="tanh")(x)
    if config.stream_window_smoothing:
        x = WindowSmoothing(spec.to_json())(x)
    if config.field_bands:
        bands_to_rows = band_interpolation(spec, config.field_bands, config.field_band_smoothing)
        x = keras.layers.Dense(height, use_bias=False, trainable=False, name="bands_to_rows",
                               kernel_initializer=keras.initializers.Constant(bands_to_rows))(x)
    return keras.Model(field, keras.layers.Permute((2, 1), name=OUTPUT_NAME)(x),
                       name="field_generator")


def band_interpolation(spec: SpectralSpec, bands: int, smoothing_passes: int = 0
                       ) -> np.ndarray:
    """Mel bands -> image rows, shape (bands, height): each row a convex combination of the
    bands around it (:func:`raingan.core.mel.mel_interpolation`), after ``smoothing_passes``
    of :func:`raingan.core.mel.band_smoothing`, so the mean spectrum is smooth across
    frequency, as a noisy spectrum's envelope is, and its values stay in [-1, 1]. The fine
    structure across bins is the speckle's."""
    rows = mel_interpolation(spec.sample_rate_hz, spec.n_fft, bands, 0.0, spec.nyquist_hz)
    to_rows = rows[:spec.image_shape[0]].T.astype(np.float64)
    return (band_smoothing(bands, smoothing_passes).astype(np.float64) @ to_rows
            ).astype(np.float32)


class WindowSmoothing(keras.layers.Layer):
    """Mean band levels (batch, frames, bands), image units -> the same, blended in power
    over neighbouring frames as the STFT window blends a sound's envelope
    (:func:`raingan.core.speckle.frame_power_weights`); unpadded, so it consumes
    ``len(weights) // 2`` frames on each side. Without it the generator can write frames
    whose level jumps alone, which no sound has and which reconstruct with a modulation at
    the frame rate."""

    def __init__(self, spec_json: str, **kwargs):
        super().__init__(**kwargs)
        self.spec_json = spec_json
        spec = SpectralSpec.from_json(spec_json)
        self.weights_ = frame_power_weights(spec).astype(np.float32)
        # Image units -> natural log of power, up to a constant.
        self.nepers_per_unit = float(spec.db_per_image_unit * np.log(10.0) / 10.0)

    def call(self, x):
        power = ops.exp(x * self.nepers_per_unit)
        frames = ops.shape(x)[1] - (len(self.weights_) - 1)
        blended = sum(float(w) * power[:, k:k + frames] for k, w in enumerate(self.weights_))
        return ops.log(blended) / self.nepers_per_unit

    def compute_output_shape(self, input_shape):
        batch, frames, bands = input_shape
        return (batch, None if frames is None else frames - len(self.weights_) + 1, bands)

    def get_config(self) -> dict:
        return {**super().get_config(), "spec_json": self.spec_json}


class FieldFromFlat(keras.layers.Layer):
    """Flat training input (batch, :func:`stream_input_dim`) -> latent field (batch,
    :func:`field_frames`, :func:`field_channels`), the global code repeated in every column."""

    def __init__(self, global_dim: int, local_dim: int, frames: int, **kwargs):
        super().__init__(**kwargs)
        self.global_dim, self.local_dim, self.frames = global_dim, local_dim, frames

    def call(self, z):
        code = ops.repeat(z[:, None, :self.global_dim], self.frames, axis=1)
        local = ops.reshape(z[:, self.global_dim:], (-1, self.frames, self.local_dim))
        return ops.concatenate([code, local], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.frames, self.global_dim + self.local_dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "global_dim": self.global_dim,
                "local_dim": self.local_dim, "frames": self.frames}


class Speckle(keras.layers.Layer):
    """Adds the speckle of a noisy spectrum to mean images in training; passes them through
    at inference, where the runtime adds it (:func:`raingan.core.speckle.speckle_db`).

    A bin of a noise-like spectrum has power ``P E`` with ``E`` exponential, so its image
    value is the mean's plus ``10 log10 E`` dB, clipped like a real image. ``E`` is taken
    from the spec's STFT of white noise, so it is correlated across frames and bins exactly
    as a real spectrum's is. With :meth:`set_drops`, that noise holds the run's drops as
    the runtime's does (:func:`raingan.core.speckle.excitation`): the discriminator then
    sees clicks in generated images as in real ones, and the generator has no reason to
    imitate them with its band levels.
    """

    def __init__(self, spec_json: str, **kwargs):
        super().__init__(**kwargs)
        self.spec_json = spec_json
        self.spec = SpectralSpec.from_json(spec_json)
        self.seed = keras.random.SeedGenerator(1)
        self.drops: Drops | None = None

    def set_drops(self, drops: Drops | None) -> None:
        """Clicks in the noise from now on (None: Gaussian); before the step is compiled.
        Training draws them at one share at every frequency (the runtime's tilt is fitted
        at export, through the runtime)."""
        if drops is not None and drops.tilt_db_per_octave != 0.0:
            raise ValueError("training's speckle has no tilted drops; fit the tilt at export")
        self.drops = None if drops is None or drops.share == 0.0 else drops

    def _excitation(self, batch, samples: int):
        noise = keras.random.normal((batch, samples), seed=self.seed)
        if self.drops is None:
            return noise
        probability = min(self.drops.rate_hz / self.spec.sample_rate_hz, 1.0)
        # One uniform draw gives both the hit (u < p) and its sign (which half of [0, p)).
        u = keras.random.uniform((batch, samples), seed=self.seed)
        clicks = ops.where(u < 0.5 * probability, -1.0, ops.where(u < probability, 1.0, 0.0))
        sigma = self.drops.level_spread_db * float(np.log(10.0)) / 20.0
        if sigma > 0.0:  # log-normal sizes, mean square 1, as the runtime's
            clicks = clicks * ops.exp(sigma * keras.random.normal((batch, samples),
                                                                   seed=self.seed) - sigma ** 2)
        return (noise * float(np.sqrt(1.0 - self.drops.share))
                + clicks * float(np.sqrt(self.drops.share / probability)))

    def call(self, images, training: bool = False):
        if not training:
            return images
        spec = self.spec
        height, frames = spec.image_shape
        samples = (frames - 1) * spec.hop_length + spec.win_length
        noise = self._excitation(ops.shape(images)[0], samples)
        real, imag = ops.stft(noise, spec.win_length, spec.hop_length, spec.n_fft,
                              window="hann", center=False)
        power = (ops.square(real) + ops.square(imag))[:, :, :height] / window_power(spec)
        speckle_db = 10.0 * ops.log(ops.maximum(power, 1e-12)) / np.log(10.0)
        units = ops.transpose(speckle_db, (0, 2, 1)) / spec.db_per_image_unit
        return ops.clip(images + units, -1.0, 1.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "spec_json": self.spec_json}


def set_speckle_drops(generator: keras.Model, drops: Drops | None) -> None:
    """Give a :func:`build_stream_generator` model's training speckle the run's drops."""
    for layer in generator.layers:
        if isinstance(layer, Speckle):
            layer.set_drops(drops)


def build_stream_generator(spec: SpectralSpec, config: TrainConfig) -> keras.Model:
    """The generator that trains: flat input (batch, :func:`stream_input_dim`) -> images
    (batch, height, width) with speckle in training, the field generator inside."""
    inputs = keras.Input((stream_input_dim(spec, config),), name=INPUT_NAME)
    field = FieldFromFlat(config.field_global_dim, config.field_local_dim,
                          field_frames(spec, config))(inputs)
    means = build_field_generator(spec, config)(field)
    images = Speckle(spec.to_json())(means)
    return keras.Model(inputs, keras.layers.Identity(name=OUTPUT_NAME)(images),
                       name="generator")


def field_generator_of(generator: keras.Model) -> keras.Model:
    """The field generator inside a :func:`build_stream_generator` model."""
    return generator.get_layer("field_generator")


class DiffAugment(keras.layers.Layer):
    """Images (batch, height, width, 1) -> (batch, height, width - ``crop_frames``, 1): in
    training, each image shifted in level by up to ``level`` image units, cropped in time at a
    random start (one per batch) and with a random rectangle of ``cutout`` of its rows and
    frames set to 0; outside training, the crop's first frames, untouched.

    Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for
    Data-Efficient GAN Training"): the discriminator's first layer, so real and generated
    images, in its step and the generator's, pass through the same kind of transformation,
    and the generator's gradient through it. A discriminator that can memorise a few seconds
    of crops otherwise gives a generator no reason to stay near them.
    """

    def __init__(self, level: float = 0.1, crop_frames: int = 16, cutout: float = 0.25,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.level, self.crop_frames, self.cutout, self.seed = level, crop_frames, cutout, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training: bool = False):
        height, width = images.shape[1], images.shape[2]
        keep = width - self.crop_frames
        if not training:
            return images[:, :, :keep]
        batch = ops.shape(images)[0]
        uniform = keras.random.uniform
        x = images + uniform((batch, 1, 1, 1), -self.level, self.level, seed=self.seed_generator)
        start = ops.cast(ops.floor(uniform((), 0.0, self.crop_frames + 1.0,
                                           seed=self.seed_generator)), "int32")
        x = ops.take(x, start + ops.arange(keep, dtype="int32"), axis=2)
        rows = ops.cast(ops.reshape(ops.arange(height), (1, height, 1, 1)), x.dtype)
        frames = ops.cast(ops.reshape(ops.arange(keep), (1, 1, keep, 1)), x.dtype)
        row_centre = uniform((batch, 1, 1, 1), 0.0, float(height), seed=self.seed_generator)
        frame_centre = uniform((batch, 1, 1, 1), 0.0, float(keep), seed=self.seed_generator)
        inside = ops.logical_and(ops.abs(rows - row_centre) < self.cutout * height / 2,
                                 ops.abs(frames - frame_centre) < self.cutout * keep / 2)
        return ops.where(inside, ops.zeros_like(x), x)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, height, width - self.crop_frames, channels)

    def get_config(self) -> dict:
        return {**super().get_config(), "level": self.level, "crop_frames": self.crop_frames,
                "cutout": self.cutout, "seed": self.seed}


def build_stream_discriminator(spec: SpectralSpec, config: TrainConfig) -> keras.Model:
    """Images (batch, height, width, 1) -> one realness logit per image: strided 1-D
    convolutions over time, each frame's spectrum as channels, summed over time."""
    image = keras.Input((*spec.image_shape, 1), name="image")
    x = DiffAugment(seed=config.seed)(image) if config.d_augment else image
    x = keras.layers.Permute((2, 1))(keras.layers.Reshape((spec.image_shape[0], -1))(x))
    for level, channels in enumerate(config.d_channels):
        x = SNConv1D(channels, 3 if level == 0 else 4, strides=1 if level == 0 else 2)(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE)(x)
    x = keras.layers.Lambda(lambda t: ops.sum(t, axis=1))(x)
    return keras.Model(image, SNDense(1)(x), name="discriminator")
