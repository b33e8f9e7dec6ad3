"""How impulsive a streaming model's renders are, by the training statistic its drops are
fitted to, against its training audio's.

Prints the training audio's pooled :func:`raingan.training.drops.drop_statistics` (kurtosis
and tail fraction of a 2-8 kHz band against its own window's level, per channel; the first
TRAIN_FRACTION of each recording in DATA, checked against the model's data fingerprint),
then the same statistic of the model's one-channel renders
(:func:`raingan.export.drop_fit.rendered_drop_statistics`) with no drops, with each
``--drops RATE/SHARE`` given, and with the model's own, each with its distance from the
training audio's (:func:`raingan.training.drops.statistics_distance`).

    python benchmarks/drop_statistics.py DATA [--model M.onnx] [--train-fraction 0.6666]
                                          [--drops 200/0.1 ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from raingan.core.speckle import Drops
from raingan.export.drop_fit import rendered_drop_statistics
from raingan.export.stream_export import training_corpus
from raingan.runtime.generator import load_model
from raingan.training.drops import pooled_drop_statistics, statistics_distance


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--model", help="exported streaming model (default: the bundled one)")
    parser.add_argument("--train-fraction", type=float, default=0.6666)
    parser.add_argument("--drops", nargs="*", default=[], metavar="RATE/SHARE")
    args = parser.parse_args()
    generator = load_model(args.model)
    corpus = training_corpus(generator.path, generator.metadata, args.data, args.train_fraction)
    target = pooled_drop_statistics(corpus.signals, generator.spec)
    print(f"training audio: kurtosis {target[0]:.3f}, tail {target[1]:.2e}")
    candidates = [None] + [Drops(*map(float, d.split("/"))) for d in args.drops]
    for drops in candidates + [generator.drops]:
        measured = rendered_drop_statistics(generator, drops)
        label = "none" if drops is None else f"{drops.rate_hz:g}/s, {100 * drops.share:g} %"
        own = " (the model's)" if drops == generator.drops else ""
        print(f"renders with drops {label}{own}: kurtosis {measured[0]:.3f}, tail "
              f"{measured[1]:.2e}, distance {statistics_distance(measured, target):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
