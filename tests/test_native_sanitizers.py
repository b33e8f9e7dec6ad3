"""The ring buffer and RainCore without Python (tests/native/test_ring_core.cpp), built three
ways with g++: plain, under ThreadSanitizer, and under AddressSanitizer with UBSan. The
program's threads race a producer, the audio thread, loop installs and controls; the
sanitizers report what the assertions cannot see (a data race, an access out of bounds)."""

import os
import platform
import shutil
import subprocess

import pytest
from conftest import REPO

from raingan._native import RainCore

SOURCE = REPO / "tests" / "native" / "test_ring_core.cpp"
INCLUDE = REPO / "bindings" / "include"
# -Werror: the headers are compiled into every host, so a warning here is one there.
COMMON_FLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pthread"]
SANITIZED_FLAGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]
BUILD_FLAGS = {
    "plain": ["-O2"],
    "thread": [*SANITIZED_FLAGS, "-fsanitize=thread"],
    "address,undefined": [*SANITIZED_FLAGS, "-fsanitize=address,undefined"],
}
SANITIZER_OPTIONS = {"TSAN_OPTIONS": "halt_on_error=1 second_deadlock_stack=1",
                     "ASAN_OPTIONS": "detect_leaks=1 strict_string_checks=1",
                     "UBSAN_OPTIONS": "print_stacktrace=1 halt_on_error=1"}
REPORTS = ("WARNING: ThreadSanitizer", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
           "runtime error:", "FATAL: ThreadSanitizer")


def without_address_randomisation() -> list[str]:
    """A command prefix that turns address randomisation off, where the system allows it:
    GCC 12's ThreadSanitizer cannot place its shadow memory under the 32 random mmap bits of
    recent kernels. Empty where setarch is missing or not permitted."""
    setarch = shutil.which("setarch")
    if setarch is None:
        return []
    prefix = [setarch, platform.machine(), "-R"]
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    return prefix if probe.returncode == 0 else []


def build_and_run(build: str, tmp_path) -> str:
    compiler = shutil.which("g++")
    assert compiler, "g++ builds the native tests"
    binary = tmp_path / "test_ring_core"
    compiled = subprocess.run([compiler, *COMMON_FLAGS, *BUILD_FLAGS[build], f"-I{INCLUDE}",
                               str(SOURCE), "-o", str(binary)], capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    result = subprocess.run([*without_address_randomisation(), str(binary)],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, **SANITIZER_OPTIONS})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not any(report in output for report in REPORTS), output
    assert "all checks passed" in output
    return output


@pytest.mark.parametrize("build", BUILD_FLAGS)
def test_ring_and_core_pass_and_sanitizers_stay_silent(build, tmp_path):
    output = build_and_run(build, tmp_path)
    # A separately compiled program agrees with the installed module on RainCore, as a C++
    # host must (raingan/core_abi.hpp); instrumentation changes no layout.
    abi_line = next(line for line in output.splitlines() if line.startswith("rain_core_abi"))
    version, size, align, tag = (int(v) for v in abi_line.split()[1:])
    assert RainCore.abi() == {"version": version, "core_size_bytes": size,
                              "core_align_bytes": align, "layout_tag": tag}
