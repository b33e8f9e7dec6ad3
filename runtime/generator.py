"""Load an exported RainGAN model and turn latents into chunks of audio.

The model's own metadata gives its spectral spec, latent size and default truncation, so a
model file is all the runtime needs. A chunk model turns one latent into one image
(:meth:`Generator.images`); a streaming model turns a latent field into frames of any
length (:meth:`Generator.field_images`, driven by :class:`.field.FieldStream`).
"""

from __future__ import annotations

import copy
from pathlib import Path
import numpy as np

from .intensity import IntensityAxis
from .latent import LatentWalk, truncated_normal
from ..core.model_meta import (FIELD_INPUT_NAME, INPUT_NAME, OUTPUT_NAME, FieldLayout,
                               ModelFormatError, ModelMetadata)
from ..core.phase import STREAM_PHASE, PhaseSettings
from ..core.speckle import Drops
from ..core.synthesis import images_to_chunks

#: Latents per onnxruntime call: amortises call overhead, bounds memory.
BATCH_LATENTS = 16
#: ... on the CPU: calls of 8 (or 4) ran renders 5 % faster than calls of 16, the smaller
#: activations staying in cache; calls of 2 are as fast as 8 and keep onnxruntime's arena at
#: 40 MB instead of 130 (BENCHMARKS.md, "Render speed" and "Memory of a render").
CPU_BATCH_LATENTS = 2
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def choose_providers(device: str = "auto") -> list[str]:
    """onnxruntime providers for ``device``: "auto" (CUDA where available), "cpu" or "cuda".

    Raises
    ------
    ModelFormatError
        "cuda" where onnxruntime has no CUDA provider (onnxruntime-gpu is not installed).
    """
    import onnxruntime

    available = onnxruntime.get_available_providers()
    if device == "auto":
        return [p for p in (PROVIDERS["cuda"], PROVIDERS["cpu"]) if p in available]
    if device not in PROVIDERS:
        raise ModelFormatError(f"device must be auto, cpu or cuda, got {device!r}")
    if PROVIDERS[device] not in available:
        raise ModelFormatError(f"onnxruntime has no {PROVIDERS[device]} here (available: "
                               f"{', '.join(available)}); install onnxruntime-gpu for CUDA")
    return [PROVIDERS[device]] + ([PROVIDERS["cpu"]] if device != "cpu" else [])


class Generator:
    """An exported generator in an onnxruntime session.

    Parameters
    ----------
    model_path : an .onnx file written by ``raingan export``
    device : "auto", "cpu" or "cuda" (see :func:`choose_providers`)
    phase : phase reconstruction settings for :meth:`chunks`

    Raises
    ------
    ModelFormatError
        A missing, unreadable or non-RainGAN model, or one of an unknown format version.
    """

    def __init__(self, model_path: str | Path, device: str = "auto",
                 phase: PhaseSettings = STREAM_PHASE):
        import onnxruntime

        path = Path(model_path)
        if not path.is_file():
            raise ModelFormatError(f"{path}: no such model file")
        try:
            options = onnxruntime.SessionOptions()
            # onnxruntime's idle workers spin for a while after each run, taking the cores
            # from phase reconstruction, which runs next: 19.6x -> 22.5x real time without.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self.session = onnxruntime.InferenceSession(str(path), options,
                                                        providers=choose_providers(device))
        except ModelFormatError:
            raise
        except Exception as exc:  # onnxruntime raises untyped errors for bad files
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelFormatError(f"{path}: not a readable ONNX model ({reason})") from None
        props = dict(self.session.get_modelmeta().custom_metadata_map)
        self.metadata = ModelMetadata.from_props(props, str(path))
        self.path, self.phase = path, phase
        self._call_latents = (CPU_BATCH_LATENTS if self.providers == [PROVIDERS["cpu"]]
                              else BATCH_LATENTS)
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        outputs = {o.name: o.shape for o in self.session.get_outputs()}
        if not _graph_matches(self.metadata, inputs, outputs):
            raise ModelFormatError(f"{path}: its graph does not match its metadata "
                                   f"(inputs {inputs}, outputs {outputs})")
        self._intensity_axis = None
        if self.metadata.intensity is not None:
            try:
                self._intensity_axis = IntensityAxis.from_dict(self.metadata.intensity,
                                                               self.latent_dim)
            except (KeyError, TypeError, ValueError) as exc:
                raise ModelFormatError(f"{path}: damaged intensity axis ({exc})") from None
        self._drops = None
        if self.metadata.drops is not None:
            try:
                self._drops = Drops.from_dict(self.metadata.drops)
            except (KeyError, TypeError, ValueError) as exc:
                raise ModelFormatError(f"{path}: damaged drops ({exc})") from None

    @property
    def spec(self):
        return self.metadata.spec

    @property
    def field(self) -> FieldLayout | None:
        """A streaming model's latent-field layout; None for a chunk model."""
        return self.metadata.field

    @property
    def latent_dim(self) -> int:
        return self.metadata.latent_dim

    @property
    def drops(self) -> Drops | None:
        """A streaming model's impulses in its speckle's excitation
        (:func:`raingan.core.speckle.excitation`); None: Gaussian noise."""
        return self._drops

    def with_drops(self, drops: Drops | None) -> "Generator":
        """This generator (the same session) with other drops in its speckle's excitation:
        what fitting them at export tries."""
        other = copy.copy(self)
        other._drops = drops
        return other

    @property
    def level_smoothing_frames(self) -> float:
        """A streaming model's time constant, in frames, for smoothing its levels
        (:mod:`raingan.core.level_smoothing`); 0 for none."""
        return self.metadata.level_smoothing_frames

    @property
    def ceiling_db(self) -> np.ndarray | None:
        """Per image row, the loudest the training audio is there, dB, shape (height,)
        (:mod:`.ceiling`); None for models exported without one."""
        ceiling = self.metadata.ceiling_db
        return None if ceiling is None else np.asarray(ceiling, dtype=np.float64)

    @property
    def colour_db(self) -> np.ndarray | None:
        """Per image row, the gain that brings the rendered rain to the training audio's
        band levels, dB, shape (height,) (:mod:`.colour`); None for models exported without
        one."""
        colour = self.metadata.colour_db
        return None if colour is None else np.asarray(colour, dtype=np.float64)

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def latents(self, rng: np.random.Generator, count: int,
                truncation: float | None = None) -> np.ndarray:
        """``count`` truncated-normal latents, shape (count, latent_dim), float32.

        ``truncation`` defaults to the model's; lower values give more typical, less varied
        rain.
        """
        threshold = self.metadata.truncation if truncation is None else truncation
        return truncated_normal(rng, (count, self.latent_dim), threshold)

    @property
    def intensity_axis(self) -> IntensityAxis | None:
        """The model's intensity axis; None when it was exported without one."""
        return self._intensity_axis

    def latent_walk(self, rng: np.random.Generator, correlation: float,
                    truncation: float | None = None) -> LatentWalk:
        """A :class:`~raingan.runtime.latent.LatentWalk` for one stream of this model."""
        threshold = self.metadata.truncation if truncation is None else truncation
        return LatentWalk(rng, self.latent_dim, threshold, correlation,
                          self.metadata.drifting_dims)

    def images(self, latents: np.ndarray) -> np.ndarray:
        """A chunk model's images, shape (batch, height, width), values in [-1, 1]."""
        if self.field is not None:
            raise ModelFormatError(f"{self.path}: a streaming model makes frames from a latent "
                                   f"field (field_images), not images from latents")
        latents = np.ascontiguousarray(latents, dtype=np.float32)
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise ValueError(f"expected latents of shape (batch, {self.latent_dim}), "
                             f"got {latents.shape}")
        step = self._call_latents
        parts = [self.session.run([OUTPUT_NAME], {INPUT_NAME: latents[i:i + step]})[0]
                 for i in range(0, latents.shape[0], step)]
        images = np.concatenate(parts) if parts else np.zeros((0, *self.spec.image_shape))
        images = images.astype(np.float32, copy=False)
        if np.isfinite(images).all():  # one pass where nan_to_num makes three and a copy
            return images
        return np.nan_to_num(images, nan=-1.0, posinf=1.0, neginf=-1.0)

    def field_images(self, field: np.ndarray) -> np.ndarray:
        """A streaming model's mean images of a latent field, without speckle.

        Parameters
        ----------
        field : shape (batch, frames, field.channels), frames > 2 * field.context_frames

        Returns
        -------
        np.ndarray, shape (batch, height, frames - 2 * field.context_frames), in [-1, 1]
        """
        field = np.ascontiguousarray(field, dtype=np.float32)
        if self.field is None:
            raise ModelFormatError(f"{self.path}: a chunk model has no latent field")
        if (field.ndim != 3 or field.shape[2] != self.field.channels
                or field.shape[1] <= 2 * self.field.context_frames):
            raise ValueError(f"expected a field of shape (batch, > "
                             f"{2 * self.field.context_frames}, {self.field.channels}), "
                             f"got {field.shape}")
        images = self.session.run([OUTPUT_NAME], {FIELD_INPUT_NAME: field})[0]
        if np.isfinite(images).all():
            return images
        return np.nan_to_num(images, nan=-1.0, posinf=1.0, neginf=-1.0)

    def chunks(self, latents: np.ndarray) -> np.ndarray:
        """Audio owned by each latent's chunk, shape (batch, spec.chunk_samples), float32."""
        return images_to_chunks(self.images(latents), self.spec, self.phase)

    def chunk_count(self, seconds: float) -> int:
        """Chunks needed for a stitched stream of at least ``seconds`` at the spec's rate."""
        samples = float(seconds) * self.spec.sample_rate_hz
        extra = max(samples - self.spec.chunk_samples, 0.0)
        return 1 + int(np.ceil(extra / self.spec.chunk_step_samples))


def _graph_matches(metadata: ModelMetadata, inputs: dict, outputs: dict) -> bool:
    """Whether an ONNX graph's input and output shapes are those its metadata promise."""
    height, width = metadata.spec.image_shape
    if metadata.field is None:
        return (inputs.get(INPUT_NAME, [None, None])[1:] == [metadata.latent_dim]
                and outputs.get(OUTPUT_NAME, [None])[1:] == [height, width])
    field, image = inputs.get(FIELD_INPUT_NAME), outputs.get(OUTPUT_NAME)
    return (field is not None and len(field) == 3 and field[2] == metadata.latent_dim
            and image is not None and len(image) == 3 and image[1] == height
            and not isinstance(field[1], int) and not isinstance(image[2], int))


def default_model_path() -> Path:
    """The model shipped inside the package (``raingan/models/default.onnx``).

    Raises
    ------
    ModelFormatError
        This installation carries no default model.
    """
    path = Path(__file__).resolve().parent.parent / "models" / "default.onnx"
    if not path.is_file():
        raise ModelFormatError("this installation has no bundled default model; pass --model "
                               "MODEL.onnx (make one with raingan train and raingan export)")
    return path


def load_model(path: str | Path | None = None, device: str = "auto") -> Generator:
    """Load an exported model, or the bundled one.

    Parameters
    ----------
    path : an .onnx file written by ``raingan export``; None for the model that ships with
        the package (:func:`default_model_path`)
    device : "auto" (CUDA where onnxruntime offers it, else CPU), "cpu" or "cuda"

    Returns
    -------
    Generator
        Ready for :func:`raingan.render`, :func:`raingan.render_loop` and
        :func:`raingan.render_stems`.

    Raises
    ------
    ModelFormatError
        A missing, unreadable or non-RainGAN model.
    """
    return Generator(default_model_path() if path is None else path, device=device)
