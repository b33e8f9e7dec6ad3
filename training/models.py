"""Generator and discriminator for spectrogram images (SN-GAN with self-attention).

The image size comes from the spec: (height = frequency rows, width = time frames). The
generator grows a coarse map by nearest-neighbour upsampling and 3x3 convolutions, which,
unlike the article's transposed convolutions, leaves no checkerboard pattern in the image
(a checkerboard in a spectrogram is an audible periodic buzz).
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np

from ..core.model_meta import INPUT_NAME, OUTPUT_NAME
from ..core.spec import SpectralSpec
from .config import ConfigError, TrainConfig, column_latent_split
from . import streaming
from .layers import (ColumnLatents, NoiseInjection, SelfAttention, SmoothUpsample2D, SNConv2D,
                     SNDense)

LEAKY_SLOPE = 0.2
#: Generator batch-norm momentum: quick enough that the running statistics used at
#: inference follow the generator while it trains.
BN_MOMENTUM = 0.9


def coarse_shape(spec: SpectralSpec, config: TrainConfig) -> tuple[int, int]:
    """(height, width) of the generator's first feature map."""
    factor = 2 ** (len(config.g_channels) - 1)
    height, width = spec.image_shape
    if height % factor or width % factor:
        raise ConfigError(f"image {height}x{width} is not divisible by {factor}: use "
                          f"{len(config.g_channels)} generator resolutions with another spec, "
                          f"or fewer resolutions")
    return height // factor, width // factor


def noise_shapes(spec: SpectralSpec, config: TrainConfig) -> list[tuple[int, int]]:
    """(height, width) of each noise map, coarsest first: the generator's
    ``config.g_noise_levels`` finest resolutions."""
    height, width = coarse_shape(spec, config)
    levels = range(len(config.g_channels) - config.g_noise_levels, len(config.g_channels))
    return [(height * 2 ** level, width * 2 ** level) for level in levels]


def _noise_values(height: int, width: int, config: TrainConfig) -> int:
    """Noise inputs of one noisy resolution: a value per pixel, then (``g_frame_noise``) a
    value per time frame."""
    return height * width + (width if config.g_frame_noise else 0)


def generator_input_dim(spec: SpectralSpec, config: TrainConfig) -> int:
    """Length of the generator's input vector: ``config.latent_dim`` latent components, then
    the noise of every noisy resolution (:func:`noise_shapes`), coarsest first: one value
    per pixel, then, with ``g_frame_noise``, one per time frame. The stream architecture's
    layout is :func:`.streaming.stream_input_dim`'s."""
    if config.architecture == "stream":
        return streaming.stream_input_dim(spec, config)
    return config.latent_dim + sum(_noise_values(h, w, config)
                                   for h, w in noise_shapes(spec, config))


def drifting_latent_dims(spec: SpectralSpec, config: TrainConfig) -> int | None:
    """Leading latent components that describe a whole chunk (see
    :attr:`.model_meta.ModelMetadata.drifting_dims`); None when all do ("dense")."""
    if config.architecture == "stream":
        return config.field_global_dim
    if config.g_coarse != "columns":
        return None
    return column_latent_split(config.latent_dim, coarse_shape(spec, config)[1])[0]


class NoiseInput(NamedTuple):
    """One noisy resolution's slice of the generator input: ``pixels`` (batch, height *
    width), row-major, and ``frames`` (batch, width), or None without ``g_frame_noise``."""

    pixels: object
    frames: object | None
    height: int
    width: int


def noise_inputs(inputs, spec: SpectralSpec, config: TrainConfig) -> dict[int, NoiseInput]:
    """The noise slices of the generator input tensor ``inputs``, by level
    (:func:`generator_input_dim` gives the layout)."""
    noise, offset = {}, config.latent_dim
    first_noisy = len(config.g_channels) - config.g_noise_levels
    for level, (h, w) in enumerate(noise_shapes(spec, config), start=first_noisy):
        frames = (inputs[:, offset + h * w:offset + h * w + w] if config.g_frame_noise
                  else None)
        noise[level] = NoiseInput(inputs[:, offset:offset + h * w], frames, h, w)
        offset += _noise_values(h, w, config)
    return noise


def coarse_map(z, spec: SpectralSpec, config: TrainConfig, spectral_norm: bool):
    """Latents (batch, latent_dim) -> the first feature map after batch norm and ReLU,
    (batch, height, width, g_channels[0]) with :func:`coarse_shape`."""
    height, width = coarse_shape(spec, config)
    if config.g_coarse == "columns":
        columns = ColumnLatents(width)(z)  # (batch, width, global + own part)
        x = SNDense(height * config.g_channels[0], spectral_norm=spectral_norm)(columns)
        x = keras.layers.Reshape((width, height, config.g_channels[0]))(x)
        x = keras.layers.Permute((2, 1, 3))(x)
    else:
        x = SNDense(height * width * config.g_channels[0], spectral_norm=spectral_norm)(z)
        x = keras.layers.Reshape((height, width, config.g_channels[0]))(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return keras.layers.ReLU()(x)


def folds(config: TrainConfig) -> bool:
    """Whether a generator of this architecture has a folded form."""
    return config.architecture == "chunk" and config.g_upsample == "nearest" and len(config.g_channels) > 1


def folded_input_order(spec: SpectralSpec, config: TrainConfig) -> np.ndarray:
    """Which trained-generator input each input of its folded form (the exported graph,
    :mod:`raingan.export.folded_graph`) holds.

    Returns
    -------
    np.ndarray, shape (generator_input_dim,), int: the folded form given ``z[:, order]``
    makes the images the trained generator makes of ``z``. Latents and frame noise keep
    their places; each pixel-noise map is read in phase-major sub-pixel order.
    """
    order = np.arange(generator_input_dim(spec, config))
    if not folds(config):
        return order
    for part in noise_inputs(order[None], spec, config).values():
        h, w = part.height, part.width
        pixels = part.pixels[0].reshape(h // 2, 2, w // 2, 2)  # (i, dy, j, dx)
        order[pixels.min():pixels.min() + h * w] = pixels.transpose(1, 3, 0, 2).ravel()
    return order


def build_generator(spec: SpectralSpec, config: TrainConfig,
                    spectral_norm: bool = True) -> keras.Model:
    """Inputs (batch, :func:`generator_input_dim`) -> images (batch, height, width) in [-1, 1].

    ``spectral_norm=False`` builds the same graph with plain kernels: the exporter loads the
    normalised kernels into it, so the exported graph has no power iteration. (Its faster
    inference form is :func:`raingan.export.folded_graph.build_folded_generator`.) The
    stream architecture's is :func:`.streaming.build_stream_generator`.
    """
    if config.architecture == "stream":
        return streaming.build_stream_generator(spec, config)
    inputs = keras.Input((generator_input_dim(spec, config),), name=INPUT_NAME)
    noise = {level: [keras.layers.Reshape((part.height, part.width, 1))(part.pixels)]
             + ([] if part.frames is None else
                [keras.layers.Reshape((1, part.width, 1))(part.frames)])
             for level, part in noise_inputs(inputs, spec, config).items()}
    x = coarse_map(inputs[:, :config.latent_dim], spec, config, spectral_norm)
    for level, channels in enumerate(config.g_channels):
        if level > 0:
            if config.g_upsample in ("bilinear", "time-linear"):
                x = SmoothUpsample2D(circular_time=config.g_time_padding == "circular",
                                     smooth_frequency=config.g_upsample == "bilinear")(x)
            else:
                x = keras.layers.UpSampling2D(2)(x)
            x = SNConv2D(channels, 3, spectral_norm=spectral_norm,
                         time_padding=config.g_time_padding)(x)
            x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
            if level in noise:
                x = NoiseInjection()([x, *noise[level]])
            x = keras.layers.ReLU()(x)
        if level == config.g_attention_level:
            x = SelfAttention(channels, spectral_norm=spectral_norm)(x)
    x = SNConv2D(1, 3, spectral_norm=spectral_norm, time_padding=config.g_time_padding)(x)
    return generator_model(inputs, keras.layers.Activation("tanh")(x), spec)


def generator_model(inputs, x, spec: SpectralSpec) -> keras.Model:
    """The generator from its input and its last map, (batch, height, width, 1) in [-1, 1]."""
    image = keras.layers.Reshape(spec.image_shape, name=OUTPUT_NAME)(x)
    return keras.Model(inputs, image, name="generator")


def build_discriminator(spec: SpectralSpec, config: TrainConfig) -> keras.Model:
    """Images (batch, height, width, 1) -> one realness logit per image, shape (batch, 1)."""
    if config.architecture == "stream":
        return streaming.build_stream_discriminator(spec, config)
    image = keras.Input((*spec.image_shape, 1), name="image")
    x = image
    for level, channels in enumerate(config.d_channels):
        x = SNConv2D(channels, 3, strides=1 if level == 0 else 2)(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE)(x)
        if level == config.d_attention_level:
            x = SelfAttention(channels)(x)
    # Summing (not averaging) over positions, as SN-GAN does, keeps the logit's scale.
    x = keras.layers.Lambda(lambda t: keras.ops.sum(t, axis=(1, 2)))(x)
    return keras.Model(image, SNDense(1)(x), name="discriminator")
