"""The producer process behind the C ABI: a RainStream writing into a shared-memory ring.

A consumer (``raingan_create`` in ``raingan.h``, or any program using
:class:`raingan._native.ShmRing`) creates the ring and starts ``raingan serve --shm NAME``,
which attaches to it, loads the model, and keeps the ring filled to the consumer's latency,
as :class:`~raingan.runtime.source.RainSource`'s producer thread keeps its in-process ring
filled. It also writes the seamless fallback loop into the ring's segment, once, follows the
consumer's intensity, and beats a heartbeat counter each pass, by which the consumer's
watchdog tells a hung producer from a busy one. Gain and width are the consumer's: its
native core applies them, gliding per sample.

It stops when told (SIGTERM, SIGINT, or the consumer's stop flag) and when its consumer's
process is gone, so that no orphan keeps generating rain for nobody.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..core import limits
from ..core.errors import RainGANError


class RingError(RainGANError, ValueError):
    """A shared-memory ring that is missing, not a RainGAN ring, or made for other audio."""


@dataclass(frozen=True)
class ServeSettings:
    """What ``raingan serve`` makes: the model and the stream's settings.

    sample_rate_hz and channels must be the ring's; intensity holds until the consumer sets
    one (None: as the latent walk makes it).
    """

    sample_rate_hz: int = 48_000
    channels: int = 2
    seed: int | None = None
    model: str | os.PathLike | None = None
    intensity: float | None = None
    drift_s: float | None = None  # None: the model's (raingan.runtime.stream.default_drift_s)
    truncation: float | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        # Checked with raingan.core.limits alone: this module leaves numpy, onnxruntime and
        # the model until the ring is attached, so that a restarted producer shows up in
        # tens of milliseconds rather than seconds.
        limits.SAMPLE_RATE_HZ.check("sample rate", self.sample_rate_hz)
        limits.CHANNELS.check("channels", self.channels)
        if self.drift_s is not None:
            limits.DRIFT_S.check("drift", self.drift_s)
        for name, value, limit in (("seed", self.seed, limits.SEED),
                                   ("intensity", self.intensity, limits.INTENSITY),
                                   ("truncation", self.truncation, limits.TRUNCATION)):
            if value is not None:
                limit.check(name, value)


def attach_ring(name: str, settings: ServeSettings):
    """Attach to the consumer's ring ``name`` as its producer; raises :class:`RingError`
    when there is none, it is not a ring of this version, or it holds other audio (which the
    ring's consumer is told too)."""
    from .. import _native

    try:
        ring = _native.ShmRing.attach(name)
    except ValueError as exc:
        raise RingError(str(exc)) from None
    if (ring.channels, ring.sample_rate_hz) != (settings.channels, settings.sample_rate_hz):
        error = RingError(f"{name} holds {ring.channels} ch at {ring.sample_rate_hz} Hz; this "
                          f"producer makes {settings.channels} ch at {settings.sample_rate_hz} Hz")
        ring.fail(str(error))
        ring.close()
        raise error
    ring.claim()
    return ring


class ConsumerWatch:
    """Whether the ring's consumer process is still there.

    A producer that the consumer started watches its parent pid (which changes when the
    parent dies, even while the dead parent is a zombie); any other polls the pid.
    """

    def __init__(self, consumer_pid: int):
        self.pid = consumer_pid
        self.is_parent = consumer_pid > 0 and os.getppid() == consumer_pid

    def alive(self) -> bool:
        if self.pid <= 0:
            return True
        if self.is_parent:
            return os.getppid() == self.pid
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # it exists, as another user
            return True
        return True


def serve(ring, settings: ServeSettings, stop: threading.Event,
          streaming: threading.Event | None = None) -> str:
    """Fill ``ring`` until ``stop`` is set, the consumer asks to stop, or it is gone; returns
    which. ``streaming``, when given, is set once the ring is primed and the loop runs (before
    then a caller may end the process at once: there is nothing to hand over). A
    :class:`~raingan.core.errors.RainGANError` (a bad model, say) is written into the ring,
    for the consumer to report, and raised."""
    from .generator import Generator, default_model_path
    from .source import WAIT_S, RingProducer, fallback_loop_renderer
    from .stream import RainStream

    watch = ConsumerWatch(ring.consumer_pid)
    try:
        generator = Generator(default_model_path() if settings.model is None
                              else Path(settings.model), device=settings.device)
        stream = RainStream(generator, settings.sample_rate_hz, settings.channels,
                            settings.seed, drift_s=settings.drift_s,
                            truncation=settings.truncation, chunks_per_block=1,
                            intensity=settings.intensity)
    except RainGANError as exc:
        ring.fail(str(exc))
        raise
    intensity = ring.intensity  # set by the consumer before this producer started, or None
    if intensity is not None:
        follow_intensity(stream, intensity)
    producer = RingProducer(ring, stream, ring.target_frames, on_block=ring.beat)
    if not ring.has_loop:
        # Before the first audio, unlike RainSource (which renders it beside the stream): the
        # consumer's host plays silence until the ring fills either way, and with the loop
        # there first, no underrun is ever silent. A restarted producer finds it there.
        producer.make_loop(fallback_loop_renderer(
            generator, settings.sample_rate_hz, settings.channels, stream.seed,
            settings.truncation, settings.drift_s, stream.intensity))
        if producer.error is not None:  # not bad input: the consumer restarts this producer
            raise RuntimeError(producer.error)
    producer.fill()
    ring.set_streaming(generator.intensity_axis is not None)
    if streaming is not None:
        streaming.set()
    while True:
        if stop.is_set():
            return "stopped by a signal"
        if ring.stop_requested:
            return "stopped by the consumer"
        if not watch.alive():
            return "the consumer is gone"
        if ring.intensity != intensity:
            intensity = ring.intensity
            follow_intensity(stream, intensity)
        producer.fill()
        ring.beat()
        stop.wait(WAIT_S)


def follow_intensity(stream, intensity: float | None) -> None:
    """The consumer's new intensity target for a :class:`~raingan.runtime.stream.RainStream`;
    a model without an intensity axis keeps its rain (the consumer sees that in the ring's
    flags and tells its caller)."""
    from .stream import StreamSettingsError

    try:
        stream.set_intensity(intensity)
    except StreamSettingsError:
        pass
