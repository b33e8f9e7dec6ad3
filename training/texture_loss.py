"""Texture matching: a generator loss on the sound-texture statistics of its images.

The adversarial loss alone left the cpu preset's rain with band envelopes that rise and fall
together and too little 3-24 Hz movement (BENCHMARKS.md, "What the remaining texture
distance is made of"): a small discriminator on 0.74 s images does not weigh those slow,
image-wide statistics. This term measures them directly on generated and real images, as
``raingan eval`` measures them on audio (:mod:`raingan.eval.texture`, McDermott &
Simoncelli), and penalises the difference of their batch means, like the feature matching of
Salimans et al. (2016) on fixed features:

- each image row's power is weighed into the cochlear bands of the eval (half-cosine, ERB
  spaced; bands without a row are dropped) and compressed (``power ** (compression / 2)``,
  the eval's ``amplitude ** compression``): one envelope per band over the image's frames;
- per band: coefficient of variation, skewness and kurtosis of the envelope;
- correlations between bands ``j`` and ``j + k`` (linear trend removed first, as the eval
  does, so that a fade is not co-modulation);
- the share of each envelope's variance in octave bands of DFT bins over the frames
  (bin 1, bin 2, bins 3-4, 5-8, ...; at the default spec 1.3, 2.7, 4-5, 7-11, 12-22, 23-43
  and 44-86 Hz).

Each statistic's difference is divided by its spread over the real batch (floored), squared,
averaged within its group, and the groups are averaged. The envelope mean (the level) is
left to the adversarial loss: crops are gain-augmented, and every statistic above is
independent of gain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from keras import ops

from ..core.spec import SpectralSpec
from ..eval.cochlear import TextureConfig, band_weights

#: Statistic groups of the loss (the eval's :data:`~raingan.eval.texture.GROUPS` without
#: the envelope mean).
LOSS_GROUPS: tuple[str, ...] = ("envelope_cv", "envelope_skew", "envelope_kurtosis",
                                "band_correlation", "modulation_power")

#: A statistic's spread over the real batch is floored at this, and at this share of its
#: mean's magnitude, so that a nearly constant statistic does not dominate the sum.
SPREAD_FLOOR_ABS = 0.01
SPREAD_FLOOR_REL = 0.05
_EPS = 1e-12


@dataclass(frozen=True)
class EnvelopeStatistics:
    """Fixed matrices for the texture statistics of envelopes of one length.

    Attributes
    ----------
    ramp : shape (n_frames,), float32: unit-norm linear trend over the frames
    taper : shape (n_frames,), float32: Hann window over the frames
    dft_cos, dft_sin : shape (n_frames, n_frames // 2 + 1), float32: real DFT over the frames
    modulation_masks : shape (n_frames // 2 + 1, n_modulation_bands), float32: which DFT
        bins make each octave band (bin 0, the mean, in none)
    offsets : correlation offsets, in bands
    """

    ramp: np.ndarray
    taper: np.ndarray
    dft_cos: np.ndarray
    dft_sin: np.ndarray
    modulation_masks: np.ndarray
    offsets: tuple[int, ...]

    @classmethod
    def for_frames(cls, n_frames: int, offsets: tuple[int, ...]) -> "EnvelopeStatistics":
        frames = np.arange(n_frames)
        ramp = frames - (n_frames - 1) / 2.0
        bins = np.arange(n_frames // 2 + 1)
        angle = 2.0 * np.pi * np.outer(frames, bins) / n_frames
        # Octaves of DFT bins: [1], [2], [3, 4], [5, 8], ...
        octave = np.ceil(np.log2(np.maximum(bins, 1))).astype(int)
        masks = (octave[:, None] == np.arange(octave.max() + 1)[None, :]) & (bins[:, None] > 0)
        f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
        return cls(ramp=f32(ramp / np.linalg.norm(ramp)),
                   taper=f32(np.hanning(n_frames + 2)[1:-1]), dft_cos=f32(np.cos(angle)),
                   dft_sin=f32(np.sin(angle)), modulation_masks=f32(masks), offsets=offsets)

    def __call__(self, envelopes) -> dict[str, object]:
        """Texture statistics of each item's envelopes, (batch, bands, n_frames) -> group
        name -> (batch, n_statistics) tensor."""
        mean = ops.mean(envelopes, axis=-1, keepdims=True)
        centred = envelopes - mean
        variance = ops.mean(ops.square(centred), axis=-1) + _EPS
        sigma = ops.sqrt(variance)
        stats = {
            "envelope_cv": sigma / ops.squeeze(mean, -1),
            "envelope_skew": ops.mean(centred ** 3, axis=-1) / (variance * sigma),
            "envelope_kurtosis": ops.mean(centred ** 4, axis=-1) / ops.square(variance),
        }
        trend = ops.einsum("bnw,w->bn", centred, self.ramp)
        detrended = centred - trend[..., None] * self.ramp
        standardised = detrended / ops.sqrt(
            ops.mean(ops.square(detrended), axis=-1, keepdims=True) + _EPS)
        stats["band_correlation"] = ops.concatenate(
            [ops.mean(standardised[:, :-k] * standardised[:, k:], axis=-1)
             for k in self.offsets], axis=1)
        tapered = centred * self.taper
        spectrum = (ops.square(ops.einsum("bnw,wf->bnf", tapered, self.dft_cos))
                    + ops.square(ops.einsum("bnw,wf->bnf", tapered, self.dft_sin)))
        total = ops.sum(spectrum[..., 1:], axis=-1, keepdims=True) + _EPS
        shares = ops.einsum("bnf,fm->bnm", spectrum / total, self.modulation_masks)
        stats["modulation_power"] = ops.reshape(shares, (shares.shape[0], -1))
        return stats


def real_spread(values, real_mean):
    """A statistic's spread over the real batch, floored (see :data:`SPREAD_FLOOR_ABS`)."""
    return ops.maximum(ops.std(values, axis=0),
                       ops.maximum(SPREAD_FLOOR_REL * ops.abs(real_mean), SPREAD_FLOOR_ABS))


def standardised_mismatch(fake: dict[str, object], real_mean: dict[str, object],
                          spread: dict[str, object]):
    """Mean over :data:`LOSS_GROUPS` of the mean squared difference between the fake batch's
    mean statistics and ``real_mean``, each divided by ``spread`` (a scalar tensor)."""
    total = 0.0
    for group in LOSS_GROUPS:
        z = (ops.mean(fake[group], axis=0) - real_mean[group]) / ops.stop_gradient(spread[group])
        total = total + ops.mean(ops.square(z))
    return total / len(LOSS_GROUPS)


@dataclass(frozen=True)
class ImageTexture:
    """Fixed matrices for texture statistics of a spec's images.

    Attributes
    ----------
    band_power_weights : shape (height, n_bands), float32: power weight of each image row
        in each kept cochlear band
    frames : :class:`EnvelopeStatistics` over the image's frames
    image_scale, image_offset : ``power = exp(image * image_scale + image_offset)``
    compression : envelope exponent on amplitude
    """

    band_power_weights: np.ndarray
    frames: EnvelopeStatistics
    image_scale: float
    image_offset: float
    compression: float

    @classmethod
    def for_spec(cls, spec: SpectralSpec,
                 config: TextureConfig = TextureConfig()) -> "ImageTexture":
        weights = band_weights(spec.image_row_hz(), config) ** 2  # amplitude -> power
        weights = weights[weights.sum(axis=1) > 0]
        offsets = tuple(k for k in config.correlation_offsets if k < weights.shape[0])
        image_scale, image_offset = spec.image_log_power_map()
        return cls(band_power_weights=np.asarray(weights.T, dtype=np.float32),
                   frames=EnvelopeStatistics.for_frames(spec.image_shape[1], offsets),
                   image_scale=image_scale, image_offset=image_offset,
                   compression=config.compression)

    @property
    def modulation_masks(self) -> np.ndarray:
        return self.frames.modulation_masks

    def envelopes(self, images):
        """Compressed band envelopes, (batch, height, width) images -> (batch, bands, width)."""
        power = ops.exp(ops.clip(images, -1.0, 1.0) * self.image_scale + self.image_offset)
        band_power = ops.einsum("bhw,hn->bnw", power, self.band_power_weights)
        return ops.power(band_power + _EPS, 0.5 * self.compression)

    def statistics(self, images) -> dict[str, object]:
        """Texture statistics of each image: group name -> (batch, n_statistics) tensor.

        Parameters
        ----------
        images : shape (batch, height, width) or (batch, height, width, 1), model images
        """
        if len(images.shape) == 4:
            images = images[..., 0]
        return self.frames(self.envelopes(images))

    def matching_loss(self, fake_images, real_images):
        """Mean over :data:`LOSS_GROUPS` of the mean squared standardised difference between
        the fake and the real batch's mean statistics (a scalar tensor)."""
        fake, real = self.statistics(fake_images), self.statistics(real_images)
        real_mean = {group: ops.mean(real[group], axis=0) for group in LOSS_GROUPS}
        spread = {group: real_spread(real[group], real_mean[group]) for group in LOSS_GROUPS}
        return standardised_mismatch(fake, real_mean, spread)
