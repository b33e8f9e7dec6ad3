"""Intensity held in loudness: a slow gain that keeps each channel at the knob's level.

Moving a latent along the intensity axis (:mod:`.intensity`) changes the rain's character
and, on average over many latents, its loudness; for a given seed it may do neither
reliably (along the streaming model's axis, a quarter of global codes got quieter). While
an intensity is set, :class:`IntensityLevel` follows each channel's loudness with a
one-pole track (time constant :data:`LEVEL_TRACK_S`) and gains every chunk by the
difference between the knob's target (:func:`.intensity.intensity_target_db`) and that
track, so a sweep from 0 to 1 always rises, by at least :data:`.intensity.MIN_SPAN_DB`.
Loudness changes faster than the track pass: drops, gusts and the drift's quicker moves.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.loudness import power_loudness_db
from ..core.spec import SpectralSpec
from .intensity import IntensityAxis, intensity_target_db

#: Time constant of the loudness track, seconds: slower than a drop, fast enough that a
#: knob move is heard at once and a 10 s sweep rises window by 2 s window.
LEVEL_TRACK_S = 1.5
#: The largest gain the level takes either way, dB: a seed far from the knob's level is
#: moved towards it, not made into another sound.
MAX_GAIN_DB = 18.0


def chunk_loudness_db(images: np.ndarray, spec: SpectralSpec) -> np.ndarray:
    """Loudness of each image, K-weighted STFT power in dB (the measure the intensity
    calibration used), shape (batch,) from images of shape (batch, height, width)."""
    return power_loudness_db(spec.images_to_power(images).astype(np.float64), spec)


class IntensityLevel:
    """Per-chunk gains, dB, that hold ``channels`` interleaved streams at the knob's level.

    Parameters
    ----------
    spec : the model's spectral spec (chunk step, image units)
    axis : the model's intensity axis; it must carry ``levels_db``
    channels : streams whose chunks arrive interleaved, chunk by chunk
    """

    def __init__(self, spec: SpectralSpec, axis: IntensityAxis, channels: int):
        if axis.levels_db is None:
            raise ValueError("the intensity axis carries no levels_db")
        self.spec, self.axis, self.channels = spec, axis, channels
        self._pole = math.exp(-spec.chunk_step_samples / spec.sample_rate_hz / LEVEL_TRACK_S)
        self._track_db: np.ndarray | None = None  # per channel; None until the first chunk

    def reset(self) -> None:
        """Forget the tracks (the intensity was released)."""
        self._track_db = None

    def gains_db(self, images: np.ndarray, intensities: np.ndarray) -> np.ndarray:
        """The gains of the next chunks, shape (count * channels,), for the images the
        runtime reconstructs (colour gains and ceiling applied) of shape
        (count * channels, height, width) and each chunk step's intensity, shape
        (count,)."""
        loudness = chunk_loudness_db(images, self.spec).reshape(-1, self.channels)
        gains = np.empty_like(loudness)
        for k, intensity in enumerate(intensities):
            if self._track_db is None:
                self._track_db = loudness[k].copy()
            else:
                self._track_db = self._pole * self._track_db + (1.0 - self._pole) * loudness[k]
            target_db = intensity_target_db(self.axis, float(intensity))
            gains[k] = np.clip(target_db - self._track_db, -MAX_GAIN_DB, MAX_GAIN_DB)
        return gains.reshape(-1)


def loop_gains_db(images: np.ndarray, spec: SpectralSpec, axis: IntensityAxis,
                  channels: int, intensity: float) -> np.ndarray:
    """One gain per channel, shape (channels,), dB, that puts a loop's mean loudness at the
    knob's level; ``images`` (as the runtime reconstructs them) of shape
    (n_chunks * channels, height, width), interleaved.
    Constant over the loop, so the loop stays seamless."""
    loudness = chunk_loudness_db(images, spec).reshape(-1, channels).mean(axis=0)
    return np.clip(intensity_target_db(axis, intensity) - loudness, -MAX_GAIN_DB, MAX_GAIN_DB)
