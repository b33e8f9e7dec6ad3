import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raingan.core.errors import SpecError
from raingan.core.spec import SpectralSpec, article_spec


def test_default_spec_geometry():
    spec = SpectralSpec()
    assert spec.image_shape == (spec.n_fft // 2, spec.n_frames) == (512, 128)
    assert spec.chunk_samples == spec.n_frames * spec.hop_length
    assert spec.context_samples == spec.chunk_samples + 2 * spec.margin_samples
    assert spec.chunk_step_samples == spec.chunk_samples - spec.crossfade_samples


def test_article_spec_matches_the_article():
    spec = article_spec()
    assert spec.sample_rate_hz == 48000
    assert spec.chunk_s == pytest.approx(0.5)
    assert (spec.n_fft_bins, spec.n_frames) == (1025, 375)
    assert spec.image_shape == (256, 256)


@pytest.mark.parametrize("spec", [SpectralSpec(), article_spec(),
                                  SpectralSpec(freq_scale="mel", n_fft=512, win_length=512)])
def test_json_round_trip(spec):
    text = spec.to_json()
    assert SpectralSpec.from_json(text) == spec
    assert json.loads(text)["version"] == spec.version


@pytest.mark.parametrize("changes, message", [
    ({"hop_length": 2048}, "hop_length 2048 is larger than win_length"),
    ({"win_length": 2048}, "win_length 2048 is larger than n_fft"),
    ({"hop_length": 300}, "must divide win_length"),
    ({"n_fft": 0}, "n_fft must be a positive integer"),
    ({"db_min": 10.0, "db_max": 0.0}, "db_max"),
    ({"crossfade_frames": 100}, "crossfade_frames"),
    ({"image_height": 64}, "give both image_height and image_width"),
    ({"freq_scale": "mel", "fmax_hz": 30000.0}, "fmax_hz"),
    ({"freq_scale": "bark"}, "freq_scale"),
    ({"version": 99}, "newer than this RainGAN"),
])
def test_inconsistent_specs_are_refused(changes, message):
    with pytest.raises(SpecError, match=message):
        SpectralSpec(**changes)


def test_unknown_fields_and_bad_json_are_refused():
    with pytest.raises(SpecError, match="unknown field"):
        SpectralSpec.from_json('{"n_fft": 1024, "nfft": 2}')
    with pytest.raises(SpecError, match="not valid JSON"):
        SpectralSpec.from_json("{")


@pytest.mark.parametrize("spec", [SpectralSpec(freq_scale="mel"), SpectralSpec()])
def test_images_are_in_range_and_invert_to_the_magnitudes(spec, rng):
    context = 0.1 * rng.standard_normal((3, spec.context_samples)).astype(np.float32)
    images = spec.audio_to_images(context)
    assert images.shape == (3, *spec.image_shape) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    before = images.copy()
    magnitudes = spec.images_to_magnitudes(images)
    np.testing.assert_array_equal(images, before)  # computed in place, but not in the input
    true = np.abs(spec.stft(context))
    assert magnitudes.shape == true.shape
    error = np.linalg.norm(magnitudes - true) / np.linalg.norm(true)
    if spec.freq_scale == "linear":
        below_nyquist = np.s_[..., :-1]
        np.testing.assert_allclose(magnitudes[below_nyquist], true[below_nyquist], rtol=1e-3,
                                   atol=1e-6)
        assert np.all(magnitudes[..., -1] == 0)  # no Nyquist row in the image
    else:
        # Mel pooling keeps the envelope: each band's power is preserved on average.
        assert error < 0.7
        band_power = lambda m: (m ** 2) @ spec_filterbank(spec).T
        np.testing.assert_allclose(band_power(magnitudes).mean(), band_power(true).mean(), rtol=0.1)


def spec_filterbank(spec):
    return spec.mel_filterbank()


def test_mel_bands_are_all_non_empty_and_ordered():
    spec = SpectralSpec(n_mels=256)
    bank = spec_filterbank(spec)
    assert np.all(bank.sum(axis=1) > 0.99)
    centres = (bank * np.arange(bank.shape[1])).sum(axis=1)
    assert np.all(np.diff(centres) >= 0)


def test_fixed_normalisation_keeps_absolute_level(rng):
    spec = SpectralSpec()
    context = 0.1 * rng.standard_normal((1, spec.context_samples)).astype(np.float32)
    quiet, loud = spec.audio_to_images(np.concatenate([context * 0.1, context]))
    # 20 dB louder audio moves the image up by 20 dB of the mapped range.
    expected_shift = 2 * 20.0 / (spec.db_max - spec.db_min)
    assert np.median(loud - quiet) == pytest.approx(expected_shift, abs=0.01)


@settings(max_examples=25, deadline=None)
@given(height=st.integers(8, 64), width=st.integers(8, 64), method=st.sampled_from(["bicubic", "area"]))
def test_resize_preserves_constants(height, width, method):
    from raingan.core.resize import resize_images

    images = np.full((2, 40, 30), 0.25, dtype=np.float32)
    resized = resize_images(images, (height, width), method)
    assert resized.shape == (2, height, width)
    np.testing.assert_allclose(resized, 0.25, atol=1e-5)


def test_article_spec_round_trips_images_through_the_squash(rng):
    spec = article_spec()
    context = 0.1 * rng.standard_normal((1, spec.context_samples)).astype(np.float32)
    images = spec.audio_to_images(context)
    assert images.shape == (1, 256, 256)
    magnitudes = spec.images_to_magnitudes(images)
    assert magnitudes.shape == (1, 375, 1025) and np.all(np.isfinite(magnitudes))
