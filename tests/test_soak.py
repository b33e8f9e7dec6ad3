"""The soak benchmark, shortened: a simulated minute of knobs moving every 50 ms, rendered by a\nPython callback called as an audio API calls one."""

import importlib.util
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


@pytest.mark.parametrize("served", [False, True], ids=["thread", "served"])
def test_a_minute_of_moving_knobs_stays_finite_and_within_one(served):
    spec = importlib.util.spec_from_file_location("soak", BENCHMARK)
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    result = soak.soak(minutes=1.0, speed=10.0, served=served)
    assert result["served"] is served
    assert result["buffers"] == int(60 * 48_000 / 512)
    assert result["non_finite_samples"] == 0
    assert 0 < result["max_abs"] <= 1.0
    assert result["producer_error"] is None
    assert result["rss_mb"]["1 min"] > 0
    for figure in ("gil_wait_us", "render_us", "waking_to_samples_us"):
        tail = result[figure]
        assert 0 <= tail["p50"] <= tail["p99.9"] <= tail["max"], figure
