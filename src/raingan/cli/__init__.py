"""The `raingan` command: one entry point, one subcommand per task.

Every subcommand reports bad input as one line on stderr and exits with status 2; nothing
is half-written, because outputs go to a temporary file that is renamed when complete.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from raingan import __version__

from . import analysis, render, training
from .common import EXIT_BAD_INPUT

__all__ = ["main", "build_parser"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_BAD_INPUT
    from raingan.core.errors import RainGANError

    try:
        return args.run(args) or 0
    except RainGANError as exc:
        print(f"raingan {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"raingan {args.command}: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raingan", description="Endless generated rain: train, export, render, reconstruct, evaluate, inspect.")
    parser.add_argument("--version", action="version", version=f"raingan {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (analysis.add_reconstruct, analysis.add_eval, analysis.add_info,
                training.add_train, training.add_export,
                render.add_render, render.add_loop, render.add_stems):
        add(commands)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
