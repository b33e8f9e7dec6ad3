"""One GAN training step (a discriminator update, then a generator update), per backend.

The models and losses are backend-neutral; only taking gradients differs. TensorFlow uses
GradientTape and stateful optimizers, which is what tf.distribute replicates and all-reduces.
JAX uses pure functions over variable values (``stateless_call``, ``stateless_apply``),
compiled once with jax.jit. Both return the same metrics and leave the Keras variables
holding the trained values after :meth:`sync_to_models`, so checkpoints are interchangeable.
"""

from __future__ import annotations

from typing import Any, Protocol

import keras
import numpy as np
from keras import ops

from .config import ConfigError, TrainConfig
from .corpus import Batch
from .losses import discriminator_loss, generator_loss, gradient_penalty, interpolate, r1_penalty
from .reanalysis import Reanalysis
from .cochlear import CochlearTarget, CochlearTexture
from .texture_loss import ImageTexture


class TrainStep(Protocol):
    def __call__(self, batch: Any) -> dict[str, float]: ...

    def sync_to_models(self) -> None: ...

    def generator_weights(self) -> list[np.ndarray]:
        """The generator's trainable weights after the last step, in variable order."""
        ...


def make_train_step(generator: keras.Model, discriminator: keras.Model,
                    g_optimizer: keras.optimizers.Optimizer,
                    d_optimizer: keras.optimizers.Optimizer, config: TrainConfig,
                    strategy: Any = None, texture: ImageTexture | None = None,
                    reanalysis: Reanalysis | None = None, cochlear: CochlearTexture | None = None,
                    cochlear_target: CochlearTarget | None = None) -> TrainStep:
    """The step for the running Keras backend (``KERAS_BACKEND``).

    ``texture`` is needed when ``config.g_texture_weight`` is above 0: the statistics of the
    spec's images that the generator's texture-matching term compares; ``reanalysis`` when
    that term takes them as heard (``config.g_texture_heard``): how images become sound and
    are analysed again; ``cochlear`` and real rain's ``cochlear_target`` when it takes them
    on that sound's cochlear envelopes (``config.g_texture_audio``).
    """
    if config.g_texture_weight > 0 and texture is None:
        raise ConfigError("g_texture_weight > 0 needs the spec's ImageTexture")
    if config.hears_images and reanalysis is None:
        raise ConfigError("g_texture_heard needs the spec's Reanalysis")
    if config.hears_images and config.g_texture_audio and cochlear_target is None:
        raise ConfigError("g_texture_audio needs the CochlearTexture and real rain's target")
    objective = GeneratorObjective(config, texture, reanalysis, cochlear, cochlear_target)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return TensorFlowStep(generator, discriminator, g_optimizer, d_optimizer, config, strategy,
                              objective)
    if strategy is not None:
        raise ConfigError(f"--strategy needs the TensorFlow backend, not {backend}")
    if backend == "jax":
        return JaxStep(generator, discriminator, g_optimizer, d_optimizer, config, objective)
    raise ConfigError(f"training supports the tensorflow and jax Keras backends, not {backend}")


def _global_norm(gradients) -> Any:
    return ops.sqrt(sum(ops.sum(ops.square(g)) for g in gradients))


class GeneratorObjective:
    """The generator's loss: the adversarial term plus, when its weight is set, the
    texture-matching term (:mod:`.texture_loss`), taken on the images as heard
    (:mod:`.reanalysis`) when ``config.g_texture_heard``, and on the heard audio's cochlear
    envelopes (:mod:`.cochlear`) when ``config.g_texture_audio`` as well."""

    def __init__(self, config: TrainConfig, texture: ImageTexture | None,
                 reanalysis: Reanalysis | None, cochlear: CochlearTexture | None = None,
                 cochlear_target: CochlearTarget | None = None):
        self.config = config
        self.texture = texture if config.g_texture_weight > 0 else None
        self.reanalysis = reanalysis if config.hears_images else None
        self.cochlear = (cochlear, cochlear_target) if (
            self.reanalysis is not None and config.g_texture_audio) else None

    @property
    def needs_phase(self) -> bool:
        """Whether :meth:`__call__` needs the fake images' runtime phase."""
        return self.reanalysis is not None

    def __call__(self, fake_logits, fake_images, real_images, phase=None) -> tuple[Any, Any]:
        """(adversarial loss, the generator's whole loss).

        ``phase``: :meth:`.Reanalysis.runtime_phase` of ``fake_images`` when
        :attr:`needs_phase`, computed outside the differentiated function.
        """
        config = self.config
        adversarial = generator_loss(config.loss, fake_logits)
        total = adversarial
        if self.cochlear is not None:
            cochlear, target = self.cochlear
            audio = self.reanalysis.chunk_audio(fake_images, phase)
            total = total + config.g_texture_weight * cochlear.matching_loss(audio, target)
        elif self.texture is not None:
            images = fake_images if self.reanalysis is None else self.reanalysis.images(
                fake_images, phase)
            total = total + config.g_texture_weight * self.texture.matching_loss(images,
                                                                                 real_images)
        return adversarial, total


class TensorFlowStep:
    """GradientTape step, replicated by a tf.distribute strategy when one is given.

    Called with a distributed batch (a tuple ``(real, z_d, z_g, mix)`` of per-replica values)
    from :func:`raingan.training.pipeline.tf_dataset`.
    """

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, config: TrainConfig,
                 strategy: Any = None, objective: GeneratorObjective | None = None):
        import tensorflow as tf

        self.tf = tf
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.config = config
        self.objective = objective or GeneratorObjective(config, None, None)
        self.strategy = strategy or tf.distribute.get_strategy()
        # Each replica's gradients are summed across replicas, so each scales its mean loss.
        self.loss_scale = 1.0 / self.strategy.num_replicas_in_sync
        self._compiled = tf.function(self._distributed_step)

    def __call__(self, batch) -> dict[str, float]:
        return {k: float(v) for k, v in self._compiled(batch).items()}

    def sync_to_models(self) -> None:
        """Nothing to do: TensorFlow updates the Keras variables in place."""

    def generator_weights(self) -> list[np.ndarray]:
        return [as_numpy(v.value) for v in self.generator.trainable_variables]

    def _phase(self, images):
        """The runtime's phase of the images, computed in numpy (a constant for the tape)."""
        reanalysis = self.objective.reanalysis
        phase = self.tf.numpy_function(reanalysis.runtime_phase, [self.tf.stop_gradient(images)],
                                       self.tf.float32, stateful=False)
        phase.set_shape((images.shape[0], reanalysis.spec.n_frames, reanalysis.spec.n_fft_bins))
        return phase

    def _distributed_step(self, batch):
        per_replica = self.strategy.run(self._replica_step, args=batch)
        mean = self.tf.distribute.ReduceOp.MEAN
        return {k: self.strategy.reduce(mean, v, axis=None) for k, v in per_replica.items()}

    def _replica_step(self, real, z_d, z_g, mix):
        tf, G, D, kind = self.tf, self.generator, self.discriminator, self.config.loss
        r1_weight = self.config.d_r1_weight
        with tf.GradientTape() as tape:
            fake = G(z_d, training=True)[..., None]
            if r1_weight > 0:
                # The gradient is taken at the images as D reads them (float).
                real = tf.cast(real, self.discriminator.compute_dtype)
                with tf.GradientTape(watch_accessed_variables=False) as at_real:
                    at_real.watch(real)
                    real_logits = D(real, training=True)
                    real_score = tf.reduce_sum(real_logits)
                r1 = r1_penalty(at_real.gradient(real_score, real))
            else:
                real_logits, r1 = D(real, training=True), tf.constant(0.0)
            d_loss = discriminator_loss(kind, real_logits, D(fake, training=True))
            d_loss = d_loss + r1_weight * r1
            if kind == "wgan-gp":
                mixed = interpolate(real, fake, mix)
                with tf.GradientTape() as inner:
                    inner.watch(mixed)
                    score = tf.reduce_sum(D(mixed, training=True))
                penalty = gradient_penalty(inner.gradient(score, mixed))
                d_loss = d_loss + self.config.gp_weight * penalty
            scaled = d_loss * self.loss_scale
        d_grads = tape.gradient(scaled, D.trainable_variables)
        self.d_optimizer.apply_gradients(zip(d_grads, D.trainable_variables))

        with tf.GradientTape() as tape:
            fake = G(z_g, training=True)[..., None]
            phase = self._phase(fake) if self.objective.needs_phase else None
            g_loss, g_total = self.objective(D(fake, training=True), fake, real, phase)
            scaled = g_total * self.loss_scale
        g_grads = tape.gradient(scaled, G.trainable_variables)
        self.g_optimizer.apply_gradients(zip(g_grads, G.trainable_variables))
        return {"d_loss": d_loss, "d_r1": r1, "g_loss": g_loss, "g_total_loss": g_total,
                "d_grad_norm": _global_norm(d_grads) / self.loss_scale,
                "g_grad_norm": _global_norm(g_grads) / self.loss_scale}


class JaxStep:
    """Pure-function step on variable values, jit-compiled; called with a :class:`Batch`."""

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, config: TrainConfig,
                 objective: GeneratorObjective | None = None):
        import jax

        self.jax = jax
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.config = config
        self.objective = objective or GeneratorObjective(config, None, None)
        self.state = self._state_from_models()
        self._compiled = jax.jit(self._step)

    def __call__(self, batch: Batch) -> dict[str, float]:
        self.state, metrics = self._compiled(self.state, batch.real, batch.z_d, batch.z_g,
                                             batch.mix)
        return {k: float(v) for k, v in metrics.items()}

    def _state_from_models(self):
        values = lambda variables: [v.value for v in variables]  # noqa: E731
        G, D = self.generator, self.discriminator
        return (values(G.trainable_variables), values(G.non_trainable_variables),
                values(D.trainable_variables), values(D.non_trainable_variables),
                values(self.g_optimizer.variables), values(self.d_optimizer.variables))

    def sync_to_models(self) -> None:
        """Write the step's variable values back into the Keras models and optimizers."""
        G, D = self.generator, self.discriminator
        owners = (G.trainable_variables, G.non_trainable_variables, D.trainable_variables,
                  D.non_trainable_variables, self.g_optimizer.variables,
                  self.d_optimizer.variables)
        for variables, values in zip(owners, self.state):
            for variable, value in zip(variables, values):
                variable.assign(value)

    def generator_weights(self) -> list[np.ndarray]:
        return [np.asarray(v) for v in self.state[0]]

    def _phase(self, images):
        """The runtime's phase of the images, computed in numpy through a host callback."""
        jax, spec = self.jax, self.objective.reanalysis.spec
        shape = jax.ShapeDtypeStruct((images.shape[0], spec.n_frames, spec.n_fft_bins),
                                     np.float32)
        return jax.pure_callback(self.objective.reanalysis.runtime_phase, shape,
                                 jax.lax.stop_gradient(images))

    def _d_loss(self, d_train, d_fixed, g_train, g_fixed, real, z, mix):
        G, D, kind = self.generator, self.discriminator, self.config.loss
        fake, g_fixed = G.stateless_call(g_train, g_fixed, z, training=True)
        fake = fake[..., None]
        real_logits, d_fixed = D.stateless_call(d_train, d_fixed, real, training=True)
        fake_logits, d_fixed = D.stateless_call(d_train, d_fixed, fake, training=True)
        loss = discriminator_loss(kind, real_logits, fake_logits)
        r1 = ops.convert_to_tensor(0.0)
        if self.config.d_r1_weight > 0:
            def real_score(x):
                return ops.sum(D.stateless_call(d_train, d_fixed, x, training=True)[0])

            r1 = r1_penalty(self.jax.grad(real_score)(real))
            loss = loss + self.config.d_r1_weight * r1
        if kind == "wgan-gp":
            def score(x):
                return ops.sum(D.stateless_call(d_train, d_fixed, x, training=True)[0])

            mixed = interpolate(real, self.jax.lax.stop_gradient(fake), mix)
            loss = loss + self.config.gp_weight * gradient_penalty(self.jax.grad(score)(mixed))
        return loss, (d_fixed, g_fixed, r1)

    def _g_loss(self, g_train, g_fixed, d_train, d_fixed, z, real):
        G, D = self.generator, self.discriminator
        fake, g_fixed = G.stateless_call(g_train, g_fixed, z, training=True)
        logits, d_fixed = D.stateless_call(d_train, d_fixed, fake[..., None], training=True)
        phase = self._phase(fake) if self.objective.needs_phase else None
        adversarial, total = self.objective(logits, fake, real, phase)
        return total, (adversarial, g_fixed, d_fixed)

    def _step(self, state, real, z_d, z_g, mix):
        g_train, g_fixed, d_train, d_fixed, g_opt, d_opt = state
        grad = self.jax.value_and_grad
        (d_loss, (d_fixed, g_fixed, r1)), d_grads = grad(self._d_loss, has_aux=True)(
            d_train, d_fixed, g_train, g_fixed, real, z_d, mix)
        d_train, d_opt = self.d_optimizer.stateless_apply(d_opt, d_grads, d_train)
        (g_total, (g_loss, g_fixed, d_fixed)), g_grads = grad(self._g_loss, has_aux=True)(
            g_train, g_fixed, d_train, d_fixed, z_g, real)
        g_train, g_opt = self.g_optimizer.stateless_apply(g_opt, g_grads, g_train)
        metrics = {"d_loss": d_loss, "d_r1": r1, "g_loss": g_loss, "g_total_loss": g_total,
                   "d_grad_norm": _global_norm(d_grads), "g_grad_norm": _global_norm(g_grads)}
        return (g_train, g_fixed, d_train, d_fixed, g_opt, d_opt), metrics


def as_numpy(value) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(value))
