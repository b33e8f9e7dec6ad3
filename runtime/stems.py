"""`raingan stems`: independent variations, loudness-normalised, with a manifest.

Each stem is a render with its own seed, measured with an ITU-R BS.1770 integrated loudness
meter (pyloudnorm) and gained to the target. A JSON manifest records every stem's seed,
loudness and gain, the model's file hash and the settings, so any stem can be made again.
Stems are written into a hidden folder beside OUTDIR's files and moved in when all are
done, so a failure leaves no partial set.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .audio_io import write_audio
from .errors import OutputPathError
from .generator import Generator
from .render import RenderSettings, render
from .safety import soft_limit
from .stream import StreamSettingsError

MANIFEST = "manifest.json"
#: BS.1770 gating needs at least one 400 ms block.
MIN_STEM_S = 0.5


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalise_loudness(audio: np.ndarray, sample_rate_hz: int,
                       target_lufs: float) -> tuple[np.ndarray, float, float]:
    """Gain ``audio`` (frames, channels) to ``target_lufs``; the soft limiter catches overs.

    Returns
    -------
    (audio, measured LUFS before, gain applied in dB)
    """
    import pyloudnorm

    meter = pyloudnorm.Meter(sample_rate_hz)
    measured = float(meter.integrated_loudness(audio.astype(np.float64)))
    if not np.isfinite(measured):
        raise StreamSettingsError("a stem is too quiet to measure its loudness")
    gain_db = target_lufs - measured
    return soft_limit(audio * np.float32(10.0 ** (gain_db / 20.0))), measured, gain_db


def render_stems(generator: Generator, out_dir: Path, count: int, settings: RenderSettings,
                 target_lufs: float = -23.0, subtype: str = "PCM_24", suffix: str = ".wav",
                 progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Write ``count`` stems ``stem_01.wav``... and ``manifest.json`` into ``out_dir``.

    Stem ``i`` uses seed ``settings.seed + i`` (a drawn base seed when ``settings.seed`` is
    None). Returns the manifest.

    Raises
    ------
    StreamSettingsError
        ``count`` < 1, stems shorter than :data:`MIN_STEM_S`, or an absurd target.
    OutputPathError
        ``out_dir`` cannot be created or written.
    """
    if count < 1:
        raise StreamSettingsError(f"count must be >= 1, got {count}")
    if settings.seconds < MIN_STEM_S:
        raise StreamSettingsError(f"stems must be at least {MIN_STEM_S} s long to measure "
                                  f"their loudness, got {settings.seconds}")
    if not -70.0 <= target_lufs <= 0.0:
        raise StreamSettingsError(f"target loudness must be in [-70, 0] LUFS, got {target_lufs}")
    out_dir = Path(out_dir)
    if not out_dir.parent.is_dir():
        raise OutputPathError(f"{out_dir}: folder {out_dir.parent} does not exist")
    try:
        out_dir.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".stems-", dir=out_dir))
    except OSError as exc:
        raise OutputPathError(f"{out_dir}: cannot write ({exc.strerror})") from None
    try:
        base_seed = secrets.randbits(62) if settings.seed is None else settings.seed
        stems = []
        for index in range(count):
            seed = base_seed + index
            result = render(generator, dataclasses.replace(settings, seed=seed))
            audio, measured, gain_db = normalise_loudness(result.samples,
                                                          result.sample_rate_hz, target_lufs)
            name = f"stem_{index + 1:02d}{suffix}"
            write_audio(staging / name, audio, result.sample_rate_hz, subtype=subtype)
            stems.append({"file": name, "seed": seed, "measured_lufs": round(measured, 2),
                          "gain_db": round(gain_db, 2),
                          "peak": round(float(np.max(np.abs(audio))), 4)})
            if progress is not None:
                progress(1)
        manifest = {
            "model": {"file": str(generator.path), "sha256": file_sha256(generator.path),
                      "step": generator.metadata.step,
                      "data_fingerprint": generator.metadata.data_fingerprint},
            "settings": {**dataclasses.asdict(settings), "seed": base_seed,
                         "target_lufs": target_lufs, "subtype": subtype},
            "stems": stems,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        for path in staging.iterdir():
            os.replace(path, out_dir / path.name)
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)
