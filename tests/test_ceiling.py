"""The level ceiling: measured on training data, carried by the model, held by the runtime."""

from __future__ import annotations

import json

import numpy as np
import pytest

from raingan.core.ceiling import CEILING_ROWS, row_ceiling_db
from raingan.runtime.leveling import ChunkLeveller, level_cyclic
from raingan.core.model_meta import ModelFormatError, ModelMetadata
from raingan.core.spec import SpectralSpec

SPEC = SpectralSpec()


def test_row_ceiling_takes_the_loudest_value_of_each_row_and_its_neighbours():
    height, width = SPEC.image_shape
    images = np.full((3, height, width), -0.5, np.float32)
    images[1, 100, 7] = 0.5  # one loud pixel in one image
    ceiling_db = row_ceiling_db(images, SPEC)
    assert ceiling_db.shape == (height,)
    loud, quiet = SPEC.images_to_db(0.5), SPEC.images_to_db(-0.5)
    near = np.abs(np.arange(height) - 100) <= CEILING_ROWS
    np.testing.assert_allclose(ceiling_db[near], loud)
    np.testing.assert_allclose(ceiling_db[~near], quiet)
    levels = np.array([SPEC.db_min, -3.0, 17.5, SPEC.db_max])
    np.testing.assert_allclose(SPEC.images_to_db(SPEC.db_to_images(levels)), levels, atol=1e-4)
    assert SPEC.db_to_images(np.array([SPEC.db_max + 20.0]))[0] == 1.0  # clipped to the range


def test_levelling_holds_images_under_the_ceiling_and_leaves_the_rest_alone(rng):
    height, width = SPEC.image_shape
    images = rng.uniform(-0.6, -0.2, (6, height, width)).astype(np.float32)
    images[2, 400:410, 50:60] = 0.9  # a blob at ~17.5 kHz, far above anything "real"
    ceiling_db = np.full(height, SPEC.images_to_db(0.0))
    plain = ChunkLeveller(SPEC, channels=1).process(images)
    held = ChunkLeveller(SPEC, channels=1, ceiling_db=ceiling_db).process(images)
    assert plain.max() > 0.5 and held.max() <= 1e-6
    under = plain <= 0.0
    np.testing.assert_array_equal(held[under], plain[under])  # nothing else changes
    cyclic = level_cyclic(images, SPEC, channels=1, ceiling_db=ceiling_db)
    assert cyclic.max() <= 1e-6


def test_metadata_carries_the_ceiling_and_refuses_one_of_the_wrong_length():
    height = SPEC.image_shape[0]
    ceiling = tuple(float(v) for v in np.linspace(30.0, -10.0, height))
    meta = ModelMetadata(spec=SPEC, latent_dim=8, truncation=3.0, data_fingerprint="x",
                         step=1, ceiling_db=ceiling)
    props = meta.to_props()
    back = ModelMetadata.from_props(props)
    np.testing.assert_allclose(back.ceiling_db, ceiling, atol=0.005)
    assert ModelMetadata.from_props({k: v for k, v in props.items()
                                     if k != "raingan.ceiling_db"}).ceiling_db is None
    props["raingan.ceiling_db"] = json.dumps([1.0, 2.0])
    with pytest.raises(ModelFormatError, match="ceiling_db has 2 rows"):
        ModelMetadata.from_props(props, "m.onnx")


def test_trained_and_exported_models_carry_their_corpus_ceiling(tiny_model):
    from raingan.runtime.generator import Generator
    from raingan.runtime.stream import RainStream

    generator = Generator(tiny_model, device="cpu")
    ceiling_db = generator.ceiling_db
    assert ceiling_db is not None and ceiling_db.shape == (generator.spec.image_shape[0],)
    # conftest trains on white noise at 0.1 rms: flat up to Nyquist, at most 6 dB of gain
    # augmentation above its loudest bin, well below the image range's top
    assert np.ptp(ceiling_db) < 15.0 and ceiling_db.max() < generator.spec.db_max
    stream = RainStream(generator, generator.spec.sample_rate_hz, 1, seed=3)
    levelled = stream._leveller.process(
        generator.images(generator.latents(np.random.default_rng(0), 4)))
    assert np.all(levelled <= generator.spec.db_to_images(ceiling_db)[:, None] + 1e-6)


def test_a_model_exported_without_a_ceiling_gets_its_datas_again(tiny_model, tmp_path, capsys):
    import onnx

    from raingan.export.ceiling import main
    from raingan.runtime.generator import Generator

    run_facts = json.loads((tiny_model.parent / "run" / "run.json").read_text())
    proto = onnx.load(str(tiny_model))
    kept = {p.key: p.value for p in proto.metadata_props if p.key != "raingan.ceiling_db"}
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, kept)
    older = tmp_path / "older.onnx"
    older.write_bytes(proto.SerializeToString())
    assert Generator(older, device="cpu").ceiling_db is None

    data = tiny_model.parent / "data"
    fraction = str(run_facts["train_fraction"])
    assert main([str(older), str(data), "--train-fraction", fraction]) == 0
    assert "wrote" in capsys.readouterr().out
    np.testing.assert_allclose(Generator(older, device="cpu").ceiling_db,
                               Generator(tiny_model, device="cpu").ceiling_db, atol=0.01)

    other = tmp_path / "other"
    other.mkdir()
    import soundfile as sf

    sf.write(other / "rain.wav", 0.05 * np.random.default_rng(9).standard_normal(60_000),
             44_100)
    out = tmp_path / "out.onnx"
    assert main([str(older), str(other), "--train-fraction", fraction, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "was not trained on" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
