from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "rain"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def rain_path() -> Path:
    """A short real rain recording (7 s, mono, 44.1 kHz) from the bundled corpus."""
    return DATA / "flightgear_rain.wav"
