import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raingan.core import stft as stft_mod
from raingan.core.spec import SpectralSpec
from raingan.core.stitch import Stitcher, equal_power_fades, seam_fades, stitch


@pytest.mark.parametrize("n_fft, win, hop", [(1024, 1024, 256), (2048, 1024, 64), (512, 256, 128)])
def test_stft_pair_reconstructs_perfectly_with_known_phase(n_fft, win, hop, rng):
    x = rng.standard_normal((2, 20 * hop + win)).astype(np.float32)
    y = stft_mod.istft(stft_mod.stft(x, n_fft, win, hop), n_fft, win, hop)
    margin = (win - hop) // 2  # reconstruction is used from the margin inwards
    np.testing.assert_allclose(y[:, margin:-margin], x[:, margin:-margin], atol=2e-5)


def test_native_consistency_step_equals_stft_of_istft(rng):
    import scipy.fft

    from raingan import _native

    spec = SpectralSpec(n_frames=16, crossfade_frames=4)
    x = rng.standard_normal((3, spec.context_samples)).astype(np.float32)
    spectra = spec.stft(x) * np.exp(1j * rng.uniform(-3, 3, (3, spec.n_frames, spec.n_fft_bins)))
    inverse = scipy.fft.irfft(spectra.astype(np.complex64), n=spec.n_fft, axis=-1)
    signal = np.empty((3, spec.context_samples), dtype=np.float32)
    frames = np.empty((3, spec.n_frames, spec.win_length), dtype=np.float32)
    _native.overlap_add_reframe(inverse, spec.win_length, spec.hop_length,
                                stft_mod.hann_window(spec.win_length),
                                stft_mod.inverse_window_sum(spec.n_frames, spec.win_length,
                                                            spec.hop_length), signal, frames)
    # The outermost samples, which a single near-zero window tip reaches, amplify rounding;
    # reconstruction only ever uses the chunk from its margin inwards.
    owned = slice(spec.margin_samples, -spec.margin_samples)
    np.testing.assert_allclose(signal[:, owned], spec.istft(spectra)[:, owned], atol=1e-4)
    rebuilt = scipy.fft.rfft(frames, n=spec.n_fft, axis=-1)
    expected = spec.stft(spec.istft(spectra))
    assert np.linalg.norm(rebuilt - expected) < 1e-4 * np.linalg.norm(expected)


def test_native_kernels_refuse_wrong_shapes_and_dtypes():
    from raingan import _native

    good = np.zeros((1, 4, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="frames_out must have shape"):
        _native.overlap_add_reframe(good, 8, 4, np.ones(8, np.float32), np.ones(20, np.float32),
                                    np.zeros((1, 20), np.float32), np.zeros((1, 4, 7), np.float32))
    with pytest.raises(TypeError):
        _native.project_with_momentum(np.zeros(4, np.complex128), np.zeros(4, np.float32),
                                      np.zeros(4, np.complex64), np.zeros(4, np.complex64), 0.9)
    with pytest.raises(ValueError, match="equal sizes"):
        _native.project_with_momentum(np.zeros(4, np.complex64), np.zeros(3, np.float32),
                                      np.zeros(4, np.complex64), np.zeros(4, np.complex64), 0.9)


def test_fades_keep_power_constant():
    fade_in, fade_out = equal_power_fades(512)
    np.testing.assert_allclose(fade_in ** 2 + fade_out ** 2, 1.0, atol=1e-6)


def test_stitcher_keeps_power_constant_for_uncorrelated_chunks(rng):
    spec = SpectralSpec(crossfade_frames=32)
    n_chunks = 400
    chunks = rng.standard_normal((n_chunks, spec.chunk_samples)).astype(np.float32)
    out = stitch(chunks, spec)
    assert out.shape == ((n_chunks - 1) * spec.chunk_step_samples + spec.chunk_samples,)
    # Average power at each position within the chunk period: flat across the crossfades.
    step = spec.chunk_step_samples
    body = out[step: step * (n_chunks - 1)].reshape(-1, step)
    power_by_phase = (body ** 2).mean(axis=0)
    blocks = power_by_phase.reshape(-1, spec.hop_length).mean(axis=1)
    assert blocks.min() > 0.93 and blocks.max() < 1.07


def test_stitcher_keeps_power_constant_for_chunks_whose_overlaps_agree(rng):
    # A streaming model's consecutive chunks reconstruct the same frames: their overlaps are
    # nearly one signal, which plain equal-power fades would sum to a +3 dB swell per seam.
    spec = SpectralSpec(crossfade_frames=32)
    n_chunks, step = 200, spec.chunk_step_samples
    signal = rng.standard_normal(n_chunks * step + spec.crossfade_samples).astype(np.float32)
    chunks = np.stack([signal[k * step:k * step + spec.chunk_samples] for k in range(n_chunks)])
    chunks += 0.05 * rng.standard_normal(chunks.shape).astype(np.float32)  # rho about 0.998
    out = stitch(chunks, spec)
    body = out[step: step * (n_chunks - 1)].reshape(-1, step)
    blocks = (body ** 2).mean(axis=0).reshape(-1, spec.hop_length).mean(axis=1)
    assert blocks.min() > 0.95 and blocks.max() < 1.05
    # What plain fades do to the same seams:
    fade_in, fade_out = equal_power_fades(spec.crossfade_samples)
    middle = spec.crossfade_samples // 2
    plain = fade_in[middle] * chunks[1:, middle] + fade_out[middle] * chunks[:-1, step + middle]
    assert np.mean(plain ** 2) == pytest.approx(2.0, rel=0.15)


def test_seam_fades_are_the_plain_fades_for_uncorrelated_sides_and_add_to_one_for_equal():
    fade_in, fade_out = equal_power_fades(64)
    tail = np.zeros((64, 2), np.float32)
    tail[::2, 0], tail[1::2, 1] = 1.0, 1.0
    head = np.zeros((64, 2), np.float32)
    head[1::2, 0], head[::2, 1] = 1.0, 1.0  # orthogonal to the tail in both channels
    unchanged = seam_fades(tail, head)
    np.testing.assert_allclose(unchanged[0][:, 0], fade_in, atol=1e-6)
    np.testing.assert_allclose(unchanged[1][:, 1], fade_out, atol=1e-6)
    same_in, same_out = seam_fades(tail, tail)
    np.testing.assert_allclose(same_in + same_out, 1.0, atol=1e-6)
    silent_in, silent_out = seam_fades(np.zeros(64, np.float32), tail[:, 0])  # no NaN
    np.testing.assert_allclose(silent_in, fade_in, atol=1e-6)
    damaged = tail[:, 0].copy()
    damaged[3] = np.inf
    np.testing.assert_allclose(seam_fades(damaged, head[:, 0])[1], fade_out, atol=1e-6)


def test_stitch_places_chunks_at_the_stream_step():
    spec = SpectralSpec(crossfade_frames=8)
    chunks = np.zeros((3, spec.chunk_samples), dtype=np.float32)
    middle = spec.crossfade_samples + 10
    chunks[1, middle] = 1.0
    out = stitch(chunks, spec)
    assert np.flatnonzero(out).tolist() == [spec.chunk_step_samples + middle]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), crossfade=st.integers(0, 64))
def test_streaming_equals_batch_and_is_deterministic(seed, crossfade):
    spec = SpectralSpec(crossfade_frames=crossfade)
    chunks = np.random.default_rng(seed).standard_normal((4, spec.chunk_samples)).astype(np.float32)
    stitcher = Stitcher(spec)
    streamed = np.concatenate([stitcher.push(c) for c in chunks])
    batch = stitch(chunks, spec)
    n = streamed.shape[0]
    np.testing.assert_array_equal(streamed, batch[:n])
    np.testing.assert_array_equal(batch, stitch(chunks.copy(), spec))


def test_stitcher_refuses_wrong_chunk_length():
    with pytest.raises(ValueError, match="expected"):
        Stitcher(SpectralSpec()).push(np.zeros(10, dtype=np.float32))
