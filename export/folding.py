"""Kernels of the generator's folded inference form, derived from its trained weights.

A feature map of size (2H, 2W) can be held in *sub-pixel form*: shape (H, W, 4 * C), where
channel ``p * C + c`` holds channel ``c`` of the pixels ``(2i + dy, 2j + dx)`` with phase
``p = 2 * dy + dx``. A 3x3 convolution of a nearest-upsampled map, or of a map in sub-pixel
form, is a 3x3 convolution at the low resolution that writes sub-pixel form: the same
products, a quarter of the positions, four times the output channels. On CPUs the folded
form runs much faster: no upsampled copy is made, and onnxruntime's blocked (NCHWc)
convolutions, which round output channels up to 8 or 16, no longer compute 4 or 16 times
the work for the generator's last, narrow layers.

All kernels are channels-last, (kernel_height, kernel_width, in_channels, out_channels).
Height is frequency (zero padded), width is time (zero or circular padding): both fold alike.
"""

from __future__ import annotations

import numpy as np

#: Phases of sub-pixel form: (dy, dx) for p = 2 * dy + dx.
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def _tap(phase: int, tap: int) -> tuple[int, int]:
    """Where a 3x3 tap at output phase ``phase`` (0 or 1) reads in the low-resolution map:
    (offset in low-resolution pixels, -1..1; phase of the pixel read, 0 or 1)."""
    position = phase + tap - 1
    return position // 2, position % 2


def subpixel_kernel(kernel: np.ndarray, upsampled_input: bool) -> np.ndarray:
    """The low-resolution kernel of a 3x3 convolution whose output is held in sub-pixel form.

    Parameters
    ----------
    kernel : np.ndarray, shape (3, 3, C_in, C_out), the full-resolution kernel
    upsampled_input : True when the convolution reads a nearest-upsampled map (the input is
        the low-resolution map, C_in channels); False when it reads a map in sub-pixel form
        (4 * C_in channels)

    Returns
    -------
    np.ndarray, shape (3, 3, C_in or 4 * C_in, 4 * C_out), float32
    """
    if kernel.shape[:2] != (3, 3):
        raise ValueError(f"expected a 3x3 kernel, got shape {kernel.shape}")
    c_in, c_out = kernel.shape[2:]
    folded = np.zeros((3, 3, c_in if upsampled_input else 4 * c_in, 4 * c_out), np.float64)
    for p, (dy, dx) in enumerate(PHASES):
        outputs = slice(p * c_out, (p + 1) * c_out)
        for ky in range(3):
            oy, ey = _tap(dy, ky)
            for kx in range(3):
                ox, ex = _tap(dx, kx)
                q = 2 * ey + ex
                inputs = slice(0, c_in) if upsampled_input else slice(q * c_in, (q + 1) * c_in)
                folded[oy + 1, ox + 1, inputs, outputs] += kernel[ky, kx]
    return folded.astype(np.float32)


def subpixel_bias(bias: np.ndarray) -> np.ndarray:
    """A per-channel bias, shape (C,), for a map in sub-pixel form: shape (4 * C,)."""
    return np.tile(np.asarray(bias, np.float32), len(PHASES))


def fold_batch_norm(kernel: np.ndarray, bias: np.ndarray, gamma: np.ndarray,
                    beta: np.ndarray, mean: np.ndarray, variance: np.ndarray,
                    epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """Kernel and bias of a convolution followed by inference-mode batch normalisation.

    ``gamma * (conv(x) + bias - mean) / sqrt(variance + epsilon) + beta``, per output
    channel (the kernel's last axis). Returns (kernel, bias), float32.
    """
    scale = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(variance, np.float64) + epsilon)
    folded_bias = (np.asarray(bias, np.float64) - mean) * scale + beta
    return (np.asarray(kernel, np.float64) * scale).astype(np.float32), folded_bias.astype(np.float32)


def subpixel_noise_kernel(strength: np.ndarray) -> np.ndarray:
    """A 1x1 kernel adding per-pixel noise with a strength per channel in sub-pixel form.

    The noise map (one channel) in sub-pixel form has 4 channels, one per phase; phase ``p``
    of channel ``c`` receives ``strength[c]`` times phase ``p`` of the noise.

    Returns
    -------
    np.ndarray, shape (1, 1, 4, 4 * C), float32
    """
    strength = np.asarray(strength, np.float32)
    kernel = np.zeros((1, 1, len(PHASES), len(PHASES) * strength.size), np.float32)
    for p in range(len(PHASES)):
        kernel[0, 0, p, p * strength.size:(p + 1) * strength.size] = strength
    return kernel


def subpixel_frame_noise_kernel(strength: np.ndarray) -> np.ndarray:
    """A 1x1 kernel adding one noise value per time frame (shared by all rows) with a
    strength per channel, in sub-pixel form.

    The frame noise, shape (1, 2W) per map, is read as (1, W, 2): channel ``dx`` holds the
    frames of phase column ``dx``; phases ``(dy, dx)`` of channel ``c`` receive
    ``strength[c]`` times channel ``dx``.

    Returns
    -------
    np.ndarray, shape (1, 1, 2, 4 * C), float32
    """
    strength = np.asarray(strength, np.float32)
    kernel = np.zeros((1, 1, 2, len(PHASES) * strength.size), np.float32)
    for p, (_, dx) in enumerate(PHASES):
        kernel[0, 0, dx, p * strength.size:(p + 1) * strength.size] = strength
    return kernel
