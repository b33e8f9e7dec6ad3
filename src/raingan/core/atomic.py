"""Outputs that appear whole or not at all: write to a temporary file beside, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import OutputPathError

# mkstemp creates files readable by their owner only; a finished output gets the permissions
# any other new file would (0666 less the umask). Reading the umask means setting it, so it is
# read once, at import.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    If the block raises, the temporary file is removed and the exception propagates, so
    ``path`` is never left half-written (an existing file there stays as it was).

    Parameters
    ----------
    path : the output to create or replace
    suffix : suffix of the temporary file, for writers that pick a format by suffix

    Raises
    ------
    OutputPathError
        If the folder does not exist or a file cannot be created in it.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputPathError(f"{path}: folder {folder} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=folder)
    except OSError as exc:
        raise OutputPathError(f"{path}: cannot write ({exc.strerror})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
