// What RainGAN's plugins (bindings/lv2, bindings/dpf) do to a block after the C ABI rendered
// it: an equal-power crossfade from the stream playing to one a seed or model change started,
// and the on/off ramp. Real-time safe: no allocation, no locks, constant time per frame.
#pragma once

#include <cmath>
#include <cstdint>

namespace raingan {

// Fades `incoming` in over `out`, in place, for frames `position .. position + frames` of a
// crossfade of `length` frames (sin/cos, so the power stays level); past the end it is all
// incoming.
inline void crossfade_in(float* const* out, const float* const* incoming, int channels,
                         std::uint32_t frames, std::uint32_t position, std::uint32_t length) noexcept {
    const float quarter = 1.5707963f / static_cast<float>(length ? length : 1);
    for (std::uint32_t i = 0; i < frames; ++i) {
        const std::uint32_t k = position + i < length ? position + i : length;
        const float in = std::sin(quarter * static_cast<float>(k));
        const float old = std::cos(quarter * static_cast<float>(k));
        for (int c = 0; c < channels; ++c) out[c][i] = old * out[c][i] + in * incoming[c][i];
    }
}

// Moves `gain` toward 1 (on) or 0 (off) by `step` a frame, scaling the block as it goes; once
// the gain reaches 0 the rest of the block is silence. Returns the gain after the block.
inline float ramp_enable(float* const* out, int channels, std::uint32_t frames, float gain,
                         bool on, float step) noexcept {
    const float target = on ? 1.0f : 0.0f;
    std::uint32_t i = 0;
    for (; i < frames && gain != target; ++i) {
        gain = on ? std::fmin(1.0f, gain + step) : std::fmax(0.0f, gain - step);
        for (int c = 0; c < channels; ++c) out[c][i] *= gain;
    }
    if (gain == 0.0f)
        for (; i < frames; ++i)
            for (int c = 0; c < channels; ++c) out[c][i] = 0.0f;
    return gain;
}

}  // namespace raingan
