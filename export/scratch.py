"""An exported model's bytes, loaded as a runtime :class:`~raingan.runtime.generator.Generator`
from a temporary file: what the export's fits (colour, level smoothing, drops) render before
the model is written."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..runtime.generator import Generator


@contextmanager
def scratch_generator(serialized: bytes) -> Iterator[Generator]:
    """A CPU Generator of the ONNX bytes ``serialized``; its file goes when the block ends."""
    with tempfile.TemporaryDirectory(prefix="raingan_export_") as folder:
        path = Path(folder) / "model.onnx"
        path.write_bytes(serialized)
        yield Generator(path, device="cpu")
