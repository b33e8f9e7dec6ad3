"""The spectral spec: the one definition of the model's image, shared by every stage.

A spec fixes how audio becomes a model image and how a model image becomes STFT
magnitudes again: sample rate, framing, frequency scale, log offset, normalisation and an
optional resize (the RainGAN article squashes 1025 x 375 spectrograms to 256 x 256).
Training, export and runtime all read it; it travels as JSON inside the ONNX metadata.

Geometry of one chunk (all in samples): a chunk *owns* ``chunk_samples = n_frames * hop``
samples of audio. Imaging it needs ``margin = (win - hop) / 2`` samples of context on each
side, so that every frame is whole; reconstruction returns the owned part only.
Consecutive chunks of a stream overlap by ``crossfade_frames * hop`` samples.

The defaults were chosen by measurement (BENCHMARKS.md, ``benchmarks/spec_sweep.py``): a
linear 512 x 128 image (n_fft 1024, hop 256, 0.74 s chunks) with short 46 ms crossfades
keeps rain's texture best among specs of that image size. Mel pooling loses the fine
frequency detail that keeps high bands' envelopes steady, and long crossfades mix two
streams for a large share of the time, which blurs the drops.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from . import stft as stft_mod
from .errors import SpecError
from .fields import from_known_fields
from .mel import mel_edges_hz, mel_filterbank, mel_interpolation
from .resize import ResizeMethod, resize_images

FreqScale = Literal["linear", "mel"]
Normalization = Literal["fixed", "minmax"]

#: Bumped whenever the meaning of a field changes; readers refuse newer versions.
SPEC_VERSION = 1
#: ln(10) / 10: power in dB times this is its natural logarithm.
NEPERS_PER_DB_POWER = float(np.log(10.0) / 10.0)


@dataclass(frozen=True)
class SpectralSpec:
    """Everything that defines the model's image.

    Attributes
    ----------
    sample_rate_hz : audio rate the model works at
    n_fft : FFT length, samples (>= win_length; a longer FFT zero-pads each frame)
    win_length : Hann window length, samples
    hop_length : frame step, samples (must divide win_length)
    n_frames : frames per chunk, i.e. the image's time axis before any resize
    freq_scale : "linear" keeps the FFT bins as rows; "mel" pools them into ``n_mels``
        Slaney-style triangular bands
    keep_nyquist : linear scale only: keep the Nyquist bin as the top row. Without it the
        image has ``n_fft // 2`` rows (a power of two suits a conv generator) and the
        Nyquist bin, negligible for real recordings, comes back as zero
    n_mels : mel band count (mel scale only)
    fmin_hz, fmax_hz : mel range; fmax_hz ``None`` means Nyquist
    log_offset : added to power before the log: ``db = 10 log10(S^2 + log_offset)``
    db_min, db_max : the dB range mapped to image values -1 and 1
    normalization : "fixed" maps [db_min, db_max] to [-1, 1] and clips; "minmax" maps each
        image's own range to [-1, 1] (the article's), and inverts with the fixed range
    image_height, image_width : resize target (frequency rows, time columns); ``None`` keeps
        the STFT grid
    resize_down, resize_up : interpolation used to squash to, and stretch back from, the
        resized image
    crossfade_frames : frames shared by consecutive chunks of a stream (0: concatenate)
    """

    sample_rate_hz: int = 44100
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    n_frames: int = 128
    freq_scale: FreqScale = "linear"
    keep_nyquist: bool = False
    n_mels: int = 128
    fmin_hz: float = 0.0
    fmax_hz: float | None = None
    log_offset: float = 1e-8
    db_min: float = -80.0
    db_max: float = 40.0
    normalization: Normalization = "fixed"
    image_height: int | None = None
    image_width: int | None = None
    resize_down: ResizeMethod = "bicubic"
    resize_up: ResizeMethod = "area"
    crossfade_frames: int = 8
    version: int = SPEC_VERSION

    def __post_init__(self) -> None:
        self.validate()

    # -- validation and serialisation ------------------------------------------------------

    def validate(self) -> None:
        """Raise :class:`SpecError` naming the first inconsistent parameter."""
        positive = ("sample_rate_hz", "n_fft", "win_length", "hop_length", "n_frames")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise SpecError(f"spec: {name} must be a positive integer, got {value!r}")
        if self.version > SPEC_VERSION:
            raise SpecError(f"spec: version {self.version} is newer than this RainGAN "
                            f"understands ({SPEC_VERSION}); upgrade raingan")
        if self.win_length > self.n_fft:
            raise SpecError(f"spec: win_length {self.win_length} is larger than n_fft {self.n_fft}")
        if self.hop_length > self.win_length:
            raise SpecError(f"spec: hop_length {self.hop_length} is larger than win_length "
                            f"{self.win_length}")
        if self.win_length % self.hop_length:
            raise SpecError(f"spec: hop_length {self.hop_length} must divide win_length "
                            f"{self.win_length}")
        if self.freq_scale not in ("linear", "mel"):
            raise SpecError(f"spec: freq_scale must be 'linear' or 'mel', got {self.freq_scale!r}")
        if self.normalization not in ("fixed", "minmax"):
            raise SpecError(f"spec: normalization must be 'fixed' or 'minmax', "
                            f"got {self.normalization!r}")
        for name in ("resize_down", "resize_up"):
            if getattr(self, name) not in ("bicubic", "area"):
                raise SpecError(f"spec: {name} must be 'bicubic' or 'area'")
        if self.freq_scale == "mel":
            fmax = self.nyquist_hz if self.fmax_hz is None else self.fmax_hz
            if not 0 <= self.fmin_hz < fmax <= self.nyquist_hz:
                raise SpecError(f"spec: need 0 <= fmin_hz < fmax_hz <= {self.nyquist_hz:g} Hz")
            if not 1 <= self.n_mels <= self.n_fft // 2 + 1:
                raise SpecError(f"spec: n_mels must be between 1 and n_fft/2+1 "
                                f"({self.n_fft // 2 + 1}), got {self.n_mels}")
        if not self.log_offset > 0:
            raise SpecError(f"spec: log_offset must be positive, got {self.log_offset}")
        if not self.db_max > self.db_min:
            raise SpecError(f"spec: db_max {self.db_max} must exceed db_min {self.db_min}")
        if (self.image_height is None) != (self.image_width is None):
            raise SpecError("spec: give both image_height and image_width, or neither")
        for name in ("image_height", "image_width"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, np.integer)) or value <= 0):
                raise SpecError(f"spec: {name} must be a positive integer, got {value!r}")
        if not 0 <= self.crossfade_frames <= self.n_frames // 2:
            raise SpecError(f"spec: crossfade_frames must be between 0 and n_frames/2 "
                            f"({self.n_frames // 2}), got {self.crossfade_frames}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpectralSpec":
        return from_known_fields(cls, data, "spec", SpecError)

    @classmethod
    def from_json(cls, text: str) -> "SpectralSpec":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"spec: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise SpecError("spec: JSON must be an object")
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> "SpectralSpec":
        return dataclasses.replace(self, **changes)

    # -- geometry ----------------------------------------------------------------------------

    @property
    def nyquist_hz(self) -> float:
        return self.sample_rate_hz / 2

    @property
    def n_fft_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def n_freq_rows(self) -> int:
        """Frequency rows of the STFT-grid image, before any resize."""
        if self.freq_scale == "mel":
            return self.n_mels
        return self.n_fft // 2 + 1 if self.keep_nyquist else self.n_fft // 2

    @property
    def image_shape(self) -> tuple[int, int]:
        """(height = frequency rows, width = time columns) of the model image."""
        if self.image_height is not None and self.image_width is not None:
            return (self.image_height, self.image_width)
        return (self.n_freq_rows, self.n_frames)

    def image_row_hz(self) -> np.ndarray:
        """The frequency each image row stands for, shape (height,), Hz, lowest row first:
        its FFT bin's, its mel band's peak, or, in resized images, interpolated between
        the rows it was resampled from."""
        if self.freq_scale == "mel":
            row_hz = mel_edges_hz(*self._mel_args()[2:])[1:-1]
        else:
            row_hz = np.arange(self.n_freq_rows) * (self.sample_rate_hz / self.n_fft)
        height = self.image_shape[0]
        if height == row_hz.shape[0]:
            return row_hz
        centres = (np.arange(height) + 0.5) * (row_hz.shape[0] / height) - 0.5
        return np.interp(centres, np.arange(row_hz.shape[0]), row_hz)

    @property
    def chunk_samples(self) -> int:
        """Samples of audio one chunk owns."""
        return self.n_frames * self.hop_length

    @property
    def chunk_s(self) -> float:
        return self.chunk_samples / self.sample_rate_hz

    @property
    def margin_samples(self) -> int:
        """Context needed on each side of a chunk so that all its frames are whole."""
        return (self.win_length - self.hop_length) // 2

    @property
    def context_samples(self) -> int:
        """Samples needed to image one chunk: the chunk plus both margins."""
        return stft_mod.samples_for_frames(self.n_frames, self.win_length, self.hop_length)

    @property
    def crossfade_samples(self) -> int:
        return self.crossfade_frames * self.hop_length

    @property
    def chunk_step_samples(self) -> int:
        """Distance between the starts of consecutive chunks in a stream."""
        return self.chunk_samples - self.crossfade_samples

    # -- audio -> image ----------------------------------------------------------------------

    def _mel_args(self) -> tuple[int, int, int, float, float]:
        """(sample_rate_hz, n_fft, n_mels, fmin_hz, fmax_hz) of the mel filterbank."""
        fmax = self.nyquist_hz if self.fmax_hz is None else self.fmax_hz
        return (self.sample_rate_hz, self.n_fft, self.n_mels, self.fmin_hz, fmax)

    def mel_filterbank(self) -> np.ndarray:
        """The triangular mel bands that mel images are made with, shape (n_mels,
        n_fft_bins), float32, each band of unit sum (read-only)."""
        return mel_filterbank(*self._mel_args())

    def stft(self, x: np.ndarray, workers: int = stft_mod.FFT_WORKERS) -> np.ndarray:
        """Complex STFT, shape (..., frames, n_fft_bins); see :mod:`raingan.core.stft`."""
        return stft_mod.stft(x, self.n_fft, self.win_length, self.hop_length, workers)

    def istft(self, spectra: np.ndarray, workers: int = stft_mod.FFT_WORKERS) -> np.ndarray:
        """Inverse of :meth:`stft`, shape (..., samples)."""
        return stft_mod.istft(spectra, self.n_fft, self.win_length, self.hop_length, workers)

    def audio_to_images(self, context: np.ndarray) -> np.ndarray:
        """Model images of a batch of chunks.

        Parameters
        ----------
        context : np.ndarray, shape (batch, context_samples), float
            Each row is one chunk with its margins.

        Returns
        -------
        np.ndarray, shape (batch, height, width), float32 in [-1, 1]
        """
        context = np.asarray(context, dtype=np.float32)
        if context.ndim != 2 or context.shape[1] != self.context_samples:
            raise ValueError(f"expected shape (batch, {self.context_samples}), got {context.shape}")
        return self.magnitudes_to_images(np.abs(self.stft(context)))

    def magnitudes_to_images(self, magnitudes: np.ndarray) -> np.ndarray:
        """(batch, frames, n_fft_bins) STFT magnitudes -> (batch, height, width) images."""
        power = np.square(magnitudes, dtype=np.float32)
        if self.freq_scale == "mel":
            power = power @ self.mel_filterbank().T
        else:
            power = power[..., :self.n_freq_rows]
        rows = np.swapaxes(power, -1, -2)  # frequency rows, time columns
        db = 10.0 * np.log10(rows + self.log_offset, dtype=np.float32)
        images = self._normalize(db)
        if self.image_height is not None:
            images = resize_images(images, self.image_shape, self.resize_down)
        return images.astype(np.float32, copy=False)

    def _normalize(self, db: np.ndarray) -> np.ndarray:
        if self.normalization == "minmax":
            lo = db.min(axis=(-2, -1), keepdims=True)
            span = np.maximum(db.max(axis=(-2, -1), keepdims=True) - lo, 1e-6)
            return 2.0 * (db - lo) / span - 1.0
        return self.db_to_images(db)

    @property
    def db_per_image_unit(self) -> float:
        """dB per unit of image value: the fixed normalisation maps ``db_min`` .. ``db_max``
        linearly onto [-1, 1], so a level change is an offset of images."""
        return 0.5 * (self.db_max - self.db_min)

    def db_to_images(self, db: np.ndarray) -> np.ndarray:
        """Levels in dB -> image values of the fixed normalisation, clipped to [-1, 1]."""
        return np.clip((db - self.db_min) / self.db_per_image_unit - 1.0, -1.0, 1.0)

    def images_to_db(self, images: np.ndarray) -> np.ndarray:
        """Image values of the fixed normalisation -> levels in dB (float64): the inverse of
        :meth:`db_to_images` within the range."""
        return self.db_min + (np.asarray(images, dtype=np.float64) + 1.0) * self.db_per_image_unit

    # -- image -> magnitudes -----------------------------------------------------------------

    def images_to_magnitudes(self, images: np.ndarray) -> np.ndarray:
        """STFT magnitudes for a batch of model images (the generator's output).

        Parameters
        ----------
        images : np.ndarray, shape (batch, height, width), values in [-1, 1]

        Returns
        -------
        np.ndarray, shape (batch, n_frames, n_fft_bins), float32, non-negative
        """
        return np.sqrt(self.images_to_power(images), dtype=np.float32)

    def image_log_power_map(self) -> tuple[float, float]:
        """(scale, offset) of the line from image values to log power: an image value ``v``
        in [-1, 1] stands for ``ln(power + log_offset) = v * scale + offset`` (the fixed dB
        range; min-max images are inverted with it too)."""
        half_span_db = self.db_per_image_unit
        return (half_span_db * NEPERS_PER_DB_POWER,
                (self.db_min + half_span_db) * NEPERS_PER_DB_POWER)

    def images_to_power(self, images: np.ndarray) -> np.ndarray:
        """STFT power (squared :meth:`images_to_magnitudes`), same shapes, float32: what
        loudness measures need, without a square root and its undoing."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 3 or images.shape[1:] != self.image_shape:
            raise ValueError(f"expected images of shape (batch, {self.image_shape[0]}, "
                             f"{self.image_shape[1]}), got {images.shape}")
        if self.image_height is not None:
            images = resize_images(images, (self.n_freq_rows, self.n_frames), self.resize_up)
        # 10 ** (dB / 10) as one exp of an affine map of the image, in place: a quarter of
        # the time of the power of the dB values (this runs twice per generated chunk).
        scale, offset = self.image_log_power_map()
        rows = np.clip(images, -1.0, 1.0)
        rows *= np.float32(scale)
        rows += np.float32(offset)
        np.exp(rows, out=rows)
        rows -= np.float32(self.log_offset)
        np.maximum(rows, 0.0, out=rows)
        rows = np.swapaxes(rows, -1, -2)  # back to (batch, frames, rows)
        if self.freq_scale == "mel":
            return (rows @ mel_interpolation(*self._mel_args()).T).astype(np.float32, copy=False)
        power = np.zeros((*rows.shape[:-1], self.n_fft_bins), dtype=np.float32)
        power[..., :self.n_freq_rows] = rows
        return power


def article_spec() -> SpectralSpec:
    """The RainGAN article's representation (Max Dan Li, 2022).

    48 kHz, 0.5 s chunks, n_fft 2048, window 1024, hop 64 (375 x 1025), log(S^2 + 1e-7),
    per-image min-max, bicubic squash to 256 x 256, area interpolation back, chunks
    concatenated without crossfade.
    """
    return SpectralSpec(sample_rate_hz=48000, n_fft=2048, win_length=1024, hop_length=64,
                        n_frames=375, freq_scale="linear", keep_nyquist=True,
                        log_offset=1e-7, db_min=-70.0, db_max=50.0, normalization="minmax",
                        image_height=256, image_width=256, resize_down="bicubic",
                        resize_up="area", crossfade_frames=0)


#: Named specs a user can pick with ``--spec NAME``; any other value is read as a JSON file.
NAMED_SPECS = {"default": SpectralSpec, "article": article_spec}
