"""What the end-to-end training tests share: the `raingan` command and rain-like data.

The training suite is split into two files (test_training_cli.py, test_training_runs.py), so
that pytest-xdist can run its halves on different cores; test_bundled_quality.py uses the
`raingan` command from here too.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

RAINGAN = [str(Path(sys.executable).with_name("raingan"))]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*RAINGAN, *map(str, args)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, **(env or {})})


def rain_like(rng: np.random.Generator, seconds: float, rate: int, channels: int) -> np.ndarray:
    """Noise with decaying clicks (drops) on top: enough structure for the pipeline."""
    n = int(seconds * rate)
    out = 0.02 * rng.standard_normal((n, channels))
    for start in rng.integers(0, n - 400, size=int(40 * seconds)):
        decay = np.exp(-np.arange(400) / 40.0)[:, None]
        out[start:start + 400] += 0.3 * rng.standard_normal((400, channels)) * decay
    return np.clip(out, -1, 1).astype(np.float32)


def write_training_data(folder: Path) -> Path:
    """Two usable recordings (48 kHz stereo, 22.05 kHz mono), a text file and a short file."""
    rng = np.random.default_rng(7)
    sf.write(folder / "roof.wav", rain_like(rng, 3.0, 48_000, 2), 48_000)
    sf.write(folder / "street.flac", rain_like(rng, 2.5, 22_050, 1), 22_050)
    sf.write(folder / "blip.wav", rain_like(rng, 0.3, 44_100, 1), 44_100)
    (folder / "notes.txt").write_text("recorded in the rain\n")
    return folder


def assert_texture_term_trained(run_dir: Path, weight: float, heard: bool) -> None:
    """The run's generator loss held a positive texture-matching term at every step."""
    config = json.loads((run_dir / "run.json").read_text())["config"]
    assert (config["g_texture_weight"], config["g_texture_heard"]) == (weight, heard)
    logged = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [m for m in logged if "g_total_loss" in m]
    assert len(steps) == 4
    assert all(m["g_total_loss"] > m["g_loss"] + 1e-6 for m in steps)
