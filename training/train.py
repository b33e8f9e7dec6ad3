"""The training loop behind ``raingan train``: data, models, steps, checkpoints, monitoring."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import keras

from ..core.errors import RainGANError
from ..core.phase import PhaseSettings
from ..core.spec import SpectralSpec
from .average import GeneratorAverage
from .checkpoint import (AVERAGE_FILE, CheckpointError, CheckpointState, latest_checkpoint,
                         load_optimizers, load_weights, read_state, save_checkpoint)
from .config import PRESETS, RESUMABLE_FIELDS, ConfigError, TrainConfig
from .cochlear import CochlearTexture, corpus_chunks
from .corpus import CropSampler, corpus_ceiling_db, corpus_colour_db, load_corpus
from .drops import fit_drops, pooled_drop_statistics
from .distribute import make_strategy, split_cpu
from .models import build_discriminator, build_generator, generator_input_dim
from .monitor import RunLog, SampleScorer
from .pipeline import tf_batches
from .step import TrainStep, as_numpy, make_train_step
from .reanalysis import Reanalysis
from .selection import BestCheckpoint, LevelSpreadScore, read_best
from .stopping import StopRequest
from .streaming import set_speckle_drops
from .texture_loss import ImageTexture

log = logging.getLogger(__name__)

RUN_FILE = "run.json"


class TrainingDivergedError(RainGANError, ArithmeticError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass(frozen=True)
class TrainRequest:
    """What the user asked for; None means "the preset's" or, when resuming, "the run's"."""

    data_dir: Path
    run_dir: Path
    preset: str | None = None
    spec: SpectralSpec | None = None
    steps: int | None = None
    resume: bool = False
    strategy: str = "default"
    cpu_devices: int | None = None
    train_fraction: float | None = None  # None: 1.0, or the resumed run's
    overrides: dict[str, Any] | None = None
    progress: bool = True
    max_minutes: float | None = None  # wall-clock budget of this call; None: none


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    step: int
    checkpoint: Path
    steps_per_s: float
    #: Why the run stopped before its last step ("time limit", "SIGINT", "SIGTERM"), or None.
    stopped_by: str | None = None
    #: The checkpoint that :mod:`.selection` scored best (what export takes), or None.
    best: Path | None = None


def _resolve(request: TrainRequest
             ) -> tuple[SpectralSpec, TrainConfig, Path | None, CheckpointState | None]:
    """Spec, config, and the checkpoint to resume from with its state (None for a fresh run)."""
    run_dir = request.run_dir
    checkpoint = latest_checkpoint(run_dir)
    if not request.resume:
        if checkpoint is not None or (run_dir / RUN_FILE).exists():
            raise CheckpointError(f"{run_dir} already holds a run: pass --resume to continue it, "
                                  f"or choose another --out")
        config = PRESETS[request.preset or "cpu"]
        if request.overrides:
            config = config.replace(**request.overrides)
        return request.spec or SpectralSpec(), config, None, None
    if checkpoint is None:
        raise CheckpointError(f"{run_dir}: no checkpoint to resume from")
    state = read_state(checkpoint)
    if request.spec is not None and request.spec != state.spec:
        raise CheckpointError(f"{run_dir} was trained with another spectral spec; a run cannot "
                              f"change its spec (see {checkpoint / 'state.json'})")
    if request.preset is not None:
        wanted = PRESETS[request.preset].replace(steps=state.config.steps)
        if wanted != state.config.replace(steps=state.config.steps):
            raise CheckpointError(f"{run_dir} was trained with another configuration than the "
                                  f"{request.preset!r} preset; resume without --preset")
    return state.spec, _continued_config(state.config, request.overrides or {}), checkpoint, state


def _continued_config(config: TrainConfig, overrides: dict[str, Any]) -> TrainConfig:
    """A resumed run's configuration with the changes a resumed run may make (e.g. adding the
    texture-matching term to a run trained adversarially so far)."""
    fixed = [name for name in overrides if name not in RESUMABLE_FIELDS]
    if fixed:
        raise ConfigError(f"--resume continues the run's own configuration; drop "
                          f"{_flags(fixed)} (a resumed run can change only "
                          f"{_flags(RESUMABLE_FIELDS)})")
    changed = {k: v for k, v in overrides.items() if getattr(config, k) != v}
    if changed:
        log.info("resuming with %s", ", ".join(f"{k} {getattr(config, k)} -> {v}"
                                               for k, v in changed.items()))
    return config.replace(**changed)


def _flags(fields: Sequence[str]) -> str:
    return ", ".join("--" + name.replace("_", "-") for name in fields)


def _train_fraction(request: TrainRequest) -> float:
    """The requested fraction; a resumed run keeps the one it started with (its held-out
    part stays held out)."""
    run_file = request.run_dir / RUN_FILE
    if not (request.resume and run_file.is_file()):
        return 1.0 if request.train_fraction is None else request.train_fraction
    saved = float(json.loads(run_file.read_text()).get("train_fraction", 1.0))
    if request.train_fraction is not None and request.train_fraction != saved:
        raise CheckpointError(f"{request.run_dir} trains on the first {saved:g} of each "
                              f"recording; resume without --train-fraction "
                              f"{request.train_fraction:g}")
    return saved


def train(request: TrainRequest) -> TrainResult:
    """Train (or continue) a run; see ``raingan train --help``.

    Raises
    ------
    RainGANError
        Bad data, a run folder that does not fit the request, a diverged loss, or a time
        limit that is not a positive number of minutes.

    Notes
    -----
    A time limit (``request.max_minutes``), SIGINT (Ctrl-C) or SIGTERM ends the run after
    its current step, with a checkpoint of that step that ``--resume`` continues; the
    result's ``stopped_by`` says which.
    """
    stop = StopRequest(request.max_minutes)  # checked first: nothing is loaded for a bad one
    if request.cpu_devices:
        split_cpu(request.cpu_devices)
    run_dir = request.run_dir
    spec, config, checkpoint, resumed = _resolve(request)
    texture = ImageTexture.for_spec(spec) if config.g_texture_weight > 0 else None
    reanalysis = (Reanalysis.for_spec(spec, PhaseSettings(n_iter=config.g_texture_phase_iterations))
                  if config.hears_images else None)
    total_steps = request.steps or config.steps
    train_fraction = _train_fraction(request)
    corpus = load_corpus(request.data_dir, spec, train_fraction)
    log.info("corpus: %d signal(s), %.1f s, from %d file(s)", len(corpus.signals),
             corpus.total_s, len(corpus.files))
    ceiling_db = corpus_ceiling_db(corpus, spec, config.gain_db)
    colour_db = corpus_colour_db(corpus)
    drops = fit_drops(corpus.signals, spec) if config.architecture == "stream" else None
    drop_statistics = mix_drop_statistics = None
    if config.architecture == "stream":
        drop_statistics = pooled_drop_statistics(corpus.signals, spec)
        mix_drop_statistics = pooled_drop_statistics(corpus.mixes(), spec)
    if drops is not None:
        log.info("drops in the speckle: %s", drops.summary())
    cochlear = target = None
    if config.hears_images and config.g_texture_audio:
        cochlear = CochlearTexture.for_spec(spec)
        target = cochlear.target(corpus_chunks(corpus.signals, cochlear.n_samples))
    run_dir.mkdir(parents=True, exist_ok=True)

    strategy = make_strategy(request.strategy)
    replicas = 1 if strategy is None else strategy.num_replicas_in_sync
    log.info("training with %s on %d replica(s)", keras.backend.backend(), replicas)
    keras.utils.set_random_seed(config.seed)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        generator = build_generator(spec, config)
        if config.architecture == "stream" and config.stream_speckle_drops:
            set_speckle_drops(generator, drops)
        discriminator = build_discriminator(spec, config)
        g_optimizer = keras.optimizers.Adam(config.g_lr, config.beta_1, config.beta_2)
        d_optimizer = keras.optimizers.Adam(config.d_lr, config.beta_1, config.beta_2)
        g_optimizer.build(generator.trainable_variables)
        d_optimizer.build(discriminator.trainable_variables)
        first_step = 0
        if resumed is not None:
            if resumed.data_fingerprint != corpus.fingerprint:
                log.warning("the data differ from those the run was trained on so far")
            load_weights(checkpoint, generator, discriminator)
            load_optimizers(checkpoint, g_optimizer, d_optimizer)
            first_step = resumed.step
            log.info("resuming %s at step %d", run_dir, first_step)
        step_fn = make_train_step(generator, discriminator, g_optimizer, d_optimizer, config,
                                  strategy, texture, reanalysis, cochlear, target)
    average = _weight_average(spec, config, step_fn, checkpoint, resumed, first_step)
    if average is not None and config.architecture == "stream" and config.stream_speckle_drops:
        set_speckle_drops(average.model, drops)
    selection = (LevelSpreadScore(corpus, spec, generator_input_dim(spec, config),
                                  config.truncation) if config.select_checkpoint else None)
    best = read_best(run_dir) if resumed is not None else None

    if checkpoint is None:
        (run_dir / RUN_FILE).write_text(json.dumps(
            {"spec": spec.to_dict(), "config": config.to_dict(), "data": str(request.data_dir),
             "files": [p.name for p in corpus.files], "data_fingerprint": corpus.fingerprint,
             "train_fraction": train_fraction, "backend": keras.backend.backend()},
            indent=2))

    def make_sampler(batch_size: int) -> CropSampler:
        return CropSampler(corpus, spec, batch_size, generator_input_dim(spec, config),
                           config.truncation,
                           config.gain_db, config.seed)

    if keras.backend.backend() == "tensorflow":
        batches = tf_batches(make_sampler, config.batch_size, first_step,
                             strategy or _default_tf_strategy())
    else:
        batches = make_sampler(config.batch_size).batches(first_step)

    def checkpoint_state(step: int) -> CheckpointState:
        return CheckpointState(step, spec, config, corpus.fingerprint, keras.backend.backend(),
                               ceiling_db, None if average is None else average.first_step,
                               colour_db, drops,
                               None if selection is None else tuple(selection.real_db.tolist()),
                               drop_statistics, mix_drop_statistics)

    run_log, scorer = RunLog(run_dir), SampleScorer(corpus, spec, config, ceiling_db, drops)
    last_checkpoint = checkpoint
    step, started, timed_from = first_step, time.perf_counter(), first_step
    interval_start = started
    stopped_by = None
    with (stop.catching_signals(),
          contextlib.closing(_progress_bar(first_step, total_steps, request.progress)) as bar):
        while step < total_steps:
            metrics = step_fn(next(batches))
            if average is not None:
                average.update(step_fn.generator_weights(), step)
            step += 1
            bar.update(1)
            stopped_by = stop.reason if step < total_steps else None
            bad = [k for k, v in metrics.items() if not math.isfinite(v)]
            if bad:
                kept = (f"the last good checkpoint, {last_checkpoint.name}, is kept"
                        if last_checkpoint is not None else "no checkpoint had been written yet")
                raise TrainingDivergedError(f"{', '.join(bad)} became {metrics[bad[0]]} at step "
                                            f"{step}; training stopped and {kept}")
            if step % config.log_every == 0 or step == total_steps:
                now = time.perf_counter()
                per_s = (step - timed_from) / max(now - interval_start, 1e-9)
                metrics.update({"perf/steps_per_s": per_s,
                                "perf/samples_per_s": per_s * config.batch_size})
                run_log.scalars(step, metrics)
                bar.set_postfix(d=f"{metrics['d_loss']:.3f}", g=f"{metrics['g_loss']:.3f}")
                timed_from, interval_start = step, now
            scored = config.eval_every and (step % config.eval_every == 0 or step == total_steps)
            saved = (step % config.checkpoint_every == 0 or step == total_steps
                     or stopped_by is not None)
            selecting = selection is not None and (
                saved or (config.select_every and step % config.select_every == 0))
            if scored or saved or selecting:
                step_fn.sync_to_models()
                scored_model = generator if average is None else average.materialise(
                    [as_numpy(v.value) for v in generator.non_trainable_variables], step)
            spread = selection(scored_model) if selecting else None
            # A generator that scores best between checkpoints gets one of its own.
            saved = saved or (spread is not None and (best is None
                                                      or spread < best.level_spread_db))
            if scored:
                audio, scores = scorer.score(scored_model, run_dir / "samples", step)
                run_log.scalars(step, scores)
                run_log.audio(step, "sample", audio, spec.sample_rate_hz)
                bar.write(f"step {step}: texture distance {scores['eval/texture_distance']:.3f}")
            if saved:
                last_checkpoint = save_checkpoint(run_dir, checkpoint_state(step), generator,
                                                  discriminator, g_optimizer, d_optimizer,
                                                  config.keep_checkpoints,
                                                  None if average is None else average.model,
                                                  spare=None if best is None else best.name)
            if spread is not None:
                if best is None or spread < best.level_spread_db:
                    best = BestCheckpoint(step, last_checkpoint.name, spread)
                    best.write(run_dir)
                run_log.scalars(step, {"select/level_spread_db": spread})
                if scored or step % config.checkpoint_every == 0:
                    bar.write(f"step {step}: level spread off by {spread:.2f} dB (best: step "
                              f"{best.step}, {best.level_spread_db:.2f} dB)")
            if stopped_by is not None:
                break
    elapsed = time.perf_counter() - started
    assert last_checkpoint is not None  # the last step always saves
    return TrainResult(run_dir, step, last_checkpoint,
                       (step - first_step) / elapsed if elapsed > 0 else float("nan"),
                       stopped_by,
                       None if best is None else last_checkpoint.parent / best.name)


def _weight_average(spec: SpectralSpec, config: TrainConfig, step_fn: TrainStep,
                    checkpoint: Path | None, resumed: CheckpointState | None,
                    first_step: int) -> GeneratorAverage | None:
    """The run's generator weight average (None when it keeps none), continued from the
    checkpoint being resumed when that holds one, else started at the current weights (a
    resumed run may turn the average on)."""
    if not config.g_average_decay:
        return None
    average = GeneratorAverage(build_generator(spec, config), config.g_average_decay,
                               config.truncation, config.seed)
    if resumed is not None and (checkpoint / AVERAGE_FILE).is_file():
        try:
            average.load(checkpoint / AVERAGE_FILE, resumed.average_from_step or 0)
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{checkpoint}: unreadable weight average "
                                  f"({str(exc).splitlines()[0]})") from None
    else:
        average.start_from(step_fn.generator_weights(), first_step)
    return average


def _default_tf_strategy() -> Any:
    import tensorflow as tf

    return tf.distribute.get_strategy()


def _progress_bar(first_step: int, total_steps: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total_steps, initial=first_step, unit="step", disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)
