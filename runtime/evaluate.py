"""How close candidate audio is to reference rain: the engine of ``raingan eval``.

Four kinds of evidence, per candidate file and overall:

* **texture distance** (:func:`texture_distance`): McDermott & Simoncelli statistics
  (:mod:`.texture`) of the candidate's analysis windows against the pooled windows of all
  references, each statistic's difference of means divided by the references' own
  window-to-window spread; averaged over frequency regions of five neighbouring bands, then
  (as magnitudes) within each statistic group, then over groups;
* **seam periodicity** (:func:`seam_periodicity_db`): the strongest line in the modulation
  spectrum of the audio's loudness, in dB above its neighbourhood; chunk seams show up as a
  line at the chunk rate (or a harmonic of it);
* **repetition** (:func:`repetition_score`): the best match between 1 s patches of the
  log-band spectrogram at least 2 s apart; loops score about 1;
* **clipping and DC offset**, read from the samples as given (before resampling).

Stereo (or any multichannel) audio is averaged to mono for every analysis except clipping and
DC; all audio is resampled to :data:`ANALYSIS_RATE_HZ` (32 kHz: the cochlear bands reach
10 kHz) with :func:`.audio_io.resample`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import scipy.fft as sfft
import scipy.ndimage

from . import texture
from .atomic import atomic_output
from .audio_io import SILENCE_PEAK, read_audio, resample
from .errors import AudioInputError, OutputPathError, RainGANError
from .texture import GROUPS, TextureConfig, TextureStats

#: Called with the number of steps just finished.
Progress = Callable[[int], None]

#: Every signal is analysed at this rate, Hz.
ANALYSIS_RATE_HZ = 32_000
#: A sample counts as clipped at or above this magnitude (full scale is 1.0).
CLIP_LEVEL = 0.999

# Spread floors of :func:`texture_distance`. The reference's window-to-window standard
# deviation of a statistic is floored at max(REL * |reference mean|, ABS): a statistic that
# barely moves in the reference (or a reference with a single window) must not turn a
# negligible difference into a huge distance. The floors are a few per cent of each group's
# natural scale, below the spreads real rain shows in 2 s windows (so they rarely bind there):
# envelope means are level-like (relative floor: 2 % of the compressed envelope, about
# 0.3 dB of power); CV, skewness, kurtosis and correlations are dimensionless (absolute
# floors); modulation power is a fraction of variance (0.005 = half a per cent of it).
SPREAD_FLOOR_REL: dict[str, float] = {
    "envelope_mean": 0.02, "envelope_cv": 0.02, "envelope_skew": 0.0,
    "envelope_kurtosis": 0.02, "band_correlation": 0.0, "modulation_power": 0.05,
}
SPREAD_FLOOR_ABS: dict[str, float] = {
    "envelope_mean": 1e-6, "envelope_cv": 0.005, "envelope_skew": 0.05,
    "envelope_kurtosis": 0.05, "band_correlation": 0.02, "modulation_power": 0.002,
}

#: Seam periodicity looks for lines between these modulation frequencies, Hz.
SEAM_RANGE_HZ = (0.5, 50.0)
#: Shortest audio for which seam periodicity is measured, seconds.
SEAM_MIN_DURATION_S = 2.0
_SEAM_BANDS = TextureConfig(n_bands=8, correlation_offsets=(1,))
_SEAM_SEGMENT_S = (2.0, 16.0)
_SEAM_NEIGHBOURS_HZ = 2.0

#: Repetition compares patches this long, seconds ...
REPETITION_PATCH_S = 1.0
#: ... whose start times are more than this apart, seconds.
REPETITION_MIN_LAG_S = 2.0
_REPETITION_FRAME_S = 0.064
_REPETITION_HOP_S = 0.004
_REPETITION_COARSE = 4  # earlier patches start on every 4th frame (a 16 ms grid)
_REPETITION_DETREND_S = 0.5
_REPETITION_BANDS = 40
_REPETITION_LOW_HZ = 80.0
_REPETITION_HIGH_HZ = 12_000.0


# -- report ------------------------------------------------------------------------------------

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
        }


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
        }

    def format_table(self) -> str:
        """A plain-text table for a terminal: one row per candidate, then the pooled row."""
        return _format_table(self)


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


_GROUP_HEADINGS = {"envelope_mean": "mean", "envelope_cv": "cv", "envelope_skew": "skew",
                   "envelope_kurtosis": "kurt", "band_correlation": "corr",
                   "modulation_power": "mod"}


_TWIN_PREFIX = "noise twin: "


def _short_name(name: str, width: int) -> str:
    """A label that fits ``width``: file names without their folder, then the tail."""
    prefix = _TWIN_PREFIX if name.startswith(_TWIN_PREFIX) else ""
    name = prefix + Path(name[len(prefix):]).name
    return name if len(name) <= width else name[: len(prefix)] + "..." + name[-(width - 3 - len(prefix)):]


def _format_row(score: CandidateScore, name_width: int) -> str:
    def num(value: float, fmt: str) -> str:
        return format(value, fmt) if math.isfinite(value) else "n/a"

    seam = (f"{score.seam_db:5.1f} dB @{score.seam_hz:5.1f} Hz"
            if math.isfinite(score.seam_db) else "n/a")
    cells = [_short_name(score.name, name_width).ljust(name_width),
             f"{score.duration_s:7.1f}", f"{num(score.mean_distance, '.2f'):>6}"]
    cells += [f"{num(score.distances[g], '.2f'):>6}" for g in GROUPS]
    cells += [f"{seam:>19}", f"{num(score.repetition, '.2f'):>6}",
              f"{100 * score.clipping_fraction:7.3f}", f"{score.dc_offset:+8.4f}"]
    return " ".join(cells)


def _format_table(report: EvalReport) -> str:
    rows = report.candidates + [report.overall] + report.noise_baseline
    if report.noise_overall is not None:
        rows.append(report.noise_overall)
    name_width = min(max(len(_short_name(r.name, 10_000)) for r in rows), 32)
    name_width = max(name_width, len("candidate"))
    header = " ".join(["candidate".ljust(name_width), f"{'sec':>7}", f"{'MEAN':>6}"]
                      + [f"{_GROUP_HEADINGS[g]:>6}" for g in GROUPS]
                      + [f"{'seam periodicity':>19}", f"{'repeat':>6}", f"{'clip %':>7}",
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
    return "\n".join(lines)


# -- texture distance --------------------------------------------------------------------------

#: Statistics are compared in frequency regions of this many adjacent cochlear bands.
REGION_BANDS = 5


@dataclass(frozen=True)
class TextureDistance:
    """Distances between candidate and reference statistics.

    Attributes
    ----------
    groups : per statistic group, the mean over frequency regions of
        ``|mean_cand - mean_ref| / spread_ref`` (see :func:`texture_distance`)
    mean : mean over groups
    """

    groups: dict[str, float]
    mean: float


def _pool(stats: Sequence[TextureStats], group: str) -> np.ndarray:
    """The windows of every signal, stacked: shape (total windows, n_statistics)."""
    return np.concatenate([s.groups[group] for s in stats], axis=0)


def reference_spread(windows: np.ndarray, group: str) -> np.ndarray:
    """Floored window-to-window standard deviation of each statistic.

    Parameters
    ----------
    windows : shape (n_windows, n_statistics), the pooled reference windows
    group : statistic group name, selects the floors

    Returns
    -------
    np.ndarray, shape (n_statistics,): ``max(std, SPREAD_FLOOR_REL * |mean|, SPREAD_FLOOR_ABS)``
    (a single window has std 0, so only the floors apply)
    """
    std = windows.std(axis=0, ddof=1) if windows.shape[0] > 1 else np.zeros(windows.shape[1])
    floor = np.maximum(SPREAD_FLOOR_REL[group] * np.abs(windows.mean(axis=0)),
                       SPREAD_FLOOR_ABS[group])
    return np.maximum(std, floor)


def region_means(z: np.ndarray, band: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Mean of ``z`` over each (kind, region of :data:`REGION_BANDS` bands) cell.

    Parameters
    ----------
    z : shape (n_statistics,), signed standardised differences
    band, kind : shape (n_statistics,), from :meth:`.texture.TextureStats.layout`

    Returns
    -------
    np.ndarray, shape (n_cells,), the non-empty cells only
    """
    cell = kind * (int(band.max()) // REGION_BANDS + 1) + band // REGION_BANDS
    counts = np.bincount(cell)
    sums = np.bincount(cell, weights=z)
    return sums[counts > 0] / counts[counts > 0]


def texture_distance(reference: Sequence[TextureStats],
                     candidate: Sequence[TextureStats]) -> TextureDistance:
    """Distance of the candidates' texture statistics from the references', per group.

    Windows of all references are pooled, and so are the candidates'. For each statistic,
    ``mean over candidate windows - mean over reference windows`` is divided by the
    reference's spread (:func:`reference_spread`). These signed differences are averaged
    over frequency regions of :data:`REGION_BANDS` adjacent cochlear bands (within one
    correlation offset or modulation band) before their magnitude is taken: a statistic of
    one band in a few seconds of audio is noisy, while a real difference in texture (duller
    drops, smeared transients, a pulse) moves neighbouring bands together. Each group
    reports the mean magnitude over its regions; ``mean`` is the mean over groups.

    Parameters
    ----------
    reference, candidate : statistics computed with the same configuration and the same
        modulation bands (see ``shortest_window_s`` in :func:`.texture.texture_statistics`)
    """
    if not reference or not candidate:
        raise ValueError("need at least one reference and one candidate")
    groups = {}
    for group in GROUPS:
        ref = _pool(reference, group)
        cand = _pool(candidate, group)
        if ref.shape[1] != cand.shape[1]:
            raise ValueError(f"{group}: reference has {ref.shape[1]} statistics, candidate "
                             f"{cand.shape[1]}; compute both with the same shortest window")
        z = (cand.mean(axis=0) - ref.mean(axis=0)) / reference_spread(ref, group)
        groups[group] = float(np.mean(np.abs(region_means(z, *reference[0].layout(group)))))
    return TextureDistance(groups, float(np.mean(list(groups.values()))))


# -- seam periodicity --------------------------------------------------------------------------

@dataclass(frozen=True)
class SeamPeriodicity:
    """The strongest line of the loudness modulation spectrum (see :func:`seam_periodicity_db`).

    Attributes
    ----------
    peak_db : height above the running median of neighbouring modulation frequencies, dB
    peak_hz : its modulation frequency, Hz; when lines at a sub-multiple of it stand out
        nearly as strongly (a comb of seam harmonics), the lowest such frequency
    """

    peak_db: float
    peak_hz: float


def _seam_spectrum(audio: np.ndarray, sample_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Modulation spectrum of the audio's loudness, averaged over a few wide bands.

    Returns
    -------
    (freqs_hz, power): shape (n_freqs,) each; power is relative (each band's spectrum is
    divided by its median within :data:`SEAM_RANGE_HZ` before the bands are averaged)
    """
    envelopes = texture.cochlear_envelopes(audio, sample_rate_hz, _SEAM_BANDS)
    envelopes = envelopes[envelopes.max(axis=1) > 0]  # bands above Nyquist are all zero
    rate_hz = _SEAM_BANDS.envelope_rate_hz
    duration_s = envelopes.shape[1] / rate_hz
    segment_s = min(max(duration_s / 2.0, _SEAM_SEGMENT_S[0]), _SEAM_SEGMENT_S[1])
    n_segment = min(int(round(segment_s * rate_hz)), envelopes.shape[1])
    import scipy.signal  # here, not above: it takes a second to import, and every
    # `raingan` command imports this module (for its constants)
    freqs, power = scipy.signal.welch(envelopes, fs=rate_hz, window="hann", nperseg=n_segment,
                                      noverlap=(3 * n_segment) // 4, detrend="linear", axis=-1)
    in_range = (freqs >= SEAM_RANGE_HZ[0]) & (freqs <= SEAM_RANGE_HZ[1])
    in_range[:2] = False  # DC and the first bin carry the removed trend
    scale = np.median(power[:, in_range], axis=1, keepdims=True)
    return freqs, np.mean(power / np.maximum(scale, 1e-300), axis=0)


def _ring_median(power: np.ndarray, inner: int, outer: int, first: int) -> np.ndarray:
    """Median of ``power[k + d]`` over ``inner < |d| <= outer`` (bins >= ``first`` only).

    Returns
    -------
    np.ndarray, shape (n_freqs,); NaN where no neighbour exists
    """
    offsets = np.concatenate([np.arange(-outer, -inner), np.arange(inner + 1, outer + 1)])
    index = np.arange(power.shape[0])[:, None] + offsets[None, :]
    valid = (index >= first) & (index < power.shape[0])
    neighbours = np.where(valid, power[np.clip(index, 0, power.shape[0] - 1)], np.nan)
    has_any = valid.any(axis=1)
    neighbours[~has_any] = 1.0  # placeholder rows, so nanmedian never sees an all-NaN row
    return np.where(has_any, np.nanmedian(neighbours, axis=1), np.nan)


def seam_periodicity_db(audio: np.ndarray, sample_rate_hz: float) -> SeamPeriodicity:
    """How strongly the audio's loudness pulses at one modulation frequency.

    Loudness is measured in 8 wide ERB bands (compressed Hilbert envelopes at 400 Hz, as in
    :mod:`.texture`) rather than as one broadband envelope: chunk seams modulate every band
    at once, while the random fluctuations of noise are independent between bands, so
    averaging the bands' modulation spectra (each first divided by its own median) keeps the
    seam line and steadies the noise floor. Each band's spectrum is Welch's estimate with
    Hann segments of half the audio, clamped to 2-16 s (75 % overlap; each segment's linear
    trend removed, so fades do not count).

    The peak of that spectrum within :data:`SEAM_RANGE_HZ` is reported in dB above the
    median of its neighbours from 3 bins to max(2 Hz, 5 bins) away on either side (the
    Hann main lobe, +-2 bins, is left out so a line does not raise its own baseline).
    Only frequencies with at least three such neighbours below them are examined, so the
    rising low end of slow swells cannot fake a line: the lowest frequency examined is
    7 bins, i.e. ``7 / segment_s`` (0.9 Hz for audio of 16 s, 1.75 Hz for 8 s, 3.5 Hz for
    4 s or less). Stationary noise and real rain score a few dB (2-4 dB, up to ~6 dB with
    slow swells); a stream of 0.5 s chunks with a level step or gap at each seam scores
    15-20 dB over 8 s of audio.

    Parameters
    ----------
    audio : shape (n_samples,), mono
    sample_rate_hz : Hz

    Returns
    -------
    SeamPeriodicity, NaN for audio shorter than :data:`SEAM_MIN_DURATION_S`.
    """
    if audio.shape[0] / sample_rate_hz < SEAM_MIN_DURATION_S:
        return SeamPeriodicity(math.nan, math.nan)
    freqs, power = _seam_spectrum(audio, sample_rate_hz)
    resolution_hz = freqs[1]
    inner = 2
    outer = max(int(round(_SEAM_NEIGHBOURS_HZ / resolution_hz)), inner + 3)
    first = 2
    baseline = _ring_median(power, inner, outer, first)
    bins = np.arange(freqs.shape[0])
    examined = ((bins >= first + inner + 3) & (freqs >= SEAM_RANGE_HZ[0])
                & (freqs <= SEAM_RANGE_HZ[1]) & np.isfinite(baseline))
    if not np.any(examined):
        return SeamPeriodicity(math.nan, math.nan)
    ratio_db = 10.0 * np.log10(np.maximum(power[examined], 1e-300)
                               / np.maximum(baseline[examined], 1e-300))
    peak = int(np.argmax(ratio_db))
    fundamental_hz = _fundamental_hz(freqs[examined], ratio_db, peak)
    return SeamPeriodicity(float(ratio_db[peak]), fundamental_hz)


def _fundamental_hz(freqs_hz: np.ndarray, ratio_db: np.ndarray, peak: int) -> float:
    """The lowest sub-multiple ``f_peak / k`` (k <= 8) that is itself a clear line.

    Seams make a comb of lines at the chunk rate and its harmonics, any of which can come out
    strongest; the chunk rate is what a reader needs. A sub-multiple counts when the line at
    the nearest frequency bin stands within 6 dB of the peak and at least 6 dB up.

    Parameters
    ----------
    freqs_hz, ratio_db : shape (n,), the examined frequencies and their line heights, dB
    peak : index of the strongest line
    """
    resolution_hz = freqs_hz[1] - freqs_hz[0] if freqs_hz.shape[0] > 1 else np.inf
    threshold_db = max(ratio_db[peak] - 6.0, 6.0)
    for k in range(8, 1, -1):
        target_hz = freqs_hz[peak] / k
        near = np.flatnonzero(np.abs(freqs_hz - target_hz) <= resolution_hz * 1.01)
        if near.size and ratio_db[near].max() >= threshold_db:
            return float(freqs_hz[near[np.argmax(ratio_db[near])]])
    return float(freqs_hz[peak])


# -- repetition --------------------------------------------------------------------------------

def log_band_spectrogram(audio: np.ndarray, sample_rate_hz: float,
                         frame_s: float = _REPETITION_FRAME_S, hop_s: float = _REPETITION_HOP_S,
                         n_bands: int = _REPETITION_BANDS) -> np.ndarray:
    """Log power in log-spaced bands (80 Hz to 12 kHz, or 0.45 x the rate) of Hann frames.

    Parameters
    ----------
    audio : shape (n_samples,), mono

    Returns
    -------
    np.ndarray, shape (n_frames, n_nonempty_bands), log10 power, float64; frame ``t`` starts
    at sample ``t * hop`` (no padding).
    """
    frame = int(round(frame_s * sample_rate_hz))
    hop = int(round(hop_s * sample_rate_hz))
    x = np.asarray(audio, dtype=np.float64)
    if x.shape[0] < frame:
        return np.zeros((0, n_bands))
    freqs = np.fft.rfftfreq(frame, 1.0 / sample_rate_hz)
    high_hz = min(_REPETITION_HIGH_HZ, 0.45 * sample_rate_hz)
    edges = np.geomspace(_REPETITION_LOW_HZ, high_hz, n_bands + 1)
    band_of_bin = np.searchsorted(edges, freqs, side="right") - 1
    inside = (band_of_bin >= 0) & (band_of_bin < n_bands)
    pool = np.zeros((freqs.shape[0], n_bands))
    pool[np.flatnonzero(inside), band_of_bin[inside]] = 1.0
    pool = pool[:, pool.sum(axis=0) > 0]
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[::hop]
    taper = np.hanning(frame + 2)[1:-1]
    power = np.empty((frames.shape[0], pool.shape[1]))
    for start in range(0, frames.shape[0], 1024):  # bounded memory for long audio
        block = sfft.rfft(frames[start:start + 1024] * taper, axis=-1)
        power[start:start + 1024] = (block.real ** 2 + block.imag ** 2) @ pool
    # A floor relative to the mean keeps digital silence from dominating the logs.
    return np.log10(power + 1e-10 * max(float(power.mean()), 1e-30))


def _patch_moments(z: np.ndarray, patch_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and centred norm of every patch ``z[i:i+P]``, each shape (n_frames - P + 1,)."""
    size = patch_frames * z.shape[1]
    cumulative = np.concatenate([[0.0], np.cumsum(z.sum(axis=1))])
    cumulative_sq = np.concatenate([[0.0], np.cumsum((z ** 2).sum(axis=1))])
    mean = (cumulative[patch_frames:] - cumulative[:-patch_frames]) / size
    ss = cumulative_sq[patch_frames:] - cumulative_sq[:-patch_frames] - size * mean ** 2
    return mean, np.sqrt(np.maximum(ss, 1e-300))


def _max_patch_correlation(za: np.ndarray, zb: np.ndarray, patch_frames: int,
                           min_lag_frames: int) -> float:
    """Highest Pearson correlation between patches ``za[i:i+P]`` and ``zb[j:j+P]``, ``j - i >= L``.

    Computed blockwise in lag coordinates: for a block of start frames ``i``, the frame inner
    products with every later frame of ``zb`` (one matrix product), read along diagonals and
    summed over ``P`` consecutive frames. Time O(n_frames^2 * n_bands), memory
    O(block * n_frames).

    Parameters
    ----------
    za, zb : shape (n_frames_a, n_bands) and (n_frames_b, n_bands), the same frame rate

    Returns
    -------
    float, or NaN when no pair of patches is far enough apart
    """
    size = patch_frames * za.shape[1]
    mean_a, norm_a = _patch_moments(za, patch_frames)
    mean_b, norm_b = _patch_moments(zb, patch_frames)
    n_first = min(mean_a.shape[0], mean_b.shape[0] - min_lag_frames)
    if n_first <= 0:
        return math.nan
    block = max(16, int(2_000_000 // max(zb.shape[0], 1)))
    best = -math.inf
    for first in range(0, n_first, block):
        stop = min(first + block, n_first)
        rows = za[first:stop + patch_frames - 1]
        cols = zb[first + min_lag_frames:]
        # gram[r, c] = za[first + r] . zb[first + min_lag + c]; zero padding on the right lets
        # every row be read along its diagonal with one strided view.
        gram = np.zeros((rows.shape[0], cols.shape[0] + rows.shape[0]))
        gram[:, :cols.shape[0]] = rows @ cols.T
        diagonals = np.lib.stride_tricks.as_strided(
            gram, shape=(rows.shape[0], cols.shape[0]),
            strides=(gram.strides[0] + gram.strides[1], gram.strides[1]), writeable=False)
        # diagonals[r, l] = za[first + r] . zb[first + r + min_lag + l]
        summed = np.cumsum(np.concatenate([np.zeros((1, cols.shape[0])), diagonals]), axis=0)
        inner = summed[patch_frames:patch_frames + stop - first] - summed[:stop - first]
        i = np.arange(first, stop)[:, None]
        j = i + min_lag_frames + np.arange(cols.shape[0])[None, :]
        valid = j < mean_b.shape[0]
        j = np.minimum(j, mean_b.shape[0] - 1)
        corr = (inner - size * mean_a[i] * mean_b[j]) / (norm_a[i] * norm_b[j])
        best = max(best, float(np.max(np.where(valid, corr, -math.inf))))
    return best


def repetition_score(audio: np.ndarray, sample_rate_hz: float) -> float:
    """How much the audio repeats itself: about 1 for material looped at least twice.

    Features: the log-band spectrogram (:func:`log_band_spectrogram`: 64 ms Hann frames every
    4 ms, 40 log-spaced bands from 80 Hz to 12 kHz), with each band's 0.5 s moving average
    subtracted. That removes the shared spectral shape and slow swells in loudness, which
    are not repetition; what is left is the fine pattern of drops, which only a loop
    reproduces.

    Score: the highest Pearson correlation between two 1 s patches whose start times are
    more than 2 s apart. Patches are compared on a 16 ms grid for the earlier patch and the
    full 4 ms grid for the later one (four interleaved 16 ms grids), so a loop of any length
    is matched to within 2 ms and scores about 1, at four times the cost of a 16 ms grid.
    Audio that never repeats still scores the best of its chance matches, and longer audio
    has more of them: rain-coloured Gaussian noise scores about 0.14 over 6 s and 0.20 over
    60 s, real rain recordings 0.14-0.17 over 5-8 s and up to 0.27 over 18-25 s
    (``benchmarks/repetition_length.py``). Compare files of equal length.

    Parameters
    ----------
    audio : shape (n_samples,), mono
    sample_rate_hz : Hz

    Returns
    -------
    float in [-1, 1], or NaN when the audio is too short for two patches more than 2 s
    apart (about 3.1 s).
    """
    spectrogram = log_band_spectrogram(audio, sample_rate_hz)
    if spectrogram.shape[0] == 0:
        return math.nan
    hop_s = int(round(_REPETITION_HOP_S * sample_rate_hz)) / sample_rate_hz
    smooth = int(round(_REPETITION_DETREND_S / hop_s)) | 1
    z = spectrogram - scipy.ndimage.uniform_filter1d(spectrogram, smooth, axis=0, mode="nearest")
    stride = _REPETITION_COARSE
    coarse_hop_s = stride * hop_s
    patch_frames = int(round(REPETITION_PATCH_S / coarse_hop_s))
    min_lag_frames = int(math.floor(REPETITION_MIN_LAG_S / coarse_hop_s)) + 1
    scores = [_max_patch_correlation(z[::stride], z[offset::stride], patch_frames,
                                     min_lag_frames) for offset in range(stride)]
    return math.nan if all(math.isnan(v) for v in scores) else float(np.nanmax(scores))


# -- coloured-noise baseline -------------------------------------------------------------------

def coloured_noise_twin(audio: np.ndarray, sample_rate_hz: float, seed: int) -> np.ndarray:
    """Gaussian noise with the long-term magnitude spectrum, length and RMS of ``audio``.

    The FFT of the whole signal keeps its magnitudes and gets uniformly random phases
    (DC and Nyquist stay real). The result has the same spectrum but none of rain's
    temporal structure (drops, bursts, correlated bands): a baseline that real rain beats.

    Parameters
    ----------
    audio : shape (n_samples,) or (n_samples, n_channels), float; channels get independent
        phases
    sample_rate_hz : Hz (recorded for symmetry with the other analyses; the twin does not
        depend on it)
    seed : seeds numpy's default generator

    Returns
    -------
    np.ndarray, same shape as ``audio``, float64
    """
    x = np.asarray(audio, dtype=np.float64)
    flat = x.reshape(x.shape[0], -1)
    n = flat.shape[0]
    magnitude = np.abs(sfft.rfft(flat, axis=0))
    rng = np.random.default_rng(seed)
    phase = np.exp(2j * np.pi * rng.random(magnitude.shape))
    phase[0] = np.sign(rng.standard_normal(flat.shape[1]))
    if n % 2 == 0:
        phase[-1] = np.sign(rng.standard_normal(flat.shape[1]))
    twin = sfft.irfft(magnitude * phase, n=n, axis=0)
    rms_in = np.sqrt(np.mean(flat ** 2, axis=0))
    rms_out = np.sqrt(np.mean(twin ** 2, axis=0))
    twin *= np.where(rms_out > 0, rms_in / np.maximum(rms_out, 1e-300), 0.0)
    return twin.reshape(x.shape)


# -- evaluation --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Prepared:
    """One input, ready for analysis: mono at ANALYSIS_RATE_HZ plus sample-level checks."""

    name: str
    mono: np.ndarray  # shape (n_samples,), float64, at ANALYSIS_RATE_HZ
    clipping_fraction: float
    dc_offset: float
    n_samples_in: int  # samples x channels of the original, for pooled clipping

    @property
    def duration_s(self) -> float:
        return self.mono.shape[0] / ANALYSIS_RATE_HZ


def _prepare(samples: np.ndarray, sample_rate_hz: int, name: str) -> _Prepared:
    """Validate, measure clipping and DC, mix to mono, resample to the analysis rate.

    Raises
    ------
    AudioInputError
        Empty, non-finite, silent, badly shaped or too short audio.
    """
    x = np.asarray(samples)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise AudioInputError(f"{name}: expected audio of shape (n_samples,) or "
                              f"(n_samples, n_channels), got {np.shape(samples)}")
    if not np.all(np.isfinite(x)):
        raise AudioInputError(f"{name}: contains NaN or infinite samples")
    if float(np.max(np.abs(x))) < SILENCE_PEAK:
        raise AudioInputError(f"{name}: is silent")
    min_s = TextureConfig().min_window_s
    if x.shape[0] / sample_rate_hz < min_s:
        raise AudioInputError(f"{name}: {x.shape[0] / sample_rate_hz:.2f} s is too short to "
                              f"analyse (at least {min_s:g} s)")
    clipping = float(np.mean(np.abs(x) >= CLIP_LEVEL))
    channel_means = x.mean(axis=0, dtype=np.float64)
    dc = float(channel_means[np.argmax(np.abs(channel_means))])
    mono = x.mean(axis=1, dtype=np.float64)
    mono = np.asarray(resample(mono, sample_rate_hz, ANALYSIS_RATE_HZ), dtype=np.float64)
    return _Prepared(name, mono, clipping, dc, x.size)


def _score(name: str, prepared: Sequence[_Prepared], stats: Sequence[TextureStats],
           ref_stats: Sequence[TextureStats],
           seams: Sequence[SeamPeriodicity], repetitions: Sequence[float]) -> CandidateScore:
    """Scores of one candidate, or of several pooled (worst seam and repetition)."""
    distance = texture_distance(ref_stats, stats)
    seam_dbs = np.array([s.peak_db for s in seams])
    if np.all(np.isnan(seam_dbs)):
        seam = SeamPeriodicity(math.nan, math.nan)
    else:
        seam = seams[int(np.nanargmax(seam_dbs))]
    reps = np.array(repetitions)
    dcs = np.array([p.dc_offset for p in prepared])
    n_in = sum(p.n_samples_in for p in prepared)
    return CandidateScore(
        name=name, duration_s=float(sum(p.duration_s for p in prepared)),
        n_windows=int(sum(s.n_windows for s in stats)),
        distances=distance.groups, mean_distance=distance.mean,
        seam_db=seam.peak_db, seam_hz=seam.peak_hz,
        repetition=math.nan if np.all(np.isnan(reps)) else float(np.nanmax(reps)),
        clipping_fraction=float(sum(p.clipping_fraction * p.n_samples_in for p in prepared) / n_in),
        dc_offset=float(dcs[np.argmax(np.abs(dcs))]))


def _score_all(prefix: str, overall_name: str, cands: Sequence[_Prepared],
               ref_stats: Sequence[TextureStats], shortest_window_s: float,
               config: TextureConfig, progress: Progress | None
               ) -> tuple[list[CandidateScore], CandidateScore]:
    stats, seams, reps = [], [], []
    for c in cands:
        stats.append(texture.texture_statistics(c.mono, ANALYSIS_RATE_HZ, config,
                                                shortest_window_s))
        seams.append(seam_periodicity_db(c.mono, ANALYSIS_RATE_HZ))
        reps.append(repetition_score(c.mono, ANALYSIS_RATE_HZ))
        _tick(progress)
    each = [_score(prefix + c.name, [c], [s], ref_stats, [seam], [rep])
            for c, s, seam, rep in zip(cands, stats, seams, reps)]
    return each, _score(overall_name, cands, stats, ref_stats, seams, reps)


def _twin(prepared: _Prepared, seed: int) -> _Prepared:
    noise = coloured_noise_twin(prepared.mono, ANALYSIS_RATE_HZ, seed)
    return _Prepared(prepared.name, noise, float(np.mean(np.abs(noise) >= CLIP_LEVEL)),
                     float(noise.mean()), noise.shape[0])


def _evaluate_prepared(refs: Sequence[_Prepared], cands: Sequence[_Prepared],
                       noise_baseline: bool, config: TextureConfig,
                       progress: Progress | None = None) -> EvalReport:
    if not refs or not cands:
        raise AudioInputError("need at least one reference and one candidate")
    everything = list(refs) + list(cands)
    shortest = min(texture.analysis_window_s(p.duration_s, config) for p in everything)
    ref_stats = []
    for r in refs:
        ref_stats.append(texture.texture_statistics(r.mono, ANALYSIS_RATE_HZ, config, shortest))
        _tick(progress)
    candidates, overall = _score_all("", "overall", cands, ref_stats, shortest, config,
                                     progress)
    noise, noise_overall = [], None
    if noise_baseline:
        twins = [_twin(c, seed) for seed, c in enumerate(cands)]
        noise, noise_overall = _score_all(_TWIN_PREFIX, "noise twins overall", twins,
                                          ref_stats, shortest, config, progress)
    return EvalReport(
        references=[r.name for r in refs],
        reference_duration_s=float(sum(r.duration_s for r in refs)),
        n_reference_windows=int(sum(s.n_windows for s in ref_stats)),
        window_s=config.window_s,
        modulation_centres_hz=[float(c) for c in ref_stats[0].modulation_centres_hz],
        analysis_rate_hz=ANALYSIS_RATE_HZ,
        candidates=candidates, overall=overall,
        noise_baseline=noise, noise_overall=noise_overall)


def _names(names: Sequence[str] | None, count: int, prefix: str) -> list[str]:
    if names is None:
        return [f"{prefix}{k}" for k in range(count)]
    if len(names) != count:
        raise ValueError(f"{len(names)} names for {count} {prefix} arrays")
    return [str(n) for n in names]


def evaluate_arrays(ref: Sequence[np.ndarray], cand: Sequence[np.ndarray], sample_rate_hz: int,
                    ref_names: Sequence[str] | None = None,
                    cand_names: Sequence[str] | None = None,
                    noise_baseline: bool = False,
                    config: TextureConfig = TextureConfig()) -> EvalReport:
    """Score candidate audio against reference audio, all at one sample rate.

    Parameters
    ----------
    ref, cand : arrays of shape (n_samples,) or (n_samples, n_channels), float, full scale 1;
        channels are averaged to mono for analysis
    sample_rate_hz : rate of every array, Hz; audio is resampled to :data:`ANALYSIS_RATE_HZ`
    ref_names, cand_names : labels for the report (default ``ref0``, ``cand0``, ...)
    noise_baseline : also score a coloured-noise twin of each candidate

    Raises
    ------
    AudioInputError
        Audio that is empty, non-finite, silent or shorter than ``config.min_window_s``.
    """
    refs = [_prepare(a, sample_rate_hz, n)
            for a, n in zip(ref, _names(ref_names, len(ref), "ref"))]
    cands = [_prepare(a, sample_rate_hz, n)
             for a, n in zip(cand, _names(cand_names, len(cand), "cand"))]
    return _evaluate_prepared(refs, cands, noise_baseline, config)


def _read(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    recording = read_audio(path)
    return recording.samples, recording.sample_rate_hz


def evaluate_steps(n_refs: int, n_cands: int, noise_baseline: bool) -> int:
    """How many times :func:`evaluate_files` calls its ``progress`` callback."""
    return 2 * n_refs + (3 if noise_baseline else 2) * n_cands


def evaluate_files(ref_paths: Sequence[str | os.PathLike],
                   cand_paths: Sequence[str | os.PathLike],
                   noise_baseline: bool = False,
                   config: TextureConfig = TextureConfig(),
                   progress: Progress | None = None) -> EvalReport:
    """:func:`evaluate_arrays` on audio files (any rate and channel count libsndfile reads).

    Clipping and DC are measured on the samples as stored; analysis happens on the mono mix
    resampled to :data:`ANALYSIS_RATE_HZ`. ``progress`` is called with 1 after each file is
    read and after each is analysed (:func:`evaluate_steps` calls in all).

    Raises
    ------
    AudioInputError
        Unreadable, silent or too short files (the message names the file).
    """
    def prepare(path: str | os.PathLike) -> _Prepared:
        samples, rate = _read(path)
        prepared = _prepare(samples, rate, str(path))
        _tick(progress)
        return prepared

    refs = [prepare(p) for p in ref_paths]
    cands = [prepare(p) for p in cand_paths]
    return _evaluate_prepared(refs, cands, noise_baseline, config, progress)


def _tick(progress: Progress | None) -> None:
    if progress is not None:
        progress(1)


# -- plot --------------------------------------------------------------------------------------

_PLOT_MAX_S = 30.0


def _mono_list(audio: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """One mono float64 signal: arrays (n,) or (n, ch) are mixed down and concatenated."""
    arrays = [audio] if isinstance(audio, np.ndarray) else list(audio)
    monos = [np.asarray(a, dtype=np.float64).reshape(np.shape(a)[0], -1).mean(axis=1)
             for a in arrays]
    return np.concatenate(monos) if monos else np.zeros(0)


def log_spectrogram_db(audio: np.ndarray, sample_rate_hz: float
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times_s, freqs_hz, power_db) of the first 30 s, for drawing."""
    audio = audio[: int(_PLOT_MAX_S * sample_rate_hz)]
    n_fft = min(1024 if sample_rate_hz <= 24_000 else 2048, audio.shape[0])
    import scipy.signal  # deferred, as in _seam_spectrum
    freqs, times, power = scipy.signal.spectrogram(
        audio, fs=sample_rate_hz, window="hann", nperseg=n_fft, noverlap=n_fft * 3 // 4,
        mode="psd")
    return times, freqs, 10.0 * np.log10(power + 1e-12)


def draw_spectrogram(axis: Any, spectrogram: tuple[np.ndarray, np.ndarray, np.ndarray],
                      top_db: float, title: str) -> Any:
    times, freqs, db = spectrogram
    image = axis.pcolormesh(times, freqs / 1000.0, db, shading="auto", cmap="magma",
                            vmin=top_db - 90.0, vmax=top_db)
    axis.set_title(title)
    axis.set_xlabel("time (s)")
    axis.set_ylabel("frequency (kHz)")
    return image


def _draw_distances(axis: Any, report: EvalReport) -> None:
    rows = report.candidates + [report.overall]
    if report.noise_overall is not None:
        rows.append(report.noise_overall)
    width = 0.8 / len(rows)
    positions = np.arange(len(GROUPS))
    for k, row in enumerate(rows):
        axis.bar(positions + (k - (len(rows) - 1) / 2) * width,
                 [row.distances[g] for g in GROUPS], width, label=_short_name(row.name, 30))
    axis.set_xticks(positions, [_GROUP_HEADINGS[g] for g in GROUPS])
    axis.set_ylabel("distance (reference spreads)")
    axis.set_title("texture distance per statistic group")
    axis.legend(fontsize="small")


def plot_report(report: EvalReport, ref_audio: np.ndarray | Sequence[np.ndarray],
                cand_audio: np.ndarray | Sequence[np.ndarray], sr: int,
                path: str | os.PathLike) -> Path:
    """Draw reference and candidate log-spectrograms side by side and the group distances.

    Parameters
    ----------
    report : the evaluation to draw
    ref_audio, cand_audio : one array or a list of arrays, shape (n_samples,) or
        (n_samples, n_channels), at ``sr``; each side is mixed to mono and concatenated
        (at most the first 30 s are drawn)
    sr : sample rate of the audio, Hz
    path : PNG to write; written to a temporary file beside it, then renamed

    Raises
    ------
    RainGANError
        If matplotlib is not installed.
    OutputPathError
        If the folder does not exist or cannot be written.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RainGANError("matplotlib is needed for --plot: pip install 'raingan[plot]'") from None
    path = Path(path)
    figure = plt.figure(figsize=(13, 8), layout="constrained")
    grid = figure.add_gridspec(2, 2)
    ref_spec = log_spectrogram_db(_mono_list(ref_audio), sr)
    cand_spec = log_spectrogram_db(_mono_list(cand_audio), sr)
    top_db = max(float(ref_spec[2].max()), float(cand_spec[2].max()))  # one colour scale
    image = draw_spectrogram(figure.add_subplot(grid[0, 0]), ref_spec, top_db, "reference")
    draw_spectrogram(figure.add_subplot(grid[0, 1]), cand_spec, top_db, "candidate")
    figure.colorbar(image, ax=figure.axes, label="dB", shrink=0.6, location="right")
    _draw_distances(figure.add_subplot(grid[1, :]), report)
    try:
        with atomic_output(path, suffix=".png") as tmp:
            figure.savefig(tmp, format="png", dpi=100)
    except OutputPathError:
        raise
    except (OSError, ValueError) as exc:
        raise OutputPathError(f"{path}: cannot write ({exc})") from None
    finally:
        plt.close(figure)
    return path


def plot_files(report: EvalReport, ref_paths: Sequence[str | os.PathLike],
               cand_paths: Sequence[str | os.PathLike], path: str | os.PathLike) -> Path:
    """:func:`plot_report` for files: each is read, mixed to mono and resampled to
    :data:`ANALYSIS_RATE_HZ` so that files of different rates line up."""
    def load(paths: Sequence[str | os.PathLike]) -> list[np.ndarray]:
        arrays = []
        for p in paths:
            samples, rate = _read(p)
            arrays.append(resample(samples.mean(axis=1), rate, ANALYSIS_RATE_HZ))
        return arrays

    return plot_report(report, load(ref_paths), load(cand_paths), ANALYSIS_RATE_HZ, path)
