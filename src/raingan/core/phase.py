"""Phase reconstruction from STFT magnitudes, batched over chunks, float32.

Two methods, usable alone or together:

- Fast Griffin-Lim (Perraudin, Balazs & Sondergaard 2013): Griffin-Lim with momentum.
- Phase Gradient Heuristic Integration (Prusa, Balazs & Sondergaard 2017), in the native
  module: a non-iterative estimate, and the best initialiser of Fast Griffin-Lim.

Chunks are independent, so a batch is split into pieces that run on a thread pool: scipy's
FFTs and the native kernels release the GIL, which keeps every core busy.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import scipy.fft

from .spec import SpectralSpec
from .stft import hann_window, inverse_window_sum, samples_for_frames

PhaseInit = Literal["pghi", "random", "zero"]

#: Chunks per thread-pool task: small enough to stay in cache, large enough to amortise.
#: A piece of 4 holds about 15 MB of spectra and frames while it runs (8: 30 MB).
PIECE_CHUNKS = 4

_POOL: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class PhaseSettings:
    """How to reconstruct phase.

    Attributes
    ----------
    init : starting phase: "pghi", "random" (uniform) or "zero"
    n_iter : Fast Griffin-Lim iterations after the initialisation (0: the init alone)
    momentum : Fast Griffin-Lim momentum; 0 gives plain Griffin-Lim
    seed : seed of the random initial phase
    """

    init: PhaseInit = "pghi"
    n_iter: int = 16
    momentum: float = 0.99
    seed: int = 0

    def __post_init__(self) -> None:
        if self.init not in ("pghi", "random", "zero"):
            raise ValueError(f"phase init must be 'pghi', 'random' or 'zero', got {self.init!r}")
        if self.n_iter < 0:
            raise ValueError(f"n_iter must be >= 0, got {self.n_iter}")
        if not 0.0 <= self.momentum < 2.0:
            raise ValueError(f"momentum must be in [0, 2), got {self.momentum}")


#: The phase generated rain is rendered with (streams, loops, stems, RainSource). A
#: generator's images are not consistent spectrograms: Fast Griffin-Lim brings them no
#: nearer one after its first iterations (spectral convergence -11.7 dB at 16 and at 64),
#: and the standard-width model's 60 s renderings scored the same after 2 as after 16 (texture
#: distance 0.283 and 0.290 over ten seeds, BENCHMARKS.md, "Phase iterations for generated
#: rain") at 35x real time instead of 20x (the bundled model: 0.259 and 0.267). Real audio's round trip keeps the default 16, which it does need.
STREAM_PHASE = PhaseSettings(n_iter=2)

#: Plain Griffin-Lim from random phase, as in the RainGAN article (tfio, 30 iterations).
ARTICLE_PHASE = PhaseSettings(init="random", n_iter=30, momentum=0.0)


def reconstruct(magnitudes: np.ndarray, spec: SpectralSpec,
                settings: PhaseSettings = PhaseSettings(),
                initial_phase: np.ndarray | None = None) -> np.ndarray:
    """Audio whose STFT magnitudes approximate ``magnitudes``.

    Parameters
    ----------
    magnitudes : np.ndarray, shape (batch, n_frames, n_fft // 2 + 1), float32
    initial_phase : same shape, radians: the starting phase, instead of ``settings.init``'s

    Returns
    -------
    np.ndarray, shape (batch, spec.context_samples), float32
        Deterministic for given magnitudes and settings, whatever the thread count.
    """
    magnitudes = _checked_magnitudes(magnitudes, spec)
    if initial_phase is not None and initial_phase.shape != magnitudes.shape:
        raise ValueError(f"initial phase of shape {initial_phase.shape} for magnitudes of "
                         f"shape {magnitudes.shape}")
    out = np.empty((magnitudes.shape[0], spec.context_samples), dtype=np.float32)

    def finish(piece: slice, spectra: np.ndarray) -> None:
        out[piece] = spec.istft(spectra, workers=1)

    _run_pieces(magnitudes, spec, settings, finish, initial_phase)
    return out


def estimate_phase(magnitudes: np.ndarray, spec: SpectralSpec,
                   settings: PhaseSettings = PhaseSettings()) -> np.ndarray:
    """The phase :func:`reconstruct` gives ``magnitudes`` (before its inverse STFT).

    Returns
    -------
    np.ndarray, shape (batch, n_frames, n_fft // 2 + 1), float32, radians
    """
    magnitudes = _checked_magnitudes(magnitudes, spec)
    out = np.empty(magnitudes.shape, dtype=np.float32)

    def finish(piece: slice, spectra: np.ndarray) -> None:
        out[piece] = np.arctan2(spectra.imag, spectra.real)

    _run_pieces(magnitudes, spec, settings, finish)
    return out


def _checked_magnitudes(magnitudes: np.ndarray, spec: SpectralSpec) -> np.ndarray:
    magnitudes = np.ascontiguousarray(magnitudes, dtype=np.float32)
    if magnitudes.ndim != 3 or magnitudes.shape[-1] != spec.n_fft_bins:
        raise ValueError(f"expected magnitudes of shape (batch, frames, {spec.n_fft_bins}), "
                         f"got {magnitudes.shape}")
    return magnitudes


def _run_pieces(magnitudes: np.ndarray, spec: SpectralSpec, settings: PhaseSettings,
                finish: Callable[[slice, np.ndarray], None],
                given_phase: np.ndarray | None = None) -> None:
    """Phase-reconstruct the checked batch in pieces on the thread pool;
    ``finish(piece, spectra)`` takes each piece's complex spectra."""
    random_phase = given_phase
    if given_phase is None and settings.init == "random":
        rng = np.random.default_rng(settings.seed)
        random_phase = rng.uniform(-np.pi, np.pi, size=magnitudes.shape).astype(np.float32)

    def run_piece(start: int) -> None:
        piece = slice(start, start + PIECE_CHUNKS)
        mags = magnitudes[piece]
        if random_phase is not None:
            spectra = polar(mags, random_phase[piece])
        else:
            spectra = polar(mags, _initial_phase(mags, spec, settings, None))
        finish(piece, fast_griffin_lim(spectra, mags, spec, settings.n_iter, settings.momentum))

    starts = range(0, magnitudes.shape[0], PIECE_CHUNKS)
    list(_pool().map(run_piece, starts))  # list() re-raises any worker's exception


def polar(magnitudes: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """``magnitudes * exp(1j * phase)`` as complex64, from float32 cosines and sines.

    numpy's complex exponential of a float32 phase runs in complex128: 24 ms per 8 chunks,
    a sixth of their reconstruction; this takes 1.
    """
    spectra = np.empty(magnitudes.shape, dtype=np.complex64)
    phase = np.asarray(phase, dtype=np.float32)
    np.multiply(magnitudes, np.cos(phase), out=spectra.real)
    np.multiply(magnitudes, np.sin(phase), out=spectra.imag)
    return spectra


def _initial_phase(magnitudes: np.ndarray, spec: SpectralSpec, settings: PhaseSettings,
                   random_phase: np.ndarray | None) -> np.ndarray:
    if settings.init == "pghi":
        from .. import _native  # the compiled module; imported here so numpy users need not

        # One thread each: the caller already runs pieces of the batch on every core.
        return _native.pghi(magnitudes, spec.n_fft, spec.win_length, spec.hop_length,
                            num_threads=1)
    if settings.init == "zero":
        return np.zeros_like(magnitudes)
    return random_phase


def fast_griffin_lim(spectra: np.ndarray, magnitudes: np.ndarray, spec: SpectralSpec,
                     n_iter: int, momentum: float) -> np.ndarray:
    """Refine complex spectra towards a consistent STFT with the given magnitudes.

    Parameters
    ----------
    spectra : np.ndarray, shape (batch, frames, bins), complex64: the starting point
    magnitudes : np.ndarray, same shape, float32: the target magnitudes
    n_iter : iterations; momentum : 0 gives plain Griffin-Lim, 0.99 is the usual choice

    Returns
    -------
    np.ndarray, same shape, complex64, with magnitudes equal to ``magnitudes``
    """
    if n_iter == 0:
        return spectra
    from .. import _native

    batch, n_frames, _ = spectra.shape
    n_fft, win, hop = spec.n_fft, spec.win_length, spec.hop_length
    window = hann_window(win)
    inverse_sum = inverse_window_sum(n_frames, win, hop)
    signal = np.empty((batch, samples_for_frames(n_frames, win, hop)), dtype=np.float32)
    frames = np.empty((batch, n_frames, win), dtype=np.float32)
    magnitudes = np.ascontiguousarray(magnitudes, dtype=np.float32)
    spectra = np.array(spectra, dtype=np.complex64, order="C")
    previous = spectra.copy()
    # The FFTs stay in scipy; the native kernels fuse the passes between them. One FFT
    # worker: the caller runs pieces of the batch on every core.
    for _ in range(n_iter):
        # spectra is rewritten in full by the projection, so irfft may scratch it.
        inverse = scipy.fft.irfft(spectra, n=n_fft, axis=-1, workers=1, overwrite_x=True)
        _native.overlap_add_reframe(inverse, win, hop, window, inverse_sum, signal, frames)
        rebuilt = scipy.fft.rfft(frames, n=n_fft, axis=-1, workers=1)
        _native.project_with_momentum(rebuilt, magnitudes, previous, spectra, momentum)
    return previous


def spectral_convergence_db(audio: np.ndarray, magnitudes: np.ndarray, spec: SpectralSpec) -> float:
    """20 log10(|| |STFT(audio)| - S ||_F / ||S||_F) over the whole batch; lower is better.

    Parameters
    ----------
    audio : np.ndarray, shape (batch, context_samples)
    magnitudes : np.ndarray, shape (batch, frames, bins), the target S
    """
    rebuilt = np.abs(spec.stft(audio))
    error = np.linalg.norm((rebuilt - magnitudes).ravel())
    return float(20.0 * np.log10(error / max(np.linalg.norm(magnitudes.ravel()), 1e-20)))


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                   thread_name_prefix="raingan-phase")
    return _POOL
