"""What an exported RainGAN model says about itself (ONNX metadata_props).

The exporter writes :class:`ModelMetadata`; the runtime reads it back and refuses models it
cannot trust. Values are JSON strings so that any ONNX tool can show them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .errors import RainGANError
from .spec import SpectralSpec

#: Version of this metadata layout; bump when a reader would misread older models.
FORMAT_VERSION = 1

SPEC_KEY = "raingan.spec"
_PREFIX = "raingan."
#: What every metadata key of RainGAN's begins with.
PROPS_PREFIX = _PREFIX
#: Name of the generator's input (latents, shape (batch, latent_dim)) and output
#: (images, shape (batch, height, width)) in the ONNX graph.
INPUT_NAME = "latent"
OUTPUT_NAME = "image"
#: A streaming generator's input instead: its latent field, shape (batch, frames, channels),
#: both time and batch dynamic; its output is then (batch, height, frames - 2 * context).
FIELD_INPUT_NAME = "field"


class ModelFormatError(RainGANError, ValueError):
    """An .onnx file that is not a RainGAN model this version can use."""


@dataclass(frozen=True)
class FieldLayout:
    """How a streaming generator's latent field is made (see
    :mod:`raingan.runtime.field`).

    Attributes
    ----------
    global_dim : leading channels of every column: the global code, drifting slowly
    local_dim : the other channels: each column's own noise, drawn afresh
    context_frames : field columns the graph consumes on each side of the frames it writes
    """

    global_dim: int
    local_dim: int
    context_frames: int

    def __post_init__(self) -> None:
        for name in ("global_dim", "local_dim", "context_frames"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"field {name} must be an integer >= 0, got {value!r}")
        if self.global_dim + self.local_dim < 1:
            raise ValueError("a field needs at least one channel")

    @property
    def channels(self) -> int:
        return self.global_dim + self.local_dim


@dataclass(frozen=True)
class ModelMetadata:
    """Facts carried by an exported generator.

    Attributes
    ----------
    spec : the spectral spec the model's images follow
    latent_dim : size of the latent vector
    truncation : default truncation threshold, standard deviations
    data_fingerprint : sha256 over the training files' names and bytes
    step : training step the weights come from
    format_version : :data:`FORMAT_VERSION` of the writer
    training : free-form training facts (preset, loss, architecture)
    intensity : the intensity axis (:meth:`.intensity.IntensityAxis.to_dict`); None for
        models exported without one
    drifting_dims : how many leading latent components set the rain's character, and so
        drift slowly along a stream; the others place events in time inside a chunk and are
        drawn afresh for every chunk (drifting them would repeat each chunk's events in the
        next, a pulse at the chunk rate). None: all components drift.
    ceiling_db : per image row, the loudest the training audio is there, dB (see
        :mod:`.ceiling`); the runtime holds images under it. None for models exported
        without one.
    colour_db : per image row, the gain that brings the model's rendered rain to its
        training audio's band levels, dB (see :mod:`.colour`); the runtime adds it to every
        image. None for models exported without one.
    field : for a streaming generator, its latent-field layout
        (:class:`FieldLayout`): the graph reads a field of columns, one per frame, of
        ``latent_dim`` channels, and writes mean images of any width. None for a chunk
        generator, whose graph reads one latent vector per image.
    drops : for a streaming generator, the impulses in the excitation its speckle comes from
        (:class:`raingan.core.speckle.Drops`, as a dict), fitted to its training audio; None:
        Gaussian noise only.
    level_smoothing_frames : for a streaming generator, the time constant, in frames, of the
        one-pole smoothing the runtime applies to each image row's power
        (:mod:`raingan.core.level_smoothing`), fitted at export; 0 for none.
    """

    spec: SpectralSpec
    latent_dim: int
    truncation: float
    data_fingerprint: str
    step: int
    format_version: int = FORMAT_VERSION
    training: Mapping[str, Any] | None = None
    drifting_dims: int | None = None
    intensity: Mapping[str, Any] | None = None
    ceiling_db: tuple[float, ...] | None = None
    colour_db: tuple[float, ...] | None = None
    field: "FieldLayout | None" = None
    drops: Mapping[str, float] | None = None
    level_smoothing_frames: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.level_smoothing_frames <= 1000.0:
            raise ModelFormatError(f"level_smoothing_frames {self.level_smoothing_frames} is "
                                   f"outside 0..1000")
        for name in ("ceiling_db", "colour_db"):
            rows = getattr(self, name)
            if rows is not None and len(rows) != self.spec.image_shape[0]:
                raise ModelFormatError(f"{name} has {len(rows)} rows, the images "
                                       f"{self.spec.image_shape[0]}")
            if rows is not None and not np.isfinite(rows).all():
                raise ModelFormatError(f"{name} holds values that are not finite numbers")
        if self.field is not None and self.field.channels != self.latent_dim:
            raise ModelFormatError(f"field has {self.field.channels} channels, the latent "
                                   f"{self.latent_dim}")
        if self.drifting_dims is not None and not 0 <= self.drifting_dims <= self.latent_dim:
            raise ModelFormatError(f"drifting_dims {self.drifting_dims} is outside "
                                   f"0..{self.latent_dim}")

    def to_props(self) -> dict[str, str]:
        """metadata_props entries: ``raingan.<field>`` -> JSON text."""
        props = {
            SPEC_KEY: self.spec.to_json(),
            _PREFIX + "format_version": json.dumps(self.format_version),
            _PREFIX + "latent_dim": json.dumps(self.latent_dim),
            _PREFIX + "truncation": json.dumps(self.truncation),
            _PREFIX + "data_fingerprint": json.dumps(self.data_fingerprint),
            _PREFIX + "step": json.dumps(self.step),
        }
        if self.drifting_dims is not None:
            props[_PREFIX + "drifting_dims"] = json.dumps(self.drifting_dims)
        if self.intensity is not None:
            props[_PREFIX + "intensity"] = json.dumps(dict(self.intensity))
        for name in ("ceiling_db", "colour_db"):
            if getattr(self, name) is not None:
                props[_PREFIX + name] = json.dumps([round(float(v), 2)
                                                    for v in getattr(self, name)])
        if self.field is not None:
            props[_PREFIX + "field"] = json.dumps(dataclasses.asdict(self.field), sort_keys=True)
        if self.drops is not None:
            props[_PREFIX + "drops"] = json.dumps(dict(self.drops), sort_keys=True)
        if self.level_smoothing_frames:
            props[_PREFIX + "level_smoothing_frames"] = json.dumps(self.level_smoothing_frames)
        if self.training is not None:
            props[_PREFIX + "training"] = json.dumps(dict(self.training), sort_keys=True)
        return props

    @classmethod
    def from_props(cls, props: Mapping[str, str], source: str = "model") -> "ModelMetadata":
        """Parse metadata_props; raise :class:`ModelFormatError` naming ``source`` if unusable."""
        if SPEC_KEY not in props:
            raise ModelFormatError(f"{source}: not a RainGAN model (no {SPEC_KEY} in its metadata)")
        try:
            version = json.loads(props.get(_PREFIX + "format_version", "null"))
            if version != FORMAT_VERSION:
                raise ModelFormatError(f"{source}: model format version {version} is not "
                                       f"supported (this RainGAN reads version {FORMAT_VERSION})")
            training = props.get(_PREFIX + "training")
            drifting = props.get(_PREFIX + "drifting_dims")
            intensity = props.get(_PREFIX + "intensity")
            ceiling = props.get(_PREFIX + "ceiling_db")
            colour = props.get(_PREFIX + "colour_db")
            field = props.get(_PREFIX + "field")
            drops = props.get(_PREFIX + "drops")
            smoothing = float(json.loads(props.get(_PREFIX + "level_smoothing_frames", "0")))
            return cls(spec=SpectralSpec.from_json(props[SPEC_KEY]),
                       latent_dim=int(json.loads(props[_PREFIX + "latent_dim"])),
                       truncation=float(json.loads(props[_PREFIX + "truncation"])),
                       data_fingerprint=str(json.loads(props[_PREFIX + "data_fingerprint"])),
                       step=int(json.loads(props[_PREFIX + "step"])),
                       format_version=version,
                       training=None if training is None else json.loads(training),
                       drifting_dims=None if drifting is None else int(json.loads(drifting)),
                       intensity=None if intensity is None else json.loads(intensity),
                       ceiling_db=None if ceiling is None else tuple(
                           float(v) for v in json.loads(ceiling)),
                       colour_db=None if colour is None else tuple(
                           float(v) for v in json.loads(colour)),
                       field=None if field is None else FieldLayout(**json.loads(field)),
                       drops=None if drops is None else json.loads(drops),
                       level_smoothing_frames=smoothing)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ModelFormatError):
                raise
            raise ModelFormatError(f"{source}: damaged RainGAN metadata ({exc})") from None
