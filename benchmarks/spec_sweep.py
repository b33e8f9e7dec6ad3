"""Which spec keeps rain best? Round-trip quality of candidate specs (how the default was chosen).

Every candidate round-trips the held-out third of each corpus recording; `raingan eval`'s
statistics score it against the recording's first two thirds (see roundtrip_quality.py).
The table gives the mean distance over recordings, per statistic group, the image size a
generator must produce, and the worst seam periodicity.

    python benchmarks/spec_sweep.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from roundtrip_quality import recordings, score_recording  # noqa: E402

from raingan.eval.texture import GROUPS  # noqa: E402
from raingan.core.phase import PhaseSettings  # noqa: E402
from raingan.core.roundtrip import round_trip  # noqa: E402
from raingan.core.spec import SpectralSpec  # noqa: E402

LONG = dict(n_fft=2048, win_length=2048, hop_length=512, n_frames=64)
CANDIDATES: dict[str, tuple[SpectralSpec, PhaseSettings]] = {
    "default (lin 1024/256, xf 8)": (SpectralSpec(), PhaseSettings()),
    "lin 1024/256, xf 32": (SpectralSpec(crossfade_frames=32), PhaseSettings()),
    "mel 128, xf 32": (SpectralSpec(freq_scale="mel", crossfade_frames=32), PhaseSettings()),
    "mel 128, xf 8": (SpectralSpec(freq_scale="mel"), PhaseSettings()),
    "lin 2048/512, xf 16": (SpectralSpec(**LONG, crossfade_frames=16), PhaseSettings()),
    "lin 2048/512, xf 8": (SpectralSpec(**LONG, crossfade_frames=8), PhaseSettings()),
    "lin 2048/512 -> 512 rows": (SpectralSpec(**LONG, crossfade_frames=8, image_height=512,
                                              image_width=64), PhaseSettings()),
    "mel 512, 2048/512, xf 8": (SpectralSpec(**LONG, freq_scale="mel", n_mels=512,
                                             crossfade_frames=8), PhaseSettings()),
    "default, random + 16 it": (SpectralSpec(), PhaseSettings(init="random")),
    "default, pghi only": (SpectralSpec(), PhaseSettings(n_iter=0)),
    "default, pghi + 32 it": (SpectralSpec(), PhaseSettings(n_iter=32)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write all scores here")
    args = parser.parse_args()
    started = time.perf_counter()
    makers = {name: (lambda x, sr, spec=spec, settings=settings:
                     round_trip(x, sr, spec, settings))
              for name, (spec, settings) in CANDIDATES.items()}
    results = {p.name: score_recording(p, makers) for p in recordings()}
    columns = ["held-out", *CANDIDATES, "noise"]
    width = max(len(c) for c in columns) + 2
    print(f"{'candidate':<{width}}{'image':>10}{'MEAN':>7}{'/held':>7}"
          + "".join(f"{g.split('_')[-1][:6]:>7}" for g in GROUPS) + f"{'seam max':>10}")
    held = np.mean([r["held-out"]["mean_distance"] for r in results.values()])
    summary = {}
    for c in columns:
        rows = [r[c] for r in results.values()]
        mean = float(np.mean([row["mean_distance"] for row in rows]))
        groups = {g: float(np.mean([row["distances"][g] for row in rows])) for g in GROUPS}
        seams = [row["seam_periodicity_db"] for row in rows if row["seam_periodicity_db"] is not None]
        image = "x".join(map(str, CANDIDATES[c][0].image_shape)) if c in CANDIDATES else ""
        summary[c] = {"mean_distance": mean, "groups": groups, "image": image}
        print(f"{c:<{width}}{image:>10}{mean:7.2f}{mean / held:7.2f}"
              + "".join(f"{groups[g]:7.2f}" for g in GROUPS) + f"{max(seams):10.1f}")
    print(f"\n{time.perf_counter() - started:.1f} s in all")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "recordings": results}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
