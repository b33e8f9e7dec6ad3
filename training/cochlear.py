"""The eval's cochlear envelopes in Keras ops: texture statistics of the sound itself.

``raingan eval`` measures texture on waveforms: each cochlear band's compressed Hilbert
envelope at 400 Hz (:func:`raingan.eval.cochlear.cochlear_envelopes`). The heard images of
:mod:`.reanalysis` look at the sound through the STFT again, 23 ms windows on a 5.8 ms hop,
which smooths what the eval resolves. On the heard-texture model (seed 0; ``benchmarks/
model_quality.py --signed``), its envelope skew lay 0.21 reference spreads further below real
rain's than held-out rain's does (mean of six band regions); with the envelopes first
averaged over 22.5 ms, about an STFT window (``--envelope-smoothing-frames 9``), only 0.09:
much of the sharpness it lacks is shorter than the window the heard images see it through.

:class:`CochlearTexture` is that analysis made differentiable for one chunk of audio: the
chunk's spectrum, each band's bins shifted to baseband and inverse-transformed (the analytic
signal's magnitude does not change under a frequency shift), compressed, and low-passed to
the envelope rate by FFT truncation, exactly as the eval does; then the texture-matching
statistics of :class:`.texture_loss.EnvelopeStatistics`. Real rain's statistics are measured
once, on the corpus's chunks (:meth:`CochlearTexture.target`), and the generator's batch
means are pulled towards them (``raingan train --g-texture-heard --g-texture-audio``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from keras import ops
from scipy import fft as sfft

from ..core.spec import SpectralSpec
from ..eval.cochlear import TextureConfig, band_bins
from .texture_loss import (LOSS_GROUPS, EnvelopeStatistics, real_spread,
                           standardised_mismatch)

#: Envelope frames dropped at each end of a chunk before its statistics: the transforms
#: treat the chunk as periodic, which joins its end to its start (20 ms at 400 Hz).
EDGE_FRAMES = 8
_EPS = 1e-12


@dataclass(frozen=True)
class Band:
    """One cochlear band on a chunk's rFFT bins: ``first`` bin, ``response`` (float32, the
    analytic signal's factor 2 included) and ``n_fine``, the length it is evaluated at."""

    first: int
    response: np.ndarray
    n_fine: int


@dataclass(frozen=True)
class CochlearTarget:
    """Real rain's chunk statistics: per group, the mean and the floored spread over chunks
    (each shape (n_statistics,), float32)."""

    mean: dict[str, np.ndarray]
    spread: dict[str, np.ndarray]


@dataclass(frozen=True)
class CochlearTexture:
    """Fixed arrays for the cochlear texture statistics of chunks of ``n_samples``.

    Attributes
    ----------
    n_samples : samples per chunk (the spec's chunk, without its margins)
    bands : the bands below the Nyquist frequency
    n_frames : envelope frames per chunk, before :data:`EDGE_FRAMES` are dropped at each end
    compression : envelope exponent on amplitude
    frames : statistics over the kept frames
    """

    n_samples: int
    bands: tuple[Band, ...]
    n_frames: int
    compression: float
    frames: EnvelopeStatistics

    @classmethod
    def for_spec(cls, spec: SpectralSpec,
                 config: TextureConfig = TextureConfig()) -> "CochlearTexture":
        n = spec.chunk_samples
        n_frames = int(round(n * config.envelope_rate_hz / spec.sample_rate_hz))
        bands = tuple(Band(first, np.asarray(2.0 * response, dtype=np.float32),
                           sfft.next_fast_len(max(3 * response.shape[0], 2 * n_frames)))
                      for first, response in band_bins(n, spec.sample_rate_hz, config)
                      if response.shape[0] > 0 and np.any(response))
        offsets = tuple(k for k in config.correlation_offsets if k < len(bands))
        return cls(n_samples=n, bands=bands, n_frames=n_frames, compression=config.compression,
                   frames=EnvelopeStatistics.for_frames(n_frames - 2 * EDGE_FRAMES, offsets))

    def envelopes(self, audio):
        """Compressed band envelopes, (batch, n_samples) audio -> (batch, bands, frames)
        at the envelope rate, :data:`EDGE_FRAMES` dropped at each end."""
        real, imag = ops.rfft(audio)
        envelopes = []
        for band in self.bands:
            width = band.response.shape[0]
            pad = ((0, 0), (0, band.n_fine - width))
            re = ops.pad(real[:, band.first:band.first + width] * band.response, pad)
            im = ops.pad(imag[:, band.first:band.first + width] * band.response, pad)
            # |ifft(z)| * n_fine = |fft(conj z)|; the eval scales the analytic signal by
            # n_fine / n_samples, so its magnitude is |fft(conj z)| / n_samples.
            fr, fi = ops.fft((re, -im))
            magnitude = ops.sqrt(ops.square(fr) + ops.square(fi) + _EPS) / self.n_samples
            compressed = ops.power(magnitude, self.compression)
            cr, ci = ops.rfft(compressed)
            keep = self.n_frames // 2 + 1
            envelope = ops.irfft((cr[:, :keep], ci[:, :keep]), fft_length=self.n_frames)
            envelopes.append(envelope * (self.n_frames / band.n_fine))
        stacked = ops.stack(envelopes, axis=1)[:, :, EDGE_FRAMES:self.n_frames - EDGE_FRAMES]
        return ops.maximum(stacked, 0.0)

    def statistics(self, audio) -> dict[str, object]:
        """Texture statistics of each chunk: group name -> (batch, n_statistics) tensor."""
        return self.frames(self.envelopes(audio))

    def target(self, chunks: np.ndarray, batch: int = 64) -> CochlearTarget:
        """Real rain's statistics from ``chunks`` of audio, shape (n, n_samples)."""
        parts = [self.statistics(np.asarray(chunks[i:i + batch], dtype=np.float32))
                 for i in range(0, chunks.shape[0], batch)]
        stats = {g: np.concatenate([ops.convert_to_numpy(p[g]) for p in parts])
                 for g in LOSS_GROUPS}
        mean = {g: stats[g].mean(axis=0).astype(np.float32) for g in LOSS_GROUPS}
        spread = {g: np.asarray(ops.convert_to_numpy(real_spread(stats[g], mean[g])),
                                dtype=np.float32) for g in LOSS_GROUPS}
        return CochlearTarget(mean, spread)

    def matching_loss(self, fake_audio, target: CochlearTarget):
        """:func:`.texture_loss.standardised_mismatch` of the fake chunks' statistics
        against ``target`` (a scalar tensor)."""
        return standardised_mismatch(self.statistics(fake_audio), target.mean, target.spread)


def corpus_chunks(signals: list[np.ndarray], n_samples: int) -> np.ndarray:
    """Consecutive, non-overlapping chunks of every signal: shape (n, n_samples), float32."""
    chunks = [s[i:i + n_samples] for s in signals
              for i in range(0, s.shape[0] - n_samples + 1, n_samples)]
    return np.stack(chunks).astype(np.float32)
