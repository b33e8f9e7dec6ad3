"""What a run reports while it trains: scalars, audio, and scored samples.

Scalars go to ``RUN_DIR/metrics.jsonl`` (always) and to TensorBoard under
``RUN_DIR/tensorboard`` (when TensorFlow is installed). Scored samples are rendered by the
runtime's own stream (:class:`~raingan.runtime.stream.RainStream`: latent walk, chunk
levelling, phase reconstruction, stitching) from the generator being trained, and judged by
the eval tool against the training audio, so the curve shows what a user would hear.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np

from ..core.audio_io import write_audio
from ..core.errors import AudioInputError
from ..eval.evaluate import evaluate_arrays
from ..runtime.latent import LatentWalk
from ..core.phase import STREAM_PHASE
from ..core.speckle import Drops
from ..core.spec import SpectralSpec
from ..runtime.stream import RainStream
from .config import TrainConfig
from .corpus import Corpus
from .models import drifting_latent_dims, folded_input_order, generator_input_dim
from .streaming import field_generator_of, field_layout

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
#: Reference audio for scoring samples: the first seconds of each training signal.
REFERENCE_S_PER_SIGNAL = 20.0
#: Seed of the stream rendered for every scored sample, apart from training's streams.
_EVAL_STREAM = 2**31 - 1


class RunLog:
    """Appends scalar records to metrics.jsonl and mirrors them to TensorBoard.

    With TensorFlow, scalars and audio samples go to TensorBoard; without it (a JAX run),
    scalars still do, through TensorBoard's own framework-free writer, where the
    ``tensorboard`` package is installed.
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / METRICS_FILE
        board = str(Path(run_dir) / "tensorboard")
        self._writer = self._scalar_writer = None
        try:
            import tensorflow as tf

            self._tf = tf
            self._writer = tf.summary.create_file_writer(board)
            return
        except ImportError:
            pass
        try:
            from tensorboard.summary import Writer
        except ImportError:
            log.warning("neither TensorFlow nor TensorBoard is installed: TensorBoard logs are "
                        "off, scalars go to %s only", self.path)
            return
        self._scalar_writer = Writer(board)
        log.info("TensorFlow is not installed: TensorBoard gets the scalars, not the audio "
                 "samples (they are in %s)", Path(run_dir) / "samples")

    def scalars(self, step: int, values: dict[str, float]) -> None:
        record = {"step": step, **{k: float(v) for k, v in values.items()}}
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self._scalar_writer is not None:
            for name, value in values.items():
                self._scalar_writer.add_scalar(name, float(value), step=step)
            self._scalar_writer.flush()
        if self._writer is not None:
            with self._writer.as_default(step=step):
                for name, value in values.items():
                    self._tf.summary.scalar(name, float(value))
            self._writer.flush()

    def audio(self, step: int, name: str, samples: np.ndarray, sample_rate_hz: int) -> None:
        if self._writer is not None:
            clip = np.clip(samples, -1.0, 1.0).reshape(1, -1, 1).astype(np.float32)
            with self._writer.as_default(step=step):
                self._tf.summary.audio(name, clip, sample_rate_hz, max_outputs=1)
            self._writer.flush()


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Every record of a run's metrics.jsonl, in order."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass(frozen=True)
class _Truncation:
    truncation: float


class TrainingGenerator:
    """A Keras generator in the role of :class:`~raingan.runtime.generator.Generator`, as far
    as a :class:`~raingan.runtime.stream.RainStream` needs one (spec, metadata truncation,
    latent walk, images, level ceiling, the run's drops), so that samples are rendered
    exactly as an exported model's are, but for the colour gains, which only the export
    measures."""

    intensity_axis = None
    colour_db = None
    level_smoothing_frames = 0.0  # fitted at export, as the colour gains are
    phase = STREAM_PHASE

    def __init__(self, model: keras.Model, spec: SpectralSpec, config: TrainConfig,
                 ceiling_db: Sequence[float] | None = None, drops: Drops | None = None):
        self.model, self.spec, self.drops = model, spec, drops
        self.ceiling_db = None if ceiling_db is None else np.asarray(ceiling_db, np.float64)
        self.metadata = _Truncation(config.truncation)
        self.latent_dim = generator_input_dim(spec, config)
        self._drifting_dims = drifting_latent_dims(spec, config)
        # Latents are drawn for the exported graph, which may read the noise in another
        # order; this puts each value where the Keras generator reads it.
        self._keras_order = np.argsort(folded_input_order(spec, config))
        self.field = field_layout(spec, config) if config.architecture == "stream" else None

    def field_images(self, field: np.ndarray) -> np.ndarray:
        """A streaming generator's mean images of a latent field (see
        :meth:`raingan.runtime.generator.Generator.field_images`)."""
        images = field_generator_of(self.model)(field, training=False)
        return np.asarray(keras.ops.convert_to_numpy(images), dtype=np.float32)

    def latent_walk(self, rng: np.random.Generator, correlation: float,
                    truncation: float | None = None) -> LatentWalk:
        threshold = self.metadata.truncation if truncation is None else truncation
        return LatentWalk(rng, self.latent_dim, threshold, correlation, self._drifting_dims)

    def images(self, latents: np.ndarray) -> np.ndarray:
        images = keras.ops.convert_to_numpy(self.model(latents[:, self._keras_order],
                                                       training=False))
        return np.nan_to_num(np.asarray(images, dtype=np.float32), nan=-1.0, posinf=1.0,
                             neginf=-1.0)


class SampleScorer:
    """Renders the same stream at every evaluation and scores it against the corpus.

    The stream (seed :data:`_EVAL_STREAM`, mono, at the spec's rate, default drift) is what
    ``raingan render`` makes from the exported model: scores match ``raingan eval`` of a
    rendering, not of independent chunks (6 s of the bundled model: 2.4 as independent
    chunks, 0.8 as the stream; ``benchmarks/monitor_scores.py``).
    """

    def __init__(self, corpus: Corpus, spec: SpectralSpec, config: TrainConfig,
                 ceiling_db: Sequence[float] | None = None, drops: Drops | None = None):
        self.spec, self.config, self.ceiling_db, self.drops = spec, config, ceiling_db, drops
        keep = int(REFERENCE_S_PER_SIGNAL * spec.sample_rate_hz)
        self.references = [s[:keep] for s in corpus.signals]
        self.n_samples = int(round(config.eval_seconds * spec.sample_rate_hz))

    def render(self, generator: keras.Model) -> np.ndarray:
        """Mono audio, shape (n_samples,), at the spec's rate: the start of a fixed stream."""
        stream = RainStream(TrainingGenerator(generator, self.spec, self.config,
                                              self.ceiling_db, self.drops),
                            self.spec.sample_rate_hz, 1, seed=_EVAL_STREAM)
        blocks, produced = [], 0
        while produced < self.n_samples:
            blocks.append(stream.next_block()[:, 0])
            produced += blocks[-1].shape[0]
        return np.concatenate(blocks)[:self.n_samples]

    def score(self, generator: keras.Model, samples_dir: Path | None = None,
              step: int = 0) -> tuple[np.ndarray, dict[str, float]]:
        """Render, optionally save as ``samples_dir/step_N.wav``, and score; returns both."""
        audio = self.render(generator)
        if samples_dir is not None:
            samples_dir.mkdir(parents=True, exist_ok=True)
            write_audio(samples_dir / f"step_{step:08d}.wav", audio, self.spec.sample_rate_hz)
        rms_db = 20.0 * math.log10(float(np.sqrt(np.mean(audio ** 2))) + 1e-12)
        try:
            score = evaluate_arrays(self.references, [audio], self.spec.sample_rate_hz,
                                    classifier=False).overall
        except AudioInputError as exc:  # e.g. a generator that collapsed to silence
            log.warning("step %d: sample not scorable (%s)", step, exc)
            nan = float("nan")
            return audio, {"eval/texture_distance": nan, "eval/rms_db": rms_db}
        return audio, {"eval/texture_distance": score.mean_distance,
                       "eval/repetition": score.repetition,
                       "eval/seam_db": score.seam_db,
                       "eval/rms_db": rms_db}
