#include "raingan/pghi.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace raingan {

void check_pghi_arguments(std::size_t n_frames, std::size_t n_bins, std::size_t n_fft,
                          std::size_t win_length, std::size_t hop_length, float tolerance_db) {
    auto fail = [](const std::string& what) { throw std::invalid_argument("pghi: " + what); };
    if (n_fft == 0 || win_length == 0 || hop_length == 0) {
        fail("n_fft, win_length and hop_length must be positive, got " + std::to_string(n_fft) +
             ", " + std::to_string(win_length) + ", " + std::to_string(hop_length));
    }
    if (win_length > n_fft) {
        fail("win_length (" + std::to_string(win_length) + ") must not exceed n_fft (" +
             std::to_string(n_fft) + ")");
    }
    if (hop_length > win_length) {
        fail("hop_length (" + std::to_string(hop_length) + ") must not exceed win_length (" +
             std::to_string(win_length) + ")");
    }
    if (n_bins != n_fft / 2 + 1) {
        fail("expected n_fft // 2 + 1 = " + std::to_string(n_fft / 2 + 1) +
             " frequency bins for n_fft " + std::to_string(n_fft) + ", got " +
             std::to_string(n_bins));
    }
    if (n_frames == 0) fail("need at least one frame");
    // Cell indices are 32-bit, to share a 64-bit sort key with a magnitude.
    if (n_frames > std::numeric_limits<std::uint32_t>::max() / n_bins) {
        fail("a chunk of " + std::to_string(n_frames) + " frames x " + std::to_string(n_bins) +
             " bins is too large");
    }
    if (!(tolerance_db < 0.0f) || !std::isfinite(tolerance_db)) {
        fail("tolerance_db must be a finite negative number of dB, got " +
             std::to_string(tolerance_db));
    }
}

}  // namespace raingan
