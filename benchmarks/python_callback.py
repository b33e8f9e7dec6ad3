"""A Python audio callback paced at real time: what `ServedRainSource.render` costs it, beside
what the cheapest things a callback can do cost on the same machine.

A native thread (`raingan._native.time_python_calls`, as an audio API's callback thread)
sleeps until each 512-frame period is due, takes the GIL and calls a Python callback. Timed,
per call: the GIL wait after waking plus the callback's one statement, that is, from waking
to holding the samples (issue 37's figure). The statements, each for SECONDS in every round,
the rounds interleaved so that all see the machine alike:

- ``render``: ``rain.render(buffer)`` on a started `ServedRainSource` (seed 1, 48 kHz
  stereo);
- ``nothing``: ``None``: waking, the GIL and a Python call with cold caches;
- ``property``: ``rain._renderer.attached``, a pybind11 property: a native call's own cost;
- ``fill``: ``buffer.fill(0.0)``, numpy's cheapest write to the buffer.

    python benchmarks/python_callback.py [--seconds 20] [--rounds 3] [--realtime]

``--realtime`` gives the callback thread SCHED_FIFO priority 50 (needs the privilege).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from raingan import _native
from raingan.runtime.served_source import ServedRainSource

RATE_HZ, FRAMES = 48_000, 512


def time_statement(statement, seconds: float, realtime: bool) -> np.ndarray:
    """Waking-to-done times, in microseconds, of ``statement`` called once per period."""
    n = int(seconds * RATE_HZ / FRAMES)
    done_ns = np.zeros(n, np.int64)
    state = {"i": 0}

    def callback() -> None:
        i = state["i"]
        if i == 0 and realtime:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
        t0 = time.perf_counter_ns()
        statement()
        done_ns[i] = time.perf_counter_ns() - t0
        state["i"] = i + 1

    waits = _native.time_python_calls(callback, n, FRAMES / RATE_HZ)
    return (waits[:, 0] + done_ns) / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per statement and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--realtime", action="store_true")
    args = parser.parse_args()
    buffer = np.zeros((FRAMES, 2), np.float32)
    with ServedRainSource(sample_rate=RATE_HZ, channels=2, seed=1) as rain:
        statements = {"render": lambda: rain.render(buffer), "nothing": lambda: None,
                      "property": lambda: rain._renderer.attached,
                      "fill": lambda: buffer.fill(0.0)}
        times = {name: [] for name in statements}
        for _ in range(args.rounds):
            for name, statement in statements.items():
                times[name].append(time_statement(statement, args.seconds, args.realtime))
        underruns = rain.stats().underruns
    print(f"{args.rounds} rounds x {args.seconds:g} s per statement, {FRAMES}-frame periods at "
          f"{RATE_HZ} Hz{', SCHED_FIFO' if args.realtime else ''}; waking to done, us")
    print(f" {'statement':<10}{'p50':>8}{'p99':>8}{'p99.9':>8}{'max':>9}")
    for name, parts in times.items():
        us = np.concatenate(parts)
        p50, p99, p999 = np.percentile(us, [50, 99, 99.9])
        print(f" {name:<10}{p50:8.1f}{p99:8.1f}{p999:8.1f}{us.max():9.1f}")
    print(f"underruns of the served source: {underruns}")


if __name__ == "__main__":
    main()
