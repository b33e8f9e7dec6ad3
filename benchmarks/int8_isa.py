"""Does the int8 model make the same rain on x86 CPUs without VNNI? (issue 6's known limit)

onnxruntime picks its int8 matrix kernels from ``cpuid`` when it loads. With AVX-512 VNNI or
AVX-VNNI (Ice Lake, Sapphire Rapids, Alder Lake, Zen 4 on) products of u8 activations and s8
weights are summed exactly in 32 bits; on CPUs with AVX2 alone (Haswell to Comet Lake, Zen 1
to 3) it multiplies with ``vpmaddubsw``, whose sums of two products saturate at 16 bits, so
the same model can give other numbers there. Valgrind's core (``--tool=none``) presents an
AVX2 + FMA CPU with no AVX-512 and no VNNI whatever the host is, so running the runtime
under it takes that path on this machine. This prints:

- what numpy's ``cpuid`` probe sees natively and under valgrind (proof of the emulated CPU);
- how far the generator's images for 8 fixed latents move (and, for scale, how far int8 is
  from a float model, with ``--float-model``);
- the quality figures of ``raingan render`` for each seed run natively and under valgrind,
  scored against the corpus as ``model_quality.py`` does.

    python benchmarks/int8_isa.py [--model M.onnx] [--float-model F.onnx] [--seeds 0-3]
        [--seconds 60] [--jobs 2] [--out DIR]

Under valgrind the runtime runs about 20x slower than real time: on 2 cores, seeds 0-3 of
60 s take about 35 minutes (two renders at a time, 16 minutes each).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_seeds import seed_range  # noqa: E402
from raingan.eval.bars import quality_bars  # noqa: E402
from roundtrip_quality import corpus_thirds  # noqa: E402

from raingan.eval import evaluate  # noqa: E402
from raingan.core.audio_io import read_audio  # noqa: E402

RATE_HZ = 48_000
VALGRIND = ["valgrind", "--tool=none", "-q"]
#: numpy's names for the features that choose onnxruntime's int8 kernels on x86.
FEATURES = ("AVX2", "FMA3", "AVX512F", "AVX512VNNI")
PROBE_LATENTS, PROBE_SEED = 8, 7


def cpu_features() -> dict[str, bool]:
    """The x86 features numpy's own ``cpuid`` probe found in this process."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return {name: bool(__cpu_features__.get(name)) for name in FEATURES}


def write_images(model: Path, out: Path) -> None:
    """The generator's images for the probe's fixed latents, saved as (batch, height, width)."""
    from raingan.runtime.generator import Generator
    from raingan.runtime.latent import truncated_normal

    generator = Generator(model, device="cpu")
    latents = truncated_normal(np.random.default_rng(PROBE_SEED),
                               (PROBE_LATENTS, generator.latent_dim))
    np.save(out, generator.images(latents))


def this_script(*args: str, emulated: bool) -> list[str]:
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    return VALGRIND + command if emulated else command


def render_command(model: Path, seed: int, seconds: float, out: Path,
                   emulated: bool) -> list[str]:
    command = [sys.executable, "-m", "raingan", "render", "--model", str(model),
               "--seconds", f"{seconds:g}", "--seed", str(seed), "--subtype", "FLOAT",
               str(out)]
    return VALGRIND + command if emulated else command


def run_all(commands: list[list[str]], jobs: int) -> None:
    """Run the commands, ``jobs`` at a time; any failure stops the benchmark with its line."""
    def run(command: list[str]) -> tuple[list[str], subprocess.CompletedProcess]:
        return command, subprocess.run(command, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for command, done in pool.map(run, commands):
            if done.returncode:
                tail = done.stderr.strip().splitlines()[-1:] or ["no message"]
                raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}: {tail[0]}")


def differences(a: np.ndarray, b: np.ndarray) -> str:
    gap = np.abs(a.astype(np.float64) - b)
    return (f"largest {gap.max():.2e}, mean {gap.mean():.2e}, "
            f"{100 * np.mean(gap > 1e-3):.3f} % of pixels apart by more than 1e-3")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="int8 model (default: the bundled one)")
    parser.add_argument("--float-model", type=Path,
                        help="a float export of the same weights, for scale")
    parser.add_argument("--seeds", type=seed_range, default=seed_range("0-3"))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=2, help="processes at a time")
    parser.add_argument("--out", type=Path, help="keep the renderings and images here")
    parser.add_argument("--images", type=Path, help=argparse.SUPPRESS)  # the probe's child
    parser.add_argument("--features", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.features:
        print(" ".join(f"{k}={int(v)}" for k, v in cpu_features().items()))
        return 0
    from raingan.runtime.generator import default_model_path

    model = (args.model or default_model_path()).resolve()
    if args.images:
        write_images(model, args.images)
        return 0
    if shutil.which("valgrind") is None:
        print("int8_isa: valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    out = args.out or Path(tempfile.mkdtemp(prefix="int8_isa-"))
    out.mkdir(parents=True, exist_ok=True)

    for label, emulated in (("native", False), ("valgrind", True)):
        features = subprocess.run(this_script("--features", emulated=emulated),
                                  capture_output=True, text=True, check=True).stdout.strip()
        print(f"cpu features, {label:<8}: {features}")

    image_runs = {"native": (model, False), "avx2": (model, True)}
    if args.float_model:
        image_runs["float"] = (args.float_model.resolve(), False)
    run_all([this_script("--model", str(path), "--images", str(out / f"images-{name}.npy"),
                         emulated=emulated)
             for name, (path, emulated) in image_runs.items()], args.jobs)
    images = {name: np.load(out / f"images-{name}.npy") for name in image_runs}
    print(f"images of {PROBE_LATENTS} latents, native vs emulated AVX2: "
          + differences(images["native"], images["avx2"]))
    if args.float_model:
        print("images, int8 vs float, native: " + differences(images["native"], images["float"]))

    wav = {(seed, emulated): out / f"{'avx2' if emulated else 'native'}-seed{seed}.wav"
           for seed in args.seeds for emulated in (True, False)}
    run_all([render_command(model, seed, args.seconds, path, emulated)
             for (seed, emulated), path in wav.items()], args.jobs)

    references, held_out, names = corpus_thirds(RATE_HZ)
    real = evaluate.evaluate_arrays(references, held_out, RATE_HZ, ref_names=names).overall
    print(f"\n{args.seconds:g} s per seed; held-out rain: distance {real.mean_distance:.3f}, "
          f"repetition {real.repetition:.3f}, seam {real.seam_db:.2f} dB")
    print(f"{'seed':<6}{'':<10}{'distance':>10}{'repetition':>12}{'seam dB':>10}")
    scores = {}
    for (seed, emulated), path in sorted(wav.items()):
        score = evaluate.evaluate_arrays(references, [read_audio(path, RATE_HZ).samples],
                                         RATE_HZ, ref_names=names).overall
        scores[seed, emulated] = score
        print(f"{seed:<6}{'avx2' if emulated else 'native':<10}{score.mean_distance:10.3f}"
              f"{score.repetition:12.3f}{score.seam_db:10.2f}")
    for emulated in (False, True):
        picked = [s for (_, e), s in scores.items() if e == emulated]
        print(f"{'mean':<6}{'avx2' if emulated else 'native':<10}"
              f"{np.mean([s.mean_distance for s in picked]):10.3f}"
              f"{np.mean([s.repetition for s in picked]):12.3f}"
              f"{np.mean([s.seam_db for s in picked]):10.2f}")
    bars = quality_bars(real.mean_distance, real.repetition, real.seam_db)
    print(f"bars: distance <= {bars.distance:.3f}, repetition <= {bars.repetition:.3f}, "
          f"seam <= {bars.seam_db:.2f} dB")
    print(f"files in {out}; {time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
