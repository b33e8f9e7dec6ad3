"""Fitting a streaming model's drops (:class:`raingan.core.speckle.Drops`) through its
runtime, on a training statistic.

Training fits the drops on the excitation alone (:func:`raingan.training.drops.fit_drops`),
but the runtime smears some of each click: phase reconstruction, the chunks' crossfades and
the colour gains stand between the excitation and the sound. Export therefore fits them again
on what the runtime plays: for each candidate, a few seeds of one channel rendered with the
exported model, measured by the same :func:`~raingan.training.drops.drop_statistics` as the
training audio (a drop band's samples against their own window's level). Neither the
statistic nor the training audio is used by any judge of ``raingan eval``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..core.speckle import Drops
from ..runtime.generator import Generator
from ..runtime.render import RenderSettings, render
from ..training.drops import nearest_drops, pooled_drop_statistics
from .scratch import scratch_generator

#: Seeds and seconds of one channel rendered per candidate.
FIT_SEEDS, FIT_SECONDS = 4, 6.0


def rendered_drop_statistics(generator: Generator, drops: Drops | None
                             ) -> tuple[float, float]:
    """Pooled :func:`~raingan.training.drops.drop_statistics` of :data:`FIT_SEEDS` one-channel
    renders of :data:`FIT_SECONDS` at the spec's rate with ``drops`` in the excitation."""
    candidate = generator.with_drops(drops)
    rate_hz = int(generator.spec.sample_rate_hz)
    signals = [render(candidate, RenderSettings(seconds=FIT_SECONDS, sample_rate_hz=rate_hz,
                                                channels=1, seed=seed)).samples[:, 0]
               for seed in range(FIT_SEEDS)]
    return pooled_drop_statistics(signals, generator.spec)


def fit_rendered_drops(generator: Generator, target: tuple[float, float]
                       ) -> tuple[Drops | None, float]:
    """The candidate drops whose renders' statistics are nearest ``target`` (the training
    audio's :func:`~raingan.training.drops.pooled_drop_statistics`), and their distance."""
    return nearest_drops(target, lambda drops: rendered_drop_statistics(generator, drops))


def drop_target(run_dir: Path, state, data_dir: Path | None) -> tuple[float, float] | None:
    """The training audio's drop statistics: the checkpoint's, else measured in ``data_dir``
    (the run's recordings, checked as for the colour: :func:`.colour.run_corpus`), else
    None."""
    from .colour import run_corpus

    if state.drop_statistics is not None:
        return state.drop_statistics
    if data_dir is None:
        return None
    return pooled_drop_statistics(run_corpus(run_dir, state, Path(data_dir)).signals, state.spec)


def fitted_drops(serialized: bytes, target: tuple[float, float]) -> Drops | None:
    """The drops :func:`fit_rendered_drops` picks for the streaming model ``serialized``
    (ONNX bytes whose metadata is complete but for them)."""
    with scratch_generator(serialized) as generator:
        return fit_rendered_drops(generator, target)[0]


def fit_stream_rendered_drops(path: Path, data_dir: Path, train_fraction: float
                              ) -> tuple[Drops | None, Drops | None, tuple[float, float]]:
    """Fit the drops of an exported streaming model through its runtime on the recordings it
    was trained on (the first ``train_fraction`` of each file in ``data_dir``) and store them
    in the file (through a temporary file). Returns (the drops it had, the new ones, the
    training audio's statistics). Refuses recordings whose data fingerprint is not the
    model's."""
    from .stream_export import _load_stream_model, _save, training_corpus

    model, metadata = _load_stream_model(Path(path))
    corpus = training_corpus(Path(path), metadata, data_dir, train_fraction)
    target = pooled_drop_statistics(corpus.signals, metadata.spec)
    if target is None:
        raise ValueError(f"{data_dir}: no recording is long enough to measure drops in")
    generator = Generator(path, device="cpu")
    drops, _ = fit_rendered_drops(generator, target)
    _save(model, replace(metadata, drops=None if drops is None else drops.to_dict()), Path(path))
    return generator.drops, drops, target
