"""RainGAN: endless generated rain.

The public surface, importable from ``raingan`` itself:

* generating: :func:`load_model`, :class:`Generator`, :func:`render`,
  :class:`RenderSettings`, :func:`render_loop`, :func:`render_stems`;
* hosts and audio callbacks: :class:`RainSource` and its :class:`SourceStats`;
  :class:`ServedRainSource` (its producer in another process) and its :class:`ServedStats`;
* judging: :func:`evaluate` and its :class:`EvalReport`;
* the representation: :class:`SpectralSpec`;
* errors: :class:`RainGANError`, the base of every error RainGAN raises on bad input.

The stages are subpackages: :mod:`raingan.core` (spec, STFT, phase, stitching, audio I/O),
:mod:`raingan.runtime` (generation and streaming), :mod:`raingan.eval` (the judge),
:mod:`raingan.training` and :mod:`raingan.export` (need the ``train`` extra), the compiled
:mod:`raingan._native`, and the command line, :mod:`raingan.cli`.
"""

from __future__ import annotations

import importlib

# Not `from typing import TYPE_CHECKING`: typing takes 20 ms to import, which every `raingan`
# command would pay before it can handle Ctrl-C.
TYPE_CHECKING = False

__version__ = "0.1.0"

# Loaded on first use, so that `import raingan` (and so the CLI) stays quick and does not load
# onnxruntime or scipy until they are needed.
_PUBLIC = {
    "Generator": "raingan.runtime.generator",
    "load_model": "raingan.runtime.generator",
    "RenderSettings": "raingan.runtime.render",
    "render": "raingan.runtime.render",
    "render_loop": "raingan.runtime.loop",
    "render_stems": "raingan.runtime.stems",
    "RainSource": "raingan.runtime.source",
    "SourceStats": "raingan.runtime.source",
    "ServedRainSource": "raingan.runtime.served_source",
    "ServedStats": "raingan.runtime.served_source",
    "evaluate": "raingan.eval.evaluate",
    "EvalReport": "raingan.eval.report",
    "SpectralSpec": "raingan.core.spec",
    "RainGANError": "raingan.core.errors",
}

__all__ = ["__version__", *_PUBLIC]

if TYPE_CHECKING:
    from typing import Any

    from raingan.core.errors import RainGANError  # noqa: F401
    from raingan.core.spec import SpectralSpec  # noqa: F401
    from raingan.eval.evaluate import evaluate  # noqa: F401
    from raingan.eval.report import EvalReport  # noqa: F401
    from raingan.runtime.generator import Generator, load_model  # noqa: F401
    from raingan.runtime.loop import render_loop  # noqa: F401
    from raingan.runtime.render import RenderSettings, render  # noqa: F401
    from raingan.runtime.served_source import ServedRainSource, ServedStats  # noqa: F401
    from raingan.runtime.source import RainSource, SourceStats  # noqa: F401
    from raingan.runtime.stems import render_stems  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'raingan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
