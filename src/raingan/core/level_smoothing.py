"""Smoothing a streaming model's levels over time: a one-pole filter on each image row's power.

A generator trained adversarially on a few minutes of audio moves its band levels from frame
to frame more than rain does (its envelopes fluctuate too much). The runtime can take the
fast part of that motion out of the model's mean images, before the speckle (which carries a
noisy sound's own frame-to-frame motion) and the drops are added. The filter is causal, so a
stream needs only its state from one block to the next, and has unit gain at 0 Hz, so mean
levels (and the colour calibration) stay. Its time constant is fitted at export on a
training statistic, the frame-to-frame spread of band levels
(``raingan.training.selection.level_spread_db``), which no judge of ``raingan eval`` uses;
0 frames (models exported before it, or where no smoothing fitted better) is no smoothing.
"""

from __future__ import annotations

import numpy as np

from .spec import SpectralSpec

__all__ = ["level_pole", "smooth_levels", "smooth_levels_periodic"]


def level_pole(time_constant_frames: float) -> float:
    """The filter's pole for a time constant in frames (``exp(-1 / tau)``); 0 for none."""
    if not time_constant_frames > 0:
        return 0.0
    return float(np.exp(-1.0 / time_constant_frames))


def smooth_levels(images: np.ndarray, spec: SpectralSpec, pole: float,
                  state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One block of a stream's mean images, smoothed along time.

    Parameters
    ----------
    images : shape (height, frames), the spec's image units
    spec : the spectral spec of the images
    pole : from :func:`level_pole`, in [0, 1); 0 returns the images unchanged
    state : the filter's output power at the previous block's last frame, shape (height,);
        None at a stream's start (the filter starts at the first frame's power)

    Returns
    -------
    (images, state) : the smoothed block, float32 of the same shape, and the state to pass
    with the next block (``state`` itself when there was nothing to smooth)
    """
    if pole == 0.0 or images.shape[1] == 0:  # the producer's usual path: no work
        return np.asarray(images, dtype=np.float32), state
    power = np.power(10.0, spec.images_to_db(images) / 10.0)
    if state is None:
        state = power[:, 0]
    out = np.empty_like(power)
    level = np.asarray(state, dtype=np.float64)
    for t in range(power.shape[1]):
        level = pole * level + (1.0 - pole) * power[:, t]
        out[:, t] = level
    smoothed = spec.db_to_images(10.0 * np.log10(np.maximum(out, 1e-30)))
    return np.asarray(smoothed, dtype=np.float32), level.copy()


def smooth_levels_periodic(images: np.ndarray, spec: SpectralSpec, pole: float) -> np.ndarray:
    """As :func:`smooth_levels` for images that repeat (a seamless loop's): the filter starts
    in its periodic state, so that the last frame flows into the first as a stream's frames
    flow into the next."""
    if pole == 0.0:
        return np.asarray(images, dtype=np.float32)
    # From rest, one period leaves the filter at e; from its periodic state s it leaves it at
    # pole**n s + e, which must be s again.
    frames = images.shape[1]
    _, from_rest = smooth_levels(images, spec, pole, np.zeros(images.shape[0]))
    periodic = from_rest / (1.0 - pole ** frames)
    return smooth_levels(images, spec, pole, periodic)[0]
