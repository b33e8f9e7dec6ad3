"""Re-analysis: what a generated image becomes once the runtime has made it sound.

A generated image is a magnitude spectrogram that no signal need have: the runtime gives it
a phase (PGHI, then Fast Griffin-Lim) and what is heard is the audio whose STFT is the
nearest consistent one. Real images lose nothing on that way, generated ones do: on the
image-texture model, 256 chunks came back with band envelopes whose variation was 0.35 real
spreads below the image's (drops smeared over the window; spectral convergence -11.7 dB
against -19.9 dB for real chunks, BENCHMARKS.md). A loss taken on the images alone cannot
see that; the texture term can take its statistics after this way instead
(``raingan train --g-texture-heard``).

:class:`Reanalysis` is that way made differentiable: the image's magnitudes, with a phase
given from outside (the runtime's phase, PGHI and Fast Griffin-Lim, which the training
step computes in numpy and treats as a constant), are inverted (weighted overlap-add, as
:func:`raingan.core.stft.istft`) and analysed again (as :func:`raingan.core.stft.stft`)
into an image. Gradients flow through the magnitudes, so the generator learns images whose
sound has the statistics asked for. Keras ops only: one code for the TensorFlow and the JAX step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from keras import ops

from ..core.phase import PhaseSettings, estimate_phase
from ..core.spec import SpectralSpec
from ..core.stft import hann_window, inverse_window_sum, samples_for_frames
from .config import ConfigError

#: The phase images are heard with by default: PGHI and 16 Fast Griffin-Lim iterations, as
#: the runtime rendered when the bundled model was trained (it renders with 2 since, which
#: scores the same; ``TrainConfig.g_texture_phase_iterations`` sets it). PGHI alone is not
#: enough: with it, real and generated chunks came back equally far from themselves (image
#: MSE 0.0081 and 0.0076, ``benchmarks/image_texture.py --heard --phase-iterations 0``),
#: PGHI's own error hiding the generator's; after 16 iterations real chunks come back to
#: 0.0013, generated ones to 0.0033.
PHASE = PhaseSettings()


@dataclass(frozen=True)
class Reanalysis:
    """Fixed arrays and sizes for re-analysing a spec's images.

    Attributes
    ----------
    spec : the spectral spec (linear rows on the STFT grid, fixed normalisation)
    phase : how :meth:`runtime_phase` reconstructs the generated images' phase
    window : shape (win_length,), float32: the periodic Hann window of every frame
    inverse_window_sum : shape (context_samples,), float32: the overlap-add normaliser
    """

    spec: SpectralSpec
    window: np.ndarray
    inverse_window_sum: np.ndarray
    phase: PhaseSettings = PHASE

    @classmethod
    def for_spec(cls, spec: SpectralSpec, phase: PhaseSettings = PHASE) -> "Reanalysis":
        """Raises :class:`ConfigError` for specs whose images are not STFT magnitudes row for
        row (mel rows, resized images, per-image min-max normalisation)."""
        if spec.freq_scale != "linear" or spec.image_height is not None:
            raise ConfigError("hearing the images in training needs a linear spec on the STFT "
                              "grid (no mel rows, no resizing)")
        if spec.normalization != "fixed":
            raise ConfigError("hearing the images in training needs the fixed dB normalisation")
        return cls(spec=spec, window=hann_window(spec.win_length),
                   inverse_window_sum=inverse_window_sum(spec.n_frames, spec.win_length,
                                                         spec.hop_length),
                   phase=phase)

    def magnitudes(self, images):
        """(batch, height, width) images -> (batch, frames, n_fft_bins) STFT magnitudes.

        The -80 dB floor of the log offset is kept rather than subtracted (unlike
        :meth:`SpectralSpec.images_to_magnitudes`), so magnitudes never reach 0, where their
        square root has no gradient.
        """
        spec = self.spec
        scale, offset = spec.image_log_power_map()
        rows = ops.transpose(ops.exp(0.5 * (ops.clip(images, -1.0, 1.0) * scale + offset)),
                             (0, 2, 1))
        missing = spec.n_fft_bins - spec.n_freq_rows  # the Nyquist bin, when images drop it
        return ops.pad(rows, ((0, 0), (0, 0), (0, missing))) if missing else rows

    def audio(self, magnitudes, phase):
        """Least-squares inverse STFT of ``magnitudes * exp(i phase)``, both
        (batch, frames, n_fft_bins) -> (batch, context_samples)."""
        spec = self.spec
        overlap = spec.win_length // spec.hop_length
        frames = ops.irfft((magnitudes * ops.cos(phase), magnitudes * ops.sin(phase)),
                           fft_length=spec.n_fft)[..., :spec.win_length] * self.window
        n_frames = frames.shape[1]
        blocks = ops.reshape(frames, (-1, n_frames, overlap, spec.hop_length))
        summed = sum(ops.pad(blocks[:, :, r, :], ((0, 0), (r, overlap - 1 - r), (0, 0)))
                     for r in range(overlap))
        samples = samples_for_frames(n_frames, spec.win_length, spec.hop_length)
        return ops.reshape(summed, (-1, samples)) * self.inverse_window_sum

    def chunk_audio(self, images, phase):
        """The chunk's own samples (margins cut) of what ``images`` with ``phase`` sound
        like: (batch, height, width[, 1]) -> (batch, chunk_samples); differentiable in
        ``images``, ``phase`` a constant."""
        if len(images.shape) == 4:
            images = images[..., 0]
        spec = self.spec
        audio = self.audio(self.magnitudes(images), ops.stop_gradient(phase))
        return audio[:, spec.margin_samples:spec.margin_samples + spec.chunk_samples]

    def power(self, audio):
        """STFT power of (batch, context_samples) audio -> (batch, frames, n_fft_bins)."""
        spec = self.spec
        overlap = spec.win_length // spec.hop_length
        blocks = ops.reshape(audio, (-1, spec.n_frames + overlap - 1, spec.hop_length))
        frames = ops.concatenate([blocks[:, r:r + spec.n_frames, :] for r in range(overlap)],
                                 axis=-1) * self.window
        real, imag = ops.rfft(frames, fft_length=spec.n_fft)
        return ops.square(real) + ops.square(imag)

    def images(self, images, phase):
        """The images of the audio that ``images`` with ``phase`` make, same shape
        (batch, height, width), in [-1, 1]; differentiable in ``images``.

        Parameters
        ----------
        images : (batch, height, width) or (batch, height, width, 1), model images
        phase : (batch, frames, n_fft_bins), radians, a constant (no gradient)
        """
        if len(images.shape) == 4:
            images = images[..., 0]
        spec = self.spec
        power = self.power(self.audio(self.magnitudes(images), ops.stop_gradient(phase)))
        rows = ops.transpose(power[..., :spec.n_freq_rows], (0, 2, 1))
        scale, offset = spec.image_log_power_map()
        return ops.clip((ops.log(rows + spec.log_offset) - offset) / scale, -1.0, 1.0)

    def runtime_phase(self, images: np.ndarray) -> np.ndarray:
        """The phase the runtime gives a batch of images (:attr:`phase`), numpy in and out:
        (batch, height, width[, 1]) -> (batch, frames, n_fft_bins), float32."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 4:
            images = images[..., 0]
        return estimate_phase(self.spec.images_to_magnitudes(images), self.spec, self.phase)
