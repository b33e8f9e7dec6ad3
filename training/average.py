"""A moving average of the generator's weights: the generator that gets scored and exported.

A GAN generator wanders around the solution its discriminator pushes it to: on the cpu
preset, checkpoints 500 steps apart scored texture distances from 0.46 to 0.69. Averaging
its weights over the last few hundred steps (Yazici et al. 2019; StyleGAN, BigGAN) keeps the
centre of that wander. The decay ramps up, ``min(decay, (1 + t) / (10 + t))`` at the
average's ``t``-th step (TensorFlow's ExponentialMovingAverage rule), so the weights it starts
from are soon forgotten: a run's random initial weights, or those of the checkpoint a resumed
run turns the average on at.

The same holds for an equal-weight mean of a few saved checkpoints (:func:`mean_generator`,
``raingan export --checkpoint A --checkpoint B ...``; stochastic weight averaging, Izmailov
et al. 2018): it can span a wander longer than a decay ramped up from a late start reaches.
In the cpu preset's sound-itself fine-tune neither scored better than the raw checkpoints,
and the mean scored worse (BENCHMARKS.md, "Generator architecture").

Weights average; statistics do not. Batch norm's moving statistics and the spectral norm's
power-iteration vectors belong to the raw weights, so both measure them afresh on the
averaged weights (:func:`measure_statistics`, "standing statistics", BigGAN).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from ..runtime.latent import truncated_normal

#: Latents per batch, and batches, run through the averaged model to measure its statistics.
STATISTICS_BATCH, STATISTICS_BATCHES = 64, 4


def average_decay(decay: float, steps_averaged: int) -> float:
    """The decay applied after ``steps_averaged`` earlier updates: ramps from 0.1 up to
    ``decay``."""
    return min(decay, (1.0 + steps_averaged) / (10.0 + steps_averaged))


class GeneratorAverage:
    """Exponential moving average of a generator's trainable weights.

    Parameters
    ----------
    model : a generator of the same architecture; it holds the averaged weights whenever
        :meth:`materialise` has run, and is what gets saved, scored and exported
    decay : the largest decay per step, in (0, 1)
    truncation : latent truncation, for the latents that measure the statistics
    seed : seed of those latents

    Attributes
    ----------
    first_step : the run's step (0-based) of the average's first update: its decay ramps up
        from there
    """

    def __init__(self, model: keras.Model, decay: float, truncation: float, seed: int):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"average decay must be in (0, 1), got {decay}")
        self.model, self.decay = model, decay
        self.truncation, self.seed = truncation, seed
        self.values = [np.array(keras.ops.convert_to_numpy(v.value), dtype=np.float32)
                       for v in model.trainable_variables]
        self.first_step = 0

    def start_from(self, weights: list[np.ndarray], step: int = 0) -> None:
        """Begin the average at these weights, before the run's ``step`` (0-based)."""
        self._check(weights)
        self.values = [np.array(w, dtype=np.float32) for w in weights]
        self.first_step = step

    def update(self, weights: list[np.ndarray], step: int) -> None:
        """Fold in the generator's trainable weights after ``step`` (0-based)."""
        self._check(weights)
        decay = np.float32(average_decay(self.decay, step - self.first_step))
        for average, weight in zip(self.values, weights):
            average *= decay
            average += (1.0 - decay) * np.asarray(weight, dtype=np.float32)

    def materialise(self, fixed_values: list[np.ndarray], step: int) -> keras.Model:
        """Load the averaged weights into :attr:`model` and measure its statistics.

        ``fixed_values`` are the raw generator's non-trainable values (batch norm statistics,
        power-iteration vectors): they start the measurement (:func:`measure_statistics`).
        """
        return _load_and_measure(self.model, self.values, fixed_values, self.truncation,
                                 (self.seed, step))

    def load(self, path: Path, first_step: int = 0) -> None:
        """Continue an average saved with the averaged model's ``save_weights``, begun at the
        run's ``first_step``."""
        self.model.load_weights(path)
        self.first_step = first_step
        self.values = [np.array(keras.ops.convert_to_numpy(v.value), dtype=np.float32)
                       for v in self.model.trainable_variables]

    def _check(self, weights: list[np.ndarray]) -> None:
        _check_fit(weights, [a.shape for a in self.values])


def _check_fit(weights: list[np.ndarray], shapes: list[tuple[int, ...]]) -> None:
    if len(weights) != len(shapes) or any(
            np.shape(w) != tuple(shape) for w, shape in zip(weights, shapes)):
        raise ValueError("weights do not fit the averaged generator")


def mean_generator(model: keras.Model, weight_sets: list[list[np.ndarray]],
                   fixed_values: list[np.ndarray], truncation: float, seed: int) -> keras.Model:
    """Load the equal-weight mean of several generators' trainable weights into ``model``
    and measure its statistics.

    Parameters
    ----------
    model : a generator of the same architecture
    weight_sets : each generator's trainable weights, in ``model.trainable_variables`` order
    fixed_values : non-trainable values that start the measurement (the last generator's)
    truncation, seed : of the latents that measure the statistics
    """
    if not weight_sets:
        raise ValueError("no generators to average")
    shapes = [tuple(v.shape) for v in model.trainable_variables]
    for weights in weight_sets:
        _check_fit(weights, shapes)
    mean = [np.mean([np.asarray(weights[i], np.float64) for weights in weight_sets],
                    axis=0).astype(np.float32) for i in range(len(shapes))]
    return _load_and_measure(model, mean, fixed_values, truncation, (seed, len(weight_sets)))


def _load_and_measure(model: keras.Model, values: list[np.ndarray],
                      fixed_values: list[np.ndarray], truncation: float,
                      seed: tuple[int, int]) -> keras.Model:
    for variable, value in zip(model.trainable_variables, values, strict=True):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, fixed_values, strict=True):
        variable.assign(value)
    measure_statistics(model, truncation, np.random.default_rng([*seed, 0x57A7]))
    return model


def measure_statistics(model: keras.Model, truncation: float, rng: np.random.Generator) -> None:
    """Measure a generator's batch-norm statistics (and advance its power iterations) on its
    present weights: :data:`STATISTICS_BATCHES` training-mode batches of random latents, each
    batch's statistics taken whole, so the last batch's are kept."""
    norms = [layer for layer in model.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    try:
        for layer in norms:
            layer.momentum = 0.0
        for _ in range(STATISTICS_BATCHES):
            z = truncated_normal(rng, (STATISTICS_BATCH, model.input_shape[-1]), truncation)
            model(z, training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
