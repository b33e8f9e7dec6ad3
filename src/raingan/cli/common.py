"""What the subcommands share: exit statuses, progress bars, spec and phase options."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from . import EXIT_BAD_INPUT  # noqa: F401  (the subcommands import it from here)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse with a one-line error: the full usage of `render` is a screenful, and the
    line that says what went wrong would scroll away above it."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Progress:
    """A tqdm bar on stderr (hidden when stderr is not a terminal), as a context manager."""

    def __init__(self, total: int, unit: str):
        from tqdm import tqdm

        self._bar = tqdm(total=total, unit=unit, disable=None, leave=False, file=sys.stderr)

    def __enter__(self) -> Callable[[int], None]:
        return self._bar.update

    def __exit__(self, *exc_info: object) -> None:
        self._bar.close()


def ranged(kind: Callable[[str], float], limits) -> Callable[[str], float]:
    """An argparse ``type`` that parses with ``kind`` and refuses values outside ``limits``
    (a :class:`raingan.core.limits.Range`), while the arguments are read: before any model
    loads or any output is touched."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        if value not in limits:
            raise argparse.ArgumentTypeError(f"must be {limits}, got {text}")
        return value

    parse.range = limits  # type: ignore[attr-defined]  (tests find every ranged option)
    return parse


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed when complete."""
    from raingan.core.atomic import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def add_spec_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", default="default",
                   help="spectral spec: 'default', 'article', or a JSON file (default: default)")


def add_phase_options(p: argparse.ArgumentParser) -> None:
    from raingan.core import limits
    from raingan.core.phase import PhaseSettings

    defaults = PhaseSettings()
    p.add_argument("--phase-init", choices=("pghi", "random", "zero"), default=defaults.init,
                   help=f"initial phase (default {defaults.init})")
    p.add_argument("--iterations", type=ranged(int, limits.PHASE_ITERATIONS), default=defaults.n_iter,
                   help=f"Fast Griffin-Lim iterations, {limits.PHASE_ITERATIONS} "
                        f"(default {defaults.n_iter})")
    p.add_argument("--momentum", type=ranged(float, limits.MOMENTUM), default=defaults.momentum,
                   help=f"Fast Griffin-Lim momentum, {limits.MOMENTUM}; 0 for plain "
                        f"Griffin-Lim (default {defaults.momentum})")
    p.add_argument("--seed", type=ranged(int, limits.SEED), default=defaults.seed,
                   help=f"seed of random initial phase, {limits.SEED}")


def load_spec(value: str):
    """A spec by name ('default', 'article') or from a JSON file."""
    from raingan.core.errors import SpecError
    from raingan.core.spec import NAMED_SPECS, SpectralSpec

    if value in NAMED_SPECS:
        return NAMED_SPECS[value]()
    path = Path(value)
    if not path.is_file():
        raise SpecError(f"--spec {value}: not a named spec ({', '.join(NAMED_SPECS)}) "
                        f"nor an existing JSON file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read ({exc})") from None
    try:
        return SpectralSpec.from_json(text)
    except TypeError as exc:  # a field of the wrong kind, e.g. a string for n_fft
        raise SpecError(f"{path}: {exc}") from None


def phase_settings(args: argparse.Namespace):
    from raingan.core.errors import RainGANError
    from raingan.core.phase import PhaseSettings

    try:
        return PhaseSettings(init=args.phase_init, n_iter=args.iterations,
                             momentum=args.momentum, seed=args.seed)
    except ValueError as exc:
        raise RainGANError(str(exc)) from None
