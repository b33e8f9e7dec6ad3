"""The C++ host example against a module it does not match: one clear line, no crash.

README's own build-and-run of the example is tests/test_readme.py's."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pybind11
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
