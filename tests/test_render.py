"""The runtime generator, offline rendering and output safety."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from raingan.runtime.generator import Generator
from raingan.core.model_meta import ModelFormatError
from raingan.runtime.render import RenderSettings, render
from raingan.runtime.stream import RainStream, StreamSettingsError, apply_width, width_matrix
from raingan.runtime.safety import LIMITER_KNEE, OutputSafety, soft_limit

RAINGAN = [str(Path(sys.executable).with_name("raingan"))]


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*RAINGAN, *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def generator(tiny_model) -> Generator:
    return Generator(tiny_model, device="cpu")


def test_generator_reads_its_spec_from_the_model(generator):
    assert generator.latent_dim == 16 + 256 * 64 + 512 * 128  # latents, then two noise maps
    assert generator.spec.image_shape == (512, 128)
    assert generator.providers == ["CPUExecutionProvider"]
    images = generator.images(generator.latents(np.random.default_rng(0), 3))
    assert images.shape == (3, 512, 128) and np.all(np.abs(images) <= 1)
    with pytest.raises(ValueError, match="latents of shape"):
        generator.images(np.zeros((2, 5), np.float32))


def test_latents_respect_truncation(generator):
    z = generator.latents(np.random.default_rng(0), 50, truncation=0.5)
    assert np.all(np.abs(z) <= 0.5)
    assert np.all(np.abs(generator.latents(np.random.default_rng(0), 50)) <= 3.0)


def test_render_is_deterministic_and_seeded(generator):
    a = render(generator, RenderSettings(seconds=2.0, seed=11)).samples
    b = render(generator, RenderSettings(seconds=2.0, seed=11)).samples
    c = render(generator, RenderSettings(seconds=2.0, seed=12)).samples
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    drawn = render(generator, RenderSettings(seconds=1.0))
    assert drawn.seed >= 0  # a drawn seed is reported so the render can be repeated
    again = render(generator, RenderSettings(seconds=1.0, seed=drawn.seed))
    np.testing.assert_array_equal(drawn.samples, again.samples)


@pytest.mark.parametrize("rate", [44_100, 48_000, 96_000])
def test_render_length_rate_and_safety(generator, rate):
    out = render(generator, RenderSettings(seconds=1.5, sample_rate_hz=rate, seed=1)).samples
    assert out.shape == (int(1.5 * rate), 2) and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 1.0
    assert np.all(np.abs(out.mean(axis=0)) < 0.01)


def test_width_moves_stereo_from_independent_to_alike(generator):
    wide = render(generator, RenderSettings(seconds=2.0, seed=5, width=1.0)).samples
    narrow = render(generator, RenderSettings(seconds=2.0, seed=5, width=0.0)).samples
    np.testing.assert_allclose(narrow[:, 0], narrow[:, 1], atol=1e-6)
    correlation = np.corrcoef(wide[:, 0], wide[:, 1])[0, 1]
    assert abs(correlation) < 0.5
    mono = render(generator, RenderSettings(seconds=2.0, seed=5, channels=1)).samples
    assert mono.shape[1] == 1


@given(width=st.floats(0.0, 1.0))
def test_width_matrix_keeps_each_channels_power(width):
    m = width_matrix(width)
    np.testing.assert_allclose(np.sum(m ** 2, axis=1), 1.0, rtol=1e-6)


@given(width=st.floats(0.0, 1.0), frames=st.integers(0, 300), seed=st.integers(0, 2**32 - 1))
def test_apply_width_is_the_matrix_product(width, frames, seed):
    audio = np.random.default_rng(seed).uniform(-1, 1, (frames, 2)).astype(np.float32)
    m = width_matrix(width)
    mixed = apply_width(audio, m)
    assert mixed.dtype == np.float32 and mixed.shape == audio.shape
    np.testing.assert_allclose(mixed, audio @ m.T, atol=1e-6)
    if width == 1.0:
        np.testing.assert_array_equal(mixed, audio)


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50))
def test_soft_limit_is_monotonic_bounded_and_transparent_below_the_knee(values):
    x = np.sort(np.array(values, dtype=np.float64))
    y = soft_limit(x)
    assert np.all(np.abs(y) < 1.0 + 1e-12)
    assert np.all(np.diff(y) >= 0)
    quiet = np.abs(x) <= LIMITER_KNEE
    np.testing.assert_array_equal(y[quiet], x[quiet])


@settings(max_examples=25, deadline=None)
@given(split=st.lists(st.integers(1, 500), min_size=1, max_size=6))
def test_output_safety_does_not_depend_on_block_sizes(split):
    rng = np.random.default_rng(0)
    audio = (0.5 + rng.standard_normal((1500, 2))).astype(np.float32)  # DC and overs
    audio[100, 0] = np.nan
    audio[200, 1] = np.inf
    whole = OutputSafety(48_000, 2).process(audio)
    safety, pieces, start = OutputSafety(48_000, 2), [], 0
    for size in split + [len(audio)]:
        pieces.append(safety.process(audio[start:start + size]))
        start += size
    np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-6)
    assert np.all(np.isfinite(whole)) and np.max(np.abs(whole)) <= 1.0



@pytest.mark.parametrize("rate, channels", [(48_000, 2), (8_000, 1), (192_000, 2)])
def test_dc_blocker_is_lfilters_bit_for_bit(rate, channels):
    from scipy.signal import lfilter

    from raingan import _native

    rng = np.random.default_rng(rate)
    audio = 0.3 + rng.standard_normal((3000, channels))
    pole = float(np.exp(-2.0 * np.pi * 5.0 / rate))
    state, out = np.zeros(channels), []
    for piece in np.split(audio, [1, 700, 2999]):
        piece = piece.copy()
        _native.dc_block(piece, state, pole)
        out.append(piece)
    expected, _ = lfilter([1.0, -1.0], [1.0, -pole], audio, axis=0, zi=np.zeros((1, channels)))
    np.testing.assert_array_equal(np.concatenate(out), expected)
    nan = audio.copy()
    nan[5, 0], nan[9, -1] = np.nan, -np.inf  # taken as 0
    zeroed = np.where(np.isfinite(nan), nan, 0.0)
    _native.dc_block(nan, np.zeros(channels), pole)
    np.testing.assert_array_equal(nan, lfilter([1.0, -1.0], [1.0, -pole], zeroed, axis=0))
    with pytest.raises(ValueError, match="state"):
        _native.dc_block(audio.copy(), np.zeros(channels + 1), pole)
    with pytest.raises(TypeError):
        _native.dc_block(audio.astype(np.float32), np.zeros(channels), pole)


def test_gain_glide_is_the_one_pole_filter_it_replaces(generator):
    from scipy.signal import lfilter

    stream = RainStream(generator, 48_000, 1, seed=2, gain_db=-20.0)
    start = stream._gain
    stream.set_gain_db(6.0)
    ramp = np.concatenate([stream._gain_ramp(700), stream._gain_ramp(4100)])
    pole, target = stream._gain_pole, stream._gain_target
    expected, _ = lfilter([1.0 - pole], [1.0, -pole], np.full(4800, target), zi=[pole * start])
    np.testing.assert_allclose(ramp, expected.astype(np.float32), rtol=2e-7)



def test_rendering_and_streaming_import_neither_scipy_signal_nor_the_training_stack():
    """scipy.signal alone is 50 MB of a render's peak memory (BENCHMARKS.md, "Memory of a
    render"); the CLI builds its parser without importing what a subcommand may need."""
    code = ("import sys; from raingan.cli import build_parser; build_parser(); "
            "import raingan.runtime.render, raingan.runtime.source, raingan.runtime.loop; "
            "print(sorted({m.split('.')[0] + '.' + m.split('.')[1] if m.startswith('scipy.') "
            "else m.split('.')[0] for m in sys.modules} & {'scipy.signal', 'sklearn', "
            "'matplotlib', 'tensorflow', 'keras', 'jax', 'raingan'} - {'raingan'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "[]"


def test_dc_is_removed():
    audio = np.full((48_000, 1), 0.3, np.float32)
    out = OutputSafety(48_000, 1).process(audio)
    assert abs(out[-4800:].mean()) < 1e-3


@pytest.mark.parametrize("changes", [dict(seconds=0), dict(seconds=-1), dict(seconds=float("nan")),
                                     dict(sample_rate_hz=1000), dict(channels=3),
                                     dict(width=1.5), dict(truncation=0)])
def test_bad_render_settings_are_refused(changes):
    with pytest.raises(StreamSettingsError):
        RenderSettings(**{"seconds": 1.0, **changes})


def test_models_that_are_not_raingan_models_are_refused(tmp_path, tiny_model):
    import onnx
    from onnx import TensorProto, helper

    with pytest.raises(ModelFormatError, match="no such model"):
        Generator(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelFormatError, match="not a readable ONNX model"):
        Generator(tmp_path / "junk.onnx")
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), tmp_path / "identity.onnx")
    with pytest.raises(ModelFormatError, match="not a RainGAN model"):
        Generator(tmp_path / "identity.onnx")
    model = onnx.load(str(tiny_model))
    for prop in model.metadata_props:
        if prop.key == "raingan.format_version":
            prop.value = json.dumps(99)
    onnx.save(model, tmp_path / "future.onnx")
    with pytest.raises(ModelFormatError, match="version 99"):
        Generator(tmp_path / "future.onnx")
    result = run("render", tmp_path / "out.wav", "--seconds", "1", "--model",
                 tmp_path / "future.onnx")
    assert result.returncode == 2 and "version 99" in result.stderr
    assert not (tmp_path / "out.wav").exists()


def test_render_cli_writes_24_bit_stereo(tiny_model, tmp_path):
    out = tmp_path / "rain.wav"
    result = run("render", out, "--seconds", "2", "--model", tiny_model, "--seed", "3")
    assert result.returncode == 0, result.stderr
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (48000, 2, "PCM_24",
                                                                          96000)
    flac = tmp_path / "rain.flac"
    result = run("render", flac, "--seconds", "1", "--model", tiny_model, "--sr", "44100",
                 "--channels", "1", "--subtype", "PCM_16", "--format", "flac")
    assert result.returncode == 0, result.stderr
    assert sf.info(str(flac)).channels == 1


@pytest.mark.parametrize("args, message", [
    (["--seconds", "0"], "argument --seconds: must be 0.01 to 3600 s"),
    (["--seconds", "1", "--sr", "1000"], "argument --sr: must be 8000 to 192000 Hz"),
    (["--seconds", "1", "--channels", "6"], "argument --channels: invalid choice: 6"),
    (["--seconds", "1", "--format", "flac"], "needs a .flac"),
])
def test_render_cli_refuses_bad_settings(tiny_model, tmp_path, args, message):
    out = tmp_path / "rain.wav"
    result = run("render", out, "--model", tiny_model, *args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_render_cli_refuses_unwritable_output(tiny_model, tmp_path):
    result = run("render", tmp_path / "no" / "such" / "rain.wav", "--seconds", "1",
                 "--model", tiny_model)
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.93])
def test_latent_walk_is_standard_normal_with_the_asked_correlation(rho):
    from raingan.runtime.latent import LatentWalk

    walk = LatentWalk(np.random.default_rng(0), 64, threshold=3.0, correlation=rho)
    z = np.concatenate([walk.take(500), walk.take(500)]).astype(np.float64)
    assert np.all(np.abs(z) <= 3.0)
    assert abs(z.std() - 1.0) < 0.05
    lag1 = np.mean([np.corrcoef(z[:-1, i], z[1:, i])[0, 1] for i in range(64)])
    assert abs(lag1 - rho) < 0.03


def test_only_the_drifting_components_walk():
    # A "columns" model's per-column components place drops inside one chunk: carried over
    # to the next chunk they would repeat its drops at the chunk rate.
    from raingan.runtime.latent import LatentWalk
    from raingan.runtime.loop import closed_walk_latents

    walk = LatentWalk(np.random.default_rng(0), 64, threshold=3.0, correlation=0.9,
                      drifting_dims=40)
    looped = closed_walk_latents(np.random.default_rng(0), 400, 64, 3.0, 0.9, drifting_dims=40)
    for z in (walk.take(1000).astype(np.float64), looped.astype(np.float64)):
        lag1 = np.array([np.corrcoef(z[:-1, i], z[1:, i])[0, 1] for i in range(64)])
        assert np.all(lag1[:40] > 0.8) and np.all(np.abs(lag1[40:]) < 0.15)
        assert np.all(np.abs(z) <= 3.0) and abs(z[:, 40:].std() - 1.0) < 0.05


def test_drift_sets_the_walk_correlation_and_is_validated():
    from raingan.runtime.latent import walk_correlation

    assert walk_correlation(0.7, 0.0) == 0.0
    assert walk_correlation(0.7, 10.0) == pytest.approx(np.exp(-0.07))
    with pytest.raises(StreamSettingsError, match="drift"):
        RenderSettings(seconds=1.0, drift_s=-1.0)


def test_stream_blocks_do_not_change_the_audio(generator):
    def take(chunks_per_block: int, frames: int) -> np.ndarray:
        stream = RainStream(generator, 44_100, 2, seed=4, chunks_per_block=chunks_per_block)
        blocks = []
        while sum(b.shape[0] for b in blocks) < frames:
            blocks.append(stream.next_block())
        return np.concatenate(blocks)[:frames]

    np.testing.assert_allclose(take(1, 80_000), take(4, 80_000), atol=1e-4)


def test_gain_changes_glide_without_steps(generator):
    stream = RainStream(generator, 48_000, 1, seed=2, gain_db=-20.0)
    stream.next_block()
    ramp = stream._gain_ramp(0)
    assert ramp.shape == (0,)
    stream.set_gain_db(0.0)
    ramp = stream._gain_ramp(4800)  # 100 ms
    assert ramp[0] < 0.2 and abs(ramp[-1] - 1.0) < 0.01
    assert np.all(np.diff(ramp) > 0) and np.max(np.diff(ramp)) < 0.01
    with pytest.raises(StreamSettingsError):
        stream.set_gain_db(float("inf"))
    with pytest.raises(StreamSettingsError):
        stream.set_width(2.0)


def test_latent_walk_draws_do_not_depend_on_how_many_are_taken():
    from raingan.runtime.latent import LatentWalk

    def walk():
        return LatentWalk(np.random.default_rng(3), 300, threshold=2.0, correlation=0.9,
                          drifting_dims=20)

    one_by_one, at_once = walk(), walk()
    singles = np.concatenate([one_by_one.take(1) for _ in range(6)])
    batched = np.concatenate([at_once.take(4), at_once.take(2)])
    np.testing.assert_array_equal(singles, batched)
    assert singles.dtype == np.float32 and np.all(np.abs(singles) <= 2.0)


@pytest.mark.parametrize("threshold", [1.0, 3.0, np.inf])
def test_table_draws_follow_the_truncated_normal(threshold):
    from scipy.stats import kstest, truncnorm

    from raingan.runtime.latent import quantile_table, table_draws

    table = quantile_table(threshold)
    assert np.all(np.diff(table) > 0) and np.all(np.abs(table) <= min(threshold, 4.4))
    z = table_draws(np.random.default_rng(0), table, 200_000)
    assert z.dtype == np.float32
    assert kstest(z, truncnorm(-threshold, threshold).cdf).statistic < 0.005
    with pytest.raises(ValueError, match="threshold"):
        quantile_table(0.0)


def test_chunk_levelling_removes_steps_between_chunks_and_keeps_slow_changes():
    from raingan.runtime.leveling import ChunkLeveller, band_levels_db, level_cyclic
    from raingan.core.spec import SpectralSpec

    spec = SpectralSpec()
    rng = np.random.default_rng(0)
    base = np.clip(rng.normal(-0.2, 0.05, (1, *spec.image_shape)), -1, 1).astype(np.float32)
    slow_db = np.linspace(0.0, 6.0, 40)  # a 6 dB rise over 40 chunks (about 28 s)
    steps_db = np.where(np.arange(40) % 2 == 0, 2.0, -2.0)  # +-2 dB from chunk to chunk
    offsets = (slow_db + steps_db) * 2.0 / (spec.db_max - spec.db_min)
    images = np.repeat(base, 40, axis=0) + offsets[:, None, None].astype(np.float32)
    # Two channels, interleaved chunk by chunk: the second is the first, 3 dB quieter.
    quieter = images - np.float32(3.0 * 2.0 / (spec.db_max - spec.db_min))
    both = np.stack([images, quieter], axis=1).reshape(80, *spec.image_shape)
    levelled = ChunkLeveller(spec, channels=2).process(both)
    loud = band_levels_db(levelled, spec).reshape(40, 2, -1)
    before = band_levels_db(both, spec).reshape(40, 2, -1)
    assert np.abs(np.diff(before[:, 0], axis=0)).mean() > 3.5
    assert np.abs(np.diff(loud[10:, 0], axis=0)).mean() < 1.0  # steps gone once settled
    rise = loud[30:, 0].mean(axis=0) - loud[10:20, 0].mean(axis=0)
    assert np.all(rise > 2.8)  # the slow rise (3.1 dB) stays, in every band
    np.testing.assert_allclose(loud[:, 0] - loud[:, 1], 3.0, atol=0.1)  # channels apart

    # A loop is levelled as if it repeated for ever: as the third lap of a long stream.
    laps = ChunkLeveller(spec, channels=1)
    for _ in range(3):
        third = laps.process(images)
    np.testing.assert_allclose(level_cyclic(images, spec, channels=1), third, atol=1e-5)


def test_chunk_levelling_removes_tilt_steps_band_by_band():
    """Chunks whose highs step up and down while their lows hold still come out with the
    highs held as well, and rows between bands change smoothly."""
    from raingan.runtime.leveling import ChunkLeveller, band_levels_db, level_bands
    from raingan.core.spec import SpectralSpec

    spec = SpectralSpec()
    row_hz = spec.image_row_hz()
    tilt_db = np.clip((row_hz - 1_000.0) / 4_000.0, 0.0, 1.0) * 4.0  # 0 below 1 kHz, 4 dB > 5
    signs = np.where(np.arange(30) % 2 == 0, 1.0, -1.0)
    offsets = signs[:, None] * tilt_db[None, :] * 2.0 / (spec.db_max - spec.db_min)
    images = np.full((30, *spec.image_shape), -0.2, np.float32) + offsets[:, :, None].astype(
        np.float32)
    levelled = ChunkLeveller(spec, channels=1).process(images)
    before, after = band_levels_db(images, spec), band_levels_db(levelled, spec)
    high = 7  # the band centred at 10 kHz
    step_before = np.abs(np.diff(before[10:, high])).mean()
    assert step_before > 6.0
    # A one-pole track of alternating steps keeps (1 - pole) / (1 + pole) of them: 0.24.
    assert np.abs(np.diff(after[10:, high])).mean() < 0.3 * step_before
    np.testing.assert_allclose(after[:, 0], before[:, 0], atol=0.05)  # lows untouched
    rows_db = levelled[-1].mean(axis=1) * (spec.db_max - spec.db_min) / 2.0
    assert np.abs(np.diff(rows_db)).max() < 0.2  # no edges between bands

    measure, spread = level_bands(spec)
    np.testing.assert_allclose(measure.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(spread.sum(axis=0), 1.0, rtol=1e-6)
