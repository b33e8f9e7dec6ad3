"""The core: the spectral spec, STFT, phase reconstruction, stitching, loudness, audio I/O and
errors. Every other part of RainGAN builds on it; it imports nothing else of RainGAN's."""
