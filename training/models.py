"""Generator and discriminator for spectrogram images (SN-GAN with self-attention).

The image size comes from the spec: (height = frequency rows, width = time frames). The
generator grows a coarse map by nearest-neighbour upsampling and 3x3 convolutions, which,
unlike the article's transposed convolutions, leaves no checkerboard pattern in the image
(a checkerboard in a spectrogram is an audible periodic buzz).
"""

from __future__ import annotations

import keras

from ..runtime.model_meta import INPUT_NAME, OUTPUT_NAME
from ..runtime.spec import SpectralSpec
from .config import ConfigError, TrainConfig, column_latent_split
from .layers import (ColumnLatents, DepthToSpace, NoiseInjection, SelfAttention,
                     SmoothUpsample2D, SNConv2D, SNDense, SpaceToDepth)

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
    per pixel, then, with ``g_frame_noise``, one per time frame."""
    return config.latent_dim + sum(_noise_values(h, w, config)
                                   for h, w in noise_shapes(spec, config))


def drifting_latent_dims(spec: SpectralSpec, config: TrainConfig) -> int | None:
    """Leading latent components that describe a whole chunk (see
    :attr:`.model_meta.ModelMetadata.drifting_dims`); None when all do ("dense")."""
    if config.g_coarse != "columns":
        return None
    return column_latent_split(config.latent_dim, coarse_shape(spec, config)[1])[0]


def build_generator(spec: SpectralSpec, config: TrainConfig, spectral_norm: bool = True,
                    folded: bool = False) -> keras.Model:
    """Inputs (batch, :func:`generator_input_dim`) -> images (batch, height, width) in [-1, 1].

    ``spectral_norm=False`` builds the same graph with plain kernels: the exporter loads the
    normalised kernels into it, so the exported graph has no power iteration.

    ``folded=True`` (plain kernels) builds the exporter's faster inference form of a
    nearest-upsampling generator: each upsampling, convolution, batch norm and noise
    injection become convolutions at the lower resolution that write sub-pixel form, and the
    output convolution reads that form (see :mod:`raingan.export.folding`). Its layers are
    named ``folded_*``; the exporter derives their weights from a trained generator's.
    """
    if folded and config.g_upsample != "nearest":
        raise ConfigError(f"only nearest-upsampling generators fold, not {config.g_upsample!r}")
    spectral_norm = spectral_norm and not folded
    height, width = coarse_shape(spec, config)
    inputs = keras.Input((generator_input_dim(spec, config),), name=INPUT_NAME)
    z = inputs[:, :config.latent_dim]
    noise, offset = {}, config.latent_dim
    first_noisy = len(config.g_channels) - config.g_noise_levels
    for level, (h, w) in enumerate(noise_shapes(spec, config), start=first_noisy):
        noise[level] = [keras.layers.Reshape((h, w, 1))(inputs[:, offset:offset + h * w])]
        if config.g_frame_noise:
            frames = inputs[:, offset + h * w:offset + h * w + w]
            noise[level].append(keras.layers.Reshape((1, w, 1))(frames))
        offset += _noise_values(h, w, config)
    if config.g_coarse == "columns":
        columns = ColumnLatents(width)(z)  # (batch, width, global + own part)
        x = SNDense(height * config.g_channels[0], spectral_norm=spectral_norm)(columns)
        x = keras.layers.Reshape((width, height, config.g_channels[0]))(x)
        x = keras.layers.Permute((2, 1, 3))(x)
    else:
        x = SNDense(height * width * config.g_channels[0], spectral_norm=spectral_norm)(z)
        x = keras.layers.Reshape((height, width, config.g_channels[0]))(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = keras.layers.ReLU()(x)
    last = len(config.g_channels) - 1
    # The folded output convolution reads the last level in sub-pixel form, unless
    # attention needs that level at full resolution.
    subpixel_output = folded and last > 0 and config.g_attention_level != last
    for level, channels in enumerate(config.g_channels):
        if level > 0 and folded:
            x = _folded_level(x, level, channels, noise.get(level), config)
            if level < last or not subpixel_output:
                x = DepthToSpace()(x)
        elif level > 0:
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
    x = SNConv2D(4 if subpixel_output else 1, 3, spectral_norm=spectral_norm,
                 time_padding=config.g_time_padding,
                 name="folded_output_conv" if folded else None)(x)
    x = keras.layers.Activation("tanh")(x)
    if subpixel_output:
        x = DepthToSpace()(x)
    image = keras.layers.Reshape(spec.image_shape, name=OUTPUT_NAME)(x)
    return keras.Model(inputs, image, name="generator")


def _folded_level(x, level: int, channels: int, noise: list | None, config: TrainConfig):
    """One upsampling level of the folded form: its output (after ReLU) in sub-pixel form."""
    x = SNConv2D(4 * channels, 3, spectral_norm=False, time_padding=config.g_time_padding,
                 name=f"folded_conv_{level}")(x)
    if noise:
        pixels = SpaceToDepth()(noise[0])
        x = x + SNConv2D(4 * channels, 1, spectral_norm=False, name=f"folded_noise_{level}")(pixels)
        if len(noise) > 1:  # frames (batch, 1, 2W, 1) -> (batch, 1, W, 2): a channel per dx
            _, _, frames_width, _ = noise[1].shape
            frames = keras.layers.Reshape((1, frames_width // 2, 2))(noise[1])
            x = x + SNConv2D(4 * channels, 1, spectral_norm=False,
                             name=f"folded_frame_noise_{level}")(frames)
    return keras.layers.ReLU()(x)


def build_discriminator(spec: SpectralSpec, config: TrainConfig) -> keras.Model:
    """Images (batch, height, width, 1) -> one realness logit per image, shape (batch, 1)."""
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
