"""End-to-end training and export through the `raingan` command, on the tiny preset.

`raingan train` -> `raingan export` -> onnxruntime inference of one shared run, and what
is done to it: export options, resume, refusals. Runs of their own: test_training_runs.py.
"""

import json
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import soundfile as sf

from training_cli import rain_like, run, write_training_data

from raingan.cli.quiet import NATIVE_LOG_LINE


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_training_data(tmp_path_factory.mktemp("rain"))


@pytest.fixture(scope="module")
def tiny_run(data_dir, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    result = run("train", data_dir, "--out", run_dir, "--preset", "tiny",
                 "--g-average-decay", "0.9")
    assert result.returncode == 0, result.stderr
    return run_dir, result


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory) -> Path:
    model = tmp_path_factory.mktemp("models") / "tiny.onnx"
    result = run("export", tiny_run[0], "--out", model, "--colour-seconds", "3")
    assert result.returncode == 0, result.stderr
    assert "parity" in result.stdout
    assert "colour calibration, round 2" in result.stderr
    assert_no_native_log(result.stderr)
    return model


def assert_no_native_log(stderr: str) -> None:
    """TensorFlow's and absl's C++ start-up messages stay off the terminal."""
    assert "absl" not in stderr and "cuda" not in stderr.lower(), stderr
    assert not any(NATIVE_LOG_LINE.match(line.encode()) for line in stderr.splitlines())


def test_train_reports_skipped_files_and_writes_a_run(tiny_run):
    run_dir, result = tiny_run
    assert "notes.txt" in result.stderr  # non-audio: skipped with a warning naming it
    assert "1 recording channel(s) shorter than one chunk" in result.stderr
    assert "blip.wav" in result.stderr
    assert "3 signal(s)" in result.stderr  # two stereo channels and one mono file
    assert_no_native_log(result.stderr)
    assert "trained to step 4" in result.stdout
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert checkpoints == ["step_00000002", "step_00000004"]
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    losses = [m for m in metrics if "d_loss" in m]
    assert [m["step"] for m in losses] == [1, 2, 3, 4]
    assert all(np.isfinite(m["g_grad_norm"]) and m["perf/steps_per_s"] > 0 for m in losses)
    scored = [m for m in metrics if "eval/texture_distance" in m]
    assert scored and np.isfinite(scored[-1]["eval/texture_distance"])
    assert (run_dir / "samples" / "step_00000004.wav").is_file()
    assert any((run_dir / "tensorboard").iterdir())
    state = json.loads((run_dir / "checkpoints" / "step_00000004" / "state.json").read_text())
    assert state["step"] == 4 and state["config"]["latent_dim"] == 16
    assert state["spec"]["n_frames"] == 128


def test_scored_samples_are_what_the_exported_model_renders(tiny_run, exported):
    # The monitor renders its samples with the runtime's stream (latent walk, levelling), so
    # its scores are those of `raingan render` with the exported model, before the colour
    # gains that only the export measures.
    import dataclasses

    from raingan.runtime.generator import Generator
    from raingan.runtime.stream import RainStream
    from raingan.training.monitor import _EVAL_STREAM

    sample, rate = sf.read(tiny_run[0] / "samples" / "step_00000004.wav", dtype="float32")
    generator = Generator(exported, device="cpu")
    assert generator.colour_db is not None
    generator.metadata = dataclasses.replace(generator.metadata, colour_db=None)
    stream = RainStream(generator, rate, 1, seed=_EVAL_STREAM)
    blocks = [stream.next_block()[:, 0]]
    while sum(len(b) for b in blocks) < len(sample):
        blocks.append(stream.next_block()[:, 0])
    rendered = np.concatenate(blocks)[:len(sample)]
    assert len(sample) == 2 * rate  # the tiny preset's eval_seconds
    np.testing.assert_allclose(sample, rendered, atol=1e-3)
    assert np.std(sample) > 1e-3


def test_exported_model_runs_in_onnxruntime_with_any_batch(exported):
    session = onnxruntime.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    (latent,), (image,) = session.get_inputs(), session.get_outputs()
    assert (latent.name, image.name) == ("latent", "image")
    inputs = 16 + 256 * 64 + 512 * 128  # latents, then the tiny preset's noise maps
    assert isinstance(latent.shape[0], str) and latent.shape[1] == inputs
    assert image.shape[1:] == [512, 128]
    for batch in (1, 5):
        z = np.random.default_rng(batch).standard_normal((batch, inputs)).astype(np.float32)
        out = session.run(None, {"latent": z})[0]
        assert out.shape == (batch, 512, 128)
        assert np.all(np.isfinite(out)) and np.all(np.abs(out) <= 1.0)


def test_export_takes_the_weight_average_unless_told_otherwise(tiny_run, exported, tmp_path):
    from raingan.runtime.generator import Generator

    checkpoint = tiny_run[0] / "checkpoints" / "step_00000004"
    assert (checkpoint / "generator_average.weights.h5").is_file()
    raw = tmp_path / "raw.onnx"
    result = run("export", tiny_run[0], "--out", raw, "--raw-weights", "--colour-seconds", "0")
    assert result.returncode == 0, result.stderr
    assert "raw weights" in result.stdout
    averaged, plain = Generator(exported, device="cpu"), Generator(raw, device="cpu")
    assert averaged.metadata.training["weights"] == "average"
    assert plain.metadata.training["weights"] == "raw"
    z = averaged.latents(np.random.default_rng(0), 2)
    assert not np.allclose(averaged.images(z), plain.images(z), atol=1e-4)


def test_export_of_several_checkpoints_is_their_mean(tiny_run, tmp_path):
    import shutil

    from raingan.runtime.generator import Generator

    checkpoints = [tiny_run[0] / "checkpoints" / f"step_0000000{n}" for n in (4, 2)]
    mean = tmp_path / "mean.onnx"
    result = run("export", tiny_run[0], "--out", mean, "--raw-weights", "--colour-seconds", "0",
                 *[a for c in checkpoints for a in ("--checkpoint", c)])
    assert result.returncode == 0, result.stderr
    assert "step 4, the mean of 2 checkpoints' raw weights" in result.stdout
    facts = Generator(mean, device="cpu").metadata
    assert facts.step == 4 and facts.training["averaged_steps"] == [2, 4]
    # Refused: a checkpoint named twice, or one of another run (other data).
    result = run("export", tiny_run[0], "--out", tmp_path / "twice.onnx",
                 "--checkpoint", checkpoints[0], "--checkpoint", checkpoints[0])
    assert result.returncode == 2 and "once" in result.stderr.strip().splitlines()[-1]
    stranger = tmp_path / "stranger"
    shutil.copytree(checkpoints[1], stranger)
    state = json.loads((stranger / "state.json").read_text())
    (stranger / "state.json").write_text(json.dumps({**state, "data_fingerprint": "0" * 64}))
    result = run("export", tiny_run[0], "--out", tmp_path / "mixed.onnx",
                 "--checkpoint", checkpoints[0], "--checkpoint", stranger)
    assert result.returncode == 2
    assert "not a checkpoint of the same run" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "twice.onnx").exists() and not (tmp_path / "mixed.onnx").exists()


def test_export_calibrates_the_colour_to_the_training_audio(tiny_run, exported, data_dir,
                                                            tmp_path):
    import shutil

    from raingan.runtime.generator import Generator

    colour = Generator(exported, device="cpu").colour_db
    # Two steps of training make rain far quieter than the data: every gain is at the limit,
    # the run's crop gain augmentation (6 dB).
    assert colour.shape == (512,) and np.all(np.isfinite(colour))
    assert np.max(np.abs(colour)) == pytest.approx(6.0) and np.all(np.abs(colour) <= 6.0)
    # A checkpoint written before band levels were stored: no colour, and a note saying how
    # to get one, unless --data names the recordings it was trained on.
    old = tmp_path / "old"
    shutil.copytree(tiny_run[0], old)
    for state_file in (old / "checkpoints").glob("*/state.json"):
        state = json.loads(state_file.read_text())
        assert len(state.pop("colour_db")) == 30
        state_file.write_text(json.dumps(state))
    result = run("export", old, "--out", tmp_path / "plain.onnx", "--colour-seconds", "3")
    assert result.returncode == 0, result.stderr
    assert "pass --data" in result.stderr
    assert Generator(tmp_path / "plain.onnx", device="cpu").colour_db is None
    result = run("export", old, "--out", tmp_path / "measured.onnx", "--colour-seconds", "3",
                 "--data", data_dir)
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(Generator(tmp_path / "measured.onnx", device="cpu").colour_db,
                               colour, atol=0.011)
    # Other recordings than the run's, or a negative budget: refused, nothing written.
    other = tmp_path / "other"
    other.mkdir()
    sf.write(other / "rain.wav", rain_like(np.random.default_rng(1), 2.0, 44_100, 1), 44_100)
    result = run("export", old, "--out", tmp_path / "wrong.onnx", "--data", other)
    assert result.returncode == 2
    assert "other recordings than the run was trained on" in result.stderr.strip().splitlines()[-1]
    result = run("export", old, "--out", tmp_path / "wrong.onnx", "--colour-seconds", "-1")
    assert result.returncode == 2 and "--colour-seconds" in result.stderr
    assert not (tmp_path / "wrong.onnx").exists()


def test_exported_graph_is_an_inference_graph(exported):
    import onnx

    model = onnx.load(str(exported))
    assert model.opset_import[0].version >= 15
    ops = {node.op_type for node in model.graph.node}
    # No training-mode batch norm, no power iteration (a loop or a norm of the kernels).
    assert not ops & {"Loop", "If", "ReduceL2", "LpNormalization", "Sqrt"}
    for node in model.graph.node:
        if node.op_type == "BatchNormalization":
            assert all(a.i == 0 for a in node.attribute if a.name == "training_mode")


def test_info_prints_the_model_metadata(exported, tiny_run):
    result = run("info", exported, "--json")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["raingan.format_version"] == 1
    assert facts["raingan.latent_dim"] == 16 + 256 * 64 + 512 * 128  # with the noise maps
    assert facts["raingan.truncation"] == 3.0
    assert facts["raingan.step"] == 4
    assert facts["raingan.spec"]["hop_length"] == 256
    run_facts = json.loads((tiny_run[0] / "run.json").read_text())
    assert facts["raingan.data_fingerprint"] == run_facts["data_fingerprint"]


def test_resume_continues_from_the_last_checkpoint(tiny_run, tmp_path):
    import shutil

    run_dir = tmp_path / "resumed"
    shutil.copytree(tiny_run[0], run_dir)
    result = run("train", tiny_run[0].parent.parent / "unused", "--out", run_dir, "--resume",
                 "--steps", "6")
    assert result.returncode == 2  # the data folder must exist even when resuming
    data = Path(json.loads((run_dir / "run.json").read_text())["data"])
    # A resumed run may add the texture-matching term (how it learns, not what it learns with).
    result = run("train", data, "--out", run_dir, "--resume", "--steps", "6",
                 "--g-texture-weight", "0.5", "--g-texture-heard",
                 "--g-texture-phase-iterations", "2")
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stderr and "at step 4" in result.stderr
    assert "resuming with g_texture_weight 0.0 -> 0.5, g_texture_heard False -> True" in result.stderr
    assert "g_texture_phase_iterations 16 -> 2" in result.stderr
    assert "data differ" not in result.stderr
    assert "trained to step 6" in result.stdout
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert names[-1] == "step_00000006"
    assert (run_dir / "checkpoints" / names[-1] / "generator_average.weights.h5").is_file()
    state = json.loads((run_dir / "checkpoints" / names[-1] / "state.json").read_text())
    assert (state["config"]["g_texture_weight"], state["config"]["g_texture_heard"],
            state["config"]["g_texture_phase_iterations"]) == (0.5, True, 2)
    logged = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["g_total_loss"] > m["g_loss"] for m in logged if "g_total_loss" in m][-2:] == [
        True, True]


def test_a_fresh_run_refuses_an_existing_run_folder(tiny_run, data_dir):
    result = run("train", data_dir, "--out", tiny_run[0], "--preset", "tiny")
    assert result.returncode == 2
    assert "already holds a run" in result.stderr and "--resume" in result.stderr


def test_resume_refuses_another_spec(tiny_run, data_dir):
    result = run("train", data_dir, "--out", tiny_run[0], "--resume", "--spec", "article")
    assert result.returncode == 2
    assert "another spectral spec" in result.stderr
    assert len(result.stderr.strip().splitlines()[-1]) < 300
    # The held-out part of a run stays held out: its fraction cannot change on resume.
    result = run("train", data_dir, "--out", tiny_run[0], "--resume", "--train-fraction", "0.5")
    assert result.returncode == 2
    assert "resume without --train-fraction 0.5" in result.stderr.strip().splitlines()[-1]
    # Nor can anything that shapes the models or the data stream.
    result = run("train", data_dir, "--out", tiny_run[0], "--resume", "--latent-dim", "8",
                 "--g-lr", "1e-3")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert "drop --latent-dim (" in last and "--g-texture-weight" in last


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tiny_run, data_dir, tmp_path):
    import shutil

    import h5py

    run_dir = tmp_path / "diverging"
    shutil.copytree(tiny_run[0], run_dir)
    good = run_dir / "checkpoints" / "step_00000004"
    with h5py.File(good / "generator.weights.h5", "r+") as weights:
        kernels = []
        weights.visititems(lambda name, obj: kernels.append(obj)
                           if isinstance(obj, h5py.Dataset) and obj.ndim == 4 else None)
        kernels[0][...] = np.nan  # the next generator step poisons the losses
    result = run("train", data_dir, "--out", run_dir, "--resume", "--steps", "8")
    assert result.returncode == 2
    message = result.stderr.strip().splitlines()[-1]
    assert "became nan at step 5" in message
    assert "step_00000004" in message and "kept" in message
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert names == ["step_00000002", "step_00000004"]
