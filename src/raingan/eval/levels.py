"""Band levels: the pooled level of signals in each of the eval's cochlear bands."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core.audio_io import resample
from . import cochlear
from .evaluate import ANALYSIS_RATE_HZ
from .texture import TextureConfig

#: Bands whose levels are measured: the texture measure's cochlear bands (20 Hz-10 kHz).
COLOUR_BANDS = TextureConfig()


def band_levels_db(signals: Sequence[np.ndarray], sample_rate_hz: int,
                   config: TextureConfig = COLOUR_BANDS) -> np.ndarray:
    """Pooled level of mono signals in each cochlear band, dB.

    The level is that of the mean compressed envelope (the texture measure's envelope mean),
    expressed as the power gain that would move it: ``20 log10(mean) / compression``. So a
    signal 6 dB louder reads 6 dB higher in every band.

    Parameters
    ----------
    signals : each shape (n_samples,), at ``sample_rate_hz``; pooled by duration
    sample_rate_hz : their rate, Hz

    Returns
    -------
    np.ndarray, shape (config.n_bands,), float64, dB (relative to full scale's envelope)
    """
    envelopes = [cochlear.cochlear_envelopes(
        np.asarray(resample(np.asarray(s, dtype=np.float64), sample_rate_hz, ANALYSIS_RATE_HZ),
                   dtype=np.float64), ANALYSIS_RATE_HZ, config) for s in signals]
    mean = np.concatenate(envelopes, axis=1).mean(axis=1)
    return 20.0 * np.log10(np.maximum(mean, 1e-30)) / config.compression
