"""The speckle of a noisy spectrum, as the spec's STFT makes it.

A bin of a noise-like sound's STFT has power ``P E``: ``P`` the mean power there, ``E``
exponentially distributed (the squared magnitude of a complex Gaussian). ``E`` is not
independent from bin to bin and frame to frame: the window's overlap (75 % at hop 256 of
1024) and its spectral width correlate neighbours. Drawing ``E`` independently for every
frame changes the level of every frame at random, a modulation at the frame rate (172 Hz)
that no recording has; taking it from the STFT of white noise gives it exactly the
correlations of a real spectrum. A streaming generator writes ``P``; training and the
runtime add ``10 log10 E`` (:func:`speckle_db`).

Rain is not quite Gaussian inside a frame: drops are clicks shorter than the window. The
runtime can take its speckle from an :func:`excitation` with a share of its power in sparse
impulses (:class:`Drops`, fitted to the training audio by :mod:`raingan.training.drops`), whose
phase then puts each click where it falls. The share may rise or fall with frequency (drops
splash brighter than the bed they fall on): then a pair of filters splits the spectrum between
the clicks and the Gaussian bed, and an :class:`ExcitationStream` carries their state from one
block to the next.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .spec import SpectralSpec
from .stft import hann_window, stft


def speckle_db(noise: np.ndarray, spec: SpectralSpec) -> np.ndarray:
    """``10 log10 E`` of white noise, the image rows' speckle, dB.

    Parameters
    ----------
    noise : shape (n_samples,), standard normal; ``n_samples = (frames - 1) * hop + win``

    Returns
    -------
    np.ndarray, shape (height, frames), float32; mean -2.5 dB, standard deviation 5.6 dB
    """
    return speckle_and_phase(noise, spec)[0]


def speckle_and_phase(noise: np.ndarray, spec: SpectralSpec) -> tuple[np.ndarray, np.ndarray]:
    """:func:`speckle_db`, and the phase of the noise's STFT, shape (frames, n_fft // 2 + 1),
    float32, radians: with the speckle's magnitudes it is a consistent STFT, so phase
    reconstruction that starts from it has nothing to repair where the mean is steady
    (PGHI's estimate, made for sounds with structure, left noise modulated at the frame rate
    unless many Griffin-Lim iterations followed)."""
    spectra = stft(noise, spec.n_fft, spec.win_length, spec.hop_length)
    power = (spectra.real ** 2 + spectra.imag ** 2)[:, :spec.image_shape[0]]
    power *= np.float32(1.0 / window_power(spec))
    speckle = (np.float32(10.0) * np.log10(np.maximum(power, np.float32(1e-12)))).T
    return speckle, np.arctan2(spectra.imag, spectra.real)


def window_power(spec: SpectralSpec) -> float:
    """Sum of the squared window: the mean STFT power of unit white noise in every bin."""
    return float(np.sum(hann_window(spec.win_length).astype(np.float64) ** 2))


def frame_power_weights(spec: SpectralSpec) -> np.ndarray:
    """How much of a frame's power comes from each hop-long stretch of sound around its
    centre, shape (2 * reach + 1,), symmetric, summing to 1; ``reach`` hops each side.

    A frame sees a power envelope through its squared window, so the mean powers of
    neighbouring frames of any real sound are blends of one envelope: a frame whose mean
    jumps alone, as a generator may write it, is a spectrum no sound has, and its
    reconstruction is modulated at the frame rate. Smoothing the means with these weights
    makes them blends of one envelope again.
    """
    window = hann_window(spec.win_length).astype(np.float64) ** 2
    centre, hop = spec.win_length // 2, spec.hop_length
    reach = (spec.win_length // 2 + hop // 2) // hop
    weights = []
    for k in range(-reach, reach + 1):
        low = max(centre + k * hop - hop // 2, 0)
        high = min(centre + k * hop + hop - hop // 2, spec.win_length)
        weights.append(window[low:high].sum() if high > low else 0.0)
    weights = np.array(weights)
    weights = 0.5 * (weights + weights[::-1])
    return weights / weights.sum()


#: Where a tilted drop share equals :attr:`Drops.share`, Hz: the middle of the 2-8 kHz band
#: where drops stand out most from the bed.
TILT_REFERENCE_HZ = 4000.0
#: Length of the filters that split a tilted excitation between clicks and bed, samples (odd:
#: linear phase, 2.9 ms at 44.1 kHz, short against a frame).
TILT_TAPS = 129


@dataclass(frozen=True)
class Drops:
    """Sparse impulses in the excitation that the speckle and its phase come from.

    Attributes
    ----------
    rate_hz : mean number of impulses per second (a Poisson process), > 0
    share : fraction of the excitation's power in the impulses, in [0, 1); the rest is
        white Gaussian noise
    shared : fraction of the impulses common to every channel of a stream, in [0, 1]: the
        same clicks, at the same samples with the same signs (one drop heard by both
        microphones); the rest are each channel's own. Each channel's excitation is the same
        whatever it is; the channels' mix keeps more of its clicks the more are shared.
    level_spread_db : standard deviation of the impulses' levels, dB, >= 0: big drops and
        small ones (log-normal amplitudes, their mean power kept); 0: all alike
    tilt_db_per_octave : how the impulses' power against the bed's changes per octave, dB,
        within +-12; ``share`` is the share at :data:`TILT_REFERENCE_HZ`
        (:meth:`share_at`); 0: the same share at every frequency
    """

    rate_hz: float
    share: float
    shared: float = 0.0
    level_spread_db: float = 0.0
    tilt_db_per_octave: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate_hz) and self.rate_hz > 0):
            raise ValueError(f"drop rate must be a positive number of Hz, got {self.rate_hz}")
        if not 0.0 <= self.share < 1.0:
            raise ValueError(f"drop share must be in [0, 1), got {self.share}")
        if not 0.0 <= self.shared <= 1.0:
            raise ValueError(f"shared drops must be a fraction in [0, 1], got {self.shared}")
        if not (math.isfinite(self.level_spread_db) and 0.0 <= self.level_spread_db <= 40.0):
            raise ValueError(f"drop level spread must be 0-40 dB, got {self.level_spread_db}")
        if not (math.isfinite(self.tilt_db_per_octave) and abs(self.tilt_db_per_octave) <= 12.0):
            raise ValueError(f"drop tilt must be within +-12 dB per octave, got "
                             f"{self.tilt_db_per_octave}")

    def share_at(self, frequency_hz: np.ndarray) -> np.ndarray:
        """The impulses' share of the power at each frequency (Hz; any shape, > 0): ``share``
        at :data:`TILT_REFERENCE_HZ`, their power against the bed's tilted by
        ``tilt_db_per_octave``."""
        ratio = self.share / (1.0 - self.share) * 10.0 ** (
            self.tilt_db_per_octave * np.log2(np.asarray(frequency_hz) / TILT_REFERENCE_HZ) / 10.0)
        return ratio / (1.0 + ratio)

    def to_dict(self) -> dict[str, float]:
        """The drops as a dict; ``shared``, ``level_spread_db`` and ``tilt_db_per_octave``
        only when not 0 (older readers know the rest)."""
        data = {"rate_hz": self.rate_hz, "share": self.share}
        for key in ("shared", "level_spread_db", "tilt_db_per_octave"):
            if getattr(self, key) != 0.0:
                data[key] = getattr(self, key)
        return data

    def summary(self) -> str:
        """The drops in words, e.g. "100 a second, 30 % of its power, levels spread 4 dB"."""
        text = f"{self.rate_hz:g} a second, {100 * self.share:g} % of its power"
        if self.level_spread_db:
            text += f", levels spread {self.level_spread_db:g} dB"
        if self.tilt_db_per_octave:
            text += f", tilted {self.tilt_db_per_octave:+g} dB an octave"
        if self.shared:
            text += f", {100 * self.shared:g} % shared by the channels"
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Drops":
        return cls(rate_hz=float(data["rate_hz"]), share=float(data["share"]),
                   shared=float(data.get("shared", 0.0)),
                   level_spread_db=float(data.get("level_spread_db", 0.0)),
                   tilt_db_per_octave=float(data.get("tilt_db_per_octave", 0.0)))


def excitation(rng: np.random.Generator, n_samples: int, drops: Drops | None,
               sample_rate_hz: float, common: np.random.Generator | None = None
               ) -> np.ndarray:
    """White noise of unit power to take the speckle from, shape (n_samples,), float32.

    Without ``drops`` it is standard normal (one draw of ``n_samples``). With them, a
    ``1 - share`` part of its power is Gaussian and a ``share`` part single-sample impulses
    of random sign (and log-normal size, ``level_spread_db``) at ``rate_hz`` on average: the
    same flat mean spectrum, but each impulse is one click, spread over the frames whose
    windows hold it, in the right place. With a tilt (``tilt_db_per_octave``) each part is
    filtered to its share of each frequency (:func:`tilt_filters`), circularly: the
    excitation of a loop is periodic. An :class:`ExcitationStream` draws it block after
    block, its filters running on from one block into the next.

    Parameters
    ----------
    common : the clicks every channel shares: a generator in the same state for every
        channel of a stream, called with the same ``n_samples`` in turn. A ``drops.shared``
        part of the impulses comes from it, the rest from ``rng``. None: all from ``rng``.
    """
    gaussian = rng.standard_normal(n_samples, dtype=np.float32)
    if drops is None or drops.share == 0.0:
        return gaussian
    if drops.tilt_db_per_octave != 0.0:
        bed_taps, click_taps = tilt_filters(drops, sample_rate_hz)
        clicks = _clicks(np.zeros(n_samples, np.float32), 1.0, rng, common, drops,
                         sample_rate_hz)
        return (_circular_fir(gaussian, bed_taps) + _circular_fir(clicks, click_taps)
                ).astype(np.float32)
    return _clicks(gaussian * np.float32(math.sqrt(1.0 - drops.share)), drops.share, rng,
                   common, drops, sample_rate_hz)


def _clicks(noise: np.ndarray, share: float, rng: np.random.Generator,
            common: np.random.Generator | None, drops: Drops, sample_rate_hz: float
            ) -> np.ndarray:
    """``noise`` with the impulses added in place, ``share`` of unit power in them."""
    n_samples = noise.shape[0]
    probability = min(drops.rate_hz / sample_rate_hz, 1.0)
    shared = 0.0 if common is None else drops.shared
    amplitude = np.float32(math.sqrt(share / probability))
    sources = [(rng, probability * (1.0 - shared))]
    if shared > 0.0:
        sources.append((common, probability * shared))
    sigma = drops.level_spread_db * math.log(10.0) / 20.0  # of the amplitudes' logarithm
    for source, rate in sources:
        hits = np.flatnonzero(source.random(n_samples) < rate)
        signs = source.integers(0, 2, hits.size).astype(np.float32) * 2.0 - 1.0
        if sigma > 0.0:  # log-normal, its mean square 1: exp(2 sigma g - 2 sigma^2)
            signs *= np.exp(sigma * source.standard_normal(hits.size) - sigma * sigma
                            ).astype(np.float32)
        noise[hits] += signs * amplitude
    return noise


@functools.lru_cache(maxsize=16)
def _tilt_filters(share: float, tilt_db_per_octave: float, sample_rate_hz: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    # Frequency sampling, windowed (scipy.signal's firwin2 would cost a render 50 MB).
    n_fft = 8 * TILT_TAPS
    drops_share = Drops(1.0, share, tilt_db_per_octave=tilt_db_per_octave).share_at(
        np.maximum(np.fft.rfftfreq(n_fft, 1.0 / sample_rate_hz), 20.0))  # no end at 0 Hz
    window = np.hamming(TILT_TAPS)

    def design(amplitude: np.ndarray) -> np.ndarray:
        return np.roll(np.fft.irfft(amplitude, n_fft), TILT_TAPS // 2)[:TILT_TAPS] * window

    return design(np.sqrt(1.0 - drops_share)), design(np.sqrt(drops_share))


def tilt_filters(drops: Drops, sample_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """The linear-phase filters (:data:`TILT_TAPS` taps each) that give unit-power white
    noise and unit-power clicks their shares of each frequency, :meth:`Drops.share_at`:
    amplitude responses ``sqrt(1 - share(f))`` (the bed) and ``sqrt(share(f))`` (the
    clicks), so that their sum's mean spectrum stays flat."""
    return _tilt_filters(drops.share, drops.tilt_db_per_octave, float(sample_rate_hz))


def _circular_fir(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """``x`` filtered by ``taps`` as if it repeated for ever, float64."""
    n = x.shape[0]
    if n == 0:
        return np.zeros(0)
    folded = np.bincount(np.arange(taps.shape[0]) % n, weights=taps, minlength=n)
    return np.fft.irfft(np.fft.rfft(x) * np.fft.rfft(folded, n), n)


class ExcitationStream:
    """:func:`excitation` drawn block after block. Untilted, each block is
    :func:`excitation`'s; tilted, the filters carry their state across blocks, so that the
    blocks filter as one signal (the random draws, as :func:`excitation`'s, are made block
    by block: the same block lengths give the same excitation).

    Parameters
    ----------
    rng, drops, sample_rate_hz, common : as :func:`excitation`'s
    """

    def __init__(self, rng: np.random.Generator, drops: Drops | None, sample_rate_hz: float,
                 common: np.random.Generator | None = None):
        self._rng, self._drops, self._rate_hz, self._common = rng, drops, sample_rate_hz, common
        self._tilted = drops is not None and drops.share > 0.0 and drops.tilt_db_per_octave != 0
        self._taps = (tuple(h.astype(np.float32) for h in tilt_filters(drops, sample_rate_hz))
                      if self._tilted else None)  # (bed, clicks)
        self._tails: list[np.ndarray] | None = None  # what each filter rings on with

    def draw(self, n_samples: int) -> np.ndarray:
        """The next ``n_samples`` of the excitation, shape (n_samples,), float32."""
        if not self._tilted:
            return excitation(self._rng, n_samples, self._drops, self._rate_hz, self._common)
        bed_taps, click_taps = self._taps
        if self._tails is None:  # start as if the excitation had always been running
            self._tails = [np.zeros(TILT_TAPS - 1, np.float32) for _ in range(2)]
            self._filtered(TILT_TAPS - 1, bed_taps, click_taps)
        return self._filtered(n_samples, bed_taps, click_taps)

    def _filtered(self, n_samples: int, bed_taps: np.ndarray, click_taps: np.ndarray
                  ) -> np.ndarray:
        gaussian = self._rng.standard_normal(n_samples, dtype=np.float32)
        clicks = _clicks(np.zeros(n_samples, np.float32), 1.0, self._rng, self._common,
                         self._drops, self._rate_hz)
        hits = np.flatnonzero(clicks)  # few: each click places the taps
        ringing = np.zeros(n_samples + TILT_TAPS - 1, np.float32)
        np.add.at(ringing, (hits[:, None] + np.arange(TILT_TAPS)).ravel(),
                  (clicks[hits, None] * click_taps).ravel())
        out = np.zeros(n_samples, np.float32)
        for k, full in enumerate((np.convolve(gaussian, bed_taps), ringing)):
            full[:TILT_TAPS - 1] += self._tails[k]
            self._tails[k] = full[n_samples:].copy()
            out += full[:n_samples]
        return out
