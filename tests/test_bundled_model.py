"""The model shipped inside the package: found with no argument, small, and usable; and
the chunk model it replaced, kept in candidates/ with its weights."""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from raingan import RainSource
from raingan.runtime.generator import CPU_BATCH_LATENTS, Generator, default_model_path
from raingan.training.config import PRESETS

CANDIDATES = Path(__file__).resolve().parent.parent / "candidates"
#: The chunk model bundled before the streaming one, and the weights it was exported from.
CHUNK_MODEL = CANDIDATES / "cpu-wide-2750" / "model.onnx"


def test_bundled_model_is_found_small_streaming_and_trained_on_the_corpus():
    path = default_model_path()
    assert path.stat().st_size <= 25 * 1024 * 1024
    generator = Generator(path, device="cpu")
    assert generator.metadata.training["architecture"] == "stream"
    assert generator.field is not None and generator.field.global_dim == 32
    assert generator.metadata.drifting_dims == generator.field.global_dim
    # It carries its corpus's level ceiling, colour gains and intensity axis, and the corpus
    # is what the data fingerprint says: the first two thirds of the 15 recordings of
    # data/rain other than megaglest_birch_forest (tests/test_bundled_quality.py names them).
    assert generator.ceiling_db is not None and generator.colour_db is not None
    assert generator.intensity_axis is not None
    assert generator.metadata.data_fingerprint.startswith("8caed776b3d8")
    # Its bands are blended as the stream presets now train them (given after training,
    # by raingan.export.stream_export.smooth_stream_bands).
    assert generator.metadata.training["band_smoothing"] == PRESETS["stream-cpu"].field_band_smoothing


def test_render_needs_no_model_argument(tmp_path):
    out = tmp_path / "rain.wav"
    result = subprocess.run([sys.executable, "-m", "raingan", "render", str(out), "--seconds", "2",
                             "--seed", "1"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    audio, rate = sf.read(out)
    assert rate == 48_000 and audio.shape == (96_000, 2) and np.abs(audio).max() > 1e-3


def test_rain_source_needs_no_model_argument():
    with RainSource(seed=1) as rain:
        buffer = np.zeros((512, 2), np.float32)
        while rain.stats().frames_buffered < 4096:
            time.sleep(0.002)
        assert rain.render(buffer) == 512 and np.abs(buffer).max() > 1e-4


def test_generated_rain_takes_the_stream_phase_and_round_trips_keep_sixteen_iterations():
    from raingan.core.phase import STREAM_PHASE, PhaseSettings
    from raingan.core.synthesis import images_to_chunks

    generator = Generator(CHUNK_MODEL, device="cpu")
    assert generator.phase == STREAM_PHASE and STREAM_PHASE.n_iter == 2
    assert PhaseSettings().n_iter == 16  # what real audio's round trip needs
    latents = generator.latents(np.random.default_rng(3), 2)
    images = generator.images(latents)
    chunks = generator.chunks(latents)
    np.testing.assert_array_equal(chunks, images_to_chunks(images, generator.spec, STREAM_PHASE))
    sixteen = images_to_chunks(images, generator.spec, PhaseSettings())
    assert np.max(np.abs(chunks - sixteen)) > 1e-3


def test_images_do_not_depend_on_how_latents_are_split_into_onnxruntime_calls():
    generator = Generator(CHUNK_MODEL, device="cpu")
    z = generator.latents(np.random.default_rng(0), CPU_BATCH_LATENTS + 2)
    in_calls_of_the_cpu_batch = generator.images(z)
    one_by_one = np.concatenate([generator.images(z[i:i + 1]) for i in range(z.shape[0])])
    np.testing.assert_array_equal(in_calls_of_the_cpu_batch, one_by_one)


def test_the_chunk_model_is_the_export_of_the_weights_kept_in_the_repository(tmp_path):
    # candidates/README.md: the chunk model is `raingan export candidates/cpu-wide-2750
    # --int8`, so it can be rebuilt from the repository without retraining (the candidate
    # carries its training audio's band levels for the colour calibration).
    weights = CANDIDATES / "cpu-wide-2750"
    out = tmp_path / "rebuilt.onnx"
    result = subprocess.run([sys.executable, "-m", "raingan", "export", str(weights), "--out",
                             str(out), "--int8"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    bundled = Generator(CHUNK_MODEL, device="cpu")
    rebuilt = Generator(out, device="cpu")
    assert rebuilt.metadata.step == bundled.metadata.step == 2750
    assert bundled.metadata.training["quantization"].startswith("int8")
    latents = bundled.latents(np.random.default_rng(4), 2)
    difference = np.abs(rebuilt.images(latents) - bundled.images(latents))
    # The int8 scales are measured on the float model at export: across TensorFlow and
    # onnxruntime releases, and across CPUs (their float kernels sum in another order), a
    # value at a rounding boundary can land one step over (16 of 131,072 pixels by 1.3e-3
    # on one machine, 8 by up to 0.036 on another); everything else is equal, and other
    # weights would move every pixel.
    assert np.count_nonzero(difference > 1e-4) <= difference.size // 1000
    assert difference.max() <= 0.1 and difference.mean() <= 1e-5
    np.testing.assert_allclose(rebuilt.intensity_axis.direction,
                               bundled.intensity_axis.direction, atol=1e-5)
    np.testing.assert_allclose(rebuilt.intensity_axis.projections,
                               bundled.intensity_axis.projections, atol=1e-4)
    assert bundled.colour_db is not None
    np.testing.assert_allclose(rebuilt.colour_db, bundled.colour_db, atol=0.05)
