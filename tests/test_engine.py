"""The background streaming engine."""

import threading

import numpy as np
import pytest

from raingan.runtime.engine import BackgroundStream, EngineError
from raingan.runtime.generator import Generator
from raingan.runtime.stream import RainStream


@pytest.fixture(scope="module")
def generator(tiny_model) -> Generator:
    return Generator(tiny_model, device="cpu")


def test_reads_of_any_size_give_the_stream_itself(generator):
    direct = RainStream(generator, 48_000, 2, seed=9, chunks_per_block=2)
    expected = np.concatenate([direct.next_block() for _ in range(4)])
    sizes = [1, 64, 511, 4096, 10_000, 3, 30_000]
    with BackgroundStream(RainStream(generator, 48_000, 2, seed=9, chunks_per_block=2),
                          ahead_s=0.5) as engine:
        got = np.concatenate([engine.read(n, timeout_s=60) for n in sizes])
        stats = engine.stats()
    np.testing.assert_array_equal(got, expected[:got.shape[0]])
    assert stats.frames_read == sum(sizes) and stats.blocks_produced >= 1


def test_producer_stays_ahead_but_bounded(generator):
    stream = RainStream(generator, 44_100, 1, seed=1, chunks_per_block=1)
    with BackgroundStream(stream, ahead_s=0.2) as engine:
        engine.read(1, timeout_s=60)
        for _ in range(200):
            if engine.stats().frames_buffered >= int(0.2 * 44_100):
                break
            threading.Event().wait(0.05)
        buffered = engine.stats().frames_buffered
    block = 30_000  # about one chunk step at 44.1 kHz
    assert int(0.2 * 44_100) <= buffered <= int(0.2 * 44_100) + 2 * block


def test_read_after_stop_and_restart_are_refused(generator):
    engine = BackgroundStream(RainStream(generator, 48_000, 1, seed=1)).start()
    engine.read(10, timeout_s=60)
    engine.stop()
    with pytest.raises(EngineError, match="not running"):
        engine.read(10)
    with pytest.raises(EngineError, match="restarted"):
        engine.start()
    with pytest.raises(ValueError):
        BackgroundStream(RainStream(generator, 48_000, 1, seed=1), ahead_s=0)


def test_a_failing_producer_is_reported_to_the_reader(generator):
    stream = RainStream(generator, 48_000, 1, seed=1)

    def broken():
        raise RuntimeError("model went away")

    stream.next_block = broken
    with BackgroundStream(stream) as engine:
        with pytest.raises(EngineError, match="model went away"):
            engine.read(100, timeout_s=60)
