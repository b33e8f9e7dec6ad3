"""onnxruntime time of exported generators, and where it goes.

Times ``Generator.images`` on one batch of latents for each model, in turns (median of the
calls; on a shared machine interleaving keeps the conditions alike), and prints the largest
difference between the models' images. ``--profile N`` adds onnxruntime's own profile of
the first model: the N nodes that take longest, with their shapes.

    python benchmarks/generator_speed.py MODEL.onnx [MODEL2.onnx ...] [--batch 16] [--calls 15] [--profile 20]
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime

from raingan.runtime.generator import Generator


def profile(model: Path, latents: np.ndarray, calls: int, top: int) -> None:
    """Print the ``top`` nodes of onnxruntime's profile, mean milliseconds per call."""
    options = onnxruntime.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(model), options,
                                           providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    session.run(None, {name: latents})  # warm-up, profiled too: excluded below by count
    for _ in range(calls):
        session.run(None, {name: latents})
    events = json.loads(Path(session.end_profiling()).read_text())
    times, shapes = collections.Counter(), {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            node = event["name"][:-len("_kernel_time")]
            times[node] += event["dur"]
            args = event.get("args", {})
            shapes[node] = (args.get("op_name"),
                            [list(s.values())[0] for s in args.get("input_type_shape", [])])
    scale = 1e-3 / (calls + 1)
    print(f"{model.name}: onnxruntime profile, {sum(times.values()) * scale:.1f} ms per call "
          f"in all; the {top} largest nodes:")
    for node, micros in times.most_common(top):
        op, inputs = shapes[node]
        print(f"{micros * scale:8.2f} ms  {op:<12} {inputs}  {node[-50:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", metavar="MODEL")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    generators = [Generator(m, device="cpu") for m in args.models]
    latents = generators[0].latents(np.random.default_rng(0), args.batch)
    images = [g.images(latents) for g in generators]  # warm-up
    seconds = np.zeros((args.calls, len(generators)))
    for call in range(args.calls):
        for k, generator in enumerate(generators):
            started = time.perf_counter()
            generator.images(latents)
            seconds[call, k] = time.perf_counter() - started
    for k, model in enumerate(args.models):
        print(f"{model.name}: median {np.median(seconds[:, k]) * 1e3:.1f} ms per batch of "
              f"{args.batch}")
    for k, model in enumerate(args.models[1:], start=1):
        print(f"{args.models[0].name} / {model.name} time: median ratio "
              f"{np.median(seconds[:, 0] / seconds[:, k]):.2f}; largest image difference "
              f"{np.max(np.abs(images[k] - images[0])):.2g}")
    if args.profile:
        profile(args.models[0], latents, args.calls, args.profile)


if __name__ == "__main__":
    main()
