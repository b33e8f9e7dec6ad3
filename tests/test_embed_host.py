"""A C++ host that embeds Python (raingan/embed.hpp, raingan::host): it renders rain, and
refuses a module whose RainCore it does not match with one clear line, not a crash."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pybind11
import soundfile as sf
from conftest import REPO

HOST = REPO / "tests" / "native" / "embed_host"


def build_host(source_root: Path, build: Path) -> Path:
    """Configure and build the embedding host under ``source_root`` (a copy of the
    repository's layout); returns the program. The build must be free of warnings."""
    cmake = shutil.which("cmake")
    assert cmake, "cmake is part of the test extra"
    subprocess.run([cmake, "-S", str(source_root / "tests" / "native" / "embed_host"), "-B",
                    str(build), "-DCMAKE_BUILD_TYPE=Release",
                    f"-DPython_EXECUTABLE={sys.executable}",
                    f"-Dpybind11_DIR={pybind11.get_cmake_dir()}"],
                   check=True, capture_output=True, text=True)
    built = subprocess.run([cmake, "--build", str(build)], check=True, capture_output=True,
                           text=True)
    assert "warning:" not in built.stdout + built.stderr, built.stdout + built.stderr
    return build / "raingan_embed_host"


def copy_sources(root: Path) -> Path:
    shutil.copytree(HOST, root / "tests" / "native" / "embed_host")
    shutil.copytree(REPO / "bindings", root / "bindings")
    shutil.copytree(REPO / "examples" / "cpp_host", root / "examples" / "cpp_host")  # wav_file.hpp
    return root


def test_an_embedding_host_renders_rain(tiny_model, tmp_path):
    host = build_host(copy_sources(tmp_path / "src"), tmp_path / "build")
    out = tmp_path / "rain.wav"
    done = subprocess.run([str(host), str(out), "--model", str(tiny_model), "--seconds", "2",
                           "--speed", "4"], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "underruns" in done.stdout
    audio, rate = sf.read(out, dtype="float32")
    assert rate == 48_000 and audio.shape == (96_000, 2)
    assert np.all(np.isfinite(audio)) and 0 < np.abs(audio).max() <= 1.0


def test_a_host_built_against_other_headers_refuses_the_module(tiny_model, tmp_path):
    # The host and its headers as another raingan release would have them: a RainCore ABI
    # version that the installed module does not have.
    root = copy_sources(tmp_path / "src")
    abi_header = root / "bindings" / "include" / "raingan" / "core_abi.hpp"
    text = abi_header.read_text()
    version = int(re.search(r"kRainCoreAbiVersion = (\d+);", text).group(1))
    abi_header.write_text(text.replace(f"kRainCoreAbiVersion = {version};",
                                       f"kRainCoreAbiVersion = {version + 1};"))
    host = build_host(root, tmp_path / "build")

    out = tmp_path / "rain.wav"
    result = subprocess.run([str(host), str(out), "--model", str(tiny_model), "--seconds", "1"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2, result.stderr  # an error, not a crash
    assert "does not match" in result.stderr and f"version {version + 1}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
