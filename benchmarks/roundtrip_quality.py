"""Round-trip quality of spectral specs against held-out real rain (issue 2, acceptance 1-2).

Each corpus recording is split into its first two thirds (reference) and last third (held
out). Candidates, each scored by `raingan eval`'s statistics against its own recording's
reference:

- held-out: the untouched last third (the floor a perfect system reaches);
- round trip: the held-out third through a spec and phase reconstruction, stitched;
- article: the RainGAN article's pipeline (256 x 256 squash, 30 plain Griffin-Lim
  iterations, chunks concatenated);
- noise: a spectrally matched coloured-noise twin of the held-out third.

Seam periodicity is also measured on whole recordings and their round trips: only audio of
8 s or more lets the analysis reach down to the default chunk rate (1.4 Hz), which the
held-out thirds (1.3-6 s) are too short to show.

    python benchmarks/roundtrip_quality.py [--spec default --spec my_spec.json] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from raingan.cli.common import load_spec
from raingan.eval import evaluate, seam
from raingan.eval.bars import split_thirds
from raingan.core.audio_io import read_audio, resample
from raingan.core.phase import ARTICLE_PHASE, PhaseSettings
from raingan.core.roundtrip import round_trip
from raingan.core.spec import article_spec

DATA = Path(__file__).resolve().parents[1] / "data" / "rain"


def recordings() -> list[Path]:
    """The corpus recordings, sorted by name."""
    return sorted(p for p in DATA.iterdir() if p.suffix in (".wav", ".ogg", ".flac"))


def corpus_thirds(rate_hz: int) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Issue 6's reference and held-out audio: every recording's first two thirds and its
    last third at ``rate_hz``, with the recordings' names."""
    references, held_out, names = [], [], []
    for path in recordings():
        head, tail = split_thirds(read_audio(path, rate_hz).samples)
        references.append(head)
        held_out.append(tail)
        names.append(path.name)
    return references, held_out, names


def score_recording(path: Path, candidates: dict[str, callable]) -> dict[str, dict]:
    rec = read_audio(path)
    reference, held_out = split_thirds(rec.samples)
    names = ["held-out"] + list(candidates)
    audio = [held_out] + [make(held_out, rec.sample_rate_hz) for make in candidates.values()]
    report = evaluate.evaluate_arrays([reference], audio, rec.sample_rate_hz,
                                      ref_names=[path.name], cand_names=names,
                                      noise_baseline=True)
    scores = {c.name: c.to_dict() for c in report.candidates}
    scores["noise"] = report.noise_baseline[0].to_dict()  # the twin of the held-out third
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", action="append", help="spec name or JSON (repeatable)")
    parser.add_argument("--iterations", type=int, default=PhaseSettings().n_iter)
    parser.add_argument("--phase-init", default=PhaseSettings().init)
    parser.add_argument("--skip-article", action="store_true")
    parser.add_argument("--json", type=Path, help="write all scores here")
    args = parser.parse_args()

    settings = PhaseSettings(init=args.phase_init, n_iter=args.iterations)
    candidates = {}
    for name in args.spec or ["default"]:
        spec = load_spec(name)
        candidates[f"rt:{Path(name).stem}"] = (
            lambda x, sr, spec=spec: round_trip(x, sr, spec, settings))
    if not args.skip_article:
        candidates["article"] = lambda x, sr: round_trip(x, sr, article_spec(), ARTICLE_PHASE)

    started = time.perf_counter()
    results = {p.name: score_recording(p, candidates) for p in recordings()}
    columns = ["held-out", *candidates, "noise"]
    print(f"mean texture distance to each recording's reference (lower is better); "
          f"phase {settings.init} + {settings.n_iter} it")
    print(f"{'recording':<32}" + "".join(f"{c:>16}" for c in columns))
    for name, scores in results.items():
        print(f"{name:<32}" + "".join(f"{scores[c]['mean_distance']:16.3f}" for c in columns))
    means = {c: float(np.mean([s[c]["mean_distance"] for s in results.values()])) for c in columns}
    print(f"{'mean over recordings':<32}" + "".join(f"{means[c]:16.3f}" for c in columns))
    held = means["held-out"]
    print(f"{'ratio to held-out':<32}" + "".join(f"{means[c] / held:16.2f}" for c in columns))

    print("\nseam periodicity, dB (NaN: shorter than the seam analysis needs)")
    for name, scores in results.items():
        print(f"{name:<32}" + "".join(f"{_num(scores[c]['seam_periodicity_db']):>16}" for c in columns))
    # Mean over the recordings whose held-out third is long enough to be measured.
    measured = [s for s in results.values() if s["held-out"]["seam_periodicity_db"] is not None]
    if measured:
        print(f"{'mean where measured':<32}" + "".join(
            f"{np.mean([s[c]['seam_periodicity_db'] for s in measured]):16.2f}"
            for c in columns[:-1]))

    whole = {}
    print("\nseam periodicity of whole recordings, dB (peak frequency), original vs round trip")
    for path in recordings():
        rec = read_audio(path)
        audio = {"original": rec.samples}
        audio.update({c: make(rec.samples, rec.sample_rate_hz) for c, make in candidates.items()})
        seam = {c: seam.seam_periodicity_db(
            resample(a.mean(axis=1), rec.sample_rate_hz, evaluate.ANALYSIS_RATE_HZ),
            evaluate.ANALYSIS_RATE_HZ) for c, a in audio.items()}
        whole[path.name] = {c: [_or_none(s.peak_db), _or_none(s.peak_hz)] for c, s in seam.items()}
        print(f"{path.name:<32}" + "".join(
            f"{c}: {s.peak_db:5.2f} ({s.peak_hz:4.1f} Hz)   " for c, s in seam.items()))
    print(f"\n{time.perf_counter() - started:.1f} s in all")
    if args.json:
        args.json.write_text(json.dumps({"means": means, "recordings": results,
                                         "whole_recording_seams": whole}, indent=2))


def _or_none(value: float) -> float | None:
    """JSON has no NaN: not measurable becomes null."""
    return None if math.isnan(value) else value


def _num(value) -> str:
    return "nan" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


if __name__ == "__main__":
    sys.exit(main())
