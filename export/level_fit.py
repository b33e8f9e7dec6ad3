"""Fitting a streaming model's level smoothing (:mod:`raingan.core.level_smoothing`) on a
training statistic.

For each candidate time constant the exported model's runtime images (the field stream's,
with their speckle and drops, several seeds) are scored as the training's checkpoint
selection scores a generator: per band of rows, the frame-to-frame spread of the band level
in dB, against the same spread in crops of the training audio
(:func:`raingan.training.selection.level_spread_db`); the candidate with the smallest mean
absolute difference over bands is kept. Neither this statistic nor the training audio is
used by any judge of ``raingan eval``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..runtime.field import FieldStream
from ..runtime.generator import Generator
from ..training.selection import LevelSpreadScore, level_spread_db
from .scratch import scratch_generator

#: Time constants tried, frames (0: none; 16 frames is 93 ms at the default spec).
CANDIDATE_FRAMES = (0.0, 2.0, 4.0, 8.0, 16.0, 32.0)
#: Streams (seeds) and chunk images per stream that score a candidate.
FIT_SEEDS, FIT_CHUNKS = 12, 8
#: Correlation of consecutive knots of the scoring streams' global code: one character per
#: stream over its few seconds, as a training crop has one.
FIT_CORRELATION = 0.99


class _Smoothed:
    """A Generator whose level smoothing is set to a candidate's."""

    def __init__(self, generator: Generator, frames: float):
        self._generator, self.level_smoothing_frames = generator, frames
        self.spec, self.field, self.drops = generator.spec, generator.field, generator.drops

    def field_images(self, field: np.ndarray) -> np.ndarray:
        return self._generator.field_images(field)


def level_spread_off_db(generator: Generator, real_db: np.ndarray, frames: float) -> float:
    """Mean absolute difference over bands, dB, of the runtime images' level spread with a
    time constant of ``frames`` from ``real_db`` (the training crops')."""
    images = []
    for seed in range(FIT_SEEDS):
        stream = FieldStream(_Smoothed(generator, frames), np.random.default_rng(seed),
                             FIT_CORRELATION, generator.metadata.truncation)
        images.append(stream.next_images(FIT_CHUNKS)[0])
    spread = level_spread_db(np.concatenate(images), generator.spec)
    return float(np.mean(np.abs(spread - real_db)))


def fit_level_smoothing(generator: Generator, real_db: np.ndarray,
                        candidates: tuple[float, ...] = CANDIDATE_FRAMES
                        ) -> tuple[float, dict[float, float]]:
    """The candidate time constant (frames) whose runtime images' level spread is nearest the
    training crops' ``real_db``, and every candidate's score (dB)."""
    scores = {frames: level_spread_off_db(generator, real_db, frames) for frames in candidates}
    return min(scores, key=scores.get), scores


def level_reference(run_dir: Path, state, data_dir: Path | None) -> np.ndarray | None:
    """The training crops' level spread per band (dB): the checkpoint's, else measured in
    ``data_dir`` (the run's recordings, checked as for the colour:
    :func:`.colour.run_corpus`), else None."""
    from .colour import run_corpus

    if state.level_spread_db is not None:
        return np.asarray(state.level_spread_db)
    if data_dir is None:
        return None
    return LevelSpreadScore(run_corpus(run_dir, state, Path(data_dir)), state.spec,
                            state.config.latent_dim, state.config.truncation).real_db


def fitted_level_smoothing(serialized: bytes, real_db: np.ndarray) -> float:
    """The time constant (frames) :func:`fit_level_smoothing` picks for the model
    ``serialized`` (ONNX bytes whose metadata is complete but for it)."""
    with scratch_generator(serialized) as generator:
        return fit_level_smoothing(generator, real_db)[0]


def fit_stream_level_smoothing(path: Path, data_dir: Path, train_fraction: float
                               ) -> tuple[float, dict[float, float]]:
    """Fit the level smoothing of an exported streaming model on the recordings it was trained
    on (the first ``train_fraction`` of each file in ``data_dir``) and store it in the file
    (through a temporary file); returns what :func:`fit_level_smoothing` does. Refuses
    recordings whose data fingerprint is not the model's."""
    from .stream_export import _load_stream_model, _save, training_corpus

    model, metadata = _load_stream_model(Path(path))
    corpus = training_corpus(Path(path), metadata, data_dir, train_fraction)
    real_db = LevelSpreadScore(corpus, metadata.spec, metadata.latent_dim,
                               metadata.truncation).real_db
    frames, scores = fit_level_smoothing(Generator(path, device="cpu"), real_db)
    _save(model, replace(metadata, level_smoothing_frames=frames), Path(path))
    return frames, scores
