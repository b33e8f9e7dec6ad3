"""Dark gaps under the low-pass edge: how often real and generated chunks have them.

The README figure shows short dark gaps at 12-16 kHz in some generated chunks. This counts
such gaps in the spec's images: for each image row in BAND, a pixel's local level (the mean
over 4 rows x 8 frames around it, about 170 Hz x 46 ms) is compared with that row's mean
level over the chunk; a gap is a local level more than 15 (or 20) dB below it. Single
speckle pixels dip that far in any noise; a local mean does so only in a gap.

Rows: every corpus recording's first two thirds (each channel, cut into the spec's
chunks); the model's images along a stream's latent walk, levelled as the stream levels
them; and the model's 60 s default renderings of SEEDS (mono, at the spec's rate), cut
into chunks and analysed as the corpus is, which is what a listener gets.

    python benchmarks/spectral_holes.py [--model MODEL.onnx] [--band 10000-16000] [--seeds 0-3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_seeds import seed_range  # noqa: E402
from raingan.eval.bars import split_thirds  # noqa: E402
from roundtrip_quality import recordings  # noqa: E402

from raingan.core.audio_io import read_audio  # noqa: E402
from raingan.runtime.generator import Generator, default_model_path  # noqa: E402
from raingan.runtime.latent import walk_correlation  # noqa: E402
from raingan.runtime.leveling import ChunkLeveller  # noqa: E402
from raingan.runtime.render import RenderSettings, render  # noqa: E402
from raingan.core.roundtrip import chunk_contexts  # noqa: E402
from raingan.runtime.stream import DEFAULT_DRIFT_S  # noqa: E402

#: Rows x frames of the local mean that tells a gap from speckle.
LOCAL_SIZE = (4, 8)
DEPTHS_DB = (15.0, 20.0)


def gap_depths_db(images: np.ndarray, rows: np.ndarray, db_per_unit: float) -> np.ndarray:
    """How far each pixel's local level lies below its row's mean over the chunk, dB.

    Parameters
    ----------
    images : shape (n_images, height, width), values on the spec's linear dB scale
    rows : shape (height,), bool, the rows to look at
    db_per_unit : dB per image unit (the spec's)

    Returns
    -------
    np.ndarray, shape (n_images, n_rows, width): positive where the neighbourhood is quieter
    """
    band = images[:, rows, :]
    local = uniform_filter(band, size=(1, *LOCAL_SIZE), mode="wrap")
    return (band.mean(axis=2, keepdims=True) - local) * db_per_unit


def row(label: str, images: np.ndarray, rows: np.ndarray, db_per_unit: float) -> str:
    """One table line: chunks, share of gap pixels at each of :data:`DEPTHS_DB`, 99.9th
    percentile of the depths."""
    depths = gap_depths_db(images, rows, db_per_unit)
    shares = "  ".join(f"{100 * np.mean(depths > d):6.3f} %" for d in DEPTHS_DB)
    return f"{label:<36}{len(images):>7}  {shares}  {np.percentile(depths, 99.9):8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--band", default="10000-16000", metavar="LO-HI",
                        help="rows looked at, Hz (default 10000-16000)")
    parser.add_argument("--seeds", type=seed_range, default=seed_range("0-3"), metavar="A-B")
    args = parser.parse_args()
    low_hz, high_hz = (float(v) for v in args.band.split("-"))

    generator = Generator(args.model or default_model_path(), device="cpu")
    spec = generator.spec
    row_hz = spec.image_row_hz()
    rows = (row_hz >= low_hz) & (row_hz < high_hz)
    unit = spec.db_per_image_unit

    def images_of(audio: np.ndarray) -> np.ndarray:
        return np.concatenate([spec.audio_to_images(chunk_contexts(channel, spec))
                               for channel in np.atleast_2d(audio.T)])

    print(f"gaps at {low_hz:g}-{high_hz:g} Hz: share of pixels whose {LOCAL_SIZE[0]} x "
          f"{LOCAL_SIZE[1]} neighbourhood lies more than "
          + " / ".join(f"{d:g}" for d in DEPTHS_DB) + " dB below the row's chunk mean")
    print(f"{'':<36}{'chunks':>7}  {'> 15 dB':>8}  {'> 20 dB':>8}  {'q99.9 dB':>8}")
    corpus = []
    for path in recordings():
        samples = read_audio(path, spec.sample_rate_hz).samples
        images = images_of(split_thirds(samples)[0])
        corpus.append(images)
        print(row(f"real: {path.name}", images, rows, unit))
    print(row("real: all recordings", np.concatenate(corpus), rows, unit))

    walk = generator.latent_walk(np.random.default_rng(0), walk_correlation(
        spec.chunk_step_samples / spec.sample_rate_hz, DEFAULT_DRIFT_S))
    levelled = ChunkLeveller(spec, 1, generator.ceiling_db, generator.colour_db).process(
        generator.images(walk.take(256)))
    print(row("model: levelled images", levelled, rows, unit))
    for seed in args.seeds:
        rendering = render(generator, RenderSettings(seconds=60.0, seed=seed, channels=1,
                                                     sample_rate_hz=spec.sample_rate_hz))
        print(row(f"model: seed {seed}, 60 s, re-analysed", images_of(rendering.samples), rows,
                  unit))


if __name__ == "__main__":
    main()
