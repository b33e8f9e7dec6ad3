"""Where a stream's time goes: latents, onnxruntime, chunk levelling, phase reconstruction.

Runs the stages of ``RainStream.next_block`` one by one on blocks of 16 stereo chunk steps
(32 chunks, about 11 s of audio) and prints the mean milliseconds of each per block.
Stitching, resampling and output safety, which follow, are not timed.

    python benchmarks/stream_stages.py [--model MODEL.onnx] [--blocks 6]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from raingan.runtime.generator import Generator, default_model_path
from raingan.runtime.stream import RainStream
from raingan.core.synthesis import images_to_chunks

CHUNK_STEPS = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--blocks", type=int, default=6)
    args = parser.parse_args()
    generator = Generator(args.model or default_model_path(), device="cpu")
    stream = RainStream(generator, seed=0, chunks_per_block=CHUNK_STEPS)
    stream.next_block()  # warm-up: sessions, thread pools, caches
    totals = dict.fromkeys(("latents", "onnxruntime", "levelling", "phase"), 0.0)
    for _ in range(args.blocks):
        marks = [time.perf_counter()]
        latents = np.stack([walk.take(CHUNK_STEPS) for walk in stream._walks], axis=1)
        marks.append(time.perf_counter())
        images = generator.images(latents.reshape(CHUNK_STEPS * stream.channels, -1))
        marks.append(time.perf_counter())
        images = stream._leveller.process(images)
        marks.append(time.perf_counter())
        images_to_chunks(images, generator.spec, generator.phase)
        marks.append(time.perf_counter())
        for name, start, end in zip(totals, marks, marks[1:]):
            totals[name] += end - start
    print(f"{generator.path.name}, ms per block of {CHUNK_STEPS} stereo chunk steps: "
          + ", ".join(f"{name} {seconds / args.blocks * 1e3:.1f}"
                      for name, seconds in totals.items()))


if __name__ == "__main__":
    main()
