"""Plots of an evaluation (matplotlib), kept apart from the analysis as ``librosa.display`` is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core.atomic import atomic_output
from ..core.audio_io import resample
from ..core.errors import OutputPathError, RainGANError
from .texture import GROUPS
from . import modulation
from .evaluate import ANALYSIS_RATE_HZ, read_samples
from .report import GROUP_HEADINGS, EvalReport, short_name

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
                 [row.distances[g] for g in GROUPS], width, label=short_name(row.name, 30))
    axis.set_xticks(positions, [GROUP_HEADINGS[g] for g in GROUPS])
    axis.set_ylabel("distance (reference spreads)")
    axis.set_title("texture distance per statistic group")
    axis.legend(fontsize="small")


def _draw_modulation(axis: Any, report: EvalReport, ref_audio: np.ndarray | Sequence[np.ndarray],
                     cand_audio: np.ndarray | Sequence[np.ndarray], sr: int) -> None:
    """Fine modulation spectra (band-averaged level) of both sides, the strongest line
    marked."""
    for audio, label in ((ref_audio, "reference"), (cand_audio, "candidate")):
        arrays = [audio] if isinstance(audio, np.ndarray) else list(audio)
        spectra = [modulation.modulation_spectrum(
            np.asarray(a, dtype=np.float64).reshape(np.shape(a)[0], -1).mean(axis=1), sr)
            for a in arrays]
        power = modulation.band_mean(modulation.pool(spectra).power)
        with np.errstate(all="ignore"):
            level = 10.0 * np.log10(power)
        axis.semilogx(modulation.FINE_CENTRES_HZ, level, label=label, linewidth=0.8)
    line = report.overall.modulation
    if np.isfinite(line.peak_db):
        axis.axvline(line.peak_hz, color="red", linewidth=0.6, linestyle="--",
                     label=f"line {line.peak_db:+.1f} dB @ {line.peak_hz:.1f} Hz")
    axis.set_xlabel("modulation frequency (Hz)")
    axis.set_ylabel("envelope power (dB re mean^2 / Hz)")
    axis.set_title("fine modulation spectrum, mean of bands")
    axis.legend(fontsize="small")


def plot_report(report: EvalReport, ref_audio: np.ndarray | Sequence[np.ndarray],
                cand_audio: np.ndarray | Sequence[np.ndarray], sr: int,
                path: str | os.PathLike) -> Path:
    """Draw reference and candidate log-spectrograms side by side, the group distances and
    both sides' fine modulation spectra.

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
    _draw_distances(figure.add_subplot(grid[1, 0]), report)
    _draw_modulation(figure.add_subplot(grid[1, 1]), report, ref_audio, cand_audio, sr)
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
            samples, rate = read_samples(p)
            arrays.append(resample(samples.mean(axis=1), rate, ANALYSIS_RATE_HZ))
        return arrays

    return plot_report(report, load(ref_paths), load(cand_paths), ANALYSIS_RATE_HZ, path)
