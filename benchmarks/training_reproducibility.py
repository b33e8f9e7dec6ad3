"""Whether one seed trains to the same weights twice: two `raingan train` runs side by side.

The two runs start together (so that they contend for the cores as runs on a busy machine
do), each in its own process with the same arguments and seed; the largest absolute
difference between their last checkpoints' weights and optimiser state is printed,
with the pair's wall time. ``--deterministic`` trains with `raingan train --deterministic`
(one intra- and inter-op thread, no oneDNN, deterministic ops); ``KERAS_BACKEND=jax`` in the
environment trains with JAX instead. Arguments after ``--`` go to `raingan train` (default:
the cpu preset on the training thirds with the bundled model's channel widths).

    python benchmarks/training_reproducibility.py --steps 10 [--deterministic] [-- ARGS]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TRAIN_ARGS = ["--preset", "cpu", "--train-fraction", "0.666",
                      "--g-channels", "128,64,32,16,16,8"]


def largest_difference(first: Path, second: Path) -> dict[str, float]:
    """Largest absolute difference per checkpoint file (weights, optimiser state)."""
    from raingan.training.checkpoint import checkpoint_arrays

    a, b = checkpoint_arrays(first), checkpoint_arrays(second)
    if a.keys() != b.keys():
        raise SystemExit("the two runs' checkpoints hold different arrays")
    differences: dict[str, float] = {}
    for key in a:
        name = key.split("/", 1)[0]
        gap = float(np.max(np.abs(a[key].astype(np.float64) - b[key]), initial=0.0))
        differences[name] = max(differences.get(name, 0.0), gap)
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--data", type=Path, default=REPO / "data" / "rain")
    parser.add_argument("--deterministic", action="store_true",
                        help="pass --deterministic to both runs")
    parser.add_argument("train_args", nargs="*", default=DEFAULT_TRAIN_ARGS)
    args = parser.parse_args()
    train_args = [*args.train_args, *(["--deterministic"] if args.deterministic else [])]
    raingan = str(Path(sys.executable).with_name("raingan"))
    with tempfile.TemporaryDirectory() as scratch:
        runs = [Path(scratch) / name for name in ("a", "b")]
        started = time.perf_counter()
        processes = [subprocess.Popen([raingan, "train", str(args.data), "--out", str(run),
                                       "--steps", str(args.steps), *train_args],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True) for run in runs]
        for process in processes:
            _, stderr = process.communicate()
            if process.returncode:
                raise SystemExit(stderr.strip().splitlines()[-1])
        seconds = time.perf_counter() - started
        last = f"step_{args.steps:08d}"
        differences = largest_difference(*(run / "checkpoints" / last for run in runs))
    setting = "--deterministic" if args.deterministic else "default"
    print(f"{os.environ.get('KERAS_BACKEND', 'tensorflow')}, {setting}, {args.steps} steps, "
          f"two runs side by side: {seconds:.0f} s ({seconds / args.steps:.1f} s/step with "
          f"startup)")
    for name, difference in differences.items():
        print(f"  {name}: largest difference {difference:.3g}")


if __name__ == "__main__":
    main()
