"""Summarise a training run: speed, and the eval distance of its samples at each checkpoint.

Reads RUN_DIR/metrics.jsonl, written by `raingan train` (every scored sample is rendered
through the runtime path from the same fixed latents and scored with `raingan eval`'s
statistics against the training audio).

    python benchmarks/training_curve.py RUN_DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args()
    # Parsed here rather than with raingan.training.monitor, which would import TensorFlow.
    lines = (args.run_dir / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    run = json.loads((args.run_dir / "run.json").read_text())
    timed = [r for r in records if "perf/steps_per_s" in r]
    if not timed:
        raise SystemExit(f"{args.run_dir}: no metrics")
    steps = np.array([r["step"] for r in timed])
    rates = np.array([r["perf/steps_per_s"] for r in timed])
    intervals = np.diff(np.concatenate([[0], steps]))
    wall_s = float(np.sum(intervals / rates))
    batch = run["config"]["batch_size"]
    print(f"run {args.run_dir.name}: {run['backend']}, batch {batch}, "
          f"{len(run['files'])} files, train fraction {run['train_fraction']}")
    print(f"{steps[-1]} steps in {wall_s / 60:.1f} min of stepping: "
          f"median {np.median(rates):.2f} steps/s = {np.median(rates) * batch:.1f} samples/s")
    print(f"{'step':>6}{'texture distance':>18}{'repetition':>12}{'seam dB':>9}{'rms dB':>8}"
          f"{'d_loss':>8}{'g_loss':>8}")
    losses = {r["step"]: r for r in records if "d_loss" in r}
    for r in (r for r in records if "eval/texture_distance" in r):
        loss = losses.get(r["step"], {})
        print(f"{r['step']:>6}{r['eval/texture_distance']:18.3f}"
              f"{r.get('eval/repetition', float('nan')):12.3f}"
              f"{r.get('eval/seam_db', float('nan')):9.2f}{r['eval/rms_db']:8.1f}"
              f"{loss.get('d_loss', float('nan')):8.3f}{loss.get('g_loss', float('nan')):8.3f}")


if __name__ == "__main__":
    sys.exit(main())
