"""The C++ host example against a libraingan it does not match: one clear line, no crash.

README's own build-and-run of the example is tests/test_readme.py's."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

EXAMPLE = REPO / "examples" / "cpp_host"


def build_host(example: Path, build: Path, *options: str) -> Path:
    """Configure and build the host example; returns the program. The build must be free of
    warnings (-Wall -Wextra)."""
    cmake = shutil.which("cmake")
    assert cmake, "cmake is part of the test extra"
    subprocess.run([cmake, "-S", str(example), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                    f"-DPython_EXECUTABLE={sys.executable}", *options],
                   check=True, capture_output=True, text=True)
    built = subprocess.run([cmake, "--build", str(build)], check=True, capture_output=True,
                           text=True)
    assert "warning:" not in built.stdout + built.stderr, built.stdout + built.stderr
    return build / "raingan_cpp_host"


def test_a_host_built_against_another_header_refuses_the_library(tmp_path):
    # The host built with raingan.h as another release would have it: an ABI version that
    # the installed libraingan does not have.
    include = tmp_path / "include"
    include.mkdir()
    text = (REPO / "bindings" / "include" / "raingan.h").read_text()
    version = int(re.search(r"#define RAINGAN_ABI_VERSION (\d+)", text).group(1))
    (include / "raingan.h").write_text(text.replace(f"#define RAINGAN_ABI_VERSION {version}",
                                                    f"#define RAINGAN_ABI_VERSION {version + 1}"))
    host = build_host(EXAMPLE, tmp_path / "build", f"-DRAINGAN_INCLUDE_DIR={include}")

    out = tmp_path / "rain.wav"
    result = subprocess.run([str(host), str(out), "--seconds", "1"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2, result.stderr  # an error, not a crash
    assert "does not match" in result.stderr and f"version {version + 1}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
