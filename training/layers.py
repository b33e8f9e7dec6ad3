"""Spectrally normalised convolution and dense layers, and a SAGAN self-attention block.

Written with keras.ops only, so they run on TensorFlow and JAX alike. Spectral
normalisation divides the kernel by an estimate of its largest singular value; one power
iteration per training call refines the estimate (Miyato et al. 2018). Unlike
keras.layers.SpectralNormalization, the raw kernel is never overwritten, so training is the
same on every backend, and :meth:`normalized_kernel` gives the exact kernel inference uses,
which the exporter bakes into a plain layer.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .config import TIME_PADDINGS, column_latent_split

_EPS = 1e-12


def _l2_normalize(x):
    return x / ops.sqrt(ops.sum(ops.square(x)) + _EPS)


class _SpectralNormalized(keras.layers.Layer):
    """Base for layers whose ``kernel`` (last axis = outputs) may be spectrally normalised."""

    def __init__(self, units: int, spectral_norm: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.spectral_norm = spectral_norm

    def _kernel_shape(self, input_shape) -> tuple[int, ...]:
        raise NotImplementedError

    def build(self, input_shape) -> None:
        self.kernel = self.add_weight(name="kernel", shape=self._kernel_shape(input_shape),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        if self.spectral_norm:
            # Replicas average their estimates of u: it is a running estimate, not a weight.
            self.u = self.add_weight(name="sn_u", shape=(1, self.units), trainable=False,
                                     initializer=keras.initializers.RandomNormal(seed=None),
                                     aggregation="mean")

    def _kernel(self, training: bool):
        if not self.spectral_norm:
            return self.kernel
        w = ops.reshape(self.kernel, (-1, self.units))
        u = ops.stop_gradient(_l2_normalize(self.u))
        v = _l2_normalize(ops.matmul(u, ops.transpose(w)))
        if training:
            u = ops.stop_gradient(_l2_normalize(ops.matmul(v, w)))
            v = ops.stop_gradient(_l2_normalize(ops.matmul(u, ops.transpose(w))))
            self.u.assign(u)
        else:
            v = ops.stop_gradient(v)
        sigma = ops.sum(ops.matmul(v, w) * u)
        return self.kernel / sigma

    def normalized_kernel(self) -> np.ndarray:
        """The kernel that inference uses, as a numpy array (the raw kernel without SN)."""
        return np.asarray(ops.convert_to_numpy(self._kernel(training=False)))

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "spectral_norm": self.spectral_norm}


class SNConv2D(_SpectralNormalized):
    """2-D convolution, 'same' output size, channels last, optionally spectrally normalised.

    ``time_padding="circular"`` pads the width (time) axis by wrapping it around, and the
    height (frequency) axis with zeros. A generator built only of such convolutions,
    nearest upsampling and position-free layers treats every time column alike, edges
    included, so no place in a chunk is special and no pattern repeats at the chunk rate.
    ``"none"`` pads only the height: the exporter's folded form carries wrapped-around time
    columns from layer to layer (:class:`WrapTime`), so each convolution needs no copy.
    """

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1,
                 spectral_norm: bool = True, time_padding: str = "zero", **kwargs):
        super().__init__(filters, spectral_norm, **kwargs)
        if time_padding not in (*TIME_PADDINGS, "none"):
            raise ValueError(f"time_padding must be one of {TIME_PADDINGS}, got {time_padding!r}")
        if time_padding != "zero" and (strides != 1 or kernel_size % 2 == 0):
            raise ValueError(f"{time_padding} time padding needs stride 1 and an odd kernel")
        self.kernel_size, self.strides = kernel_size, strides
        self.time_padding = time_padding

    def _kernel_shape(self, input_shape):
        return (self.kernel_size, self.kernel_size, input_shape[-1], self.units)

    def call(self, x, training: bool = False):
        if self.time_padding != "zero":
            half = self.kernel_size // 2
            if self.time_padding == "circular":
                x = ops.concatenate([x[:, :, -half:], x, x[:, :, :half]], axis=2)
            x = ops.pad(x, [[0, 0], [half, half], [0, 0], [0, 0]])
            return ops.conv(x, self._kernel(training), padding="valid") + self.bias
        y = ops.conv(x, self._kernel(training), strides=self.strides, padding="same")
        return y + self.bias

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        s = self.strides
        if width is not None and self.time_padding == "none":
            width -= self.kernel_size - 1
        return (batch, None if height is None else -(-height // s),
                None if width is None else -(-width // s), self.units)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("units")
        return {**config, "filters": self.units, "kernel_size": self.kernel_size,
                "strides": self.strides, "time_padding": self.time_padding}


class SNConv1D(_SpectralNormalized):
    """1-D convolution over time, 'same' output length, channels last, optionally
    spectrally normalised: the streaming architecture's discriminator, which reads each frame's
    spectrum as channels."""

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1,
                 spectral_norm: bool = True, **kwargs):
        super().__init__(filters, spectral_norm, **kwargs)
        self.kernel_size, self.strides = kernel_size, strides

    def _kernel_shape(self, input_shape):
        return (self.kernel_size, input_shape[-1], self.units)

    def call(self, x, training: bool = False):
        y = ops.conv(x, self._kernel(training), strides=self.strides, padding="same")
        return y + self.bias

    def compute_output_shape(self, input_shape):
        batch, frames, _ = input_shape
        return (batch, None if frames is None else -(-frames // self.strides), self.units)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("units")
        return {**config, "filters": self.units, "kernel_size": self.kernel_size,
                "strides": self.strides}


class SNDense(_SpectralNormalized):
    """Dense layer, optionally spectrally normalised."""

    def _kernel_shape(self, input_shape):
        return (input_shape[-1], self.units)

    def call(self, x, training: bool = False):
        return ops.matmul(x, self._kernel(training)) + self.bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)


def _upsample_axis(x, axis: int, circular: bool):
    """Double ``axis`` by linear interpolation at the quarter points between samples.

    Output ``2i`` is ``0.75 x[i] + 0.25 x[i-1]`` and ``2i+1`` is ``0.75 x[i] + 0.25 x[i+1]``;
    past the ends, neighbours wrap around (``circular``) or repeat the edge sample.
    """
    first, last = ops.take(x, [0], axis=axis), ops.take(x, [-1], axis=axis)
    length = x.shape[axis]
    head = ops.take(x, list(range(length - 1)), axis=axis)
    tail = ops.take(x, list(range(1, length)), axis=axis)
    previous = ops.concatenate([last if circular else first, head], axis=axis)
    following = ops.concatenate([tail, first if circular else last], axis=axis)
    even = 0.75 * x + 0.25 * previous
    odd = 0.75 * x + 0.25 * following
    shape = list(x.shape)
    shape[axis] = 2 * length
    shape[0] = -1
    return ops.reshape(ops.stack([even, odd], axis=axis + 1), shape)


class SmoothUpsample2D(keras.layers.Layer):
    """2x bilinear upsampling of (batch, height, width, channels) maps, without learnable
    weights: unlike nearest-neighbour copies, it leaves no 2-, 4- or 8-frame block pattern
    for later layers to turn into a periodic buzz (but see ``g_upsample`` in
    :class:`.config.TrainConfig`). ``circular_time`` wraps the width (time)
    axis, as circular padding does. ``smooth_frequency=False`` copies rows (nearest) and
    interpolates along time only."""

    def __init__(self, circular_time: bool = False, smooth_frequency: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.circular_time = circular_time
        self.smooth_frequency = smooth_frequency

    def call(self, x):
        if self.smooth_frequency:
            x = _upsample_axis(x, 1, circular=False)
        else:
            x = ops.repeat(x, 2, axis=1)
        return _upsample_axis(x, 2, circular=self.circular_time)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, None if height is None else 2 * height,
                None if width is None else 2 * width, channels)

    def get_config(self) -> dict:
        return {**super().get_config(), "circular_time": self.circular_time,
                "smooth_frequency": self.smooth_frequency}


class SelfAttention(keras.layers.Layer):
    """SAGAN self-attention over all positions of a feature map (Zhang et al. 2019).

    ``x + gamma * attention(x)`` with ``gamma`` starting at zero, so the block begins as the
    identity and the model learns how much long-range structure to use. Cost grows with the
    square of the positions (height * width), so it goes at a coarse resolution.
    """

    def __init__(self, channels: int, spectral_norm: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.spectral_norm = channels, spectral_norm
        key = max(channels // 8, 1)
        self.query = SNConv2D(key, 1, spectral_norm=spectral_norm, name="query")
        self.key = SNConv2D(key, 1, spectral_norm=spectral_norm, name="key")
        self.value = SNConv2D(max(channels // 2, 1), 1, spectral_norm=spectral_norm, name="value")
        self.out = SNConv2D(channels, 1, spectral_norm=spectral_norm, name="out")

    def build(self, input_shape) -> None:
        _, self.height, self.width, _ = input_shape
        self.positions = self.height * self.width
        for layer in (self.query, self.key, self.value):
            layer.build(input_shape)
        self.out.build((*input_shape[:-1], self.value.units))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")

    def call(self, x, training: bool = False):
        q = ops.reshape(self.query(x, training=training), (-1, self.positions, self.query.units))
        k = ops.reshape(self.key(x, training=training), (-1, self.positions, self.key.units))
        v = ops.reshape(self.value(x, training=training), (-1, self.positions, self.value.units))
        weights = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 2, 1))), axis=-1)
        attended = ops.reshape(ops.matmul(weights, v), (-1, self.height, self.width, self.value.units))
        return x + self.gamma * self.out(attended, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "channels": self.channels,
                "spectral_norm": self.spectral_norm}


class ColumnLatents(keras.layers.Layer):
    """Split latents into a global half and one slice of the other half per time column.

    (batch, latent_dim) -> (batch, columns, latent_dim // 2 + latent_dim // 2 // columns):
    every column sees the global half (what kind of rain) and its own slice (what happens
    there). A dense layer applied to the last axis then treats all columns alike.
    """

    def __init__(self, columns: int, **kwargs):
        super().__init__(**kwargs)
        self.columns = columns

    def _parts(self, latent_dim: int) -> tuple[int, int]:
        return column_latent_split(latent_dim, self.columns)

    def call(self, z):
        shared, own = self._parts(z.shape[-1])
        global_part = ops.repeat(ops.expand_dims(z[:, :shared], 1), self.columns, axis=1)
        column_part = ops.reshape(z[:, shared:shared + own * self.columns],
                                  (-1, self.columns, own))
        return ops.concatenate([global_part, column_part], axis=-1)

    def compute_output_shape(self, input_shape):
        shared, own = self._parts(input_shape[-1])
        return (input_shape[0], self.columns, shared + own)

    def get_config(self) -> dict:
        return {**super().get_config(), "columns": self.columns}


class NoiseInjection(keras.layers.Layer):
    """Add noise to a feature map, scaled by a learned strength per channel.

    ``[x, pixels]`` or ``[x, pixels, frames]``: x (batch, height, width, channels), pixels
    (batch, height, width, 1), frames (batch, 1, width, 1) -> ``x + pixels * strength
    (+ frames * frame_strength)``. Pixel noise is StyleGAN's (Karras et al. 2019): the
    speckle of noisy magnitudes. Frame noise is one value per time frame shared by every
    row: a broadband event at a random time, which ReLU and the next convolution can turn
    into a drop onset.

    The strengths are stored divided by :attr:`LEARNING_SCALE`, so they learn that much
    faster than the other weights (StyleGAN's noise strengths train at a 20x larger rate
    than our generator's): started at zero with the generator's rate they stayed below
    0.01 in 500 steps, and the images stayed as smooth as without noise. They start at
    :attr:`INITIAL_STRENGTH`.
    """

    LEARNING_SCALE = 10.0
    INITIAL_STRENGTH = 0.1

    def build(self, input_shape) -> None:
        channels = input_shape[0][-1]
        initial = keras.initializers.Constant(self.INITIAL_STRENGTH / self.LEARNING_SCALE)
        self.scaled_strength = self.add_weight(shape=(channels,), initializer=initial,
                                               name="strength")
        self.scaled_frame_strength = None
        if len(input_shape) == 3:
            self.scaled_frame_strength = self.add_weight(shape=(channels,), initializer=initial,
                                                         name="frame_strength")

    @property
    def strength(self):
        return self.scaled_strength * self.LEARNING_SCALE

    def set_strength(self, strength: float) -> None:
        """Set every strength (pixel and frame) to ``strength``."""
        for weight in (self.scaled_strength, self.scaled_frame_strength):
            if weight is not None:
                weight.assign(np.full(weight.shape, strength / self.LEARNING_SCALE, np.float32))

    def call(self, inputs):
        x = inputs[0] + inputs[1] * self.strength
        if self.scaled_frame_strength is not None:
            x = x + inputs[2] * (self.scaled_frame_strength * self.LEARNING_SCALE)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape[0]


class DepthToSpace(keras.layers.Layer):
    """Sub-pixel form to full resolution: (batch, H, W, 4 C) -> (batch, 2H, 2W, C), where
    channel ``(2 dy + dx) C + c`` becomes channel ``c`` of pixel ``(2i + dy, 2j + dx)``
    (TensorFlow's depth_to_space with block 2)."""

    def call(self, x):
        _, height, width, depth = x.shape
        channels = depth // 4
        x = ops.reshape(x, (-1, height, width, 2, 2, channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, 2 * height, 2 * width, channels))

    def compute_output_shape(self, input_shape):
        batch, height, width, depth = input_shape
        return (batch, 2 * height, 2 * width, depth // 4)


class WrapTime(keras.layers.Layer):
    """Circular padding of a time axis: ``columns`` wrapped-around columns on each side.

    (batch, H, W, C) -> (batch, H, W + 2 columns, C), or along another ``axis``. A map that
    carries them through position-free layers keeps them true: they hold what the wrapped
    columns would hold (see the ``"none"`` padding of :class:`SNConv2D`).
    """

    def __init__(self, columns: int, axis: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.columns, self.axis = columns, axis

    def call(self, x):
        c, width = self.columns, x.shape[self.axis]
        if c == 0:
            return x
        if c <= width:  # two slices and a concatenation: a plain copy
            before = (slice(None),) * self.axis
            return ops.concatenate([x[(*before, slice(width - c, width))], x,
                                    x[(*before, slice(0, c))]], axis=self.axis)
        return ops.take(x, np.arange(-c, width + c) % width, axis=self.axis)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self.axis] += 2 * self.columns
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "columns": self.columns, "axis": self.axis}
