"""Intensity curve: how loudness follows the knob, with the model's calibration and without.

Draws CHUNKS latents, sets each at LEVELS evenly spaced intensities from 0 to 1, and measures
every generated image's loudness (K-weighted mean STFT power, dB, as the axis fit measures
it). Prints, for the calibrated mapping the model stores and for the linear one
(projection -AXIS_REACH to +AXIS_REACH), the mean loudness rise from intensity 0 at each
level, the spread across chunks, and the share of chunks whose loudness rises at every step.

    python benchmarks/intensity_curve.py [--model M.onnx] [--chunks 48] [--levels 9] [--seed 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from raingan.runtime.generator import Generator, default_model_path
from raingan.export.intensity_fit import image_features
from raingan.runtime.intensity import IntensityAxis, apply_intensity


def loudness_at_levels(generator: Generator, axis: IntensityAxis, latents: np.ndarray,
                       levels: np.ndarray) -> np.ndarray:
    """Loudness (dB) of every latent at every intensity, shape (levels, chunks)."""
    threshold = generator.metadata.truncation
    return np.stack([image_features(generator.images(apply_intensity(latents, axis, level,
                                                                      threshold)),
                                    generator.spec)[0] for level in levels])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--chunks", type=int, default=48)
    parser.add_argument("--levels", type=int, default=9)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    generator = Generator(args.model or default_model_path(), device="cpu")
    axis = generator.intensity_axis
    if axis is None:
        print(f"{generator.path}: this model has no intensity axis", file=sys.stderr)
        return 1
    latents = generator.latents(np.random.default_rng(args.seed), args.chunks)
    levels = np.linspace(0.0, 1.0, args.levels)
    print("intensity:", " ".join(f"{v:6.3f}" for v in levels))
    mappings = {"calibrated": axis, "linear": dataclasses.replace(axis, projections=None)}
    if axis.projections is None:
        print("(the model stores no calibration: both rows are linear)")
    for name, mapping in mappings.items():
        loudness_db = loudness_at_levels(generator, mapping, latents, levels)
        rise_db = loudness_db.mean(axis=1) - loudness_db.mean(axis=1)[0]
        monotonic = (np.diff(loudness_db, axis=0) > 0).all(axis=0).mean()
        print(f"{name:>10} mean rise, dB:", " ".join(f"{v:6.2f}" for v in rise_db))
        print(f"{name:>10} spread, dB:   ", " ".join(f"{v:6.2f}" for v in loudness_db.std(axis=1)))
        print(f"{name:>10} chunks rising at every step: {100 * monotonic:.0f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
