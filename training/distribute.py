"""tf.distribute strategies for ``raingan train --strategy``."""

from __future__ import annotations

from typing import Any

from .config import ConfigError

STRATEGIES = ("default", "mirrored", "multiworker")


def split_cpu(n_devices: int) -> None:
    """Present the CPU as ``n_devices`` logical devices (to try data parallelism on a CPU).

    Must run before TensorFlow initialises its devices, that is before any model is built.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n_devices)])
    except RuntimeError as exc:
        raise ConfigError(f"cannot split the CPU after TensorFlow has started ({exc})") from None


def make_strategy(name: str) -> Any:
    """The named strategy; None for "default" (a single device, no replication).

    "mirrored" replicates over every local GPU or, with none, every logical CPU device;
    "multiworker" reads the cluster from the TF_CONFIG environment variable.
    """
    if name == "default":
        return None
    import tensorflow as tf

    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")
