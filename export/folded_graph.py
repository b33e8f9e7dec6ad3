"""The generator's folded inference form: the graph the exporter writes for nearest-upsampling
generators. Its kernels come from :mod:`.folding`; this module lays out the layers.

Each upsampling level is one convolution at the lower resolution that writes sub-pixel form,
with batch norm folded in, plus on noisy levels a 1x1 convolution of the noise in sub-pixel
form. Two layouts keep the graph free of copies (BENCHMARKS.md, "Exported graph": a batch of 16
latents in 84.6 ms instead of 117.6 with the bundled model in int8):

- With circular time padding every feature map carries :data:`WRAP_COLUMNS` wrapped-around
  time columns on each side. A convolution reads the columns it needs and leaves one fewer
  at its resolution, which the next upsampling doubles back, so no convolution pads (a
  concatenation of the whole map each). Attention, which must see each column once, drops
  them and the map is wrapped again after it; the output convolution uses up the last.
- Pixel noise is read in *phase-major sub-pixel order*: the noise input of a level of
  height x width holds the half-resolution map of phase ``p = 2 dy + dx`` (pixels
  ``(2i + dy, 2j + dx)``) for p = 0..3 in turn, which becomes sub-pixel form by a reshape
  instead of a transpose. Noise is independent per pixel, so this order draws the same
  distribution of images; :func:`~raingan.training.models.folded_input_order` maps the
  trained generator's inputs onto the folded one's, for what compares the two on the same
  latents (the exporter's parity check, the training monitor).
"""

from __future__ import annotations

import keras

from ..core.model_meta import INPUT_NAME
from ..core.spec import SpectralSpec
from ..training.config import ConfigError, TrainConfig
from ..training.layers import DepthToSpace, SelfAttention, SNConv2D, WrapTime
from ..training.models import (NoiseInput, coarse_map, folds, generator_input_dim,
                               generator_model, noise_inputs)

#: Wrapped-around time columns each feature map carries on either side (circular padding).
WRAP_COLUMNS = 2


def build_folded_generator(spec: SpectralSpec, config: TrainConfig) -> keras.Model:
    """The folded form of a nearest-upsampling generator, with plain (unnormalised) kernels.

    Its layers are named ``folded_*``: ``folded_conv_{level}``, on noisy levels
    ``folded_noise_{level}`` and (with ``g_frame_noise``) ``folded_frame_noise_{level}``,
    and ``folded_output_conv``; the exporter derives their weights from a trained
    generator's. Its input is the trained generator's reordered by
    :func:`~raingan.training.models.folded_input_order`.

    Raises
    ------
    ConfigError
        for an architecture that does not fold (:func:`~raingan.training.models.folds`).
    """
    if not folds(config):
        raise ConfigError(f"only nearest-upsampling generators of two or more levels fold, "
                          f"not {config.g_upsample!r} with {len(config.g_channels)}")
    inputs = keras.Input((generator_input_dim(spec, config),), name=INPUT_NAME)
    noise = noise_inputs(inputs, spec, config)
    x = coarse_map(inputs[:, :config.latent_dim], spec, config, spectral_norm=False)
    wrap = WRAP_COLUMNS if config.g_time_padding == "circular" else 0
    last = len(config.g_channels) - 1
    # The output convolution reads the last level in sub-pixel form, unless attention needs
    # that level at full resolution.
    subpixel_output = config.g_attention_level != last
    carried = 0  # wrapped-around columns x holds on either side
    for level, channels in enumerate(config.g_channels):
        if level > 0:
            x, carried = _folded_level(x, carried, level, channels, noise.get(level))
            if level < last or not subpixel_output:
                x, carried = DepthToSpace()(x), 2 * carried
        if level == config.g_attention_level:
            x, carried = SelfAttention(channels, spectral_norm=False)(_cropped(x, carried)), 0
        if wrap and carried == 0:
            x, carried = WrapTime(wrap)(x), wrap
    x = SNConv2D(4 if subpixel_output else 1, 3, spectral_norm=False,
                 time_padding="none" if carried else "zero", name="folded_output_conv")(x)
    carried = max(carried - 1, 0)
    # tanh before the unfolding: onnxruntime would otherwise move an int8 output
    # convolution's dequantization past it, and the 6-D transpose of 8-bit values took
    # 9.5 ms per batch of 16 where that of floats takes 0.9.
    x = keras.layers.Activation("tanh")(x)
    if subpixel_output:
        x, carried = DepthToSpace()(x), 2 * carried
    return generator_model(inputs, _cropped(x, carried), spec)


def _folded_level(x, carried: int, level: int, channels: int, noise: NoiseInput | None):
    """One upsampling level: (its output after ReLU in sub-pixel form, the wrapped-around
    columns that output carries)."""
    x = SNConv2D(4 * channels, 3, spectral_norm=False,
                 time_padding="none" if carried else "zero", name=f"folded_conv_{level}")(x)
    carried = max(carried - 1, 0)
    if noise is not None:
        # (batch, 4 * h/2 * w/2) in phase-major order -> (batch, h/2, w/2 + 2 carried, 4)
        pixels = keras.layers.Reshape((4, noise.height // 2, noise.width // 2))(noise.pixels)
        pixels = keras.layers.Permute((2, 3, 1))(WrapTime(carried, axis=3)(pixels))
        x = x + SNConv2D(4 * channels, 1, spectral_norm=False,
                         name=f"folded_noise_{level}")(pixels)
    if noise is not None and noise.frames is not None:
        # frames (batch, w) -> (batch, 1, w/2 + 2 carried, 2): a channel per dx
        frames = keras.layers.Reshape((1, noise.width // 2, 2))(noise.frames)
        x = x + SNConv2D(4 * channels, 1, spectral_norm=False,
                         name=f"folded_frame_noise_{level}")(WrapTime(carried)(frames))
    return keras.layers.ReLU()(x), carried


def _cropped(x, columns: int):
    """x without its wrapped-around time columns."""
    return keras.layers.Cropping2D(((0, 0), (columns, columns)))(x) if columns else x
