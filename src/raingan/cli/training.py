"""`raingan train` and `raingan export`: the subcommands that need the `train` extra.

TensorFlow is imported only when one of them runs, so the rest of the CLI starts quickly
and works without it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from raingan.core import limits
from raingan.core.speckle import Drops

from ..training.config import PRESETS
from .common import EXIT_BAD_INPUT, load_spec, ranged
from .quiet import native_log_filter

#: Keep TensorFlow's C++ start-up chatter (CUDA probing on machines without a GPU) off stderr.
_QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "3"}


#: What makes a CPU run bit-reproducible, set before the backend is imported. TensorFlow's
#: CPU training differs between runs from one seed unless it runs on one thread with oneDNN
#: off and deterministic ops (any one alone is not enough: BENCHMARKS.md, "Training reproducibility");
#: JAX is reproducible on a CPU as it is, and XLA's flag covers its GPU kernels.
DETERMINISTIC_ENV = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
                     "OMP_NUM_THREADS": "1", "TF_ENABLE_ONEDNN_OPTS": "0",
                     "TF_DETERMINISTIC_OPS": "1"}
_XLA_DETERMINISTIC = "--xla_gpu_deterministic_ops=true"


def _make_deterministic() -> None:
    os.environ.update(DETERMINISTIC_ENV)
    flags = os.environ.get("XLA_FLAGS", "")
    if _XLA_DETERMINISTIC not in flags.split():
        os.environ["XLA_FLAGS"] = f"{flags} {_XLA_DETERMINISTIC}".strip()
    logging.getLogger("raingan").info(
        "deterministic: one thread, oneDNN off, deterministic ops (slower: about 4x on two "
        "cores)")


def _prepare_environment(verbose: bool) -> None:
    logging.basicConfig(format="raingan: %(levelname)s: %(message)s", level=logging.INFO,
                        stream=sys.stderr)
    if verbose:
        return
    for key, value in _QUIET_TF.items():
        os.environ.setdefault(key, value)
    for noisy in ("tensorflow", "absl", "tf2onnx", "h5py", "jax"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _add_verbose(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verbose", action="store_true",
                   help="also show TensorFlow's, XLA's and absl's own log messages")


def _missing_extra(exc: ImportError) -> int:
    print(f"raingan: error: training and export need the train extra ({exc.name} is missing): "
          f"pip install 'raingan[train]'", file=sys.stderr)
    return EXIT_BAD_INPUT


# -- train -----------------------------------------------------------------------------------

def add_train(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "train", help="train a generator on a folder of rain recordings",
        description="Train the spectrogram GAN on every audio file in DATA_DIR (any format, "
                    "rate and channel count). Checkpoints, metrics.jsonl, TensorBoard logs "
                    "and scored audio samples go to RUN_DIR. KERAS_BACKEND=jax trains with "
                    "JAX where TensorFlow is missing.")
    p.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="folder of recordings")
    p.add_argument("--out", type=Path, required=True, metavar="RUN_DIR", help="run folder")
    p.add_argument("--preset", choices=tuple(PRESETS),
                   help="architecture, model size and schedule: stream-* (the streaming "
                        "generator) or the chunk generator's tiny, cpu and full; *tiny "
                        "(seconds, for tests), *cpu (about an hour on two cores), *full (for a "
                        "GPU; full is the article's scale); default cpu, or the run's own when "
                        "resuming")
    p.add_argument("--steps", type=ranged(int, limits.TRAIN_STEPS),
                   help=f"train until this step, {limits.TRAIN_STEPS} (default: the preset's)")
    p.add_argument("--max-minutes", type=ranged(float, limits.TRAIN_MINUTES), metavar="M",
                   help=f"stop after the first step past M minutes of wall-clock time (set-up "
                        f"included), {limits.TRAIN_MINUTES}, with a checkpoint that --resume "
                        f"continues; Ctrl-C and SIGTERM stop the same way (exit status 130 "
                        f"and 143)")
    p.add_argument("--resume", action="store_true",
                   help="continue RUN_DIR's last checkpoint (it may change --g-texture-weight, "
                        "--g-texture-heard, --g-texture-audio, --g-texture-phase-iterations, "
                        "--g-average-decay, --g-lr, "
                        "--d-lr, --checkpoint-every and --keep-checkpoints, nothing else)")
    p.add_argument("--strategy", default="default", choices=("default", "mirrored", "multiworker"),
                   help="tf.distribute strategy: mirrored (all local GPUs, or CPU devices), "
                        "multiworker (cluster from TF_CONFIG)")
    p.add_argument("--cpu-devices", type=ranged(int, limits.CPU_DEVICES), metavar="N",
                   help=f"split the CPU into N logical devices, {limits.CPU_DEVICES} (to try "
                        f"--strategy mirrored)")
    p.add_argument("--deterministic", action="store_true",
                   help="train to the same weights every time from one seed: one thread, no "
                        "oneDNN, deterministic ops (about 4x slower on two cores; JAX needs "
                        "none of this on a CPU, and gets XLA's deterministic GPU kernels)")
    p.add_argument("--spec", metavar="SPEC",
                   help="spectral spec: default, article, or a JSON file (default: default)")
    p.add_argument("--train-fraction", type=ranged(float, limits.TRAIN_FRACTION), metavar="F",
                   help=f"train on the first F of each recording, {limits.TRAIN_FRACTION}, "
                        f"leaving the rest held out (default: 1, or the resumed run's)")
    p.add_argument("--loss", choices=("hinge", "nonsaturating", "wgan-gp"),
                   help="GAN loss (default: the preset's, hinge)")
    p.add_argument("--batch-size", type=ranged(int, limits.BATCH_SIZE),
                   help=f"global batch size, {limits.BATCH_SIZE} (default: the preset's)")
    p.add_argument("--latent-dim", type=ranged(int, limits.LATENT_DIM),
                   help=f"latent size, {limits.LATENT_DIM} (default: the preset's; full: 256)")
    p.add_argument("--g-lr", type=ranged(float, limits.LEARNING_RATE),
                   help=f"generator learning rate, {limits.LEARNING_RATE}")
    p.add_argument("--d-lr", type=ranged(float, limits.LEARNING_RATE),
                   help=f"discriminator learning rate, {limits.LEARNING_RATE}")
    p.add_argument("--d-r1-weight", type=ranged(float, limits.R1_WEIGHT), metavar="W",
                   help=f"weight of the R1 penalty on the discriminator's gradient at real "
                        f"crops, {limits.R1_WEIGHT} (default: the preset's; 0: none)")
    p.add_argument("--d-augment", action="store_true", default=None,
                   help="stream presets: show the discriminator real and generated images "
                        "through the same random level shift, time crop and cut-out "
                        "(differentiable augmentation; for small corpora)")
    p.add_argument("--seed", type=ranged(int, limits.SEED),
                   help=f"seed of crops, latents and initial weights, {limits.SEED}")
    p.add_argument("--g-upsample", choices=("nearest", "bilinear", "time-linear"),
                   help="how the generator doubles its maps (default: nearest)")
    p.add_argument("--g-channels", type=_channel_counts, metavar="C,C,...",
                   help=f"generator feature maps per resolution, coarsest first, at least two "
                        f"resolutions of {limits.MAP_CHANNELS}, e.g. 128,64,32,16,16,8 "
                        f"(default: the preset's; cpu 128,64,32,16,8,4)")
    p.add_argument("--g-noise-levels", type=ranged(int, limits.NOISE_LEVELS),
                   help=f"finest generator resolutions given noise inputs, {limits.NOISE_LEVELS} "
                        f"and fewer than the generator's resolutions (default: 2; 0: none)")
    p.add_argument("--g-average-decay", type=ranged(float, limits.AVERAGE_DECAY), metavar="D",
                   help=f"decay per step of the generator weight average that is scored and "
                        f"exported, {limits.AVERAGE_DECAY} (default: the preset's; cpu 0: "
                        f"none, full 0.999)")
    p.add_argument("--g-texture-weight", type=ranged(float, limits.TEXTURE_WEIGHT), metavar="W",
                   help=f"weight of the generator's texture-matching loss, "
                        f"{limits.TEXTURE_WEIGHT} (band-envelope statistics of its images "
                        f"against real ones; default: the preset's)")
    p.add_argument("--g-texture-heard", action=argparse.BooleanOptionalAction, default=None,
                   help="take the texture statistics of the generated images as they sound, "
                        "after the runtime's phase reconstruction (default: the preset's, off)")
    p.add_argument("--g-texture-audio", action=argparse.BooleanOptionalAction, default=None,
                   help="with --g-texture-heard, take them on that sound's cochlear envelopes, "
                        "as raingan eval does, against the corpus's chunks (default: off)")
    p.add_argument("--g-texture-phase-iterations", type=ranged(int, limits.PHASE_ITERATIONS),
                   metavar="N",
                   help=f"with --g-texture-heard, Fast Griffin-Lim iterations after PGHI in the "
                        f"phase the images are heard with, {limits.PHASE_ITERATIONS} (default: "
                        f"16; the runtime renders generated rain with 2)")
    p.add_argument("--checkpoint-every", type=ranged(int, limits.CHECKPOINT_EVERY),
                   help=f"steps between checkpoints, {limits.CHECKPOINT_EVERY} (default: the "
                        f"preset's)")
    p.add_argument("--keep-checkpoints", type=ranged(int, limits.KEEP_CHECKPOINTS), metavar="N",
                   help=f"how many of the latest checkpoints stay on disk, "
                        f"{limits.KEEP_CHECKPOINTS} (default: 3)")
    _add_verbose(p)
    p.set_defaults(run=_run_train)


def _channel_counts(text: str) -> tuple[int, ...]:
    """``"128,64,32"`` -> ``(128, 64, 32)``, each count in :data:`limits.MAP_CHANNELS`;
    argparse turns the ArgumentTypeError into one line."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated channel counts such as 128,64,32,16,8,4, got {text!r}")
    if len(counts) < 2 or any(count not in limits.MAP_CHANNELS for count in counts):
        raise argparse.ArgumentTypeError(
            f"must be at least two channel counts of {limits.MAP_CHANNELS}, got {text}")
    return counts


def _run_train(args: argparse.Namespace) -> int:
    _prepare_environment(args.verbose)
    with native_log_filter(not args.verbose):
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    if args.deterministic:
        _make_deterministic()
    try:
        from raingan.training.train import TrainRequest, train
    except ImportError as exc:
        return _missing_extra(exc)
    overrides = {name: getattr(args, name) for name in ("loss", "batch_size", "latent_dim",
                                                        "g_lr", "d_lr", "d_r1_weight", "d_augment",
                                                        "seed", "g_upsample",
                                                        "g_channels", "g_noise_levels",
                                                        "g_average_decay",
                                                        "g_texture_weight", "g_texture_heard",
                                                        "g_texture_audio",
                                                        "g_texture_phase_iterations",
                                                        "checkpoint_every",
                                                        "keep_checkpoints")
                 if getattr(args, name) is not None}
    result = train(TrainRequest(
        data_dir=args.data_dir, run_dir=args.out, preset=args.preset,
        spec=None if args.spec is None else load_spec(args.spec),
        steps=args.steps, resume=args.resume, strategy=args.strategy,
        cpu_devices=args.cpu_devices, train_fraction=args.train_fraction,
        overrides=overrides or None, progress=None, max_minutes=args.max_minutes))
    best = ("" if result.best is None else
            f"; best by level spread (what export takes): {result.best.name}")
    if result.stopped_by is None:
        print(f"trained to step {result.step} ({result.steps_per_s:.2f} steps/s); "
              f"checkpoint: {result.checkpoint}{best}")
        return 0
    print(f"stopped at step {result.step} by {result.stopped_by} ({result.steps_per_s:.2f} "
          f"steps/s); checkpoint: {result.checkpoint}{best}; continue with: raingan train "
          f"{args.data_dir} --out {args.out} --resume")
    return 0 if result.stopped_by == "time limit" else 128 + signal.Signals[result.stopped_by]


# -- export ----------------------------------------------------------------------------------

def add_export(commands: argparse._SubParsersAction) -> None:
    # The export's defaults come from raingan.core.limits: importing raingan.export here
    # would load the runtime and scipy for every subcommand (50 MB and half a second).
    p = commands.add_parser(
        "export", help="write a run's generator as an .onnx model with its spec inside",
        description="Export the generator of RUN_DIR's best checkpoint (when the run scored "
                    "them: the stream presets do) or latest to ONNX (inference "
                    "graph, dynamic batch), check it against TensorFlow, and write it with its "
                    "spectral spec and training facts in the metadata.")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="training run folder")
    p.add_argument("--out", type=Path, required=True, help="output .onnx file")
    p.add_argument("--checkpoint", type=Path, action="append",
                   help="a checkpoint folder (default: the run's best, else its latest); give "
                        "it several times to "
                        "export the mean of those checkpoints' generators (checkpoint "
                        "averaging; batch-norm statistics measured afresh)")
    p.add_argument("--opset", type=ranged(int, limits.ONNX_OPSET), default=17,
                   help=f"ONNX opset, {limits.ONNX_OPSET} (default 17)")
    p.add_argument("--raw-weights", action="store_true",
                   help="export the generator's last weights, not the run's weight average")
    p.add_argument("--data", type=Path, metavar="DATA_DIR",
                   help="the recordings the run was trained on, for checkpoints that do not "
                        "hold their band levels (older checkpoints): the model's "
                        "colour is calibrated to them")
    p.add_argument("--colour-seconds", type=ranged(float, limits.COLOUR_SECONDS),
                   default=limits.DEFAULT_COLOUR_SECONDS, metavar="S",
                   help=f"seconds of the model rendered per colour calibration round, "
                        f"{limits.COLOUR_SECONDS} (default {limits.DEFAULT_COLOUR_SECONDS:g}; "
                        f"0: do not calibrate)")
    p.add_argument("--no-drop-fit", action="store_true",
                   help="keep a streaming run's drops as training fitted them on the "
                        "excitation alone, instead of fitting them again to the training "
                        "audio through the runtime (about three minutes on 2 cores)")
    p.add_argument("--int8", action="store_true",
                   help="quantize the finest-level convolutions to 8-bit integers (static, "
                        "per channel): the bundled model's graph runs 1.4x faster on CPUs, "
                        "images within 0.03 of the float model's on average (checked "
                        "before writing)")
    _add_verbose(p)
    p.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    _prepare_environment(args.verbose)
    with native_log_filter(not args.verbose):
        return _export(args)


def _export(args: argparse.Namespace) -> int:
    os.environ["KERAS_BACKEND"] = "tensorflow"  # a JAX-trained run exports with TensorFlow
    try:
        from raingan.export.onnx_export import export_model
    except ImportError as exc:
        return _missing_extra(exc)

    def progress(round_: int, residual_db: float) -> None:
        print(f"colour calibration, round {round_}: band levels {residual_db:.2f} dB rms from "
              f"the training audio's", file=sys.stderr)

    seconds = args.colour_seconds
    result = export_model(args.run_dir, args.out, args.checkpoint, args.opset,
                          args.raw_weights, args.data, seconds, progress, args.int8,
                          not args.no_drop_fit)
    int8 = ("" if result.int8_mean_difference is None else
            f", int8 finest-level convolutions, mean difference {result.int8_mean_difference:.2g}")
    chosen = {"best": ", the run's best by level spread", "latest": ", the latest"}.get(
        result.chosen, "")
    levels = ("" if not result.level_smoothing_frames else
              f", levels smoothed over {result.level_smoothing_frames:g} frames")
    drops = ("" if not result.drops_fitted else
             ", drops fitted: none" if result.drops is None else
             f", drops fitted: {Drops.from_dict(result.drops).summary()}")
    print(f"wrote {result.path} (step {result.step}{chosen}, {result.weights} weights, "
          f"{result.n_nodes} nodes, parity {result.max_abs_difference:.2g}{int8}{levels}"
          f"{drops})")
    if not result.colour_calibrated and seconds > 0:
        print("raingan export: note: the model's colour is not calibrated (the checkpoint "
              "holds no band levels of its training audio: pass --data DATA_DIR)",
              file=sys.stderr)
    return 0
