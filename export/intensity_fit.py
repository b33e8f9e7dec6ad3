"""Export-time fitting of the intensity axis (:class:`raingan.runtime.intensity.IntensityAxis`).

:func:`fit_intensity_axis` draws latents, generates their images and regresses each image's
loudness (K-weighted mean STFT power, dB) on the latent components that set a chunk's
character (the drifting ones). The fitted direction, normalised, is the intensity axis; the
model's metadata carries it, with the loudness and drop density (share of time frames that
jump well above their neighbours: drop onsets) it brings per unit, and a calibration: the
projections at which mean loudness has risen by equal steps of dB
(:func:`calibrate_projections`). :func:`calibrated_levels_db` then measures the mean loudness
the runtime delivers at each calibrated level, which streams hold
(:mod:`raingan.runtime.intensity_level`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..core.loudness import power_loudness_db
from ..core.spec import SpectralSpec
from ..runtime.intensity import AXIS_REACH, IntensityAxis, set_projection
from ..runtime.latent import truncated_normal

#: A frame is a drop onset when its power exceeds the median of its neighbours by this much.
ONSET_DB = 2.0
#: Latents drawn to fit the axis.
FIT_LATENTS = 512
#: Latents, and evenly spaced projections from -AXIS_REACH to +AXIS_REACH, at which the
#: calibration measures mean loudness; it stores as many intensity levels.
CALIBRATION_LATENTS = 32
CALIBRATION_LEVELS = 17



def image_features(images: np.ndarray, spec: SpectralSpec) -> tuple[np.ndarray, np.ndarray]:
    """(loudness_db, onset_share) per image, each shape (batch,).

    loudness_db : mean K-weighted STFT power over the image, dB (:func:`k_weighting_power`)
    onset_share : share of frames whose power exceeds the median of the 5 frames around
        them by :data:`ONSET_DB` (drops are short, broadband transients)
    """
    power = spec.images_to_power(images).astype(np.float64)  # (batch, frames, bins)
    frame_db = 10.0 * np.log10(power.mean(axis=2) + 1e-12)  # (batch, frames)
    loudness_db = power_loudness_db(power, spec)
    padded = np.pad(frame_db, ((0, 0), (2, 2)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 5, axis=1)
    onset_share = (frame_db - np.median(windows, axis=2) > ONSET_DB).mean(axis=1)
    return loudness_db, onset_share


def fit_intensity_axis(images_of: Callable[[np.ndarray], np.ndarray], spec: SpectralSpec,
                       latent_dim: int, drifting_dims: int | None, threshold: float,
                       seed: int = 0, n_latents: int = FIT_LATENTS) -> IntensityAxis:
    """Fit the axis by least squares on ``n_latents`` generated images.

    The target is loudness alone. Onsets are no measure of heaviness: in heavy rain drops
    merge into a steady roar, and on the noise-input model the onset share fell as loudness
    rose (correlation -0.40), so an axis fitted to both (as before) followed loudness with
    correlation 0.61 instead of 0.91, and its sweeps rose by fits and starts. Only the
    drifting components (all when None) get weight: the others place events in time and are
    redrawn for every chunk.

    Parameters
    ----------
    images_of : latents (n, latent_dim) float32 -> images (n, height, width)
    """
    rng = np.random.default_rng(seed)
    z = truncated_normal(rng, (n_latents, latent_dim), threshold).astype(np.float64)
    loudness_db, onset_share = image_features(images_of(z.astype(np.float32)), spec)
    used = latent_dim if drifting_dims is None else drifting_dims

    coef, *_ = np.linalg.lstsq(z[:, :used], loudness_db - loudness_db.mean(), rcond=None)
    direction = np.zeros(latent_dim)
    direction[:used] = coef / max(float(np.linalg.norm(coef)), 1e-12)
    projection = z @ direction
    return IntensityAxis(direction,
                         float(np.polyfit(projection, loudness_db, 1)[0]),
                         float(np.polyfit(projection, onset_share, 1)[0]),
                         calibrate_projections(images_of, spec, direction,
                                               z[:CALIBRATION_LATENTS], threshold))


def calibrate_projections(images_of: Callable[[np.ndarray], np.ndarray], spec: SpectralSpec,
                          direction: np.ndarray, latents: np.ndarray,
                          threshold: float) -> np.ndarray:
    """Projections at which the mean loudness of ``latents`` set on the axis rises by equal
    steps of dB, from ``-AXIS_REACH`` to ``+AXIS_REACH``, shape (CALIBRATION_LEVELS,).

    A generator's loudness need not be linear along the axis: the wide generator's rose by
    2.3 dB over the first three eighths of the reach and by 15 over the last three, so a
    sweep barely moved at first, while the latent walk's own drift (2 dB between chunks)
    made it fall back (non-monotonic). Mapping intensity through this calibration spends
    equal dB on equal steps of the knob. The measured curve is made non-decreasing first;
    a flat one (no rise) gives the linear mapping.

    Parameters
    ----------
    direction : shape (latent_dim,), unit length
    latents : shape (n, latent_dim), float64
    """
    points = np.linspace(-AXIS_REACH, AXIS_REACH, CALIBRATION_LEVELS)
    mean_db = np.empty(CALIBRATION_LEVELS)
    for i, point in enumerate(points):
        z = set_projection(latents, direction, point, threshold)
        mean_db[i] = image_features(images_of(z), spec)[0].mean()
    mean_db = np.maximum.accumulate(mean_db)
    if mean_db[-1] - mean_db[0] < 1e-6:
        return points
    # Strictly increasing for interpolation: flat stretches get a negligible slope.
    mean_db = mean_db + np.linspace(0.0, 1e-9, CALIBRATION_LEVELS)
    targets_db = np.linspace(mean_db[0], mean_db[-1], CALIBRATION_LEVELS)
    return np.interp(targets_db, mean_db, points)


def calibrated_levels_db(images_of: Callable[[np.ndarray], np.ndarray], spec: SpectralSpec,
                         axis: IntensityAxis, latent_dim: int, threshold: float,
                         level: Callable[[np.ndarray], np.ndarray], seed: int = 0
                         ) -> np.ndarray:
    """The mean loudness of :data:`CALIBRATION_LATENTS` latents set at each of the axis's
    calibrated levels, after ``level`` (the runtime's colour gains and level ceiling, which
    decide what is heard), made non-decreasing; dB, shape (levels,).

    Parameters
    ----------
    axis : an axis with its ``projections``
    level : images (n, height, width) -> the images the runtime reconstructs
    """
    rng = np.random.default_rng(seed)
    latents = truncated_normal(rng, (CALIBRATION_LATENTS, latent_dim), threshold)
    levels_db = np.array([image_features(level(images_of(
        set_projection(latents, axis.direction, projection, threshold))), spec)[0].mean()
        for projection in axis.projections])
    return np.maximum.accumulate(levels_db)
