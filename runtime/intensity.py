"""Intensity: one knob from light to heavy rain, as a direction in the generator's latent space.

The model's metadata carries an :class:`IntensityAxis`, fitted at export
(:mod:`raingan.export.intensity_fit`): a unit direction in latent space along which the
generated chunks' loudness rises, with a calibration, the projections at which mean loudness
has risen by equal steps of dB. At run time, :func:`apply_intensity` sets every latent's
projection on the axis to a value between ``-AXIS_REACH`` (intensity 0) and ``+AXIS_REACH``
(intensity 1), through that calibration, and leaves the rest of the latent alone, so the
rain keeps its other qualities while it gets lighter or heavier.

A latent direction moves the mean loudness of many latents, not that of every one: along
the streaming model's axis some global codes get louder by 15 dB and some quieter by 5. So
the axis also stores the mean loudness it measured at each calibrated level, and
:func:`intensity_target_db` turns it into the loudness a stream holds at each intensity
(:mod:`.intensity_level`): every seed gets heavier as the knob turns, never lighter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

#: Projection on the axis at intensity 0 and 1, in standard deviations of a latent's
#: projection (which is standard normal): heavy and light, but still typical, latents.
AXIS_REACH = 2.0
#: The least loudness span, dB, from intensity 0 to 1 that a stream's level follows: light
#: drizzle and a downpour differ by more than the mean rise along a weak axis.
MIN_SPAN_DB = 12.0


@dataclass(frozen=True)
class IntensityAxis:
    """A unit direction in latent space along which rain gets heavier.

    Attributes
    ----------
    direction : shape (latent_dim,), unit length (stored without its trailing zeros: the
        components past the drifting ones, a generator's noise among them, have none)
    loudness_db_per_unit : fitted loudness change per unit of projection, dB (> 0)
    density_per_unit : fitted change of the drop-onset share per unit of projection
    projections : shape (levels,), ascending from -AXIS_REACH to +AXIS_REACH: the projection
        at intensities ``linspace(0, 1, levels)`` (None: linear, for models exported before
        the calibration)
    levels_db : shape (levels,), ascending: the mean loudness measured at those intensities
        on the images the runtime reconstructs (K-weighted STFT power, dB,
        :func:`raingan.export.intensity_fit.calibrated_levels_db`); None for models exported
        without it (chunk models among them), whose streams follow the axis alone
    """

    direction: np.ndarray
    loudness_db_per_unit: float
    density_per_unit: float
    projections: np.ndarray | None = None
    levels_db: np.ndarray | None = None

    def projection_at(self, intensity: float) -> float:
        """The projection on the axis for ``intensity`` in [0, 1]."""
        if self.projections is None:
            return AXIS_REACH * (2.0 * intensity - 1.0)
        levels = np.linspace(0.0, 1.0, self.projections.shape[0])
        return float(np.interp(intensity, levels, self.projections))

    def to_dict(self) -> dict[str, Any]:
        used = int(np.flatnonzero(self.direction)[-1]) + 1 if self.direction.any() else 0
        stored = {"direction": [round(float(v), 6) for v in self.direction[:used]],
                  "loudness_db_per_unit": self.loudness_db_per_unit,
                  "density_per_unit": self.density_per_unit}
        if self.projections is not None:
            stored["projections"] = [round(float(v), 6) for v in self.projections]
        if self.levels_db is not None:
            stored["levels_db"] = [round(float(v), 4) for v in self.levels_db]
        return stored

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], latent_dim: int) -> "IntensityAxis":
        """The axis stored by :meth:`to_dict`, zero-padded to ``latent_dim`` components."""
        direction = np.asarray(data["direction"], dtype=np.float64)
        if direction.ndim != 1 or direction.shape[0] > latent_dim:
            raise ValueError(f"intensity direction must be a vector of at most {latent_dim} "
                             f"components")
        direction = np.pad(direction, (0, latent_dim - direction.shape[0]))
        norm = float(np.linalg.norm(direction))
        if direction.ndim != 1 or not np.isfinite(norm) or norm == 0:
            raise ValueError("intensity direction must be a non-zero vector")
        projections = data.get("projections")
        if projections is not None:
            projections = np.asarray(projections, dtype=np.float64)
            if (projections.ndim != 1 or projections.shape[0] < 2
                    or not np.all(np.isfinite(projections))
                    or np.any(np.diff(projections) < 0)):
                raise ValueError("intensity projections must be an ascending list of at least "
                                 "2 numbers")
        levels_db = data.get("levels_db")
        if levels_db is not None:
            levels_db = np.asarray(levels_db, dtype=np.float64)
            if (projections is None or levels_db.shape != projections.shape
                    or not np.all(np.isfinite(levels_db)) or np.any(np.diff(levels_db) < 0)):
                raise ValueError("intensity levels_db must be an ascending list as long as "
                                 "the projections")
        return cls(direction / norm, float(data["loudness_db_per_unit"]),
                   float(data["density_per_unit"]), projections, levels_db)


def apply_intensity(latents: np.ndarray, axis: IntensityAxis, intensity: float,
                    threshold: float) -> np.ndarray:
    """Latents with their projection on ``axis`` set for ``intensity`` in [0, 1].

    Parameters
    ----------
    latents : shape (n, latent_dim)
    threshold : truncation; components are clipped to it afterwards

    Returns
    -------
    np.ndarray, shape (n, latent_dim), float32
    """
    if not 0.0 <= intensity <= 1.0:
        raise ValueError(f"intensity must be in [0, 1], got {intensity}")
    return set_projection(latents, axis.direction, axis.projection_at(intensity), threshold)


def intensity_target_db(axis: IntensityAxis, intensity: float) -> float | None:
    """The loudness, dB in the units of ``axis.levels_db``, that a stream holds at
    ``intensity``: a straight line in the knob (equal dB for equal turns, as the calibration
    meant) from the lightest measured level to the heaviest, stretched about its middle to
    span at least :data:`MIN_SPAN_DB`; None when the axis has no levels."""
    if axis.levels_db is None:
        return None
    lightest_db, heaviest_db = float(axis.levels_db[0]), float(axis.levels_db[-1])
    span_db = max(heaviest_db - lightest_db, MIN_SPAN_DB)
    return 0.5 * (lightest_db + heaviest_db) + span_db * (intensity - 0.5)


def knot_on_axis(knots: np.ndarray, generator, intensity: float,
                 threshold: float) -> np.ndarray:
    """A streaming model's global-code knots, shape (n, global_dim), set for ``intensity``:
    the axis lies in the global code's components (the drifting ones)."""
    field = generator.field
    latents = np.concatenate([knots, np.zeros((knots.shape[0], field.local_dim), knots.dtype)],
                             axis=1)
    return apply_intensity(latents, generator.intensity_axis, intensity,
                           threshold)[:, :field.global_dim]


def set_projection(latents: np.ndarray, direction: np.ndarray, projection: float,
                   threshold: float) -> np.ndarray:
    """Latents moved along the unit ``direction`` until their projection on it is
    ``projection``, then clipped to ``threshold``; shape (n, latent_dim), float32."""
    z = np.asarray(latents, dtype=np.float64)
    z = z + (projection - z @ direction)[:, None] * direction[None, :]
    return np.clip(z, -threshold, threshold).astype(np.float32)
