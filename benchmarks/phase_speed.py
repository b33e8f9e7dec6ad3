"""Phase reconstruction speed and quality (issue 2, acceptance 3).

Magnitudes are what a perfect generator would emit: model images of real rain chunks,
mapped back to magnitudes by the spec. Each method reconstructs the same batch; the real-time
factor counts the stream audio the chunks yield (one chunk step each: the crossfade overlap
is not counted twice).

    python benchmarks/phase_speed.py [--chunks 64] [--iterations 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from raingan.core import phase
from raingan.core.audio_io import read_audio
from raingan.core.phase import PhaseSettings
from raingan.core.roundtrip import chunk_contexts
from raingan.core.spec import SpectralSpec

DATA = Path(__file__).resolve().parents[1] / "data" / "rain"


def rain_magnitudes(spec: SpectralSpec, n_chunks: int) -> np.ndarray:
    contexts = []
    for path in sorted(DATA.glob("*.[wo][ag][vg]")):
        rec = read_audio(path, spec.sample_rate_hz)
        for channel in rec.samples.T:
            contexts.append(chunk_contexts(channel, spec))
    contexts = np.concatenate(contexts)
    pick = np.random.default_rng(0).choice(contexts.shape[0], n_chunks, replace=False)
    return spec.images_to_magnitudes(spec.audio_to_images(contexts[pick]))


def best_time(fn, repeats: int) -> tuple[float, np.ndarray]:
    result = fn()  # warm-up: thread pool, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=PhaseSettings().n_iter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-librosa", action="store_true")
    args = parser.parse_args()

    spec = SpectralSpec()
    mags = rain_magnitudes(spec, args.chunks)
    stream_s = args.chunks * spec.chunk_step_samples / spec.sample_rate_hz
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{args.chunks} chunks of {spec.n_frames} frames x {spec.n_fft_bins} bins "
          f"= {stream_s:.1f} s of stream audio")
    print(f"{'method':<34} {'seconds':>8} {'x real time':>12} {'spectral conv. dB':>18}")

    def report(name: str, seconds: float, audio: np.ndarray) -> None:
        sc = phase.spectral_convergence_db(audio, mags, spec)
        print(f"{name:<34} {seconds:8.3f} {stream_s / seconds:12.1f} {sc:18.2f}")

    n = args.iterations
    for label, settings in [
        ("pghi alone", PhaseSettings(init="pghi", n_iter=0)),
        (f"pghi + fgla {n} (default)", PhaseSettings(init="pghi", n_iter=n)),
        (f"random + fgla {n}", PhaseSettings(init="random", n_iter=n)),
        (f"random + plain gl {n}", PhaseSettings(init="random", n_iter=n, momentum=0.0)),
    ]:
        seconds, audio = best_time(lambda: phase.reconstruct(mags, spec, settings), args.repeats)
        report(label, seconds, audio)

    if not args.skip_librosa:
        import librosa

        # librosa works on (..., bins, frames); center=False gives our framing exactly.
        spectrogram = np.ascontiguousarray(np.swapaxes(mags, 1, 2))
        def run_librosa():
            return librosa.griffinlim(spectrogram, n_iter=n, hop_length=spec.hop_length,
                                      win_length=spec.win_length, n_fft=spec.n_fft,
                                      center=False, momentum=0.99, init="random",
                                      random_state=0, length=spec.context_samples)
        seconds, audio = best_time(run_librosa, max(1, args.repeats - 2))
        report(f"librosa.griffinlim {n} (momentum 0.99)", seconds, audio.astype(np.float32))


if __name__ == "__main__":
    main()
