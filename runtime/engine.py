"""The streaming engine: a RainStream run ahead on a background thread, read in any block size.

The producer thread keeps ``ahead_s`` seconds of audio buffered; the host reads exactly the
frames it needs. This is the Python-side engine (it uses a lock and may block, so it is not
for a real-time audio thread); the native core's lock-free ring buffer is fed from the same
RainStream.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

import numpy as np

from .errors import RainGANError
from .stream import RainStream


class EngineError(RainGANError, RuntimeError):
    """The engine is stopped, or its producer failed (the cause is chained)."""


@dataclass(frozen=True)
class EngineStats:
    frames_buffered: int
    blocks_produced: int
    frames_read: int


class BackgroundStream:
    """Produces a :class:`RainStream` ahead of the reader.

    Parameters
    ----------
    stream : the stream to run; owned by the engine's thread once started
    ahead_s : audio kept ready, seconds at the stream's rate
    """

    def __init__(self, stream: RainStream, ahead_s: float = 1.0):
        if not ahead_s > 0:
            raise ValueError(f"ahead_s must be > 0, got {ahead_s}")
        self.stream = stream
        self._ahead_frames = int(ahead_s * stream.sample_rate_hz)
        self._blocks: collections.deque[np.ndarray] = collections.deque()
        self._buffered = 0
        self._produced = 0
        self._read = 0
        self._running = False
        self._failure: BaseException | None = None
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> "BackgroundStream":
        with self._changed:
            if self._running:
                return self
            if self._thread is not None:
                raise EngineError("a stopped engine cannot be restarted; make a new one")
            self._running = True
        self._thread = threading.Thread(target=self._produce, name="raingan-producer",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._changed:
            self._running = False
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> "BackgroundStream":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stats(self) -> EngineStats:
        with self._changed:
            return EngineStats(self._buffered, self._produced, self._read)

    def read(self, frames: int, timeout_s: float | None = None) -> np.ndarray:
        """The next ``frames`` frames, shape (frames, channels), float32; waits if needed.

        Raises
        ------
        EngineError
            The engine is not running, or its producer failed.
        TimeoutError
            The audio was not ready within ``timeout_s``.
        """
        if frames < 0:
            raise ValueError(f"frames must be >= 0, got {frames}")
        with self._changed:
            ready = self._changed.wait_for(
                lambda: self._buffered >= frames or not self._running or self._failure,
                timeout=timeout_s)
            if self._failure is not None:
                raise EngineError(f"the producer failed: {self._failure}") from self._failure
            if not self._running:
                raise EngineError("the engine is not running (call start())")
            if not ready:
                raise TimeoutError(f"{frames} frames were not ready within {timeout_s} s")
            out = np.empty((frames, self.stream.channels), dtype=np.float32)
            filled = 0
            while filled < frames:
                block = self._blocks[0]
                take = min(frames - filled, block.shape[0])
                out[filled:filled + take] = block[:take]
                filled += take
                if take == block.shape[0]:
                    self._blocks.popleft()
                else:
                    self._blocks[0] = block[take:]
            self._buffered -= frames
            self._read += frames
            self._changed.notify_all()
            return out

    def _produce(self) -> None:
        try:
            while True:
                with self._changed:
                    self._changed.wait_for(
                        lambda: self._buffered < self._ahead_frames or not self._running)
                    if not self._running:
                        return
                block = self.stream.next_block()  # outside the lock: readers go on reading
                with self._changed:
                    self._blocks.append(block)
                    self._buffered += block.shape[0]
                    self._produced += 1
                    self._changed.notify_all()
        except BaseException as exc:  # reported to the reader, never lost in the thread
            with self._changed:
                self._failure = exc
                self._changed.notify_all()
