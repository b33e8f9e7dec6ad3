"""The LV2 plugin's run() (urn:raingan:rain): time per call and underruns.

Installs the plugin from the installed package into a temporary LV2 folder (`raingan plugin
install`), builds the small lilv host of the tests (tests/native/lv2_host.c; needs liblilv-dev
and lilv's tools' libraries), then runs one instance (48 kHz, seed 1, its producer process
running): it waits until the producer streams and 1 s more, then calls run() for SECONDS of
audio in BLOCK-frame blocks, one per period, SPEED times faster than real time. Prints p50,
p99, p99.9 and the maximum of the per-call durations of run() (the plugin's whole run: its
control ports, the C ABI's render and stats, the notify port) and the underruns after the
ring was primed. --realtime gives the calling thread SCHED_FIFO priority once the producers
run, as audio APIs give their callback threads; --off switches the plugin off (its enabled
port) for the timed part, which leaves run() without the render; --floor times, in run()'s
place and with the plugin running untimed after it, a plain copy of one block out of a
96 KiB ring (what any generator's run() does at least): this machine's floor for the figure;
--warm runs each block twice and times the second run() (the plugin's own work with warm
caches; it reads the ring twice as fast, so give it --speed 0.5).

    python benchmarks/lv2_run.py [--seconds 60] [--speed 1] [--block 512] [--instances 1]
        [--realtime] [--off] [--floor] [--warm]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HOST_SOURCE = Path(__file__).resolve().parents[1] / "tests" / "native" / "lv2_host.c"
URI = "urn:raingan:rain"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--block", type=int, default=512)
    parser.add_argument("--instances", type=int, default=1, choices=range(1, 9))
    parser.add_argument("--realtime", action="store_true")
    parser.add_argument("--off", action="store_true")
    parser.add_argument("--floor", action="store_true")
    parser.add_argument("--warm", action="store_true")
    args = parser.parse_args()
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None or not Path("/usr/include/lilv-0/lilv/lilv.h").is_file():
        sys.exit("lv2_run: needs a C compiler and liblilv-dev (apt-get install liblilv-dev)")
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "lv2"
        subprocess.run([sys.executable, "-m", "raingan", "plugin", "install", "--prefix",
                        str(prefix)], check=True, capture_output=True)
        host = Path(tmp) / "lv2_host"
        subprocess.run([compiler, "-std=c11", "-O2", str(HOST_SOURCE), "-I/usr/include/lilv-0",
                        "-llilv-0", "-lm", "-o", str(host)], check=True)
        seeds = [str(1 + k) for k in range(args.instances)]
        output = subprocess.run([str(host), URI, str(args.seconds), *seeds, "--speed",
                                 str(args.speed), "--block", str(args.block),
                                 *(["--realtime"] if args.realtime else []),
                                 *(["--off"] if args.off else []),
                                 *(["--floor"] if args.floor else []),
                                 *(["--warm"] if args.warm else [])],
                                env={**os.environ, "LV2_PATH": str(prefix)}, check=True,
                                capture_output=True, text=True).stdout
    timing = dict(item.split("=") for item in re.search(r"run_us (.*)", output).group(1).split())
    ready = re.search(r"ready after (\S+) s", output).group(1)
    underruns = [int(u) for u in re.findall(r"underruns=(\d+) producer", output)]
    print(f"{'block':>6} {'inst':>4} {'calls':>6} {'p50 us':>8} {'p99 us':>8} {'p99.9 us':>9} "
          f"{'max us':>8} {'underruns':>10} {'ready s':>8}")
    print(f"{args.block:>6} {args.instances:>4} {timing['calls']:>6} {float(timing['p50']):>8.2f} "
          f"{float(timing['p99']):>8.2f} {float(timing['p999']):>9.2f} {float(timing['max']):>8.1f} "
          f"{sum(underruns):>10} {float(ready):>8.2f}")


if __name__ == "__main__":
    main()
