"""The VST3 and CLAP plugins (bindings/dpf) in real hosts: `raingan plugin install --format`
into temporary folders, then the VST3 in Spotify's pedalboard (JUCE's VST3 hosting) and the
CLAP in a small CLAP host (tests/native/clap_host.c), each playing at real time.

The build needs DPF's sources (Debian: dpf-source, which .ci/run installs); a package built
without them fails here with the line that says so."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

BIN = Path(sys.executable).parent
RATE = 48_000
CLAP_HEADERS = Path("/usr/share/dpf/distrho/src")
#: name, minimum, maximum, default, as the LV2 plugin's ports have them.
KNOBS = [("Intensity", 0.0, 1.0, 0.5), ("Gain", -120.0, 24.0, 0.0), ("Width", 0.0, 1.0, 1.0),
         ("Seed", 0.0, 16777215.0, 0.0), ("On", 0.0, 1.0, 1.0)]


def install(fmt: str, prefix: Path) -> Path:
    result = subprocess.run([str(BIN / "raingan"), "plugin", "install", "--format", fmt,
                             "--prefix", str(prefix)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.split(" in ", 1)[1].strip())


@pytest.fixture(scope="module")
def plugins(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plugins")
    return {fmt: install(fmt, root / fmt) for fmt in ("vst3", "clap")}


def producers(parent: int) -> set[int]:
    """The pids of the `raingan serve` processes whose parent is ``parent``."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if ppid == parent and b"serve" in command:
            found.add(int(stat.parent.name))
    return found


def assert_rain(samples: np.ndarray) -> None:
    assert np.all(np.isfinite(samples)) and np.abs(samples).max() <= 1.0
    assert np.sqrt(np.mean(samples ** 2)) > 1e-3
    # No click: no step between samples far beyond what the rain itself has.
    steps = np.abs(np.diff(samples, axis=0))
    assert steps.max() < 20 * np.percentile(steps, 99.9)


def test_install_lays_out_a_vst3_bundle_and_a_clap_folder(plugins):
    binary = plugins["vst3"] / "Contents" / "x86_64-linux"
    assert plugins["vst3"].name == "raingan.vst3"
    assert {p.name for p in binary.iterdir()} == {"raingan.so", "libraingan.so", "raingan-python"}
    assert {p.name for p in plugins["clap"].iterdir()} == {"raingan.clap", "libraingan.so",
                                                            "raingan-python"}
    assert Path((binary / "raingan-python").read_text().strip()).parent == BIN


def clap_host(tmp_path: Path) -> Path:
    host = tmp_path / "clap_host"
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", f"-I{CLAP_HEADERS}",
                    str(REPO / "tests" / "native" / "clap_host.c"), "-ldl", "-o", str(host)],
                   check=True, timeout=120)
    return host


def play_clap(host: Path, plugin: Path, out: Path, *seeds: int, seconds: float = 3.0
              ) -> tuple[str, list[set[int]]]:
    """Runs the CLAP host; returns its output and the producer processes it had, polled."""
    process = subprocess.Popen([str(host), str(plugin / "raingan.clap"), str(out), str(seconds),
                                *map(str, seeds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    seen = []
    deadline = time.monotonic() + 150
    while process.poll() is None and time.monotonic() < deadline:
        seen.append(producers(process.pid))
        time.sleep(0.1)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    return stdout, seen


def test_the_clap_plays_rain_in_a_clap_host_and_changes_seed_without_a_click(plugins, tmp_path):
    host = clap_host(tmp_path)
    out = tmp_path / "switched.f32"
    text, seen = play_clap(host, plugins["clap"], out, 3, 9)
    lines = text.splitlines()
    assert lines[0] == 'descriptor org.raingan.rain "RainGAN" features instrument ambient stereo'
    params = [line.split() for line in lines if line.startswith("param ")]
    assert [(p[1], *map(float, p[2:5])) for p in params[:5]] == KNOBS
    assert [(p[1], p[-1]) for p in params[5:]] == [("Underruns", "output"), ("Producer", "output")]
    # Activation started seed 0's stream and the first block's event asked for seed 3: a
    # second producer. The seed moved to 9 halfway: a third. Each new one was crossfaded to
    # and the one before it went.
    assert lines[-1] == "underruns 0 producer 2 children 1"
    # The host timed each recorded block's process() call (benchmarks/clap_run.py reads it).
    timing = lines[-2].split()
    assert timing[:2] == ["process", "us"] and timing[2::2] == ["p50", "p99", "p99.9", "max"]
    durations_us = [float(v) for v in timing[3::2]]
    assert 0.0 < durations_us[0] and durations_us == sorted(durations_us)
    assert len(set().union(*seen)) == 3
    assert_rain(np.fromfile(out, np.float32).reshape(-1, 2))


def test_two_clap_instances_with_different_seeds_play_different_rain(plugins, tmp_path):
    host = clap_host(tmp_path)
    first, second = tmp_path / "a.f32", tmp_path / "b.f32"
    play_clap(host, plugins["clap"], first, 3, seconds=1.0)
    play_clap(host, plugins["clap"], second, 4, seconds=1.0)
    a = np.fromfile(first, np.float32).reshape(-1, 2)
    b = np.fromfile(second, np.float32).reshape(-1, 2)
    n = min(len(a), len(b))
    assert abs(np.corrcoef(a[:n, 0], b[:n, 0])[0, 1]) < 0.2


def test_a_clap_destroyed_while_a_new_stream_starts_ends_at_once(plugins, tmp_path):
    # Activation starts seed 0's stream; the block asks for seed 5, whose stream the plugin's
    # starter thread is still waiting for when the host destroys the plugin.
    text, seen = play_clap(clap_host(tmp_path), plugins["clap"], tmp_path / "none.f32", 5,
                           seconds=0.0)
    assert max(map(len, seen)) == 2  # both producers ran
    ended = re.fullmatch(r"destroyed in ([0-9.]+) s, (\d+) children left", text.splitlines()[-1])
    assert ended and float(ended[1]) < 5.0  # not the 120 s a producer's start may take
    assert ended[2] == "0"


def test_the_vst3_plays_rain_in_pedalboard(plugins):
    import pedalboard

    plugin = pedalboard.load_plugin(str(plugins["vst3"]))
    assert plugin.is_instrument and plugin.name == "RainGAN"
    names = list(plugin.parameters)
    assert names == ["intensity", "gain_db", "width", "seed", "on", "underruns", "producer"]
    gain = plugin.parameters["gain_db"]
    assert (gain.min_value, gain.max_value) == (-120.0, 24.0)

    def block(seconds: float = 0.1) -> np.ndarray:  # pedalboard's instrument call, paced
        started = time.monotonic()
        out = plugin([], duration=seconds, sample_rate=RATE, num_channels=2, buffer_size=512,
                     reset=False)
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        return out

    # pedalboard shows the host's parameter values, not what the plugin writes to its
    # outputs: wait for sound instead of the producer parameter.
    deadline = time.monotonic() + 90
    while not np.any(block()) and time.monotonic() < deadline:
        pass
    for _ in range(10):  # a second for the ring to fill
        block()
    played = np.concatenate([block() for _ in range(20)], axis=1).T
    assert_rain(played)
    first = producers(os.getpid())
    plugin.seed = 11
    plugin.gain_db = -12.0
    after = np.concatenate([block() for _ in range(30)], axis=1).T
    assert_rain(after)
    # The seed made a new stream: another producer process, and the first one goes once the
    # new one streams (which, on a loaded machine, can take longer than the blocks above).
    deadline = time.monotonic() + 20
    while len(producers(os.getpid())) > 1 and time.monotonic() < deadline:
        block()
    assert len(first) == 1 and len(producers(os.getpid())) == 1
    assert producers(os.getpid()) != first
    quieter = np.sqrt(np.mean(after[-RATE:] ** 2)) / np.sqrt(np.mean(played ** 2))
    assert 0.1 < quieter < 0.5  # -12 dB is 0.25, give or take the rain's own level
