"""8-bit integer convolutions for an exported generator (``raingan export --int8``).

Static quantization in onnxruntime's QDQ form, of the convolutions at the generator's finest
resolution only (:func:`finest_convolutions`): each kernel is stored as int8 with one scale
per output channel, and its input as int8 with one scale per tensor, measured on the
generator's own activations for :data:`CALIBRATION_BATCHES` batches of fixed latents
(min-max calibration). Coarser convolutions, attention, matrix products and the element-wise
layers stay float. onnxruntime then runs the quantized convolutions as integer kernels (VNNI
on recent x86 CPUs, dot products on Arm).

Why only the finest level: nearest-neighbour upsampling copies each coarse value over a
block of 2, 4 or 8 frames, so a coarse layer's rounding error becomes a block pattern on the
frame grid, which is heard as a loudness line at the block rate (21.5 and 43 Hz for the
bundled model: quantizing every convolution raised its seam periodicity from 3.98 to 4.79 dB
over twenty seeds, and to 3.84 dB with the finest level alone). The finest level holds most
of the convolution work, so it keeps nearly all of the speed: a batch of 16 latents takes
120 ms against 117 ms with every convolution quantized and 149 ms in float
(BENCHMARKS.md, "Int8 export").
The result depends only on the float model and the latents' seed, so it is reproducible.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..runtime.latent import truncated_normal
from ..core.model_meta import INPUT_NAME

if TYPE_CHECKING:  # onnx is imported where it is used, so the runtime does not need it
    import onnx

#: Calibration: batches of latents run through the float model, and their size.
CALIBRATION_BATCHES = 8
CALIBRATION_BATCH_LATENTS = 8
CALIBRATION_SEED = 0


def calibration_latents(latent_dim: int, truncation: float, seed: int = CALIBRATION_SEED
                        ) -> list[np.ndarray]:
    """The latents quantization measures activations on: :data:`CALIBRATION_BATCHES`
    arrays of shape (CALIBRATION_BATCH_LATENTS, latent_dim), float32."""
    rng = np.random.default_rng(seed)
    return [truncated_normal(rng, (CALIBRATION_BATCH_LATENTS, latent_dim), truncation)
            for _ in range(CALIBRATION_BATCHES)]


def finest_convolutions(model: "onnx.ModelProto") -> list[str]:
    """Names of the convolutions at the finest resolution: those whose output has more than
    half the most pixels (height x width) any has. Levels differ by a factor of 4, while
    maps of one level differ by the few wrapped-around time columns some carry.

    Parameters
    ----------
    model : a shape-inferred ONNX model; convolutions whose output shape is unknown are left out

    Returns
    -------
    list of node names, in graph order; empty when no convolution has a known shape.
    """
    shapes = {value.name: [dim.dim_value for dim in value.type.tensor_type.shape.dim]
              for value in [*model.graph.value_info, *model.graph.output]}
    pixels = {}
    for node in model.graph.node:
        shape = shapes.get(node.output[0], [])
        if node.op_type == "Conv" and len(shape) == 4 and shape[2] > 0 and shape[3] > 0:
            pixels[node.name] = shape[2] * shape[3]
    most = max(pixels.values(), default=0)
    return [name for name, count in pixels.items() if 2 * count > most]


def quantize_convolutions(model: bytes, latent_dim: int, truncation: float) -> bytes:
    """The serialized float model ``model`` with its finest convolutions quantized to int8.

    Parameters
    ----------
    model : a serialized ONNX generator (input :data:`INPUT_NAME`, shape (batch,
        latent_dim))
    latent_dim, truncation : its latent size and truncation, for the calibration latents

    Returns
    -------
    bytes, the serialized quantized model; its metadata properties are the float model's.

    Raises
    ------
    ValueError
        if no convolution's output shape can be inferred (nothing to quantize).
    """
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                          QuantFormat, QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Latents(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(calibration_latents(latent_dim, truncation))

        def get_next(self) -> dict | None:
            batch = next(self.batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    props = {p.key: p.value for p in onnx.load_from_string(model).metadata_props}
    with tempfile.TemporaryDirectory(prefix="raingan-int8-") as folder:
        float_path, prepared, quantized = (Path(folder) / name for name in
                                           ("float.onnx", "prepared.onnx", "int8.onnx"))
        float_path.write_bytes(model)
        # Shape inference and constant folding first, as onnxruntime advises, so that every
        # convolution's input has a known shape and gets its own scale.
        quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
        prepared_model = onnx.load(str(prepared))
        finest = finest_convolutions(prepared_model)
        if not finest:
            raise ValueError("no convolution with a known output shape to quantize")
        coarser = [node.name for node in prepared_model.graph.node
                   if node.op_type == "Conv" and node.name not in finest]
        quantize_static(str(prepared), str(quantized), Latents(), nodes_to_exclude=coarser,
                        quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                        per_channel=True, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
        result = onnx.load(str(quantized))
    onnx.helper.set_model_props(result, props)
    return result.SerializeToString()
