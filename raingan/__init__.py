"""RainGAN: endless generated rain.

Stages install as subpackages: :mod:`raingan.runtime` (spec, phase reconstruction,
stitching, evaluation; no TensorFlow), :mod:`raingan.training` and :mod:`raingan.export`
(need the ``train`` extra), and the compiled :mod:`raingan._native`. Hosts use
:class:`raingan.RainSource`.
"""

__version__ = "0.1.0"

__all__ = ["RainSource"]


def __getattr__(name: str):
    # Lazy, so that `import raingan` (the CLI) does not load onnxruntime.
    if name == "RainSource":
        from .runtime.source import RainSource

        return RainSource
    raise AttributeError(f"module 'raingan' has no attribute {name!r}")
