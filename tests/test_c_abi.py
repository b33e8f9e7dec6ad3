"""The C ABI (raingan.h, libraingan) from a C program, as a game engine calls it: every bad
argument gets an error code, audio is finite and within [-1, 1], instances are independent,
and a producer killed with SIGKILL is back within 2 s while the fallback loop covers the gap
(tests/native/test_c_abi.c, built here against the installed library and header)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_leaving_no_ring

import raingan

PACKAGE = Path(raingan.__file__).parent
SOURCE = REPO / "tests" / "native" / "test_c_abi.c"


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    assert compiler, "a C compiler builds the C ABI test"
    assert (PACKAGE / "libraingan.so").is_file() and (PACKAGE / "include" / "raingan.h").is_file()
    binary = tmp_path_factory.mktemp("c_abi") / "test_c_abi"
    # Plain C11 with every warning an error: the header must be clean C for any engine.
    built = subprocess.run([compiler, "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                            "-O1", str(SOURCE), f"-I{PACKAGE / 'include'}", f"-L{PACKAGE}",
                            "-lraingan", f"-Wl,-rpath,{PACKAGE}", "-lm", "-o", str(binary)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    return binary


def run_case(program: Path, case: str, timeout: float) -> str:
    result = run_leaving_no_ring([str(program), case, sys.executable], timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "all checks passed" in output
    print(output)  # its figures, with -s (BENCHMARKS.md, "The C ABI")
    return output


def test_every_bad_argument_gets_an_error_code(program):
    run_case(program, "arguments", timeout=60)


def test_audio_is_finite_bounded_and_rain_in_every_buffer(program):
    output = run_case(program, "audio", timeout=180)
    assert "audio: underruns" in output


def test_a_killed_producer_is_back_within_2_s_and_the_loop_covers_the_gap(program):
    output = run_case(program, "killed", timeout=240)
    assert "killed: producer back (attached) after" in output


def test_a_hung_producer_is_replaced_after_5_s_without_a_heartbeat(program):
    output = run_case(program, "hung", timeout=240)
    assert "hung: producer replaced" in output


def test_two_instances_make_two_streams(program):
    run_case(program, "instances", timeout=240)


def test_a_bad_model_fails_with_the_producers_reason(program, tmp_path):
    # Not an ONNX file: the producer starts, cannot load it, says why in the ring and exits 2;
    # the handle reports PRODUCER_FAILED and does not restart it.
    fake = tmp_path / "fake.onnx"
    fake.write_bytes(b"not a model")
    code = f"""
import ctypes, sys
lib = ctypes.CDLL({str(PACKAGE / "libraingan.so")!r})
class Config(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("sample_rate_hz", ctypes.c_uint32),
                ("channels", ctypes.c_uint32), ("seed", ctypes.c_uint64),
                ("latency_ms", ctypes.c_double), ("model_path", ctypes.c_char_p),
                ("python_path", ctypes.c_char_p)]
config = Config()
assert lib.raingan_config_init(ctypes.byref(config)) == 0
assert config.struct_size == ctypes.sizeof(Config)
config.model_path = {str(fake).encode()!r}
config.python_path = {sys.executable.encode()!r}
handle = ctypes.c_void_p()
assert lib.raingan_create(ctypes.byref(config), ctypes.byref(handle)) == 0
status = lib.raingan_wait_ready(handle, 120000)
message = ctypes.create_string_buffer(256)
lib.raingan_producer_message(handle, message, 256)
print(status, message.value.decode())
assert lib.raingan_destroy(handle) == 0
"""
    result = run_leaving_no_ring([sys.executable, "-c", code], 120,
                                 env={**os.environ, "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr
    status, message = result.stdout.strip().split(" ", 1)
    assert status == "8"  # RAINGAN_ERROR_PRODUCER_FAILED
    assert "fake.onnx: not a readable ONNX model" in message
