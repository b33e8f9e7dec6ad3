#include "raingan/dc_blocker.hpp"

#include <cmath>
#include <cstddef>

namespace raingan {

void dc_block(double* samples, std::size_t frames, std::size_t channels, double pole,
              double* state) {
    const double b1 = -1.0, a1 = -pole;
    for (std::size_t c = 0; c < channels; ++c) {
        double z = state[c];
        double* x = samples + c;
        for (std::size_t n = 0; n < frames; ++n, x += channels) {
            const double in = std::isfinite(*x) ? *x : 0.0;
            const double out = z + in;  // b0 = 1
            z = in * b1 - out * a1;
            *x = out;
        }
        state[c] = z;
    }
}

}  // namespace raingan
