"""The report of ``raingan eval``: per-candidate scores, the overall score, a table and JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from .classifier import ClassifierTest
from .modulation import THIRD_OCTAVE_CENTRES_HZ, ModulationComparison
from .repetition import REPETITION_MIN_LAG_S, REPETITION_PATCH_S
from .seam import SEAM_MIN_DURATION_S
from .texture import GROUPS


@dataclass(frozen=True)
class CandidateScore:
    """Scores of one candidate (or of all candidates pooled).

    Attributes
    ----------
    name : file name, array name, or "overall"
    duration_s : audio length, seconds (summed when pooled)
    n_windows : texture analysis windows
    distances : per statistic group (:data:`.texture.GROUPS`), in units of the reference's
        window-to-window spread
    mean_distance : mean of ``distances``
    seam_db, seam_hz : seam periodicity peak, dB above its neighbourhood, and its frequency
        (NaN for audio shorter than :data:`SEAM_MIN_DURATION_S`); pooled: the worst candidate
    repetition : best correlation of 1 s patches > 2 s apart, about 1 for loops (NaN when
        too short); pooled: the worst candidate
    clipping_fraction : fraction of samples (all channels) with ``|x| >= CLIP_LEVEL``
    dc_offset : mean of the channel whose mean is largest in magnitude; pooled: the largest
    modulation : the fine modulation spectrum against the reference's (pooled: of all
        candidates' audio together), :mod:`.modulation`
    """

    name: str
    duration_s: float
    n_windows: int
    distances: dict[str, float]
    mean_distance: float
    seam_db: float
    seam_hz: float
    repetition: float
    clipping_fraction: float
    dc_offset: float
    modulation: ModulationComparison

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "duration_s": _json_float(self.duration_s),
            "n_windows": self.n_windows,
            "distances": {k: _json_float(v) for k, v in self.distances.items()},
            "mean_distance": _json_float(self.mean_distance),
            "seam_periodicity_db": _json_float(self.seam_db),
            "seam_periodicity_hz": _json_float(self.seam_hz),
            "repetition": _json_float(self.repetition),
            "clipping_fraction": _json_float(self.clipping_fraction),
            "dc_offset": _json_float(self.dc_offset),
            "modulation_peak_db": _json_float(self.modulation.peak_db),
            "modulation_peak_hz": _json_float(self.modulation.peak_hz),
            "modulation_dip_db": _json_float(self.modulation.dip_db),
            "modulation_dip_hz": _json_float(self.modulation.dip_hz),
            "modulation_judged_from_hz": _json_float(self.modulation.judged_from_hz),
            "modulation_band_peak_db": [_json_float(v) for v in self.modulation.band_peak_db],
            "modulation_third_octave_db": [_json_float(v)
                                           for v in self.modulation.third_octave_db],
        }


@dataclass(frozen=True)
class ClassifierSummary:
    """The classifier two-sample test (:mod:`.classifier`) and its yardsticks.

    Attributes
    ----------
    candidates : all candidates' windows against all references' windows
    real_vs_real : the references split in two (by file), one half against the other
    noise_twins : the candidates' coloured-noise twins against the references (None unless
        asked for)
    window_s : analysis window, seconds
    """

    candidates: ClassifierTest
    real_vs_real: ClassifierTest
    noise_twins: ClassifierTest | None
    window_s: float

    def to_dict(self) -> dict[str, Any]:
        def one(test: ClassifierTest | None) -> dict[str, Any] | None:
            return None if test is None else {
                "accuracy": _json_float(test.accuracy), "n_windows": list(test.n_windows),
                "n_folds": test.n_folds}

        return {"candidates": one(self.candidates), "real_vs_real": one(self.real_vs_real),
                "noise_twins": one(self.noise_twins), "window_s": self.window_s}


@dataclass(frozen=True)
class EvalReport:
    """Everything ``raingan eval`` reports.

    Attributes
    ----------
    references : reference names
    reference_duration_s : total reference audio, seconds
    n_reference_windows : pooled reference analysis windows
    window_s : nominal analysis window, seconds (shorter files use their whole length)
    modulation_centres_hz : modulation bands compared, Hz
    analysis_rate_hz : the common analysis sample rate, Hz
    candidates : one score per candidate, in input order
    overall : all candidates pooled
    noise_baseline : scores of a coloured-noise twin of each candidate (empty unless asked)
    noise_overall : the twins pooled, or None
    classifier : the classifier two-sample test, or None when not run
    """

    references: list[str]
    reference_duration_s: float
    n_reference_windows: int
    window_s: float
    modulation_centres_hz: list[float]
    analysis_rate_hz: int
    candidates: list[CandidateScore]
    overall: CandidateScore
    noise_baseline: list[CandidateScore] = field(default_factory=list)
    noise_overall: CandidateScore | None = None
    classifier: ClassifierSummary | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; NaN (not measurable) becomes null."""
        return {
            "references": list(self.references),
            "reference_duration_s": _json_float(self.reference_duration_s),
            "n_reference_windows": self.n_reference_windows,
            "window_s": self.window_s,
            "modulation_centres_hz": [float(c) for c in self.modulation_centres_hz],
            "analysis_rate_hz": self.analysis_rate_hz,
            "groups": list(GROUPS),
            "candidates": [c.to_dict() for c in self.candidates],
            "overall": self.overall.to_dict(),
            "noise_baseline": [c.to_dict() for c in self.noise_baseline],
            "noise_overall": None if self.noise_overall is None else self.noise_overall.to_dict(),
            "modulation_third_octave_hz": [float(c) for c in THIRD_OCTAVE_CENTRES_HZ],
            "classifier": None if self.classifier is None else self.classifier.to_dict(),
        }

    def format_table(self) -> str:
        """A plain-text table for a terminal: one row per candidate, then the pooled row."""
        return _format_table(self)


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


GROUP_HEADINGS = {"envelope_mean": "mean", "envelope_cv": "cv", "envelope_skew": "skew",
                   "envelope_kurtosis": "kurt", "band_correlation": "corr",
                   "modulation_power": "mod"}


TWIN_PREFIX = "noise twin: "


def short_name(name: str, width: int) -> str:
    """A label that fits ``width``: file names without their folder, then the tail."""
    prefix = TWIN_PREFIX if name.startswith(TWIN_PREFIX) else ""
    name = prefix + Path(name[len(prefix):]).name
    return name if len(name) <= width else name[: len(prefix)] + "..." + name[-(width - 3 - len(prefix)):]


def _format_row(score: CandidateScore, name_width: int) -> str:
    def num(value: float, fmt: str) -> str:
        return format(value, fmt) if math.isfinite(value) else "n/a"

    seam = (f"{score.seam_db:5.1f} dB @{score.seam_hz:5.1f} Hz"
            if math.isfinite(score.seam_db) else "n/a")
    line = (f"{score.modulation.peak_db:+5.1f} dB @{score.modulation.peak_hz:5.1f} Hz"
            if math.isfinite(score.modulation.peak_db) else "n/a")
    cells = [short_name(score.name, name_width).ljust(name_width),
             f"{score.duration_s:7.1f}", f"{num(score.mean_distance, '.2f'):>6}"]
    cells += [f"{num(score.distances[g], '.2f'):>6}" for g in GROUPS]
    cells += [f"{seam:>19}", f"{line:>20}", f"{num(score.repetition, '.2f'):>6}",
              f"{100 * score.clipping_fraction:7.3f}", f"{score.dc_offset:+8.4f}"]
    return " ".join(cells)


def _format_table(report: EvalReport) -> str:
    rows = report.candidates + [report.overall] + report.noise_baseline
    if report.noise_overall is not None:
        rows.append(report.noise_overall)
    name_width = min(max(len(short_name(r.name, 10_000)) for r in rows), 32)
    name_width = max(name_width, len("candidate"))
    header = " ".join(["candidate".ljust(name_width), f"{'sec':>7}", f"{'MEAN':>6}"]
                      + [f"{GROUP_HEADINGS[g]:>6}" for g in GROUPS]
                      + [f"{'seam periodicity':>19}", f"{'modulation line':>20}",
                         f"{'repeat':>6}", f"{'clip %':>7}",
                         f"{'DC':>8}"])
    rule = "-" * len(header)
    lines = [
        f"reference: {len(report.references)} file(s), {report.reference_duration_s:.1f} s, "
        f"{report.n_reference_windows} windows of up to {report.window_s:g} s; "
        f"analysed at {report.analysis_rate_hz} Hz, mono",
        "texture distances are in units of the reference's window-to-window spread "
        "(0 = indistinguishable; 1 = one spread apart)",
        rule, header, rule,
    ]
    lines += [_format_row(c, name_width) for c in report.candidates]
    lines += [rule, _format_row(report.overall, name_width)]
    if report.noise_baseline:
        lines += [rule, "coloured-noise twins (same spectrum and RMS, no rain structure): "
                        "a good candidate scores clearly lower"]
        lines += [_format_row(c, name_width) for c in report.noise_baseline]
        if report.noise_overall is not None:
            lines.append(_format_row(report.noise_overall, name_width))
    lines.append(rule)
    if any(not math.isfinite(r.repetition) or not math.isfinite(r.seam_db) for r in rows):
        lines.append(f"n/a: too short (repetition needs two {REPETITION_PATCH_S:g} s patches "
                     f"more than {REPETITION_MIN_LAG_S:g} s apart; seam periodicity needs "
                     f"{SEAM_MIN_DURATION_S:g} s)")
    lines.append("seam periodicity: a few dB is normal; over ~10 dB means a periodic pulse "
                 "(chunk seams). repeat: ~1 means looped material.")
    lines.append("modulation line: the modulation-spectrum line standing furthest above the "
                 "reference's (0.5-200 Hz); a few dB is measurement noise on short references.")
    if report.classifier is not None:
        lines.append(_classifier_line(report.classifier))
    return "\n".join(lines)


def _classifier_line(summary: ClassifierSummary) -> str:
    def accuracy(test: ClassifierTest | None) -> str:
        return "n/a" if test is None or not math.isfinite(test.accuracy) else f"{test.accuracy:.2f}"

    noise = "" if summary.noise_twins is None else f", noise twins {accuracy(summary.noise_twins)}"
    return (f"classifier test: candidates told from references with accuracy "
            f"{accuracy(summary.candidates)} (0.5 = indistinguishable; real against real "
            f"{accuracy(summary.real_vs_real)}{noise}; {summary.window_s:g} s windows)")


