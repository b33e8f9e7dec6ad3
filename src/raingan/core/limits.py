"""The ranges of RainGAN's numeric settings, in one place for the API's checks and the CLI's.

Each range is closed, so NaN falls outside every one of them. The bounds keep every setting
where the runtime finishes in bounded time and memory and its arithmetic stays finite: a
gain above about +770 dB overflows float32 in the native core, a truncation near 0 makes
the latent sampler redraw for ever, a length of 1e308 s overflows the chunk count. This
module imports nothing heavy, so that the CLI can check its arguments (and print the ranges
in --help) before it loads numpy, onnxruntime or a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import RainGANError


class SettingRangeError(RainGANError, ValueError):
    """A numeric setting outside its documented range, or not a number."""


@dataclass(frozen=True)
class Range:
    """A closed range ``[low, high]`` of a setting, with its unit for messages and help."""

    low: float
    high: float
    unit: str = ""

    def __contains__(self, value: object) -> bool:
        try:
            return self.low <= value <= self.high  # type: ignore[operator]
        except TypeError:
            return False

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{_number(self.low)} to {_number(self.high)}{unit}"

    def check(self, name: str, value: object,
              error: type[SettingRangeError] = SettingRangeError) -> None:
        """Raise ``error`` naming ``name`` unless ``value`` is in range."""
        if value not in self:
            raise error(f"{name} must be {self}, got {_number(value)}")


def _number(value: object) -> str:
    if isinstance(value, float) and math.isfinite(value) and value == int(value) \
            and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


#: Output gain. 24 dB above a normalised render is all clipping; -120 dB is below 24-bit
#: resolution.
GAIN_DB = Range(-120.0, 24.0, "dB")
#: Length of a render. An hour of 192 kHz stereo float32 is 5.5 GB in memory.
SECONDS = Range(0.01, 3600.0, "s")
#: A loop holds at least four chunks (about 2.8 s with the default spec); shorter loops
#: squeeze them in time.
LOOP_SECONDS = Range(0.1, 3600.0, "s")
#: A loudness measurement needs at least one 400 ms gating block.
STEM_SECONDS = Range(0.5, 3600.0, "s")
SAMPLE_RATE_HZ = Range(8_000, 192_000, "Hz")
CHANNELS = Range(1, 2)
WIDTH = Range(0.0, 1.0)
INTENSITY = Range(0.0, 1.0)
#: Latent truncation, standard deviations. Below 0.1 the rejection sampler's acceptance
#: falls towards 0 (1e-6 ran for minutes, 1e-30 for ever); above 10 nothing is truncated.
TRUNCATION = Range(0.1, 10.0)
#: Time constant of the rain's drift. Beyond an hour the walk no longer moves within any
#: render, and its correlation rounds to 1.
DRIFT_S = Range(0.0, 3600.0, "s")
#: numpy's SeedSequence takes non-negative integers; drawn seeds have 63 bits.
SEED = Range(0, 2**63 - 1)
#: Audio a producer process keeps buffered ahead of its host (raingan.h's latency_ms).
SERVED_LATENCY_MS = Range(20.0, 10_000.0, "ms")
TARGET_LUFS = Range(-70.0, 0.0, "LUFS")
STEM_COUNT = Range(1, 1000)
#: Intensity layers per stem; 0 means none, 1 is refused (a layer needs a neighbour).
LAYERS = Range(0, 16)
PHASE_ITERATIONS = Range(0, 1000)
#: Fast Griffin-Lim momentum: 0 is plain Griffin-Lim; it diverges from 2 on.
MOMENTUM = Range(0.0, 1.99)
#: Audio rendered per colour calibration round of ``raingan export``, seconds; 0 skips the
#: calibration (:data:`raingan.export.colour_fit.CALIBRATION_SECONDS` says why the default).
COLOUR_SECONDS = Range(0.0, 3600.0, "s")
DEFAULT_COLOUR_SECONDS = 240.0

# Training and export (``raingan train``, ``raingan export``). The upper bounds only stop a
# slip of the keyboard from asking for years of training or terabytes of weights; the
# training configuration checks what depends on other settings (a noise level per
# resolution, for instance).
TRAIN_STEPS = Range(1, 100_000_000)
#: A time limit of a year at most; 0.0001 minutes (6 ms) stops after the first step.
TRAIN_MINUTES = Range(0.0001, 525_600.0, "minutes")
#: Below a hundredth, most recordings are shorter than one training chunk.
TRAIN_FRACTION = Range(0.01, 1.0)
CPU_DEVICES = Range(1, 256)
BATCH_SIZE = Range(1, 65_536)
LATENT_DIM = Range(1, 10_000_000)
LEARNING_RATE = Range(1e-9, 1.0)
#: Feature maps of one resolution of the generator.
MAP_CHANNELS = Range(1, 4096)
#: Generator resolutions given noise inputs (fewer than the generator has resolutions).
NOISE_LEVELS = Range(0, 15)
#: Decay of the generator weight average per step: below 1, or the average never moves.
AVERAGE_DECAY = Range(0.0, 0.999999)
TEXTURE_WEIGHT = Range(0.0, 1000.0)
R1_WEIGHT = Range(0.0, 1000.0)
CHECKPOINT_EVERY = Range(1, 100_000_000)
KEEP_CHECKPOINTS = Range(1, 10_000)
#: The generator's ops need opset 15; tf2onnx knows opsets up to 18.
ONNX_OPSET = Range(15, 18)
