"""The runtime's level smoothing of a streaming model (raingan.core.level_smoothing), its
place in the model's metadata, and its fit at export on the training crops' level spread."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from raingan.core.level_smoothing import level_pole, smooth_levels, smooth_levels_periodic
from raingan.core.model_meta import ModelFormatError, ModelMetadata
from raingan.core.spec import SpectralSpec
from raingan.export.level_fit import CANDIDATE_FRAMES, fit_level_smoothing, level_spread_off_db
from raingan.runtime.generator import load_model
from raingan.runtime.render import RenderSettings, render
from raingan.training.selection import level_spread_db

SPEC = SpectralSpec()


def test_smoothing_in_blocks_is_one_pass_and_keeps_a_steady_level():
    rng = np.random.default_rng(0)
    images = np.clip(rng.uniform(-0.6, 0.2, (SPEC.image_shape[0], 300)), -1, 1)
    pole = level_pole(8.0)
    whole, _ = smooth_levels(images, SPEC, pole)
    state, parts = None, []
    for block in np.split(images, [7, 120, 121], axis=1):
        part, state = smooth_levels(block, SPEC, pole, state)
        parts.append(part)
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, atol=1e-6)
    # Slower: the frame-to-frame spread of each row's level falls.
    assert np.diff(whole, axis=1).std() < 0.5 * np.diff(images, axis=1).std()
    steady = np.full((SPEC.image_shape[0], 50), -0.3)
    np.testing.assert_allclose(smooth_levels(steady, SPEC, pole)[0], steady, atol=1e-6)
    assert level_pole(0.0) == 0.0 and 0.0 < level_pole(1.0) < level_pole(16.0) < 1.0
    np.testing.assert_array_equal(smooth_levels(images, SPEC, 0.0)[0],
                                  images.astype(np.float32))


def test_periodic_smoothing_flows_from_the_last_frame_into_the_first():
    rng = np.random.default_rng(1)
    loop = rng.uniform(-0.6, 0.2, (SPEC.image_shape[0], 64))
    pole = level_pole(8.0)
    periodic = smooth_levels_periodic(loop, SPEC, pole)
    # As a stream that has run over the loop many times sees its next pass.
    state = None
    for _ in range(30):
        once, state = smooth_levels(loop, SPEC, pole, state)
    np.testing.assert_allclose(periodic, once, atol=1e-4)


def test_the_metadata_carries_the_time_constant_and_refuses_nonsense(tiny_stream_model):
    metadata = load_model(tiny_stream_model).metadata
    again = ModelMetadata.from_props(replace(metadata, level_smoothing_frames=16.0).to_props())
    assert again.level_smoothing_frames == 16.0
    assert "raingan.level_smoothing_frames" not in replace(
        metadata, level_smoothing_frames=0.0).to_props()  # older readers see nothing new
    with pytest.raises(ModelFormatError, match="level_smoothing_frames"):
        replace(metadata, level_smoothing_frames=-1.0)


def test_the_fit_picks_the_time_constant_whose_spread_is_the_trainings(tiny_stream_model):
    generator = load_model(tiny_stream_model)
    assert generator.level_smoothing_frames in CANDIDATE_FRAMES  # the export fitted one
    # A "training spread" that is the model's own at 8 frames: the fit must find 8.
    from raingan.export import level_fit

    images = []
    for seed in range(level_fit.FIT_SEEDS):
        stream = level_fit.FieldStream(level_fit._Smoothed(generator, 8.0),
                                       np.random.default_rng(seed), level_fit.FIT_CORRELATION,
                                       generator.metadata.truncation)
        images.append(stream.next_images(level_fit.FIT_CHUNKS)[0])
    own = level_spread_db(np.concatenate(images), generator.spec)
    frames, scores = fit_level_smoothing(generator, own)
    assert frames == 8.0 and scores[8.0] == pytest.approx(0.0, abs=1e-9)
    assert level_spread_off_db(generator, own, 0.0) == scores[0.0] > 0.0
    # And the stream renders with it.
    assert np.isfinite(render(generator, RenderSettings(seconds=1.0, seed=2)).samples).all()
