"""Unit tests of the streaming architecture's training side, in process, on small shapes."""

import json

import numpy as np
import pytest

import keras  # noqa: F401  (the train extra is part of the test extra)

from raingan.core.mel import band_smoothing
from raingan.core.model_meta import FieldLayout, ModelFormatError, ModelMetadata
from raingan.core.speckle import Drops, excitation, frame_power_weights, speckle_db
from raingan.core.spec import SpectralSpec
from raingan.training.config import PRESETS, ConfigError, TrainConfig
from raingan.training.models import build_discriminator, build_generator, generator_input_dim
from raingan.training.streaming import (Speckle, WindowSmoothing, band_interpolation,
                                        context_frames, field_channels, field_generator_of,
                                        field_layout)

TINY = PRESETS["stream-tiny"]


def test_stream_config_validates_and_round_trips():
    assert TrainConfig.from_dict(json.loads(json.dumps(TINY.to_dict()))) == TINY
    assert TrainConfig.from_dict({k: v for k, v in PRESETS["cpu"].to_dict().items()
                                  if k != "architecture"}).architecture == "chunk"
    with pytest.raises(ConfigError, match="architecture"):
        TINY.replace(architecture="wavenet")
    with pytest.raises(ConfigError, match="stream_dilations"):
        TINY.replace(stream_dilations=(1, 0))
    with pytest.raises(ConfigError, match="field_bands"):
        TINY.replace(field_bands=-1)
    with pytest.raises(ConfigError, match="adversarially only"):
        TINY.replace(g_texture_weight=1.0)
    for passes in (-1, 99):
        with pytest.raises(ConfigError, match="field_band_smoothing"):
            TINY.replace(field_band_smoothing=passes)
    # Runs saved before the smoothing existed trained without it.
    older = {k: v for k, v in TINY.to_dict().items() if k != "field_band_smoothing"}
    assert TrainConfig.from_dict(older).field_band_smoothing == 0


def test_the_generator_reads_a_field_and_needs_context_on_both_sides():
    spec = SpectralSpec()
    generator = build_generator(spec, TINY)
    z = np.random.default_rng(0).standard_normal((2, generator_input_dim(spec, TINY)))
    images = np.asarray(generator(z.astype(np.float32), training=False))
    assert images.shape == (2, *spec.image_shape) and np.all(np.abs(images) <= 1)
    assert np.asarray(build_discriminator(spec, TINY)(images[..., None])).shape == (2, 1)
    field_model, context = field_generator_of(generator), context_frames(spec, TINY)
    assert context == sum(TINY.stream_dilations) + 2
    field = np.random.default_rng(1).standard_normal((1, 200, field_channels(TINY)))
    whole = np.asarray(field_model(field.astype(np.float32)))
    assert whole.shape == (1, spec.image_shape[0], 200 - 2 * context)
    # A frame depends on the field within its context and on nothing further away.
    changed = field.copy()
    changed[0, 100] += 5.0
    moved = np.abs(np.asarray(field_model(changed.astype(np.float32))) - whole).max(axis=1)[0]
    touched = np.flatnonzero(moved > 1e-6) + context
    assert touched.min() >= 100 - context and touched.max() <= 100 + context
    assert touched.size > 0


def test_band_interpolation_is_smooth_and_convex():
    spec = SpectralSpec()
    rows = band_interpolation(spec, 64)
    assert rows.shape == (64, spec.image_shape[0])
    np.testing.assert_allclose(rows.sum(axis=0), 1.0, atol=1e-5)
    assert rows.min() >= 0.0
    # Above 2 kHz a band spans several rows: neighbouring rows take nearly the same mix, so
    # no row can stand out from its neighbours (a tonal line).
    high = rows[:, spec.image_row_hz() > 2000.0]
    assert np.abs(np.diff(high, axis=1)).max() < 0.5
    assert ((high > 0).sum(axis=0) <= 2).all()


def test_band_smoothing_removes_a_band_to_band_zigzag_and_keeps_levels_in_range():
    bands = 32
    assert np.array_equal(band_smoothing(bands, 0), np.eye(bands, dtype=np.float32))
    smoothing = band_smoothing(bands, 2)
    np.testing.assert_allclose(smoothing.sum(axis=0), 1.0, atol=1e-6)
    assert smoothing.min() >= 0.0 and np.count_nonzero(smoothing[:, bands // 2]) == 5
    zigzag = np.where(np.arange(bands) % 2 == 0, 1.0, -1.0)
    assert np.abs((zigzag @ smoothing)[2:-2]).max() < 1e-6
    np.testing.assert_allclose(np.full(bands, -0.7) @ smoothing, -0.7, atol=1e-6)
    edge = np.where(np.arange(bands) < bands // 2, 1.0, -1.0) @ smoothing
    assert np.all(np.diff(edge) <= 1e-7) and edge[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="passes"):
        band_smoothing(bands, -1)


def test_smoothed_band_interpolation_is_the_plain_one_after_the_band_blend():
    spec = SpectralSpec()
    rows = band_interpolation(spec, 64, 2)
    np.testing.assert_allclose(rows.sum(axis=0), 1.0, atol=1e-5)
    assert rows.min() >= 0.0
    np.testing.assert_allclose(rows, band_smoothing(64, 2) @ band_interpolation(spec, 64),
                               atol=1e-6)
    levels = np.random.default_rng(0).uniform(-1, 1, (3, 64)).astype(np.float32)
    assert np.abs(levels @ rows).max() <= 1.0


def test_speckle_is_added_in_training_only_as_the_runtime_adds_it():
    spec = SpectralSpec()
    layer = Speckle(spec.to_json())
    means = np.zeros((4, *spec.image_shape), np.float32)
    assert np.array_equal(np.asarray(layer(means, training=False)), means)
    trained = (np.asarray(layer(means, training=True)) * spec.db_per_image_unit)[:, 4:]
    noise = np.random.default_rng(0).standard_normal(
        (spec.n_frames * 4 - 1) * spec.hop_length + spec.win_length).astype(np.float32)
    runtime = speckle_db(noise, spec)[4:]

    def statistics(speckle):
        return (float(speckle.mean()), float(speckle.std()),
                np.corrcoef(speckle[..., :-1].ravel(), speckle[..., 1:].ravel())[0, 1],
                np.corrcoef(speckle[..., :-1, :].ravel(), speckle[..., 1:, :].ravel())[0, 1])

    np.testing.assert_allclose(statistics(trained), statistics(runtime), atol=0.05)


def test_the_training_speckle_holds_the_runs_drops_as_the_runtimes_does():
    spec = SpectralSpec()
    rows = spec.image_shape[0]
    drops = Drops(rate_hz=60.0, share=0.5)
    layer = Speckle(spec.to_json())
    layer.set_drops(drops)
    means = np.zeros((8, *spec.image_shape), np.float32)
    assert np.array_equal(np.asarray(layer(means, training=False)), means)

    def trained_frames():  # (batch, rows, frames) -> (frames, rows) dB, edge frames left out
        images = np.asarray(layer(means, training=True)).transpose(0, 2, 1)[:, 4:-4]
        return (images * spec.db_per_image_unit).reshape(-1, rows)

    def runtime_frames(with_drops):  # the runtime's speckle, (rows, frames) -> (frames, rows)
        n = (spec.n_frames * 8 - 1) * spec.hop_length + spec.win_length
        noise = excitation(np.random.default_rng(0), n, with_drops, spec.sample_rate_hz)
        return speckle_db(noise, spec).T[4:-4]

    def frame_spread(speckle):
        # A click lifts every row of the frames whose windows hold it: broadband frames.
        return float(speckle.mean(axis=-1).std())

    clicky, gaussian = frame_spread(runtime_frames(drops)), frame_spread(runtime_frames(None))
    assert clicky > 1.5 * gaussian
    assert frame_spread(trained_frames()) == pytest.approx(clicky, rel=0.15)
    layer.set_drops(None)
    assert frame_spread(trained_frames()) == pytest.approx(gaussian, rel=0.15)
    with pytest.raises(ValueError, match="tilt"):  # the runtime's alone, fitted at export
        layer.set_drops(Drops(60.0, 0.5, tilt_db_per_octave=2.0))


def test_field_layout_travels_in_the_metadata():
    layout = field_layout(SpectralSpec(), TINY)
    meta = ModelMetadata(spec=SpectralSpec(), latent_dim=layout.channels, truncation=3.0,
                         data_fingerprint="ab" * 32, step=10, field=layout,
                         drifting_dims=layout.global_dim)
    assert ModelMetadata.from_props(meta.to_props()) == meta
    with pytest.raises(ModelFormatError, match="field has"):
        ModelMetadata(spec=SpectralSpec(), latent_dim=layout.channels + 1, truncation=3.0,
                      data_fingerprint="ab" * 32, step=10, field=layout)
    with pytest.raises(ModelFormatError, match="damaged"):
        ModelMetadata.from_props({**meta.to_props(), "raingan.field": '{"global_dim": 2}'})
    with pytest.raises(ValueError, match="context_frames"):
        FieldLayout(2, 2, -1)


def test_window_smoothing_blends_frame_powers_as_the_window_does():
    spec = SpectralSpec()
    weights = frame_power_weights(spec)
    assert weights.shape == (5,) and abs(weights.sum() - 1.0) < 1e-12
    np.testing.assert_allclose(weights, weights[::-1])
    layer = WindowSmoothing(spec.to_json())
    flat = np.full((1, 20, 3), -0.2, np.float32)
    np.testing.assert_allclose(np.asarray(layer(flat)), -0.2, atol=1e-5)
    # A frame 30 dB above the rest lends each neighbour its share of power, and no more.
    spike = flat.copy()
    spike[0, 10] += 30.0 / spec.db_per_image_unit
    out_db = (np.asarray(layer(spike))[0, :, 0] + 0.2) * spec.db_per_image_unit
    expected_db = 10 * np.log10(1 + (1000.0 - 1.0) * weights[::-1])
    np.testing.assert_allclose(out_db[6:11], expected_db, atol=1e-2)
