"""Offline rendering: a stretch of the streaming engine, cut to length, for audio files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .generator import Generator
from ..core import limits
from .stream import (RainStream, check_intensity_range, check_seed,
                     check_stream_settings, checked)


@dataclass(frozen=True)
class RenderSettings:
    """What to render; see :class:`~raingan.runtime.stream.RainStream` for the fields
    shared with streaming.

    Attributes
    ----------
    seconds : length of the output, 0.01 s to an hour (:data:`raingan.core.limits.SECONDS`)
    seed : 0 to 2**63 - 1, or None to draw one
    """

    seconds: float
    sample_rate_hz: int = 48_000
    channels: int = 2
    seed: int | None = None
    gain_db: float = 0.0
    width: float = 1.0
    truncation: float | None = None
    drift_s: float | None = None
    intensity: float | None = None

    def __post_init__(self) -> None:
        checked(limits.SECONDS, "seconds", self.seconds)
        check_seed(self.seed)
        check_intensity_range(self.intensity)
        check_stream_settings(self.sample_rate_hz, self.channels, self.gain_db, self.width,
                              self.truncation, self.drift_s)


@dataclass(frozen=True)
class RenderResult:
    samples: np.ndarray  # shape (n_samples, channels), float32 in [-1, 1]
    sample_rate_hz: int
    seed: int


def render(generator: Generator, settings: RenderSettings,
           progress: Callable[[int], None] | None = None) -> RenderResult:
    """Render ``settings.seconds`` of rain.

    Parameters
    ----------
    progress : called with the number of chunks finished, block by block

    Returns
    -------
    RenderResult with samples of shape (round(seconds * sample_rate_hz), channels)
    """
    stream = RainStream(generator, settings.sample_rate_hz, settings.channels, settings.seed,
                        settings.gain_db, settings.width, settings.truncation, settings.drift_s,
                        chunks_per_block=8, intensity=settings.intensity)
    n_out = int(round(settings.seconds * settings.sample_rate_hz))
    # Blocks go straight into the output: a list of blocks joined at the end would hold the
    # audio twice at the peak (23 MB a minute at 48 kHz stereo).
    samples = np.empty((n_out, settings.channels), dtype=np.float32)
    have = 0
    while have < n_out:
        block = stream.next_block()
        take = min(block.shape[0], n_out - have)
        samples[have:have + take] = block[:take]
        have += take
        if progress is not None:
            progress(stream.chunks_per_block)
    return RenderResult(samples, settings.sample_rate_hz, stream.seed)
