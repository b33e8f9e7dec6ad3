"""The level at the seams between a stream's chunks: how alike the two sides of each seam
are, and how much the mean power swells there.

Renders SECONDS of each seed at the spec's rate (one channel, so the chunk step is a whole
number of samples), records every seam's correlation as the stitcher sees it, then folds the
squared samples by the chunk step (each period normalised to its own mean) and prints the
mean power at each 256-sample position in dB: a seam whose fades do not keep the power shows
as a swell or a dip. ``--plain-fades`` stitches with plain equal-power fades instead of
:func:`raingan.core.stitch.seam_fades`, as the runtime once did.

    python benchmarks/seam_swell.py [--model M.onnx] [--seeds 0-2] [--seconds 60] [--plain-fades]
"""

from __future__ import annotations

import argparse

import numpy as np

import raingan.core.stitch as stitch
from raingan.runtime.generator import load_model
from raingan.runtime.render import RenderSettings, render

BLOCK = 256


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="exported model (default: the bundled one)")
    parser.add_argument("--seeds", default="0-2", metavar="A-B")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--plain-fades", action="store_true")
    args = parser.parse_args()
    first, _, last = args.seeds.partition("-")
    seeds = range(int(first), int(last or first) + 1)

    correlations = []
    measured = stitch.seam_fades

    def observed(tail: np.ndarray, head: np.ndarray):
        a, b = tail.astype(np.float64), head.astype(np.float64)
        correlations.append(float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))))
        if args.plain_fades:
            fade_in, fade_out = stitch.equal_power_fades(tail.shape[0])
            shape = (tail.shape[0],) + (1,) * (tail.ndim - 1)
            return fade_in.reshape(shape), fade_out.reshape(shape)
        return measured(tail, head)

    stitch.seam_fades = observed  # what the Stitcher calls for every seam
    generator = load_model(args.model)
    step = generator.spec.chunk_step_samples
    profiles = []
    for seed in seeds:
        x = render(generator, RenderSettings(seconds=args.seconds, seed=seed, channels=1,
                                             sample_rate_hz=int(generator.spec.sample_rate_hz))
                   ).samples[:, 0].astype(np.float64)
        periods = (x[:(x.shape[0] // step) * step] ** 2).reshape(-1, step)[1:-1]
        profiles.append((periods / periods.mean(axis=1, keepdims=True)).mean(axis=0))
    blocks = np.mean(profiles, axis=0)[:step // BLOCK * BLOCK].reshape(-1, BLOCK).mean(axis=1)
    level_db = 10.0 * np.log10(blocks)
    r = np.array(correlations)
    print(f"{'plain' if args.plain_fades else 'seam'} fades; {len(seeds)} seeds x "
          f"{args.seconds:g} s; {r.size} seams: correlation mean {r.mean():.3f}, 5th / 50th / "
          f"95th percentile {np.percentile(r, 5):.3f} / {np.median(r):.3f} / "
          f"{np.percentile(r, 95):.3f}")
    print(f"power by {BLOCK}-sample position in the {step}-sample chunk step: max "
          f"{level_db.max():+.2f} dB (block {level_db.argmax()}), min {level_db.min():+.2f} dB, "
          f"std {level_db.std():.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
