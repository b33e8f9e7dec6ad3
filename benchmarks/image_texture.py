"""Texture statistics inside model images: generated chunks against real ones.

What the texture-matching loss (``training/texture_loss.py``) sees: per group, the mean
|z| of the generated images' mean statistics against 512 real chunks (z in units of the
real images' spread), each group's means, the modulation shares per octave of DFT bins, and
the loss itself between two real batches of 16 and between a generated and a real batch.
Real images are chunks of the first two thirds of every corpus recording; generated ones
follow a stream's latent walk.

    python benchmarks/image_texture.py [--model MODEL.onnx] [--chunks 256]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chunk_modulation import real_images  # noqa: E402

from raingan.runtime.generator import Generator, default_model_path  # noqa: E402
from raingan.runtime.latent import walk_correlation  # noqa: E402
from raingan.runtime.stream import DEFAULT_DRIFT_S  # noqa: E402
from raingan.training.texture_loss import LOSS_GROUPS, ImageTexture  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--chunks", type=int, default=256)
    args = parser.parse_args()
    generator = Generator(args.model or default_model_path(), device="cpu")
    spec = generator.spec
    texture = ImageTexture.for_spec(spec)
    rng = np.random.default_rng(0)
    walk = generator.latent_walk(rng, walk_correlation(
        spec.chunk_step_samples / spec.sample_rate_hz, DEFAULT_DRIFT_S))
    fake = generator.images(walk.take(args.chunks))
    real = real_images(spec)
    real = real[rng.permutation(len(real))[:512]]
    stats = {name: {k: np.asarray(v) for k, v in texture.statistics(images).items()}
             for name, images in (("real", real), ("generated", fake))}
    for group in LOSS_GROUPS:
        r, f = stats["real"][group], stats["generated"][group]
        z = (f.mean(axis=0) - r.mean(axis=0)) / r.std(axis=0)
        print(f"{group:<18} mean |z| {np.abs(z).mean():.3f}   real {r.mean():.3f}   "
              f"generated {f.mean():.3f}")
    n_bands = texture.band_power_weights.shape[1]
    for name in ("real", "generated"):
        shares = stats[name]["modulation_power"].reshape(-1, n_bands,
                                                         texture.modulation_masks.shape[1])
        print(f"modulation shares, {name}: " + " ".join(f"{s:.3f}"
                                                       for s in shares.mean(axis=(0, 1))))
    real_vs_real = float(texture.matching_loss(real[:16], real[16:32]))
    fake_vs_real = float(texture.matching_loss(fake[:16], real[:16]))
    print(f"loss, real batch vs real batch: {real_vs_real:.2f}; generated vs real: "
          f"{fake_vs_real:.2f}")


if __name__ == "__main__":
    main()
