"""Checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint is a folder ``RUN_DIR/checkpoints/step_00001234/`` holding the generator and
discriminator weights (.weights.h5, readable by any Keras backend), the generator's weight
average when the run keeps one (:mod:`.average`), both optimisers' state (.npz) and
``state.json`` (step, spec, config, data fingerprint, backend). The random state
is (config seed, step): batches are drawn from a stream keyed by both, so nothing else needs
saving. Folders are written under a temporary name and renamed, so a crash never leaves a
half-written checkpoint that --resume would pick up.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from ..core.errors import RainGANError
from ..core.spec import SpectralSpec
from ..core.speckle import Drops
from .config import TrainConfig

CHECKPOINT_FORMAT = 1
_DIR = "checkpoints"
_PREFIX = "step_"
GENERATOR_FILE = "generator.weights.h5"
DISCRIMINATOR_FILE = "discriminator.weights.h5"
AVERAGE_FILE = "generator_average.weights.h5"
OPTIMIZERS_FILE = "optimizers.npz"
STATE_FILE = "state.json"


class CheckpointError(RainGANError, ValueError):
    """A checkpoint or run folder that cannot be used."""


@dataclass(frozen=True)
class CheckpointState:
    """What ``state.json`` holds (``ceiling_db``: the training data's level ceiling, see
    :func:`.corpus.corpus_ceiling_db`; None in checkpoints written before it existed;
    ``average_from_step``: the step the generator's weight average began at, None when the
    checkpoint holds no average; ``colour_db``: the training data's band levels, see
    :func:`.corpus.corpus_colour_db`, None in checkpoints written before they existed;
    ``drops``: the excitation's impulses fitted to the training data, see
    :func:`.drops.fit_drops`, None for Gaussian noise, for chunk runs and for checkpoints
    written before they existed; ``level_spread_db``: per band of rows, the training crops'
    frame-to-frame spread of band levels (:func:`.selection.level_spread_db`), which export
    fits the runtime's level smoothing to, None where the run scored no checkpoints or
    before it existed; ``drop_statistics``: the training audio's (kurtosis, tail fractions per band),
    :func:`.drops.pooled_drop_statistics`, which export fits the drops to through the
    runtime, None for chunk runs and before it existed; ``mix_drop_statistics``: the same of
    each recording's mono mix (:meth:`.corpus.Corpus.mixes`), which export fits the share of
    drops the channels have in common to, None as ``drop_statistics`` and before it
    existed)."""

    step: int
    spec: SpectralSpec
    config: TrainConfig
    data_fingerprint: str
    backend: str
    ceiling_db: tuple[float, ...] | None = None
    average_from_step: int | None = None
    colour_db: tuple[float, ...] | None = None
    drops: Drops | None = None
    level_spread_db: tuple[float, ...] | None = None
    drop_statistics: tuple[float, ...] | None = None
    mix_drop_statistics: tuple[float, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"format": CHECKPOINT_FORMAT, "step": self.step, "spec": self.spec.to_dict(),
                "config": self.config.to_dict(), "data_fingerprint": self.data_fingerprint,
                "backend": self.backend}
        if self.ceiling_db is not None:
            data["ceiling_db"] = [round(v, 2) for v in self.ceiling_db]
        if self.average_from_step is not None:
            data["average_from_step"] = self.average_from_step
        if self.colour_db is not None:
            data["colour_db"] = [round(v, 2) for v in self.colour_db]
        if self.drops is not None:
            data["drops"] = self.drops.to_dict()
        if self.level_spread_db is not None:
            data["level_spread_db"] = [round(v, 4) for v in self.level_spread_db]
        if self.drop_statistics is not None:
            data["drop_statistics"] = list(self.drop_statistics)
        if self.mix_drop_statistics is not None:
            data["mix_drop_statistics"] = list(self.mix_drop_statistics)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CheckpointState":
        if data.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"checkpoint format {data.get('format')} is not supported")
        ceiling, average_from = data.get("ceiling_db"), data.get("average_from_step")
        colour, drops = data.get("colour_db"), data.get("drops")
        spread, statistics = data.get("level_spread_db"), data.get("drop_statistics")
        mix_statistics = data.get("mix_drop_statistics")
        return cls(step=int(data["step"]), spec=SpectralSpec.from_dict(data["spec"]),
                   config=TrainConfig.from_dict(data["config"]),
                   data_fingerprint=str(data["data_fingerprint"]), backend=str(data["backend"]),
                   ceiling_db=None if ceiling is None else tuple(float(v) for v in ceiling),
                   average_from_step=None if average_from is None else int(average_from),
                   colour_db=None if colour is None else tuple(float(v) for v in colour),
                   drops=None if drops is None else Drops.from_dict(drops),
                   level_spread_db=None if spread is None else tuple(float(v) for v in spread),
                   drop_statistics=_statistics(statistics),
                   mix_drop_statistics=_statistics(mix_statistics))


def _statistics(values: Any) -> tuple[float, ...] | None:
    """Stored drop statistics (kurtosis, tail fractions), or None."""
    return None if values is None else tuple(float(v) for v in values)


def checkpoint_folder(run_dir: Path) -> Path:
    """The folder holding a run's checkpoints."""
    return Path(run_dir) / _DIR


def checkpoint_dirs(run_dir: Path) -> list[Path]:
    """Finished checkpoints of a run, oldest first."""
    folder = Path(run_dir) / _DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_dir() and p.name.startswith(_PREFIX) and (p / STATE_FILE).is_file())


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = checkpoint_dirs(run_dir)
    return found[-1] if found else None


def read_state(checkpoint: Path) -> CheckpointState:
    try:
        return CheckpointState.from_dict(json.loads((checkpoint / STATE_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, RainGANError):
            raise
        raise CheckpointError(f"{checkpoint}: unreadable checkpoint state ({exc})") from None


def _optimizer_arrays(prefix: str, optimizer: keras.optimizers.Optimizer) -> dict[str, np.ndarray]:
    return {f"{prefix}{i:04d}": np.asarray(keras.ops.convert_to_numpy(v.value))
            for i, v in enumerate(optimizer.variables)}


def save_checkpoint(run_dir: Path, state: CheckpointState, generator: keras.Model,
                    discriminator: keras.Model, g_optimizer: keras.optimizers.Optimizer,
                    d_optimizer: keras.optimizers.Optimizer, keep: int,
                    average: keras.Model | None = None, spare: str | None = None) -> Path:
    """Write a checkpoint for ``state.step`` and delete all but the ``keep`` newest and the
    one named ``spare`` (the run's best, :mod:`.selection`).

    ``average`` is the generator holding the run's weight average, when it keeps one.
    """
    folder = Path(run_dir) / _DIR
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{_PREFIX}{state.step:08d}"
    temp = folder / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    try:
        generator.save_weights(temp / GENERATOR_FILE)
        discriminator.save_weights(temp / DISCRIMINATOR_FILE)
        if average is not None:
            average.save_weights(temp / AVERAGE_FILE)
        np.savez(temp / OPTIMIZERS_FILE, **_optimizer_arrays("g", g_optimizer),
                 **_optimizer_arrays("d", d_optimizer))
        (temp / STATE_FILE).write_text(json.dumps(state.to_dict(), indent=2))
        if final.exists():
            shutil.rmtree(final)
        os.replace(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    for old in checkpoint_dirs(run_dir)[:-keep]:
        if old.name != spare:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_weights(checkpoint: Path, generator: keras.Model,
                 discriminator: keras.Model | None = None, average: bool = False) -> None:
    """Load model weights from a checkpoint into already-built models.

    ``average`` loads the generator's weight average instead of its raw weights.
    """
    try:
        generator.load_weights(checkpoint / (AVERAGE_FILE if average else GENERATOR_FILE))
        if discriminator is not None:
            discriminator.load_weights(checkpoint / DISCRIMINATOR_FILE)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{checkpoint}: weights do not fit this model "
                              f"({str(exc).splitlines()[0]})") from None


def checkpoint_arrays(checkpoint: Path) -> dict[str, np.ndarray]:
    """Every array a checkpoint holds for its models and optimisers, keyed by file and path.

    What "the same checkpoint" means when runs are compared for reproducibility: generator,
    discriminator and (when kept) weight-average files, and both optimisers' state.
    """
    import h5py  # a Keras dependency; only this comparison reads .h5 files directly

    arrays: dict[str, np.ndarray] = {}
    for name in (GENERATOR_FILE, DISCRIMINATOR_FILE, AVERAGE_FILE):
        if not (checkpoint / name).is_file():
            continue

        def keep(path: str, obj, name: str = name) -> None:
            if isinstance(obj, h5py.Dataset):
                arrays[f"{name}/{path}"] = obj[()]

        with h5py.File(checkpoint / name, "r") as weights:
            weights.visititems(keep)
    with np.load(checkpoint / OPTIMIZERS_FILE) as optimizers:
        arrays.update({f"{OPTIMIZERS_FILE}/{key}": optimizers[key] for key in optimizers.files})
    return arrays


def load_optimizers(checkpoint: Path, g_optimizer: keras.optimizers.Optimizer,
                    d_optimizer: keras.optimizers.Optimizer) -> None:
    """Restore optimiser state into optimisers already built for their models' variables."""
    with np.load(checkpoint / OPTIMIZERS_FILE) as arrays:
        for prefix, optimizer in (("g", g_optimizer), ("d", d_optimizer)):
            names = sorted(k for k in arrays.files if k.startswith(prefix))
            if len(names) != len(optimizer.variables):
                raise CheckpointError(f"{checkpoint}: optimiser state does not fit this model")
            for name, variable in zip(names, optimizer.variables):
                variable.assign(arrays[name])
