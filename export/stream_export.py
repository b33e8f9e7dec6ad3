"""Export of the streaming architecture (:mod:`raingan.training.streaming`): its field
generator as an ONNX graph with dynamic batch and time axes.

The graph reads a latent field (batch, frames, channels) and writes mean images (batch,
height, frames - 2 * context); the runtime adds the speckle
(:mod:`raingan.runtime.field`). Its parity with TensorFlow is checked at two lengths, so a
graph that only works at the training crop's length is refused.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..core.model_meta import FIELD_INPUT_NAME, OUTPUT_NAME, ModelMetadata
from ..runtime.intensity import IntensityAxis
from ..runtime.latent import truncated_normal
from ..training.checkpoint import CheckpointState
from .intensity_fit import fit_intensity_axis
from ..training.streaming import (context_frames, field_channels, field_generator_of,
                                  field_layout)

#: Field lengths of the parity check, in chunk widths: the training crop's and a longer one.
PARITY_WIDTHS = (1, 3)
#: Fields per onnxruntime call while fitting the intensity axis.
INTENSITY_BATCH = 32


def stream_graph(trained, state: CheckpointState, opset: int, batch: int
                 ) -> tuple[Any, Any, float]:
    """(ONNX model, its onnxruntime session, largest |TensorFlow - onnxruntime| over random
    fields) of a trained streaming generator; raises whatever tf2onnx raises."""
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    field_model = field_generator_of(trained)
    channels, context = field_channels(state.config), context_frames(state.spec, state.config)
    signature = [tf.TensorSpec([None, None, channels], tf.float32, name=FIELD_INPUT_NAME)]

    @tf.function(input_signature=signature)
    def generate(field):
        return {OUTPUT_NAME: field_model(field, training=False)}

    model_proto, _ = tf2onnx.convert.from_function(generate, input_signature=signature,
                                                   opset=opset)
    session = onnxruntime.InferenceSession(model_proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    rng, difference = np.random.default_rng(0), 0.0
    for widths in PARITY_WIDTHS:
        frames = widths * state.spec.n_frames + 2 * context
        field = truncated_normal(rng, (batch, frames, channels), state.config.truncation)
        expected = np.asarray(field_model(field, training=False))
        got = session.run([OUTPUT_NAME], {FIELD_INPUT_NAME: field})[0]
        difference = max(difference, float(np.max(np.abs(got - expected)))
                         if got.shape == expected.shape else np.inf)
    return model_proto, session, difference


def stream_intensity_axis(session, state: CheckpointState) -> IntensityAxis:
    """The intensity axis of an exported streaming generator, in its global code: each
    latent's global part held over a crop's field, with fresh local noise
    (:func:`raingan.export.intensity_fit.fit_intensity_axis`)."""
    layout, truncation = field_layout(state.spec, state.config), state.config.truncation
    frames = state.spec.n_frames + 2 * layout.context_frames
    noise_rng = np.random.default_rng(1)

    def images_of(latents: np.ndarray) -> np.ndarray:
        parts = []
        for start in range(0, latents.shape[0], INTENSITY_BATCH):
            part = latents[start:start + INTENSITY_BATCH]
            code = np.repeat(part[:, None, :layout.global_dim], frames, axis=1)
            local = truncated_normal(noise_rng, (part.shape[0], frames, layout.local_dim),
                                     truncation)
            field = np.concatenate([code, local], axis=2).astype(np.float32)
            parts.append(session.run([OUTPUT_NAME], {FIELD_INPUT_NAME: field})[0])
        return np.concatenate(parts)

    return fit_intensity_axis(images_of, state.spec, layout.channels, layout.global_dim,
                              truncation)


def stream_metadata(state: CheckpointState, weights: str, steps: Sequence[int],
                    axis: IntensityAxis) -> ModelMetadata:
    """What an exported streaming generator says about itself."""
    config = state.config
    layout = field_layout(state.spec, config)
    return ModelMetadata(
        spec=state.spec, latent_dim=layout.channels, truncation=config.truncation,
        data_fingerprint=state.data_fingerprint, step=state.step,
        drifting_dims=layout.global_dim, ceiling_db=state.ceiling_db, field=layout,
        intensity=axis.to_dict(),
        training={"architecture": "stream", "loss": config.loss,
                  "g_channels": list(config.g_channels), "d_channels": list(config.d_channels),
                  "stream_dilations": list(config.stream_dilations), "weights": weights,
                  "backend": state.backend,
                  **({"averaged_steps": list(steps)} if len(steps) > 1 else {})})
