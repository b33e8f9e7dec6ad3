"""Which checkpoint a run keeps as its best: a training statistic, scored at every checkpoint.

Adversarial training on a small corpus does not settle: on the 27 s of one recording the
stream-cpu preset's generator made its band levels move more from frame to frame the longer
it trained (BENCHMARKS.md, "A user's one-recording run"), and the last step was its worst.
So a run scores each checkpoint's generator (and, with ``select_every``, the generator
between checkpoints) by how far the frame-to-frame spread of its band levels is from the
training audio's, and keeps the best checkpoint beside the newest ones; ``raingan export``
takes it unless told otherwise.

The statistic is a training one, on the spec's images as the discriminator sees them (the
generator's with their training speckle, real crops of the training audio): per band of
image rows (log-spaced), the standard deviation over a crop's frames of the band's level
in dB, averaged over crops; the score is the mean absolute difference, over bands, of the
generated images' spreads from the real ones', in dB. No judge of ``raingan eval`` uses it
(they analyse audio with cochlear filters and their own windows), and it never sees held-out
audio.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..core.errors import RainGANError
from ..core.spec import SpectralSpec
from .checkpoint import checkpoint_folder
from .corpus import Corpus, CropSampler

#: Bands of image rows the spread is taken in, log-spaced from :data:`FIRST_ROW` up.
N_BANDS = 16
FIRST_ROW = 4
#: Crops on each side (in batches of :data:`_BATCH`), fixed for the whole run.
N_CROPS = 256
_BATCH = 64
#: Seed of the scoring crops and latents, apart from training's.
_SEED = 2**31 - 7
#: The file in a run folder that names its best checkpoint.
BEST_FILE = "best_checkpoint.json"


def band_rows(n_rows: int, n_bands: int = N_BANDS) -> list[tuple[int, int]]:
    """(first, end) rows of each band: log-spaced from :data:`FIRST_ROW` to ``n_rows``."""
    edges = np.unique(np.geomspace(FIRST_ROW, n_rows, n_bands + 1).astype(int))
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def level_spread_db(images: np.ndarray, spec: SpectralSpec) -> np.ndarray:
    """Per band, the mean over images of the standard deviation over frames of the band's
    level.

    Parameters
    ----------
    images : shape (n_images, rows, frames), the spec's image units
    spec : the spectral spec the images are of

    Returns
    -------
    shape (n_bands,), dB
    """
    power = np.power(10.0, spec.images_to_db(images) / 10.0)
    spreads = []
    for first, end in band_rows(power.shape[1]):
        level_db = 10.0 * np.log10(power[:, first:end].mean(axis=1))  # (n_images, frames)
        spreads.append(float(level_db.std(axis=1).mean()))
    return np.array(spreads)


class LevelSpreadScore:
    """Scores generators against the training audio's level spread (lower is better).

    Parameters
    ----------
    corpus, spec : the run's training audio and spec
    latent_dim : the generator's input size
    truncation : the run's latent truncation
    """

    def __init__(self, corpus: Corpus, spec: SpectralSpec, latent_dim: int, truncation: float):
        self.spec = spec
        sampler = CropSampler(corpus, spec, _BATCH, latent_dim, truncation, 0.0, _SEED)
        batches = [sampler.batch(k) for k in range(N_CROPS // _BATCH)]
        self.latents = [b.z_g for b in batches]
        self.real_db = level_spread_db(np.concatenate([b.real[..., 0] for b in batches]), spec)

    def __call__(self, generator: keras.Model) -> float:
        """Mean absolute difference over bands of the generator's level spreads (images
        with their training speckle) from the training audio's, dB."""
        fakes = [np.asarray(keras.ops.convert_to_numpy(generator(z, training=True)))
                 for z in self.latents]
        fake_db = level_spread_db(np.concatenate(fakes), self.spec)
        score = float(np.mean(np.abs(fake_db - self.real_db)))
        return score if math.isfinite(score) else math.inf


@dataclass(frozen=True)
class BestCheckpoint:
    """What :data:`BEST_FILE` holds: the best-scored checkpoint of a run so far."""

    step: int
    name: str
    level_spread_db: float

    def write(self, run_dir: Path) -> None:
        path = Path(run_dir) / BEST_FILE
        temp = path.with_name(f".{BEST_FILE}.{os.getpid()}")
        temp.write_text(json.dumps({"step": self.step, "checkpoint": self.name,
                                    "level_spread_db": round(self.level_spread_db, 4)}))
        os.replace(temp, path)


def read_best(run_dir: Path) -> BestCheckpoint | None:
    """The run's best checkpoint as recorded, or None (none recorded, or its folder gone)."""
    path = Path(run_dir) / BEST_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        best = BestCheckpoint(int(data["step"]), str(data["checkpoint"]),
                              float(data["level_spread_db"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise RainGANError(f"{path}: not a best-checkpoint record ({exc})") from None
    return best if (checkpoint_folder(run_dir) / best.name).is_dir() else None
