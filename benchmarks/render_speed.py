"""Offline rendering speed of a model: real-time factor, time to first audio, peak memory.

Real-time factor = audio seconds produced per wall-clock second, for the whole pipeline
(latents -> onnxruntime -> phase reconstruction -> stitching -> resampling -> safety).
Time to first audio = constructing a RainSource (it loads the model), start() and the first
render() of a 512-frame buffer, as a host starting playback sees it (imports excluded).
Stems throughput = audio seconds of `raingan stems` (4 stems of 30 s) per wall second.

    python benchmarks/render_speed.py --model MODEL.onnx [--seconds 60] [--device cpu]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from raingan.runtime.generator import Generator, default_model_path
from raingan.runtime.render import RenderSettings, render
from raingan.runtime.source import RainSource
from raingan.runtime.stems import render_stems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = args.model or default_model_path()

    started = time.perf_counter()
    source = RainSource(model, sample_rate=48_000, channels=2, seed=0, device=args.device)
    source.start()
    buffer = np.zeros((512, 2), np.float32)
    source.render(buffer)
    first_audio_s = time.perf_counter() - started
    source.stop()
    assert np.abs(buffer).max() > 0

    generator = Generator(model, device=args.device)
    print(f"model {model.name}, providers {generator.providers}")
    print(f"time to first audio: {1000 * first_audio_s:.0f} ms (RainSource construction, "
          f"start, first 512-frame render, 48 kHz stereo)")
    cases = [("48 kHz stereo (default)", RenderSettings(args.seconds, 48_000, 2, seed=1)),
             ("44.1 kHz mono", RenderSettings(args.seconds, 44_100, 1, seed=1)),
             ("96 kHz stereo", RenderSettings(args.seconds, 96_000, 2, seed=1))]
    for label, settings in cases:
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            render(generator, settings)
            times.append(time.perf_counter() - t0)
        best, median = min(times), float(np.median(times))
        print(f"{label:<26} {args.seconds:g} s of audio: median {median:.2f} s "
              f"-> {args.seconds / median:.1f}x real time (best {args.seconds / best:.1f}x)")
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        render_stems(generator, Path(folder) / "stems", 4, RenderSettings(30.0, seed=1))
        stems_s = time.perf_counter() - t0
    print(f"stems: 4 x 30 s, 48 kHz stereo, 24-bit, loudness-normalised: {stems_s:.2f} s "
          f"-> {120 / stems_s:.1f}x real time")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
