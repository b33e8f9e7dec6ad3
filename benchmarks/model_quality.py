"""How close a model's rain is to real, held-out rain (issue 6's quality figures).

Reference: the first two thirds of every corpus recording, pooled. Compared against it:

- held-out: the last thirds of the recordings, pooled (what real rain scores);
- noise: coloured-noise twins of the held-out thirds (what rain-coloured noise scores);
- model: SECONDS of the model's default rendering (48 kHz stereo, analysed as mono).

It also prints the chunk pattern: how alike the temporal profiles of unrelated chunks are.

    python benchmarks/model_quality.py --model MODEL.onnx [--seconds 60] [--seed 0] [--drift-s 10] [--json out.json]
        [--truncation T] [--scale PART=FACTOR]

``--truncation`` renders with another latent truncation; ``--scale`` multiplies one part of
every latent the stream draws (see ``chunk_modulation.py``): experiments, not settings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chunk_modulation import parse_scales, scaled  # noqa: E402
from roundtrip_quality import recordings, split_thirds  # noqa: E402

from raingan.runtime import evaluate  # noqa: E402
from raingan.runtime.audio_io import read_audio  # noqa: E402
from raingan.runtime.generator import Generator, default_model_path  # noqa: E402
from raingan.runtime.render import RenderSettings, render  # noqa: E402
from raingan.runtime.stream import DEFAULT_DRIFT_S  # noqa: E402

RATE_HZ = 48_000


def chunk_pattern(generator: Generator, n_latents: int = 64) -> float:
    """Mean correlation, between unrelated latents, of each image's loudness over time.

    Near 0 when the generator places drops anywhere; high when it stamps one temporal
    pattern on every chunk (heard as a pulse at the chunk rate).
    """
    images = generator.images(generator.latents(np.random.default_rng(0), n_latents))
    profiles = images.mean(axis=1)
    profiles = profiles - profiles.mean(axis=1, keepdims=True)
    pairs = np.triu_indices(n_latents, 1)
    return float(np.mean(np.corrcoef(profiles)[pairs]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--drift-s", type=float, default=DEFAULT_DRIFT_S,
                        help="latent drift time constant (0: independent chunks)")
    parser.add_argument("--wav", type=Path, help="also write the rendering here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--truncation", type=float, help="latent truncation (default: the model's)")
    parser.add_argument("--scale", action="append", default=[], metavar="PART=FACTOR")
    args = parser.parse_args()
    scales = parse_scales(args.scale)

    started = time.perf_counter()
    references, held_out, names = [], [], []
    for path in recordings():
        head, tail = split_thirds(read_audio(path, RATE_HZ).samples)
        references.append(head)
        held_out.append(tail)
        names.append(path.name)
    generator = Generator(args.model or default_model_path(), device="cpu")
    if scales:
        make_walk = generator.latent_walk

        def latent_walk(*args_, **kwargs):
            walk = make_walk(*args_, **kwargs)
            take = walk.take
            walk.take = lambda count: scaled(take(count), generator, scales)
            return walk

        generator.latent_walk = latent_walk
    rendering = render(generator, RenderSettings(seconds=args.seconds, seed=args.seed,
                                                 drift_s=args.drift_s,
                                                 truncation=args.truncation)).samples
    if args.wav:
        from raingan.runtime.audio_io import write_audio

        write_audio(args.wav, rendering, RATE_HZ)

    real = evaluate.evaluate_arrays(references, held_out, RATE_HZ, ref_names=names,
                                    cand_names=[f"held-out {n}" for n in names],
                                    noise_baseline=True)
    model = evaluate.evaluate_arrays(references, [rendering], RATE_HZ, ref_names=names,
                                     cand_names=["model"])
    rows = {"held-out": real.overall, "noise twins": real.noise_overall, "model": model.overall}
    print(f"reference: first two thirds of {len(names)} recordings; model: {args.seconds:g} s, "
          f"seed {args.seed}, drift {args.drift_s:g} s")
    print(f"{'':<14}{'distance':>10}{'repetition':>12}{'seam dB':>10}")
    for label, score in rows.items():
        print(f"{label:<14}{score.mean_distance:10.3f}{score.repetition:12.3f}"
              f"{score.seam_db:10.2f}")
    ratio = model.overall.mean_distance / real.overall.mean_distance
    print(f"model / held-out distance: {ratio:.2f}x "
          f"(noise twins: {real.noise_overall.mean_distance / real.overall.mean_distance:.2f}x)")
    print(f"chunk pattern (time-profile correlation between latents): "
          f"{chunk_pattern(generator):.3f}")
    print(f"{time.perf_counter() - started:.1f} s in all")
    if args.json:
        args.json.write_text(json.dumps({k: v.to_dict() for k, v in rows.items()}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
