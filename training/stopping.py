"""When a training run stops before its last step: a wall-clock budget, Ctrl-C, SIGTERM.

A run stopped this way ends its current step, writes a checkpoint of it and returns, so
that ``raingan train --resume`` continues it exactly; nothing is lost but the step in
flight. While the training loop runs, the signals are only noted and acted on after the
step in flight (a step is never cut in half: the TensorFlow step updates the
discriminator, then the generator); a second Ctrl-C stops at once, without a checkpoint,
as Python does by default.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from typing import Iterator

from ..core.errors import RainGANError

#: Signals that ask a run to stop after its current step.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Whether, and why, the loop should stop after the step it has just taken.

    Parameters
    ----------
    max_minutes : wall-clock budget from now (the run's set-up counts), minutes; None: none
    """

    def __init__(self, max_minutes: float | None = None):
        if max_minutes is not None and not (math.isfinite(max_minutes) and max_minutes > 0):
            raise RainGANError(f"the time limit (--max-minutes) must be a positive number of "
                               f"minutes, got {max_minutes!r}")
        self._deadline = None if max_minutes is None else time.perf_counter() + 60 * max_minutes
        self.signal_number: int | None = None

    @property
    def reason(self) -> str | None:
        """Why the loop should stop now ("time limit", "SIGINT", ...), or None to go on."""
        if self.signal_number is not None:
            return signal.Signals(self.signal_number).name
        if self._deadline is not None and time.perf_counter() >= self._deadline:
            return "time limit"
        return None

    @contextlib.contextmanager
    def catching_signals(self) -> Iterator["StopRequest"]:
        """Note :data:`STOP_SIGNALS` instead of dying of them, for the duration; outside the
        main thread (where Python cannot install handlers) signals keep their usual effect."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}

        def note(number: int, frame) -> None:
            if self.signal_number is not None:  # asked twice: stop now
                signal.signal(signal.SIGINT, signal.default_int_handler)
                raise KeyboardInterrupt
            self.signal_number = number

        for number in STOP_SIGNALS:
            signal.signal(number, note)
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
