"""RainGAN: endless generated rain.

Stages install as subpackages: :mod:`raingan.runtime` (spec, phase reconstruction,
stitching, evaluation; no TensorFlow), :mod:`raingan.training` and :mod:`raingan.export`
(need the ``train`` extra), and the compiled :mod:`raingan._native`.
"""

__version__ = "0.1.0"
