"""Play endless rain live through the sound card (python-sounddevice).

The audio callback only calls ``RainSource.render``, which fills sounddevice's float32
(frames, channels) buffer in place without allocating or locking, in microseconds.
Type a gain in dB or a width 0-1 (``w 0.5``) and press Enter to change them while it plays.

    pip install sounddevice
    python examples/live_playback.py [--model MODEL.onnx] [--seed 1] [--rate 48000]
"""

from __future__ import annotations

import argparse
import sys

import raingan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="exported model (default: the bundled one)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--rate", type=int, default=48_000)
    args = parser.parse_args()
    try:
        import sounddevice
    except ImportError:
        print("live_playback: needs python-sounddevice (pip install sounddevice)", file=sys.stderr)
        return 2

    with raingan.RainSource(args.model, sample_rate=args.rate, channels=2, seed=args.seed) as rain:
        def callback(outdata, frames, time, status) -> None:
            rain.render(outdata)

        with sounddevice.OutputStream(samplerate=args.rate, channels=2, dtype="float32",
                                      callback=callback):
            print(f"raining (seed {rain.seed}); gain dB or 'w WIDTH', Enter; Ctrl-D stops")
            for line in sys.stdin:
                words = line.split()
                try:
                    if len(words) == 2 and words[0] == "w":
                        rain.width = float(words[1])
                    elif len(words) == 1:
                        rain.gain_db = float(words[0])
                except ValueError as exc:
                    print(exc)
                print(rain.stats())
    return 0


if __name__ == "__main__":
    sys.exit(main())
