"""Colour calibration: a gain per image row that brings a model's rendered rain to the band
levels of the audio it was trained on.

A generator does not reproduce its corpus's long-term spectrum exactly, and what it misses is
audible as colour: the bundled weights' rain before calibration, heard channel by channel in ``raingan eval``'s
cochlear bands, was 13-16 dB too quiet at 90-140 Hz (the rumble under the patter), 6-9 dB
too quiet at 190-470 Hz and within 2 dB above 1.5 kHz (eight 60 s streams). The images' own mean levels do not show this faithfully (phase
reconstruction of inconsistent images loses level unevenly, and a correction computed on
images made that model's colour worse), so the gain is measured on the sound:
:func:`calibrate_colour` renders streams, compares their per-channel band levels
(:func:`band_levels_db`) with the training audio's, spreads the difference over the image
rows (:func:`row_gains_db`) and repeats on the corrected streams. ``raingan export`` stores
the result in the model; the runtime's chunk levelling adds it to every image
(:mod:`raingan.runtime.leveling`).

The gains are limited to the crop gain augmentation of training (+-6 dB by default:
``raingan export`` passes the run's): within it the discriminator judged the model's rain at
other levels, so a gain there changes level, not kind. Beyond it a band's mean level is not
a level the model misses but content it makes differently, which a gain cannot mend. The
uncalibrated bundled model's 240-380 Hz bands are the case: in 0.5 s windows its median level there
is 5-9 dB below the corpus's and its 95th percentile 7-11 dB above, so matching the mean
took 8.6 dB of gain and made two streams of twenty far worse (rare low thumps, turned up,
set their envelope kurtosis 2-3 spreads above real rain's; BENCHMARKS.md, "Colour calibration").

Levels are compared channel by channel, as each ear hears them (and as the corpus holds its
recordings, one signal per channel): a mono mix of a stream's two independent channels is
3 dB quieter than either, which says nothing about its colour.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence

import numpy as np

from ..core import limits
from ..runtime.render import RenderSettings, render
from ..eval import cochlear
from ..eval.levels import COLOUR_BANDS, band_levels_db
from ..eval.texture import TextureConfig

#: Audio rendered per calibration round, seconds, as streams of :data:`STREAM_SECONDS` with
#: independent chunks (no drift: the drift's slow wander would cost several times the audio
#: for the same precision). Streams of the uncalibrated bundled model differ by up to 2.2 dB rms in
#: their 30 s band levels (the 190-310 Hz bands; rare loud events), so 8 of them pin the
#: mean to about 0.8 dB. (The value lives in :mod:`raingan.core.limits`, so that the CLI
#: shows it without importing the export.)
CALIBRATION_SECONDS = limits.DEFAULT_COLOUR_SECONDS
STREAM_SECONDS = 30.0
#: Seeds of the calibration streams start here, well away from those benchmarks score.
FIRST_SEED = 1000
#: Measure-and-correct rounds: the residual fell from 3.8 to 0.65 to 0.29 dB rms over the
#: bands in the measurement (BENCHMARKS.md, "Colour calibration") (the ceiling clips and phase reconstruction make the
#: response slightly non-linear, so one round is not enough).
CALIBRATION_ROUNDS = 2
#: A band this quiet holds no sound (below any real recording's noise floor), dB.
SILENT_BAND_DB = -150.0


def row_gains_db(band_gains_db: np.ndarray, spec, config: TextureConfig = COLOUR_BANDS
                 ) -> np.ndarray:
    """Band gains spread over the image rows: interpolated on the ERB-number scale, rows below
    the lowest band's centre and above the highest taking that band's gain.

    Returns
    -------
    np.ndarray, shape (height,), float64, dB
    """
    centres = cochlear.erb_number(cochlear.band_centres_hz(config))
    rows = cochlear.erb_number(np.maximum(spec.image_row_hz(), 0.0))
    return np.interp(rows, centres, np.asarray(band_gains_db, dtype=np.float64))


def stream_band_levels_db(generator, seconds: float) -> np.ndarray:
    """Per-channel band levels (:func:`band_levels_db`) of ``seconds`` of stereo streams of
    independent chunks (drift 0), at the model's own rate, pooled.

    The streams are :data:`STREAM_SECONDS` long (the last one shorter), seeded from
    :data:`FIRST_SEED` up, so the same model always gives the same levels.
    """
    rate_hz = generator.spec.sample_rate_hz
    n_streams = max(1, math.ceil(seconds / STREAM_SECONDS - 1e-9))
    channels = []
    for k in range(n_streams):
        length_s = min(STREAM_SECONDS, seconds - k * STREAM_SECONDS)
        settings = RenderSettings(seconds=length_s, sample_rate_hz=rate_hz,
                                  seed=FIRST_SEED + k, drift_s=0.0)
        channels.extend(render(generator, settings).samples.T)
    return band_levels_db(channels, rate_hz)


def calibrate_colour(generator, reference_db: Sequence[float],
                     seconds: float = CALIBRATION_SECONDS, rounds: int = CALIBRATION_ROUNDS,
                     limit_db: float | None = None,
                     progress: Callable[[int, float], None] | None = None) -> np.ndarray:
    """The row gains that bring ``generator``'s streams to ``reference_db``.

    Parameters
    ----------
    generator : a :class:`~raingan.runtime.generator.Generator`; its metadata's ``colour_db``
        is replaced while measuring and restored afterwards
    reference_db : shape (COLOUR_BANDS.n_bands,), the training audio's
        :func:`band_levels_db`
    seconds : audio rendered per round (see :func:`stream_band_levels_db`), > 0
    rounds : measure-and-correct rounds, >= 1
    limit_db : no band's gain beyond +-limit_db (None: no limit; see the module notes)
    progress : called after each round with its number (from 1) and the rms band residual
        it measured, dB

    Returns
    -------
    np.ndarray, shape (height,), float64, dB: the model's ``colour_db``
    """
    if not (math.isfinite(seconds) and seconds > 0) or rounds < 1:
        raise ValueError(f"colour calibration needs seconds > 0 and rounds >= 1, got "
                         f"{seconds} s and {rounds}")
    reference_db = np.asarray(reference_db, dtype=np.float64)
    if reference_db.shape != (COLOUR_BANDS.n_bands,):
        raise ValueError(f"expected {COLOUR_BANDS.n_bands} reference band levels, "
                         f"got shape {reference_db.shape}")
    heard = heard_bands(generator.spec.sample_rate_hz, reference_db)
    if not heard.any():
        raise ValueError("no cochlear band of the reference holds sound below the model's "
                         "Nyquist frequency")
    original = generator.metadata
    band_gains = np.zeros(COLOUR_BANDS.n_bands)
    try:
        for round_ in range(1, rounds + 1):
            generator.metadata = dataclasses.replace(
                original, colour_db=tuple(row_gains_db(band_gains, generator.spec)))
            residual = stream_band_levels_db(generator, seconds) - reference_db
            band_gains[heard] -= residual[heard]
            # Bands the model's rate cannot hold take their nearest heard neighbour's gain.
            band_gains = np.interp(np.arange(band_gains.size), np.flatnonzero(heard),
                                   band_gains[heard])
            if limit_db is not None:
                band_gains = np.clip(band_gains, -limit_db, limit_db)
            if progress is not None:
                progress(round_, float(np.sqrt(np.mean(residual[heard] ** 2))))
    finally:
        generator.metadata = original
    return row_gains_db(band_gains, generator.spec)


def heard_bands(sample_rate_hz: int, reference_db: np.ndarray,
                config: TextureConfig = COLOUR_BANDS) -> np.ndarray:
    """Which bands can be matched: centred below 0.45 of the rate (their filters, a band
    wide on either side, stay under Nyquist) and not silent in the reference."""
    centres = cochlear.band_centres_hz(config)
    return (centres < 0.45 * sample_rate_hz) & (np.asarray(reference_db) > SILENT_BAND_DB)
