"""ServedRainSource: RainSource's surface, with its producer in another process.

:class:`~raingan.runtime.source.RainSource` makes audio on a thread of the caller's own
process, and that thread's Python holds the GIL between its native calls: a Python audio
callback that wakes while it does waits for it (BENCHMARKS.md, "Soak": a p99.9 of
milliseconds on a busy machine). :class:`ServedRainSource` runs the producer as ``raingan
serve`` behind the C ABI (``libraingan.so``, docs/guides/c-abi.md): the
caller's process holds no producer thread at all, so nothing of RainGAN's competes for its
GIL, and it loads neither onnxruntime nor the model. A watchdog restarts a producer that dies
or hangs, and the fallback loop covers the gap.

    with raingan.ServedRainSource(sample_rate=48000, channels=2, seed=1) as rain:
        buffer = np.zeros((512, 2), np.float32)
        rain.render(buffer)  # in the audio callback
"""

from __future__ import annotations

import ctypes
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import _native
from ..core import limits
from ..core.errors import RainGANError

#: Longest :meth:`ServedRainSource.start` waits for the producer to fill the ring, seconds
#: (it imports onnxruntime and loads the model first).
START_TIMEOUT_S = 60.0
#: Status codes of raingan.h that this module tells apart.
_OK, _INVALID, _UNSUPPORTED, _TIMEOUT, _PRODUCER_FAILED = 0, 2, 10, 9, 8
#: The most frames one render call takes (RAINGAN_MAX_FRAMES).
MAX_FRAMES = 65_536
_LIBRARY = Path(__file__).resolve().parent.parent / "libraingan.so"


class ServedSourceError(RainGANError, RuntimeError):
    """The producer process could not be started, failed, or did not fill the ring in time."""


def _setting(limit: limits.Range, name: str, value: object) -> float:
    """``value`` as a float, or :class:`~raingan.core.limits.SettingRangeError` naming it."""
    limit.check(name, value)
    return float(value)  # type: ignore[arg-type]


class _Config(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("sample_rate_hz", ctypes.c_uint32),
                ("channels", ctypes.c_uint32), ("seed", ctypes.c_uint64),
                ("latency_ms", ctypes.c_double), ("model_path", ctypes.c_char_p),
                ("python_path", ctypes.c_char_p)]


class _Stats(ctypes.Structure):
    _fields_ = [("underruns", ctypes.c_uint64), ("loop_heard_frames", ctypes.c_uint64),
                ("frames_rendered", ctypes.c_uint64), ("frames_buffered", ctypes.c_uint64),
                ("producer_restarts", ctypes.c_uint64), ("producer_heartbeat", ctypes.c_uint64),
                ("producer_pid", ctypes.c_int32), ("producer_state", ctypes.c_uint32),
                ("loop_ready", ctypes.c_uint32), ("has_intensity", ctypes.c_uint32)]


def _library() -> tuple[ctypes.CDLL, ctypes.PyDLL]:
    """libraingan.so twice: through CDLL (calls release the GIL: creating, waiting,
    stopping) and through PyDLL (calls keep it: the knobs, which take nanoseconds, and which
    :meth:`ServedRainSource.stop` then cannot free the handle under). Rendering goes through
    :class:`raingan._native.CAbiRenderer`, one call."""
    if not _LIBRARY.is_file():
        raise ServedSourceError(f"{_LIBRARY}: the C ABI library is missing from this install")
    released, kept = ctypes.CDLL(str(_LIBRARY)), ctypes.PyDLL(str(_LIBRARY))
    handle = ctypes.c_void_p
    for name, args in (("raingan_create", [ctypes.POINTER(_Config), ctypes.POINTER(handle)]),
                       ("raingan_config_init", [ctypes.POINTER(_Config)]),
                       ("raingan_wait_ready", [handle, ctypes.c_uint32]),
                       ("raingan_stats", [handle, ctypes.POINTER(_Stats)]),
                       ("raingan_producer_message", [handle, ctypes.c_char_p, ctypes.c_size_t]),
                       ("raingan_destroy", [handle])):
        getattr(released, name).argtypes = args
        getattr(released, name).restype = ctypes.c_int
    released.raingan_status_text.argtypes = [ctypes.c_int]
    released.raingan_status_text.restype = ctypes.c_char_p
    for name, args in (("raingan_set_gain_db", [handle, ctypes.c_float]),
                       ("raingan_set_width", [handle, ctypes.c_float]),
                       ("raingan_set_intensity", [handle, ctypes.c_float])):
        getattr(kept, name).argtypes = args
        getattr(kept, name).restype = ctypes.c_int
    return released, kept


@dataclass(frozen=True)
class ServedStats:
    """What a :class:`ServedRainSource` has done so far.

    Attributes
    ----------
    underruns : times the ring ran short and the fallback loop stepped in
    loop_heard_frames : frames in which the fallback loop was heard
    frames_rendered : frames written to the host
    frames_buffered : frames ready in the ring now
    producer_restarts : producers the watchdog started after the first
    producer_pid : the producer process's id; 0 while none runs
    loop_ready : whether the fallback loop is in place
    error : the producer's failure, one line; None while it is healthy
    """

    underruns: int
    loop_heard_frames: int
    frames_rendered: int
    frames_buffered: int
    producer_restarts: int
    producer_pid: int
    loop_ready: bool
    error: str | None


class ServedRainSource:
    """Endless rain rendered into the host's buffers by a producer process.

    Parameters
    ----------
    model : exported .onnx model; None for the bundled default model
    sample_rate : the host's rate, Hz (8 to 192 kHz)
    channels : 1 or 2
    seed : None draws one (see :attr:`seed`); the same seed gives the same rain
    latency_ms : audio the producer keeps buffered ahead of the host, 20 to 10000 ms
    gain_db : output gain, -120 to +24 dB (glides per sample)
    width : stereo width 0-1 (glides per sample)
    intensity : 0 light to 1 heavy (None: as the latent walk makes it)

    Raises
    ------
    ValueError
        Settings outside those ranges, or a model path that is not a file (a
        :class:`~raingan.core.errors.RainGANError`).
    """

    def __init__(self, model: str | os.PathLike | None = None, sample_rate: int = 48_000,
                 channels: int = 2, seed: int | None = None, latency_ms: float = 250.0,
                 gain_db: float = 0.0, width: float = 1.0, intensity: float | None = None):
        _setting(limits.SAMPLE_RATE_HZ, "sample rate", sample_rate)
        _setting(limits.CHANNELS, "channels", channels)
        _setting(limits.SEED, "seed", 0 if seed is None else seed)
        _setting(limits.SERVED_LATENCY_MS, "latency", latency_ms)
        if model is not None and not Path(model).is_file():
            raise limits.SettingRangeError(f"{model}: no such model file")
        self.model = None if model is None else Path(model)
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.seed = secrets.randbits(63) if seed is None else int(seed)
        self.latency_ms = float(latency_ms)
        self._released, self._kept = _library()
        self._handle: ctypes.c_void_p | None = None
        # The renderer's bound methods shadow render and render_planar below: a callback's
        # `rain.render(buffer)` is then one native call, with no Python frame, whose cost a
        # callback that wakes with cold caches pays many times over.
        self._renderer = _native.CAbiRenderer(self.channels)
        self.render, self.render_planar = self._renderer.render, self._renderer.render_planar
        self._gain_db, self._width, self._intensity = 0.0, 1.0, None
        self.gain_db, self.width = gain_db, width
        if intensity is not None:
            self.intensity = intensity

    # -- life cycle ----------------------------------------------------------------------------
    def start(self, timeout_s: float = START_TIMEOUT_S) -> "ServedRainSource":
        """Start the producer process and wait until it has filled the ring.

        Raises
        ------
        ServedSourceError
            The producer failed (its one-line message: a bad model, say), could not be
            started, or did not fill the ring within ``timeout_s``; nothing keeps running.
        """
        if self._handle is not None:
            return self
        config = _Config()
        self._released.raingan_config_init(ctypes.byref(config))
        config.sample_rate_hz, config.channels = self.sample_rate, self.channels
        config.seed, config.latency_ms = self.seed, self.latency_ms
        config.model_path = None if self.model is None else os.fsencode(self.model)
        config.python_path = os.fsencode(sys.executable)
        handle = ctypes.c_void_p()
        self._check(self._released.raingan_create(ctypes.byref(config), ctypes.byref(handle)),
                    "could not start the producer")
        status = self._released.raingan_wait_ready(handle, int(timeout_s * 1000))
        if status != _OK:
            message = ctypes.create_string_buffer(512)
            self._released.raingan_producer_message(handle, message, len(message))
            self._released.raingan_destroy(handle)
            reason = message.value.decode(errors="replace") or self._text(status)
            raise ServedSourceError(f"the producer did not start: {reason}")
        self._handle = handle
        self._renderer.attach(handle.value)
        self._apply_knobs()
        return self

    def stop(self) -> None:
        """Stop the producer and free the ring; :meth:`render` then writes silence and
        :meth:`start` starts a new producer (the same seed: the same rain again)."""
        handle, self._handle = self._handle, None
        self._renderer.detach()
        if handle is not None:
            self._released.raingan_destroy(handle)

    def __enter__(self) -> "ServedRainSource":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self.stop()

    # -- audio thread --------------------------------------------------------------------------
    def render(self, buffer: np.ndarray) -> int:
        """Fill ``buffer``, shape (frames, channels), float32, C-contiguous, in place, with
        the next frames; silence before :meth:`start` and after :meth:`stop`. One native
        call that keeps the caller's GIL for the microseconds the copy takes (so
        :meth:`stop` cannot free the ring under it). Returns the frames written.

        Raises
        ------
        TypeError
            ``buffer`` is not a float32 numpy array.
        ValueError
            Wrong shape, not C-contiguous, read-only, or more than :data:`MAX_FRAMES` frames.
        """
        return self._renderer.render(buffer)  # the instance's own attribute skips this frame

    def render_planar(self, buffer: np.ndarray) -> int:
        """As :meth:`render`, for a (channels, frames) buffer (JUCE, CLAP, VST3, Wwise)."""
        return self._renderer.render_planar(buffer)

    # -- controls (any thread) -----------------------------------------------------------------
    @property
    def gain_db(self) -> float:
        return self._gain_db

    @gain_db.setter
    def gain_db(self, gain_db: float) -> None:
        self._gain_db = _setting(limits.GAIN_DB, "gain", gain_db)
        self._apply_knobs()

    @property
    def width(self) -> float:
        return self._width

    @width.setter
    def width(self, width: float) -> None:
        self._width = _setting(limits.WIDTH, "width", width)
        self._apply_knobs()

    @property
    def intensity(self) -> float | None:
        return self._intensity

    @intensity.setter
    def intensity(self, intensity: float) -> None:
        """0 light to 1 heavy; it reaches the output after the latency. Once set, the
        producer holds an intensity (the C ABI has no release)."""
        self._intensity = _setting(limits.INTENSITY, "intensity", intensity)
        self._apply_knobs()

    def _apply_knobs(self) -> None:
        if self._handle is None:
            return  # start() applies them
        self._kept.raingan_set_gain_db(self._handle, self._gain_db)
        self._kept.raingan_set_width(self._handle, self._width)
        if self._intensity is not None:
            status = self._kept.raingan_set_intensity(self._handle, self._intensity)
            if status == _UNSUPPORTED:
                raise limits.SettingRangeError("this model has no intensity axis")

    def stats(self) -> ServedStats:
        """Underruns, buffered frames, the producer's restarts and its error, if any."""
        if self._handle is None:
            return ServedStats(0, 0, 0, 0, 0, 0, False, None)
        raw = _Stats()
        self._released.raingan_stats(self._handle, ctypes.byref(raw))
        message = ctypes.create_string_buffer(512)
        self._released.raingan_producer_message(self._handle, message, len(message))
        return ServedStats(int(raw.underruns), int(raw.loop_heard_frames),
                           int(raw.frames_rendered), int(raw.frames_buffered),
                           int(raw.producer_restarts), int(raw.producer_pid),
                           bool(raw.loop_ready), message.value.decode(errors="replace") or None)

    @property
    def running(self) -> bool:
        return self._handle is not None

    def _check(self, status: int, doing: str) -> None:
        if status != _OK:
            raise ServedSourceError(f"{doing}: {self._text(status)}")

    def _text(self, status: int) -> str:
        return self._released.raingan_status_text(status).decode()
