"""Intensity: the latent axis, its fit, its use in streams, loops, sources and the CLI."""

import subprocess
import sys

import numpy as np
import pytest

from raingan.runtime.generator import Generator, default_model_path
from raingan.export.intensity_fit import calibrate_projections, fit_intensity_axis, image_features
from raingan.runtime.intensity import (AXIS_REACH, MIN_SPAN_DB, IntensityAxis, apply_intensity,
                                       intensity_target_db)
from raingan.runtime.intensity_level import (MAX_GAIN_DB, IntensityLevel, chunk_loudness_db,
                                             loop_gains_db)
from raingan.runtime.loop import render_loop
from raingan.runtime.intensity_sweep import sweep_report
from raingan.core.loudness import measure_lufs
from raingan.core.spec import SpectralSpec
from raingan.runtime.stream import RainStream, StreamSettingsError


def test_apply_intensity_sets_the_projection_and_nothing_else():
    direction = np.zeros(8)
    direction[:2] = [0.6, 0.8]
    axis = IntensityAxis(direction, 3.0, 0.0)
    z = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32) * 0.3
    for intensity in (0.0, 0.5, 1.0):
        out = apply_intensity(z, axis, intensity, threshold=3.0)
        np.testing.assert_allclose(out @ direction, AXIS_REACH * (2 * intensity - 1), atol=1e-5)
        np.testing.assert_allclose(out[:, 2:], z[:, 2:])  # orthogonal parts untouched
    with pytest.raises(ValueError, match="intensity"):
        apply_intensity(z, axis, 1.5, 3.0)


def test_fit_finds_the_direction_that_makes_rain_louder():
    # A stand-in generator whose loudness grows with 0.8 z0 - 0.6 z1 and ignores the rest.
    spec = SpectralSpec()
    true_direction = np.array([0.8, -0.6] + [0.0] * 14)

    def images_of(z: np.ndarray) -> np.ndarray:
        level = 0.1 * (z @ true_direction)[:, None, None] - 0.3
        return np.broadcast_to(level, (z.shape[0], *spec.image_shape)).astype(np.float32)

    axis = fit_intensity_axis(images_of, spec, 16, drifting_dims=12, threshold=3.0,
                              n_latents=128)
    assert axis.direction @ true_direction > 0.99 and axis.loudness_db_per_unit > 0
    assert np.all(axis.direction[12:] == 0)  # per-chunk components get no weight
    stored = axis.to_dict()
    assert len(stored["direction"]) <= 12  # trailing zeros are not stored
    np.testing.assert_allclose(IntensityAxis.from_dict(stored, 16).direction, axis.direction,
                               atol=1e-5)
    with pytest.raises(ValueError):
        IntensityAxis.from_dict(stored, 8)  # longer than the model's latents


def _bent_generator(spec: SpectralSpec, direction: np.ndarray):
    """A stand-in whose image level along ``direction`` is flat at first and steep at the end
    (as the wide generator's loudness was): exp(projection) in image units."""
    def images_of(z: np.ndarray) -> np.ndarray:
        level = 0.02 * np.exp(z @ direction)[:, None, None] - 0.5
        return np.broadcast_to(level, (z.shape[0], *spec.image_shape)).astype(np.float32)
    return images_of


def test_calibration_spends_equal_db_on_equal_steps_of_the_knob():
    spec = SpectralSpec()
    direction = np.zeros(8)
    direction[0] = 1.0
    images_of = _bent_generator(spec, direction)
    latents = np.random.default_rng(0).standard_normal((16, 8))
    projections = calibrate_projections(images_of, spec, direction, latents, threshold=3.0)
    assert projections[0] == -AXIS_REACH and projections[-1] == AXIS_REACH
    assert np.all(np.diff(projections) > 0)
    axis = IntensityAxis(direction, 1.0, 0.0, projections)
    intensities = np.linspace(0.0, 1.0, 9)

    def mean_db(axis: IntensityAxis) -> np.ndarray:
        return np.array([image_features(images_of(apply_intensity(latents, axis, i, 3.0)),
                                        spec)[0].mean() for i in intensities])

    calibrated = np.diff(mean_db(axis))
    linear = np.diff(mean_db(IntensityAxis(direction, 1.0, 0.0)))
    # Linear in projection, the first step rises far less than the last; calibrated, every
    # step rises by about the same dB (within the interpolation between stored levels).
    assert linear[0] < 0.25 * linear[-1], linear
    np.testing.assert_allclose(calibrated, calibrated.mean(), rtol=0.1)
    stored = axis.to_dict()
    np.testing.assert_allclose(IntensityAxis.from_dict(stored, 8).projections, projections,
                               atol=1e-6)


def test_a_flat_response_keeps_the_linear_mapping_and_bad_calibrations_are_refused():
    spec = SpectralSpec()
    direction = np.zeros(4)
    direction[1] = 1.0

    def silent(z: np.ndarray) -> np.ndarray:
        return np.full((z.shape[0], *spec.image_shape), -0.5, np.float32)

    projections = calibrate_projections(silent, spec, direction,
                                        np.zeros((4, 4)), threshold=3.0)
    np.testing.assert_allclose(projections, np.linspace(-AXIS_REACH, AXIS_REACH,
                                                        projections.shape[0]))
    # Models exported before the calibration store none: the mapping is linear.
    old = IntensityAxis.from_dict({"direction": [0.0, 1.0], "loudness_db_per_unit": 2.0,
                                   "density_per_unit": 0.0}, 4)
    assert old.projections is None and old.projection_at(0.75) == AXIS_REACH * 0.5
    for bad in ([0.5], [1.0, -1.0], [0.0, float("nan")]):
        with pytest.raises(ValueError, match="projections"):
            IntensityAxis.from_dict({"direction": [1.0], "loudness_db_per_unit": 2.0,
                                     "density_per_unit": 0.0, "projections": bad}, 4)


def test_fit_follows_loudness_not_drop_onsets():
    # Loudness grows along z0; drop onsets (a 3 dB jump every 4th frame) come and go with z1.
    # In heavy rain drops merge into a roar, so onsets are no measure of heaviness: the axis
    # must follow loudness (an axis fitted to both lay halfway between, and swept unevenly).
    spec = SpectralSpec()

    def images_of(z: np.ndarray) -> np.ndarray:
        images = np.broadcast_to((0.1 * z[:, 0] - 0.3)[:, None, None],
                                 (z.shape[0], *spec.image_shape)).copy()
        images[:, :, ::4] += 0.05 * (z[:, 1] > 0)[:, None, None]
        return images.astype(np.float32)

    axis = fit_intensity_axis(images_of, spec, 8, drifting_dims=None, threshold=3.0,
                              n_latents=256)
    assert axis.direction[0] > 0.98, axis.direction
    assert axis.density_per_unit < 0.05  # the onsets it brings are reported, not chased


def test_levels_round_trip_and_set_a_straight_target_of_at_least_the_least_span():
    direction = np.array([1.0, 0.0, 0.0])
    projections = np.linspace(-AXIS_REACH, AXIS_REACH, 5)
    axis = IntensityAxis(direction, 2.0, 0.0, projections, np.array([1.0, 1.0, 2.0, 3.0, 5.0]))
    back = IntensityAxis.from_dict(axis.to_dict(), 3)
    np.testing.assert_allclose(back.levels_db, axis.levels_db)
    # A 4 dB measured span is stretched to the least span, about its middle, linearly.
    targets = [intensity_target_db(axis, i) for i in (0.0, 0.25, 0.5, 1.0)]
    np.testing.assert_allclose(targets, [3.0 - MIN_SPAN_DB / 2, 3.0 - MIN_SPAN_DB / 4, 3.0,
                                         3.0 + MIN_SPAN_DB / 2])
    wide = IntensityAxis(direction, 2.0, 0.0, projections, np.linspace(-20.0, 20.0, 5))
    assert intensity_target_db(wide, 1.0) - intensity_target_db(wide, 0.0) == 40.0
    assert intensity_target_db(IntensityAxis(direction, 2.0, 0.0, projections), 0.5) is None
    stored = axis.to_dict()
    for bad in ([1.0, 0.0, 2.0, 3.0, 4.0], [1.0, 2.0], [0.0, 1.0, 2.0, 3.0, float("inf")]):
        with pytest.raises(ValueError, match="levels_db"):
            IntensityAxis.from_dict({**stored, "levels_db": bad}, 3)


def _images_at(spec: SpectralSpec, level: np.ndarray) -> np.ndarray:
    """Flat images at image values ``level``, shape (len(level), height, width)."""
    return np.broadcast_to(np.asarray(level, np.float32)[:, None, None],
                           (len(level), *spec.image_shape)).copy()


def test_the_level_holds_every_channel_at_the_target_and_no_further_than_its_reach():
    spec = SpectralSpec()
    axis = IntensityAxis(np.array([1.0]), 2.0, 0.0, np.linspace(-2.0, 2.0, 3),
                         np.array([-6.0, 0.0, 6.0]))
    level = IntensityLevel(spec, axis, channels=2)
    # Channel 0 steady and quiet, channel 1 steady and loud; 3 chunk steps per call.
    images = _images_at(spec, [-0.6, 0.4] * 3)
    loudness = chunk_loudness_db(images, spec)
    for intensity in (0.2, 0.9):
        for _ in range(40):  # many track time constants
            gains = level.gains_db(images, np.full(3, intensity))
        held = loudness + gains
        expected = np.clip(intensity_target_db(axis, intensity), loudness - MAX_GAIN_DB,
                           loudness + MAX_GAIN_DB)
        np.testing.assert_allclose(held, expected, atol=0.05)
    # Near silence is raised by the reach and no more.
    silent = IntensityLevel(spec, axis, channels=1)
    assert silent.gains_db(_images_at(spec, [-1.0]), np.array([1.0]))[0] == MAX_GAIN_DB
    # A loop takes one constant gain per channel to the same level.
    loop = loop_gains_db(images, spec, axis, 2, 0.5)
    assert loop.shape == (2,)
    np.testing.assert_allclose(loudness[:2] + loop, np.clip(
        intensity_target_db(axis, 0.5), loudness[:2] - MAX_GAIN_DB,
        loudness[:2] + MAX_GAIN_DB), atol=1e-6)
    with pytest.raises(ValueError, match="levels_db"):
        IntensityLevel(spec, IntensityAxis(np.array([1.0]), 2.0, 0.0), 1)


def test_every_seed_of_the_bundled_model_gets_heavier_as_the_knob_turns():
    # Along the streaming model's latent axis alone, a quarter of seeds got quieter; the
    # level held at the knob's target makes every one rise, by steps of about 3 dB.
    generator = Generator(default_model_path(), device="cpu")
    for seed in range(6):
        lufs = []
        for intensity in (0.0, 0.5, 1.0):
            stream = RainStream(generator, 48_000, 1, seed, chunks_per_block=1,
                                intensity=intensity)
            audio = np.concatenate([stream.next_block() for _ in range(8)])
            lufs.append(measure_lufs(audio[48_000:], 48_000))
        assert np.all(np.diff(lufs) >= 3.0), (seed, lufs)
    quiet, loud = (render_loop(generator, 4.0, 48_000, 2, seed=2, intensity=i).samples
                   for i in (0.1, 0.9))
    assert measure_lufs(loud, 48_000) > measure_lufs(quiet, 48_000) + 6.0


def test_bundled_model_sweeps_from_light_to_heavy_without_clicks():
    # Issue 4's acceptance: a 10 s sweep rises monotonically by >= 6 dB and its largest
    # sample-to-sample step stays within that of the rain itself.
    report = sweep_report(Generator(default_model_path(), device="cpu"), seconds=10.0,
                          window_s=2.0, seed=0)
    assert report["monotonic"] and report["rise_db"] >= 6.0, report
    assert report["sweep_max_step"] <= report["held_max_step"], report


def test_intensity_reaches_streams_loops_sources_and_the_cli(tiny_model, tmp_path):
    generator = Generator(tiny_model, device="cpu")
    assert generator.intensity_axis is not None  # export fits one
    stream = RainStream(generator, 48_000, 2, seed=1, intensity=0.2)
    stream.next_block()
    stream.set_intensity(0.9)
    assert stream.intensity == 0.9
    with pytest.raises(StreamSettingsError, match="intensity must be 0 to 1"):
        stream.set_intensity(-0.1)
    from raingan import RainSource

    rain = RainSource(tiny_model, seed=1, intensity=0.3)
    rain.intensity = 0.7
    assert rain.intensity == 0.7
    out = tmp_path / "loop.wav"
    result = subprocess.run([sys.executable, "-m", "raingan", "loop", str(out), "--seconds", "3",
                             "--model", str(tiny_model), "--intensity", "0.8"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([sys.executable, "-m", "raingan", "render", str(out), "--seconds",
                             "1", "--model", str(tiny_model), "--intensity", "2"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and "--intensity: must be 0 to 1" in result.stderr
