"""How impulsive a streaming model's renders are, by the training statistic its drops are
fitted to, against its training audio's.

Prints the training audio's pooled :func:`raingan.training.drops.drop_statistics` (kurtosis
and tail fractions of the 1-3, 2-8 and 6-11 kHz bands against their own window's level, per
channel; the first
TRAIN_FRACTION of each recording in DATA, checked against the model's data fingerprint),
then the same statistic of the model's one-channel renders
(:func:`raingan.export.drop_fit.rendered_drop_statistics`) with no drops, with each
``--drops RATE/SHARE[/SHARED[/SPREAD_DB[/TILT_DB_PER_OCTAVE]]]`` given, and with the model's own, each with its
distance from the training audio's (:func:`raingan.training.drops.statistics_distance`).
Then the same of each recording's mono mix, and of the mono mix of the model's stereo
renders with its drops and each fraction of them shared by the channels
(:data:`raingan.training.drops.SHARED`).

    python benchmarks/drop_statistics.py DATA [--model M.onnx] [--train-fraction 0.6666]
                                          [--drops 200/0.1 ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from raingan.core.speckle import Drops
from dataclasses import replace

from raingan.export.drop_fit import (SHARED_FIT_SEEDS, corpus_drop_target,
                                     rendered_drop_statistics)
from raingan.export.stream_export import training_corpus
from raingan.runtime.generator import load_model
from raingan.training.drops import DROP_BANDS_HZ, SHARED, in_band, statistics_distance


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--model", help="exported streaming model (default: the bundled one)")
    parser.add_argument("--train-fraction", type=float, default=0.6666)
    parser.add_argument("--drops", nargs="*", default=[],
                        metavar="RATE/SHARE[/SHARED[/SPREAD_DB[/TILT]]]")
    args = parser.parse_args()
    generator = load_model(args.model)
    corpus = training_corpus(generator.path, generator.metadata, args.data, args.train_fraction)
    target = corpus_drop_target(corpus, generator.spec)
    print(f"training audio: {_text(target.channel)}")
    candidates = [None] + [Drops(*map(float, d.split("/"))) for d in args.drops]
    for drops in candidates + [generator.drops]:
        measured = rendered_drop_statistics(generator, drops)
        own = " (the model's)" if drops == generator.drops else ""
        print(f"renders with drops {_label(drops)}{own}: {_text(measured)}, distance "
              f"{statistics_distance(measured, target.channel):.4f}")
    print(f"training audio's mono mixes: {_text(target.mix)}")
    if generator.drops is not None:
        for shared in SHARED:
            drops = replace(generator.drops, shared=shared)
            measured = rendered_drop_statistics(generator, drops, channels=2,
                                                seeds=SHARED_FIT_SEEDS)
            own = " (the model's)" if drops == generator.drops else ""
            print(f"stereo renders' mixes, {100 * shared:g} % shared{own}: {_text(measured)}, "
                  f"distance {statistics_distance(measured, target.mix):.4f}")
    return 0


def _label(drops: Drops | None) -> str:
    return "none" if drops is None else drops.summary()


def _text(statistics) -> str:
    parts = []
    for band, (low_hz, high_hz) in enumerate(DROP_BANDS_HZ):
        kurtosis, tail, far = in_band(statistics, band)
        parts.append(f"{low_hz / 1000:g}-{high_hz / 1000:g} kHz: kurtosis {kurtosis:.3f}, "
                     f"tails {tail:.2e} / {far:.2e}")
    return "; ".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
