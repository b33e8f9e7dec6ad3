"""`raingan serve`, the producer process of the C ABI, against rings made here with
raingan._native.ShmRing (the consumer's side): it fills the ring with rain and the fallback
loop, stops on SIGTERM, the consumer's stop flag or the consumer's exit, and refuses a
missing, foreign or mismatched ring in one line."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np
import pytest

from raingan._native import ShmRing

RATE = 16_000  # a low rate keeps the producer cheap


def ring_name(tag: str) -> str:
    return f"/rgtest-{os.getpid()}-{tag}"


def serve(name: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "raingan", "serve", "--shm", name,
                             "--sr", str(RATE), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"no {what} within {timeout} s"
        time.sleep(0.01)
    return time.monotonic() - start


@pytest.fixture
def ring():
    ring = ShmRing.create(ring_name("ring"), channels=2, sample_rate_hz=RATE,
                          capacity_frames=8192, target_frames=4000,
                          loop_capacity_frames=5 * RATE)
    yield ring
    ring.close()
    assert not Path("/dev/shm", ring_name("ring")[1:]).exists()  # the creator unlinks it


def one_line_error(process: subprocess.Popen, timeout: float = 60) -> str:
    _, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 2, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    return stderr


def test_it_fills_the_ring_with_rain_and_the_loop_and_stops_on_sigterm(ring):
    assert ring.producer_state == "none" and ring.intensity is None
    ring.intensity = 0.7  # before the producer starts: it begins there
    producer = serve(ring.name, "--seed", "5")
    wait_for(lambda: ring.producer_state == "streaming", 120, "streaming")
    assert ring.producer_pid == producer.pid and ring.has_loop
    assert ring.readable_frames >= ring.target_frames  # filled to the latency first
    beat = ring.heartbeat
    chunks = []
    for _ in range(40):  # 1 s, at twice real time: the producer keeps up
        chunks.append(ring.read(RATE // 20))
        time.sleep(0.025)
    audio = np.concatenate(chunks)
    assert audio.shape[1] == 2 and audio.shape[0] >= RATE
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    assert np.sqrt(np.mean(audio**2)) > 1e-3
    assert ring.heartbeat > beat
    producer.send_signal(signal.SIGTERM)
    stdout, stderr = producer.communicate(timeout=10)
    assert producer.returncode == 0, stderr
    assert stdout == "" and stderr == ""  # a host's terminal stays clean


@pytest.mark.parametrize("delay_s", [0.0, 0.1, 0.3])
def test_sigterm_while_it_loads_ends_it_at_once_and_quietly(ring, delay_s):
    # At several moments of the load: in an extension module's import, in onnxruntime, ...
    # A load can end sooner than the delay on a warm machine: then earlier moments are tried.
    for delay in (delay_s, delay_s / 3, 0.0):
        producer = serve(ring.name, "--seed", "6")
        wait_for(lambda: ring.producer_state == "loading", 60, "loading")
        time.sleep(delay)
        if ring.producer_state != "streaming":
            break
        producer.send_signal(signal.SIGTERM)
        producer.communicate(timeout=10)
    else:
        pytest.fail("every load ended before the signal; this test needs a slower start")
    sent = time.monotonic()
    producer.send_signal(signal.SIGTERM)
    stdout, stderr = producer.communicate(timeout=10)
    # Well inside the C ABI's 2 s SIGTERM grace, which a load used to run out.
    assert time.monotonic() - sent < 1.5
    assert producer.returncode == 0 and stdout == "" and stderr == ""
    assert ring.producer_state != "streaming"


def test_it_stops_when_the_consumer_asks(ring):
    producer = serve(ring.name)
    wait_for(lambda: ring.producer_state == "streaming", 120, "streaming")
    ring.request_stop()
    producer.communicate(timeout=10)
    assert producer.returncode == 0


CONSUMER = textwrap.dedent("""
    import subprocess, sys, time
    from raingan._native import ShmRing
    ring = ShmRing.create(sys.argv[1], 1, 16000, 8192, 4000, 80000)
    producer = subprocess.Popen([sys.executable, "-m", "raingan", "serve", "--shm", sys.argv[1],
                                 "--sr", "16000", "--channels", "1"])
    while ring.producer_state != "streaming":
        time.sleep(0.01)
    print(producer.pid, flush=True)
    time.sleep(600)
""")


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")  # exited; a zombie until its new parent reaps it


def test_it_exits_when_its_consumer_dies():
    name = ring_name("orphan")
    consumer = subprocess.Popen([sys.executable, "-c", CONSUMER, name], stdout=subprocess.PIPE,
                                text=True)
    try:
        producer_pid = int(consumer.stdout.readline())
        assert not gone(producer_pid)
        consumer.kill()
        consumer.wait(timeout=10)
        took = wait_for(lambda: gone(producer_pid), 10, "producer exit")
        assert took < 2.0
    finally:
        consumer.kill()
        Path("/dev/shm", name[1:]).unlink(missing_ok=True)  # its owner died without unlinking


def test_a_missing_ring_is_one_line_and_status_2():
    stderr = one_line_error(serve(ring_name("missing")))
    assert "no shared-memory ring" in stderr and "its consumer creates it" in stderr


def test_a_ring_for_other_audio_is_refused(ring):
    stderr = one_line_error(serve(ring.name, "--channels", "1"))
    assert f"holds 2 ch at {RATE} Hz" in stderr and "makes 1 ch" in stderr
    assert ring.producer_state == "failed" and "makes 1 ch" in ring.message
    assert ring.producer_pid == 0 and ring.heartbeat == 0  # it never claimed the ring


def test_a_segment_that_is_no_ring_is_refused():
    name = ring_name("foreign")
    segment = shared_memory.SharedMemory(name=name[1:], create=True, size=4096)
    try:
        segment.buf[:8] = b"NOTARING"
        stderr = one_line_error(serve(name))
        assert "is not a RainGAN ring of this version (no magic)" in stderr
    finally:
        segment.close()
        segment.unlink()


def test_a_bad_model_is_written_into_the_ring_for_the_consumer(ring, tmp_path):
    fake = tmp_path / "fake.onnx"
    fake.write_bytes(b"not a model")
    stderr = one_line_error(serve(ring.name, "--model", str(fake)))
    assert "not a readable ONNX model" in stderr
    assert ring.producer_state == "failed" and "not a readable ONNX model" in ring.message


def test_the_ring_refuses_bad_shapes_names_and_second_loops(ring):
    with pytest.raises(ValueError, match=r"shape \(frames, 2\)"):
        ring.write(np.zeros((10, 1), np.float32))
    with pytest.raises(TypeError):
        ring.write(np.zeros((10, 2), np.float64))  # no silent conversion
    ring.set_loop(np.zeros((100, 2), np.float32))
    with pytest.raises(ValueError, match="a loop is there already"):
        ring.set_loop(np.zeros((100, 2), np.float32))
    with pytest.raises(ValueError, match="without '/'"):
        ShmRing.attach("/a/b")
    with pytest.raises(ValueError, match="None or 0 to 1"):
        ring.intensity = float("nan")
    assert ring.write(np.ones((9000, 2), np.float32)) == ring.capacity_frames  # full, no more
    assert ring.read(10).shape == (10, 2)


class CountingRing:
    """A ring that takes every frame and holds them: readable_frames grows with writes."""

    def __init__(self):
        self.readable_frames = 0

    def write(self, frames):
        self.readable_frames += frames.shape[0]
        return frames.shape[0]


class Blocks:
    sample_rate_hz = RATE

    def next_block(self):
        return np.zeros((1000, 2), np.float32)


def test_the_producer_beats_once_per_block_while_it_fills():
    # A host that drains the ring faster than real time keeps fill() making blocks; the
    # heartbeat goes on meanwhile, so the consumer's watchdog does not take it for hung.
    from raingan.runtime.source import RingProducer

    beats = []
    producer = RingProducer(CountingRing(), Blocks(), latency_frames=3500,
                            on_block=lambda: beats.append(1))
    assert producer.fill()
    assert len(beats) == 4 and producer.core.readable_frames == 4000
