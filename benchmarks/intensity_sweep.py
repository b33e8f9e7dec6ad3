"""Intensity sweep: does 0 -> 1 take the rain from light to heavy, smoothly?

Renders SECONDS of 48 kHz stereo while the intensity target moves linearly from 0 to 1
(set before every chunk), and, for comparison, the same seed held at 0 and at 1. Prints the
loudness (BS.1770, pyloudnorm) of consecutive WINDOW_S windows of the sweep, its rise, whether
it rises monotonically, and the largest sample-to-sample step of the sweep against those of
the held renders (the rain's own).

    python benchmarks/intensity_sweep.py [--model M.onnx] [--seconds 10] [--window-s 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from raingan.runtime.generator import Generator, default_model_path
from raingan.runtime.intensity_sweep import sweep_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window-s", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    generator = Generator(args.model or default_model_path(), device="cpu")
    report = sweep_report(generator, args.seconds, args.window_s, args.seed)
    print("window loudness, LUFS:", " ".join(f"{v:.1f}" for v in report["window_lufs"]))
    print(f"rise {report['rise_db']:.1f} dB, monotonic: {report['monotonic']}")
    print(f"largest step: sweep {report['sweep_max_step']:.4f}, held renders "
          f"{report['held_max_step']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if report["monotonic"] and report["rise_db"] >= 6 else 1


if __name__ == "__main__":
    sys.exit(main())
