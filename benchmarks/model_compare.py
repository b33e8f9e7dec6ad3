"""Several models, or one model at several drifts, judged quickly against held-out thirds.

Renders SECONDS of seeds 0..SEEDS-1 with default settings (or each ``--drift-s``) and prints
the texture distance, the modulation line and the worst third-octave modulation deviation
against the last thirds of the recordings in DATA, without the classifier (fast enough to
compare checkpoints; `benchmarks/judges.py` gives the full judgement).

    python benchmarks/model_compare.py M1.onnx [M2.onnx ...] [--data DIR] [--seeds 3]
                                       [--seconds 30] [--drift-s 10 600]
"""

from __future__ import annotations

import argparse
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--drift-s", type=float, nargs="*", default=[None])
    args = parser.parse_args()
    tails = [split_thirds(read_audio(p, RATE_HZ).samples)[1] for p in sorted(args.data.iterdir())
             if p.suffix in (".wav", ".ogg", ".flac")]
    for path in args.models:
        generator = load_model(path)
        for drift in args.drift_s:
            renders = [render(generator, RenderSettings(seconds=args.seconds, seed=seed,
                                                        drift_s=drift)).samples
                       for seed in range(args.seeds)]
            score = evaluate_arrays(tails, renders, RATE_HZ, classifier=False).overall
            broad = np.array(score.modulation.third_octave_db)
            worst = int(np.nanargmax(np.abs(broad)))
            print(f"{path.name} drift {'default' if drift is None else f'{drift:g} s'}: "
                  f"distance {score.mean_distance:.3f}, line {score.modulation.peak_db:+.2f} dB "
                  f"@ {score.modulation.peak_hz:.1f} Hz, broad {broad[worst]:+.1f} dB @ "
                  f"{THIRD_OCTAVE_CENTRES_HZ[worst]:.1f} Hz", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
