"""Reading and writing audio files, with clear errors and no half-written outputs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .atomic import atomic_output
from .errors import AudioInputError, OutputPathError

#: Peak below which a recording counts as silent (about -120 dBFS).
SILENCE_PEAK = 1e-6


@dataclass(frozen=True)
class Recording:
    """Audio read from a file.

    Attributes
    ----------
    samples : np.ndarray, shape (n_samples, n_channels), float32
    sample_rate_hz : int
    path : Path
    """

    samples: np.ndarray
    sample_rate_hz: int
    path: Path

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate_hz

    @property
    def n_channels(self) -> int:
        return self.samples.shape[1]


def read_audio(path: str | os.PathLike, sample_rate_hz: int | None = None,
               max_channels: int | None = None, allow_silence: bool = False) -> Recording:
    """Read an audio file as float32 frames, optionally resampled with soxr.

    Parameters
    ----------
    path : path to any file soundfile (libsndfile) can read
    sample_rate_hz : resample to this rate if given
    max_channels : refuse files with more channels than this
    allow_silence : if False, a file whose peak is below ``SILENCE_PEAK`` is refused

    Raises
    ------
    AudioInputError
        One line naming the file and the problem.
    """
    path = Path(path)
    if not path.exists():
        raise AudioInputError(f"{path}: no such file")
    if path.is_dir():
        raise AudioInputError(f"{path}: is a folder, not an audio file")
    try:
        samples, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioInputError(f"{path}: not readable as audio ({reason})") from None
    if samples.shape[0] == 0 or samples.shape[1] == 0:
        raise AudioInputError(f"{path}: contains no audio samples")
    if max_channels is not None and samples.shape[1] > max_channels:
        raise AudioInputError(
            f"{path}: {samples.shape[1]} channels is not supported (at most {max_channels})")
    if not np.all(np.isfinite(samples)):
        raise AudioInputError(f"{path}: contains NaN or infinite samples")
    if not allow_silence and float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise AudioInputError(f"{path}: is silent")
    if sample_rate_hz is not None and sample_rate_hz != file_rate:
        samples = resample(samples, file_rate, sample_rate_hz)
        file_rate = sample_rate_hz
    return Recording(np.ascontiguousarray(samples, dtype=np.float32), int(file_rate), path)


def resample(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Resample (n_samples, n_channels) or (n_samples,) float audio with soxr (high quality)."""
    if from_hz == to_hz:
        return samples
    return soxr.resample(samples, from_hz, to_hz, quality="HQ").astype(np.float32, copy=False)


#: libsndfile's container for each output suffix.
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}


def check_audio_format(suffix: str, subtype: str | None) -> str:
    """The libsndfile format for ``suffix``; refuses a suffix or subtype it cannot write
    (FLAC holds no float samples), before any audio is made. Returns the format.

    Raises
    ------
    OutputPathError
        An unknown suffix, or a subtype the format cannot hold.
    """
    fmt = AUDIO_FORMATS.get(suffix.lower())
    if fmt is None:
        raise OutputPathError(f"{suffix}: unknown audio format (use .wav, .flac or .ogg)")
    if subtype is not None and not sf.check_format(fmt, subtype):
        known = ", ".join(sorted(sf.available_subtypes(fmt)))
        raise OutputPathError(f"{fmt} cannot hold subtype {subtype!r} (it takes {known})")
    return fmt


def write_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate_hz: int,
                subtype: str | None = None) -> Path:
    """Write audio atomically: to a temporary file beside ``path``, then rename.

    Parameters
    ----------
    samples : np.ndarray, shape (n_samples,) or (n_samples, n_channels), float
    subtype : libsndfile subtype such as ``"PCM_24"`` or ``"FLOAT"``; the format is taken
        from the file suffix (.wav, .flac, .ogg)

    Raises
    ------
    OutputPathError
        If the folder does not exist, is not writable, or the format is unknown.
    """
    path = Path(path)
    try:
        fmt = check_audio_format(path.suffix, subtype)
    except OutputPathError as exc:
        raise OutputPathError(f"{path}: {exc}") from None
    try:
        with atomic_output(path, suffix=path.suffix) as tmp:
            sf.write(tmp, np.asarray(samples, dtype=np.float32), sample_rate_hz, format=fmt,
                     subtype=subtype)
    except OutputPathError:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
        raise OutputPathError(f"{path}: cannot write ({exc})") from None
    return path
