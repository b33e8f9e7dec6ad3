"""Separable image resizing (bicubic, area) with half-pixel centres, as TensorFlow resizes."""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np

ResizeMethod = Literal["bicubic", "area"]


def resize_images(images: np.ndarray, shape: tuple[int, int], method: ResizeMethod) -> np.ndarray:
    """Resize (batch, height, width) images with separable interpolation matrices."""
    rows = interpolation_matrix(images.shape[-2], shape[0], method)
    cols = interpolation_matrix(images.shape[-1], shape[1], method)
    return (rows @ images @ cols.T).astype(np.float32)


@functools.lru_cache(maxsize=32)
def interpolation_matrix(n_in: int, n_out: int, method: ResizeMethod) -> np.ndarray:
    """Matrix (n_out, n_in) that resamples one axis, with half-pixel centres (as TF does)."""
    scale = n_in / n_out
    if method == "area":
        # Each output pixel averages the input pixels its footprint covers, by overlap.
        starts = np.arange(n_out)[:, None] * scale
        stops = starts + scale
        left = np.arange(n_in)[None, :]
        overlap = np.clip(np.minimum(stops, left + 1) - np.maximum(starts, left), 0.0, None)
        matrix = overlap / scale
    else:
        # Keys cubic convolution (a = -0.5), edge pixels repeated, no antialiasing.
        centres = (np.arange(n_out) + 0.5) * scale - 0.5
        base = np.floor(centres).astype(int)
        matrix = np.zeros((n_out, n_in))
        for tap in range(-1, 3):
            index = base + tap
            distance = np.abs(centres - index)
            weight = keys_cubic(distance)
            np.add.at(matrix, (np.arange(n_out), np.clip(index, 0, n_in - 1)), weight)
    matrix = matrix.astype(np.float32)
    matrix.flags.writeable = False
    return matrix


def keys_cubic(distance: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel at ``distance`` (pixels), as bicubic resizing uses."""
    d = np.abs(distance)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))
