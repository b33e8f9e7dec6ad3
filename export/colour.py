"""The export's colour stage: measure the exported model's rendered colour and store the row
gains that bring it to its training audio's band levels (:mod:`raingan.export.colour_fit`).

The training audio's band levels come from the checkpoint (current runs
store them) or, for older checkpoints, from the recordings themselves (``raingan export
--data DIR``), which must be the ones the run was trained on: the data fingerprint decides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from .colour_fit import CALIBRATION_SECONDS, calibrate_colour
from .scratch import scratch_generator
from ..core.errors import RainGANError
from ..training.checkpoint import CheckpointState
from ..training.corpus import Corpus, corpus_colour_db, load_corpus
from ..training.train import RUN_FILE


class ColourDataError(RainGANError, ValueError):
    """``--data`` names recordings other than those the run was trained on."""


def colour_reference(run_dir: Path, state: CheckpointState, data_dir: Path | None
                     ) -> tuple[float, ...] | None:
    """The training audio's band levels: the checkpoint's, else measured in ``data_dir``
    (with the run's train fraction), else None.

    Raises
    ------
    ColourDataError
        ``data_dir``'s recordings are not the run's (another data fingerprint).
    AudioInputError
        ``data_dir`` holds no usable audio.
    """
    if state.colour_db is not None:
        return state.colour_db
    if data_dir is None:
        return None
    return corpus_colour_db(run_corpus(run_dir, state, data_dir))


def run_corpus(run_dir: Path, state: CheckpointState, data_dir: Path) -> Corpus:
    """The recordings in ``data_dir`` with the run's train fraction, checked to be the ones
    the run was trained on (the data fingerprint).

    Raises
    ------
    ColourDataError
        They are not (another data fingerprint).
    """
    run_file = Path(run_dir) / RUN_FILE
    fraction = (float(json.loads(run_file.read_text()).get("train_fraction", 1.0))
                if run_file.is_file() else 1.0)
    corpus = load_corpus(data_dir, state.spec, fraction)
    if corpus.fingerprint != state.data_fingerprint:
        raise ColourDataError(f"{data_dir} holds other recordings than the run was trained on "
                              f"with train fraction {fraction:g} (data fingerprint "
                              f"{corpus.fingerprint[:12]}, the run's "
                              f"{state.data_fingerprint[:12]})")
    return corpus


def calibrated_colour(serialized: bytes, reference_db: tuple[float, ...], limit_db: float,
                      seconds: float = CALIBRATION_SECONDS,
                      progress: Callable[[int, float], None] | None = None
                      ) -> tuple[float, ...]:
    """Row gains (dB, to 0.01 dB, one per image row, within +-``limit_db``) for the model
    ``serialized`` (ONNX bytes whose metadata is complete but for the colour), measured by
    rendering ``seconds`` of it per round (:func:`raingan.export.colour_fit.calibrate_colour`)."""
    with scratch_generator(serialized) as generator:
        gains = calibrate_colour(generator, reference_db, seconds, limit_db=limit_db,
                                 progress=progress)
    return tuple(round(float(v), 2) for v in gains)
