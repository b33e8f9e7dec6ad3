"""RainSource: endless rain for a host's audio callback.

A producer thread runs a :class:`~raingan.runtime.stream.RainStream` and writes its audio
into the native core's lock-free ring (:class:`raingan._native.RainCore`); the host calls
:meth:`RainSource.render` from its audio callback, which copies frames out without
allocating or locking (a Python caller keeps the GIL it holds through a short buffer's
microseconds of copying, rather than handing it to the producer and waiting to get it back;
the producer sleeps in the core, without the GIL, until the ring needs audio). Gain and width are applied in the core, gliding per
sample, so they act at once; when the producer falls behind, the core crossfades into a
pre-rendered seamless loop and back, and counts an underrun.

    with raingan.RainSource(sample_rate=48000, channels=2, seed=1) as rain:
        buffer = np.zeros((512, 2), np.float32)
        rain.render(buffer)  # in the audio callback
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .generator import Generator, default_model_path
from .loop import render_loop
from .stream import (GAIN_SMOOTHING_S, RainStream, StreamSettingsError,
                     check_intensity_range, check_seed, check_stream_settings)

#: Audio the producer keeps buffered ahead of the host, by default. On two cores, one
#: stereo 48 kHz block (a chunk step, 0.7 s of audio) takes about 70 ms to make.
DEFAULT_LATENCY_MS = 250.0
MAX_LATENCY_MS = 10_000.0
#: Crossfade between the stream, the fallback loop and silence.
FADE_S = 0.01
#: Length of the fallback loop heard during underruns.
FALLBACK_LOOP_S = 4.0
#: Longest an idle producer sleeps (in the native core, without the GIL) before it looks at
#: its stop flag; stopping the core wakes it at once.
WAIT_S = 0.1
#: Weight of the newest block in the producer-load average.
LOAD_SMOOTHING = 0.1


@dataclass(frozen=True)
class SourceStats:
    """What a :class:`RainSource` has done so far.

    Attributes
    ----------
    underruns : times the ring ran short and the fallback loop stepped in
    loop_heard_frames : frames in which the fallback loop was heard (also readable under
        its former name, ``loop_frames``)
    frames_rendered : frames written to the host
    frames_buffered : frames ready in the ring now
    producer_load : time the producer needs per second of audio it makes (a moving
        average; must stay below 1, and well below it on a busy machine)
    loop_ready : whether the fallback loop is rendered (it is made in the background after
        :meth:`RainSource.start`, so that audio starts at once; before it is ready, an
        underrun fades to silence)
    error : the producer's failure, one line; None while it is healthy
    """

    underruns: int
    loop_heard_frames: int
    frames_rendered: int
    frames_buffered: int
    producer_load: float
    loop_ready: bool
    error: str | None

    @property
    def loop_frames(self) -> int:
        """Former name of :attr:`loop_heard_frames`, kept for existing callers."""
        return self.loop_heard_frames


def fallback_loop_renderer(generator: Generator, sample_rate: int, channels: int, seed: int,
                           truncation: float | None, drift_s: float | None,
                           intensity: float | None) -> Callable[[], np.ndarray]:
    """A function that renders the seamless fallback loop heard during underruns:
    :data:`FALLBACK_LOOP_S` of rain from a seed of its own, shape (frames, channels)."""
    return lambda: render_loop(generator, FALLBACK_LOOP_S, sample_rate, channels,
                               seed=seed ^ 0x5A5A5A5A, truncation=truncation, drift_s=drift_s,
                               intensity=intensity).samples


class RingProducer:
    """Keeps a ring filled from a :class:`RainStream`: the producer thread of a
    :class:`RainSource` (ring: its :class:`raingan._native.RainCore`), and the producer
    process of ``raingan serve`` (ring: a :class:`raingan._native.ShmRing`). Holds no
    reference to a RainSource, so that a source that goes out of scope is collected (and its
    thread stopped).

    ``core`` needs ``readable_frames``, ``write(frames)`` and ``set_loop(frames)``;
    ``on_block``, if given, is called after each block the stream makes (a heartbeat: a host
    that drains the ring faster than real time keeps :meth:`fill` making blocks for as long
    as it does).
    """

    def __init__(self, core, stream: RainStream, latency_frames: int,
                 on_block: Callable[[], object] | None = None):
        self.core, self.stream, self.latency_frames = core, stream, latency_frames
        self.on_block = on_block
        self.stop = threading.Event()
        self.load = 0.0
        self.error: str | None = None
        self._pending: np.ndarray | None = None

    def fill(self) -> bool:
        """Make and write audio until the ring holds the latency; False if there is no room."""
        while True:
            if self._pending is None:
                if self.core.readable_frames >= self.latency_frames:
                    return True
                started = time.perf_counter()
                block = self.stream.next_block()
                busy_s = time.perf_counter() - started
                if block.shape[0]:
                    load = busy_s * self.stream.sample_rate_hz / block.shape[0]
                    self.load = load if self.load == 0 else (
                        (1 - LOAD_SMOOTHING) * self.load + LOAD_SMOOTHING * load)
                self._pending = block
                if self.on_block is not None:
                    self.on_block()
            written = self.core.write(self._pending)
            self._pending = self._pending[written:] if written < self._pending.shape[0] else None
            if self._pending is not None:
                return False

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.fill()
                # Sleeps natively until the host has drawn the ring below the latency: a
                # Python poll would take the GIL 200 times a second, and a Python audio
                # callback would wait for it each time it came at the wrong moment.
                self.core.wait_for_room(self.latency_frames, WAIT_S)
        except Exception as exc:  # reported through stats(); the host keeps the loop
            self.error = f"{type(exc).__name__}: {exc}"

    def make_loop(self, render) -> None:
        """Render the fallback loop (``render()`` -> frames) and install it in the core."""
        try:
            self.core.set_loop(np.ascontiguousarray(render(), dtype=np.float32))
        except Exception as exc:
            self.error = f"fallback loop: {type(exc).__name__}: {exc}"


class RainSource:
    """Endless rain rendered into the host's buffers.

    Parameters
    ----------
    model : exported .onnx model; None for the bundled default model
    sample_rate : the host's rate, Hz (8 to 192 kHz)
    channels : 1 or 2 (a streaming model: one character, each channel its own texture; a
        chunk model: independent latent walks per channel)
    seed : None draws one (see :attr:`seed`); the same seed gives the same rain
    latency_ms : audio the producer keeps buffered ahead of the host
    gain_db : output gain, -120 to +24 dB (glides per sample)
    width : stereo width 0-1 (glides per sample)
    drift_s : how slowly the rain's character drifts, seconds (0: independent chunks)
    truncation : latent truncation; None for the model's
    intensity : 0 light to 1 heavy (None: as the latent walk makes it); changes reach the
        output after the buffered latency and glide over about half a second
    device : "cpu", "cuda" or "auto", for the generator

    Raises
    ------
    ValueError
        Settings outside those ranges (:class:`~raingan.runtime.stream.StreamSettingsError`).
    ModelFormatError
        A model that is not a usable RainGAN model.
    """

    def __init__(self, model: str | os.PathLike | None = None, sample_rate: int = 48_000,
                 channels: int = 2, seed: int | None = None,
                 latency_ms: float = DEFAULT_LATENCY_MS, gain_db: float = 0.0,
                 width: float = 1.0, drift_s: float | None = None,
                 truncation: float | None = None, intensity: float | None = None,
                 device: str = "cpu"):
        from .. import _native

        check_stream_settings(sample_rate, channels, gain_db, width, truncation, drift_s)
        check_seed(seed)
        check_intensity_range(intensity)
        if not 0 < latency_ms <= MAX_LATENCY_MS:
            raise StreamSettingsError(f"latency must be in (0, {MAX_LATENCY_MS:g}] ms, "
                                      f"got {latency_ms}")
        generator = Generator(default_model_path() if model is None else model, device=device)
        # Gain and width are the core's, so the stream runs at unity gain and full width.
        self._stream = RainStream(generator, sample_rate, channels, seed, drift_s=drift_s,
                                  truncation=truncation, chunks_per_block=1,
                                  intensity=intensity)
        self.seed, self.sample_rate, self.channels = self._stream.seed, sample_rate, channels
        self.latency_ms = float(latency_ms)
        self._render_loop = fallback_loop_renderer(generator, sample_rate, channels,
                                                   self.seed, truncation, drift_s, intensity)
        spec = generator.spec
        block_frames = math.ceil(spec.chunk_step_samples * sample_rate / spec.sample_rate_hz)
        latency_frames = max(1, round(latency_ms * sample_rate / 1000.0))
        fade_frames = max(1, round(FADE_S * sample_rate))
        self._core = _native.RainCore(
            capacity_frames=latency_frames + 2 * block_frames + fade_frames, channels=channels,
            sample_rate_hz=float(sample_rate),
            loop_capacity_frames=round(FALLBACK_LOOP_S * sample_rate),
            fade_frames=fade_frames, resume_frames=max(1, latency_frames // 2),
            smoothing_s=GAIN_SMOOTHING_S)
        self._producer = RingProducer(self._core, self._stream, latency_frames)
        self._thread: threading.Thread | None = None
        self._loop_thread: threading.Thread | None = None
        self._gain_db = self._width = 0.0
        self.gain_db, self.width = gain_db, width

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> "RainSource":
        """Fill the ring to the latency, then keep it filled from a background thread.

        The first fill happens here, so that rendering starts on the stream itself (the
        same samples for the same seed) rather than on the fallback loop.
        """
        if self._thread is not None:
            return self
        self._producer.stop.clear()
        self._producer.fill()
        self._core.set_running(True)
        self._thread = threading.Thread(target=self._producer.run, name="raingan-producer",
                                        daemon=True)
        self._thread.start()
        if self._loop_thread is None:
            self._loop_thread = threading.Thread(target=self._producer.make_loop,
                                                 args=(self._render_loop,),
                                                 name="raingan-loop", daemon=True)
            self._loop_thread.start()
        return self

    def stop(self) -> None:
        """Fade the output to silence and stop the producer; :meth:`start` resumes."""
        self._core.set_running(False)
        self._producer.stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._loop_thread is not None:
            self._loop_thread.join()

    def __enter__(self) -> "RainSource":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __del__(self) -> None:
        producer = getattr(self, "_producer", None)
        if producer is not None:
            producer.stop.set()

    # -- audio thread --------------------------------------------------------------------------
    def render(self, buffer: np.ndarray) -> int:
        """Fill ``buffer``, shape (frames, channels), float32, C-contiguous, in place, with
        the next frames (interleaved, as Unity, Unreal and FMOD lay them out).

        Never blocks or allocates; keeps the caller's GIL while copying up to 4096 frames
        (microseconds) and releases it for longer buffers. Returns the frames written
        (all of them: the fallback loop covers underruns, silence follows :meth:`stop`).

        Raises
        ------
        TypeError
            ``buffer`` is not a float32 numpy array.
        ValueError
            Wrong shape, not C-contiguous, or read-only.
        """
        return self._core.render(buffer)

    def render_planar(self, buffer: np.ndarray) -> int:
        """As :meth:`render`, for a (channels, frames) buffer (JUCE, CLAP, VST3, Wwise)."""
        return self._core.render_planar(buffer)

    # -- controls (any thread) -----------------------------------------------------------------
    @property
    def gain_db(self) -> float:
        return self._gain_db

    @gain_db.setter
    def gain_db(self, gain_db: float) -> None:
        """Raises :class:`~raingan.runtime.stream.StreamSettingsError` (a ValueError) outside
        -120 to +24 dB, for NaN and for non-numbers."""
        check_stream_settings(self.sample_rate, self.channels, gain_db, 1.0, None, 0.0)
        self._gain_db = float(gain_db)
        self._core.set_gain_db(self._gain_db)

    @property
    def width(self) -> float:
        return self._width

    @width.setter
    def width(self, width: float) -> None:
        check_stream_settings(self.sample_rate, self.channels, 0.0, width, None, 0.0)
        self._width = float(width)
        self._core.set_width(self._width)

    @property
    def intensity(self) -> float | None:
        return self._stream.intensity

    @intensity.setter
    def intensity(self, intensity: float | None) -> None:
        # The producer thread reads the target at its next chunk: a plain attribute
        # write, atomic under the GIL.
        self._stream.set_intensity(intensity)

    def stats(self) -> SourceStats:
        """Underruns, buffered frames, producer load and the producer's error, if any."""
        core = self._core.stats()
        return SourceStats(underruns=core["underruns"],
                           loop_heard_frames=core["loop_heard_frames"],
                           frames_rendered=core["frames_rendered"],
                           frames_buffered=core["frames_buffered"],
                           producer_load=self._producer.load, loop_ready=core["loop_ready"],
                           error=self._producer.error)

    @property
    def running(self) -> bool:
        return self._core.running

    @property
    def native_core(self):
        """The :class:`raingan._native.RainCore`; C++ hosts take it through
        ``raingan/embed.hpp``."""
        return self._core

