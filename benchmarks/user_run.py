"""A user's one-recording run, end to end, as the training guide documents it.

Trains the streaming preset on the first two thirds of ONE recording that the bundled model
never saw (by default the longest of data/rain_holdout), for at most MINUTES of wall-clock
time on this machine, exports it, renders SECONDS of seeds 0-3 with default settings, and
judges them against the recording's last third with `raingan eval`'s engine:

- the classifier test (judging features only), with the training two thirds as the real
  yardstick;
- the texture distance, as a ratio to the training two thirds' own distance from the last
  third (the streaming architecture trains adversarially only, so no loss uses it).

    python benchmarks/user_run.py [--recording PATH] [--minutes 60] [--out DIR] [--judge-only]
                                  [--train-args="--d-augment ..."]

Not run in CI: it takes MINUTES plus a few.
"""

from __future__ import annotations

import argparse
import math
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from raingan.core.audio_io import read_audio
from raingan.eval.bars import split_thirds
from raingan.eval.evaluate import evaluate_arrays
from raingan.runtime.generator import load_model
from raingan.runtime.render import RenderSettings, render

HOLDOUT = Path(__file__).resolve().parents[1] / "data" / "rain_holdout"
RATE_HZ = 48_000
SEEDS = range(4)


def longest(folder: Path) -> Path:
    files = [p for p in folder.iterdir() if p.suffix in (".wav", ".ogg", ".flac")]
    return max(files, key=lambda p: sf.info(p).duration)


def raingan(*args: object) -> None:
    command = [sys.executable, "-m", "raingan", *map(str, args)]
    print("$", " ".join(command[2:]), flush=True)
    subprocess.run(command, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recording", type=Path, help="default: the longest held-out one")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=Path("user_run"))
    parser.add_argument("--judge-only", action="store_true",
                        help="judge OUT/model.onnx again, without training or exporting")
    parser.add_argument("--train-args", default="",
                        help="more `raingan train` options, as one string (after the preset's)")
    args = parser.parse_args()
    recording = args.recording or longest(HOLDOUT)
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / "data"
    data.mkdir(exist_ok=True)
    audio = read_audio(recording, RATE_HZ).samples
    head, tail = split_thirds(audio)
    sf.write(data / f"{recording.stem}.wav", audio, RATE_HZ, subtype="FLOAT")
    run_dir, model = args.out / "run", args.out / "model.onnx"
    if not args.judge_only:
        raingan("train", data, "--out", run_dir, "--preset", "stream-cpu", "--train-fraction",
                "0.6666", "--max-minutes", args.minutes, *shlex.split(args.train_args))
        raingan("export", run_dir, "--out", model)
    generator = load_model(model)
    renders = [render(generator, RenderSettings(seconds=args.seconds, seed=seed)).samples
               for seed in SEEDS]
    judged = evaluate_arrays([tail], renders, RATE_HZ, noise_baseline=True)
    real = evaluate_arrays([tail], [head], RATE_HZ)
    # The classifier needs two reference windows of 4 s; a last third shorter than 8 s holds
    # one. Its channels, as two signals (as training takes them), hold two when it is stereo.
    channels = [tail[:, c] for c in range(tail.shape[1])] if tail.ndim == 2 else [tail]
    by_channel = evaluate_arrays(channels, renders, RATE_HZ, noise_baseline=True)
    real_by_channel = evaluate_arrays(channels, [head], RATE_HZ)
    ratio = judged.overall.mean_distance / real.overall.mean_distance
    worst = max(c.mean_distance for c in judged.candidates) / real.overall.mean_distance

    def accuracy(test) -> str:
        return "n/a" if test is None or math.isnan(test.accuracy) else f"{test.accuracy:.3f}"

    print(f"recording {recording.name}: {audio.shape[0] / RATE_HZ:.1f} s, trained on "
          f"{head.shape[0] / RATE_HZ:.1f} s for at most {args.minutes:g} min")
    print(f"texture distance: model {judged.overall.mean_distance:.3f} = {ratio:.2f}x the "
          f"training two thirds' {real.overall.mean_distance:.3f} (worst seed {worst:.2f}x); "
          f"noise twins {judged.noise_overall.mean_distance / real.overall.mean_distance:.2f}x")
    for label, test, yardstick in (("", judged.classifier, real.classifier),
                                   (f" (reference: the last third's {len(channels)} channels)",
                                    by_channel.classifier, real_by_channel.classifier)):
        print(f"classifier{label}: model {accuracy(test.candidates)}, noise twins "
              f"{accuracy(test.noise_twins)}, real against real {accuracy(test.real_vs_real)}, "
              f"training thirds {accuracy(yardstick.candidates)}; windows (reference, model) "
              f"{None if test.candidates is None else test.candidates.n_windows}")
    print(f"modulation line {judged.overall.modulation.peak_db:+.2f} dB @ "
          f"{judged.overall.modulation.peak_hz:.2f} Hz")
    print(f"{(time.perf_counter() - started) / 60:.1f} min in all")
    return 0 if np.isfinite(ratio) else 1


if __name__ == "__main__":
    raise SystemExit(main())
