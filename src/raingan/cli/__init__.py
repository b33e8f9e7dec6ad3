"""The `raingan` command: one entry point, one subcommand per task.

Every subcommand reports bad input as one line on stderr and exits with status 2; nothing
is half-written, because outputs go to a temporary file that is renamed when complete.
Ctrl-C at any moment, start-up included, ends with one line and status 130.

This module imports only the standard library at the top: a Ctrl-C during the seconds that
numpy, onnxruntime or TensorFlow take to import must reach :func:`main`'s handler, not the
console script's.
"""

from __future__ import annotations

import os
import sys

# signal's IntEnum wrappers cost 10 ms of import (enum), a window in which Ctrl-C would get
# Python's traceback; _signal is the same functions, built in.
import _signal as signal

TYPE_CHECKING = False  # typing itself takes 20 ms to import, a window for Ctrl-C
if TYPE_CHECKING:
    import argparse
    from typing import Sequence

__all__ = ["main", "build_parser", "entry", "COMMANDS"]

#: Exit status for bad input: one line on stderr, nothing written.
EXIT_BAD_INPUT = 2
#: 128 + SIGINT, as a shell reports a process that Ctrl-C ended.
EXIT_INTERRUPTED = 130
#: A failure RainGAN did not foresee (a bug): one line, and the traceback on request.
EXIT_INTERNAL = 1
TRACEBACK_VARIABLE = "RAINGAN_TRACEBACK"


#: Set by the first Ctrl-C: whatever the KeyboardInterrupt turns into on its way up (an
#: extension module whose import it broke raises ImportError "initialization failed"), the
#: run was interrupted.
_interrupted = [False]


def _interrupt(signum, frame) -> None:
    # A second Ctrl-C must not break into the clean-up that the first one started.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _interrupted[0] = True
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    _interrupted[0] = False
    previous = _set_sigint(_interrupt)
    prog = ["raingan"]
    try:
        return _main(argv, prog)
    except Exception:
        if not _interrupted[0]:
            raise
        print(f"{prog[0]}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print(f"{prog[0]}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _set_sigint(handler):
    """Install ``handler`` for SIGINT in place of Python's default one; returns the handler
    it replaced, or None where it left things alone: off the main thread (where signals
    cannot be handled), or when Ctrl-C is ignored (a background job keeps it ignored)."""
    try:
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return None
        return signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        return None


def _main(argv: Sequence[str] | None, prog: list[str]) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # The one subcommand named, alone: the others' options import numpy and scipy for their
    # defaults, which `raingan serve`, restarted by a watchdog, must not wait for.
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors; main returns, never exits
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_BAD_INPUT
    prog[0] = f"raingan {args.command}"
    try:
        status = args.run(args) or 0
        _flush_stdout()
        return status
    except Exception as exc:
        if _interrupted[0]:
            raise KeyboardInterrupt from None
        return _report(prog[0], exc)


def _report(prog: str, exc: Exception) -> int:
    """Print the one line for an exception that ended a run; returns the exit status."""
    from raingan.core.errors import RainGANError

    if isinstance(exc, RainGANError):
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(exc, OSError):  # a full disk, a closed pipe: the environment, not a bug
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if os.environ.get(TRACEBACK_VARIABLE):
        raise exc
    reason = str(exc).splitlines()[0] if str(exc) else ""
    print(f"{prog}: internal error: {type(exc).__name__}: {reason} (please report it; "
          f"{TRACEBACK_VARIABLE}=1 shows the traceback)", file=sys.stderr)
    return EXIT_INTERNAL


def _flush_stdout() -> None:
    """Flush stdout now, so that a full disk or closed pipe behind it is reported as one
    line by the command, not as a traceback by the interpreter at exit."""
    from raingan.core.errors import OutputPathError

    try:
        sys.stdout.flush()
    except OSError as exc:
        raise OutputPathError(f"cannot write to standard output ({exc.strerror})") from None


def entry() -> None:
    """The console script: :func:`main`, then an exit that no late Ctrl-C or unwritable
    stdout turns into a traceback."""
    status = main()
    _set_sigint(_exit_interrupted)
    try:
        sys.stdout.flush()
    except OSError:  # reported by main already; the interpreter would try again at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(status)


def _exit_interrupted(signum, frame) -> None:
    # Interpreter shutdown (module and thread teardown) runs no more of RainGAN's handlers.
    os.write(2, b"raingan: interrupted\n")
    os._exit(EXIT_INTERRUPTED)


#: Each subcommand: the module of this package that defines it, and its adding function.
COMMANDS = {"reconstruct": ("analysis", "add_reconstruct"), "eval": ("analysis", "add_eval"),
            "info": ("analysis", "add_info"), "train": ("training", "add_train"),
            "export": ("training", "add_export"), "render": ("render", "add_render"),
            "loop": ("render", "add_loop"), "stems": ("render", "add_stems"),
            "serve": ("serve", "add_serve"), "plugin": ("plugin", "add_plugin")}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``command`` (a key of :data:`COMMANDS`) alone."""
    import importlib

    from raingan import __version__

    from .common import OneLineErrorParser

    parser = OneLineErrorParser(
        prog="raingan", description="Endless generated rain: train, export, render, reconstruct, evaluate, inspect, serve, install the plugin.")
    parser.add_argument("--version", action="version", version=f"raingan {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, add) in COMMANDS.items():
        if command is None or name == command:
            getattr(importlib.import_module(f"{__name__}.{module}"), add)(commands)
    return parser


if __name__ == "__main__":
    entry()
