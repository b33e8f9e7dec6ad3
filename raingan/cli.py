"""The `raingan` command: one entry point, one subcommand per task.

Every subcommand reports bad input as one line on stderr and exits with status 2; nothing
is half-written, because outputs go to a temporary file that is renamed when complete.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from raingan import __version__

EXIT_BAD_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_BAD_INPUT
    from raingan.runtime.errors import RainGANError

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
    for add in (_add_reconstruct, _add_eval, _add_info):
        add(commands)
    from raingan.cli_training import add_export, add_train

    from raingan.cli_render import add_loop, add_render, add_stems

    add_train(commands)
    add_export(commands)
    add_render(commands)
    add_loop(commands)
    add_stems(commands)
    return parser


# -- reconstruct -------------------------------------------------------------------------------

def _add_reconstruct(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "reconstruct", help="round-trip audio through a spectral spec (what a perfect generator makes)",
        description="Audio -> model images -> magnitudes -> phase reconstruction -> stitched "
                    "audio. Hear what a spec keeps of your recordings.")
    p.add_argument("input", type=Path, help="audio file (any format libsndfile reads)")
    p.add_argument("output", type=Path, help="output .wav or .flac")
    _add_spec_option(p)
    _add_phase_options(p)
    p.add_argument("--subtype", default="PCM_24",
                   help="libsndfile subtype of the output, e.g. PCM_16, PCM_24, FLOAT (default PCM_24)")
    p.set_defaults(run=_run_reconstruct)


def _add_spec_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", default="default",
                   help="spectral spec: 'default', 'article', or a JSON file (default: default)")


def _add_phase_options(p: argparse.ArgumentParser) -> None:
    from raingan.runtime.phase import PhaseSettings

    defaults = PhaseSettings()
    p.add_argument("--phase-init", choices=("pghi", "random", "zero"), default=defaults.init,
                   help=f"initial phase (default {defaults.init})")
    p.add_argument("--iterations", type=int, default=defaults.n_iter,
                   help=f"Fast Griffin-Lim iterations (default {defaults.n_iter})")
    p.add_argument("--momentum", type=float, default=defaults.momentum,
                   help=f"Fast Griffin-Lim momentum, 0 for plain Griffin-Lim (default {defaults.momentum})")
    p.add_argument("--seed", type=int, default=defaults.seed, help="seed of random initial phase")


def load_spec(value: str):
    """A spec by name ('default', 'article') or from a JSON file."""
    from raingan.runtime.errors import SpecError
    from raingan.runtime.spec import NAMED_SPECS, SpectralSpec

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


def _phase_settings(args: argparse.Namespace):
    from raingan.runtime.errors import RainGANError
    from raingan.runtime.phase import PhaseSettings

    try:
        return PhaseSettings(init=args.phase_init, n_iter=args.iterations,
                             momentum=args.momentum, seed=args.seed)
    except ValueError as exc:
        raise RainGANError(str(exc)) from None


def _run_reconstruct(args: argparse.Namespace) -> int:
    from raingan.runtime.audio_io import read_audio, write_audio
    from raingan.runtime.roundtrip import count_chunks, round_trip

    spec = load_spec(args.spec)
    settings = _phase_settings(args)
    recording = read_audio(args.input, max_channels=8)
    total = count_chunks(recording.samples.shape[0], recording.sample_rate_hz,
                         recording.n_channels, spec)
    with _progress(total, "chunks") as advance:
        audio = round_trip(recording.samples, recording.sample_rate_hz, spec, settings, advance)
    write_audio(args.output, audio, recording.sample_rate_hz, subtype=args.subtype)
    print(f"wrote {args.output} ({audio.shape[0] / recording.sample_rate_hz:.2f} s, "
          f"{recording.sample_rate_hz} Hz, {audio.shape[1]} ch)")
    return 0


# -- eval ------------------------------------------------------------------------------------

def _add_eval(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "eval", help="how close candidate audio is to reference rain (texture statistics)",
        description="Sound-texture statistics (McDermott & Simoncelli 2011) of candidates "
                    "against references, normalised by the references' own spread; plus seam "
                    "periodicity, repetition, clipping and DC offset.")
    p.add_argument("--ref", nargs="+", type=Path, required=True, metavar="FILE",
                   help="reference recordings")
    p.add_argument("--cand", nargs="+", type=Path, required=True, metavar="FILE",
                   help="candidate audio to judge")
    p.add_argument("--json", dest="json_path", metavar="PATH",
                   help="also write the report as JSON ('-' for stdout, instead of the table)")
    p.add_argument("--plot", type=Path, metavar="PNG",
                   help="write spectrograms and statistics side by side to this PNG")
    p.add_argument("--noise-baseline", action="store_true",
                   help="also score a spectrally matched coloured-noise twin of each candidate, "
                        "a yardstick that real rain should beat clearly")
    p.set_defaults(run=_run_eval)


def _run_eval(args: argparse.Namespace) -> int:
    from raingan.runtime import evaluate

    steps = evaluate.evaluate_steps(len(args.ref), len(args.cand), args.noise_baseline)
    with _progress(steps, "step") as advance:
        report = evaluate.evaluate_files(args.ref, args.cand,
                                         noise_baseline=args.noise_baseline, progress=advance)
    if args.json_path == "-":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format_table())
        if args.json_path:
            _write_text_atomic(Path(args.json_path), json.dumps(report.to_dict(), indent=2) + "\n")
    if args.plot:
        evaluate.plot_files(report, args.ref, args.cand, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr if args.json_path == "-" else sys.stdout)
    return 0


# -- info ------------------------------------------------------------------------------------

def _add_info(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "info", help="describe a spec, an audio file, a model, or this installation",
        description="With no argument: versions, native module and ONNX Runtime providers. "
                    "With a spec name or JSON file: the spec and its geometry. With an audio "
                    "file: its format. With an .onnx model: its RainGAN metadata.")
    p.add_argument("target", nargs="?", help="spec name, spec JSON, audio file or .onnx model")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(run=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    from raingan.runtime import info

    target = args.target
    if target is None:
        facts = info.installation_info()
    elif target.endswith(".onnx"):
        facts = info.model_info(Path(target))
    elif Path(target).is_file() and not target.endswith(".json"):
        facts = info.audio_info(Path(target))
    else:
        facts = info.spec_info(load_spec(target))
    print(json.dumps(facts, indent=2) if args.json else info.format_facts(facts))
    return 0


# -- helpers ---------------------------------------------------------------------------------

class _progress:
    """A tqdm bar on stderr (hidden when stderr is not a terminal), as a context manager."""

    def __init__(self, total: int, unit: str):
        from tqdm import tqdm

        self._bar = tqdm(total=total, unit=unit, disable=None, leave=False, file=sys.stderr)

    def __enter__(self) -> Callable[[int], None]:
        return self._bar.update

    def __exit__(self, *exc_info: object) -> None:
        self._bar.close()


def _write_text_atomic(path: Path, text: str) -> None:
    from raingan.runtime.atomic import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")

if __name__ == "__main__":
    raise SystemExit(main())
