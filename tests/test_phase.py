import numpy as np
import pytest

from raingan.core import phase
from raingan.core.phase import PhaseSettings
from raingan.core.spec import SpectralSpec

SPEC = SpectralSpec(n_frames=64)


def _chirp_and_sines(n_samples: int, sample_rate_hz: int) -> np.ndarray:
    t = np.arange(n_samples) / sample_rate_hz
    chirp = np.sin(2 * np.pi * (200 * t + 0.5 * 4000 * t ** 2))
    sines = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 3000 * t)
    return np.stack([chirp, sines]).astype(np.float32)


@pytest.fixture(scope="module")
def known_magnitudes() -> np.ndarray:
    return np.abs(SPEC.stft(_chirp_and_sines(SPEC.context_samples, SPEC.sample_rate_hz)))


def test_fast_griffin_lim_converges_on_known_signals(known_magnitudes):
    errors = []
    for n_iter in (0, 8, 32):
        audio = phase.reconstruct(known_magnitudes, SPEC, PhaseSettings(init="random", n_iter=n_iter))
        errors.append(phase.spectral_convergence_db(audio, known_magnitudes, SPEC))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < -15.0


def test_momentum_beats_plain_griffin_lim(known_magnitudes):
    fast, plain = (phase.spectral_convergence_db(
        phase.reconstruct(known_magnitudes, SPEC, PhaseSettings(init="random", n_iter=16,
                                                                momentum=m)),
        known_magnitudes, SPEC) for m in (0.99, 0.0))
    assert fast < plain - 3.0


def test_pghi_initialisation_beats_random(known_magnitudes):
    pghi, random = (phase.spectral_convergence_db(
        phase.reconstruct(known_magnitudes, SPEC, PhaseSettings(init=init, n_iter=8)),
        known_magnitudes, SPEC) for init in ("pghi", "random"))
    assert pghi < random - 3.0


def test_reconstruction_is_deterministic_and_independent_of_batching(rng):
    mags = np.abs(SPEC.stft(rng.standard_normal((11, SPEC.context_samples)).astype(np.float32)))
    settings = PhaseSettings(init="random", n_iter=4, seed=7)
    whole = phase.reconstruct(mags, SPEC, settings)
    np.testing.assert_array_equal(whole, phase.reconstruct(mags, SPEC, settings))
    pghi = PhaseSettings(init="pghi", n_iter=4)
    np.testing.assert_allclose(phase.reconstruct(mags[:3], SPEC, pghi),
                               phase.reconstruct(mags, SPEC, pghi)[:3], atol=1e-6)


def test_bad_settings_and_shapes_are_refused():
    with pytest.raises(ValueError, match="n_iter"):
        PhaseSettings(n_iter=-1)
    with pytest.raises(ValueError, match="phase init"):
        PhaseSettings(init="magic")
    with pytest.raises(ValueError, match="expected magnitudes"):
        phase.reconstruct(np.zeros((2, 10, 7), dtype=np.float32), SPEC)


def test_polar_is_the_complex_exponential_in_single_precision(rng):
    magnitudes = rng.uniform(0, 50, (2, 5, 7)).astype(np.float32)
    angles = rng.uniform(-10, 10, (2, 5, 7)).astype(np.float32)
    spectra = phase.polar(magnitudes, angles)
    assert spectra.dtype == np.complex64
    np.testing.assert_allclose(spectra, magnitudes * np.exp(1j * angles.astype(np.float64)),
                               atol=1e-4)


@pytest.mark.parametrize("settings", [PhaseSettings(), PhaseSettings(init="random", n_iter=4)])
def test_estimated_phase_is_the_reconstructions(known_magnitudes, settings):
    estimated = phase.estimate_phase(known_magnitudes, SPEC, settings)
    assert estimated.shape == known_magnitudes.shape and estimated.dtype == np.float32
    rebuilt = SPEC.istft(phase.polar(known_magnitudes, estimated))
    np.testing.assert_allclose(rebuilt, phase.reconstruct(known_magnitudes, SPEC, settings),
                               atol=1e-4 * np.abs(rebuilt).max())
    with pytest.raises(ValueError, match="magnitudes of shape"):
        phase.estimate_phase(known_magnitudes[0], SPEC, settings)
