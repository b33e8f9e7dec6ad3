"""benchmarks/gpu_train.sh, the lent-GPU training recipe, end to end on the tiny preset here:
train under JAX within a time limit, copy the checkpoint out, collect it into a run folder,
export that. (Installing into a bare machine, the one step a GPU machine adds, is skipped.)
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime

from training_cli import run

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_train.sh"


def gpu_train(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, **env})


def test_a_time_limited_jax_run_comes_back_as_a_run_that_exports(tmp_path):
    out, remote_run, collected = tmp_path / "out", tmp_path / "remote-run", tmp_path / "run"
    out.mkdir()
    env = {"OUT": str(out), "GPU_RUN_DIR": str(remote_run), "GPU_TRAIN_INSTALLED": "1",
           "PYTHON": sys.executable}
    # 0.02 minutes: set-up alone takes longer, so the run stops after its first step.
    result = gpu_train("train", "0.02", "--preset", "tiny", "--steps", "1000", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "training with jax" in result.stdout  # the script's log is the run's stderr too
    assert "stopped at step 1 by time limit" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "discriminator.weights.h5", "generator.weights.h5", "metrics.jsonl", "run.json",
        "state.json", "train.log"]
    assert "stopped at step 1 by time limit" in (out / "train.log").read_text()
    trained = json.loads((out / "run.json").read_text())
    assert trained["backend"] == "jax" and trained["train_fraction"] == 0.666
    assert trained["data"] == str(REPO / "data" / "rain")

    result = gpu_train("collect", out, collected, env=env)
    assert result.returncode == 0, result.stderr
    checkpoint = collected / "checkpoints" / "step_00000001"
    for name in ("state.json", "generator.weights.h5", "discriminator.weights.h5"):
        assert (checkpoint / name).read_bytes() == (out / name).read_bytes()
    assert (collected / "run.json").read_bytes() == (out / "run.json").read_bytes()

    exported = run("export", collected, "--out", tmp_path / "gpu.onnx", "--colour-seconds", "0")
    assert exported.returncode == 0, exported.stderr
    assert "wrote" in exported.stdout and "(step 1," in exported.stdout
    session = onnxruntime.InferenceSession(str(tmp_path / "gpu.onnx"),
                                           providers=["CPUExecutionProvider"])
    width = session.get_inputs()[0].shape[1]
    images = session.run(None, {"latent": np.zeros((1, width), np.float32)})[0]
    assert images.shape == (1, 512, 128) and np.all(np.isfinite(images))


def test_unknown_commands_and_missing_arguments_are_refused(tmp_path):
    result = gpu_train("fly", env={})
    assert result.returncode == 2 and "usage:" in result.stderr
    result = gpu_train("train", env={"OUT": str(tmp_path)})
    assert result.returncode != 0 and "MINUTES" in result.stderr
    assert not any(tmp_path.iterdir())
