"""The last stage before audio leaves RainGAN: no NaN or Inf, no DC, nothing beyond +-1.

Stateful and block-size independent, so a stream processed block by block gives the same
samples as one processed whole.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

#: DC blocker corner frequency, Hz: far below rain's lowest content.
DC_CUTOFF_HZ = 5.0
#: Samples below this magnitude pass untouched; above it they bend smoothly towards 1.
LIMITER_KNEE = 0.9


def soft_limit(x: np.ndarray, knee: float = LIMITER_KNEE) -> np.ndarray:
    """Identity below ``knee``; above it, ``knee + (1 - knee) * tanh(excess / (1 - knee))``.

    Continuous with a continuous slope at the knee, and within [-1, 1] (a float32 sample
    can round to exactly 1 far above the knee).
    """
    magnitude = np.abs(x)
    over = magnitude > knee
    if not over.any():
        return x
    out = x.copy()
    span = 1.0 - knee
    out[over] = np.sign(x[over]) * (knee + span * np.tanh((magnitude[over] - knee) / span))
    return out


class OutputSafety:
    """NaN/Inf -> 0, a one-pole DC blocker, then the soft limiter; one state per channel.

    Parameters
    ----------
    sample_rate_hz : rate of the audio that will pass through
    channels : number of interleaved channels
    """

    def __init__(self, sample_rate_hz: int, channels: int):
        pole = float(np.exp(-2.0 * np.pi * DC_CUTOFF_HZ / sample_rate_hz))
        # y[n] = x[n] - x[n-1] + pole * y[n-1]: a zero at DC, a pole just inside it.
        self._b = np.array([1.0, -1.0])
        self._a = np.array([1.0, -pole])
        self._state = np.zeros((1, channels))

    def process(self, block: np.ndarray) -> np.ndarray:
        """Make a block safe; shape (frames, channels) in and out, float32."""
        block = np.asarray(block, dtype=np.float64)
        if not np.isfinite(block).all():  # one pass where nan_to_num makes three and a copy
            block = np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
        filtered, self._state = lfilter(self._b, self._a, block, axis=0, zi=self._state)
        return soft_limit(filtered).astype(np.float32)
