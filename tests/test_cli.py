"""End-to-end: the `raingan` command through subprocess, as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


# The installed console script, run outside the checkout: from the repository root,
# `python -m raingan` would import the source folder raingan/ instead of the installed package.
RAINGAN = [str(Path(sys.executable).with_name("raingan"))]
DATA = Path(__file__).resolve().parents[1] / "data" / "rain"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*RAINGAN, *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def short_rain(tmp_path_factory, rain_path) -> Path:
    audio, rate = sf.read(rain_path, dtype="float32")
    path = tmp_path_factory.mktemp("audio") / "rain3s.wav"
    sf.write(path, audio[: 3 * rate], rate)
    return path


@pytest.mark.parametrize("command", ["", "reconstruct", "eval", "info", "train", "export",
                                     "render", "loop", "stems"])
def test_every_subcommand_has_help(command):
    result = run(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert "usage: raingan" in result.stdout


def test_render_help_states_the_runtimes_default_drifts():
    # The CLI keeps its imports light, so its help cannot read the constants: this holds the
    # two together.
    from raingan.runtime.stream import DEFAULT_DRIFT_S, FIELD_DRIFT_S

    for command in ("render", "serve"):
        result = run(command, "--help")
        assert (f"(default: the model's, {DEFAULT_DRIFT_S:g} for a chunk model, "
                f"{FIELD_DRIFT_S:g} for a streaming one)") in " ".join(result.stdout.split())


def test_reconstruct_writes_24_bit_audio(short_rain, tmp_path):
    out = tmp_path / "rt.wav"
    result = run("reconstruct", short_rain, out, "--iterations", "4")
    assert result.returncode == 0, result.stderr
    info = sf.info(out)
    assert info.subtype == "PCM_24"
    assert info.frames == sf.info(short_rain).frames
    assert list(tmp_path.iterdir()) == [out]


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make_input, message", [
    (lambda d: d / "missing.wav", "no such file"),
    (lambda d: write_bytes(d / "corrupt.wav", b"RIFF\x00\x00garbage" * 10), "not readable as audio"),
    (lambda d: write_bytes(d / "notes.txt", b"not audio at all"), "not readable as audio"),
    (lambda d: _write_wav(d / "silent.wav", np.zeros((44100, 1))), "is silent"),
    (lambda d: _write_wav(d / "short.wav", 0.1 * np.ones((1000, 1))), "shorter than one chunk"),
    (lambda d: _write_wav(d / "many.wav", 0.1 * np.ones((44100, 12))), "12 channels is not supported"),
])
def test_reconstruct_bad_input_gets_one_line_and_writes_nothing(tmp_path, make_input, message):
    source = make_input(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run("reconstruct", source, out_dir / "x.wav", "--iterations", "1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert list(out_dir.iterdir()) == []


def _write_wav(path: Path, audio: np.ndarray) -> Path:
    sf.write(path, audio.astype(np.float32), 44100)
    return path


@pytest.mark.parametrize("spec_json, message", [
    ({"hop_length": 2048}, "larger than win_length"),
    ({"win_length": 4096}, "larger than n_fft"),
    ({"n_fft": "big"}, "n_fft must be a positive integer"),
])
def test_reconstruct_refuses_inconsistent_specs(short_rain, tmp_path, spec_json, message):
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec_json))
    result = run("reconstruct", short_rain, tmp_path / "x.wav", "--spec", spec_path)
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "x.wav").exists()


def test_reconstruct_to_unwritable_place_fails_cleanly(short_rain, tmp_path):
    result = run("reconstruct", short_rain, tmp_path / "no" / "such" / "dir.wav", "--iterations", "1")
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.fixture(scope="module")
def rain_halves(tmp_path_factory) -> tuple[Path, Path]:
    """8 s of a textured stereo recording as reference, the next 6 s as candidate."""
    audio, rate = sf.read(DATA / "megaglest_birch_forest.ogg", dtype="float32")
    folder = tmp_path_factory.mktemp("halves")
    sf.write(folder / "ref.wav", audio[: 8 * rate], rate)
    sf.write(folder / "cand.flac", audio[8 * rate: 14 * rate], rate)
    return folder / "ref.wav", folder / "cand.flac"


def test_eval_prints_a_table_and_writes_json_and_png(rain_halves, tmp_path):
    ref, cand = rain_halves
    report, png = tmp_path / "report.json", tmp_path / "eval.png"
    result = run("eval", "--ref", ref, "--cand", cand, "--noise-baseline", "--json", report,
                 "--plot", png)
    assert result.returncode == 0, result.stderr
    assert "MEAN" in result.stdout and "cand.flac" in result.stdout
    assert "noise twin: cand.flac" in result.stdout
    scores = json.loads(report.read_text())
    real = scores["overall"]["mean_distance"]
    noise = scores["noise_overall"]["mean_distance"]
    assert 0 < real < noise  # real rain is closer to its own reference than coloured noise
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.png", "report.json"]


def test_eval_json_to_stdout_is_the_only_output(rain_halves):
    ref, cand = rain_halves
    result = run("eval", "--ref", ref, "--cand", cand, "--json", "-")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert set(scores["overall"]["distances"]) == set(scores["groups"])


@pytest.mark.parametrize("make_input, message", [
    (lambda d: d / "missing.wav", "no such file"),
    (lambda d: write_bytes(d / "corrupt.wav", b"RIFF\x00\x00garbage" * 10), "not readable as audio"),
    (lambda d: _write_wav(d / "silent.wav", np.zeros((44100 * 2, 1))), "is silent"),
    (lambda d: _write_wav(d / "short.wav", 0.1 * np.ones((4410, 1))), "too short"),
])
def test_eval_bad_input_gets_one_line_and_writes_nothing(rain_halves, tmp_path, make_input,
                                                         message):
    ref, _ = rain_halves
    bad = make_input(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    result = run("eval", "--ref", ref, "--cand", bad, "--json", out / "r.json",
                 "--plot", out / "p.png")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and bad.name in lines[0], result.stderr
    assert list(out.iterdir()) == []


def test_info_describes_installation_spec_and_audio(short_rain):
    installation = run("info", "--json")
    assert installation.returncode == 0
    assert "CPUExecutionProvider" in json.loads(installation.stdout)["onnxruntime providers"]
    spec = run("info", "article")
    assert spec.returncode == 0 and "256 x 256" in spec.stdout
    audio = json.loads(run("info", short_rain, "--json").stdout)
    assert audio["sample_rate_hz"] == 44100 and audio["channels"] == 1


def test_info_summarises_the_bundled_models_long_lists():
    from raingan.runtime.generator import default_model_path

    text = run("info", default_model_path())
    assert text.returncode == 0
    assert "raingan.ceiling_db:" in text.stdout and "512 values" in text.stdout
    facts = json.loads(run("info", default_model_path(), "--json").stdout)
    assert len(facts["raingan.ceiling_db"]) == 512  # JSON keeps every value


def test_info_refuses_a_non_raingan_model(tmp_path):
    fake = tmp_path / "fake.onnx"
    fake.write_bytes(b"not a model")
    result = run("info", fake)
    assert result.returncode == 2 and "not a readable ONNX model" in result.stderr


def test_importing_the_runtime_never_imports_tensorflow():
    code = ("import sys, raingan.runtime, raingan.core.phase, raingan.core.roundtrip, "
            "raingan.eval.evaluate, raingan.cli; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_install_has_one_namespace_and_the_native_module():
    code = ("import importlib.metadata as m, raingan._native; "
            "tops = {f.parts[0] for f in m.files('raingan') if len(f.parts) > 1 "
            "and not f.parts[0].endswith('.dist-info') and f.parts[0] != '..'}; print(sorted(tops))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['raingan']"


def test_round_trip_example_runs(tmp_path):
    example = Path(__file__).resolve().parents[1] / "examples" / "round_trip_and_judge.py"
    out = tmp_path / "trip.wav"
    result = subprocess.run([sys.executable, str(example), str(DATA / "flightgear_rain.wav"),
                             str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "its round trip" in result.stdout
    assert sf.info(out).frames > 0
