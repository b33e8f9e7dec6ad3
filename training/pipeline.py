"""Feeding crops to the TensorFlow step through tf.data, prefetched on its own threads.

The JAX step takes batches straight from :meth:`CropSampler.batches`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator

from .corpus import CropSampler

#: Batches prepared ahead of the step, on tf.data's own threads.
PREFETCH_BATCHES = 4


def tf_batches(make_sampler: Callable[[int], CropSampler], global_batch: int, first_step: int,
               strategy: Any) -> Iterator[Any]:
    """Distributed batches for :class:`~raingan.training.step.TensorFlowStep`.

    Each input pipeline (one per worker) draws per-replica batches for its own replicas, as
    tf.distribute expects from ``distribute_datasets_from_function``; the streams are
    numbered across workers so that no two replicas see the same crops.

    Parameters
    ----------
    make_sampler : per-replica batch size -> sampler
    global_batch : batch size summed over all replicas
    first_step : step of the first batch (so that a resumed run continues the sequence)
    strategy : a tf.distribute strategy (the default one for a single device)
    """
    import tensorflow as tf

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        replicas_here = context.num_replicas_in_sync // context.num_input_pipelines
        first_stream = context.input_pipeline_id * replicas_here
        sampler = make_sampler(context.get_per_replica_batch_size(global_batch))
        streams = range(first_stream, first_stream + replicas_here)
        example = sampler.batch(0)
        signature = tuple(tf.TensorSpec(v.shape, tf.float32)
                          for v in dataclasses.astuple(example))

        def generate():
            for batch in sampler.batches(first_step, streams):
                yield dataclasses.astuple(batch)

        dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
        return dataset.prefetch(PREFETCH_BATCHES)

    return iter(strategy.distribute_datasets_from_function(dataset_fn))
