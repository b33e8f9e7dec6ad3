"""`raingan reconstruct`, `raingan eval` and `raingan info`: the subcommands that analyse."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import (Progress, add_phase_options, add_spec_option, load_spec, phase_settings,
                     write_text_atomic)


# -- reconstruct -------------------------------------------------------------------------------

def add_reconstruct(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "reconstruct", help="round-trip audio through a spectral spec (what a perfect generator makes)",
        description="Audio -> model images -> magnitudes -> phase reconstruction -> stitched "
                    "audio. Hear what a spec keeps of your recordings.")
    p.add_argument("input", type=Path, help="audio file (any format libsndfile reads)")
    p.add_argument("output", type=Path, help="output .wav or .flac")
    add_spec_option(p)
    add_phase_options(p)
    p.add_argument("--subtype", default="PCM_24",
                   help="libsndfile subtype of the output, e.g. PCM_16, PCM_24, FLOAT (default PCM_24)")
    p.set_defaults(run=_run_reconstruct)


def _run_reconstruct(args: argparse.Namespace) -> int:
    from raingan.core.atomic import check_output_path
    from raingan.core.audio_io import check_audio_format, read_audio, write_audio
    from raingan.core.roundtrip import count_chunks, round_trip

    check_output_path(args.output)
    check_audio_format(args.output.suffix, args.subtype)
    spec = load_spec(args.spec)
    settings = phase_settings(args)
    recording = read_audio(args.input, max_channels=8)
    total = count_chunks(recording.samples.shape[0], recording.sample_rate_hz,
                         recording.n_channels, spec)
    with Progress(total, "chunks") as advance:
        audio = round_trip(recording.samples, recording.sample_rate_hz, spec, settings, advance)
    write_audio(args.output, audio, recording.sample_rate_hz, subtype=args.subtype)
    print(f"wrote {args.output} ({audio.shape[0] / recording.sample_rate_hz:.2f} s, "
          f"{recording.sample_rate_hz} Hz, {audio.shape[1]} ch)")
    return 0


# -- eval ------------------------------------------------------------------------------------

def add_eval(commands: argparse._SubParsersAction) -> None:
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
    from raingan.core.atomic import check_output_path
    from raingan.eval import display, evaluate

    # Before minutes of judging, not after.
    for output in ([] if args.json_path in (None, "-") else [args.json_path]) + [args.plot]:
        if output is not None:
            check_output_path(output)

    steps = evaluate.evaluate_steps(len(args.ref), len(args.cand), args.noise_baseline)
    with Progress(steps, "step") as advance:
        report = evaluate.evaluate_files(args.ref, args.cand,
                                         noise_baseline=args.noise_baseline, progress=advance)
    if args.json_path == "-":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format_table())
        if args.json_path:
            write_text_atomic(Path(args.json_path), json.dumps(report.to_dict(), indent=2) + "\n")
    if args.plot:
        display.plot_files(report, args.ref, args.cand, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr if args.json_path == "-" else sys.stdout)
    return 0


# -- info ------------------------------------------------------------------------------------

def add_info(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "info", help="describe a spec, an audio file, a model, or this installation",
        description="With no argument: versions, native module and ONNX Runtime providers. "
                    "With a spec name or JSON file: the spec and its geometry. With an audio "
                    "file: its format. With an .onnx model: its RainGAN metadata.")
    p.add_argument("target", nargs="?", help="spec name, spec JSON, audio file or .onnx model")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(run=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    from . import info

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
