"""The texture term on the heard audio's cochlear envelopes: the eval's own analysis, in
Keras ops and differentiable."""

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

import keras
from keras import ops

from raingan.eval import cochlear
from raingan.core.spec import SpectralSpec
from raingan.training.cochlear import EDGE_FRAMES, CochlearTexture, corpus_chunks
from raingan.training.config import PRESETS, ConfigError
from raingan.training.models import build_discriminator, build_generator
from raingan.training.reanalysis import Reanalysis
from raingan.training.step import GeneratorObjective, make_train_step
from raingan.training.texture_loss import LOSS_GROUPS, ImageTexture

SPEC = SpectralSpec()
COCHLEAR = CochlearTexture.for_spec(SPEC)
REANALYSIS = Reanalysis.for_spec(SPEC)


@pytest.fixture(scope="module")
def rain_chunks(rain_path) -> np.ndarray:
    samples, rate = sf.read(rain_path, dtype="float32")
    assert rate == SPEC.sample_rate_hz
    return corpus_chunks([samples], COCHLEAR.n_samples)


def test_envelopes_are_the_evals(rain_chunks):
    chunks = rain_chunks[:3]
    ours = ops.convert_to_numpy(COCHLEAR.envelopes(chunks))
    evals = np.stack([cochlear.cochlear_envelopes(c.astype(np.float64), SPEC.sample_rate_hz)
                      [:, EDGE_FRAMES:COCHLEAR.n_frames - EDGE_FRAMES] for c in chunks])
    assert ours.shape == evals.shape == (3, 30, COCHLEAR.n_frames - 2 * EDGE_FRAMES)
    np.testing.assert_allclose(ours, evals, atol=1e-5 * evals.max())


def test_real_rain_matches_its_own_target_and_smeared_rain_does_not(rain_chunks, rng):
    target = COCHLEAR.target(rain_chunks)
    assert set(target.mean) == set(LOSS_GROUPS)
    own = float(COCHLEAR.matching_loss(rain_chunks[:8], target))
    # The same chunks with every drop smeared over 23 ms (one STFT window): softer envelopes
    kernel = np.hanning(1024) / np.hanning(1024).sum()
    smeared = np.stack([np.convolve(c, kernel, mode="same") for c in rain_chunks[:8]])
    smeared *= rng.standard_normal(smeared.shape).astype(np.float32)  # keep it noise-like
    assert own < 0.5 and float(COCHLEAR.matching_loss(smeared, target)) > 4 * own


def test_the_objective_adds_the_cochlear_term_of_the_heard_audio(rain_chunks, rng):
    config = PRESETS["tiny"].replace(g_texture_weight=2.0, g_texture_heard=True,
                                     g_texture_audio=True)
    target = COCHLEAR.target(rain_chunks)
    contexts = np.stack([np.pad(c, SPEC.margin_samples) for c in rain_chunks[:2]])
    real = SPEC.audio_to_images(contexts.astype(np.float32))
    fake = np.clip(real + 0.1 * rng.standard_normal(real.shape), -1, 1).astype(np.float32)
    phase_ = REANALYSIS.runtime_phase(fake)
    objective = GeneratorObjective(config, ImageTexture.for_spec(SPEC), REANALYSIS, COCHLEAR,
                                   target)
    adversarial, total = objective(np.zeros((2, 1), np.float32), fake, real, phase_)
    audio = REANALYSIS.chunk_audio(fake, phase_)
    assert tuple(audio.shape) == (2, SPEC.chunk_samples)
    expected = 2.0 * float(COCHLEAR.matching_loss(audio, target))
    np.testing.assert_allclose(float(total) - float(adversarial), expected, rtol=1e-4)


def test_adam_steps_through_the_heard_audio_pull_images_towards_real_rain(rain_chunks, rng):
    target = COCHLEAR.target(rain_chunks)
    contexts = np.stack([np.pad(c, SPEC.margin_samples) for c in rain_chunks[:2]])
    start = SPEC.audio_to_images(contexts.astype(np.float32))
    start = (start.mean(axis=2, keepdims=True) + 0.2 * (start - start.mean(axis=2, keepdims=True)))
    images = tf.Variable(start.astype(np.float32))  # drops flattened to a steady hiss
    optimizer = keras.optimizers.Adam(0.02)
    losses = []
    for _ in range(12):
        phase_ = REANALYSIS.runtime_phase(images.numpy())
        with tf.GradientTape() as tape:
            loss = COCHLEAR.matching_loss(REANALYSIS.chunk_audio(images, phase_), target)
        gradient = tape.gradient(loss, images)
        assert np.all(np.isfinite(gradient.numpy()))
        optimizer.apply_gradients([(gradient, images)])
        losses.append(float(loss))
    assert losses[-1] < 0.7 * losses[0], losses


def test_setting_is_validated_and_the_step_needs_the_target():
    with pytest.raises(ConfigError, match="g_texture_audio needs g_texture_heard"):
        PRESETS["tiny"].replace(g_texture_audio=True)
    with pytest.raises(ConfigError, match="true or false"):
        PRESETS["tiny"].replace(g_texture_heard=True, g_texture_audio=1)
    config = PRESETS["tiny"].replace(g_texture_weight=1.0, g_texture_heard=True,
                                     g_texture_audio=True)
    generator, discriminator = build_generator(SPEC, config), build_discriminator(SPEC, config)
    adam = lambda: keras.optimizers.Adam(1e-4)  # noqa: E731
    with pytest.raises(ConfigError, match="target"):
        make_train_step(generator, discriminator, adam(), adam(), config,
                        texture=ImageTexture.for_spec(SPEC), reanalysis=REANALYSIS)
