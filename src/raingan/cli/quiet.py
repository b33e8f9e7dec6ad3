"""TensorFlow's native start-up chatter kept off the user's terminal.

TensorFlow and XLA log from C++ through absl straight to file descriptor 2 (CUDA probing on
machines without a GPU, "All log messages before absl::InitializeLog() ..."), before and
regardless of ``TF_CPP_MIN_LOG_LEVEL``. :func:`native_log_filter` routes descriptor 2
through a pipe and drops the lines in those formats; everything else, the CLI's own progress,
warnings and one-line errors included, passes through unchanged.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from typing import Iterator

#: absl (``I0000 00:00:1796602304.173377   11697 file.cc:31] ...``), TensorFlow's older
#: format (``2026-12-07 00:05:06.123456: I tensorflow/...``) and absl's preamble.
NATIVE_LOG_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:[\d.]+\s+\d+ \S+:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)")


def _forward(read_fd: int, write_fd: int) -> None:
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = [line + b"\n" for line in lines if not NATIVE_LOG_LINE.match(line)]
            if kept:
                os.write(write_fd, b"".join(kept))
        if pending and not NATIVE_LOG_LINE.match(pending):
            os.write(write_fd, pending)


@contextlib.contextmanager
def native_log_filter(enabled: bool = True) -> Iterator[None]:
    """Within the block, drop native log lines written to file descriptor 2.

    Parameters
    ----------
    enabled : False leaves stderr alone (``--verbose``)
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    original = os.dup(2)
    read_fd, write_fd = os.pipe()
    forwarder = threading.Thread(target=_forward, args=(read_fd, original), daemon=True,
                                 name="raingan-stderr-filter")
    forwarder.start()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end: the forwarder drains and ends
        forwarder.join(timeout=5.0)
        os.close(original)
