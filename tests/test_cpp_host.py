"""The C++ host example builds with CMake against raingan::host and writes rain."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pybind11
import soundfile as sf

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cpp_host"


def test_cpp_host_builds_and_writes_ten_seconds_of_rain(tiny_model, tmp_path):
    cmake = shutil.which("cmake")
    assert cmake, "cmake is part of the test extra"
    build = tmp_path / "build"
    subprocess.run([cmake, "-S", str(EXAMPLE), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                    f"-DPython_EXECUTABLE={sys.executable}",
                    f"-Dpybind11_DIR={pybind11.get_cmake_dir()}"],
                   check=True, capture_output=True, text=True)
    subprocess.run([cmake, "--build", str(build)], check=True, capture_output=True, text=True)
    host = build / "raingan_cpp_host"

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
