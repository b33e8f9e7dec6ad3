"""Texture statistics inside model images: generated chunks against real ones.

What the texture-matching loss (``training/texture_loss.py``) sees: per group, the mean
|z| of the generated images' mean statistics against 512 real chunks (z in units of the
real images' spread), each group's means, the modulation shares per octave of DFT bins, and
the loss itself between two real batches of 16 and between a generated and a real batch.
Real images are chunks of the first two thirds of every corpus recording; generated ones
follow a stream's latent walk.

``--heard`` adds what the images become as sound: each set is phase-reconstructed as the
runtime does it (PGHI, then ``--phase-iterations`` Fast Griffin-Lim iterations, the
runtime's 16 by default) and analysed again (what ``raingan train --g-texture-heard``
measures, ``training/reanalysis.py``), with the spectral convergence of the reconstruction,
the mean squared difference between each image and its heard image, and the signed mean z
per group.

    python benchmarks/image_texture.py [--model MODEL.onnx] [--chunks 256] [--heard]
        [--phase-iterations N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chunk_modulation import real_images  # noqa: E402

from raingan.core import phase  # noqa: E402
from raingan.core.phase import PhaseSettings  # noqa: E402
from raingan.runtime.generator import Generator, default_model_path  # noqa: E402
from raingan.runtime.latent import walk_correlation  # noqa: E402
from raingan.runtime.stream import DEFAULT_DRIFT_S  # noqa: E402
from raingan.training.texture_loss import LOSS_GROUPS, ImageTexture  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--chunks", type=int, default=256)
    parser.add_argument("--heard", action="store_true",
                        help="also re-analyse both sets after phase reconstruction")
    parser.add_argument("--phase-iterations", type=int, default=PhaseSettings().n_iter,
                        help="Fast Griffin-Lim iterations of that reconstruction")
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
    if args.heard:
        settings = PhaseSettings(n_iter=args.phase_iterations)
        print_heard(texture, spec, {"real": real[:args.chunks], "generated": fake}, settings)


def heard(images: np.ndarray, spec, settings: PhaseSettings) -> tuple[np.ndarray, float]:
    """(images of the reconstruction of ``images``, its spectral convergence, dB)."""
    magnitudes = spec.images_to_magnitudes(images)
    audio = phase.reconstruct(magnitudes, spec, settings)
    return spec.audio_to_images(audio), phase.spectral_convergence_db(audio, magnitudes, spec)


def print_heard(texture: ImageTexture, spec, sets: dict[str, np.ndarray],
                settings: PhaseSettings) -> None:
    """Signed mean z (against the real images) per group, before and after reconstruction."""
    columns = dict(sets)
    for name, images in sets.items():
        columns[f"{name} heard"], convergence = heard(images, spec, settings)
        mse = float(np.mean(np.square(columns[f"{name} heard"] - images)))
        print(f"{name}: spectral convergence of the reconstruction {convergence:.1f} dB, "
              f"image MSE after it {mse:.4f}")
    stats = {name: {k: np.asarray(v) for k, v in texture.statistics(images).items()}
             for name, images in columns.items()}
    print(f"{'signed mean z':<18}" + "".join(f"{name:>17}" for name in columns))
    for group in LOSS_GROUPS:
        r = stats["real"][group]
        z = [np.mean((stats[name][group].mean(axis=0) - r.mean(axis=0)) / r.std(axis=0))
             for name in columns]
        print(f"{group:<18}" + "".join(f"{v:+17.3f}" for v in z))


if __name__ == "__main__":
    main()
