"""Colour calibration (export/colour_fit.py) and the colour gains in levelling and metadata."""

import dataclasses

import numpy as np
import pytest

from raingan.eval import cochlear, levels
from raingan.export import colour_fit as colour
from raingan.runtime.generator import Generator, default_model_path
from raingan.runtime.leveling import ChunkLeveller
from raingan.core.model_meta import ModelFormatError, ModelMetadata
from raingan.core.spec import SpectralSpec


def test_band_levels_read_a_gain_in_every_band_and_pool_by_duration(rng):
    noise = rng.standard_normal(44_100).astype(np.float32) * 0.1
    quiet = levels.band_levels_db([noise], 44_100)
    assert quiet.shape == (levels.COLOUR_BANDS.n_bands,)
    np.testing.assert_allclose(levels.band_levels_db([2.0 * noise], 44_100) - quiet,
                               20 * np.log10(2.0), atol=1e-6)
    # Two signals pool their envelopes: the level lies between theirs, nearer the longer one.
    pooled = levels.band_levels_db([noise, 2.0 * noise[:11_025]], 44_100)
    assert np.all(pooled > quiet + 0.1) and np.all(pooled < quiet + 3.0)


def test_row_gains_follow_the_bands_and_hold_beyond_them():
    spec = SpectralSpec()
    centres = cochlear.band_centres_hz(levels.COLOUR_BANDS)
    ramp = np.linspace(-6.0, 6.0, centres.size)
    rows = colour.row_gains_db(ramp, spec)
    hz = spec.image_row_hz()
    assert rows.shape == (spec.image_shape[0],)
    assert np.all(np.diff(rows) >= -1e-12)  # a rising ramp rises over the rows
    assert rows[0] == pytest.approx(-6.0) and rows[-1] == pytest.approx(6.0)
    middle = np.argmin(np.abs(hz - centres[15]))
    assert rows[middle] == pytest.approx(np.interp(
        cochlear.erb_number(hz[middle]), cochlear.erb_number(centres), ramp))
    np.testing.assert_allclose(colour.row_gains_db(np.full(centres.size, 2.5), spec), 2.5)


def test_heard_bands_leave_out_what_the_rate_or_the_reference_cannot_hold():
    band_db = np.zeros(levels.COLOUR_BANDS.n_bands)
    centres = cochlear.band_centres_hz(levels.COLOUR_BANDS)
    np.testing.assert_array_equal(colour.heard_bands(16_000, band_db), centres < 7_200)
    band_db[3] = -2000.0  # a silent band
    assert not colour.heard_bands(44_100, band_db)[3]
    assert colour.heard_bands(44_100, band_db).sum() == centres.size - 1


@pytest.fixture(scope="module")
def bundled() -> Generator:
    """The bundled model as it renders before its own colour gains."""
    generator = Generator(default_model_path(), device="cpu")
    generator.metadata = dataclasses.replace(generator.metadata, colour_db=None)
    return generator


def test_calibration_brings_the_streams_to_the_reference(bundled):
    seconds = 4.0
    measured = colour.stream_band_levels_db(bundled, seconds)
    np.testing.assert_array_equal(colour.stream_band_levels_db(bundled, seconds), measured)
    centres = cochlear.band_centres_hz(levels.COLOUR_BANDS)
    tilt = np.where(centres < 300.0, 6.0, 0.0) - np.where(centres > 3_000.0, 3.0, 0.0)
    original = bundled.metadata
    gains = colour.calibrate_colour(bundled, measured + tilt, seconds, rounds=2)
    assert bundled.metadata is original  # restored
    hz = bundled.spec.image_row_hz()
    assert np.median(gains[(hz > 60) & (hz < 250)]) == pytest.approx(6.0, abs=1.5)
    assert np.median(gains[(hz > 4_000) & (hz < 9_000)]) == pytest.approx(-3.0, abs=1.0)
    assert np.median(np.abs(gains[(hz > 600) & (hz < 2_000)])) < 1.0
    # Rendering with the gains lands nearer the reference than without.
    bundled.metadata = dataclasses.replace(original, colour_db=tuple(gains))
    try:
        after = colour.stream_band_levels_db(bundled, seconds) - (measured + tilt)
    finally:
        bundled.metadata = original
    assert np.sqrt(np.mean(after ** 2)) < 0.5 * np.sqrt(np.mean(tilt ** 2))
    limited = colour.calibrate_colour(bundled, measured + tilt, seconds, rounds=1, limit_db=2.0)
    assert np.max(np.abs(limited)) == pytest.approx(2.0)


def test_calibration_refuses_bad_settings(bundled):
    reference = np.zeros(levels.COLOUR_BANDS.n_bands)
    with pytest.raises(ValueError, match="seconds > 0"):
        colour.calibrate_colour(bundled, reference, seconds=0.0)
    with pytest.raises(ValueError, match="rounds >= 1"):
        colour.calibrate_colour(bundled, reference, seconds=1.0, rounds=0)
    with pytest.raises(ValueError, match="30 reference band levels"):
        colour.calibrate_colour(bundled, reference[:5], seconds=1.0)


def test_leveller_adds_the_colour_gains_under_the_ceiling():
    spec = SpectralSpec()
    height, width = spec.image_shape
    images = np.full((2, height, width), -0.5, np.float32)
    gains_db = np.linspace(0.0, 12.0, height)
    plain = ChunkLeveller(spec, 2).process(images.copy())
    coloured = ChunkLeveller(spec, 2, colour_db=gains_db).process(images.copy())
    np.testing.assert_allclose(coloured - plain,
                               np.broadcast_to((gains_db / spec.db_per_image_unit)[:, None],
                                               (2, height, width)), atol=1e-6)
    ceiling_db = np.full(height, spec.images_to_db(-0.45))
    held = ChunkLeveller(spec, 2, ceiling_db, gains_db).process(images.copy())
    assert held.max() <= -0.45 + 1e-6


def test_metadata_carries_the_colour_and_refuses_a_damaged_one():
    spec = SpectralSpec()
    height = spec.image_shape[0]
    meta = ModelMetadata(spec=spec, latent_dim=8, truncation=2.0, data_fingerprint="f", step=1,
                         colour_db=tuple(np.linspace(-3.0, 3.0, height)))
    back = ModelMetadata.from_props(meta.to_props())
    np.testing.assert_allclose(back.colour_db, meta.colour_db, atol=0.005)
    assert ModelMetadata.from_props(dataclasses.replace(meta, colour_db=None).to_props()
                                    ).colour_db is None
    with pytest.raises(ModelFormatError, match="colour_db has 3 rows"):
        dataclasses.replace(meta, colour_db=(0.0, 1.0, 2.0))
    props = meta.to_props()
    props["raingan.colour_db"] = "[" + ", ".join(["NaN"] * height) + "]"
    with pytest.raises(ModelFormatError, match="not finite"):
        ModelMetadata.from_props(props)
    props["raingan.colour_db"] = "7"
    with pytest.raises(ModelFormatError, match="damaged"):
        ModelMetadata.from_props(props)
