"""Issue 6's quality figures over many seeds: model_quality.py per seed, then the means.

A seed's texture distance spreads by about 0.025 around the model's mean, so ten seeds do
not separate settings 0.02 apart (BENCHMARKS.md, "Drift": a 5 s drift scored 8 % better than 10 s on
seeds 0-9 and 4 % worse on seeds 10-19). This runs ``model_quality.py`` for every seed
(options after ``--`` go to it), and prints each seed's distance, repetition and seam, the
means with their standard errors, and the bars (1.5x held-out rain's distance, held-out
repetition + 0.1, held-out seam + 1 dB).

    python benchmarks/quality_seeds.py --seeds 0-19 [--model M.onnx] [--out DIR] [-- --drift-s 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from raingan.eval.bars import quality_bars

HERE = Path(__file__).resolve().parent


def seed_range(text: str) -> list[int]:
    """``"0-19"`` or ``"3"`` -> the seeds; argparse turns the ValueError into one line."""
    first, _, last = text.partition("-")
    try:
        seeds = list(range(int(first), int(last or first) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds such as 0-19, got {text!r}")
    if not seeds:
        raise argparse.ArgumentTypeError(f"empty seed range {text!r}")
    return seeds


def main() -> int:
    argv = sys.argv[1:]
    passed = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=seed_range, required=True, metavar="A-B")
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--out", type=Path, help="keep each seed's JSON here (default: a new temporary folder)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="quality_seeds_"))
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in args.seeds:
        path = out / f"seed_{seed}.json"
        command = [sys.executable, str(HERE / "model_quality.py"), "--seed", str(seed),
                   "--json", str(path), *passed]
        if args.model:
            command += ["--model", str(args.model)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"seed {seed}: model_quality.py failed: "
                  f"{(result.stderr.strip().splitlines() or ['?'])[-1]}", file=sys.stderr)
            return 1
        rows.append(json.loads(path.read_text()))
        model = rows[-1]["model"]
        print(f"seed {seed:3d}  distance {model['mean_distance']:.3f}  repetition "
              f"{model['repetition']:.3f}  seam {model['seam_periodicity_db']:.2f} dB", flush=True)
    held = rows[0]["held-out"]
    held_bars = quality_bars(held["mean_distance"], held["repetition"],
                             held["seam_periodicity_db"])
    bars = {"mean_distance": held_bars.distance, "repetition": held_bars.repetition,
            "seam_periodicity_db": held_bars.seam_db}
    for key, bar in bars.items():
        values = np.array([row["model"][key] for row in rows])
        error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
        print(f"{key:>20}: mean {values.mean():.4f} +- {error:.4f} (standard error) over "
              f"{len(values)} seeds; bar {bar:.4f}; {int((values <= bar).sum())} seeds within it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
