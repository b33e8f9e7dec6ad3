// Phase Gradient Heuristic Integration (Prusa, Balazs & Sondergaard, "A Noniterative Method
// for Reconstruction of Phase from STFT Magnitude", IEEE/ACM TASLP 25(5), 2017).
//
// The STFT convention is the one of runtime/stft.py: frame m is x[m*hop : m*hop + win] times a
// periodic Hann window of length win, placed at the start of an n_fft buffer (zero-padded at
// the end), then a real FFT; no centre padding. Magnitudes and phases are laid out as
// (batch, n_frames, n_bins) with n_bins = n_fft / 2 + 1, row-major.
#pragma once

#include <cstddef>

namespace raingan {

// Gaussian-equivalent time-frequency ratio of a Hann window of length L is this times L^2
// (Prusa et al. 2017, table I), in samples^2.
inline constexpr double kHannGammaPerSquaredLength = 0.25645;

// Coefficients more than this far below the chunk's maximum get a pseudo-random phase: their
// log-magnitude gradients are dominated by noise and would only corrupt the integration.
// Spectral convergence on rain and on test signals barely moves between -40 and -120 dB.
inline constexpr float kDefaultPghiToleranceDb = -60.0f;

// Throws std::invalid_argument, with the offending values, when the sizes do not describe a
// valid STFT of the convention above (n_bins != n_fft / 2 + 1, win_length > n_fft,
// hop_length > win_length, zero sizes) or tolerance_db is not a finite negative number.
void check_pghi_arguments(std::size_t n_frames, std::size_t n_bins, std::size_t n_fft,
                          std::size_t win_length, std::size_t hop_length, float tolerance_db);

// Estimates the phase of every chunk of `magnitudes` and writes it, wrapped to [-pi, pi], into
// `phase_out` (same layout; the two may not overlap). Each chunk is processed independently
// and deterministically, so a chunk's phase does not depend on its batch neighbours nor on
// `num_threads` (0: one thread per hardware core, capped at the batch size).
//
// `tolerance_db` (negative, relative to each chunk's maximum magnitude) sets the floor below
// which phase is not integrated; those cells, and NaN or infinite ones, get a pseudo-random
// phase that depends on the cell's position only. Throws what check_pghi_arguments throws,
// and may throw std::bad_alloc before any work starts, never afterwards.
void pghi(const float* magnitudes, float* phase_out, std::size_t batch, std::size_t n_frames,
          std::size_t n_bins, std::size_t n_fft, std::size_t win_length, std::size_t hop_length,
          float tolerance_db = kDefaultPghiToleranceDb, std::size_t num_threads = 0);

}  // namespace raingan
