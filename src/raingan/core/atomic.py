"""Outputs that appear whole or not at all: write to a temporary file beside, then rename."""

from __future__ import annotations

import contextlib
import os
import shutil
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
    folder = check_output_path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=folder)
    except OSError as exc:
        raise OutputPathError(f"{path}: cannot write ({exc.strerror})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        try:
            os.replace(tmp, path)
        except OSError as exc:  # e.g. a folder of that name appeared meanwhile
            raise OutputPathError(f"{path}: cannot write ({exc.strerror})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_output_path(path: str | os.PathLike, folder_ok: bool = False) -> Path:
    """Refuse an output ``path`` that cannot be created; returns its folder.

    Callers check before the work that makes the output, so that a typo costs nothing.

    Raises
    ------
    OutputPathError
        The folder does not exist, or ``path`` is a folder (unless ``folder_ok``).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputPathError(f"{path}: folder {folder} does not exist")
    if path.is_dir() and not folder_ok:
        raise OutputPathError(f"{path}: is a folder; give a file name")
    if path.exists() and not path.is_dir() and folder_ok:
        raise OutputPathError(f"{path}: is a file; give a folder name")
    return folder


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; if the block succeeds, it replaces
    ``path`` (and whatever folder was there) whole.

    A failure or Ctrl-C leaves the old folder as it was, or no folder if there was none:
    never an empty or half-filled one, never old files mixed with new.

    Raises
    ------
    OutputPathError
        If the parent folder does not exist, ``path`` is a file, or nothing can be created.
    """
    path = Path(path)
    folder = check_output_path(path, folder_ok=True)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=folder))
    except OSError as exc:
        raise OutputPathError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_UMASK)
        _swap_in(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging: Path, path: Path) -> None:
    """Rename ``staging`` to ``path``, moving a folder already there out of the way first."""
    old = None
    try:
        if path.is_dir():
            # rename(2) replaces an empty folder: a fresh one reserves a unique name.
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old)
        os.replace(staging, path)
    except BaseException as exc:
        if old is not None and not path.exists():
            os.replace(old, path)
            old = None
        if isinstance(exc, OSError):
            raise OutputPathError(f"{path}: cannot write ({exc.strerror})") from None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
