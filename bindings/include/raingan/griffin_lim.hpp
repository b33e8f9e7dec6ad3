// Fused kernels for the inner loop of Fast Griffin-Lim.
//
// The FFTs stay in scipy (pocketfft); these kernels replace the dozen numpy passes between
// them with two, each touching every value once, so that an iteration costs little more
// than its two FFTs.
#pragma once

#include <complex>
#include <cstddef>

namespace raingan {

// Weighted overlap-add of windowed frames, then re-framing with the same window.
//
// frames_in   (batch, n_frames, frame_stride) inverse-FFT output; the first win samples
//             of each frame are used
// window      (win) analysis/synthesis window
// inv_wsum    (signal_len) 1 / sum of squared windows at each sample (0 where none reaches)
// signal      (batch, signal_len) scratch, signal_len = (n_frames - 1) * hop + win
// frames_out  (batch, n_frames, win) windowed frames of the least-squares signal
void overlap_add_reframe(const float* frames_in, std::size_t batch, std::size_t n_frames,
                         std::size_t frame_stride, std::size_t win, std::size_t hop,
                         const float* window, const float* inv_wsum, float* signal,
                         float* frames_out);

// One Fast Griffin-Lim update over n values:
//   projected = rebuilt * target / |rebuilt|
//   spectra   = projected + momentum * (projected - previous)
//   previous  = projected
void project_with_momentum(const std::complex<float>* rebuilt, const float* target,
                           std::complex<float>* previous, std::complex<float>* spectra,
                           std::size_t n, float momentum);

}  // namespace raingan
