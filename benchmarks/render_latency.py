"""RainSource.render latency and underruns, as a native host's audio thread sees them.

For each buffer size, a RainSource runs its producer thread while the native core renders
one buffer per period on another thread without the GIL (``RainCore.time_renders``), over
SECONDS of simulated audio, paced SPEED times faster than real time. Prints p50, p99,
p99.9 and the maximum of the per-call durations, and the underruns.

    python benchmarks/render_latency.py [--model M.onnx] [--seconds 600] [--speed 8]
        [--buffers 64 256 512 1024] [--latency-ms 250] [--rate 48000] [--realtime]
        [--json out.json]

--realtime gives the rendering thread SCHED_FIFO priority, as audio APIs give their
callback threads (needs the privilege to do so; refused otherwise).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from raingan import RainSource
from raingan.runtime.source import DEFAULT_LATENCY_MS


def realtime_priority(on: bool) -> None:
    """SCHED_FIFO (or back to SCHED_OTHER) for the calling thread only: Linux applies
    sched_setscheduler(0, ...) per thread, and threads started later inherit it."""
    import os

    if on:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
    else:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def measure(model: Path | None, frames: int, seconds: float, speed: float, latency_ms: float,
            rate_hz: int, realtime: bool = False) -> dict:
    n_buffers = int(seconds * rate_hz / frames)
    with RainSource(model, sample_rate=rate_hz, channels=2, seed=1,
                    latency_ms=latency_ms) as rain:
        if realtime:  # after start(): the producer threads keep normal priority
            realtime_priority(True)
        started = time.perf_counter()
        durations_ns = rain.native_core.time_renders(frames, n_buffers, frames / rate_hz / speed)
        wall_s = time.perf_counter() - started
        if realtime:
            realtime_priority(False)
        stats = rain.stats()
    us = durations_ns / 1e3
    return {"frames": frames, "buffers": n_buffers, "wall_s": wall_s,
            "p50_us": float(np.percentile(us, 50)), "p99_us": float(np.percentile(us, 99)),
            "p999_us": float(np.percentile(us, 99.9)), "max_us": float(us.max()),
            "underruns": stats.underruns, "loop_heard_frames": stats.loop_heard_frames,
            "producer_load": stats.producer_load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--seconds", type=float, default=600.0, help="simulated audio per size")
    parser.add_argument("--speed", type=float, default=8.0, help="pace, x real time")
    parser.add_argument("--buffers", type=int, nargs="+", default=[64, 256, 512, 1024])
    parser.add_argument("--latency-ms", type=float, default=DEFAULT_LATENCY_MS)
    parser.add_argument("--rate", type=int, default=48_000)
    parser.add_argument("--realtime", action="store_true",
                        help="render on a SCHED_FIFO thread, as an audio callback runs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.realtime:
        try:
            realtime_priority(True)
            realtime_priority(False)
        except (AttributeError, PermissionError) as exc:
            sys.exit(f"render_latency: cannot get real-time priority ({exc})")

    print(f"{args.seconds:g} s simulated at {args.rate} Hz stereo, paced {args.speed:g}x real "
          f"time, latency {args.latency_ms:g} ms"
          f"{', SCHED_FIFO render thread' if args.realtime else ''}")
    print(f"{'frames':>7}{'p50 us':>9}{'p99 us':>9}{'p99.9 us':>10}{'max us':>9}"
          f"{'underruns':>11}{'load':>7}{'wall s':>8}")
    rows = []
    for frames in args.buffers:
        row = measure(args.model, frames, args.seconds, args.speed, args.latency_ms, args.rate,
                      args.realtime)
        rows.append(row)
        print(f"{frames:7d}{row['p50_us']:9.2f}{row['p99_us']:9.2f}{row['p999_us']:10.2f}"
              f"{row['max_us']:9.1f}{row['underruns']:11d}{row['producer_load']:7.3f}"
              f"{row['wall_s']:8.1f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    sys.exit(main())
