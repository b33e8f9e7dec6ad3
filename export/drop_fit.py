"""Fitting a streaming model's drops (:class:`raingan.core.speckle.Drops`) through its
runtime, on a training statistic.

Training fits the drops on the excitation alone (:func:`raingan.training.drops.fit_drops`),
but the runtime smears some of each click: phase reconstruction, the chunks' crossfades and
the colour gains stand between the excitation and the sound. Export therefore fits them again
on what the runtime plays: for each candidate, a few seeds of one channel rendered with the
exported model, measured by the same :func:`~raingan.training.drops.drop_statistics` as the
training audio (three bands' samples against their own window's level). From the nearest
candidates (in all bands, and in the 2-8 kHz band alone), with their rate and spread, it fits
the share again with a tilt across frequency
(:attr:`~raingan.core.speckle.Drops.tilt_db_per_octave`): training's speckle has one share at
every frequency, and real drops stand out more in higher bands. Then it fits the
fraction of the drops both channels share (:attr:`~raingan.core.speckle.Drops.shared`): a
mono mix halves each channel's own clicks against the bed, but keeps those both channels
hold, so stereo renders' mixes are measured against the recordings' mixes. Neither the
statistic nor the training audio is used by any judge of ``raingan eval``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..core.spec import SpectralSpec
from ..core.speckle import Drops
from ..runtime.generator import Generator
from ..runtime.render import RenderSettings, render
from ..training.corpus import Corpus
from ..training.drops import (REFERENCE_BAND, STATISTICS_LENGTH, DropStatistics,
                              nearest_drops, nearest_shared, nearest_tilt,
                              pooled_drop_statistics, statistics_distance)
from .scratch import scratch_generator

#: Seeds and seconds of one channel rendered per candidate.
FIT_SEEDS, FIT_SECONDS = 4, 6.0
#: Seeds of stereo rendered per candidate of the shared fraction: few candidates, and a mix's
#: far tail is a few dozen drops in :data:`FIT_SECONDS`.
SHARED_FIT_SEEDS = 16


@dataclass(frozen=True)
class DropTarget:
    """The training audio's :func:`~raingan.training.drops.pooled_drop_statistics`: of every
    channel (``channel``), and of each recording's mono mix (``mix``, None: the shared
    fraction is not fitted)."""

    channel: DropStatistics
    mix: DropStatistics | None = None


def rendered_drop_statistics(generator: Generator, drops: Drops | None, channels: int = 1,
                             seeds: int | None = None) -> DropStatistics:
    """Pooled :func:`~raingan.training.drops.drop_statistics` of ``seeds`` (None:
    :data:`FIT_SEEDS`) renders of :data:`FIT_SECONDS` at the spec's rate with ``drops`` in
    the excitation: of one channel, or of the mono mix of ``channels``."""
    candidate = generator.with_drops(drops)
    rate_hz = int(generator.spec.sample_rate_hz)
    signals = [np.mean(render(candidate, RenderSettings(
        seconds=FIT_SECONDS, sample_rate_hz=rate_hz, channels=channels, seed=seed)).samples,
        axis=1) for seed in range(FIT_SEEDS if seeds is None else seeds)]
    return pooled_drop_statistics(signals, generator.spec)


def fit_rendered_drops(generator: Generator, target: DropTarget
                       ) -> tuple[Drops | None, float]:
    """The drops whose one-channel renders' statistics are nearest ``target.channel``'s, and
    then the shared fraction whose stereo mixes' (of :data:`SHARED_FIT_SEEDS` seeds) are
    nearest ``target.mix``; and the one-channel fit's distance.

    The one-channel search starts from two candidates of the grid (untilted): the nearest
    in every band, and the nearest in the reference band alone (where a tilt pivots); from
    each it searches the tilt and the share with that rate and spread, and keeps
    the nearer end."""
    measured: dict[Drops | None, DropStatistics] = {}

    def measure(drops: Drops | None) -> DropStatistics:  # each candidate rendered once
        if drops not in measured:
            measured[drops] = rendered_drop_statistics(generator, drops)
        return measured[drops]

    starts = [nearest_drops(target.channel, measure)[0],
              nearest_drops(target.channel, measure, band=REFERENCE_BAND)[0]]
    starts = [d for k, d in enumerate(starts) if d is not None and d not in starts[:k]]
    if starts:
        drops, distance = min((nearest_tilt(start, target.channel, measure) for start in starts),
                              key=lambda fit: fit[1])
    else:
        drops, distance = None, statistics_distance(measure(None), target.channel)
    if drops is not None and target.mix is not None:
        drops = nearest_shared(drops, target.mix, lambda candidate: rendered_drop_statistics(
            generator, candidate, channels=2, seeds=SHARED_FIT_SEEDS))[0]
    return drops, distance


def corpus_drop_target(corpus: Corpus, spec: SpectralSpec) -> DropTarget | None:
    """The :class:`DropTarget` of training recordings; None when none is long enough."""
    channel = pooled_drop_statistics(corpus.signals, spec)
    if channel is None:
        return None
    return DropTarget(channel, pooled_drop_statistics(corpus.mixes(), spec))


def drop_target(run_dir: Path, state, data_dir: Path | None) -> DropTarget | None:
    """The training audio's drop statistics: the checkpoint's, else measured in ``data_dir``
    (the run's recordings, checked as for the colour: :func:`.colour.run_corpus`), else
    None. Statistics a checkpoint stored before they were measured in every band are not
    used; one from before the mixes' were stored fits no shared fraction."""
    from .colour import run_corpus

    if state.drop_statistics is not None and len(state.drop_statistics) == STATISTICS_LENGTH:
        mix = state.mix_drop_statistics
        return DropTarget(state.drop_statistics,
                          mix if mix and len(mix) == STATISTICS_LENGTH else None)
    if data_dir is None:
        return None
    return corpus_drop_target(run_corpus(run_dir, state, Path(data_dir)), state.spec)


def fitted_drops(serialized: bytes, target: DropTarget) -> Drops | None:
    """The drops :func:`fit_rendered_drops` picks for the streaming model ``serialized``
    (ONNX bytes whose metadata is complete but for them)."""
    with scratch_generator(serialized) as generator:
        return fit_rendered_drops(generator, target)[0]


def fit_stream_rendered_drops(path: Path, data_dir: Path, train_fraction: float
                              ) -> tuple[Drops | None, Drops | None, DropTarget]:
    """Fit the drops of an exported streaming model through its runtime on the recordings it
    was trained on (the first ``train_fraction`` of each file in ``data_dir``) and store them
    in the file (through a temporary file). Returns (the drops it had, the new ones, the
    training audio's statistics). Refuses recordings whose data fingerprint is not the
    model's."""
    from .stream_export import _load_stream_model, _save, training_corpus

    model, metadata = _load_stream_model(Path(path))
    corpus = training_corpus(Path(path), metadata, data_dir, train_fraction)
    target = corpus_drop_target(corpus, metadata.spec)
    if target is None:
        raise ValueError(f"{data_dir}: no recording is long enough to measure drops in")
    generator = Generator(path, device="cpu")
    drops, _ = fit_rendered_drops(generator, target)
    _save(model, replace(metadata, drops=None if drops is None else drops.to_dict()), Path(path))
    return generator.drops, drops, target
