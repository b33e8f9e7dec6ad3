"""`raingan stems`: independent variations, loudness-normalised, with a manifest.

Each stem is a render with its own seed, measured with an ITU-R BS.1770 integrated loudness
meter (pyloudnorm) and gained to the target. With intensity layers, every variation is also
rendered at evenly spaced intensities from light to heavy with the same seed, so the layers
line up in time and can be crossfaded; one gain per variation brings its heaviest layer to
the target and keeps the layers' natural differences in loudness. A JSON manifest records every stem's seed,
loudness and gain, the model's file hash and the settings, so any stem can be made again.
Stems are written into a hidden folder beside OUTDIR, which replaces OUTDIR whole when all
are done: a failure or Ctrl-C leaves the previous set intact (or no folder), and a new set
never sits beside files of an older, larger one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import secrets
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core import limits
from ..core.atomic import atomic_folder, check_output_path
from ..core.audio_io import check_audio_format, write_audio
from ..core.errors import OutputPathError
from ..core.loudness import measure_lufs
from .generator import Generator
from .render import RenderSettings, render
from .safety import soft_limit
from .stream import StreamSettingsError, checked

MANIFEST = "manifest.json"
#: BS.1770 gating needs at least one 400 ms block.
MIN_STEM_S = limits.STEM_SECONDS.low
#: What a folder of stems holds (and so what replacing it may delete): the manifest, stems,
#: and hidden folders of earlier versions' staging.
STEMS_FOLDER_ENTRY = re.compile(r"manifest\.json|stem_\d+.*\.(wav|flac|ogg)|\.stems-.*")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def gained(audio: np.ndarray, gain_db: float) -> np.ndarray:
    """``audio`` gained by ``gain_db``; the soft limiter catches overs."""
    return soft_limit(audio * np.float32(10.0 ** (gain_db / 20.0)))


def check_stems_request(out_dir: Path, count: int, settings: RenderSettings,
                        target_lufs: float, layers: int) -> None:
    """Refuse a stems request before anything is rendered (see :func:`render_stems`)."""
    checked(limits.STEM_COUNT, "count", count)
    checked(limits.LAYERS, "intensity layers", layers)
    if layers == 1:
        raise StreamSettingsError("intensity layers must be 0 (none) or >= 2, got 1")
    if settings.seconds < MIN_STEM_S:
        raise StreamSettingsError(f"stems must be at least {MIN_STEM_S} s long to measure "
                                  f"their loudness, got {settings.seconds}")
    checked(limits.TARGET_LUFS, "target loudness", target_lufs)
    out_dir = Path(out_dir)
    check_output_path(out_dir, folder_ok=True)
    if out_dir.is_dir():
        foreign = sorted(p.name for p in out_dir.iterdir()
                         if not STEMS_FOLDER_ENTRY.fullmatch(p.name))
        if foreign:
            raise OutputPathError(f"{out_dir}: holds files that are not stems ({', '.join(foreign[:3])}"
                                  f"{', ...' if len(foreign) > 3 else ''}), which a new set would "
                                  f"replace; choose a new or empty folder")


def render_stems(generator: Generator, out_dir: Path, count: int, settings: RenderSettings,
                 target_lufs: float = -23.0, subtype: str = "PCM_24", suffix: str = ".wav",
                 progress: Callable[[int], None] | None = None,
                 layers: int = 0) -> dict[str, Any]:
    """Write ``count`` stems ``stem_01.wav``... and ``manifest.json`` into ``out_dir``.

    Stem ``i`` uses seed ``settings.seed + i`` (a drawn base seed when ``settings.seed`` is
    None). With ``layers`` >= 2, each stem becomes ``layers`` files
    ``stem_01_intensity_0.00.wav``... at intensities evenly spaced over [0, 1]; ``progress``
    is then called once per file. Returns the manifest.

    Raises
    ------
    StreamSettingsError
        ``count`` < 1, stems shorter than :data:`MIN_STEM_S`, or an absurd target.
    OutputPathError
        ``out_dir`` cannot be created or written.
    """
    check_stems_request(out_dir, count, settings, target_lufs, layers)
    check_audio_format(suffix, subtype)
    intensities = [None] if layers == 0 else [float(v) for v in np.linspace(0.0, 1.0, layers)]
    out_dir = Path(out_dir)
    with atomic_folder(out_dir) as staging:
        base_seed = secrets.randbits(62) if settings.seed is None else settings.seed
        stems = []
        for index in range(count):
            seed = base_seed + index
            renders = [render(generator, dataclasses.replace(
                settings, seed=seed, **({} if level is None else {"intensity": level})))
                for level in intensities]
            rate = renders[0].sample_rate_hz
            # One gain per variation: its heaviest (last) layer reaches the target.
            gain_db = target_lufs - measure_lufs(renders[-1].samples, rate)
            for level, result in zip(intensities, renders):
                measured = measure_lufs(result.samples, rate)
                audio = gained(result.samples, gain_db)
                layer = "" if level is None else f"_intensity_{level:.2f}"
                name = f"stem_{index + 1:02d}{layer}{suffix}"
                write_audio(staging / name, audio, rate, subtype=subtype)
                entry = {"file": name, "seed": seed, "measured_lufs": round(measured, 2),
                         "gain_db": round(gain_db, 2),
                         "peak": round(float(np.max(np.abs(audio))), 4)}
                stems.append(entry if level is None else {**entry, "intensity": level})
                if progress is not None:
                    progress(1)
        manifest = {
            "model": {"file": str(generator.path), "sha256": file_sha256(generator.path),
                      "step": generator.metadata.step,
                      "data_fingerprint": generator.metadata.data_fingerprint},
            "settings": {**dataclasses.asdict(settings), "seed": base_seed,
                         "target_lufs": target_lufs, "subtype": subtype,
                         "intensity_layers": layers},
            "stems": stems,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest
