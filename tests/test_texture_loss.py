"""The generator's texture-matching loss: statistics of model images, as the eval computes
them on audio, and a loss that pulls a batch's statistics towards the real batch's."""

import numpy as np
import pytest
import tensorflow as tf

import keras  # noqa: F401  (the train extra is part of the test extra)

from raingan.eval import texture
from raingan.core.spec import SpectralSpec
from raingan.training.config import PRESETS, ConfigError, TrainConfig
from raingan.training.models import build_discriminator, build_generator
from raingan.training.step import make_train_step
from raingan.training.texture_loss import LOSS_GROUPS, ImageTexture

SPEC = SpectralSpec()
HEIGHT, WIDTH = SPEC.image_shape
TEXTURE = ImageTexture.for_spec(SPEC)


def stats_of(images: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in TEXTURE.statistics(images.astype(np.float32)).items()}


def speckled(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Images of noise-like rain: a sloping spectrum with per-pixel speckle, no modulation."""
    slope = np.linspace(0.2, -0.6, HEIGHT)[None, :, None]
    return slope + 0.08 * rng.standard_normal((batch, HEIGHT, WIDTH))


def broadband_swell(rng: np.random.Generator, batch: int, cycles: int) -> np.ndarray:
    """Speckled images whose every row rises and falls ``cycles`` times per image, by 6 dB."""
    swell = 0.1 * np.sin(2 * np.pi * cycles * np.arange(WIDTH) / WIDTH)
    return speckled(rng, batch) + swell[None, None, :]


def test_moments_and_correlations_are_the_evals_on_the_image_envelopes(rng):
    images = broadband_swell(rng, 3, 3) + 0.05 * rng.standard_normal((3, HEIGHT, WIDTH))
    ours = stats_of(images)
    envelopes = np.asarray(TEXTURE.envelopes(images.astype(np.float32)), dtype=np.float64)
    windows = np.transpose(envelopes, (1, 0, 2))  # (bands, "windows" = images, frames)
    mean = windows.mean(axis=-1)
    centred = windows - mean[..., None]
    sigma = np.sqrt(np.mean(centred ** 2, axis=-1))
    evals = texture._moment_statistics(np.zeros_like(sigma, bool), sigma, centred, mean)
    evals["band_correlation"] = texture._band_correlations(
        texture._detrended_standardised(centred), TEXTURE.frames.offsets)
    for group in ("envelope_cv", "envelope_skew", "envelope_kurtosis", "band_correlation"):
        np.testing.assert_allclose(ours[group], evals[group], rtol=2e-3, atol=2e-3,
                                   err_msg=group)


def test_every_cochlear_band_of_the_default_spec_has_rows():
    assert TEXTURE.band_power_weights.shape == (HEIGHT, texture.TextureConfig().n_bands)
    assert TEXTURE.frames.offsets == texture.TextureConfig().correlation_offsets


@pytest.mark.parametrize("cycles, octave", [(1, 0), (2, 1), (4, 2), (7, 3), (12, 4)])
def test_a_broadband_swell_is_one_modulation_octave_and_full_correlation(rng, cycles, octave):
    stats = stats_of(broadband_swell(rng, 2, cycles))
    n_bands = TEXTURE.band_power_weights.shape[1]
    shares = stats["modulation_power"].reshape(2, n_bands, -1)
    np.testing.assert_allclose(shares.sum(axis=-1), 1.0, atol=1e-4)
    # Bands wide enough to average the speckle out see mostly the swell (the Hann taper
    # spreads it over neighbouring bins, across an octave edge for 1 and 4 cycles).
    wide = slice(n_bands // 2, None)
    assert np.all(np.argmax(shares[:, wide], axis=-1) == octave)
    assert np.all(shares[:, wide, octave] > 0.5)
    if cycles > 1:  # one cycle is mostly a linear trend, which correlations ignore
        neighbours = stats["band_correlation"][:, n_bands // 2:n_bands - 1]  # offset 1
        assert np.mean(neighbours) > 0.8


def test_independent_band_movement_is_uncorrelated(rng):
    stats = stats_of(speckled(rng, 4))
    assert abs(float(np.mean(stats["band_correlation"]))) < 0.1
    flat = stats_of(np.full((1, HEIGHT, WIDTH), -0.2))
    assert np.all(np.isfinite(np.concatenate([v.ravel() for v in flat.values()])))
    assert np.all(flat["envelope_cv"] < 1e-3)


def test_matching_loss_is_zero_against_itself_and_descends_towards_the_real_batch(rng):
    real = broadband_swell(rng, 4, 5).astype(np.float32)
    assert float(TEXTURE.matching_loss(real, real)) == pytest.approx(0.0, abs=1e-6)
    fake = tf.Variable(speckled(rng, 4).astype(np.float32))
    optimizer = tf.keras.optimizers.Adam(0.01)

    def loss() -> tf.Tensor:
        return TEXTURE.matching_loss(fake, real)

    first = float(loss())
    assert first > 1.0
    for _ in range(30):
        with tf.GradientTape() as tape:
            value = loss()
        gradient = tape.gradient(value, fake)
        assert np.all(np.isfinite(gradient.numpy()))
        optimizer.apply_gradients([(gradient, fake)])
    assert float(loss()) < 0.3 * first
    moved = stats_of(fake.numpy())["modulation_power"].reshape(4, -1, 7)[..., 3].mean()
    assert moved > 2 * stats_of(speckled(rng, 4))["modulation_power"].reshape(4, -1, 7)[..., 3].mean()


def test_groups_are_the_evals_without_the_level():
    assert set(LOSS_GROUPS) == set(texture.GROUPS) - {"envelope_mean"}


def test_weight_is_validated_and_older_runs_train_without_it():
    with pytest.raises(ConfigError, match="g_texture_weight"):
        PRESETS["tiny"].replace(g_texture_weight=-1.0)
    with pytest.raises(ConfigError, match="g_texture_weight"):
        PRESETS["tiny"].replace(g_texture_weight=float("nan"))
    older = {k: v for k, v in PRESETS["tiny"].to_dict().items() if k != "g_texture_weight"}
    assert TrainConfig.from_dict(older).g_texture_weight == 0.0


def test_the_step_needs_the_image_statistics_when_the_weight_is_set():
    config = PRESETS["tiny"].replace(g_texture_weight=1.0)
    spec = SpectralSpec(n_fft=256, win_length=256, hop_length=64, n_frames=32)
    generator, discriminator = build_generator(spec, config), build_discriminator(spec, config)
    adam = lambda: keras.optimizers.Adam(1e-4)  # noqa: E731
    with pytest.raises(ConfigError, match="ImageTexture"):
        make_train_step(generator, discriminator, adam(), adam(), config)


@pytest.mark.parametrize("spec", [SpectralSpec(freq_scale="mel", n_mels=64),
                                  SpectralSpec(image_height=128, image_width=64)])
def test_row_frequencies_follow_the_image(spec):
    row_hz = spec.image_row_hz()
    assert row_hz.shape == (spec.image_shape[0],)
    assert np.all(np.diff(row_hz) > 0) and row_hz[0] >= 0 and row_hz[-1] < spec.nyquist_hz
    stats = ImageTexture.for_spec(spec).statistics(np.zeros((1, *spec.image_shape), np.float32))
    assert stats["modulation_power"].shape[0] == 1


def test_linear_rows_are_fft_bins():
    np.testing.assert_allclose(SPEC.image_row_hz(), np.arange(HEIGHT) * 44100 / 1024)
