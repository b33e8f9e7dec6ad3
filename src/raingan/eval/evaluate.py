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
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from . import texture
from ..core.audio_io import SILENCE_PEAK, read_audio, resample
from ..core.errors import AudioInputError
from .texture import TextureConfig, TextureStats
from .distance import texture_distance
from .noise_twin import coloured_noise_twin
from .repetition import repetition_score
from . import classifier as classifier_test
from . import modulation
from .report import TWIN_PREFIX, CandidateScore, ClassifierSummary, EvalReport
from .seam import SeamPeriodicity, seam_periodicity_db

Progress = Callable[[int], None]

#: Every signal is analysed at this rate, Hz.
ANALYSIS_RATE_HZ = 32_000
#: A sample counts as clipped at or above this magnitude (full scale is 1.0).
CLIP_LEVEL = 0.999
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
           seams: Sequence[SeamPeriodicity], repetitions: Sequence[float],
           ref_modulation: modulation.ModulationSpectrum,
           modulations: Sequence[modulation.ModulationSpectrum]) -> CandidateScore:
    """Scores of one candidate, or of several pooled (worst seam and repetition; modulation
    of all their audio together)."""
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
        dc_offset=float(dcs[np.argmax(np.abs(dcs))]),
        modulation=modulation.compare(ref_modulation, modulation.pool(modulations)))


def _score_all(prefix: str, overall_name: str, cands: Sequence[_Prepared],
               ref_stats: Sequence[TextureStats], ref_modulation: modulation.ModulationSpectrum,
               shortest_window_s: float, config: TextureConfig, progress: Progress | None
               ) -> tuple[list[CandidateScore], CandidateScore]:
    stats, seams, reps, mods = [], [], [], []
    for c in cands:
        stats.append(texture.texture_statistics(c.mono, ANALYSIS_RATE_HZ, config,
                                                shortest_window_s))
        seams.append(seam_periodicity_db(c.mono, ANALYSIS_RATE_HZ))
        reps.append(repetition_score(c.mono, ANALYSIS_RATE_HZ))
        mods.append(modulation.modulation_spectrum(c.mono, ANALYSIS_RATE_HZ))
        _tick(progress)
    each = [_score(prefix + c.name, [c], [s], ref_stats, [seam], [rep], ref_modulation, [mod])
            for c, s, seam, rep, mod in zip(cands, stats, seams, reps, mods)]
    return each, _score(overall_name, cands, stats, ref_stats, seams, reps, ref_modulation,
                        mods)


def _twin(prepared: _Prepared, seed: int) -> _Prepared:
    noise = coloured_noise_twin(prepared.mono, ANALYSIS_RATE_HZ, seed)
    return _Prepared(prepared.name, noise, float(np.mean(np.abs(noise) >= CLIP_LEVEL)),
                     float(noise.mean()), noise.shape[0])


def _classify(refs: Sequence[_Prepared], cands: Sequence[_Prepared],
              twins: Sequence[_Prepared] | None) -> ClassifierSummary:
    """The classifier two-sample test with its real-against-real and noise yardsticks."""
    def features(prepared: Sequence[_Prepared]) -> tuple[np.ndarray, np.ndarray]:
        return classifier_test.signal_features([p.mono for p in prepared], ANALYSIS_RATE_HZ)

    reference = features(refs)
    return ClassifierSummary(
        candidates=classifier_test.classifier_accuracy(reference, features(cands)),
        real_vs_real=classifier_test.classifier_accuracy(*classifier_test.split_in_two(*reference)),
        noise_twins=None if twins is None else classifier_test.classifier_accuracy(
            reference, features(twins)),
        window_s=classifier_test.WINDOW_S)


def _evaluate_prepared(refs: Sequence[_Prepared], cands: Sequence[_Prepared],
                       noise_baseline: bool, config: TextureConfig,
                       progress: Progress | None = None, classifier: bool = True) -> EvalReport:
    if not refs or not cands:
        raise AudioInputError("need at least one reference and one candidate")
    everything = list(refs) + list(cands)
    shortest = min(texture.analysis_window_s(p.duration_s, config) for p in everything)
    ref_stats, ref_mods = [], []
    for r in refs:
        ref_stats.append(texture.texture_statistics(r.mono, ANALYSIS_RATE_HZ, config, shortest))
        ref_mods.append(modulation.modulation_spectrum(r.mono, ANALYSIS_RATE_HZ))
        _tick(progress)
    ref_modulation = modulation.pool(ref_mods)
    candidates, overall = _score_all("", "overall", cands, ref_stats, ref_modulation, shortest,
                                     config, progress)
    noise, noise_overall, twins = [], None, None
    if noise_baseline:
        twins = [_twin(c, seed) for seed, c in enumerate(cands)]
        noise, noise_overall = _score_all(TWIN_PREFIX, "noise twins overall", twins,
                                          ref_stats, ref_modulation, shortest, config, progress)
    return EvalReport(
        references=[r.name for r in refs],
        reference_duration_s=float(sum(r.duration_s for r in refs)),
        n_reference_windows=int(sum(s.n_windows for s in ref_stats)),
        window_s=config.window_s,
        modulation_centres_hz=[float(c) for c in ref_stats[0].modulation_centres_hz],
        analysis_rate_hz=ANALYSIS_RATE_HZ,
        candidates=candidates, overall=overall,
        noise_baseline=noise, noise_overall=noise_overall,
        classifier=_classify(refs, cands, twins) if classifier else None)


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
                    config: TextureConfig = TextureConfig(),
                    classifier: bool = True) -> EvalReport:
    """Score candidate audio against reference audio, all at one sample rate.

    Parameters
    ----------
    ref, cand : arrays of shape (n_samples,) or (n_samples, n_channels), float, full scale 1;
        channels are averaged to mono for analysis
    sample_rate_hz : rate of every array, Hz; audio is resampled to :data:`ANALYSIS_RATE_HZ`
    ref_names, cand_names : labels for the report (default ``ref0``, ``cand0``, ...)
    noise_baseline : also score a coloured-noise twin of each candidate
    classifier : also run the classifier two-sample test (:mod:`.classifier`)

    Raises
    ------
    AudioInputError
        Audio that is empty, non-finite, silent or shorter than ``config.min_window_s``.
    """
    refs = [_prepare(a, sample_rate_hz, n)
            for a, n in zip(ref, _names(ref_names, len(ref), "ref"))]
    cands = [_prepare(a, sample_rate_hz, n)
             for a, n in zip(cand, _names(cand_names, len(cand), "cand"))]
    return _evaluate_prepared(refs, cands, noise_baseline, config, classifier=classifier)


def read_samples(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Samples (frames, channels) and rate of an audio file, as read for analysis."""
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
        samples, rate = read_samples(path)
        prepared = _prepare(samples, rate, str(path))
        _tick(progress)
        return prepared

    refs = [prepare(p) for p in ref_paths]
    cands = [prepare(p) for p in cand_paths]
    return _evaluate_prepared(refs, cands, noise_baseline, config, progress)


def _tick(progress: Progress | None) -> None:
    if progress is not None:
        progress(1)




def evaluate(references: Sequence[str | os.PathLike | np.ndarray],
             candidates: Sequence[str | os.PathLike | np.ndarray],
             sample_rate_hz: int | None = None, noise_baseline: bool = False) -> EvalReport:
    """How close candidate audio is to reference rain: ``raingan eval`` as a function.

    Parameters
    ----------
    references, candidates : audio files (any format and rate libsndfile reads), or arrays
        of shape (n_samples,) or (n_samples, n_channels), float, full scale 1
    sample_rate_hz : the arrays' rate, Hz (required for arrays, not allowed with files)
    noise_baseline : also score a spectrally matched coloured-noise twin of each candidate,
        a yardstick that real rain should beat clearly

    Returns
    -------
    EvalReport
        ``report.overall.texture_distance`` is in units of the references' own
        window-to-window spread; ``report.format_table()`` prints what ``raingan eval`` does.

    Raises
    ------
    AudioInputError
        Unreadable, empty, silent or too short audio, or a mix of files and arrays.
    """
    items = [*references, *candidates]
    arrays = [isinstance(item, np.ndarray) for item in items]
    if all(arrays):
        if sample_rate_hz is None:
            raise AudioInputError("evaluate: arrays need sample_rate_hz")
        return evaluate_arrays(list(references), list(candidates), sample_rate_hz,
                               noise_baseline=noise_baseline)
    if any(arrays) or sample_rate_hz is not None:
        raise AudioInputError("evaluate: pass either files or arrays (with sample_rate_hz), "
                              "not both")
    return evaluate_files(references, candidates, noise_baseline=noise_baseline)
