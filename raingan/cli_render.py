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
    p.add_argument("--model", type=Path, help="exported .onnx model (default: the bundled one)")
    p.add_argument("--seed", type=int, help="seed; the same seed and settings give the same file")
    p.add_argument("--sr", type=int, default=48_000, metavar="HZ",
                   help="output sample rate, 8000-192000 Hz (default 48000)")
    p.add_argument("--channels", type=int, default=2, help="1 or 2 (default 2)")
    p.add_argument("--width", type=float, default=1.0, help="stereo width 0-1 (default 1)")
    p.add_argument("--gain-db", type=float, default=0.0, help="output gain, dB (default 0)")
    p.add_argument("--truncation", type=float,
                   help="latent truncation in standard deviations (default: the model's)")
    p.add_argument("--drift-s", type=float, default=10.0, metavar="S",
                   help="time over which the rain's character drifts; 0 makes every chunk "
                        "independent (default 10)")
    p.add_argument("--format", choices=tuple(FORMATS), help="file format (default: from OUT)")
    p.add_argument("--subtype", default="PCM_24",
                   help="sample format, e.g. PCM_16, PCM_24, FLOAT (default PCM_24)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="onnxruntime device (default: CUDA where available)")
    p.set_defaults(run=_run_render)


def _run_render(args: argparse.Namespace) -> int:
    from raingan.cli import _progress
    from raingan.runtime.audio_io import write_audio
    from raingan.runtime.errors import OutputPathError
    from raingan.runtime.generator import Generator, default_model_path
    from raingan.runtime.render import RenderSettings, render

    suffix = args.output.suffix.lower()
    if args.format is not None and FORMATS[args.format] != suffix:
        raise OutputPathError(f"{args.output}: --format {args.format} needs a "
                              f"{FORMATS[args.format]} file name")
    if suffix not in FORMATS.values():
        raise OutputPathError(f"{args.output}: unknown audio format (use .wav or .flac)")
    if not args.output.parent.is_dir():  # fail before minutes of rendering, not after
        raise OutputPathError(f"{args.output}: folder {args.output.parent} does not exist")
    settings = RenderSettings(seconds=args.seconds, sample_rate_hz=args.sr,
                              channels=args.channels, seed=args.seed, gain_db=args.gain_db,
                              width=args.width, truncation=args.truncation,
                              drift_s=args.drift_s)
    generator = Generator(args.model or default_model_path(), device=args.device)
    with _progress(generator.chunk_count(settings.seconds), "chunks") as advance:
        result = render(generator, settings, advance)
    write_audio(args.output, result.samples, result.sample_rate_hz, subtype=args.subtype)
    print(f"wrote {args.output} ({args.seconds:g} s, {result.sample_rate_hz} Hz, "
          f"{args.channels} ch, seed {result.seed})")
    return 0
