"""The judges no training loss uses, on the bundled model (or another): the classifier
two-sample test and the fine modulation spectrum, against held-out real rain.

Renders SECONDS of every seed with `raingan render` defaults, then runs `raingan eval`'s
engine with held-out real rain as the reference (what the model never trained on): the
corpus's last thirds, or with ``--holdout DIR`` the whole recordings in DIR. The renders are
the candidates and their coloured-noise twins the yardstick; the real baseline is the
corpus's training thirds judged against the same reference; and, as the yardstick for a single
seed, each recording's training third alone.

    python benchmarks/judges.py --seeds 0-19 [--seconds 60] [--model M.onnx] [--data DIR]
                                [--holdout DIR]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from raingan.core.audio_io import read_audio
from raingan.eval.bars import split_thirds
from raingan.eval.evaluate import evaluate_arrays
from raingan.eval.modulation import THIRD_OCTAVE_CENTRES_HZ
from raingan.runtime.generator import load_model
from raingan.runtime.render import RenderSettings, render

DATA = Path(__file__).resolve().parents[1] / "data" / "rain"
RATE_HZ = 48_000


def seed_range(text: str) -> range:
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def recordings(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".wav", ".ogg", ".flac"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=seed_range, default=range(0, 20), metavar="A-B")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--data", type=Path, default=DATA, help="recordings (default data/rain)")
    parser.add_argument("--holdout", type=Path,
                        help="folder of whole held-out recordings to judge against (default: "
                             "the last thirds of --data)")
    args = parser.parse_args()
    started = time.perf_counter()
    heads, tails = [], []
    for path in recordings(args.data):
        head, tail = split_thirds(read_audio(path, RATE_HZ).samples)
        heads.append(head)
        tails.append(tail)
    if args.holdout is not None:
        tails = [read_audio(path, RATE_HZ).samples for path in recordings(args.holdout)]
    generator = load_model(args.model)
    renders = [render(generator, RenderSettings(seconds=args.seconds, seed=seed)).samples
               for seed in args.seeds]
    model = evaluate_arrays(tails, renders, RATE_HZ, noise_baseline=True)
    real = evaluate_arrays(tails, heads, RATE_HZ)

    def line(label: str, score) -> None:
        mod = score.modulation
        broad = np.array(mod.third_octave_db)
        worst = int(np.nanargmax(np.abs(broad))) if np.any(np.isfinite(broad)) else 0
        print(f"{label:<22} line {mod.peak_db:+6.2f} dB @ {mod.peak_hz:6.2f} Hz   "
              f"dip {mod.dip_db:5.2f} dB @ {mod.dip_hz:6.2f} Hz   broad {broad[worst]:+5.1f} dB "
              f"@ {THIRD_OCTAVE_CENTRES_HZ[worst]:6.2f} Hz   judged from "
              f"{mod.judged_from_hz:.2f} Hz   distance {score.mean_distance:.3f}")

    kind = "whole held-out" if args.holdout else "held-out thirds of"
    print(f"reference: {kind} {len(tails)} recordings "
          f"({sum(t.shape[0] for t in tails) / RATE_HZ:.1f} s); model: {len(renders)} seeds x "
          f"{args.seconds:g} s")
    line("training thirds (real)", real.overall)
    line("model", model.overall)
    line("noise twins", model.noise_overall)
    per_seed = [c.modulation.peak_db for c in model.candidates]
    print(f"model, per seed: line {np.nanmean(per_seed):+.2f} dB mean, "
          f"{np.nanmax(per_seed):+.2f} dB worst")
    real_distance = real.overall.mean_distance
    ratios = [c.mean_distance / real_distance for c in model.candidates]
    print(f"texture distance / the training thirds': model {model.overall.mean_distance / real_distance:.2f}x "
          f"(seeds' mean {np.mean(ratios):.2f}x, worst {np.max(ratios):.2f}x), noise twins "
          f"{model.noise_overall.mean_distance / real_distance:.2f}x")
    # The yardstick for one seed: one real recording is one character too, and the reference
    # pools them all, so each training third alone stands as far off as a seed may.
    alone = [c.mean_distance / real_distance for c in real.candidates]
    print(f"each recording's training third alone: mean {np.mean(alone):.2f}x, "
          f"{np.min(alone):.2f}x to {np.max(alone):.2f}x")
    c = model.classifier

    def acc(test) -> str:
        return "n/a" if test is None or math.isnan(test.accuracy) else f"{test.accuracy:.3f}"

    print(f"classifier ({c.window_s:g} s windows): model {acc(c.candidates)} "
          f"({c.candidates.n_windows[1]} windows against {c.candidates.n_windows[0]}), "
          f"real against real {acc(c.real_vs_real)}, noise twins {acc(c.noise_twins)}, "
          f"training thirds {acc(real.classifier.candidates)}")
    print(f"{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
