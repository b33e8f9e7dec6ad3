"""Give an exported model the level ceiling of the data it was trained on.

``raingan export`` writes the ceiling (:mod:`raingan.core.ceiling`) that training stored
in the checkpoint; checkpoints written before ceilings existed have none, and neither have
the models exported from them. The ceiling depends only on the training data, the spec and
the crop gain augmentation, so it can be measured again, here, from the same recordings: the
model's data fingerprint must match theirs, or nothing is written.

    python -m raingan.export.ceiling MODEL.onnx DATA_DIR --train-fraction F [--gain-db 6]
        [--out OUT.onnx]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Sequence

from ..core.atomic import atomic_output
from ..core.errors import RainGANError
from ..core.model_meta import ModelFormatError, ModelMetadata
from ..training.config import TrainConfig
from ..training.corpus import corpus_ceiling_db, load_corpus


class CeilingError(RainGANError, ValueError):
    """A model and data that do not belong together, or a spec without absolute levels."""


def add_ceiling(model: Path, data_dir: Path, train_fraction: float,
                gain_db: float = TrainConfig.gain_db, out: Path | None = None) -> ModelMetadata:
    """Write ``model`` (or ``out``) again with the ceiling of ``data_dir``'s recordings.

    Raises
    ------
    ModelFormatError
        ``model`` is not a RainGAN model.
    CeilingError
        The data are not the ones the model was trained on (another fingerprint), or the
        spec's images are not absolute levels.
    """
    import onnx

    try:
        proto = onnx.load(str(model))
    except Exception as exc:  # onnx raises untyped errors for bad files
        raise ModelFormatError(f"{model}: not a readable ONNX model ({exc})") from None
    props = {p.key: p.value for p in proto.metadata_props}
    metadata = ModelMetadata.from_props(props, str(model))
    corpus = load_corpus(data_dir, metadata.spec, train_fraction)
    if corpus.fingerprint != metadata.data_fingerprint:
        raise CeilingError(f"{model} was not trained on {data_dir} with train fraction "
                           f"{train_fraction:g} (data fingerprint {corpus.fingerprint[:12]}, "
                           f"the model's {metadata.data_fingerprint[:12]})")
    ceiling = corpus_ceiling_db(corpus, metadata.spec, gain_db)
    if ceiling is None:
        raise CeilingError(f"{model}: its spec's images are not absolute levels "
                           f"(normalization {metadata.spec.normalization!r})")
    metadata = dataclasses.replace(metadata, ceiling_db=ceiling)
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, {**props, **metadata.to_props()})
    with atomic_output(out or model, suffix=".onnx") as temp:
        Path(temp).write_bytes(proto.SerializeToString())
    return metadata


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m raingan.export.ceiling",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="an .onnx file written by raingan export")
    parser.add_argument("data_dir", type=Path, help="the recordings it was trained on")
    parser.add_argument("--train-fraction", type=float, required=True,
                        help="the run's --train-fraction (its run.json says)")
    parser.add_argument("--gain-db", type=float, default=TrainConfig.gain_db,
                        help=f"the run's crop gain augmentation (default {TrainConfig.gain_db:g})")
    parser.add_argument("--out", type=Path, help="write here instead of over MODEL")
    args = parser.parse_args(argv)
    try:
        metadata = add_ceiling(args.model, args.data_dir, args.train_fraction, args.gain_db,
                               args.out)
    except RainGANError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    ceiling = metadata.ceiling_db
    print(f"wrote {args.out or args.model}: ceiling {min(ceiling):.1f} to {max(ceiling):.1f} dB "
          f"over {len(ceiling)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
