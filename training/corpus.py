"""The training corpus: every recording in a folder, held in memory, cropped at random.

Rain is stationary, so any chunk-length window of any channel is an example. Crops are cut
from the waveform (any sample offset, not only frame-aligned), scaled by a random gain and
imaged with the spec, so training sees exactly the images the runtime inverts.

Polarity flips are not offered as augmentation: a magnitude spectrogram cannot tell a signal
from its negative, so they would change nothing the model sees.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from ..core.audio_io import SILENCE_PEAK, read_audio
from ..core.ceiling import row_ceiling_db
from ..eval.levels import band_levels_db
from ..core.errors import AudioInputError
from ..runtime.latent import truncated_normal
from ..core.roundtrip import chunk_contexts
from ..core.spec import SpectralSpec

log = logging.getLogger(__name__)

#: File suffixes libsndfile reads (plus the Ogg family's usual names).
AUDIO_SUFFIXES = frozenset({"." + fmt.lower() for fmt in sf.available_formats()}
                           | {".oga", ".opus", ".aif"})


@dataclass
class Corpus:
    """Mono training signals at the spec's rate, one per channel of each usable file.

    Attributes
    ----------
    signals : list of np.ndarray, each shape (n_samples,), float32
    names : "file" or "file[channel]" for each signal
    files : the recordings used, sorted
    sample_rate_hz : rate of every signal (the spec's)
    skipped_non_audio : files ignored because they are not audio
    skipped_short : "file[channel]" signals shorter than one chunk with its margins
    skipped_silent : silent "file[channel]" signals
    fingerprint : sha256 over the used files' names and bytes (hex)
    """

    signals: list[np.ndarray]
    names: list[str]
    files: list[Path]
    sample_rate_hz: int
    skipped_non_audio: list[Path] = field(default_factory=list)
    skipped_short: list[str] = field(default_factory=list)
    skipped_silent: list[str] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def total_s(self) -> float:
        return sum(s.shape[0] for s in self.signals) / self.sample_rate_hz

    def mixes(self) -> list[np.ndarray]:
        """One mono mix per recording, the mean of its used channels, shape (n_samples,),
        float32: what a listener on one speaker hears of it (a mono file's is its signal)."""
        by_file: dict[str, list[np.ndarray]] = {}
        for name, signal in zip(self.names, self.signals):
            by_file.setdefault(name.rsplit("[", 1)[0] if name.endswith("]") else name,
                               []).append(signal)
        return [np.mean(channels, axis=0, dtype=np.float32) if len(channels) > 1 else channels[0]
                for channels in by_file.values()]


def load_corpus(folder: str | Path, spec: SpectralSpec, train_fraction: float = 1.0) -> Corpus:
    """Read every audio file in ``folder`` (not recursive), resampled to the spec's rate.

    Parameters
    ----------
    folder : a folder of recordings in any format, rate and channel count libsndfile reads
    train_fraction : use only the first ``train_fraction`` of each recording (0 < f <= 1), so
        that the rest can serve as held-out audio

    Raises
    ------
    AudioInputError
        The folder is missing or holds no usable audio, or a file with an audio suffix cannot
        be read (the message names it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AudioInputError(f"{folder}: no such folder")
    if not 0.0 < train_fraction <= 1.0:
        raise AudioInputError(f"train fraction must be in (0, 1], got {train_fraction}")
    entries = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not entries:
        raise AudioInputError(f"{folder}: the folder is empty")
    audio_files = [p for p in entries if p.suffix.lower() in AUDIO_SUFFIXES]
    corpus = Corpus(signals=[], names=[], files=[], sample_rate_hz=spec.sample_rate_hz,
                    skipped_non_audio=[p for p in entries if p not in audio_files])
    if corpus.skipped_non_audio:
        log.warning("skipping %d non-audio file(s): %s", len(corpus.skipped_non_audio),
                    ", ".join(p.name for p in corpus.skipped_non_audio))
    digest = hashlib.sha256()
    for path in audio_files:
        recording = read_audio(path, spec.sample_rate_hz, allow_silence=True)
        keep = int(round(recording.samples.shape[0] * train_fraction))
        channels = recording.samples[:keep].T
        used = False
        for index, channel in enumerate(channels):
            name = path.name if len(channels) == 1 else f"{path.name}[{index}]"
            if channel.shape[0] < spec.context_samples:
                corpus.skipped_short.append(name)
            elif float(np.max(np.abs(channel))) < SILENCE_PEAK:
                corpus.skipped_silent.append(name)
            else:
                corpus.signals.append(np.ascontiguousarray(channel))
                corpus.names.append(name)
                used = True
        if used:
            corpus.files.append(path)
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    if corpus.skipped_short:
        log.warning("skipped %d recording channel(s) shorter than one chunk (%.3f s): %s",
                    len(corpus.skipped_short), spec.context_samples / spec.sample_rate_hz,
                    ", ".join(corpus.skipped_short))
    if corpus.skipped_silent:
        log.warning("skipped %d silent recording channel(s): %s", len(corpus.skipped_silent),
                    ", ".join(corpus.skipped_silent))
    if not corpus.signals:
        raise AudioInputError(f"{folder}: no usable recordings (need audio of at least "
                              f"{spec.context_samples / spec.sample_rate_hz:.3f} s)")
    digest.update(f"fraction={train_fraction}".encode())
    corpus.fingerprint = digest.hexdigest()
    return corpus


def corpus_ceiling_db(corpus: Corpus, spec: SpectralSpec, gain_db: float
                      ) -> tuple[float, ...] | None:
    """The level ceiling (:mod:`raingan.core.ceiling`) of what training shows the
    discriminator: each row's loudest level over the corpus's chunks, raised by the crop gain
    augmentation ``gain_db``; shape (height,), dB to 0.01 dB. None for specs whose image values are not
    absolute levels (per-image min-max normalisation)."""
    if spec.normalization != "fixed":
        return None
    images = np.concatenate([spec.audio_to_images(chunk_contexts(signal, spec))
                             for signal in corpus.signals])
    # Rounded as checkpoints and models store it, so that the training monitor renders
    # with exactly the ceiling of the exported model.
    return tuple(round(float(v), 2) for v in row_ceiling_db(images, spec) + gain_db)


def corpus_colour_db(corpus: Corpus) -> tuple[float, ...]:
    """The corpus's band levels (:func:`raingan.eval.levels.band_levels_db` of its
    signals, one per recording channel), to 0.01 dB: what ``raingan export`` calibrates the
    model's colour to (:mod:`raingan.export.colour_fit`)."""
    levels = band_levels_db(corpus.signals, corpus.sample_rate_hz)
    return tuple(round(float(v), 2) for v in levels)


@dataclass(frozen=True)
class Batch:
    """One training step's inputs, all drawn from the step's own random stream.

    Attributes
    ----------
    real : np.ndarray, shape (batch, height, width, 1), float32 in [-1, 1]
    z_d, z_g : np.ndarray, shape (batch, latent_dim), float32: latents for the discriminator
        and generator updates
    mix : np.ndarray, shape (batch, 1, 1, 1), float32 in [0, 1]: interpolation weights for a
        gradient penalty
    """

    real: np.ndarray
    z_d: np.ndarray
    z_g: np.ndarray
    mix: np.ndarray


class CropSampler:
    """Draws batches of random crops; a batch depends only on (seed, step, stream).

    Keeping no running random state means a resumed run sees exactly the batches it would
    have seen without the interruption.
    """

    def __init__(self, corpus: Corpus, spec: SpectralSpec, batch_size: int, latent_dim: int,
                 truncation: float, gain_db: float, seed: int):
        self.corpus, self.spec = corpus, spec
        self.batch_size, self.latent_dim = batch_size, latent_dim
        self.truncation, self.gain_db, self.seed = truncation, gain_db, seed
        lengths = np.array([s.shape[0] - spec.context_samples + 1 for s in corpus.signals], float)
        self._weights = lengths / lengths.sum()  # every crop position equally likely

    def batch(self, step: int, stream: int = 0) -> Batch:
        """The batch of ``step``; ``stream`` tells apart replicas that each draw their own."""
        rng = np.random.default_rng([self.seed, step, stream])
        which = rng.choice(len(self.corpus.signals), size=self.batch_size, p=self._weights)
        crops = np.empty((self.batch_size, self.spec.context_samples), dtype=np.float32)
        for row, index in enumerate(which):
            signal = self.corpus.signals[index]
            start = rng.integers(0, signal.shape[0] - self.spec.context_samples + 1)
            crops[row] = signal[start:start + self.spec.context_samples]
        gains_db = rng.uniform(-self.gain_db, self.gain_db, size=(self.batch_size, 1))
        crops *= np.power(10.0, gains_db / 20.0).astype(np.float32)
        shape = (self.batch_size, self.latent_dim)
        return Batch(real=self.spec.audio_to_images(crops)[..., None],
                     z_d=truncated_normal(rng, shape, self.truncation),
                     z_g=truncated_normal(rng, shape, self.truncation),
                     mix=rng.uniform(size=(self.batch_size, 1, 1, 1)).astype(np.float32))

    def batches(self, first_step: int, streams: range = range(1)) -> Iterator[Batch]:
        """Batches from ``first_step`` on; for several streams, each step's in stream order."""
        step = first_step
        while True:
            for stream in streams:
                yield self.batch(step, stream)
            step += 1
