"""The cochlear front end of the texture analysis: ERB-spaced half-cosine subbands of one FFT
of the whole signal, their Hilbert envelopes compressed (``^0.3``) and resampled to 400 Hz,
and the analysis's parameters (:class:`TextureConfig`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

@dataclass(frozen=True)
class TextureConfig:
    """Parameters of the texture analysis.

    Attributes
    ----------
    n_bands : number of cochlear subbands
    low_hz, high_hz : centre frequencies of the lowest and highest subband, Hz
    compression : exponent applied to the Hilbert envelopes (cochlear compression)
    envelope_rate_hz : rate of the downsampled envelopes, Hz
    window_s, hop_s : analysis window length and step, seconds
    min_window_s : shortest signal that can be analysed, seconds; a signal shorter than
        ``window_s`` (but at least this long) gets one window of its whole length
    correlation_offsets : band offsets ``k`` of the correlations between bands ``j`` and ``j + k``
    modulation_centres_hz : centres of the octave-wide modulation bands, Hz; a band is
        kept only if its period ``1 / centre`` fits in the shortest analysis window
    """

    n_bands: int = 30
    low_hz: float = 20.0
    high_hz: float = 10_000.0
    compression: float = 0.3
    envelope_rate_hz: int = 400
    window_s: float = 2.0
    hop_s: float = 1.0
    min_window_s: float = 1.0
    correlation_offsets: tuple[int, ...] = (1, 2, 3, 5, 8, 11, 16, 21)
    modulation_centres_hz: tuple[float, ...] = tuple(0.5 * 2.0 ** k for k in range(9))

    def __post_init__(self) -> None:
        if not 0 < self.low_hz < self.high_hz:
            raise ValueError("need 0 < low_hz < high_hz")
        if self.n_bands < 2 or max(self.correlation_offsets) >= self.n_bands:
            raise ValueError("every correlation offset must be smaller than n_bands")
        if not 0 < self.min_window_s <= self.window_s or self.hop_s <= 0:
            raise ValueError("need 0 < min_window_s <= window_s and hop_s > 0")
        if max(self.modulation_centres_hz) * np.sqrt(2) > self.envelope_rate_hz / 2:
            raise ValueError("modulation bands must lie below the envelope Nyquist frequency")


def erb_number(freq_hz: np.ndarray | float) -> np.ndarray:
    """Glasberg & Moore (1990) ERB-number (Cams) of a frequency in Hz."""
    return 21.4 * np.log10(1.0 + 0.00437 * np.asarray(freq_hz, dtype=np.float64))


def erb_number_to_hz(erb: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`erb_number`: frequency in Hz of an ERB-number."""
    return (10.0 ** (np.asarray(erb, dtype=np.float64) / 21.4) - 1.0) / 0.00437


def band_centres_hz(config: TextureConfig = TextureConfig()) -> np.ndarray:
    """Centre frequencies, shape (n_bands,), Hz, equally spaced in ERB-number."""
    return erb_number_to_hz(np.linspace(erb_number(config.low_hz), erb_number(config.high_hz),
                                        config.n_bands))


def band_bins(n_samples: int, sample_rate_hz: float,
               config: TextureConfig) -> list[tuple[int, np.ndarray]]:
    """Half-cosine ERB filters on the rFFT bins of an ``n_samples`` signal.

    Filter ``b`` is ``cos(pi/2 * (erb(f) - erb_b) / spacing)`` within one spacing of its centre,
    so neighbouring filters overlap by half and their squared responses sum to one between
    the outermost centres (the McDermott & Simoncelli design).

    Returns
    -------
    list of (first_bin, response) per band; response has shape (n_band_bins,), float64,
    and is empty for a band that lies above the Nyquist frequency
    """
    centres = erb_number(band_centres_hz(config))
    spacing = centres[1] - centres[0]
    bin_hz = sample_rate_hz / n_samples
    n_bins = n_samples // 2 + 1
    bands = []
    for centre in centres:
        lo_hz = max(float(erb_number_to_hz(centre - spacing)), 0.0)
        hi_hz = min(float(erb_number_to_hz(centre + spacing)), sample_rate_hz / 2)
        # Bin 0 (DC) is never part of a band: DC offset is reported separately.
        first = max(int(np.floor(lo_hz / bin_hz)) + 1, 1)
        stop = min(int(np.ceil(hi_hz / bin_hz)), n_bins)
        freqs = np.arange(first, max(stop, first)) * bin_hz  # empty above Nyquist
        bands.append((first, _half_cosine(freqs, centre, spacing)))
    return bands


def _half_cosine(freqs_hz: np.ndarray, centre_erb: float, spacing_erb: float) -> np.ndarray:
    """Response of the band centred at ``centre_erb`` (Cams) at ``freqs_hz``, same shape."""
    offset = (erb_number(freqs_hz) - centre_erb) / spacing_erb
    return np.where(np.abs(offset) < 1.0, np.cos(0.5 * np.pi * offset), 0.0)


def band_weights(freqs_hz: np.ndarray, config: TextureConfig = TextureConfig()) -> np.ndarray:
    """The cochlear filters sampled at some frequencies, e.g. a spectrogram's rows.

    Parameters
    ----------
    freqs_hz : shape (n_freqs,), Hz

    Returns
    -------
    np.ndarray, shape (n_bands, n_freqs), float64 amplitude responses in [0, 1]; a band
    with no frequency inside it is all zero
    """
    centres = erb_number(band_centres_hz(config))
    spacing = centres[1] - centres[0]
    freqs = np.asarray(freqs_hz, dtype=np.float64)
    return np.stack([_half_cosine(freqs, centre, spacing) for centre in centres])


def _fft_downsample(signal: np.ndarray, n_out: int) -> np.ndarray:
    """Resample a real signal, shape (n_in,), to (n_out,) samples over the same duration.

    An ideal (FFT-truncation) low-pass at the new Nyquist frequency; the signal is treated as
    periodic, which for whole-recording envelopes only touches the first and last few ms.
    """
    spectrum = sfft.rfft(signal)[: n_out // 2 + 1]
    return sfft.irfft(spectrum, n=n_out) * (n_out / signal.shape[0])


def cochlear_envelopes(audio: np.ndarray, sample_rate_hz: float,
                       config: TextureConfig = TextureConfig()) -> np.ndarray:
    """Compressed Hilbert envelopes of the cochlear subbands, resampled to ``envelope_rate_hz``.

    Each subband's analytic signal is synthesised directly at baseband: its FFT bins are
    moved down to 0 Hz and inverse-transformed with a short FFT (the magnitude of an analytic
    signal does not change under a frequency shift). The envelope is evaluated at three
    times the band's bandwidth (at least twice the output rate) so that compression, a
    nonlinearity, aliases little before the ideal low-pass down to ``envelope_rate_hz``.

    Parameters
    ----------
    audio : np.ndarray, shape (n_samples,), float; mono
    sample_rate_hz : sampling rate of ``audio``, Hz

    Returns
    -------
    np.ndarray, shape (n_bands, n_frames), float64, ``n_frames = round(duration * rate)``,
    non-negative; frame ``i`` is at time ``i / envelope_rate_hz`` seconds. Bands above the
    Nyquist frequency (audio sampled below ~22 kHz) are all zero.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected mono audio of shape (n_samples,), got {x.shape}")
    n_frames = int(round(x.shape[0] * config.envelope_rate_hz / sample_rate_hz))
    # Zero-pad to a fast FFT length (a prime length costs ~15x more); the padding (well under
    # 1 %) only touches the last few ms, as the periodic wrap-around does anyway, and the
    # envelope frames past the end of the audio are dropped.
    n = sfft.next_fast_len(x.shape[0], real=True)
    n_frames_padded = max(int(round(n * config.envelope_rate_hz / sample_rate_hz)), n_frames)
    spectrum = sfft.rfft(x, n=n)
    envelopes = np.empty((config.n_bands, n_frames))
    for b, (first, response) in enumerate(band_bins(n, sample_rate_hz, config)):
        width = response.shape[0]
        if width == 0 or not np.any(response):
            envelopes[b] = 0.0  # a band above the Nyquist frequency (or narrower than a bin)
            continue
        n_fine = sfft.next_fast_len(max(3 * width, 2 * n_frames_padded))
        baseband = np.zeros(n_fine, dtype=np.complex128)
        # Factor 2: the analytic signal keeps the positive frequencies only, doubled.
        baseband[:width] = 2.0 * spectrum[first:first + width] * response
        analytic = sfft.ifft(baseband) * (n_fine / n)
        compressed = np.abs(analytic) ** config.compression
        envelopes[b] = _fft_downsample(compressed, n_frames_padded)[:n_frames]
    # The ideal low-pass rings slightly below zero next to silences; envelopes are >= 0.
    return np.maximum(envelopes, 0.0)
