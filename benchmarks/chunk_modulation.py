"""How the broadband level moves inside a chunk: generated images against real ones.

`raingan eval` finds the bundled model's rain too modulated at 1-8 Hz and too little at
16-64 Hz, with band envelopes that move together too much. This looks at the cause inside
the model's images, before phase reconstruction and stitching: for each image, the mean of
rows 10-350 (about 0.4-15 kHz) per frame is its broadband level (in image units, 1 = 60 dB);
the power spectrum of that profile (Hann window, mean over images) is printed in octave
bands of modulation frequency, with the correlation between a low (1.7-5 kHz) and a high
(8.6-15 kHz) band's profiles. Real images are chunks of the first two thirds of every corpus
recording (each channel); generated ones follow a stream's latent walk. ``--scale
PART=FACTOR`` multiplies one part of every latent first (shared: the drifting components;
columns: the per-column ones; noise: the noise inputs), to see what each part does.

    python benchmarks/chunk_modulation.py [--model MODEL.onnx] [--chunks 128] [--scale columns=0.5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from raingan.eval.bars import split_thirds  # noqa: E402
from roundtrip_quality import recordings  # noqa: E402

from raingan.core.audio_io import read_audio  # noqa: E402
from raingan.runtime.generator import Generator, default_model_path  # noqa: E402
from raingan.runtime.latent import walk_correlation  # noqa: E402
from raingan.core.roundtrip import chunk_contexts  # noqa: E402
from raingan.runtime.stream import DEFAULT_DRIFT_S  # noqa: E402

BANDS_HZ = ((0.7, 1.5), (1.5, 3), (3, 6), (6, 12), (12, 24), (24, 48), (48, 86))


def latent_parts(generator: Generator) -> dict[str, slice]:
    """Where each part of a "columns" model's input lies: shared (drifting) components,
    per-column components, noise inputs (the finest ``g_noise_levels`` resolutions)."""
    training = generator.metadata.training or {}
    height, width = generator.spec.image_shape
    noise = sum(height * width // 4 ** level + (width // 2 ** level
                                                if training.get("g_frame_noise") else 0)
                for level in range(int(training.get("g_noise_levels", 0))))
    latent = generator.latent_dim - noise
    shared = generator.metadata.drifting_dims or latent
    return {"shared": slice(0, shared), "columns": slice(shared, latent),
            "noise": slice(latent, generator.latent_dim)}


def scaled(latents: np.ndarray, generator: Generator, scales: dict[str, float]) -> np.ndarray:
    """``latents`` with each named part multiplied by its factor."""
    out, parts = latents.copy(), latent_parts(generator)
    for part, factor in scales.items():
        out[:, parts[part]] *= factor
    return out


def parse_scales(items: list[str]) -> dict[str, float]:
    scales = {}
    for item in items:
        part, _, factor = item.partition("=")
        if part not in ("shared", "columns", "noise"):
            raise SystemExit(f"--scale: unknown part {part!r} (shared, columns or noise)")
        scales[part] = float(factor)
    return scales


def real_images(spec, held_out: bool = False) -> np.ndarray:
    """Images of every corpus channel's first two thirds (or, ``held_out``, its last third),
    cut into the spec's chunks: shape (n_chunks, height, width)."""
    images = []
    for path in recordings():
        samples = read_audio(path, spec.sample_rate_hz).samples
        for channel in np.atleast_2d(samples.T):
            third = split_thirds(channel)[1 if held_out else 0]
            images.append(spec.audio_to_images(chunk_contexts(third, spec)))
    return np.concatenate(images)


def profile_figures(images: np.ndarray, frame_rate_hz: float) -> tuple[np.ndarray, float]:
    """(mean power per modulation band of the broadband profile, low/high correlation)."""
    level = images[:, 10:350].mean(axis=1)
    level = level - level.mean(axis=1, keepdims=True)
    power = np.abs(np.fft.rfft(level * np.hanning(level.shape[1]), axis=1)) ** 2
    freqs = np.fft.rfftfreq(level.shape[1], 1.0 / frame_rate_hz)
    bands = np.array([power[:, (freqs >= lo) & (freqs < hi)].mean() for lo, hi in BANDS_HZ])
    low, high = (images[:, rows].mean(axis=1) for rows in (slice(40, 120), slice(200, 350)))
    low, high = low - low.mean(1, keepdims=True), high - high.mean(1, keepdims=True)
    correlation = (low * high).sum(1) / np.sqrt((low * low).sum(1) * (high * high).sum(1))
    return bands, float(correlation.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--chunks", type=int, default=128)
    parser.add_argument("--scale", action="append", default=[], metavar="PART=FACTOR")
    args = parser.parse_args()
    scales = parse_scales(args.scale)
    generator = Generator(args.model or default_model_path(), device="cpu")
    spec = generator.spec
    step_s = spec.chunk_step_samples / spec.sample_rate_hz
    walk = generator.latent_walk(np.random.default_rng(0),
                                 walk_correlation(step_s, DEFAULT_DRIFT_S))
    frame_rate_hz = spec.sample_rate_hz / spec.hop_length
    print("modulation band, Hz: " + "  ".join(f"{lo:g}-{hi:g}" for lo, hi in BANDS_HZ))
    for name, images in (("real", real_images(spec)),
                         ("generated", generator.images(scaled(walk.take(args.chunks),
                                                               generator, scales)))):
        bands, correlation = profile_figures(images, frame_rate_hz)
        print(f"{name} ({len(images)} chunks): " + "  ".join(f"{b:.2e}" for b in bands)
              + f"; low/high band correlation {correlation:.3f}")


if __name__ == "__main__":
    main()
