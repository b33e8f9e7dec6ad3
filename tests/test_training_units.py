"""Unit tests of the training and export pieces, in process, on small shapes."""

import dataclasses
import json
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keras  # noqa: E402,F401  (the train extra is part of the test extra)

from raingan.core.errors import RainGANError  # noqa: E402
from raingan.runtime.latent import truncated_normal  # noqa: E402
from raingan.core.model_meta import ModelFormatError, ModelMetadata  # noqa: E402
from raingan.core.spec import SpectralSpec, article_spec  # noqa: E402
from raingan.training import losses  # noqa: E402
from raingan.training.config import PRESETS, ConfigError, TrainConfig  # noqa: E402
from raingan.training.corpus import CropSampler, load_corpus  # noqa: E402
from raingan.training.layers import NoiseInjection, SelfAttention, SNConv2D, SNDense  # noqa: E402
from raingan.training.models import (BN_MOMENTUM, build_discriminator,  # noqa: E402
                                     build_generator, coarse_shape, generator_input_dim,
                                     noise_shapes)

TINY = PRESETS["tiny"]


@settings(max_examples=30, deadline=None)
@given(threshold=st.floats(0.1, 4.0), seed=st.integers(0, 2**32 - 1))
def test_truncated_normal_stays_inside_and_repeats(threshold, seed):
    a = truncated_normal(np.random.default_rng(seed), (64, 8), threshold)
    b = truncated_normal(np.random.default_rng(seed), (64, 8), threshold)
    assert a.dtype == np.float32 and a.shape == (64, 8)
    assert np.all(np.abs(a) <= threshold)
    np.testing.assert_array_equal(a, b)


def test_truncated_normal_keeps_the_shape_of_a_normal_inside():
    z = truncated_normal(np.random.default_rng(0), (200_000,), 1.0)
    # Truncated to +-1 sigma the standard deviation is about 0.538 (not 1: no clipping).
    assert abs(z.std() - 0.538) < 0.01
    assert np.mean(np.abs(z) > 0.99) < 0.01  # no pile-up at the threshold
    with pytest.raises(ValueError):
        truncated_normal(np.random.default_rng(0), (3,), 0.0)


def test_metadata_round_trips_and_refuses_other_versions():
    meta = ModelMetadata(spec=SpectralSpec(), latent_dim=32, truncation=2.5,
                         data_fingerprint="ab" * 32, step=1200, training={"loss": "hinge"})
    props = meta.to_props()
    assert all(isinstance(v, str) for v in props.values())
    assert ModelMetadata.from_props(props) == meta
    with pytest.raises(ModelFormatError, match="version 99 is not supported"):
        ModelMetadata.from_props({**props, "raingan.format_version": "99"}, "m.onnx")
    with pytest.raises(ModelFormatError, match="not a RainGAN model"):
        ModelMetadata.from_props({"producer": "someone"}, "m.onnx")
    with pytest.raises(ModelFormatError, match="damaged"):
        ModelMetadata.from_props({k: v for k, v in props.items() if k != "raingan.latent_dim"})
    drifting = dataclasses.replace(meta, drifting_dims=24)
    assert ModelMetadata.from_props(drifting.to_props()) == drifting
    with pytest.raises(ModelFormatError, match="drifting_dims 40"):
        ModelMetadata.from_props({**props, "raingan.drifting_dims": "40"})


def test_config_validates_and_round_trips():
    assert TrainConfig.from_dict(json.loads(json.dumps(TINY.to_dict()))) == TINY
    with pytest.raises(ConfigError, match="loss"):
        TINY.replace(loss="least-squares")
    with pytest.raises(ConfigError, match="attention"):
        TINY.replace(g_attention_level=9)
    with pytest.raises(ConfigError, match="unknown"):
        TrainConfig.from_dict({**TINY.to_dict(), "dropout": 0.1})


def test_spectral_norm_brings_the_largest_singular_value_to_one():
    keras.utils.set_random_seed(0)  # convergence speed depends on the initial kernel
    layer = SNDense(24)
    x = np.random.default_rng(0).standard_normal((4, 40)).astype(np.float32)
    layer(x)
    layer.kernel.assign(layer.kernel.numpy() * 7.0)
    for _ in range(30):  # each training call is one power iteration
        layer(x, training=True)
    assert np.linalg.svd(layer.normalized_kernel(), compute_uv=False)[0] == pytest.approx(1, abs=1e-3)
    conv = SNConv2D(6, 3)
    conv(np.zeros((1, 8, 8, 5), np.float32))
    first = np.linalg.svd(conv.normalized_kernel().reshape(-1, 6), compute_uv=False)[0]
    for _ in range(200):  # power iteration converges as (s2 / s1) ** k: slowly for close values
        conv(np.zeros((1, 8, 8, 5), np.float32), training=True)
    matrix = conv.normalized_kernel().reshape(-1, 6)
    last = np.linalg.svd(matrix, compute_uv=False)[0]
    assert abs(last - 1) < abs(first - 1) and last == pytest.approx(1, abs=5e-3)


def test_self_attention_starts_as_identity_and_mixes_positions_once_trained():
    x = np.random.default_rng(1).standard_normal((2, 4, 6, 16)).astype(np.float32)
    block = SelfAttention(16)
    np.testing.assert_allclose(block(x), x, atol=1e-6)
    for _ in range(5):  # settle the spectral-norm estimates
        block(x, training=True)
    block.gamma.assign(1.0)
    y = np.asarray(block(x))
    x2 = x.copy()
    x2[:, 0, 0, :] += 1.0  # one position changes every output position
    changed = np.abs(np.asarray(block(x2)) - y).max(axis=-1)
    assert np.all(changed[:, 1:, 1:] > 0)


@pytest.mark.parametrize("spec", [SpectralSpec(), article_spec()], ids=["default", "article"])
def test_models_follow_the_spec_image(spec):
    generator = build_generator(spec, TINY)
    discriminator = build_discriminator(spec, TINY)
    z = np.zeros((3, generator_input_dim(spec, TINY)), np.float32)
    images = np.asarray(generator(z))
    assert images.shape == (3, *spec.image_shape)
    assert np.all(np.abs(images) <= 1)
    assert np.asarray(discriminator(images[..., None])).shape == (3, 1)


def test_image_sizes_the_generator_cannot_reach_are_refused():
    with pytest.raises(ConfigError, match="not divisible"):
        coarse_shape(SpectralSpec(n_frames=100), TINY)


def test_losses_on_known_logits():
    real, fake = np.array([[2.0], [0.5]]), np.array([[-2.0], [0.0]])
    hinge = float(losses.discriminator_loss("hinge", real, fake))
    assert hinge == pytest.approx(np.mean([0, 0.5]) + np.mean([0, 1]))
    ns = float(losses.discriminator_loss("nonsaturating", real, fake))
    softplus = lambda v: np.log1p(np.exp(v))  # noqa: E731
    assert ns == pytest.approx(np.mean(softplus(-real)) + np.mean(softplus(fake)), rel=1e-6)
    assert float(losses.generator_loss("hinge", fake)) == pytest.approx(1.0)
    assert float(losses.generator_loss("nonsaturating", fake)) == pytest.approx(
        np.mean(softplus(-fake)), rel=1e-6)
    unit = np.zeros((2, 3, 3, 1), np.float32)
    unit[:, 0, 0, 0] = 1.0  # gradients of norm exactly 1: no penalty
    assert float(losses.gradient_penalty(unit)) == pytest.approx(0.0, abs=1e-6)


def test_crops_depend_only_on_seed_step_and_stream(tmp_path):
    import soundfile as sf

    rng = np.random.default_rng(0)
    sf.write(tmp_path / "a.wav", 0.1 * rng.standard_normal((60_000, 2)), 44_100)
    spec = SpectralSpec()
    corpus = load_corpus(tmp_path, spec)
    sampler = CropSampler(corpus, spec, 3, 8, 2.0, 6.0, seed=5)
    a, b = sampler.batch(10), sampler.batch(10)
    np.testing.assert_array_equal(a.real, b.real)
    np.testing.assert_array_equal(a.z_g, b.z_g)
    assert a.real.shape == (3, *spec.image_shape, 1)
    assert np.all(np.abs(a.z_d) <= 2.0)
    assert not np.array_equal(sampler.batch(11).real, a.real)
    assert not np.array_equal(sampler.batch(10, stream=1).real, a.real)
    streams = sampler.batches(7, range(2))
    np.testing.assert_array_equal(next(streams).real, sampler.batch(7, 0).real)
    np.testing.assert_array_equal(next(streams).real, sampler.batch(7, 1).real)


def test_train_fraction_keeps_only_the_head(tmp_path):
    import soundfile as sf

    sf.write(tmp_path / "a.wav", 0.1 * np.ones((88_200, 1)), 44_100)
    spec = SpectralSpec()
    corpus = load_corpus(tmp_path, spec, train_fraction=0.5)
    assert corpus.signals[0].shape[0] == 44_100
    assert load_corpus(tmp_path, spec).fingerprint != corpus.fingerprint
    with pytest.raises(RainGANError, match="fraction"):
        load_corpus(tmp_path, spec, train_fraction=0.0)


def test_export_refuses_a_model_that_fails_parity_float_or_int8(tmp_path, monkeypatch):
    import soundfile as sf

    from raingan.export import onnx_export
    from raingan.training.train import TrainRequest, train

    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    sf.write(data / "a.wav", 0.1 * rng.standard_normal((50_000, 1)), 44_100)
    result = train(TrainRequest(data, tmp_path / "run", preset="tiny", steps=2,
                                overrides={"eval_every": 0}, progress=False))
    good = onnx_export.export_model(tmp_path / "run", tmp_path / "good.onnx", colour_seconds=0)
    assert good.max_abs_difference <= onnx_export.PARITY_ATOL and good.step == result.step
    # int8: integer convolutions (QDQ) in the graph, near the float model, its metadata kept.
    int8 = onnx_export.export_model(tmp_path / "run", tmp_path / "int8.onnx", colour_seconds=0,
                                    int8=True)
    assert 0 < int8.int8_mean_difference <= onnx_export.INT8_MEAN_ATOL
    import onnx

    from raingan.runtime.generator import Generator

    from raingan.export.quantize import finest_convolutions

    graph = onnx.load(str(int8.path)).graph
    ops = {node.op_type for node in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    # Only the finest level's convolutions read dequantized (int8) kernels; coarser stay float.
    dequantized = {node.output[0] for node in graph.node if node.op_type == "DequantizeLinear"}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    quantized_convs = {node.name for node in convs if node.input[1] in dequantized}
    shaped = onnx.shape_inference.infer_shapes(onnx.load(str(good.path)))
    assert len(convs) > len(quantized_convs) == len(finest_convolutions(shaped)) > 0
    quantized, plain = Generator(int8.path, device="cpu"), Generator(good.path, device="cpu")
    assert quantized.metadata.training["quantization"].startswith("int8")
    assert "quantization" not in plain.metadata.training
    assert quantized.metadata.intensity == plain.metadata.intensity
    latents = plain.latents(np.random.default_rng(1), 3)
    assert 0 < np.abs(quantized.images(latents) - plain.images(latents)).mean() < 0.03
    monkeypatch.setattr(onnx_export, "INT8_MEAN_ATOL", -1.0)
    with pytest.raises(onnx_export.ExportError, match="without --int8; nothing was written"):
        onnx_export.export_model(tmp_path / "run", tmp_path / "bad.onnx", colour_seconds=0,
                                 int8=True)
    monkeypatch.setattr(onnx_export, "PARITY_ATOL", -1.0)  # no export can meet this
    with pytest.raises(onnx_export.ExportError, match="nothing was written"):
        onnx_export.export_model(tmp_path / "run", tmp_path / "bad.onnx", colour_seconds=0)
    assert not (tmp_path / "bad.onnx").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_column_latents_give_every_time_column_the_same_weights():
    from raingan.training.layers import ColumnLatents

    z = np.arange(2 * 16, dtype=np.float32).reshape(2, 16)
    columns = np.asarray(ColumnLatents(4)(z))
    assert columns.shape == (2, 4, 8 + 2)
    np.testing.assert_array_equal(columns[:, :, :8], np.repeat(z[:, None, :8], 4, axis=1))
    np.testing.assert_array_equal(columns[:, 2, 8:], z[:, 12:14])
    assert TrainConfig.from_dict({k: v for k, v in TINY.to_dict().items()
                                  if k != "g_coarse"}).g_coarse == "dense"  # older runs
    with pytest.raises(ConfigError, match="g_coarse"):
        TINY.replace(g_coarse="conv")


@pytest.mark.parametrize("upsample", ["nearest", "bilinear", "time-linear"])
def test_circular_time_padding_makes_the_generator_treat_every_column_alike(upsample):
    # Rolling the per-column latents by one coarse column must roll the image by the same
    # time span, edges included: then no place in a chunk can carry a repeated pattern.
    spec = SpectralSpec()
    config = TINY.replace(g_coarse="columns", g_time_padding="circular", g_upsample=upsample,
                          g_frame_noise=True)
    generator = build_generator(spec, config)
    _strengthen_noise(generator)
    _, coarse_width = coarse_shape(spec, config)
    own = (config.latent_dim // 2) // coarse_width
    shared = config.latent_dim - own * coarse_width
    z = np.random.default_rng(3).standard_normal((2, generator_input_dim(spec, config)))
    z = z.astype(np.float32)
    rolled = z.copy()
    rolled[:, shared:config.latent_dim] = np.roll(z[:, shared:config.latent_dim], own, axis=1)
    offset = config.latent_dim
    for h, w in noise_shapes(spec, config):  # noise rolls by the same time span
        maps = z[:, offset:offset + h * w].reshape(2, h, w)
        rolled[:, offset:offset + h * w] = np.roll(maps, w // coarse_width, axis=2).reshape(2, -1)
        frames = slice(offset + h * w, offset + h * w + w)
        rolled[:, frames] = np.roll(z[:, frames], w // coarse_width, axis=1)
        offset += h * w + w
    image, image_rolled = (np.asarray(generator(v, training=False)) for v in (z, rolled))
    step_frames = spec.image_shape[1] // coarse_width
    np.testing.assert_allclose(image_rolled, np.roll(image, step_frames, axis=2), atol=1e-5)

    zero_padded = build_generator(spec, config.replace(g_time_padding="zero"))
    zero_padded.set_weights(generator.get_weights())
    image, image_rolled = (np.asarray(zero_padded(v, training=False)) for v in (z, rolled))
    assert not np.allclose(image_rolled, np.roll(image, step_frames, axis=2), atol=1e-5)

    assert TrainConfig.from_dict({k: v for k, v in TINY.to_dict().items()
                                  if k != "g_time_padding"}).g_time_padding == "zero"
    with pytest.raises(ConfigError, match="g_time_padding"):
        TINY.replace(g_time_padding="reflect")


def _strengthen_noise(generator, strength: float = 1.0) -> int:
    """Give every noise input a non-zero strength (they start at zero); returns how many."""
    layers = [layer for layer in generator.layers if isinstance(layer, NoiseInjection)]
    for layer in layers:
        layer.set_strength(strength)
    return len(layers)


def test_noise_inputs_add_fine_randomness_from_the_input_tail():
    spec = SpectralSpec()
    config = TINY.replace(g_noise_levels=2, g_frame_noise=True)
    shapes = noise_shapes(spec, config)
    height, width = spec.image_shape
    assert shapes == [(height // 2, width // 2), (height, width)]
    assert generator_input_dim(spec, config) == config.latent_dim + sum(h * w + w
                                                                        for h, w in shapes)
    generator = build_generator(spec, config)
    z = np.random.default_rng(0).standard_normal((2, generator_input_dim(spec, config)))
    z = z.astype(np.float32)
    other_noise = z.copy()
    other_noise[:, config.latent_dim:] = np.random.default_rng(1).standard_normal(
        other_noise[:, config.latent_dim:].shape)

    def images(v):
        return np.asarray(generator(v, training=False))

    assert _strengthen_noise(generator, 0.0) == 2  # without strength, noise is ignored
    np.testing.assert_array_equal(images(z), images(other_noise))
    _strengthen_noise(generator, 0.5)
    first, second = images(z), images(other_noise)
    np.testing.assert_array_equal(first, images(z))  # the same input, the same image
    difference = np.abs(first - second)
    assert difference.mean() > 1e-3
    # The noise changes fine detail, not the picture: frame-to-frame differences of the
    # change are as large as the change itself.
    assert np.abs(np.diff(first - second, axis=2)).mean() > 0.5 * difference.mean()

    # Frame noise: one value per frame moves every row of that frame alike.
    h, w = shapes[-1]
    frames = slice(generator_input_dim(spec, config) - w, None)
    one_frame = z.copy()
    one_frame[:, frames] = 0.0
    one_frame[:, frames.start + 40] = 3.0
    silent_frames = z.copy()
    silent_frames[:, frames] = 0.0
    change = np.abs(images(one_frame) - images(silent_frames)).mean(axis=1)  # (batch, frames)
    assert np.all(change[:, 39:42].min(axis=1) > 1e-3)  # the frame and its 3x3 neighbours
    assert np.all(change[:, :38] == 0) and np.all(change[:, 43:] == 0)

    assert build_generator(spec, TINY.replace(g_noise_levels=0)).input_shape == (
        None, config.latent_dim)
    assert generator_input_dim(spec, config.replace(g_frame_noise=False)) == (
        config.latent_dim + sum(h * w for h, w in shapes))
    with pytest.raises(ConfigError, match="g_noise_levels"):
        TINY.replace(g_noise_levels=len(TINY.g_channels))
    older = {k: v for k, v in TINY.to_dict().items()
             if k not in ("g_noise_levels", "g_frame_noise")}
    assert TrainConfig.from_dict(older).g_noise_levels == 0  # runs from before noise inputs
    assert not TrainConfig.from_dict(older).g_frame_noise and not TINY.g_frame_noise


def test_smooth_upsampling_interpolates_and_wraps_time():
    from raingan.training.layers import SmoothUpsample2D

    x = np.zeros((1, 2, 4, 1), np.float32)
    x[0, :, :, 0] = [[0, 4, 8, 4], [0, 4, 8, 4]]
    wrapped = np.asarray(SmoothUpsample2D(circular_time=True)(x))[0, 0, :, 0]
    np.testing.assert_allclose(wrapped, [1, 1, 3, 5, 7, 7, 5, 3])  # x[-1] = 4 precedes x[0]
    rows_copied = np.asarray(SmoothUpsample2D(smooth_frequency=False)(x))[0, :, :, 0]
    np.testing.assert_allclose(rows_copied[0], rows_copied[3])
    edged = np.asarray(SmoothUpsample2D()(x))[0, 0, :, 0]
    np.testing.assert_allclose(edged[:2], [0, 1])
    assert np.asarray(SmoothUpsample2D()(x)).shape == (1, 4, 8, 1)
    assert TrainConfig.from_dict({k: v for k, v in TINY.to_dict().items()
                                  if k != "g_upsample"}).g_upsample == "nearest"  # older runs


def test_weight_average_ramps_up_and_averages():
    from raingan.training.average import average_decay

    assert average_decay(0.999, 0) == pytest.approx(0.1)
    assert average_decay(0.999, 90) == pytest.approx(91 / 100)
    assert average_decay(0.999, 10**6) == 0.999
    with pytest.raises(ConfigError, match="g_average_decay"):
        TINY.replace(g_average_decay=1.0)
    older = {k: v for k, v in TINY.to_dict().items() if k != "g_average_decay"}
    assert TrainConfig.from_dict(older).g_average_decay == 0.0  # runs from before: none


def test_weight_average_tracks_the_weights_and_measures_its_own_statistics():
    from raingan.training.average import GeneratorAverage, average_decay

    spec = SpectralSpec()
    config = TINY.replace(g_noise_levels=1)
    keras.utils.set_random_seed(0)
    raw, averaged = build_generator(spec, config), build_generator(spec, config)
    average = GeneratorAverage(averaged, 0.5, config.truncation, seed=3)
    start = [np.asarray(v.value) for v in raw.trainable_variables]
    average.start_from(start)
    shifted = [w + 1.0 for w in start]
    average.update(shifted, step=0)  # decay 0.1: mostly the new weights
    average.update(shifted, step=100)  # decay 0.5 (capped)
    expected = 1.0 - average_decay(0.5, 0) * average_decay(0.5, 100)
    for got, first in zip(average.values, start):
        np.testing.assert_allclose(got - first, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="do not fit"):
        average.update(shifted[1:], step=1)
    # An average begun later (a resumed run turning it on) ramps from its own first step.
    average.start_from(start, step=100)
    average.update(shifted, step=100)
    for got, first in zip(average.values, start):
        np.testing.assert_allclose(got - first, 1.0 - average_decay(0.5, 0), rtol=1e-5)
    assert average.first_step == 100

    fixed = [np.asarray(v.value) for v in raw.non_trainable_variables]
    model = average.materialise(fixed, step=7)
    for variable, value in zip(model.trainable_variables, average.values):
        np.testing.assert_array_equal(np.asarray(variable.value), value)
    norm = next(layer for layer in model._flatten_layers()
                if isinstance(layer, keras.layers.BatchNormalization))
    assert norm.momentum == BN_MOMENTUM  # restored after the measurement
    # Batch norm now holds the averaged weights' statistics, not the raw model's start values.
    measured = np.array(norm.moving_variance.value)
    assert not np.allclose(measured, fixed_variance(raw))
    average.materialise(fixed, step=7)
    np.testing.assert_array_equal(np.asarray(norm.moving_variance.value), measured)  # repeatable


def test_mean_generator_holds_the_mean_weights_and_its_own_statistics():
    from raingan.training.average import mean_generator

    spec = SpectralSpec()
    config = TINY.replace(g_noise_levels=1)
    keras.utils.set_random_seed(0)
    model = build_generator(spec, config)
    start = [np.asarray(v.value) for v in model.trainable_variables]
    fixed = [np.asarray(v.value) for v in model.non_trainable_variables]
    sets = [[w + k for w in start] for k in (0.0, 1.0, 5.0)]
    mean_generator(model, sets, fixed, config.truncation, seed=1)
    for variable, first in zip(model.trainable_variables, start):
        np.testing.assert_allclose(np.asarray(variable.value) - first, 2.0, rtol=1e-5)
    assert not np.allclose(fixed_variance(model), fixed_variance(build_generator(spec, config)))
    with pytest.raises(ValueError, match="do not fit"):
        mean_generator(model, [sets[0][1:]], fixed, config.truncation, seed=1)
    with pytest.raises(ValueError, match="no generators"):
        mean_generator(model, [], fixed, config.truncation, seed=1)


def fixed_variance(model) -> np.ndarray:
    norm = next(layer for layer in model._flatten_layers()
                if isinstance(layer, keras.layers.BatchNormalization))
    return np.asarray(norm.moving_variance.value)


@pytest.mark.parametrize("with_tensorflow", [True, False])
def test_run_log_writes_tensorboard_scalars_with_or_without_tensorflow(with_tensorflow, tmp_path,
                                                                       monkeypatch):
    # A JAX run on a machine without TensorFlow still gets its curves in TensorBoard.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    from raingan.training.monitor import RunLog, read_metrics

    if not with_tensorflow:
        monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` now fails
    run_log = RunLog(tmp_path)
    assert (run_log._writer is not None) == with_tensorflow
    for step, loss in [(1, 1.5), (2, 0.25)]:
        run_log.scalars(step, {"d_loss": loss, "g_loss": -loss})
    run_log.audio(2, "sample", np.zeros(4800, np.float32), 48_000)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert set(events.Tags()["tensors"]) >= {"d_loss", "g_loss"}
    logged = [(e.step, float(make_ndarray(e.tensor_proto))) for e in events.Tensors("d_loss")]
    assert logged == [(1, 1.5), (2, 0.25)]
    assert ("sample" in events.Tags()["audio"] + events.Tags()["tensors"]) == with_tensorflow
    assert [m["g_loss"] for m in read_metrics(tmp_path)] == [-1.5, -0.25]


def test_r1_penalty_is_the_mean_squared_gradient_norm():
    gradients = np.zeros((2, 3, 3, 1), np.float32)
    gradients[0, 0, 0, 0], gradients[1, 1, 2, 0] = 3.0, 4.0
    assert float(losses.r1_penalty(gradients)) == pytest.approx((9.0 + 16.0) / 2)
    assert float(losses.r1_penalty(np.zeros_like(gradients))) == 0.0


@pytest.mark.parametrize("loss", ["hinge", "nonsaturating"])
def test_the_r1_term_is_the_discriminators_gradient_at_the_real_crops(loss):
    import tensorflow as tf

    from raingan.training.step import TensorFlowStep

    config = PRESETS["stream-tiny"].replace(loss=loss, d_r1_weight=5.0)
    spec = SpectralSpec()
    keras.utils.set_random_seed(3)
    G, D = build_generator(spec, config), build_discriminator(spec, config)
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (4, *spec.image_shape, 1)).astype(np.float32)
    z = rng.standard_normal((4, generator_input_dim(spec, config))).astype(np.float32)
    mix = np.zeros((4, 1, 1, 1), np.float32)
    # What the step should find, with D's weights before its update (its spectral norm's
    # power iteration has converged enough after a few calls to agree to a percent).
    for _ in range(20):
        D(real, training=True)
    x = tf.constant(real)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.reduce_sum(D(x, training=True))
    expected = float(losses.r1_penalty(tape.gradient(score, x)))
    step = TensorFlowStep(G, D, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4), config)
    metrics = step((tf.constant(real), tf.constant(z), tf.constant(z), tf.constant(mix)))
    assert expected > 0 and metrics["d_r1"] == pytest.approx(expected, rel=0.02)
    unpenalised = TensorFlowStep(G, D, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4),
                                 config.replace(d_r1_weight=0.0))
    assert unpenalised((tf.constant(real), tf.constant(z), tf.constant(z),
                        tf.constant(mix)))["d_r1"] == 0.0


def test_the_r1_weight_and_speckle_drops_are_checked_and_older_runs_had_neither():
    with pytest.raises(ConfigError, match="d_r1_weight"):
        PRESETS["stream-tiny"].replace(d_r1_weight=-1.0)
    with pytest.raises(ConfigError, match="d_r1_weight"):
        PRESETS["stream-tiny"].replace(d_r1_weight=float("nan"))
    from raingan.training.config import RESUMABLE_FIELDS
    assert "d_r1_weight" in RESUMABLE_FIELDS
    older = TrainConfig.from_dict({})  # runs saved before either existed had neither
    assert older.d_r1_weight == 0.0 and older.stream_speckle_drops is False
    with pytest.raises(ConfigError, match="select_every"):
        PRESETS["stream-tiny"].replace(select_every=-1)
    with pytest.raises(ConfigError, match="stream_speckle_drops"):
        PRESETS["stream-tiny"].replace(stream_speckle_drops="yes")


def test_diff_augment_transforms_real_and_generated_alike_and_passes_gradients():
    import tensorflow as tf

    from raingan.training.streaming import DiffAugment, build_stream_discriminator

    spec = PRESETS["stream-tiny"]
    layer = DiffAugment(level=0.1, crop_frames=4, cutout=0.25, seed=3)
    images = tf.random.uniform((3, 32, 20, 1), -0.5, 0.5, seed=1)
    np.testing.assert_array_equal(layer(images, training=False), images[:, :, :16])
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = layer(images, training=True)
        total = tf.reduce_sum(out)
    assert out.shape == (3, 32, 16, 1)
    # A level shift within +-0.1 on what was kept, zeros where cut out.
    kept = out.numpy() != 0.0
    assert 0.0 < 1.0 - kept.mean() < 0.1  # up to a quarter of the rows by a quarter of the frames
    gradient = tape.gradient(total, images).numpy()
    assert set(np.unique(gradient)) <= {0.0, 1.0} and gradient.sum() == kept.sum()
    again = layer(images, training=True)
    assert not np.array_equal(again.numpy(), out.numpy())  # drawn anew each call
    # In the stream discriminator only when asked; older runs had none.
    assert TrainConfig.from_dict({}).d_augment is False
    with pytest.raises(ConfigError, match="d_augment"):
        spec.replace(d_augment="yes")
    with pytest.raises(ConfigError, match="d_augment"):
        PRESETS["cpu"].replace(d_augment=True)
    sd = SpectralSpec()
    on = build_stream_discriminator(sd, spec.replace(d_augment=True))
    off = build_stream_discriminator(sd, spec)
    assert any(isinstance(l, DiffAugment) for l in on.layers)
    assert not any(isinstance(l, DiffAugment) for l in off.layers)
