"""Issue 37: every bad input gets one line and status 2 (or a typed exception), never a
traceback, a hang, a silent output or a half-replaced folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from raingan.cli import main

RAINGAN = str(Path(sys.executable).with_name("raingan"))


def one_line_error(capsys, argv: list[str]) -> str:
    """Run ``raingan argv`` in this process; assert status 2 and a single stderr line."""
    status = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("argv, option", [
    (["render", "{out}", "--seconds", "1e-9"], "--seconds"),                      # row 1
    (["render", "{out}", "--seconds", "1e-5"], "--seconds"),
    (["render", "{out}", "--seconds", "1e-4", "--sr", "8000"], "--seconds"),
    (["render", "{out}", "--seconds", "1e308"], "--seconds"),                     # row 2
    (["loop", "{out}", "--seconds", "1e308"], "--seconds"),                       # row 3
    (["loop", "{out}", "--seconds", "1e-9"], "--seconds"),                        # row 4
    (["render", "{out}", "--seconds", "1", "--gain-db", "1e6"], "--gain-db"),     # row 5
    (["loop", "{out}", "--seconds", "1", "--gain-db", "6200"], "--gain-db"),
    (["stems", "{dir}", "--count", "1", "--seconds", "1", "--gain-db", "7000"], "--gain-db"),
    (["render", "{out}", "--seconds", "1", "--gain-db", "771"], "--gain-db"),     # row 6
    (["render", "{out}", "--seconds", "1", "--drift-s", "1e300"], "--drift-s"),   # row 7
    (["render", "{out}", "--seconds", "1", "--truncation", "1e-30"], "--truncation"),  # row 8
    (["render", "{out}", "--seconds", "1", "--truncation", "1e-6"], "--truncation"),
    (["render", "{out}", "--seconds", "1", "--seed", "-1"], "--seed"),            # row 9
    (["render", "{out}", "--seconds", "nan"], "--seconds"),
    (["render", "{out}", "--seconds", "1", "--width", "inf"], "--width"),
    (["stems", "{dir}", "--count", "0", "--seconds", "1"], "--count"),
    (["reconstruct", "{out}", "{out}", "--iterations", "1000000000"], "--iterations"),
])
def test_out_of_range_numbers_are_refused_while_parsing(capsys, tmp_path, argv, option):
    out, folder = tmp_path / "out.wav", tmp_path / "st"
    line = one_line_error(capsys, [a.format(out=out, dir=folder) for a in argv])
    assert f"argument {option}: must be" in line
    assert list(tmp_path.iterdir()) == []


def test_every_numeric_option_states_its_range_in_help(capsys):
    from raingan.core import limits

    for command in ("render", "loop", "stems"):
        assert main([command, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert f"output gain, {limits.GAIN_DB}" in text
        for limit in (limits.SEED, limits.SAMPLE_RATE_HZ, limits.TRUNCATION, limits.DRIFT_S):
            assert str(limit) in text, (command, limit)



@pytest.mark.parametrize("argv, option", [
    (["train", "{dir}", "--out", "{run}", "--steps", "0"], "--steps"),
    (["train", "{dir}", "--out", "{run}", "--max-minutes", "-1"], "--max-minutes"),
    (["train", "{dir}", "--out", "{run}", "--max-minutes", "nan"], "--max-minutes"),
    (["train", "{dir}", "--out", "{run}", "--max-minutes", "inf"], "--max-minutes"),
    (["train", "{dir}", "--out", "{run}", "--train-fraction", "0"], "--train-fraction"),
    (["train", "{dir}", "--out", "{run}", "--train-fraction", "1.5"], "--train-fraction"),
    (["train", "{dir}", "--out", "{run}", "--cpu-devices", "0"], "--cpu-devices"),
    (["train", "{dir}", "--out", "{run}", "--batch-size", "0"], "--batch-size"),
    (["train", "{dir}", "--out", "{run}", "--latent-dim", "-4"], "--latent-dim"),
    (["train", "{dir}", "--out", "{run}", "--g-lr", "0"], "--g-lr"),
    (["train", "{dir}", "--out", "{run}", "--d-lr", "nan"], "--d-lr"),
    (["train", "{dir}", "--out", "{run}", "--seed", "-1"], "--seed"),
    (["train", "{dir}", "--out", "{run}", "--g-channels", "128,0,8"], "--g-channels"),
    (["train", "{dir}", "--out", "{run}", "--g-channels", "64"], "--g-channels"),
    (["train", "{dir}", "--out", "{run}", "--g-noise-levels", "-1"], "--g-noise-levels"),
    (["train", "{dir}", "--out", "{run}", "--g-average-decay", "1"], "--g-average-decay"),
    (["train", "{dir}", "--out", "{run}", "--g-texture-weight", "inf"], "--g-texture-weight"),
    (["train", "{dir}", "--out", "{run}", "--g-texture-phase-iterations", "-2"],
     "--g-texture-phase-iterations"),
    (["train", "{dir}", "--out", "{run}", "--checkpoint-every", "0"], "--checkpoint-every"),
    (["train", "{dir}", "--out", "{run}", "--keep-checkpoints", "0"], "--keep-checkpoints"),
    (["export", "{run}", "--out", "{model}", "--opset", "14"], "--opset"),
    (["export", "{run}", "--out", "{model}", "--opset", "99"], "--opset"),
    (["export", "{run}", "--out", "{model}", "--colour-seconds", "-1"], "--colour-seconds"),
    (["export", "{run}", "--out", "{model}", "--colour-seconds", "nan"], "--colour-seconds"),
    (["reconstruct", "{out}", "{out}", "--momentum", "2"], "--momentum"),
])
def test_training_numbers_out_of_range_are_refused_while_parsing(capsys, tmp_path, argv, option):
    names = {"dir": tmp_path / "data", "run": tmp_path / "run", "model": tmp_path / "m.onnx",
             "out": tmp_path / "out.wav"}
    line = one_line_error(capsys, [a.format(**names) for a in argv])
    assert f"argument {option}: must be" in line
    assert list(tmp_path.iterdir()) == []


def numeric_options(parser) -> dict[str, object]:
    """Every option of every subcommand that takes a number ("train --steps": its action)."""
    import argparse

    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update({f"{name} {flag}": option
                              for flag, option in numeric_options(sub).items()})
        elif action.type in (int, float) or getattr(action.type, "range", None) is not None:
            found[action.option_strings[0] if action.option_strings else action.dest] = action
    return found


def test_every_numeric_option_of_every_command_is_ranged_and_says_so(capsys):
    from raingan.cli import build_parser

    options = numeric_options(build_parser())
    assert "train --max-minutes" in options and "export --opset" in options
    for flag, action in options.items():
        if action.choices is not None:  # e.g. --channels 1|2: argparse checks the choice
            continue
        limit = getattr(action.type, "range", None)
        assert limit is not None, f"{flag} takes a number without a range"
        # "0 to 16", or what it allows of it ("0 (none) or 2 to 16").
        low, high = str(limit).split(" to ")
        text = " ".join(action.help.split())
        assert f"to {high}" in text and f"{low} " in text, flag
        with pytest.raises(Exception):  # NaN falls outside every closed range
            action.type("nan")


def test_api_refuses_what_the_cli_refuses():
    from raingan import RenderSettings, RainGANError

    for bad in ({"seconds": 1e-9}, {"seconds": 1e308}, {"seconds": 1, "gain_db": 771},
                {"seconds": 1, "drift_s": 1e300}, {"seconds": 1, "truncation": 1e-30},
                {"seconds": 1, "seed": -1}, {"seconds": 1, "intensity": float("nan")}):
        with pytest.raises(RainGANError) as caught:
            RenderSettings(**bad)
        assert isinstance(caught.value, ValueError)


def test_eval_json_to_a_folder_is_one_line_before_judging(capsys, tmp_path, rain_path):  # row 10
    (tmp_path / "jd").mkdir()
    line = one_line_error(capsys, ["eval", "--ref", rain_path, "--cand", rain_path,
                                   "--json", tmp_path / "jd"])
    assert "is a folder" in line


@pytest.mark.parametrize("extra", [["--subtype", "BOGUS"], ["--format", "flac", "--subtype", "FLOAT"]])
def test_stems_refused_before_the_folder_is_made(capsys, tmp_path, extra):  # row 11
    line = one_line_error(capsys, ["stems", tmp_path / "st", "--count", "1", "--seconds", "1",
                                   *extra])
    assert "cannot hold subtype" in line
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def bundled():
    from raingan import load_model

    return load_model()


def stems_settings():
    from raingan import RenderSettings

    return RenderSettings(seconds=0.5, seed=4, sample_rate_hz=16_000)


def test_stems_replace_the_old_set_whole(tmp_path, bundled):  # row 12
    from raingan import render_stems

    out = tmp_path / "st"
    render_stems(bundled, out, 3, stems_settings())
    render_stems(bundled, out, 1, stems_settings())
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "stem_01.wav"]
    assert [s["file"] for s in json.loads((out / "manifest.json").read_text())["stems"]] == \
        ["stem_01.wav"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["st"]  # no staging left beside it


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failing_stems_run_leaves_the_old_set_or_nothing(tmp_path, bundled, monkeypatch, failure):
    from raingan import render_stems
    from raingan.runtime import stems

    calls = []
    real_write = stems.write_audio

    def failing_write(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise failure
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(stems, "write_audio", failing_write)
    fresh = tmp_path / "fresh"
    with pytest.raises(type(failure)):
        render_stems(bundled, fresh, 3, stems_settings())
    assert list(tmp_path.iterdir()) == []  # no empty folder (row 11)

    monkeypatch.setattr(stems, "write_audio", real_write)
    old = tmp_path / "old"
    render_stems(bundled, old, 2, stems_settings())
    before = {p.name: p.read_bytes() for p in old.iterdir()}
    calls.clear()
    monkeypatch.setattr(stems, "write_audio", failing_write)
    with pytest.raises(type(failure)):
        render_stems(bundled, old, 3, dataclasses_replace_seed(stems_settings(), 9))
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


def dataclasses_replace_seed(settings, seed):
    import dataclasses

    return dataclasses.replace(settings, seed=seed)


def test_stems_will_not_replace_a_folder_of_other_files(capsys, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    line = one_line_error(capsys, ["stems", tmp_path / "mine", "--count", "1", "--seconds", "1"])
    assert "not stems" in line and (tmp_path / "mine" / "notes.txt").exists()


@pytest.mark.parametrize("after_s", [0.3, 1.0, 2.5])
def test_ctrl_c_at_any_moment_is_one_line_and_130(tmp_path, after_s):  # row 13
    # As a terminal starts it: a suite started in the background (`.ci/run &` from a script)
    # hands its children SIGINT ignored, which Python, rightly, keeps ignoring.
    process = subprocess.Popen([RAINGAN, "render", tmp_path / "x.wav", "--seconds", "600"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(after_s)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and err.strip().endswith("interrupted"), err
    assert list(tmp_path.iterdir()) == []


def test_a_ctrl_c_that_an_import_turns_into_another_error_is_still_an_interruption(
        monkeypatch, capsys):
    # A Ctrl-C that lands while an extension module initialises comes back up as ImportError
    # "initialization failed" (seen in CI at 0.3 s); the first Ctrl-C decides the outcome.
    import raingan.cli as cli
    from raingan.cli import analysis

    def broken_import(args):
        try:
            cli._interrupt(signal.SIGINT, None)
        except KeyboardInterrupt:
            raise ImportError("initialization failed")

    monkeypatch.setattr(analysis, "_run_info", broken_import)
    previous = signal.getsignal(signal.SIGINT)
    try:
        assert main(["info"]) == 130
    finally:
        signal.signal(signal.SIGINT, previous)
    assert capsys.readouterr().err.strip() == "raingan info: interrupted"
    # The next run in this process is not taken for an interrupted one.
    monkeypatch.setattr(analysis, "_run_info", lambda args: 1 / 0)
    assert main(["info"]) == 1
    assert "internal error: ZeroDivisionError" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("argv", [["info"], ["info", "default", "--json"]])
def test_unwritable_stdout_is_one_line(argv):  # row 14
    with open("/dev/full", "w") as full:
        result = subprocess.run([RAINGAN, *argv], stdout=full, stderr=subprocess.PIPE,
                                text=True, timeout=120)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], result.stderr


def test_argparse_errors_are_one_line_with_a_hint(capsys, tmp_path):  # row 15
    line = one_line_error(capsys, ["render", tmp_path / "x.wav", "--seconds", "abc"])
    assert line == ("raingan render: error: argument --seconds: invalid float value: 'abc' "
                    "(see raingan render --help)")
    one_line_error(capsys, ["render", tmp_path / "x.wav"])  # a missing required option
    one_line_error(capsys, ["no-such-command"])


# -- RainSource gain (cases A and B) -----------------------------------------------------------

def test_gain_that_overflowed_float_no_longer_silences_the_core():  # case A, at the core
    from raingan import _native

    rate, glide_s = 48_000, 0.02
    core = _native.RainCore(capacity_frames=1 << 16, channels=1, sample_rate_hz=float(rate),
                            loop_capacity_frames=16, fade_frames=16, resume_frames=16,
                            smoothing_s=glide_s)
    core.write(np.full((40_000, 1), 0.1, np.float32))
    core.set_running(True)
    buffer = np.zeros((512, 1), np.float32)
    for gain_db in (800.0, 1e6, float("inf"), float("nan")):
        core.set_gain_db(gain_db)
        core.render(buffer)
        assert np.isfinite(buffer).all() and np.abs(buffer).max() > 0.5
    core.set_gain_db(0.0)
    for _ in range(round(10 * glide_s * rate / 512) + 1):  # ten glide time constants
        core.render(buffer)
    assert np.allclose(buffer, 0.1, rtol=1e-3)


def test_source_refuses_gains_outside_its_range():  # cases A and B, at the API
    import raingan
    from raingan.runtime.stream import StreamSettingsError

    with pytest.raises(StreamSettingsError):
        raingan.RainSource(seed=21, gain_db=1e6)
    source = raingan.RainSource(seed=21).start()
    try:
        for bad in (800.0, 771.0, 1e39, float("nan"), float("inf"), -121.0, "loud"):
            with pytest.raises(ValueError):
                source.gain_db = bad
            assert source.gain_db == 0.0
        buffer = np.zeros((512, 2), np.float32)
        source.render(buffer)
        assert np.abs(buffer).max() > 0
    finally:
        source.stop()


def test_written_file_is_complete(tmp_path):
    # A valid render still writes a whole file (the checks refuse nothing valid).
    out = tmp_path / "ok.wav"
    assert main(["render", str(out), "--seconds", "0.01", "--sr", "8000", "--seed", "1"]) == 0
    assert sf.info(out).frames == 80
