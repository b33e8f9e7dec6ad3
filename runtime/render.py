"""Offline rendering: seconds of endless rain from a generator, as a user's audio file wants it."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .audio_io import resample
from .errors import RainGANError
from .generator import BATCH_LATENTS, Generator
from .latent import walk_correlation
from .safety import OutputSafety
from .stitch import Stitcher

MIN_RATE_HZ, MAX_RATE_HZ = 8_000, 192_000
MAX_CHANNELS = 2
#: Default time constant of the rain's drift, seconds (see RenderSettings.drift_s).
DEFAULT_DRIFT_S = 10.0


class RenderSettingsError(RainGANError, ValueError):
    """Render settings outside what RainGAN can produce."""


@dataclass(frozen=True)
class RenderSettings:
    """What to render.

    Attributes
    ----------
    seconds : length of the output, > 0
    sample_rate_hz : output rate, 8 to 192 kHz (audio is generated at the model's rate and
        resampled with soxr)
    channels : 1 (mono) or 2 (stereo from independent latents per channel)
    seed : seeds every latent; None draws one (see :attr:`RenderResult.seed`)
    gain_db : output gain, dB
    width : stereo width, 0 (both channels alike) to 1 (independent channels); each channel
        keeps its power at every width
    truncation : latent truncation, standard deviations; None for the model's default
    drift_s : time constant, seconds, over which the rain's character drifts: consecutive
        chunks' latents follow a random walk (:class:`~raingan.runtime.latent.LatentWalk`);
        0 makes every chunk independent
    """

    seconds: float
    sample_rate_hz: int = 48_000
    channels: int = 2
    seed: int | None = None
    gain_db: float = 0.0
    width: float = 1.0
    truncation: float | None = None
    drift_s: float = DEFAULT_DRIFT_S

    def __post_init__(self) -> None:
        if not (math.isfinite(self.seconds) and self.seconds > 0):
            raise RenderSettingsError(f"seconds must be a positive number, got {self.seconds}")
        if not MIN_RATE_HZ <= self.sample_rate_hz <= MAX_RATE_HZ:
            raise RenderSettingsError(f"sample rate {self.sample_rate_hz} Hz is not supported "
                                      f"({MIN_RATE_HZ}-{MAX_RATE_HZ} Hz)")
        if self.channels not in (1, MAX_CHANNELS):
            raise RenderSettingsError(f"{self.channels} channels is not supported (1 or 2)")
        if not 0.0 <= self.width <= 1.0:
            raise RenderSettingsError(f"width must be in [0, 1], got {self.width}")
        if not math.isfinite(self.gain_db):
            raise RenderSettingsError(f"gain must be finite, got {self.gain_db} dB")
        if not (math.isfinite(self.drift_s) and self.drift_s >= 0):
            raise RenderSettingsError(f"drift must be >= 0 seconds, got {self.drift_s}")
        if self.truncation is not None and not self.truncation > 0:
            raise RenderSettingsError(f"truncation must be > 0, got {self.truncation}")


@dataclass(frozen=True)
class RenderResult:
    samples: np.ndarray  # shape (n_samples, channels), float32 in [-1, 1]
    sample_rate_hz: int
    seed: int


def width_matrix(width: float) -> np.ndarray:
    """2x2 mix of two independent streams into L/R: identity at 1, equal mix at 0.

    Rows are unit vectors, so each output channel keeps the power of one stream.
    """
    angle = (1.0 - width) * math.pi / 4.0
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, s], [s, c]], dtype=np.float32)


def render(generator: Generator, settings: RenderSettings,
           progress: Callable[[int], None] | None = None) -> RenderResult:
    """Render ``settings.seconds`` of rain.

    Parameters
    ----------
    progress : called with the number of chunks finished, batch by batch

    Returns
    -------
    RenderResult with samples of shape (round(seconds * sample_rate_hz), channels)
    """
    seed = secrets.randbits(63) if settings.seed is None else settings.seed
    rng = np.random.default_rng(seed)
    spec = generator.spec
    # Enough chunks that the output ends before the last, faded-out tail (and a resampler's
    # rounding): the file ends mid-rain, as a stream would.
    n_chunks = generator.chunk_count(settings.seconds + 2 * spec.crossfade_samples
                                     / spec.sample_rate_hz + 0.01)
    stitcher = Stitcher(spec)
    correlation = walk_correlation(spec.chunk_step_samples / spec.sample_rate_hz,
                                   settings.drift_s)
    walks = [generator.latent_walk(rng, correlation, settings.truncation)
             for _ in range(settings.channels)]
    pieces = []
    for start in range(0, n_chunks, BATCH_LATENTS):
        count = min(BATCH_LATENTS, n_chunks - start)
        latents = np.stack([walk.take(count) for walk in walks], axis=1)  # (count, ch, dim)
        chunks = generator.chunks(latents.reshape(count * settings.channels, -1))
        chunks = chunks.reshape(count, settings.channels, -1)
        for chunk in chunks:
            pieces.append(stitcher.push(chunk.T))
        if progress is not None:
            progress(count)
    audio = np.concatenate(pieces, axis=0)
    if settings.channels == 2:
        audio = audio @ width_matrix(settings.width).T
    audio = resample(audio * np.float32(10.0 ** (settings.gain_db / 20.0)),
                     spec.sample_rate_hz, settings.sample_rate_hz)
    n_out = int(round(settings.seconds * settings.sample_rate_hz))
    audio = audio[:n_out]
    safe = OutputSafety(settings.sample_rate_hz, settings.channels).process(audio)
    return RenderResult(safe, settings.sample_rate_hz, seed)
