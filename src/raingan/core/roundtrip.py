"""Audio -> model images -> magnitudes -> phase reconstruction -> stitched audio.

This is exactly what a perfect generator would give: every chunk is reconstructed on its
own, as generated chunks are, and the chunks are stitched like a generated stream. It lets
a user hear what a spec keeps of their recordings.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .audio_io import resample
from .errors import AudioInputError
from .phase import PhaseSettings
from .spec import SpectralSpec
from .stitch import stitch
from .synthesis import images_to_chunks

#: Chunks reconstructed per batch: large enough to fill both FFT workers, small in memory.
BATCH_CHUNKS = 32


def chunk_contexts(signal: np.ndarray, spec: SpectralSpec) -> np.ndarray:
    """Cut a mono signal into the overlapping chunks of a stream, each with its margins.

    Parameters
    ----------
    signal : np.ndarray, shape (n_samples,), at ``spec.sample_rate_hz``

    Returns
    -------
    np.ndarray, shape (n_chunks, spec.context_samples), float32
        Chunk ``k`` owns samples ``[k * step, k * step + chunk_samples)`` of ``signal``;
        the signal is reflected at both ends to give the outer margins and a whole last chunk.
    """
    n = signal.shape[0]
    if n < spec.chunk_samples:
        raise AudioInputError(f"audio of {n / spec.sample_rate_hz:.3f} s is shorter than one "
                              f"chunk ({spec.chunk_s:.3f} s)")
    n_chunks = 1 + int(np.ceil(max(n - spec.chunk_samples, 0) / spec.chunk_step_samples))
    covered = (n_chunks - 1) * spec.chunk_step_samples + spec.chunk_samples
    margin = spec.margin_samples
    padded = np.pad(signal, (margin, covered - n + margin), mode="reflect")
    starts = np.arange(n_chunks) * spec.chunk_step_samples
    index = starts[:, None] + np.arange(spec.context_samples)[None, :]
    return padded[index].astype(np.float32)


def round_trip_chunks(contexts: np.ndarray, spec: SpectralSpec, settings: PhaseSettings,
                      progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Reconstruct each chunk from its own image; shape (n_chunks, chunk_samples)."""
    out = np.empty((contexts.shape[0], spec.chunk_samples), dtype=np.float32)
    for start in range(0, contexts.shape[0], BATCH_CHUNKS):
        batch = contexts[start:start + BATCH_CHUNKS]
        out[start:start + batch.shape[0]] = images_to_chunks(spec.audio_to_images(batch), spec,
                                                             settings)
        if progress is not None:
            progress(batch.shape[0])
    return out


def round_trip(samples: np.ndarray, sample_rate_hz: int, spec: SpectralSpec,
               settings: PhaseSettings = PhaseSettings(),
               progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Round-trip audio through the spec, channel by channel (stereo as mid and side).

    Phase reconstruction of two channels on their own gives two unrelated phases, which
    throws away how alike the channels were: a near-mono recording would come back as wide,
    decorrelated stereo, 3 dB quieter in its mono mix. Stereo is therefore reconstructed as
    mid ``(L + R) / 2`` and side ``(L - R) / 2``; each keeps its own power, so the channels'
    correlation (``(|M|^2 - |S|^2) / (|M|^2 + |S|^2)`` per band) survives on average.

    Parameters
    ----------
    samples : np.ndarray, shape (n_samples, n_channels), float32
    sample_rate_hz : rate of ``samples``; audio is resampled to the spec's rate and back
    progress : called with the number of chunks finished, batch by batch

    Returns
    -------
    np.ndarray, shape (n_samples, n_channels), float32, at ``sample_rate_hz``
    """
    at_spec = resample(samples, sample_rate_hz, spec.sample_rate_hz)
    stereo = at_spec.shape[1] == 2
    if stereo:
        at_spec = _mid_side(at_spec)
    channels = []
    for channel in at_spec.T:
        chunks = round_trip_chunks(chunk_contexts(channel, spec), spec, settings, progress)
        channels.append(stitch(chunks, spec)[:at_spec.shape[0]])
    out = np.stack(channels, axis=1)
    if stereo:
        out = _left_right(out)
    out = resample(out, spec.sample_rate_hz, sample_rate_hz)
    return _fit_length(out, samples.shape[0])


def _mid_side(left_right: np.ndarray) -> np.ndarray:
    """(n, 2) left/right to (n, 2) mid/side."""
    left, right = left_right[:, 0], left_right[:, 1]
    return np.stack([0.5 * (left + right), 0.5 * (left - right)], axis=1).astype(np.float32)


def _left_right(mid_side: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_mid_side`."""
    mid, side = mid_side[:, 0], mid_side[:, 1]
    return np.stack([mid + side, mid - side], axis=1).astype(np.float32)


def count_chunks(n_samples: int, sample_rate_hz: int, n_channels: int, spec: SpectralSpec) -> int:
    """How many chunks :func:`round_trip` will reconstruct (for progress bars)."""
    n = int(round(n_samples * spec.sample_rate_hz / sample_rate_hz))
    per_channel = 1 + int(np.ceil(max(n - spec.chunk_samples, 0) / spec.chunk_step_samples))
    return per_channel * n_channels


def _fit_length(samples: np.ndarray, n_samples: int) -> np.ndarray:
    if samples.shape[0] >= n_samples:
        return samples[:n_samples]
    return np.pad(samples, ((0, n_samples - samples.shape[0]), (0, 0)))
