"""The intensity knob measured: a sweep from light to heavy, rendered and metered."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.loudness import measure_lufs
from .stream import RainStream


def sweep_report(generator, seconds: float = 10.0, window_s: float = 2.0, seed: int = 0,
                 sample_rate_hz: int = 48_000) -> dict[str, Any]:
    """Render an intensity sweep from 0 to 1 and measure it .

    Returns
    -------
    dict with ``window_lufs`` (loudness of consecutive ``window_s`` windows), ``rise_db``
    (last window minus first), ``monotonic`` (every window louder than the one before),
    ``sweep_max_step`` and ``held_max_step`` (largest sample-to-sample step of the sweep, and
    of the same seed held at intensity 0 and at 1)
    """
    def take(intensity_at) -> np.ndarray:
        stream = RainStream(generator, sample_rate_hz, 2, seed, chunks_per_block=1,
                            intensity=intensity_at(0.0))
        blocks, have, n_out = [], 0, int(seconds * sample_rate_hz)
        while have < n_out:
            stream.set_intensity(intensity_at(have / n_out))
            blocks.append(stream.next_block())
            have += blocks[-1].shape[0]
        return np.concatenate(blocks)[:n_out]

    sweep = take(lambda progress: min(progress, 1.0))
    held = [take(lambda progress, level=level: level) for level in (0.0, 1.0)]
    window = int(window_s * sample_rate_hz)
    lufs = [measure_lufs(sweep[i:i + window], sample_rate_hz)
            for i in range(0, sweep.shape[0] - window + 1, window)]
    return {"window_lufs": lufs, "rise_db": lufs[-1] - lufs[0],
            "monotonic": bool(np.all(np.diff(lufs) > 0)),
            "sweep_max_step": float(np.abs(np.diff(sweep, axis=0)).max()),
            "held_max_step": float(max(np.abs(np.diff(h, axis=0)).max() for h in held))}
