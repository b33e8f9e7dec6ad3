"""Relative rendering speed of two models, from interleaved renders.

On a shared machine the speed of one render moves by 10-15 % from minute to minute; renders
of two models taken in turns see the same conditions, so the median of their paired time
ratios compares the models where separate runs of render_speed.py cannot.

    python benchmarks/render_speed_pair.py A.onnx B.onnx [--pairs 10] [--seconds 60]

Prints each model's median real-time factor (48 kHz stereo, default settings, seeds 0..N-1)
and the median of B's time over A's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from raingan.runtime.generator import Generator
from raingan.runtime.render import RenderSettings, render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs=2, metavar="MODEL")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    generators = [Generator(m, device="cpu") for m in args.models]
    for generator in generators:  # warm-up: sessions, thread pools, caches
        render(generator, RenderSettings(seconds=5.0, seed=0))
    times = np.zeros((args.pairs, 2))
    for pair in range(args.pairs):
        for k, generator in enumerate(generators):
            started = time.perf_counter()
            render(generator, RenderSettings(seconds=args.seconds, seed=pair))
            times[pair, k] = time.perf_counter() - started
    for k, model in enumerate(args.models):
        print(f"{model.name}: median {args.seconds / np.median(times[:, k]):.1f}x real time")
    print(f"{args.models[1].name} / {args.models[0].name} time: median ratio "
          f"{np.median(times[:, 1] / times[:, 0]):.3f} over {args.pairs} pairs")


if __name__ == "__main__":
    main()
