"""Re-analysis, the texture term's way to hear images: images -> audio with a given phase ->
images, in Keras ops, equal to the runtime's own path and differentiable in the images."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras import ops

from raingan.core import phase
from raingan.core.spec import SpectralSpec, article_spec
from raingan.training.config import PRESETS, ConfigError
from raingan.training.models import build_discriminator, build_generator
from raingan.training.reanalysis import Reanalysis
from raingan.training.step import GeneratorObjective, make_train_step
from raingan.training.texture_loss import ImageTexture

SPEC = SpectralSpec(n_fft=256, win_length=256, hop_length=64, n_frames=32)
REANALYSIS = Reanalysis.for_spec(SPEC)


def rain_like(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Chunks of decaying noise bursts (drops) on a quiet noise bed, shape (batch, samples)."""
    audio = 0.02 * rng.standard_normal((batch, SPEC.context_samples))
    decay = np.exp(-np.arange(400) / 60.0)
    for row in audio:
        for start in rng.integers(0, SPEC.context_samples - 400, size=12):
            row[start:start + 400] += 0.5 * rng.standard_normal(400) * decay
    return audio.astype(np.float32)


def mse_after_reanalysis(images: np.ndarray, phase_: np.ndarray) -> float:
    heard = ops.convert_to_numpy(REANALYSIS.images(images, phase_))
    return float(np.mean((heard - images) ** 2))


def test_images_with_the_runtime_phase_are_the_runtimes_reconstruction(rng):
    images = SPEC.audio_to_images(rain_like(rng, 3))
    images += 0.05 * rng.standard_normal(images.shape).astype(np.float32)  # not consistent
    audio = phase.reconstruct(SPEC.images_to_magnitudes(images), SPEC)
    expected = SPEC.audio_to_images(audio)
    ours = ops.convert_to_numpy(REANALYSIS.images(images, REANALYSIS.runtime_phase(images)))
    assert ours.shape == images.shape
    np.testing.assert_allclose(ours, expected, atol=2e-3)


def test_the_heard_phase_follows_the_configured_iterations(rng):
    # Training may hear the images through the phase the runtime now renders with (2
    # iterations) rather than the default 16.
    images = SPEC.audio_to_images(rain_like(rng, 2))
    images += 0.05 * rng.standard_normal(images.shape).astype(np.float32)
    two = Reanalysis.for_spec(SPEC, phase.STREAM_PHASE)
    expected = phase.estimate_phase(SPEC.images_to_magnitudes(images), SPEC, phase.STREAM_PHASE)
    np.testing.assert_array_equal(two.runtime_phase(images), expected)
    assert np.max(np.abs(two.runtime_phase(images) - REANALYSIS.runtime_phase(images))) > 1e-2
    assert REANALYSIS.phase.n_iter == 16
    with pytest.raises(ConfigError, match="g_texture_phase_iterations"):
        PRESETS["tiny"].replace(g_texture_phase_iterations=-1)


def test_real_audio_comes_back_and_speckle_does_not(rng):
    audio = rain_like(rng, 2)
    images = SPEC.audio_to_images(audio)
    true_phase = np.angle(SPEC.stft(audio)).astype(np.float32)
    # Not exactly 0: the image drops the Nyquist bin, whose energy the audio had.
    assert mse_after_reanalysis(images, true_phase) < 1e-4
    speckle = np.clip(images + 0.2 * rng.standard_normal(images.shape), -1, 1).astype(np.float32)
    assert mse_after_reanalysis(speckle, REANALYSIS.runtime_phase(speckle)) > 5 * mse_after_reanalysis(
        images, REANALYSIS.runtime_phase(images))


def test_gradient_steps_through_the_reanalysis_make_images_consistent(rng):
    start = SPEC.audio_to_images(rain_like(rng, 2))
    start = np.clip(start + 0.2 * rng.standard_normal(start.shape), -1, 1).astype(np.float32)
    images = tf.Variable(start)
    optimizer = keras.optimizers.Adam(0.01)
    first = None
    for _ in range(20):
        phase_ = REANALYSIS.runtime_phase(images.numpy())
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(REANALYSIS.images(images, phase_) - images))
        gradient = tape.gradient(loss, images)
        assert np.all(np.isfinite(gradient.numpy()))
        optimizer.apply_gradients([(gradient, images)])
        first = float(loss) if first is None else first
    assert mse_after_reanalysis(images.numpy(), REANALYSIS.runtime_phase(images.numpy())) < 0.5 * first


@pytest.mark.parametrize("spec", [SpectralSpec(freq_scale="mel", n_mels=64),
                                  SpectralSpec(image_height=128, image_width=64), article_spec()])
def test_specs_whose_images_are_not_stft_rows_are_refused(spec):
    with pytest.raises(ConfigError, match="hearing the images"):
        Reanalysis.for_spec(spec)


def test_the_texture_term_can_take_the_images_as_heard(rng):
    config = PRESETS["tiny"].replace(g_texture_weight=2.0, g_texture_heard=True)
    assert config.hears_images and not PRESETS["tiny"].replace(g_texture_heard=True).hears_images
    texture = ImageTexture.for_spec(SPEC)
    real = SPEC.audio_to_images(rain_like(rng, 4))
    fake = np.clip(real + 0.1 * rng.standard_normal(real.shape), -1, 1).astype(np.float32)
    phase_ = REANALYSIS.runtime_phase(fake)
    heard = REANALYSIS.images(fake, phase_)
    logits = np.zeros((4, 1), np.float32)
    adversarial, total = GeneratorObjective(config, texture, REANALYSIS)(logits, fake, real, phase_)
    expected = 2.0 * float(texture.matching_loss(heard, real))
    np.testing.assert_allclose(float(total) - float(adversarial), expected, rtol=1e-4)
    as_images = 2.0 * float(texture.matching_loss(fake, real))
    assert abs(expected - as_images) > 1e-3 * expected  # the speckle is heard differently


def test_setting_is_validated_and_the_step_needs_the_reanalysis():
    with pytest.raises(ConfigError, match="g_texture_heard"):
        PRESETS["tiny"].replace(g_texture_heard="yes")
    config = PRESETS["tiny"].replace(g_texture_weight=1.0, g_texture_heard=True)
    generator, discriminator = build_generator(SPEC, config), build_discriminator(SPEC, config)
    adam = lambda: keras.optimizers.Adam(1e-4)  # noqa: E731
    with pytest.raises(ConfigError, match="Reanalysis"):
        make_train_step(generator, discriminator, adam(), adam(), config,
                        texture=ImageTexture.for_spec(SPEC))
