"""Spectrograms of real, held-out rain next to the bundled model's rain (README figure).

Top row: SECONDS from the held-out last third of three corpus recordings. Bottom row:
SECONDS of the model's default rendering for three seeds. Same colour scale everywhere.

    python benchmarks/spectrogram_figure.py [--model M.onnx] [--seconds 5] [--out docs/spectrograms.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from raingan.eval.bars import split_thirds  # noqa: E402
from roundtrip_quality import DATA  # noqa: E402

from raingan.core.atomic import atomic_output  # noqa: E402
from raingan.core.audio_io import read_audio  # noqa: E402
from raingan.eval.display import draw_spectrogram, log_spectrogram_db  # noqa: E402
from raingan.runtime.generator import Generator, default_model_path  # noqa: E402
from raingan.runtime.render import RenderSettings, render  # noqa: E402

RATE_HZ = 48_000
RECORDINGS = ("megaglest_autumn.ogg", "flightgear_rain.wav", "megaglest_desert.wav")
TOP_DB = -30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=Path("docs/spectrograms.png"))
    args = parser.parse_args()

    frames = int(args.seconds * RATE_HZ)
    real = []
    for name in RECORDINGS:
        _, tail = split_thirds(read_audio(DATA / name, RATE_HZ).samples)
        real.append((f"real, held out: {name}", tail.mean(axis=1)[:frames]))
    generator = Generator(args.model or default_model_path(), device="cpu")
    generated = [(f"generated, seed {seed}",
                  render(generator, RenderSettings(seconds=args.seconds, seed=seed)).samples[:, 0])
                 for seed in (1, 2, 3)]

    figure, axes = plt.subplots(2, 3, figsize=(15, 7), sharey=True, constrained_layout=True)
    for axis, (title, audio) in zip(axes.ravel(), real + generated):
        image = draw_spectrogram(axis, log_spectrogram_db(audio, RATE_HZ), TOP_DB, title)
    figure.colorbar(image, ax=axes, label="power (dB)")
    with atomic_output(args.out) as temp:
        figure.savefig(temp, format="png", dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
