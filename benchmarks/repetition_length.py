"""How the repetition score grows with the length of what it scores.

``raingan eval``'s repetition score is the best correlation among all pairs of 1 s patches
more than 2 s apart, so a longer signal, with more pairs, finds a better chance match even
when nothing repeats. Issue 6 holds 60 s of the model to the held-out thirds' score plus
0.1, and those thirds last 1.3-8.2 s. This prints, side by side:

- the model: SECONDS of default rendering per seed, cut into consecutive pieces of each
  length, the mean score of the pieces (and how many there were);
- coloured-noise twins of those renderings (Gaussian noise with their spectrum: nothing
  repeats and nothing is structured), cut the same way;
- every corpus recording, whole and as its held-out last third, at its own length.

    python benchmarks/repetition_length.py [--model M.onnx] [--seeds 0-3] [--seconds 60]
        [--lengths 6,8,15,30,60]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_seeds import seed_range  # noqa: E402
from raingan.eval.bars import split_thirds  # noqa: E402
from roundtrip_quality import recordings  # noqa: E402

from raingan.eval import evaluate, noise_twin, repetition  # noqa: E402
from raingan.core.audio_io import read_audio, resample  # noqa: E402
from raingan.runtime.generator import Generator, default_model_path  # noqa: E402
from raingan.runtime.render import RenderSettings, render  # noqa: E402

RATE_HZ = evaluate.ANALYSIS_RATE_HZ


def analysis_mono(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """The eval's view of a signal: channels averaged, resampled to its analysis rate."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    return np.asarray(resample(mono.astype(np.float64), sample_rate_hz, RATE_HZ))


def piece_scores(mono: np.ndarray, length_s: float) -> list[float]:
    """Repetition scores of consecutive, non-overlapping ``length_s`` pieces of ``mono``."""
    n = int(round(length_s * RATE_HZ))
    return [repetition.repetition_score(mono[start:start + n], RATE_HZ)
            for start in range(0, mono.shape[0] - n + 1, n)]


def lengths_list(text: str) -> list[float]:
    try:
        lengths = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected lengths such as 6,8,15, got {text!r}")
    if not lengths or min(lengths) <= 3.1:
        raise argparse.ArgumentTypeError("every length must exceed 3.1 s (two patches 2 s apart)")
    return lengths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--seeds", type=seed_range, default=seed_range("0-3"), metavar="A-B")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--lengths", type=lengths_list, default=lengths_list("6,8,15,30,60"))
    args = parser.parse_args()
    if max(args.lengths) > args.seconds:
        parser.error(f"--lengths go up to {max(args.lengths):g} s, beyond --seconds {args.seconds:g}")
    started = time.perf_counter()

    generator = Generator(args.model or default_model_path(), device="cpu")
    model: dict[float, list[float]] = {length: [] for length in args.lengths}
    noise: dict[float, list[float]] = {length: [] for length in args.lengths}
    for seed in args.seeds:
        rendering = render(generator, RenderSettings(seconds=args.seconds, seed=seed))
        mono = analysis_mono(rendering.samples, rendering.sample_rate_hz)
        twin = noise_twin.coloured_noise_twin(mono, RATE_HZ, seed=seed)
        for length in args.lengths:
            model[length] += piece_scores(mono, length)
            noise[length] += piece_scores(twin, length)

    print(f"model: {args.seconds:g} s per seed, seeds {args.seeds[0]}-{args.seeds[-1]}; "
          f"mean repetition of consecutive pieces")
    print(f"{'length s':>9}{'model':>8}{'pieces':>8}{'noise twins':>13}")
    for length in args.lengths:
        print(f"{length:9g}{np.mean(model[length]):8.3f}{len(model[length]):8d}"
              f"{np.mean(noise[length]):13.3f}")

    print("\ncorpus recordings (mono), whole and held-out last third")
    print(f"{'recording':<34}{'whole s':>8}{'score':>7}{'third s':>9}{'score':>7}")
    for path in recordings():
        audio = read_audio(path, RATE_HZ)
        mono = analysis_mono(audio.samples, audio.sample_rate_hz)
        _, third = split_thirds(mono)

        def score(x: np.ndarray) -> str:
            value = repetition.repetition_score(x, RATE_HZ)
            return "n/a" if np.isnan(value) else f"{value:.3f}"

        print(f"{path.name:<34}{mono.shape[0] / RATE_HZ:8.1f}{score(mono):>7}"
              f"{third.shape[0] / RATE_HZ:9.1f}{score(third):>7}")
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
