import numpy as np
import pytest

from raingan.core import roundtrip
from raingan.core.audio_io import read_audio
from raingan.core.errors import AudioInputError
from raingan.core.phase import PhaseSettings
from raingan.core.spec import SpectralSpec


def test_chunk_contexts_cover_the_signal_with_the_stream_step(rng):
    spec = SpectralSpec(n_frames=32, crossfade_frames=8)
    signal = rng.standard_normal(5 * spec.chunk_samples).astype(np.float32)
    contexts = roundtrip.chunk_contexts(signal, spec)
    m = spec.margin_samples
    for k in range(1, contexts.shape[0] - 1):
        start = k * spec.chunk_step_samples
        np.testing.assert_array_equal(contexts[k, m:m + spec.chunk_samples],
                                      signal[start:start + spec.chunk_samples])


def test_round_trip_of_real_rain_keeps_length_level_and_spectrum(rain_path):
    rec = read_audio(rain_path)
    clip = rec.samples[: 3 * rec.sample_rate_hz]
    out = roundtrip.round_trip(clip, rec.sample_rate_hz, SpectralSpec(), PhaseSettings(n_iter=8))
    assert out.shape == clip.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out))
    level_db = 10 * np.log10(np.mean(out ** 2) / np.mean(clip ** 2))
    assert abs(level_db) < 1.5
    # Long-term spectra agree within a few dB in octave bands from 100 Hz to 16 kHz.
    def octave_db(x):
        spectrum = np.abs(np.fft.rfft(x[:, 0])) ** 2
        hz = np.fft.rfftfreq(x.shape[0], 1 / rec.sample_rate_hz)
        edges = 100 * 2.0 ** np.arange(8)
        return np.array([10 * np.log10(spectrum[(hz >= lo) & (hz < 2 * lo)].mean()) for lo in edges])
    assert np.max(np.abs(octave_db(out) - octave_db(clip))) < 3.0


def test_round_trip_resamples_other_rates(rng):
    spec = SpectralSpec(n_frames=32, crossfade_frames=8)
    audio = (0.1 * rng.standard_normal((48000, 2))).astype(np.float32)
    out = roundtrip.round_trip(audio, 48000, spec, PhaseSettings(n_iter=2))
    assert out.shape == audio.shape


def test_audio_shorter_than_one_chunk_is_refused():
    spec = SpectralSpec()
    with pytest.raises(AudioInputError, match="shorter than one chunk"):
        roundtrip.chunk_contexts(np.ones(spec.chunk_samples - 1, dtype=np.float32), spec)
