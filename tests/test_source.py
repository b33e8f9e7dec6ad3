"""RainSource and the native RainCore: buffers, threads, underruns, controls."""

import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raingan import RainSource
from raingan._native import RainCore
from raingan.runtime.stream import StreamSettingsError

RATE = 48_000


def wait_buffered(source: RainSource, frames: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while source.stats().frames_buffered < frames:
        assert time.monotonic() < deadline, "producer did not keep up"
        time.sleep(0.002)


def render_steady(source: RainSource, n_buffers: int, frames: int = 512) -> np.ndarray:
    """Render without ever outrunning the producer: the stream's own samples."""
    out = np.zeros((n_buffers, frames, source.channels), np.float32)
    for i in range(n_buffers):
        wait_buffered(source, frames + 2048)
        assert source.render(out[i]) == frames
    return out.reshape(-1, source.channels)


@pytest.fixture
def source(tiny_model):
    with RainSource(tiny_model, sample_rate=RATE, channels=2, seed=5) as rain:
        yield rain


# -- the core, driven by hand --------------------------------------------------------------------

def make_core(loop_value: float = -0.25, fade: int = 16, resume: int = 64) -> RainCore:
    core = RainCore(capacity_frames=1024, channels=1, sample_rate_hz=RATE,
                    loop_capacity_frames=100, fade_frames=fade, resume_frames=resume,
                    smoothing_s=1e-6)
    core.set_loop(np.full((100, 1), loop_value, np.float32))
    return core


def wait_for_loop(source: RainSource, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not source.stats().loop_ready:
        assert time.monotonic() < deadline, "fallback loop not made"
        time.sleep(0.005)


def test_core_without_a_loop_fades_to_silence_and_takes_one_loop_only():
    core = RainCore(capacity_frames=256, channels=1, sample_rate_hz=RATE,
                    loop_capacity_frames=10, fade_frames=4, resume_frames=8, smoothing_s=1e-6)
    core.set_running(True)
    core.write(np.full((40, 1), 0.5, np.float32))
    out = np.ones((64, 1), np.float32)
    core.render(out)
    assert out[10, 0] == pytest.approx(0.5) and np.all(out[-20:] == 0)
    assert core.stats()["underruns"] == 1 and not core.stats()["loop_ready"]
    with pytest.raises(ValueError, match="longer than the loop capacity"):
        core.set_loop(np.zeros((11, 1), np.float32))
    core.set_loop(np.full((10, 1), 0.25, np.float32))
    with pytest.raises(ValueError, match="installed already"):
        core.set_loop(np.zeros((10, 1), np.float32))
    core.render(out)
    np.testing.assert_allclose(out[-20:, 0], 0.25)


def test_core_fades_in_then_crossfades_to_the_loop_when_the_ring_runs_dry():
    core = make_core()
    out = np.ones((50, 1), np.float32)
    core.render(out)
    assert np.all(out == 0)  # not running: silence
    core.set_running(True)
    assert core.write(np.full((200, 1), 0.5, np.float32)) == 200
    out = np.zeros((300, 1), np.float32)
    core.render(out)
    x = out[:, 0]
    fade = np.sin(0.5 * np.pi * (np.arange(16) + 0.5) / 16)
    np.testing.assert_allclose(x[:16], 0.5 * fade, atol=1e-6)  # fade in from silence
    assert np.all(x[16:150] == 0.5)
    np.testing.assert_allclose(x[-100:], -0.25)  # the loop, after an equal-power crossfade
    assert np.max(np.abs(np.diff(x))) < 0.1      # no step larger than the fade's
    stats = core.stats()
    assert stats["underruns"] == 1 and stats["frames_rendered"] == 350
    assert stats["loop_heard_frames"] >= 100 and stats["frames_buffered"] == 0
    assert stats["loop_frames"] == stats["loop_heard_frames"]  # the former name


def test_core_returns_to_the_stream_once_it_holds_the_resume_reserve():
    core = make_core()
    core.set_running(True)
    out = np.zeros((64, 1), np.float32)
    core.render(out)                      # nothing buffered: the loop
    np.testing.assert_allclose(out[-16:, 0], -0.25)
    core.write(np.full((60, 1), 0.5, np.float32))
    core.render(out)
    np.testing.assert_allclose(out[:, 0], -0.25)  # 60 < resume + fade: still the loop
    core.write(np.full((200, 1), 0.5, np.float32))
    core.render(out)
    assert out[-1, 0] == pytest.approx(0.5) and core.stats()["underruns"] == 0
    core.set_running(False)
    core.render(out)
    assert np.all(out[-32:] == 0) and out[0, 0] > 0.4  # stop fades out, then silence


def test_core_smooths_gain_and_width_and_limits():
    core = RainCore(capacity_frames=256, channels=2, sample_rate_hz=RATE,
                    loop_capacity_frames=64, fade_frames=1, resume_frames=1, smoothing_s=0.005)
    core.set_loop(np.tile(np.array([[0.5, 0.0]], np.float32), (64, 1)))
    core.set_running(True)
    out = np.zeros((4800, 2), np.float32)
    core.render(out)
    np.testing.assert_allclose(out[-1], [0.5, 0.0], atol=1e-6)
    core.set_width(0.0)
    core.set_gain_db(12.0)
    core.render(out)
    steps = np.abs(np.diff(out, axis=0)).max()
    assert steps < 0.01  # a glide over ~5 ms, not a jump
    # Width 0: both channels 0.5 * cos(pi/4) * 4 = 1.41 before the limiter, which bends it.
    assert out[-1, 0] == pytest.approx(out[-1, 1]) and 0.9 < out[-1, 0] <= 1.0
    core.set_gain_db(float("nan"))  # ignored as unity, never NaN out
    core.render(out)
    assert np.all(np.isfinite(out))


# -- buffers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("buffer, error, message", [
    (np.zeros((512, 2), np.float64), TypeError, "float32, got float64"),
    (np.zeros((512, 2), np.int16), TypeError, "float32, got int16"),
    ([[0.0, 0.0]] * 4, TypeError, "numpy float32 array, got list"),
    (np.zeros((512, 3), np.float32), ValueError, r"shape \(frames, 2\), got \(512, 3\)"),
    (np.zeros(512, np.float32), ValueError, r"got \(512,\)"),
    (np.zeros((2, 512, 2), np.float32), ValueError, "shape"),
    (np.zeros((1024, 2), np.float32)[::2], ValueError, "C-contiguous"),
    (np.zeros((2, 512), np.float32).T, ValueError, "C-contiguous"),
])
def test_bad_buffers_raise_a_clear_error(source, buffer, error, message):
    with pytest.raises(error, match=message):
        source.render(buffer)


def test_read_only_and_planar_buffers(source):
    frozen = np.zeros((512, 2), np.float32)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        source.render(frozen)
    with pytest.raises(ValueError, match=r"shape \(2, frames\)"):
        source.render_planar(np.zeros((512, 2), np.float32))
    planar = np.zeros((2, 256), np.float32)
    wait_buffered(source, 4096)
    assert source.render_planar(planar) == 256
    assert np.abs(planar).max() > 0


# -- the source ----------------------------------------------------------------------------------

def test_same_seed_same_rain_and_output_is_safe(tiny_model):
    def take(seed: int) -> np.ndarray:
        with RainSource(tiny_model, sample_rate=44_100, channels=2, seed=seed) as rain:
            return render_steady(rain, 40)

    a, b, c = take(3), take(3), take(4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.all(np.isfinite(a)) and np.abs(a).max() <= 1.0 and np.abs(a).max() > 0.01


def test_mono_sources_take_one_dimensional_buffers(tiny_model):
    with RainSource(tiny_model, sample_rate=22_050, channels=1, seed=1) as rain:
        wait_buffered(rain, 4096)
        buffer = np.zeros(300, np.float32)
        assert rain.render(buffer) == 300 and np.abs(buffer).max() > 0


def test_long_renders_do_not_hold_the_gil(source):
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    counter = threading.Thread(target=count)
    counter.start()
    try:
        big = np.zeros((4_000_000, 2), np.float32)  # tens of ms of copying and mixing
        before = ticks
        started = time.perf_counter()
        source.render(big)
        elapsed = time.perf_counter() - started
        during = ticks - before
    finally:
        done.set()
        counter.join()
        sys.setswitchinterval(old_interval)
    assert elapsed > 0.005
    assert during > 1000  # the other thread ran while render copied



def test_short_renders_keep_the_gil_they_were_called_with(source):
    """A Python audio callback that handed the GIL over for a few microseconds of copying
    would wait for it to come back from whichever thread took it (BENCHMARKS.md, "Soak")."""
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1.0)  # the counter gets the GIL only when it is let go
    counter = threading.Thread(target=count)
    counter.start()
    try:
        buffer = np.zeros((512, 2), np.float32)
        before = ticks
        for _ in range(20):
            source.render(buffer)
        during = ticks - before
    finally:
        done.set()
        counter.join()
        sys.setswitchinterval(old_interval)
    assert during == 0


def test_the_producer_sleeps_natively_until_the_host_draws_the_ring_down():
    core = make_core()
    core.set_running(True)
    core.write(np.zeros((600, 1), np.float32))
    assert core.wait_for_room(1000, 0.0)  # already below: returns at once
    assert not core.wait_for_room(500, 0.02)  # 600 buffered: sleeps out the timeout

    def draw(frames: int) -> None:
        time.sleep(0.05)
        core.render(np.zeros((frames, 1), np.float32))

    host = threading.Thread(target=draw, args=(200,))
    host.start()
    assert core.wait_for_room(500, 60.0)  # woken by the render, not by the timeout
    host.join()
    assert core.readable_frames < 500

    stopper = threading.Timer(0.05, core.set_running, args=(False,))
    stopper.start()
    started = time.monotonic()
    assert not core.wait_for_room(10, 60.0)  # stopping the core wakes it
    assert time.monotonic() - started < 30.0
    stopper.join()
    with pytest.raises(ValueError, match="timeout"):
        core.wait_for_room(10, -1.0)


def test_python_calls_are_timed_from_a_native_thread_of_their_own():
    from raingan._native import time_python_calls

    callers = []
    times = time_python_calls(lambda: callers.append(threading.get_ident()), 5, 0.001)
    assert times.shape == (5, 2) and times.dtype == np.int64 and np.all(times[:, 0] >= 0)
    assert len(callers) == 5 and len(set(callers)) == 1
    assert callers[0] != threading.get_ident()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        time_python_calls(lambda: 1 / 0, 3, 0.0)


def test_render_before_start_and_after_stop_is_silent(tiny_model):
    rain = RainSource(tiny_model, sample_rate=RATE, seed=2)
    buffer = np.ones((256, 2), np.float32)
    assert rain.render(buffer) == 256 and np.all(buffer == 0)
    with rain:
        render_steady(rain, 4)
        assert rain.running
    assert not rain.running
    for _ in range(3):  # a 10 ms fade out, then silence
        rain.render(buffer)
    assert np.all(buffer == 0)
    rain.start()  # resumes
    rain.render(buffer)
    wait_buffered(rain, 1024)
    rain.render(buffer)
    assert np.abs(buffer).max() > 0
    rain.stop()


def test_underruns_crossfade_into_the_loop_without_clicks(tiny_model):
    with RainSource(tiny_model, sample_rate=RATE, seed=7) as steady:
        reference = render_steady(steady, 200)
    largest_step = np.abs(np.diff(reference, axis=0)).max()
    # 2 ms of latency read as fast as possible: the producer cannot keep up.
    with RainSource(tiny_model, sample_rate=RATE, seed=7, latency_ms=2.0) as rain:
        wait_for_loop(rain)
        chunks = []
        for _ in range(400):
            buffer = np.zeros((512, 2), np.float32)
            rain.render(buffer)
            chunks.append(buffer)
        stats = rain.stats()
    out = np.concatenate(chunks)
    assert stats.underruns >= 1 and stats.loop_heard_frames > 0 and stats.error is None
    assert stats.loop_frames == stats.loop_heard_frames  # the former name
    assert stats.frames_rendered == out.shape[0]
    assert np.all(np.isfinite(out)) and np.abs(out).max() <= 1.0
    assert np.abs(out).reshape(-1, 512 * 2).max(axis=1).min() > 0  # never a silent buffer
    assert np.abs(np.diff(out, axis=0)).max() <= 1.5 * largest_step


def test_many_sources_at_once(tiny_model):
    sources = [RainSource(tiny_model, sample_rate=RATE, seed=s).start() for s in range(4)]
    try:
        outputs = [render_steady(rain, 10) for rain in sources]
        stats = [rain.stats() for rain in sources]
    finally:
        for rain in sources:
            rain.stop()
    assert all(s.underruns == 0 and s.error is None and 0 < s.producer_load for s in stats)
    assert len({o.tobytes() for o in outputs}) == 4


def test_a_failing_producer_is_reported_and_the_host_keeps_rain(tiny_model, monkeypatch):
    rain = RainSource(tiny_model, sample_rate=RATE, seed=1, latency_ms=20.0)
    with rain:
        def broken() -> np.ndarray:
            raise RuntimeError("onnxruntime went away")

        wait_for_loop(rain)
        monkeypatch.setattr(rain._stream, "next_block", broken)
        buffer = np.zeros((512, 2), np.float32)
        deadline = time.monotonic() + 10
        while rain.stats().error is None:
            assert time.monotonic() < deadline
            rain.render(buffer)
            time.sleep(0.001)
        for _ in range(10):
            rain.render(buffer)
        assert np.abs(buffer).max() > 0  # the loop
        assert "onnxruntime went away" in rain.stats().error


def test_settings_are_validated(tiny_model):
    with pytest.raises(StreamSettingsError, match="latency"):
        RainSource(tiny_model, latency_ms=0)
    with pytest.raises(StreamSettingsError, match="channels"):
        RainSource(tiny_model, channels=3)
    rain = RainSource(tiny_model, seed=1)
    with pytest.raises(StreamSettingsError, match="width"):
        rain.width = 1.5
    with pytest.raises(StreamSettingsError, match="gain"):
        rain.gain_db = float("inf")


def test_gain_acts_on_the_same_rain(tiny_model):
    with RainSource(tiny_model, sample_rate=RATE, seed=9, gain_db=-20.0) as quiet, \
            RainSource(tiny_model, sample_rate=RATE, seed=9) as loud:
        a, b = render_steady(quiet, 20), render_steady(loud, 20)
    np.testing.assert_allclose(a, 0.1 * b, atol=2e-4)  # from the first sample: no glide in


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.floats(-60.0, 12.0), st.floats(0.0, 1.0)), min_size=1,
                max_size=30))
def test_setters_are_thread_safe(tiny_model, changes):
    rain = RainSource(tiny_model, sample_rate=RATE, seed=3, latency_ms=50.0)
    with rain:
        def fiddle() -> None:
            for gain_db, width in changes:
                rain.gain_db = gain_db
                rain.width = width

        fiddlers = [threading.Thread(target=fiddle) for _ in range(2)]
        buffer = np.zeros((256, 2), np.float32)
        for thread in fiddlers:
            thread.start()
        for _ in range(20):
            rain.render(buffer)
            assert np.all(np.isfinite(buffer)) and np.abs(buffer).max() <= 1.0
        for thread in fiddlers:
            thread.join()
    assert rain.gain_db == changes[-1][0] and rain.width == changes[-1][1]
