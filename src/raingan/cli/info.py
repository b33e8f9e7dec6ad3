"""Facts for `raingan info`: about the installation, a spec, an audio file or a model."""

from __future__ import annotations

import importlib.metadata
import json
import platform
from pathlib import Path
from typing import Any

import soundfile as sf

from ..core.errors import AudioInputError
from ..core.spec import SpectralSpec


def installation_info() -> dict[str, Any]:
    """Versions of RainGAN and its runtime dependencies, native module and providers."""
    import onnxruntime

    facts: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    for package in ("raingan", "numpy", "scipy", "soundfile", "soxr", "onnxruntime",
                    "onnxruntime-gpu"):
        try:
            facts[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    facts["onnxruntime providers"] = onnxruntime.get_available_providers()
    try:
        from .. import _native

        facts["native module"] = Path(_native.__file__).name
    except ImportError as exc:
        facts["native module"] = f"missing ({exc})"
    return facts


def spec_info(spec: SpectralSpec) -> dict[str, Any]:
    """The spec's fields and the geometry they imply."""
    facts = spec.to_dict()
    height, width = spec.image_shape
    facts.update({
        "image (rows x columns)": f"{height} x {width}",
        "chunk_s": round(spec.chunk_s, 6),
        "hop_s": round(spec.hop_length / spec.sample_rate_hz, 6),
        "crossfade_s": round(spec.crossfade_samples / spec.sample_rate_hz, 6),
        "stream step_s": round(spec.chunk_step_samples / spec.sample_rate_hz, 6),
    })
    return facts


def audio_info(path: Path) -> dict[str, Any]:
    try:
        meta = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioInputError(f"{path}: not readable as audio ({exc})") from None
    return {"file": str(path), "format": f"{meta.format} {meta.subtype}",
            "sample_rate_hz": meta.samplerate, "channels": meta.channels,
            "duration_s": round(meta.duration, 3)}


def model_info(path: Path) -> dict[str, Any]:
    """The RainGAN metadata an exported .onnx model carries (refuses non-RainGAN models)."""
    from ..runtime.generator import Generator

    session = Generator(path, device="cpu").session
    facts: dict[str, Any] = {"file": str(path)}
    for key, value in sorted(session.get_modelmeta().custom_metadata_map.items()):
        try:
            facts[key] = json.loads(value)
        except json.JSONDecodeError:
            facts[key] = value
    facts["inputs"] = {i.name: i.shape for i in session.get_inputs()}
    facts["outputs"] = {o.name: o.shape for o in session.get_outputs()}
    return facts


#: Numeric lists longer than this are summarised in text (``--json`` keeps them whole).
LONG_LIST = 16


def format_facts(facts: dict[str, Any], indent: int = 0) -> str:
    """Aligned 'key: value' lines; nested dicts are indented, long numeric lists (the
    intensity direction, the level ceiling) summarised as their length and range."""
    width = max((len(str(k)) for k in facts), default=0)
    lines = []
    for key, value in facts.items():
        if isinstance(value, dict):
            lines.append(" " * indent + f"{key}:")
            lines.append(format_facts(value, indent + 2))
            continue
        if (isinstance(value, list) and len(value) > LONG_LIST
                and all(isinstance(v, (int, float)) for v in value)):
            value = f"{len(value)} values, {min(value):g} to {max(value):g}"
        lines.append(" " * indent + f"{str(key) + ':':<{width + 1}} {value}")
    return "\n".join(lines)
