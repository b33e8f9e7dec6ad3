"""Soak test: one RainSource for a long stretch of audio, its knobs always moving.

A Python audio callback renders BUFFER-frame buffers paced SPEED times faster than real time
over MINUTES of simulated audio, and every 50 ms of audio moves gain, width and intensity to
random values within their ranges. The callback is called as an audio API calls one: from a
native thread that wakes at the due time and takes the GIL for the call
(``raingan._native.time_python_calls``). Reports underruns, non-finite samples, the largest
|sample|, the process's RSS at 1, 10 and 60 simulated minutes (those reached), and, as the
callback sees them: the wait for the GIL after waking (what the producer's Python work costs
a Python caller), the ``render`` call, and their sum, the time from waking to holding the
samples (p50 / p99.9 / max).

    python benchmarks/soak.py [--minutes 60] [--speed 4] [--buffer 512] [--model M.onnx]
        [--realtime] [--served] [--json out.json]

--served runs a ServedRainSource instead (its producer is a ``raingan serve`` process; the
RSS figures are then the host process's alone).

--realtime gives the callback's thread SCHED_FIFO priority (Linux, with the right to it), as
audio APIs give theirs: the figures then leave out the OS preempting the caller for other
processes. The default, an hour at 4x, takes 15 minutes of wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from raingan import _native
from raingan import RainSource, ServedRainSource

KNOB_PERIOD_S = 0.05
RSS_MINUTES = (1, 10, 60)


def rss_mb() -> float:
    """Resident set size of this process, MB (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def soak(minutes: float, speed: float, frames: int = 512, model: Path | None = None,
         rate_hz: int = 48_000, seed: int = 1, realtime: bool = False,
         served: bool = False) -> dict:
    """Run the soak; ``speed`` 0 renders as fast as possible (no pacing)."""
    rng = np.random.default_rng(seed)
    n_buffers = int(minutes * 60 * rate_hz / frames)
    knob_every = max(1, round(KNOB_PERIOD_S * rate_hz / frames))
    period_s = frames / rate_hz / speed if speed > 0 else 0.0
    buffer = np.zeros((frames, 2), np.float32)
    render_ns = np.zeros(n_buffers, np.int64)
    state = {"i": 0, "non_finite": 0, "peak": 0.0, "rss": {}}
    next_rss = [m for m in RSS_MINUTES if m <= minutes]
    source = ServedRainSource if served else RainSource
    with source(model, sample_rate=rate_hz, channels=2, seed=seed) as rain:
        has_intensity = served or rain._stream.generator.intensity_axis is not None

        def callback() -> None:
            i = state["i"]
            if i == 0 and realtime:  # this is the native caller's thread
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
            t0 = time.perf_counter_ns()
            rain.render(buffer)
            render_ns[i] = time.perf_counter_ns() - t0
            if i % knob_every == 0:
                rain.gain_db = float(rng.uniform(-40.0, 12.0))
                rain.width = float(rng.uniform(0.0, 1.0))
                if has_intensity:
                    rain.intensity = float(rng.uniform(0.0, 1.0))
            finite = np.isfinite(buffer)
            state["non_finite"] += int(buffer.size - np.count_nonzero(finite))
            state["peak"] = max(state["peak"], float(np.abs(np.where(finite, buffer, 0.0)).max()))
            simulated_min = (i + 1) * frames / rate_hz / 60
            while next_rss and simulated_min >= next_rss[0]:
                state["rss"][f"{next_rss.pop(0)} min"] = round(rss_mb(), 1)
            state["i"] = i + 1

        started = time.perf_counter()
        waits = _native.time_python_calls(callback, n_buffers, period_s)
        wall_s = time.perf_counter() - started
        stats = rain.stats()

    def tail(ns: np.ndarray) -> dict:
        us = ns / 1e3
        return {"p50": round(float(np.percentile(us, 50)), 1),
                "p99.9": round(float(np.percentile(us, 99.9)), 1),
                "max": round(float(us.max()), 1)}

    return {"simulated_minutes": minutes, "speed": speed, "buffer_frames": frames,
            "buffers": n_buffers, "realtime": realtime, "served": served, "wall_s": round(wall_s, 1),
            "underruns": stats.underruns, "loop_heard_frames": stats.loop_heard_frames,
            "non_finite_samples": state["non_finite"], "max_abs": state["peak"],
            "rss_mb": state["rss"], "producer_error": stats.error,
            "gil_wait_us": tail(waits[:, 0]), "render_us": tail(render_ns),
            "waking_to_samples_us": tail(waits[:, 0] + render_ns),
            "late_wakeup_us": tail(waits[:, 1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated minutes (default 60)")
    parser.add_argument("--speed", type=float, default=4.0,
                        help="times real time; 0 for unpaced (default 4)")
    parser.add_argument("--buffer", type=int, default=512, help="frames per render (default 512)")
    parser.add_argument("--model", type=Path, help="exported .onnx model (default: bundled)")
    parser.add_argument("--realtime", action="store_true",
                        help="SCHED_FIFO for the callback's thread, as audio APIs give theirs")
    parser.add_argument("--served", action="store_true",
                        help="a ServedRainSource: the producer in its own process")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = soak(args.minutes, args.speed, args.buffer, args.model, realtime=args.realtime,
                  served=args.served)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
