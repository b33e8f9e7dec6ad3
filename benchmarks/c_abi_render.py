"""raingan_render_interleaved (the C ABI, raingan.h) latency and underruns.

Builds benchmarks/c_abi_render.c against the installed libraingan, then, for each buffer
size, one raingan_t (48 kHz stereo, seed 1, its producer process running) renders SECONDS of
audio one buffer per period, SPEED times faster than real time, after the ring is primed.
Prints p50, p99, p99.9 and the maximum of the per-call durations, the underruns after
priming, producer restarts and samples outside [-1, 1].

    python benchmarks/c_abi_render.py [--seconds 60] [--speed 1] [--buffers 512]
        [--latency-ms 250]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import raingan

PACKAGE = Path(raingan.__file__).parent
SOURCE = Path(__file__).with_name("c_abi_render.c")
RATE = 48_000


def build(directory: Path) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        sys.exit("c_abi_render: needs a C compiler (gcc or cc)")
    binary = directory / "c_abi_render"
    subprocess.run([compiler, "-std=c11", "-O2", "-Wall", "-Wextra", str(SOURCE),
                    f"-I{PACKAGE / 'include'}", f"-L{PACKAGE}", "-lraingan",
                    f"-Wl,-rpath,{PACKAGE}", "-o", str(binary)], check=True)
    return binary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--buffers", type=int, nargs="+", default=[512])
    parser.add_argument("--latency-ms", type=float, default=250.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        binary = build(Path(tmp))
        print(f"{'frames':>7} {'p50 us':>8} {'p99 us':>8} {'p99.9 us':>9} {'max us':>8} "
              f"{'underruns':>10} {'restarts':>9} {'bad':>4} {'ready s':>8}")
        for frames in args.buffers:
            n_buffers = int(args.seconds * RATE / frames)
            line = subprocess.run([str(binary), sys.executable, str(frames), str(n_buffers),
                                   str(args.speed), str(args.latency_ms)],
                                  check=True, capture_output=True, text=True).stdout
            r = dict(item.split("=") for item in line.split())
            print(f"{frames:>7} {float(r['p50_us']):>8.2f} {float(r['p99_us']):>8.2f} "
                  f"{float(r['p999_us']):>9.2f} {float(r['max_us']):>8.1f} "
                  f"{r['underruns']:>10} {r['restarts']:>9} {r['bad_samples']:>4} "
                  f"{float(r['ready_s']):>8.2f}")


if __name__ == "__main__":
    main()
