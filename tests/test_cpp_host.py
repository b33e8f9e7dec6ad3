"""The C++ host example builds with CMake against raingan::host and writes rain."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pybind11
import soundfile as sf
from conftest import REPO

EXAMPLE = REPO / "examples" / "cpp_host"


def build_host(example: Path, build: Path) -> Path:
    """Configure and build the host example; returns the program. The build must be free of
    warnings (-Wall -Wextra)."""
    cmake = shutil.which("cmake")
    assert cmake, "cmake is part of the test extra"
    subprocess.run([cmake, "-S", str(example), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                    f"-DPython_EXECUTABLE={sys.executable}",
                    f"-Dpybind11_DIR={pybind11.get_cmake_dir()}"],
                   check=True, capture_output=True, text=True)
    built = subprocess.run([cmake, "--build", str(build)], check=True, capture_output=True,
                           text=True)
    assert "warning:" not in built.stdout + built.stderr, built.stdout + built.stderr
    return build / "raingan_cpp_host"


def test_cpp_host_builds_and_writes_ten_seconds_of_rain(tiny_model, tmp_path):
    host = build_host(EXAMPLE, tmp_path / "build")

    out = tmp_path / "rain.wav"
    result = subprocess.run([str(host), str(out), "--model", str(tiny_model), "--speed", "4"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "underruns" in result.stdout
    audio, rate = sf.read(out, dtype="float32")
    assert rate == 48_000 and audio.shape == (480_000, 2)
    assert np.all(np.isfinite(audio)) and np.abs(audio).max() <= 1.0
    assert np.abs(audio[-48_000:]).max() > 0  # rain to the end, not a silent tail

    missing = subprocess.run([str(host), str(tmp_path / "x.wav"), "--model",
                              str(tmp_path / "none.onnx")], capture_output=True, text=True,
                             cwd=tmp_path)
    assert missing.returncode == 2 and "no such model file" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.wav").exists()


def test_a_host_built_against_other_headers_refuses_the_module(tiny_model, tmp_path):
    # The host and its headers as another raingan release would have them: a RainCore ABI
    # version that the installed module does not have.
    copy = tmp_path / "src"
    shutil.copytree(EXAMPLE, copy / "examples" / "cpp_host")
    shutil.copytree(REPO / "bindings", copy / "bindings")
    abi_header = copy / "bindings" / "include" / "raingan" / "core_abi.hpp"
    text = abi_header.read_text()
    version = int(re.search(r"kRainCoreAbiVersion = (\d+);", text).group(1))
    abi_header.write_text(text.replace(f"kRainCoreAbiVersion = {version};",
                                       f"kRainCoreAbiVersion = {version + 1};"))
    host = build_host(copy / "examples" / "cpp_host", tmp_path / "build")

    out = tmp_path / "rain.wav"
    result = subprocess.run([str(host), str(out), "--model", str(tiny_model), "--seconds", "1"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2, result.stderr  # an error, not a crash
    assert "does not match" in result.stderr and f"version {version + 1}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
