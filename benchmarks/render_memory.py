"""Peak memory of a render and of a running RainSource, each in a fresh process.

1. ``raingan render OUT.wav --seconds SECONDS --seed 1`` (48 kHz stereo, 24-bit) as a child
   process: its peak RSS, as ``/usr/bin/time -v`` reports it (the kernel's high-water mark of
   that process, from ``wait4``), its wall time and CPU time.
2. A ``RainSource`` (bundled model or ``--model``, 48 kHz stereo, default latency, seed 1)
   in a child process, rendering 512-frame buffers paced at SPEED times real time for
   SOURCE_SECONDS of audio: its RSS once started, at the end, and its peak (start-up and
   the fallback loop's rendering included).

    python benchmarks/render_memory.py [--seconds 60] [--source-seconds 60] [--speed 4]
        [--model M.onnx] [--repeats 1]

Each figure is a process of its own, so one does not inherit the other's heap.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE_CHILD = r"""
import json, resource, sys, time
import numpy as np
from raingan import RainSource

def rss_mb():  # MiB
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

model, seconds, speed = (sys.argv[1] or None), float(sys.argv[2]), float(sys.argv[3])
frames, rate = 512, 48_000
period = frames / rate / speed
buffer = np.zeros((frames, 2), np.float32)
with RainSource(model, sample_rate=rate, channels=2, seed=1) as rain:
    started_mb = rss_mb()
    deadline = time.perf_counter()
    for _ in range(int(seconds * rate / frames)):
        deadline += period
        delay = deadline - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        rain.render(buffer)
    end_mb = rss_mb()
    stats = rain.stats()
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"started_mb": started_mb, "end_mb": end_mb, "peak_mb": peak_mb,
                  "underruns": stats.underruns, "loop_ready": stats.loop_ready}))
"""


def raise_for(returncode: int, argv: list[str], err: str) -> None:
    if returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({returncode}): {err.strip()[-500:]}")


def measured(argv: list[str]) -> tuple[str, float, float, float]:
    """Run ``argv`` and return (stdout, peak RSS MiB, wall s, CPU s), from wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        raise_for(child.returncode, argv, err.read())
        cpu = usage.ru_utime + usage.ru_stime
        return out.read(), usage.ru_maxrss / 1024, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="length of the render, s (default 60)")
    parser.add_argument("--source-seconds", type=float, default=60.0,
                        help="audio the RainSource renders, s (default 60; 0: skip it)")
    parser.add_argument("--speed", type=float, default=4.0,
                        help="the RainSource's pace, times real time (default 4)")
    parser.add_argument("--model", type=Path, help="exported .onnx model (default: bundled)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each (default 1)")
    args = parser.parse_args()
    raingan = str(Path(sys.executable).with_name("raingan"))
    model = [] if args.model is None else ["--model", str(args.model)]
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            _, peak, wall, cpu = measured([raingan, "render", str(Path(folder) / "m.wav"),
                                           "--seconds", f"{args.seconds:g}", "--seed", "1",
                                           "--device", "cpu", *model])
            print(f"raingan render --seconds {args.seconds:g}: peak RSS {peak:.0f} MiB "
                  f"(wall {wall:.1f} s, CPU {cpu:.1f} s)")
    for _ in range(args.repeats if args.source_seconds > 0 else 0):
        out, peak, wall, _ = measured([sys.executable, "-c", SOURCE_CHILD,
                                       "" if args.model is None else str(args.model),
                                       f"{args.source_seconds:g}", f"{args.speed:g}"])
        figures = json.loads(out)
        print(f"RainSource, {args.source_seconds:g} s of audio at {args.speed:g}x: peak RSS "
              f"{peak:.0f} MiB; RSS {figures['started_mb']:.0f} MiB once started, "
              f"{figures['end_mb']:.0f} MiB at the end (underruns {figures['underruns']}, "
              f"loop ready {figures['loop_ready']}, wall {wall:.1f} s)")


if __name__ == "__main__":
    main()
