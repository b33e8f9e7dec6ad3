"""`raingan serve`: the producer process that feeds a shared-memory ring (the C ABI's)."""

from __future__ import annotations

import argparse

from raingan.core import limits

from .common import ranged


def add_serve(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "serve", help="feed rain into a shared-memory ring (started by the C ABI, raingan.h)",
        description="Attach to the shared-memory ring NAME that a consumer created (raingan.h's "
                    "raingan_create does, and starts this command), and keep it filled with "
                    "rain to the consumer's latency until SIGTERM or SIGINT, the consumer's "
                    "stop flag, or the consumer's exit. Gain and width are the consumer's to "
                    "apply; intensity follows the consumer once it sets one. Exit status: 0 when "
                    "stopped, 2 for a missing or mismatched ring, a bad model or bad settings.")
    p.add_argument("--shm", required=True, metavar="NAME",
                   help="name of the POSIX shared-memory ring, e.g. /raingan-1")
    p.add_argument("--model", help="exported .onnx model (default: the bundled one)")
    p.add_argument("--seed", type=ranged(int, limits.SEED),
                   help=f"seed, {limits.SEED} (default: drawn)")
    p.add_argument("--sr", type=ranged(int, limits.SAMPLE_RATE_HZ), default=48_000, metavar="HZ",
                   help=f"sample rate, {limits.SAMPLE_RATE_HZ}; must be the ring's (default 48000)")
    p.add_argument("--channels", type=int, default=2, choices=(1, 2),
                   help="1 or 2; must be the ring's (default 2)")
    p.add_argument("--intensity", type=ranged(float, limits.INTENSITY), metavar="I",
                   help=f"{limits.INTENSITY}, until the consumer sets one (default: as the latent "
                        f"walk makes it)")
    p.add_argument("--drift-s", type=ranged(float, limits.DRIFT_S), metavar="S",
                   help=f"time over which the rain's character drifts, {limits.DRIFT_S} "
                        f"(default: the model's, 10 for a chunk model, 600 for a streaming one)")
    p.add_argument("--truncation", type=ranged(float, limits.TRUNCATION),
                   help=f"latent truncation, {limits.TRUNCATION} (default: the model's)")
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"),
                   help="onnxruntime device (default cpu)")
    p.set_defaults(run=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    import os
    import signal
    import threading

    from raingan.runtime.serve import ServeSettings, attach_ring, serve

    settings = ServeSettings(sample_rate_hz=args.sr, channels=args.channels, seed=args.seed,
                             model=args.model, intensity=args.intensity, drift_s=args.drift_s,
                             truncation=args.truncation, device=args.device)
    stop, streaming = threading.Event(), threading.Event()

    def request_stop(*_) -> None:
        # While the model loads there is nothing to finish: end now, so that whoever stops
        # this producer (a plugin being removed, a seed changed twice) does not wait for the
        # load and then for its SIGTERM grace. Not by an exception: one raised inside an
        # extension module's import comes out as another error. Once streaming, the loop
        # ends at its next turn.
        if not streaming.is_set():
            os._exit(0)
        stop.set()

    previous = {signum: signal.signal(signum, request_stop)
                for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        ring = attach_ring(args.shm, settings)
        serve(ring, settings, stop, streaming)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
