"""The CLI's filter of native log lines: TensorFlow's and absl's C++ chatter goes, the rest
passes through unchanged and in order."""

import subprocess
import sys

import pytest

from raingan.cli.quiet import NATIVE_LOG_LINE

NATIVE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796602304.173377   11697 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "E0000 00:00:1796602304.2   11697 cuda_dnn.cc:8310] Unable to register cuDNN factory",
    "2026-12-07 00:05:06.123456: I tensorflow/core/util/port.cc:153] oneDNN custom operations",
]
OURS = ["raingan: INFO: corpus: 1 signal(s)", "raingan train: error: no audio in DIR",
        "I0000 is not a log line without its time and source",
        "2026-12-07 is not one without its level and source"]


@pytest.mark.parametrize("line", NATIVE)
def test_native_log_lines_are_recognised(line):
    assert NATIVE_LOG_LINE.match(line.encode())


@pytest.mark.parametrize("line", OURS)
def test_other_lines_are_not(line):
    assert not NATIVE_LOG_LINE.match(line.encode())


def write_both(enabled: bool) -> str:
    assert len(NATIVE) == len(OURS)
    """stderr of a process that writes native and own lines to descriptor 2 (as C++ does)
    and through sys.stderr, inside the filter."""
    code = f"""
import os, sys
from raingan.cli.quiet import native_log_filter
with native_log_filter({enabled}):
    for native, ours in zip({NATIVE!r}, {OURS!r}):
        os.write(2, (native + "\\n").encode())
        print(ours, file=sys.stderr)
    os.write(2, b"last line, no newline")
print("after", file=sys.stderr)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_the_filter_drops_native_lines_and_keeps_the_rest_in_order():
    assert write_both(True).splitlines() == [*OURS, "last line, no newlineafter"]


def test_verbose_leaves_stderr_alone():
    lines = write_both(False).splitlines()
    assert all(line in lines for line in NATIVE + OURS)
