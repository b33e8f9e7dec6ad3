"""`raingan render`: seconds of generated rain to an audio file."""

from __future__ import annotations

import argparse
from pathlib import Path

FORMATS = {"wav": ".wav", "flac": ".flac"}


def add_render(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "render", help="render generated rain to a file",
        description="Generate rain with an exported model: latents -> spectrogram chunks -> "
                    "phase reconstruction -> seamless stitching -> resampling, gain, DC "
                    "removal and a soft limiter.")
    p.add_argument("output", type=Path, metavar="OUT", help="output .wav or .flac")
    p.add_argument("--seconds", type=float, required=True, help="length, seconds")
    _add_common(p)
    p.set_defaults(run=_run_render)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, help="exported .onnx model (default: the bundled one)")
    p.add_argument("--seed", type=int, help="seed; the same seed and settings give the same file")
    p.add_argument("--sr", type=int, default=48_000, metavar="HZ",
                   help="output sample rate, 8000-192000 Hz (default 48000)")
    p.add_argument("--channels", type=int, default=2, help="1 or 2 (default 2)")
    p.add_argument("--width", type=float, default=1.0, help="stereo width 0-1 (default 1)")
    p.add_argument("--gain-db", type=float, default=0.0, help="output gain, dB (default 0)")
    p.add_argument("--truncation", type=float,
                   help="latent truncation in standard deviations (default: the model's)")
    p.add_argument("--drift-s", type=float, metavar="S",
                   help="time over which the rain's character drifts; 0 makes every chunk "
                        "independent (default 10)")
    p.add_argument("--format", choices=tuple(FORMATS), help="file format (default: from OUT)")
    p.add_argument("--subtype", default="PCM_24",
                   help="sample format, e.g. PCM_16, PCM_24, FLOAT (default PCM_24)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="onnxruntime device (default: CUDA where available)")


def _settings(args: argparse.Namespace):
    """Validated settings, checked before any model is loaded or audio made."""
    from raingan.runtime.errors import OutputPathError
    from raingan.runtime.render import RenderSettings

    suffix = args.output.suffix.lower()
    if args.format is not None and FORMATS[args.format] != suffix:
        raise OutputPathError(f"{args.output}: --format {args.format} needs a "
                              f"{FORMATS[args.format]} file name")
    if suffix not in FORMATS.values():
        raise OutputPathError(f"{args.output}: unknown audio format (use .wav or .flac)")
    if not args.output.parent.is_dir():  # fail before minutes of rendering, not after
        raise OutputPathError(f"{args.output}: folder {args.output.parent} does not exist")
    drift = {} if args.drift_s is None else {"drift_s": args.drift_s}
    return RenderSettings(seconds=args.seconds, sample_rate_hz=args.sr, channels=args.channels,
                          seed=args.seed, gain_db=args.gain_db, width=args.width,
                          truncation=args.truncation, **drift)


def _generator(args: argparse.Namespace):
    from raingan.runtime.generator import Generator, default_model_path

    return Generator(args.model or default_model_path(), device=args.device)


def _write(args: argparse.Namespace, samples, sample_rate_hz: int) -> None:
    from raingan.runtime.audio_io import write_audio

    write_audio(args.output, samples, sample_rate_hz, subtype=args.subtype)


def _run_render(args: argparse.Namespace) -> int:
    from raingan.cli import _progress
    from raingan.runtime.render import render

    settings = _settings(args)
    generator = _generator(args)
    with _progress(generator.chunk_count(settings.seconds), "chunks") as advance:
        result = render(generator, settings, advance)
    _write(args, result.samples, result.sample_rate_hz)
    print(f"wrote {args.output} ({args.seconds:g} s, {result.sample_rate_hz} Hz, "
          f"{args.channels} ch, seed {result.seed})")
    return 0


def add_loop(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "loop", help="render a seamless loop",
        description="Render rain whose end flows into its start: no click, no level change "
                    "and no change of character at the wrap. Check it with raingan eval on the "
                    "loop played twice.")
    p.add_argument("output", type=Path, metavar="OUT", help="output .wav or .flac")
    p.add_argument("--seconds", type=float, required=True, help="loop length, seconds")
    _add_common(p)
    p.set_defaults(run=_run_loop)


def _run_loop(args: argparse.Namespace) -> int:
    from raingan.runtime.loop import render_loop

    settings = _settings(args)
    generator = _generator(args)
    result = render_loop(generator, settings.seconds, settings.sample_rate_hz,
                         settings.channels, settings.seed, settings.gain_db, settings.width,
                         settings.truncation, settings.drift_s)
    _write(args, result.samples, result.sample_rate_hz)
    print(f"wrote {args.output} ({args.seconds:g} s loop of {result.n_chunks} chunks, "
          f"{result.sample_rate_hz} Hz, {args.channels} ch, seed {result.seed})")
    return 0
