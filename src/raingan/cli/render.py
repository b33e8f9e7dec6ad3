"""`raingan render`: seconds of generated rain to an audio file."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import Progress

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
    p.add_argument("--intensity", type=float, metavar="I",
                   help="0 light to 1 heavy rain, along the model's intensity axis "
                        "(default: as the latent walk makes it)")
    p.add_argument("--format", choices=tuple(FORMATS), help="file format (default: from OUT)")
    p.add_argument("--subtype", default="PCM_24",
                   help="sample format, e.g. PCM_16, PCM_24, FLOAT (default PCM_24)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="onnxruntime device (default: CUDA where available)")


def _check_output_file(args: argparse.Namespace) -> None:
    """Refuse a bad output file name or folder before any model is loaded or audio made."""
    from raingan.core.errors import OutputPathError

    suffix = args.output.suffix.lower()
    if args.format is not None and FORMATS[args.format] != suffix:
        raise OutputPathError(f"{args.output}: --format {args.format} needs a "
                              f"{FORMATS[args.format]} file name")
    if suffix not in FORMATS.values():
        raise OutputPathError(f"{args.output}: unknown audio format (use .wav or .flac)")
    if not args.output.parent.is_dir():  # fail before minutes of rendering, not after
        raise OutputPathError(f"{args.output}: folder {args.output.parent} does not exist")


def _settings(args: argparse.Namespace):
    """Validated render settings."""
    from raingan.runtime.render import RenderSettings

    drift = {} if args.drift_s is None else {"drift_s": args.drift_s}
    return RenderSettings(seconds=args.seconds, sample_rate_hz=args.sr, channels=args.channels,
                          seed=args.seed, gain_db=args.gain_db, width=args.width,
                          truncation=args.truncation, intensity=args.intensity, **drift)


def _generator(args: argparse.Namespace):
    from raingan.runtime.generator import Generator, default_model_path

    return Generator(args.model or default_model_path(), device=args.device)


def _write(args: argparse.Namespace, samples, sample_rate_hz: int) -> None:
    from raingan.core.audio_io import write_audio

    write_audio(args.output, samples, sample_rate_hz, subtype=args.subtype)


def _run_render(args: argparse.Namespace) -> int:
    from raingan.runtime.render import render

    _check_output_file(args)
    settings = _settings(args)
    generator = _generator(args)
    with Progress(generator.chunk_count(settings.seconds), "chunks") as advance:
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

    _check_output_file(args)
    settings = _settings(args)
    generator = _generator(args)
    result = render_loop(generator, settings.seconds, settings.sample_rate_hz,
                         settings.channels, settings.seed, settings.gain_db, settings.width,
                         settings.truncation, settings.drift_s, settings.intensity)
    _write(args, result.samples, result.sample_rate_hz)
    print(f"wrote {args.output} ({args.seconds:g} s loop of {result.n_chunks} chunks, "
          f"{result.sample_rate_hz} Hz, {args.channels} ch, seed {result.seed})")
    return 0


def add_stems(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "stems", help="render independent variations, loudness-normalised, with a manifest",
        description="Write COUNT independent variations (seeds SEED, SEED+1, ...) into OUTDIR, "
                    "each normalised to a target integrated loudness (ITU-R BS.1770), and a "
                    "manifest.json with every stem's seed, loudness and gain, the model's hash "
                    "and the settings. --layers N also renders each variation at N intensities "
                    "from light to heavy, aligned in time for crossfading.")
    p.add_argument("output", type=Path, metavar="OUTDIR", help="folder for the stems")
    p.add_argument("--count", type=int, required=True, help="number of variations")
    p.add_argument("--seconds", type=float, required=True, help="length of each stem, seconds")
    p.add_argument("--lufs", type=float, default=-23.0, help="target loudness (default -23)")
    p.add_argument("--layers", type=int, default=0, metavar="N",
                   help="intensity layers per variation, >= 2; the heaviest meets --lufs and "
                        "the others keep their level below it (default: none)")
    _add_common(p)
    p.set_defaults(run=_run_stems)


def _run_stems(args: argparse.Namespace) -> int:
    from raingan.runtime.stems import render_stems

    suffix = FORMATS[args.format or "wav"]
    settings = _settings(args)
    generator = _generator(args)
    with Progress(args.count * max(args.layers, 1), "stems") as advance:
        manifest = render_stems(generator, args.output, args.count, settings, args.lufs,
                                args.subtype, suffix, advance, layers=args.layers)
    print(f"wrote {len(manifest['stems'])} stems and manifest.json to {args.output} "
          f"({args.lufs:g} LUFS, seeds from {manifest['settings']['seed']})")
    return 0
