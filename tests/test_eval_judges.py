"""The judges that no training loss uses: the fine modulation spectrum and the classifier
two-sample test, on signals whose answer is known."""

import math

import numpy as np
import pytest

from raingan.eval import classifier, modulation
from raingan.eval.evaluate import evaluate_arrays

SR = 32_000


def patter(seed: int, seconds: float, am_hz: float = 0.0, am_depth: float = 0.0) -> np.ndarray:
    """Noise with decaying clicks at random times (drops), optionally amplitude-modulated."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out = 0.02 * rng.standard_normal(n)
    decay = np.exp(-np.arange(400) / 40.0)
    for start in rng.integers(0, n - 400, size=int(60 * seconds)):
        out[start:start + 400] += 0.2 * rng.standard_normal(400) * decay
    if am_depth:
        out *= 1.0 + am_depth * np.sin(2 * np.pi * am_hz * np.arange(n) / SR)
    return out


def test_fine_bins_are_at_most_a_quarter_hertz_and_a_third_of_an_octave():
    edges = modulation.FINE_EDGES_HZ
    widths, centres = np.diff(edges), modulation.FINE_CENTRES_HZ
    assert edges[0] == 0.5 and edges[-1] >= 200.0
    assert np.all(widths <= modulation.FINE_BIN_HZ + 1e-12)
    assert np.all(widths <= modulation.THIRD_OCTAVE_WIDTH * centres + 1e-12)


def test_a_modulation_line_is_found_by_its_frequency():
    reference = modulation.modulation_spectrum(patter(1, 60.0), SR)
    lined = modulation.modulation_spectrum(patter(2, 60.0, am_hz=86.13, am_depth=0.3), SR)
    result = modulation.compare(reference, lined)
    assert result.peak_db > 6.0
    assert result.peak_hz == pytest.approx(86.13, abs=0.5)
    assert len(result.band_peak_db) == modulation.MODULATION_BANDS.n_bands


def test_the_same_process_shows_no_line():
    reference = modulation.pool([modulation.modulation_spectrum(patter(s, 30.0), SR)
                                 for s in (1, 2)])
    other = modulation.modulation_spectrum(patter(3, 60.0), SR)
    result = modulation.compare(reference, other)
    assert abs(result.peak_db) < 3.0 and abs(result.dip_db) < 3.0


def test_short_references_are_judged_only_where_they_resolve_the_spectrum():
    short = modulation.modulation_spectrum(patter(1, 5.0), SR)
    long = modulation.modulation_spectrum(patter(2, 60.0), SR)
    groups = modulation.judging_groups(short.dof, long.dof)
    assert groups  # high modulation frequencies are still judged
    lowest_hz = modulation.FINE_EDGES_HZ[groups[0][0]]
    assert lowest_hz > 5.0  # 5 s cannot resolve a third of an octave at low rates
    for group in groups:
        assert short.dof[group].sum() >= modulation.MIN_DOF
        assert long.dof[group].sum() >= modulation.MIN_DOF
    long_from_hz = modulation.FINE_EDGES_HZ[modulation.judging_groups(long.dof, long.dof)[0][0]]
    assert long_from_hz < lowest_hz
    assert modulation.compare(short, long).judged_from_hz == pytest.approx(lowest_hz)


def test_the_classifier_cannot_tell_a_process_from_itself_but_can_tell_noise():
    real = classifier.signal_features([patter(s, 40.0) for s in range(4)], SR)
    same = classifier.signal_features([patter(s, 40.0) for s in range(10, 14)], SR)
    rng = np.random.default_rng(5)
    noise = classifier.signal_features([0.05 * rng.standard_normal(40 * SR) for _ in range(4)],
                                       SR)
    assert real[0].shape == (40, same[0].shape[1])
    assert classifier.classifier_accuracy(real, same).accuracy < 0.75
    assert classifier.classifier_accuracy(real, noise).accuracy > 0.95


def test_too_few_windows_give_no_accuracy():
    one = classifier.signal_features([patter(1, 3.0)], SR)
    many = classifier.signal_features([patter(2, 20.0)], SR)
    assert one[0].shape[0] == 1
    assert math.isnan(classifier.classifier_accuracy(one, many).accuracy)
    assert classifier.signal_features([patter(1, 1.0)], SR)[0].shape[0] == 0


def test_the_report_carries_both_judges():
    report = evaluate_arrays([patter(1, 20.0), patter(2, 20.0)],
                             [patter(3, 20.0, am_hz=40.0, am_depth=0.4)], SR,
                             noise_baseline=True)
    data = report.to_dict()
    assert data["overall"]["modulation_peak_hz"] == pytest.approx(40.0, abs=2.0)  # merged bins
    assert data["classifier"]["candidates"]["accuracy"] is not None
    assert data["classifier"]["noise_twins"] is not None
    assert len(data["overall"]["modulation_third_octave_db"]) == len(
        data["modulation_third_octave_hz"])
    table = report.format_table()
    assert "modulation line" in table and "classifier test" in table
    quick = evaluate_arrays([patter(1, 20.0)], [patter(3, 20.0)], SR, classifier=False)
    assert quick.classifier is None and "classifier test" not in quick.format_table()
