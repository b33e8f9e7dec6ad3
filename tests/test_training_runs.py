"""End-to-end training runs of their own through the `raingan` command, on the tiny preset:
resume with new settings, the distributed path on two logical CPU devices, the JAX backend
(and its bit-reproducible runs and resumes), runs stopped by a time limit or Ctrl-C, and bad
input that no run is needed for.
"""

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from raingan.runtime.generator import load_model

from training_cli import (RAINGAN, assert_texture_term_trained, run,
                          write_training_data)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_training_data(tmp_path_factory.mktemp("rain"))


def test_resume_can_turn_the_weight_average_on_and_keep_fewer_checkpoints(data_dir, tmp_path):
    run_dir = tmp_path / "late-average"
    result = run("train", data_dir, "--out", run_dir, "--preset", "tiny", "--steps", "2")
    assert result.returncode == 0, result.stderr
    first = run_dir / "checkpoints" / "step_00000002"
    assert not (first / "generator_average.weights.h5").exists()
    assert "average_from_step" not in json.loads((first / "state.json").read_text())
    result = run("train", data_dir, "--out", run_dir, "--resume", "--steps", "6",
                 "--g-average-decay", "0.5", "--keep-checkpoints", "1")
    assert result.returncode == 0, result.stderr
    assert "g_average_decay 0.0 -> 0.5, keep_checkpoints 3 -> 1" in result.stderr
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["step_00000006"]
    last = run_dir / "checkpoints" / "step_00000006"
    assert (last / "generator_average.weights.h5").is_file()
    # The average began at the resumed step: its decay ramps from there, and resuming again
    # continues it from there.
    assert json.loads((last / "state.json").read_text())["average_from_step"] == 2
    result = run("train", data_dir, "--out", run_dir, "--resume", "--steps", "8")
    assert result.returncode == 0, result.stderr
    state = json.loads((run_dir / "checkpoints" / "step_00000008" / "state.json").read_text())
    assert state["average_from_step"] == 2 and state["config"]["keep_checkpoints"] == 1


def test_channel_counts_that_are_not_numbers_are_refused(data_dir, tmp_path):
    result = run("train", data_dir, "--out", tmp_path / "run", "--preset", "tiny",
                 "--g-channels", "8,eight,4")
    assert result.returncode == 2
    assert "--g-channels" in result.stderr and "'8,eight,4'" in result.stderr
    assert not (tmp_path / "run").exists()


def test_empty_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("train", tmp_path / "empty", "--out", tmp_path / "run", "--preset", "tiny")
    assert result.returncode == 2
    assert "empty" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "run").exists()


def test_folder_without_usable_audio_is_refused(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("no audio here")
    result = run("train", folder, "--out", tmp_path / "run", "--preset", "tiny")
    assert result.returncode == 2
    assert "no usable recordings" in result.stderr


def test_corrupt_file_is_named(data_dir, tmp_path):
    import shutil

    folder = tmp_path / "with_corrupt"
    shutil.copytree(data_dir, folder)
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    result = run("train", folder, "--out", tmp_path / "run", "--preset", "tiny")
    assert result.returncode == 2
    assert "broken.wav" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "run").exists()


def test_export_of_a_folder_that_is_not_a_run(tmp_path):
    result = run("export", tmp_path, "--out", tmp_path / "model.onnx")
    assert result.returncode == 2
    assert "no checkpoint" in result.stderr
    assert not (tmp_path / "model.onnx").exists()


def test_mirrored_strategy_on_two_logical_cpus(data_dir, tmp_path):
    run_dir = tmp_path / "mirrored"
    result = run("train", data_dir, "--out", run_dir, "--preset", "tiny", "--strategy",
                 "mirrored", "--cpu-devices", "2", "--latent-dim", "24", "--loss", "wgan-gp",
                 "--g-noise-levels", "0", "--checkpoint-every", "1", "--g-texture-weight", "0.5",
                 "--g-texture-heard", "--g-channels", "8,8,4,4,4,4")
    assert result.returncode == 0, result.stderr
    assert "on 2 replica(s)" in result.stderr
    assert "trained to step 4" in result.stdout
    config = json.loads((run_dir / "run.json").read_text())["config"]
    assert (config["latent_dim"], config["loss"]) == (24, "wgan-gp")
    assert (config["g_noise_levels"], config["checkpoint_every"]) == (0, 1)
    assert config["g_channels"] == [8, 8, 4, 4, 4, 4]
    assert_texture_term_trained(run_dir, 0.5, True)
    assert (run_dir / "checkpoints" / "step_00000003").is_dir()  # kept: steps 2, 3, 4
    exported = run("export", run_dir, "--out", tmp_path / "mirrored.onnx", "--colour-seconds", "0")
    assert exported.returncode == 0, exported.stderr
    session = onnxruntime.InferenceSession(str(tmp_path / "mirrored.onnx"),
                                           providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[1] == 24  # no noise inputs


def test_jax_trained_run_exports_with_tensorflow(data_dir, tmp_path):
    run_dir = tmp_path / "jax"
    result = run("train", data_dir, "--out", run_dir, "--preset", "tiny", "--loss", "wgan-gp",
                 "--g-texture-weight", "2", "--g-texture-heard", "--g-texture-audio",
                 "--d-r1-weight", "1",
                 env={"KERAS_BACKEND": "jax"})  # the penalties' nested gradients, in JAX
    assert result.returncode == 0, result.stderr
    assert "training with jax" in result.stderr
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    r1 = [m["d_r1"] for m in records if "d_r1" in m]
    assert r1 and all(np.isfinite(r1)) and max(r1) > 0
    assert_texture_term_trained(run_dir, 2.0, True)
    assert json.loads((run_dir / "run.json").read_text())["config"]["g_texture_audio"]
    state = json.loads((run_dir / "checkpoints" / "step_00000004" / "state.json").read_text())
    assert state["backend"] == "jax"
    exported = run("export", run_dir, "--out", tmp_path / "jax.onnx", "--colour-seconds", "0",
                   env={"KERAS_BACKEND": "jax"})
    assert exported.returncode == 0, exported.stderr
    session = onnxruntime.InferenceSession(str(tmp_path / "jax.onnx"),
                                           providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()[0].shape[1]
    out = session.run(None, {"latent": np.zeros((2, inputs), np.float32)})[0]
    assert out.shape == (2, 512, 128) and np.all(np.isfinite(out))


def test_jax_runs_are_bit_reproducible_and_resume_exactly(data_dir, tmp_path):
    # One seed gives the same checkpoint in two processes, and a run stopped by its time
    # limit and resumed ends where an unbroken one does: the JAX backend is the documented
    # reproducible path on CPU, and --max-minutes the way to fit a run into a lent slot.
    from raingan.training.checkpoint import checkpoint_arrays

    jax = {"KERAS_BACKEND": "jax"}
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    result = run("train", data_dir, "--out", straight, "--preset", "tiny", "--steps", "4", env=jax)
    assert result.returncode == 0, result.stderr
    # Set-up alone outlasts 6 ms, so the limit stops the run after its first step, between
    # the tiny preset's checkpoints (every 2 steps).
    result = run("train", data_dir, "--out", broken, "--preset", "tiny", "--steps", "4",
                 "--max-minutes", "0.0001", env=jax)
    assert result.returncode == 0, result.stderr
    assert "stopped at step 1 by time limit" in result.stdout, result.stdout
    assert f"continue with: raingan train {data_dir} --out {broken} --resume" in result.stdout
    assert [p.name for p in (broken / "checkpoints").iterdir()] == ["step_00000001"]
    result = run("train", data_dir, "--out", broken, "--resume", "--steps", "4", env=jax)
    assert result.returncode == 0, result.stderr
    assert "trained to step 4" in result.stdout, result.stdout
    expected = checkpoint_arrays(straight / "checkpoints" / "step_00000004")
    resumed = checkpoint_arrays(broken / "checkpoints" / "step_00000004")
    halfway = checkpoint_arrays(broken / "checkpoints" / "step_00000001")
    assert expected.keys() == resumed.keys() and len(expected) > 10
    assert any(key.startswith("optimizers.npz/") for key in expected)
    assert all(np.array_equal(expected[key], resumed[key]) for key in expected)
    # Training moved the weights between the two steps, so equality is not vacuous.
    assert not all(np.array_equal(expected[key], halfway[key]) for key in expected)


def test_deterministic_tensorflow_runs_train_alike_with_every_loss_term(data_dir, tmp_path):
    # Op determinism refuses ops that have no deterministic kernel; the texture term heard
    # through phase reconstruction and cochlear envelopes brings the most unusual ones.
    from raingan.training.checkpoint import checkpoint_arrays

    runs = [tmp_path / "first", tmp_path / "second"]
    for run_dir in runs:
        result = run("train", data_dir, "--out", run_dir, "--preset", "tiny", "--deterministic",
                     "--g-texture-weight", "1", "--g-texture-heard", "--g-texture-audio")
        assert result.returncode == 0, result.stderr
        assert "deterministic: one thread, oneDNN off" in result.stderr
        assert "training with tensorflow" in result.stderr
    first, second = (checkpoint_arrays(r / "checkpoints" / "step_00000004") for r in runs)
    assert first.keys() == second.keys()
    assert all(np.array_equal(first[key], second[key]) for key in first)


def test_ctrl_c_ends_the_step_and_writes_a_checkpoint_to_resume(data_dir, tmp_path):
    run_dir = tmp_path / "interrupted"
    process = subprocess.Popen([*RAINGAN, "train", str(data_dir), "--out", str(run_dir),
                                "--preset", "tiny", "--steps", "100000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = run_dir / "metrics.jsonl"
    deadline = time.monotonic() + 300
    while not (metrics.is_file() and metrics.read_text().count("\n") >= 3):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    stopped = int(stdout.split("stopped at step ")[1].split()[0])
    assert f"stopped at step {stopped} by SIGINT" in stdout, stdout
    assert 3 <= stopped < 100000
    assert f"step_{stopped:08d}" in [p.name for p in (run_dir / "checkpoints").iterdir()]
    result = run("train", data_dir, "--out", run_dir, "--resume", "--steps", str(stopped + 1))
    assert result.returncode == 0, result.stderr
    assert f"resuming {run_dir} at step {stopped}" in result.stderr
    assert f"trained to step {stopped + 1}" in result.stdout, result.stdout


def test_a_time_limit_that_is_not_positive_is_refused(data_dir, tmp_path):
    result = run("train", data_dir, "--out", tmp_path / "run", "--preset", "tiny",
                 "--max-minutes", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "raingan train: error: argument --max-minutes: must be 0.0001 to 525600 minutes, "
        "got 0 (see raingan train --help)")
    assert not (tmp_path / "run").exists()


def test_a_stream_run_with_augmentation_trains_with_jax_and_records_it(data_dir, tmp_path):
    run_dir = tmp_path / "augmented"
    result = run("train", data_dir, "--out", run_dir, "--preset", "stream-tiny", "--steps", "2",
                 "--d-augment", env={"KERAS_BACKEND": "jax"})  # its seed state, stateless
    assert result.returncode == 0, result.stderr
    assert json.loads((run_dir / "run.json").read_text())["config"]["d_augment"] is True
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(m["d_loss"]) for m in records if "d_loss" in m)
    # Its export keeps the training's drops when asked to (the refit has tests of its own).
    exported = run("export", run_dir, "--out", tmp_path / "kept.onnx", "--colour-seconds", "0",
                   "--no-drop-fit")
    assert exported.returncode == 0, exported.stderr
    assert "drops fitted" not in exported.stdout
    state = json.loads(next((run_dir / "checkpoints").glob("*/state.json")).read_text())
    assert load_model(tmp_path / "kept.onnx").metadata.drops == state.get("drops")
    refused = run("train", data_dir, "--out", tmp_path / "chunk", "--preset", "tiny",
                  "--steps", "1", "--d-augment")
    assert refused.returncode == 2 and "d_augment" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
