"""GAN losses on discriminator logits, in keras.ops (any backend).

Each takes logits of shape (batch, 1) and returns a scalar mean over the batch.
"""

from __future__ import annotations

from keras import ops


def discriminator_loss(kind: str, real_logits, fake_logits):
    if kind == "hinge":
        return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))
    if kind == "nonsaturating":
        return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))
    if kind == "wgan-gp":
        return ops.mean(fake_logits) - ops.mean(real_logits)
    raise ValueError(f"unknown loss {kind!r}")


def generator_loss(kind: str, fake_logits):
    if kind == "nonsaturating":
        return ops.mean(ops.softplus(-fake_logits))
    return -ops.mean(fake_logits)  # hinge and WGAN: raise the critic's score of fakes


def gradient_penalty(input_gradients):
    """WGAN-GP term: mean of (||grad_x D(x_hat)|| - 1)^2 over the batch (Gulrajani et al.)."""
    norms = ops.sqrt(ops.sum(ops.square(input_gradients), axis=(1, 2, 3)) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def r1_penalty(real_gradients):
    """R1 term (Mescheder et al. 2018): mean over the batch of ||grad_x D(x)||^2 at real
    images. Zero-centred on the data, it keeps the discriminator from sharpening its edge
    around the few real crops of a small corpus."""
    return ops.mean(ops.sum(ops.square(real_gradients), axis=(1, 2, 3)))


def interpolate(real, fake, mix):
    """Random points between real and fake images, where the penalty is taken."""
    return mix * real + (1.0 - mix) * fake
