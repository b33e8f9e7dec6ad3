// The output's DC blocker: a one-pole high-pass per channel, y[n] = x[n] - x[n-1] + pole * y[n-1].
#pragma once

#include <cstddef>

namespace raingan {

// Filter `frames` interleaved frames of `channels` channels in place, NaN and infinities
// counting as 0. `state` (channels) carries each channel's filter state from one block to
// the next (0 at the start of a stream).
//
// The arithmetic is scipy.signal.lfilter's for b = [1, -1], a = [1, -pole] in its direct
// form II transposed (y = z + x; z = x * -1 - y * -pole), operation for operation, so the
// samples are lfilter's bit for bit (the file is compiled without floating-point
// contraction, see CMakeLists.txt).
void dc_block(double* samples, std::size_t frames, std::size_t channels, double pole,
              double* state);

}  // namespace raingan
