"""The exporter's folded inference form: same images as the trained generator, faster graph."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keras  # noqa: F401  (the train extra is part of the test extra)

from raingan.export.folded_graph import build_folded_generator
from raingan.export.folding import (fold_batch_norm, subpixel_bias, subpixel_frame_noise_kernel,
                                    subpixel_kernel, subpixel_noise_kernel)
from raingan.export.onnx_export import inference_generator
from raingan.runtime.latent import truncated_normal
from raingan.core.spec import SpectralSpec
from raingan.training.config import PRESETS, ConfigError
from raingan.training.layers import DepthToSpace, NoiseInjection, SNConv2D, WrapTime
from raingan.training.models import (build_generator, folded_input_order, generator_input_dim,
                                     noise_shapes)


def conv3x3(x: np.ndarray, kernel: np.ndarray, circular_time: bool) -> np.ndarray:
    """Reference 'same' convolution of (H, W, C_in) maps: zero-padded rows (frequency),
    columns (time) wrapped around or zero-padded."""
    x = np.pad(x, ((1, 1), (0, 0), (0, 0)))
    x = np.pad(x, ((0, 0), (1, 1), (0, 0)), mode="wrap" if circular_time else "constant")
    height, width = x.shape[0] - 2, x.shape[1] - 2
    return sum(x[ky:ky + height, kx:kx + width] @ kernel[ky, kx]
               for ky in range(3) for kx in range(3))


def depth_to_space(x: np.ndarray) -> np.ndarray:
    height, width, depth = x.shape
    x = x.reshape(height, width, 2, 2, depth // 4).transpose(0, 2, 1, 3, 4)
    return x.reshape(2 * height, 2 * width, depth // 4)


def space_to_depth(x: np.ndarray) -> np.ndarray:
    height, width, channels = x.shape
    x = x.reshape(height // 2, 2, width // 2, 2, channels).transpose(0, 2, 1, 3, 4)
    return x.reshape(height // 2, width // 2, 4 * channels)


maps = st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3),
                 st.booleans(), st.integers(0, 2**32 - 1))


@settings(max_examples=40, deadline=None)
@given(maps)
def test_upsampled_convolution_folds_to_the_low_resolution(shape):
    height, width, c_in, c_out, circular, seed = shape
    rng = np.random.default_rng(seed)
    x, kernel = rng.normal(size=(height, width, c_in)), rng.normal(size=(3, 3, c_in, c_out))
    upsampled = np.repeat(np.repeat(x, 2, axis=0), 2, axis=1)
    expected = conv3x3(upsampled, kernel, circular)
    folded = conv3x3(x, subpixel_kernel(kernel, upsampled_input=True), circular)
    np.testing.assert_allclose(depth_to_space(folded), expected, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(maps)
def test_convolution_of_a_subpixel_map_stays_in_subpixel_form(shape):
    height, width, c_in, c_out, circular, seed = shape
    rng = np.random.default_rng(seed)
    x, kernel = rng.normal(size=(2 * height, 2 * width, c_in)), rng.normal(size=(3, 3, c_in, c_out))
    expected = conv3x3(x, kernel, circular)
    folded = conv3x3(space_to_depth(x), subpixel_kernel(kernel, upsampled_input=False), circular)
    np.testing.assert_allclose(depth_to_space(folded), expected, atol=1e-4)


def test_batch_norm_and_noise_fold_into_kernels():
    rng = np.random.default_rng(0)
    x, kernel, bias = rng.normal(size=(4, 6, 3)), rng.normal(size=(3, 3, 3, 2)), rng.normal(size=2)
    gamma, beta, mean = rng.normal(size=2), rng.normal(size=2), rng.normal(size=2)
    variance = rng.uniform(0.1, 2.0, 2)
    expected = gamma * (conv3x3(x, kernel, True) + bias - mean) / np.sqrt(variance + 1e-3) + beta
    folded_kernel, folded_bias = fold_batch_norm(kernel, bias, gamma, beta, mean, variance, 1e-3)
    np.testing.assert_allclose(conv3x3(x, folded_kernel, True) + folded_bias, expected, atol=1e-4)

    features = rng.normal(size=(4, 6, 2))  # a full-resolution map, 2 channels
    pixels, frames, strength = rng.normal(size=(4, 6, 1)), rng.normal(size=(1, 6, 1)), rng.normal(size=2)
    noisy = features + pixels * strength + frames * 2 * strength
    subpixel = (space_to_depth(features)
                + space_to_depth(pixels) @ subpixel_noise_kernel(strength)[0, 0]
                + frames.reshape(1, 3, 2) @ subpixel_frame_noise_kernel(2 * strength)[0, 0])
    np.testing.assert_allclose(depth_to_space(subpixel), noisy, atol=1e-5)
    np.testing.assert_allclose(depth_to_space(np.broadcast_to(subpixel_bias(bias), (1, 1, 8))),
                               np.broadcast_to(bias, (2, 2, 2)), rtol=1e-6)


def test_depth_to_space_layer_matches_the_reference():
    x = np.random.default_rng(1).normal(size=(2, 3, 5, 8)).astype(np.float32)
    spread = np.asarray(DepthToSpace()(x))
    np.testing.assert_array_equal(spread[1], depth_to_space(x[1]))
    np.testing.assert_array_equal(space_to_depth(spread[1]), x[1])


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(0, 8), st.integers(1, 3))
def test_carried_wrap_columns_make_unpadded_convolutions_circular(width, columns, axis):
    # A map wrapped by k columns, convolved without time padding, holds the circular
    # convolution with k - 1 columns still wrapped: what the folded form relies on.
    x = np.random.default_rng(width).normal(size=(1, 3, width, 2)).astype(np.float32)
    moved = np.moveaxis(x, 2, axis)
    wrapped = np.moveaxis(np.asarray(WrapTime(columns, axis=axis)(moved)), axis, 2)
    around = np.arange(-columns, width + columns) % width
    np.testing.assert_array_equal(wrapped[0], x[0][:, around])
    if columns:
        conv = SNConv2D(3, 3, spectral_norm=False, time_padding="none")
        conv.build(wrapped.shape)
        kernel = np.random.default_rng(0).normal(size=(3, 3, 2, 3)).astype(np.float32)
        conv.kernel.assign(kernel)
        expected = conv3x3(x[0], kernel, True)[:, around[1:-1]]
        np.testing.assert_allclose(np.asarray(conv(wrapped))[0], expected, atol=1e-4)


def test_folded_input_order_reads_pixel_noise_phase_by_phase():
    spec = SpectralSpec(n_fft=128, win_length=128, hop_length=32, n_frames=32)
    config = PRESETS["tiny"].replace(g_frame_noise=True)
    order = folded_input_order(spec, config)
    assert sorted(order) == list(range(generator_input_dim(spec, config)))
    np.testing.assert_array_equal(order[:config.latent_dim], np.arange(config.latent_dim))
    h, w = noise_shapes(spec, config)[0]
    start, quarter = config.latent_dim, (h // 2) * (w // 2)
    assert order[start + quarter + 1] == start + 3  # phase 1 of pixel (0, 1): (0, 3)
    assert order[start + 3 * quarter] == start + w + 1  # phase 3 of pixel (0, 0): (1, 1)
    np.testing.assert_array_equal(order[start + h * w:start + h * w + w],
                                  np.arange(start + h * w, start + h * w + w))  # frames
    unfolded = config.replace(g_upsample="bilinear")
    np.testing.assert_array_equal(folded_input_order(spec, unfolded),
                                  np.arange(generator_input_dim(spec, unfolded)))


@pytest.mark.parametrize("changes", [
    {},  # the tiny preset: circular time, noise on two levels, attention at level 1
    {"g_time_padding": "zero", "g_frame_noise": True, "g_attention_level": 0, "g_coarse": "dense"},
    {"g_attention_level": 5},  # the last level stays at full resolution for attention
])
def test_folded_generator_makes_the_trained_generators_images(changes):
    # A small spec (64 x 32 images) keeps attention at the finest level affordable.
    spec = SpectralSpec(n_fft=128, win_length=128, hop_length=32, n_frames=32)
    config = PRESETS["tiny"].replace(**changes)
    trained = build_generator(spec, config)
    rng = np.random.default_rng(2)
    for layer in trained.layers:  # batch statistics and noise strengths away from defaults
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, _, _ = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 2, gamma.shape), rng.normal(size=beta.shape),
                               rng.normal(size=beta.shape), rng.uniform(0.5, 2, beta.shape)])
        elif isinstance(layer, NoiseInjection):
            layer.set_strength(0.7)
    folded = inference_generator(trained, spec, config)
    assert any(layer.name.startswith("folded_conv") for layer in folded.layers)
    if config.g_time_padding == "circular":  # no convolution pads time: the maps carry it
        assert {layer.time_padding for layer in folded.layers
                if isinstance(layer, SNConv2D) and layer.kernel_size == 3} == {"none"}
    z = truncated_normal(rng, (3, generator_input_dim(spec, config)))
    np.testing.assert_allclose(np.asarray(folded(z[:, folded_input_order(spec, config)],
                                                 training=False)),
                               np.asarray(trained(z, training=False)), atol=2e-5)


def test_only_nearest_upsampling_folds():
    config = PRESETS["tiny"].replace(g_upsample="bilinear")
    with pytest.raises(ConfigError, match="nearest"):
        build_folded_generator(SpectralSpec(), config)
    trained = build_generator(SpectralSpec(), config)
    plain = inference_generator(trained, SpectralSpec(), config)  # the unfolded twin
    assert not any(layer.name.startswith("folded") for layer in plain.layers)
