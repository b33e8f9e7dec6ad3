"""Property-based fuzzing (issue 37): the CLI's numeric options and RainSource's controls and
render buffers, with random values including extremes, NaN, infinities and wrong types.

Kept under about 30 s together: the CLI runs in this process with the model and the render
replaced by stand-ins (what is fuzzed is everything up to them, and the file written after),
and one RainSource serves every API example.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings, strategies as st

from raingan.cli import main

CLI_EXAMPLES = 200
API_EXAMPLES = 50
API_OPS_PER_EXAMPLE = 10  # 500 operations per run
#: The stand-in render returns at most this many frames, so that an hour at 192 kHz is quick.
MAX_FAKE_FRAMES = 4_800

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e3, max_value=1e3),
    st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e308, 771.0, 24.0, 24.0001, -120.0, 0.01,
                     0.00999, 3600.0, 192000.0, 8000.0, 7999.0]),
    st.integers(min_value=-2**70, max_value=2**70),
)
OPTIONS = ["--seconds", "--gain-db", "--width", "--truncation", "--drift-s", "--intensity",
           "--seed", "--sr", "--channels"]


def as_argument(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


@pytest.fixture
def fast_cli(monkeypatch):
    """``raingan render`` without the model: a stand-in generator and render."""
    from raingan.cli import render as cli_render
    from raingan.runtime import render as runtime_render

    def fake_render(generator, settings, progress=None):
        frames = min(round(settings.seconds * settings.sample_rate_hz), MAX_FAKE_FRAMES)
        samples = np.zeros((frames, settings.channels), np.float32)
        return runtime_render.RenderResult(samples, settings.sample_rate_hz, settings.seed or 0)

    monkeypatch.setattr(cli_render, "_generator",
                        lambda args: SimpleNamespace(chunk_count=lambda seconds: 1))
    monkeypatch.setattr(runtime_render, "render", fake_render)


def test_cli_numeric_options_end_in_a_file_or_one_line(fast_cli, tmp_path_factory, capfd):
    out_dir = tmp_path_factory.mktemp("fuzz_cli")
    started = time.perf_counter()
    runs = []

    @settings(max_examples=CLI_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(st.sampled_from(OPTIONS), numbers, max_size=4),
           st.floats(min_value=0.01, max_value=2.0))
    def check(values, seconds):
        out = out_dir / "fuzz.wav"
        out.unlink(missing_ok=True)
        argv = ["render", str(out)]
        values.setdefault("--seconds", seconds)
        for option, value in values.items():
            argv += [option, as_argument(value)]
        status = main(argv)
        err = capfd.readouterr().err
        runs.append(status)
        if status == 0:
            assert sf.info(out).frames > 0
        else:
            assert status == 2, (argv, err)
            assert len(err.strip().splitlines()) == 1, (argv, err)
            assert not out.exists()

    check()
    assert len(runs) >= CLI_EXAMPLES
    assert 0 in runs and 2 in runs  # both outcomes were reached
    assert time.perf_counter() - started < 60


@pytest.fixture(scope="module")
def source():
    import raingan

    rain = raingan.RainSource(seed=5, latency_ms=100).start()
    yield rain
    rain.stop()


SETTERS = ("gain_db", "width", "intensity")
dtypes = st.sampled_from([np.float32, np.float64, np.int16, np.float16])
buffers = st.tuples(st.integers(0, 3000), st.integers(0, 3), dtypes,
                    st.sampled_from(["c", "f", "strided", "readonly", "planar"]))
operations = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(SETTERS), numbers),
    st.tuples(st.just("render"), buffers),
)


def make_buffer(frames, channels, dtype, layout):
    shape = (channels, frames) if layout == "planar" else (frames, channels)
    if layout == "f":
        return np.asfortranarray(np.zeros(shape, dtype))
    if layout == "strided":
        return np.zeros((shape[0] * 2, shape[1]), dtype)[::2]
    buffer = np.zeros(shape, dtype)
    if layout == "readonly":
        buffer.setflags(write=False)
    return buffer


def test_source_controls_and_buffers_never_crash(source):
    from raingan import RainGANError

    started = time.perf_counter()
    done = []

    @settings(max_examples=API_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(operations, min_size=API_OPS_PER_EXAMPLE, max_size=API_OPS_PER_EXAMPLE))
    def check(ops):
        for op in ops:
            done.append(op)
            if op[0] == "set":
                _, name, value = op
                before = getattr(source, name)
                try:
                    setattr(source, name, value)
                except (RainGANError, ValueError, TypeError) as exc:
                    assert isinstance(exc, (RainGANError, TypeError))
                    assert getattr(source, name) == before
                continue
            frames, channels, dtype, layout = op[1]
            buffer = make_buffer(frames, channels, dtype, layout)
            render = source.render_planar if layout == "planar" else source.render
            try:
                written = render(buffer)
            except (ValueError, TypeError):
                continue
            assert written == frames
            assert np.isfinite(buffer).all() and np.abs(buffer).max(initial=0) <= 1.0

    check()
    assert len(done) >= API_EXAMPLES * API_OPS_PER_EXAMPLE
    assert source.stats().error is None
    assert time.perf_counter() - started < 60
