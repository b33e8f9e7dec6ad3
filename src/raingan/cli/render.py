"""`raingan render`: seconds of generated rain to an audio file."""

from __future__ import annotations

import argparse
from pathlib import Path

from raingan.core import limits

from .common import Progress, ranged

FORMATS = {"wav": ".wav", "flac": ".flac"}


def add_render(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "render", help="render generated rain to a file",
        description="Generate rain with an exported model: latents -> spectrogram chunks -> "
                    "phase reconstruction -> seamless stitching -> resampling, gain, DC "
                    "removal and a soft limiter.")
    p.add_argument("output", type=Path, metavar="OUT", help="output .wav or .flac")
    p.add_argument("--seconds", type=ranged(float, limits.SECONDS), required=True,
                   help=f"length, {limits.SECONDS}")
    _add_common(p)
    p.set_defaults(run=_run_render)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, help="exported .onnx model (default: the bundled one)")
    p.add_argument("--seed", type=ranged(int, limits.SEED),
                   help=f"seed, {limits.SEED}; the same seed and settings give the same file "
                        f"(default: drawn)")
    p.add_argument("--sr", type=ranged(int, limits.SAMPLE_RATE_HZ), default=48_000, metavar="HZ",
                   help=f"output sample rate, {limits.SAMPLE_RATE_HZ} (default 48000)")
    p.add_argument("--channels", type=int, default=2, choices=(1, 2), help="1 or 2 (default 2)")
    p.add_argument("--width", type=ranged(float, limits.WIDTH), default=1.0,
                   help=f"stereo width, {limits.WIDTH} (default 1)")
    p.add_argument("--gain-db", type=ranged(float, limits.GAIN_DB), default=0.0,
                   help=f"output gain, {limits.GAIN_DB} (default 0)")
    p.add_argument("--truncation", type=ranged(float, limits.TRUNCATION),
                   help=f"latent truncation in standard deviations, {limits.TRUNCATION} "
                        f"(default: the model's)")
    p.add_argument("--drift-s", type=ranged(float, limits.DRIFT_S), metavar="S",
                   help=f"time over which the rain's character drifts, {limits.DRIFT_S}; 0 makes "
                        f"every chunk independent (default: the model's, 10 for a chunk "
                        f"model, 600 for a streaming one)")
    p.add_argument("--intensity", type=ranged(float, limits.INTENSITY), metavar="I",
                   help=f"{limits.INTENSITY}: light to heavy rain, along the model's intensity "
                        f"axis (default: as the latent walk makes it)")
    p.add_argument("--format", choices=tuple(FORMATS), help="file format (default: from OUT)")
    p.add_argument("--subtype", default="PCM_24",
                   help="sample format, e.g. PCM_16, PCM_24, FLOAT (default PCM_24)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="onnxruntime device (default: CUDA where available)")


def _check_output_file(args: argparse.Namespace) -> None:
    """Refuse a bad output file name or folder before any model is loaded or audio made."""
    from raingan.core.atomic import check_output_path
    from raingan.core.audio_io import check_audio_format
    from raingan.core.errors import OutputPathError

    suffix = args.output.suffix.lower()
    if args.format is not None and FORMATS[args.format] != suffix:
        raise OutputPathError(f"{args.output}: --format {args.format} needs a "
                              f"{FORMATS[args.format]} file name")
    if suffix not in FORMATS.values():
        raise OutputPathError(f"{args.output}: unknown audio format (use .wav or .flac)")
    check_output_path(args.output)  # fail before minutes of rendering, not after
    check_audio_format(suffix, args.subtype)


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
    p.add_argument("--seconds", type=ranged(float, limits.LOOP_SECONDS), required=True,
                   help=f"loop length, {limits.LOOP_SECONDS}")
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
    p.add_argument("--count", type=ranged(int, limits.STEM_COUNT), required=True,
                   help=f"number of variations, {limits.STEM_COUNT}")
    p.add_argument("--seconds", type=ranged(float, limits.STEM_SECONDS), required=True,
                   help=f"length of each stem, {limits.STEM_SECONDS}")
    p.add_argument("--lufs", type=ranged(float, limits.TARGET_LUFS), default=-23.0,
                   help=f"target loudness, {limits.TARGET_LUFS} (default -23)")
    p.add_argument("--layers", type=ranged(int, limits.LAYERS), default=0, metavar="N",
                   help=f"intensity layers per variation, 0 (none) or 2 to {limits.LAYERS.high}; "
                        f"the heaviest meets --lufs and the others keep their level below it "
                        f"(default: none)")
    _add_common(p)
    p.set_defaults(run=_run_stems)


def _run_stems(args: argparse.Namespace) -> int:
    from raingan.runtime.stems import render_stems

    from raingan.core.audio_io import check_audio_format
    from raingan.runtime.stems import check_stems_request

    suffix = FORMATS[args.format or "wav"]
    check_audio_format(suffix, args.subtype)
    settings = _settings(args)
    check_stems_request(args.output, args.count, settings, args.lufs, args.layers)
    generator = _generator(args)
    with Progress(args.count * max(args.layers, 1), "stems") as advance:
        manifest = render_stems(generator, args.output, args.count, settings, args.lufs,
                                args.subtype, suffix, advance, layers=args.layers)
    print(f"wrote {len(manifest['stems'])} stems and manifest.json to {args.output} "
          f"({args.lufs:g} LUFS, seeds from {manifest['settings']['seed']})")
    return 0
