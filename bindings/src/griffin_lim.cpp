#include "raingan/griffin_lim.hpp"

#include <cmath>
#include <cstddef>
#include <cstring>

namespace raingan {

void overlap_add_reframe(const float* frames_in, std::size_t batch, std::size_t n_frames,
                         std::size_t frame_stride, std::size_t win, std::size_t hop,
                         const float* window, const float* inv_wsum, float* signal,
                         float* frames_out) {
    const std::size_t signal_len = (n_frames - 1) * hop + win;
    for (std::size_t b = 0; b < batch; ++b) {
        float* x = signal + b * signal_len;
        std::memset(x, 0, signal_len * sizeof(float));
        const float* in = frames_in + b * n_frames * frame_stride;
        for (std::size_t m = 0; m < n_frames; ++m) {
            float* dst = x + m * hop;
            const float* src = in + m * frame_stride;
            for (std::size_t n = 0; n < win; ++n) dst[n] += src[n] * window[n];
        }
        for (std::size_t i = 0; i < signal_len; ++i) x[i] *= inv_wsum[i];
        float* out = frames_out + b * n_frames * win;
        for (std::size_t m = 0; m < n_frames; ++m) {
            const float* src = x + m * hop;
            float* dst = out + m * win;
            for (std::size_t n = 0; n < win; ++n) dst[n] = src[n] * window[n];
        }
    }
}

void project_with_momentum(const std::complex<float>* rebuilt, const float* target,
                           std::complex<float>* previous, std::complex<float>* spectra,
                           std::size_t n, float momentum) {
    // Interleaved re/im as plain restrict-qualified floats with a signed index, and a
    // comparison instead of fmax: in this form GCC vectorises the loop (sqrt needs
    // -fno-math-errno); an unsigned index or std::fmax keeps it scalar, at 2-3x the time.
    const float* __restrict r = reinterpret_cast<const float*>(rebuilt);
    float* __restrict p = reinterpret_cast<float*>(previous);
    float* __restrict s = reinterpret_cast<float*>(spectra);
    const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(n);
    for (std::ptrdiff_t i = 0; i < count; ++i) {
        const float re = r[2 * i], im = r[2 * i + 1];
        const float power = re * re + im * im;
        const float gain = target[i] / std::sqrt(power > 1e-30f ? power : 1e-30f);
        const float pre = re * gain, pim = im * gain;
        s[2 * i] = pre + momentum * (pre - p[2 * i]);
        s[2 * i + 1] = pim + momentum * (pim - p[2 * i + 1]);
        p[2 * i] = pre;
        p[2 * i + 1] = pim;
    }
}

}  // namespace raingan
