"""Relative rendering speed of two models, or of one model with the stream's stereo mix as
a matrix product, from interleaved renders.

On a shared machine the speed of one render moves by 10-15 % from minute to minute; renders
of two models taken in turns see the same conditions, so the median of their paired time
ratios compares the models where separate runs of render_speed.py cannot.

    python benchmarks/render_speed_pair.py A.onnx B.onnx [--pairs 10] [--seconds 60]
    python benchmarks/render_speed_pair.py A.onnx --stereo-mix-product [--pairs 10]

Prints each side's median real-time factor (48 kHz stereo, default settings, seeds 0..N-1)
and the median of B's time over A's. With ``--stereo-mix-product`` B is A's model with
``RainStream`` mixing its two streams by ``audio @ matrix.T`` (numpy's product, which hands
a block's mix to OpenBLAS's threads) instead of :func:`~raingan.runtime.stream.apply_width`.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import Callable

import numpy as np

from raingan.runtime import stream
from raingan.runtime.generator import Generator
from raingan.runtime.render import RenderSettings, render


@contextlib.contextmanager
def stereo_mix_product():
    """Streams mix their two channels with numpy's matrix product while inside."""
    written_out = stream.apply_width
    stream.apply_width = lambda audio, matrix: audio @ matrix.T
    try:
        yield
    finally:
        stream.apply_width = written_out


def paired_times(sides: list[Callable[[RenderSettings], object]], pairs: int,
                 seconds: float) -> np.ndarray:
    """Seconds each side takes to render ``seconds`` of seed ``pair``, shape (pairs, sides),
    the sides taken in turns after a warm-up render each."""
    for side in sides:  # warm-up: sessions, thread pools, caches
        side(RenderSettings(seconds=5.0, seed=0))
    times = np.zeros((pairs, len(sides)))
    for pair in range(pairs):
        for k, side in enumerate(sides):
            started = time.perf_counter()
            side(RenderSettings(seconds=seconds, seed=pair))
            times[pair, k] = time.perf_counter() - started
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", metavar="MODEL")
    parser.add_argument("--stereo-mix-product", action="store_true",
                        help="compare A with itself, B mixing stereo by a matrix product")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if len(args.models) != (1 if args.stereo_mix_product else 2):
        parser.error("give two models, or one with --stereo-mix-product")
    generators = [Generator(m, device="cpu") for m in args.models]
    sides = [lambda settings, g=g: render(g, settings) for g in generators]
    names = [model.name for model in args.models]
    if args.stereo_mix_product:
        def product_side(settings: RenderSettings) -> None:
            with stereo_mix_product():
                render(generators[0], settings)
        sides.append(product_side)
        names.append(f"{names[0]} (stereo mix as a matrix product)")
    times = paired_times(sides, args.pairs, args.seconds)
    for k, name in enumerate(names):
        print(f"{name}: median {args.seconds / np.median(times[:, k]):.1f}x real time")
    print(f"{names[1]} / {names[0]} time: median ratio "
          f"{np.median(times[:, 1] / times[:, 0]):.3f} over {args.pairs} pairs")


if __name__ == "__main__":
    main()
