"""Render loudness-matched rain stems with a manifest, from Python.

The API behind ``raingan stems``: COUNT variations of SECONDS each, seeds SEED, SEED+1, ...,
each normalised to the target loudness and written as 24-bit WAV, with manifest.json
(model hash, settings, per-stem seed, loudness and peak). All files appear at once.

    python examples/render_stems.py OUT_DIR [--count 4] [--seconds 30] [--seed 1] [--lufs -23]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from raingan.core.errors import RainGANError
from raingan.runtime.generator import Generator, default_model_path
from raingan.runtime.render import RenderSettings
from raingan.runtime.stems import render_stems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lufs", type=float, default=-23.0)
    args = parser.parse_args()
    try:
        generator = Generator(args.model or default_model_path(), device="cpu")
        manifest = render_stems(generator, args.out_dir, args.count,
                                RenderSettings(seconds=args.seconds, seed=args.seed),
                                target_lufs=args.lufs)
    except RainGANError as exc:
        print(f"render_stems: {exc}", file=sys.stderr)
        return 2
    for stem in manifest["stems"]:
        print(stem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
