"""Classifier two-sample test: can a simple classifier tell candidate windows from reference
windows?

Both sets are cut into windows of :data:`WINDOW_S`; each window becomes a vector of judging
features (:func:`window_features`), and a logistic regression (scikit-learn, standardised
features, L2) is trained and tested by stratified cross-validation over the windows. The
score is the balanced accuracy on held-out folds: 0.5 means the classifier cannot tell the
sets apart, 1.0 that it always can. Windows of one file share its recording's character, so
even two sets of real rain are told apart somewhat: judge a candidate against the
real-against-real baseline (:func:`split_in_two`) and the coloured-noise twins'.

The features are judging statistics, kept apart from anything a RainGAN training loss uses
(the texture loss takes cochlear-envelope moments, correlations and octave modulation power):

* spectral shape: log power in third-octave bands (100 Hz-14 kHz) relative to the window's
  mean, and the spread of the window's frame levels;
* transients (drops): per broad band (0.1-1, 1-4, 4-14 kHz), the spread, skewness and
  kurtosis of 8 ms frame levels in dB and their 99th-minus-50th percentile; quantiles of the
  positive spectral flux;
* modulation: third-octave modulation power (1-200 Hz) of each broad band's 2 ms energy,
  relative to its mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.signal

#: Analysis window, seconds; a signal shorter than it (but at least :data:`MIN_WINDOW_S`)
#: gives one window of its own length.
WINDOW_S = 4.0
MIN_WINDOW_S = 2.0
#: Short frames for levels and flux, samples at the analysis rate (8 ms at 32 kHz).
FRAME = 256
#: Third-octave bands of the spectral shape, centre frequencies in Hz.
SHAPE_CENTRES_HZ = 1000.0 * 2.0 ** (np.arange(-10, 12) / 3)
#: Broad bands of the transient and modulation features, Hz.
BROAD_BANDS_HZ = ((100.0, 1000.0), (1000.0, 4000.0), (4000.0, 14_000.0))
#: Frames of the band energies whose modulation is measured, samples (2 ms at 32 kHz: the
#: spectrum reaches 250 Hz).
ENERGY_FRAME = 64
#: Third-octave modulation bands of the band energies, centre frequencies in Hz (1-200 Hz).
MODULATION_CENTRES_HZ = 2.0 ** (np.arange(0, 24) / 3)
#: Cross-validation folds (fewer when a set has fewer files).
FOLDS = 5


@dataclass(frozen=True)
class ClassifierTest:
    """Result of :func:`classifier_accuracy`.

    Attributes
    ----------
    accuracy : balanced accuracy on held-out folds (0.5: indistinguishable); NaN when either
        set has fewer than two windows
    n_windows : windows of (reference, candidate)
    n_folds : cross-validation folds used
    """

    accuracy: float
    n_windows: tuple[int, int]
    n_folds: int


def _db(x: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(x, 1e-20))


def windows(audio: np.ndarray, sample_rate_hz: float, window_s: float = WINDOW_S
            ) -> list[np.ndarray]:
    """Windows of ``window_s``, not overlapping (a signal shorter than it but at least
    :data:`MIN_WINDOW_S` gives one window of its own length; shorter ones none)."""
    n = int(round(window_s * sample_rate_hz))
    if audio.shape[0] < n:
        return [audio] if audio.shape[0] >= MIN_WINDOW_S * sample_rate_hz else []
    return [audio[i:i + n] for i in range(0, audio.shape[0] - n + 1, n)]


def window_features(window: np.ndarray, sample_rate_hz: float) -> np.ndarray:
    """The judging features of one mono window, shape (n_features,)."""
    _, _, stft = scipy.signal.stft(window, fs=sample_rate_hz, window="hann", nperseg=FRAME,
                                   noverlap=0, boundary=None, padded=False)
    power = np.abs(stft) ** 2  # (bins, frames)
    freqs = np.arange(power.shape[0]) * sample_rate_hz / FRAME
    frame_level = _db(power.sum(axis=0))
    shape = []
    long_power = power.mean(axis=1)
    for centre in SHAPE_CENTRES_HZ:
        members = (freqs >= centre * 2 ** (-1 / 6)) & (freqs < centre * 2 ** (1 / 6))
        # Narrow low bands hold no bin of an 8 ms frame: take the nearest bin.
        shape.append(long_power[members].mean() if members.any()
                     else long_power[np.argmin(np.abs(freqs - centre))])
    shape_db = _db(np.array(shape))
    features = [shape_db - shape_db.mean(), [frame_level.std()]]
    _, _, fine = scipy.signal.stft(window, fs=sample_rate_hz, window="hann",
                                   nperseg=ENERGY_FRAME, noverlap=0, boundary=None, padded=False)
    fine_power = np.abs(fine) ** 2
    fine_freqs = np.arange(fine_power.shape[0]) * sample_rate_hz / ENERGY_FRAME
    for low, high in BROAD_BANDS_HZ:
        level = _db(power[(freqs >= low) & (freqs < high)].sum(axis=0))
        features.append([*_moments(level), np.percentile(level, 99) - np.percentile(level, 50)])
        energy = fine_power[(fine_freqs >= low) & (fine_freqs < high)].sum(axis=0)
        features.append(_modulation_db(energy, sample_rate_hz / ENERGY_FRAME))
    flux = np.diff(_db(power), axis=1).clip(min=0.0).mean(axis=0)
    features.append(np.percentile(flux, [50, 90, 99]))
    return np.concatenate([np.asarray(f, dtype=np.float64) for f in features])


def _moments(values: np.ndarray) -> tuple[float, float, float]:
    """Standard deviation, skewness and excess kurtosis; a flat series has none of them."""
    centred = values - values.mean()
    sigma = float(np.sqrt(np.mean(centred ** 2)))
    if sigma <= 1e-9 * max(float(np.abs(values).max()), 1.0):
        return 0.0, 0.0, 0.0
    z = centred / sigma
    return sigma, float(np.mean(z ** 3)), float(np.mean(z ** 4) - 3.0)


def _modulation_db(energy: np.ndarray, frame_rate_hz: float) -> np.ndarray:
    """Third-octave modulation power of a frame-energy series relative to its mean, dB."""
    depth = energy / max(float(energy.mean()), 1e-20) - 1.0
    freqs, psd = scipy.signal.periodogram(depth, fs=frame_rate_hz, window="hann")
    out = []
    for centre in MODULATION_CENTRES_HZ:
        members = (freqs >= centre * 2 ** (-1 / 6)) & (freqs < centre * 2 ** (1 / 6))
        out.append(psd[members].mean() if members.any()
                   else psd[np.argmin(np.abs(freqs - centre))])
    return _db(np.array(out))


def signal_features(signals: Sequence[np.ndarray], sample_rate_hz: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Features of every window of every signal, and the index of the signal it came from.

    Returns
    -------
    (features of shape (n_windows, n_features), groups of shape (n_windows,), int)
    """
    rows, groups = [], []
    for k, signal in enumerate(signals):
        for window in windows(np.asarray(signal, dtype=np.float64), sample_rate_hz):
            rows.append(window_features(window, sample_rate_hz))
            groups.append(k)
    if not rows:
        silence = np.full(int(MIN_WINDOW_S * sample_rate_hz), 1e-3)
        return np.zeros((0, window_features(silence, sample_rate_hz).size)), np.zeros(0, np.int64)
    return np.array(rows), np.array(groups, dtype=np.int64)


def classifier_accuracy(reference: tuple[np.ndarray, np.ndarray],
                        candidate: tuple[np.ndarray, np.ndarray], seed: int = 0
                        ) -> ClassifierTest:
    """Cross-validated balanced accuracy of telling candidate windows from reference windows.

    Parameters
    ----------
    reference, candidate : (features, groups) from :func:`signal_features`
    seed : shuffles the folds

    Returns
    -------
    ClassifierTest
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_ref, x_cand = reference[0], candidate[0]
    counts = (x_ref.shape[0], x_cand.shape[0])
    if min(counts) < 2:
        return ClassifierTest(math.nan, counts, 0)
    x = np.nan_to_num(np.concatenate([x_ref, x_cand]), nan=0.0, posinf=0.0, neginf=0.0)
    y = np.r_[np.zeros(counts[0], int), np.ones(counts[1], int)]
    folds = min(FOLDS, *counts)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, class_weight="balanced",
                                                               max_iter=2000))
    predicted = cross_val_predict(model, x, y, cv=splitter)
    recall = [float(np.mean(predicted[y == label] == label)) for label in (0, 1)]
    return ClassifierTest(float(np.mean(recall)), counts, folds)


def split_in_two(features: np.ndarray, groups: np.ndarray
                 ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A set of windows split into two halves for a real-against-real baseline: alternate
    files when there are at least two, else the first and second half of the windows."""
    files = np.unique(groups)
    if files.size >= 2:
        first = np.isin(groups, files[::2])
    else:
        first = np.arange(groups.size) < groups.size // 2
        groups = np.where(first, 0, 1)
    return (features[first], groups[first]), (features[~first], groups[~first])
