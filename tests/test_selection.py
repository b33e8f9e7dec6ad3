"""Checkpoint selection (raingan.training.selection): the statistic, the record, a run that
keeps its best checkpoint, and the export that takes it."""

import json

import numpy as np
import pytest

import keras  # noqa: F401  (the train extra is part of the test extra)

from raingan.core.errors import RainGANError
from raingan.core.spec import SpectralSpec
from raingan.training import selection
from raingan.training.selection import (BestCheckpoint, band_rows, level_spread_db,
                                        read_best)

from training_cli import write_training_data

SPEC = SpectralSpec()


def test_band_rows_cover_the_image_above_the_lowest_rows_in_log_spaced_bands():
    rows = band_rows(SPEC.image_shape[0])
    assert rows[0][0] == selection.FIRST_ROW and rows[-1][1] == SPEC.image_shape[0]
    assert all(a[1] == b[0] for a, b in zip(rows, rows[1:]))
    widths = [end - first for first, end in rows]
    assert widths[-1] > 4 * widths[0]


def test_level_spread_is_the_frame_to_frame_spread_of_band_levels_in_db():
    rows, frames = SPEC.image_shape
    steady = np.full((3, rows, frames), -0.5, np.float32)
    assert np.allclose(level_spread_db(steady, SPEC), 0.0, atol=1e-9)
    # Every other frame 6 dB up, in every row: every band's level alternates by 6 dB, a
    # standard deviation of 3 dB, whatever the band's width.
    alternating = steady.copy()
    alternating[:, :, ::2] += 6.0 / SPEC.db_per_image_unit
    assert np.allclose(level_spread_db(alternating, SPEC), 3.0, atol=1e-6)


def test_the_best_checkpoint_record_round_trips_and_is_dropped_with_its_folder(tmp_path):
    (tmp_path / "checkpoints" / "step_00000004").mkdir(parents=True)
    assert read_best(tmp_path) is None
    BestCheckpoint(4, "step_00000004", 1.25).write(tmp_path)
    assert read_best(tmp_path) == BestCheckpoint(4, "step_00000004", 1.25)
    (tmp_path / "checkpoints" / "step_00000004").rmdir()
    assert read_best(tmp_path) is None
    (tmp_path / selection.BEST_FILE).write_text("{not json")
    with pytest.raises(RainGANError, match="best-checkpoint record"):
        read_best(tmp_path)


def train_with_scores(tmp_path, monkeypatch, scores, **overrides):
    """Train stream-tiny for 8 steps, the selection statistic replaced by ``scores`` in turn
    (the statistic itself is tested above)."""
    from raingan.training import train as train_module
    from raingan.training.train import TrainRequest, train

    scores = iter(scores)

    class Scripted:
        real_db = np.full(16, 3.0)  # the training crops' level spread, which export fits to

        def __init__(self, *args):
            pass

        def __call__(self, generator):
            return next(scores)

    monkeypatch.setattr(train_module, "LevelSpreadScore", Scripted)
    (tmp_path / "data").mkdir()
    data = write_training_data(tmp_path / "data")
    return train(TrainRequest(data, tmp_path / "run", preset="stream-tiny", steps=8,
                              overrides={"eval_every": 0, "keep_checkpoints": 1, **overrides},
                              progress=False))


def test_a_run_keeps_its_best_checkpoint_and_export_takes_it(tmp_path, monkeypatch):
    from raingan.export.onnx_export import export_model

    # Checkpoints every 2 steps: the second (step 4 of 8) scores best.
    result = train_with_scores(tmp_path, monkeypatch, [3.0, 1.0, 2.0, 5.0])
    assert result.best is not None and result.best.name == "step_00000004"
    kept = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert kept == ["step_00000004", "step_00000008"]  # the best, spared, and the newest
    logged = [json.loads(line) for line in
              (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [m["select/level_spread_db"] for m in logged
            if "select/level_spread_db" in m] == [3.0, 1.0, 2.0, 5.0]
    exported = export_model(tmp_path / "run", tmp_path / "best.onnx", colour_seconds=0,
                            fit_drops=False)
    assert (exported.step, exported.chosen) == (4, "best")
    named = export_model(tmp_path / "run", tmp_path / "last.onnx",
                         tmp_path / "run" / "checkpoints" / "step_00000008", colour_seconds=0,
                         fit_drops=False)
    assert (named.step, named.chosen) == (8, "given")


def test_the_score_of_a_generator_is_its_spread_against_the_training_crops(tmp_path):
    from raingan.training.corpus import load_corpus

    data = tmp_path / "data"
    data.mkdir()
    write_training_data(data)
    corpus = load_corpus(data, SPEC, 1.0)
    score = selection.LevelSpreadScore(corpus, SPEC, latent_dim=3, truncation=2.0)
    rows, frames = SPEC.image_shape

    class Steady:  # a generator whose images never move: its spread is 0 in every band
        def __call__(self, z, training=False):
            return np.full((z.shape[0], rows, frames), -0.3, np.float32)

    assert score(Steady()) == pytest.approx(float(np.mean(score.real_db)), rel=1e-9)
    assert float(np.min(score.real_db)) > 0.5  # rain-like audio moves from frame to frame


def test_a_generator_that_scores_best_between_checkpoints_gets_a_checkpoint(tmp_path,
                                                                            monkeypatch):
    # Scored every step (steps 1-8), checkpoints every 4: step 6 scores best.
    result = train_with_scores(tmp_path, monkeypatch, [5.0, 4.0, 3.0, 6.0, 7.0, 2.5, 8.0, 9.0],
                               checkpoint_every=4, select_every=1)
    assert result.best.name == "step_00000006" and read_best(tmp_path / "run").step == 6
    kept = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert kept == ["step_00000006", "step_00000008"]
