"""Offline rendering speed of a model: real-time factor, time to first audio, peak memory.

Real-time factor = audio seconds produced per wall-clock second, for the whole pipeline
(latents -> onnxruntime -> phase reconstruction -> stitching -> resampling -> safety).
Time to first audio = constructing a RainSource (it loads the model), start() and the first
render() of a 512-frame buffer, as a host starting playback sees it (imports excluded).
Stems throughput = audio seconds of `raingan stems` (4 stems of 30 s) per wall second.
CPU cost = process CPU time (every thread) per audio second, as a share of one core: what a
host gives up to a stream, and less sensitive than the wall clock to other load. On Linux it
also prints the share of the CPU that the hypervisor gave to other guests during the runs
(steal, from /proc/stat): shared hosts differ in it from hour to hour, and wall-clock
figures fall with it.

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


def cpu_ticks() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs so far, from /proc/stat; None where there is none."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice: already in user]
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


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
    ticks_before = cpu_ticks()
    for label, settings in cases:
        times, cpu_times = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            render(generator, settings)
            times.append(time.perf_counter() - t0)
            cpu_times.append(time.process_time() - c0)
        best, median = min(times), float(np.median(times))
        cpu_share = float(np.median(cpu_times)) / args.seconds
        print(f"{label:<26} {args.seconds:g} s of audio: median {median:.2f} s "
              f"-> {args.seconds / median:.1f}x real time (best {args.seconds / best:.1f}x); "
              f"CPU {100 * cpu_share:.1f} % of one core")
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        render_stems(generator, Path(folder) / "stems", 4, RenderSettings(30.0, seed=1))
        stems_s = time.perf_counter() - t0
    print(f"stems: 4 x 30 s, 48 kHz stereo, 24-bit, loudness-normalised: {stems_s:.2f} s "
          f"-> {120 / stems_s:.1f}x real time")
    ticks_after = cpu_ticks()
    if ticks_before and ticks_after and ticks_after[1] > ticks_before[1]:
        steal = (ticks_after[0] - ticks_before[0]) / (ticks_after[1] - ticks_before[1])
        print(f"CPU stolen by the hypervisor during the runs: {100 * steal:.1f} %")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
