"""The last stage before audio leaves RainGAN: no NaN or Inf, no DC, nothing beyond +-1.

Stateful and block-size independent, so a stream processed block by block gives the same
samples as one processed whole.
"""

from __future__ import annotations

import numpy as np

from .. import _native

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
        # y[n] = x[n] - x[n-1] + pole * y[n-1]: a zero at DC, a pole just inside it.
        self._pole = float(np.exp(-2.0 * np.pi * DC_CUTOFF_HZ / sample_rate_hz))
        self._state = np.zeros(channels)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Make a block safe; shape (frames, channels) in and out, float32."""
        # The native filter (scipy.signal.lfilter's arithmetic, without the GIL and without
        # importing scipy.signal's 50 MB) zeroes NaN and Inf as it goes.
        filtered = np.array(block, dtype=np.float64, order="C")
        _native.dc_block(filtered, self._state, self._pole)
        return soft_limit(filtered).astype(np.float32)
