// RainCore::render_channels alone, warm: a stereo core whose ring always holds the next
// block, 20000 calls of 512 frames back to back at unity gain and full width (the settled
// case a host is in nearly always). Prints p50 and p99 of the per-call time. No Python, no
// producer, no sleep between calls: the cost of the audio thread's own loops.
//
//     g++ -std=c++17 -O3 -fno-math-errno -Ibindings/include benchmarks/core_render.cpp \
//         -o /tmp/core_render && /tmp/core_render
//
// (-O3 -fno-math-errno are the flags CMakeLists.txt gives the C ABI library; -O2 for the
// flags it had before.)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "raingan/rain_core.hpp"

int main() {
    constexpr std::size_t kBlock = 512, kCalls = 20000;
    raingan::RainCore core(16384, 2, 48000.0, 10, 64, 256, 0.02);
    std::vector<float> block(kBlock * 2);
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = 0.3f * std::sin(0.1f * static_cast<float>(i));
    std::vector<float> left(kBlock), right(kBlock);
    float* out[2] = {left.data(), right.data()};
    core.set_running(true);
    for (int k = 0; k < 20; ++k) core.write(block.data(), kBlock);
    std::vector<double> took_us;
    took_us.reserve(kCalls);
    float check = 0.0f;
    for (std::size_t k = 0; k < kCalls; ++k) {
        core.write(block.data(), kBlock);
        const auto start = std::chrono::steady_clock::now();
        core.render_channels(out, kBlock);
        const auto end = std::chrono::steady_clock::now();
        took_us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
        check += left[k % kBlock] + right[(k * 7) % kBlock];
    }
    std::sort(took_us.begin(), took_us.end());
    std::printf("render_channels, %zu frames: p50 %.2f us, p99 %.2f us (checksum %.3f)\n", kBlock,
                took_us[kCalls / 2], took_us[kCalls * 99 / 100], check);
    return 0;
}
