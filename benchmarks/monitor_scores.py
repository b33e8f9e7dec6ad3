"""What a model scores when rendered as independent chunks and as a stream.

A training monitor could score independent chunks (every latent component drawn afresh
for each chunk, no levelling), but users hear the stream (latent walk, chunk
levelling). This scores both renderings of one model, mono at the spec's rate, against
what the monitor uses as references: the first 20 s of every training signal (the first
two thirds of each corpus recording, each channel). (`model_quality.py` gives the 60 s,
48 kHz stereo figures against pooled references.)

    python benchmarks/monitor_scores.py [--model MODEL.onnx] [--seconds 6 20 60]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from raingan.eval.bars import split_thirds  # noqa: E402
from roundtrip_quality import recordings  # noqa: E402

from raingan.core.audio_io import read_audio  # noqa: E402
from raingan.eval.evaluate import evaluate_arrays  # noqa: E402
from raingan.runtime.generator import Generator, default_model_path  # noqa: E402
from raingan.core.stitch import stitch  # noqa: E402
from raingan.runtime.stream import RainStream  # noqa: E402
from raingan.core.synthesis import images_to_chunks  # noqa: E402
from raingan.training.monitor import _EVAL_STREAM, REFERENCE_S_PER_SIGNAL  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--seconds", type=float, nargs="+", default=[6.0, 20.0, 60.0])
    args = parser.parse_args()
    generator = Generator(args.model or default_model_path(), device="cpu")
    spec, rate = generator.spec, generator.spec.sample_rate_hz
    references = []
    for path in recordings():
        for channel in np.atleast_2d(read_audio(path, rate).samples.T):
            references.append(split_thirds(channel)[0][:int(REFERENCE_S_PER_SIGNAL * rate)])
    print("seconds  rendering            distance  repetition  seam dB")
    for seconds in args.seconds:
        n_samples = int(seconds * rate)
        n_chunks = 1 + max(math.ceil((n_samples - spec.chunk_samples)
                                     / spec.chunk_step_samples), 0)
        latents = generator.latents(np.random.default_rng([0, _EVAL_STREAM]), n_chunks)
        independent = stitch(images_to_chunks(generator.images(latents), spec,
                                              generator.phase), spec)[:n_samples]
        stream, blocks = RainStream(generator, rate, 1, seed=_EVAL_STREAM), []
        while sum(len(b) for b in blocks) < n_samples:
            blocks.append(stream.next_block()[:, 0])
        for name, audio in (("independent chunks", independent),
                            ("stream", np.concatenate(blocks)[:n_samples])):
            score = evaluate_arrays(references, [audio], rate).overall
            print(f"{seconds:7g}  {name:<19}{score.mean_distance:9.3f}{score.repetition:12.3f}"
                  f"{score.seam_db:9.2f}")


if __name__ == "__main__":
    main()
