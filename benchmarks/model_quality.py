"""How close a model's rain is to real, held-out rain (issue 6's quality figures).

Reference: the first two thirds of every corpus recording, pooled. Compared against it:

- held-out: the last thirds of the recordings, pooled (what real rain scores);
- noise: coloured-noise twins of the held-out thirds (what rain-coloured noise scores);
- model: SECONDS of the model's default rendering (48 kHz stereo, analysed as mono).

It also prints the chunk pattern (how alike the temporal profiles of unrelated chunks are)
and how many generated chunks are louder somewhere than the training audio ever is there
(blobs the texture distance does not see: its bands stop at 10 kHz).

    python benchmarks/model_quality.py --model MODEL.onnx [--seconds 60] [--seed 0] [--drift-s 10] [--json out.json]
        [--truncation T] [--scale PART=FACTOR] [--channels 1] [--level-smoothing-s S] [--contrast K]
        [--phase-iterations N]
        [--signed [--envelope-smoothing-frames N]]

``--signed`` also prints, per statistic group, the signed differences the distance is made
of (candidate mean minus reference mean in reference spreads, averaged over regions of
five cochlear bands, low to high; ``raingan eval`` reports their magnitudes): which way
held-out audio and the model differ. ``--envelope-smoothing-frames N`` averages every
envelope over N frames (at 400 Hz) first: which differences remain at a coarser time
resolution, such as an STFT window's (N = 9, 22.5 ms).

Experiments, not settings: ``--truncation`` renders with another latent truncation;
``--scale`` multiplies one part of every latent the stream draws (see
``chunk_modulation.py``); ``--channels 1`` renders mono; ``--level-smoothing-s`` changes the
chunk levelling's time constant; ``--contrast K`` stretches every image's values about each
row's mean over time by K before phase reconstruction; ``--phase-iterations N`` runs N Fast
Griffin-Lim iterations after PGHI instead of the runtime's 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chunk_modulation import parse_scales, real_images, scaled  # noqa: E402
from roundtrip_quality import corpus_thirds  # noqa: E402

from raingan.core import ceiling  # noqa: E402
from raingan.eval import cochlear, distance, evaluate, texture  # noqa: E402
from raingan.runtime import leveling  # noqa: E402
from raingan.core.audio_io import resample  # noqa: E402
from raingan.runtime.generator import Generator, default_model_path  # noqa: E402
from raingan.runtime.latent import walk_correlation  # noqa: E402
from raingan.core.phase import STREAM_PHASE, PhaseSettings  # noqa: E402
from raingan.runtime.render import RenderSettings, render  # noqa: E402
from raingan.runtime.stream import DEFAULT_DRIFT_S  # noqa: E402
from raingan.training.config import TrainConfig  # noqa: E402

RATE_HZ = 48_000
#: How far a generated pixel may rise above the loudest real pixel near its row before it
#: counts as an artefact, dB: the crop gain augmentation of training (+-6 dB).
CEILING_MARGIN_DB = TrainConfig.gain_db


def chunk_pattern(generator: Generator, n_latents: int = 64) -> float:
    """Mean correlation, between unrelated latents, of each image's loudness over time.

    Near 0 when the generator places drops anywhere; high when it stamps one temporal
    pattern on every chunk (heard as a pulse at the chunk rate).
    """
    images = generator.images(generator.latents(np.random.default_rng(0), n_latents))
    profiles = images.mean(axis=1)
    profiles = profiles - profiles.mean(axis=1, keepdims=True)
    pairs = np.triu_indices(n_latents, 1)
    return float(np.mean(np.corrcoef(profiles)[pairs]))


def above_ceiling(images: np.ndarray, ceiling_db: np.ndarray, spec,
                  rows: np.ndarray | slice = slice(None)) -> tuple[float, float]:
    """(share of ``images`` with a pixel in ``rows`` more than :data:`CEILING_MARGIN_DB`
    above ``ceiling_db``, the largest excess there in dB): loud blobs where the corpus never
    is loud."""
    excess_db = (spec.images_to_db(images.max(axis=2)) - ceiling_db)[:, rows].max(axis=1)
    return float(np.mean(excess_db > CEILING_MARGIN_DB)), float(excess_db.max())


def ceiling_report(generator: Generator, n_chunks: int = 512) -> str:
    """Generated chunks (a stream's latent walk, before levelling and the model's ceiling)
    and held-out real ones against the level ceiling of the training thirds' chunks
    (:func:`raingan.core.ceiling.row_ceiling_db`; see :func:`above_ceiling`)."""
    spec = generator.spec
    ceiling_db = ceiling.row_ceiling_db(real_images(spec), spec)
    walk = generator.latent_walk(np.random.default_rng(0), walk_correlation(
        spec.chunk_step_samples / spec.sample_rate_hz, DEFAULT_DRIFT_S))
    parts = []
    for label, images in (("held-out", real_images(spec, held_out=True)),
                          ("model", generator.images(walk.take(n_chunks)))):
        share, worst_db = above_ceiling(images, ceiling_db, spec)
        low_share, low_db = above_ceiling(images, ceiling_db, spec,
                                          spec.image_row_hz() < texture.TextureConfig().high_hz)
        parts.append(f"{label} {100 * share:.1f} % of {len(images)} (worst {worst_db:+.1f} dB; "
                     f"below 10 kHz {100 * low_share:.1f} %, worst {low_db:+.1f} dB)")
    return (f"chunks louder than the training audio ever is (+{CEILING_MARGIN_DB:g} dB, "
            f"per row): " + ", ".join(parts))


def smoothed_statistics(audio: np.ndarray, rate_hz: int, shortest_window_s: float,
                        smoothing_frames: int) -> texture.TextureStats:
    """:func:`raingan.eval.texture.texture_statistics` of envelopes first averaged over
    ``smoothing_frames`` frames (1: unchanged): what the statistics are at a coarser time
    resolution, such as an STFT window's."""
    config = texture.TextureConfig()
    window_s = texture.analysis_window_s(audio.shape[0] / rate_hz, config)
    centres = texture.modulation_centres_for(min(shortest_window_s, window_s), config)
    envelopes = cochlear.cochlear_envelopes(audio, rate_hz, config)
    if smoothing_frames > 1:
        envelopes = uniform_filter1d(envelopes, smoothing_frames, axis=1)
    groups = texture.window_statistics(envelopes, window_s, centres, config)
    return texture.TextureStats(groups, window_s, cochlear.band_centres_hz(config), centres,
                                config.correlation_offsets)


def signed_regions(references: list[np.ndarray], candidates: list[np.ndarray],
                   rate_hz: int, smoothing_frames: int = 1) -> dict[str, np.ndarray]:
    """Per group, the signed region means of :func:`raingan.eval.distance.texture_distance`
    (whose mean magnitude is the group's distance), each shape (n_regions,); envelopes
    averaged over ``smoothing_frames`` first (see :func:`smoothed_statistics`)."""
    def mono(audio: np.ndarray) -> np.ndarray:
        mixed = np.asarray(audio, dtype=np.float64).reshape(audio.shape[0], -1).mean(axis=1)
        return np.asarray(resample(mixed, rate_hz, evaluate.ANALYSIS_RATE_HZ), dtype=np.float64)

    refs, cands = [mono(a) for a in references], [mono(a) for a in candidates]
    shortest = min(texture.analysis_window_s(a.shape[0] / evaluate.ANALYSIS_RATE_HZ)
                   for a in refs + cands)
    stats = [[smoothed_statistics(a, evaluate.ANALYSIS_RATE_HZ, shortest, smoothing_frames)
              for a in side] for side in (refs, cands)]
    regions = {}
    for group in texture.GROUPS:
        ref, cand = (np.concatenate([s.groups[group] for s in side]) for side in stats)
        z = (cand.mean(axis=0) - ref.mean(axis=0)) / distance.reference_spread(ref, group)
        regions[group] = distance.region_means(z, *stats[0][0].layout(group))
    return regions


def contrasted(images_of, factor: float):
    """``images_of`` (latents -> images) with each image row's values stretched by ``factor``
    about their mean over the image's frames, clipped to [-1, 1]."""
    def images(latents: np.ndarray) -> np.ndarray:
        images = images_of(latents)
        mean = images.mean(axis=-1, keepdims=True)
        return np.clip(mean + factor * (images - mean), -1.0, 1.0)
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model (default: the bundled one)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--drift-s", type=float, default=DEFAULT_DRIFT_S,
                        help="latent drift time constant (0: independent chunks)")
    parser.add_argument("--wav", type=Path, help="also write the rendering here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--truncation", type=float, help="latent truncation (default: the model's)")
    parser.add_argument("--scale", action="append", default=[], metavar="PART=FACTOR")
    parser.add_argument("--channels", type=int, default=2, choices=(1, 2))
    parser.add_argument("--level-smoothing-s", type=float,
                        help=f"chunk levelling time constant (default {leveling.LEVEL_SMOOTHING_S} s)")
    parser.add_argument("--contrast", type=float, help="stretch image values over time by K")
    parser.add_argument("--phase-iterations", type=int, metavar="N",
                        help="Fast Griffin-Lim iterations after PGHI (default: the runtime's, "
                             f"{STREAM_PHASE.n_iter})")
    parser.add_argument("--envelope-smoothing-frames", type=int, default=1, metavar="N",
                        help="with --signed: average the 400 Hz envelopes over N frames first "
                             "(9: 22.5 ms, about one STFT window)")
    parser.add_argument("--signed", action="store_true",
                        help="print the signed region differences of each group")
    args = parser.parse_args()
    scales = parse_scales(args.scale)
    if args.level_smoothing_s is not None:
        leveling.LEVEL_SMOOTHING_S = args.level_smoothing_s  # read by each new stream

    started = time.perf_counter()
    references, held_out, names = corpus_thirds(RATE_HZ)
    phase = (STREAM_PHASE if args.phase_iterations is None
             else PhaseSettings(n_iter=args.phase_iterations))
    generator = Generator(args.model or default_model_path(), device="cpu", phase=phase)
    if scales:
        make_walk = generator.latent_walk

        def latent_walk(*args_, **kwargs):
            walk = make_walk(*args_, **kwargs)
            take = walk.take
            walk.take = lambda count: scaled(take(count), generator, scales)
            return walk

        generator.latent_walk = latent_walk
    if args.contrast is not None:
        generator.images = contrasted(generator.images, args.contrast)
    rendering = render(generator, RenderSettings(seconds=args.seconds, seed=args.seed,
                                                 channels=args.channels, drift_s=args.drift_s,
                                                 truncation=args.truncation)).samples
    if args.wav:
        from raingan.core.audio_io import write_audio

        write_audio(args.wav, rendering, RATE_HZ)

    real = evaluate.evaluate_arrays(references, held_out, RATE_HZ, ref_names=names,
                                    cand_names=[f"held-out {n}" for n in names],
                                    noise_baseline=True)
    model = evaluate.evaluate_arrays(references, [rendering], RATE_HZ, ref_names=names,
                                     cand_names=["model"])
    rows = {"held-out": real.overall, "noise twins": real.noise_overall, "model": model.overall}
    print(f"reference: first two thirds of {len(names)} recordings; model: {args.seconds:g} s, "
          f"seed {args.seed}, drift {args.drift_s:g} s")
    print(f"{'':<14}{'distance':>10}{'repetition':>12}{'seam dB':>10}")
    for label, score in rows.items():
        print(f"{label:<14}{score.mean_distance:10.3f}{score.repetition:12.3f}"
              f"{score.seam_db:10.2f}")
    ratio = model.overall.mean_distance / real.overall.mean_distance
    print(f"model / held-out distance: {ratio:.2f}x "
          f"(noise twins: {real.noise_overall.mean_distance / real.overall.mean_distance:.2f}x)")
    print(f"chunk pattern (time-profile correlation between latents): "
          f"{chunk_pattern(generator):.3f}")
    print(ceiling_report(generator))
    if args.signed:
        for label, candidates in (("held-out", held_out), ("model", [rendering])):
            for group, z in signed_regions(references, candidates, RATE_HZ,
                                           args.envelope_smoothing_frames).items():
                print(f"signed z, {label:<8} {group:<18} " + " ".join(f"{v:+.2f}" for v in z))
    print(f"{time.perf_counter() - started:.1f} s in all")
    if args.json:
        args.json.write_text(json.dumps({k: v.to_dict() for k, v in rows.items()}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
