"""Level ceiling: no row of a generated chunk louder than the training audio ever is there.

A generator puts energy where its data never has any: chunks of the image-texture and heard-texture
models (BENCHMARKS.md, "Generator architecture") held blobs at 13-21 kHz, above the corpus's low-pass edges, up to 26 and 36 dB above
the loudest pixel of any training chunk near those rows (a third and a half of their chunks
beyond 6 dB; held-out real chunks never; ``benchmarks/model_quality.py``). Heard as bursts
of sizzle, they are invisible to ``raingan eval``, whose bands stop at 10 kHz.

:func:`row_ceiling_db` takes, for each image row, the loudest value of a set of images over
that row and the :data:`CEILING_ROWS` rows either side (so that a ceiling follows the
neighbourhood of a low-pass edge, not one bin's luck). Training measures it on its corpus,
raises it by the crop gain augmentation (the discriminator saw crops that much louder), and
stores it in every checkpoint; the export writes it into the model, and the runtime's
levelling holds every image under it (:mod:`.leveling`).
"""

from __future__ import annotations

import numpy as np

from .spec import SpectralSpec

#: Rows either side whose loudest value a row's ceiling takes (8 rows: 345 Hz at the default).
CEILING_ROWS = 8


def row_ceiling_db(images: np.ndarray, spec: SpectralSpec) -> np.ndarray:
    """The loudest level of each row over ``images`` and its neighbours, dB.

    Parameters
    ----------
    images : shape (n_images, height, width), values in [-1, 1] (fixed dB normalisation)
    spec : their spectral spec

    Returns
    -------
    np.ndarray, shape (height,), float64: dB on the spec's scale (``db_min`` .. ``db_max``)
    """
    loudest = np.asarray(images, dtype=np.float64).max(axis=(0, 2))
    padded = np.pad(loudest, CEILING_ROWS, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * CEILING_ROWS + 1)
    return spec.images_to_db(windows.max(axis=1))
