// FrameRingBuffer and RainCore without Python, built plain and under ThreadSanitizer and
// AddressSanitizer + UBSan by tests/test_native_sanitizers.py: the threaded cases exist for
// the sanitizers, which see races and out-of-bounds accesses that no assertion can.
//
// Exits 0 when every check passes; prints each failed check and exits 1 otherwise. The last
// line names this build's RainCore ABI, which the installed module must match.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "raingan/core_abi.hpp"
#include "raingan/rain_core.hpp"
#include "raingan/ring_buffer.hpp"

namespace {

int g_failures = 0;

#define CHECK(condition)                                                              \
    do {                                                                              \
        if (!(condition)) {                                                           \
            std::printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
            ++g_failures;                                                             \
        }                                                                             \
    } while (0)

constexpr double kRateHz = 48000.0;

// Small deterministic chunk sizes, so that reads and writes straddle the wrap in every way.
struct ChunkSizes {
    std::uint32_t state;
    std::size_t next(std::size_t max_frames) {
        state = state * 1664525u + 1013904223u;
        return 1 + (state >> 8) % max_frames;
    }
};

// Frame i of the test stream: channel c holds i * (c ? -1 : 1), modulo 2^20 so that every
// value is an exact float.
float stream_sample(std::size_t frame, std::size_t channel) {
    const float value = static_cast<float>(frame % (1u << 20));
    return channel ? -value : value;
}

void test_ring_keeps_order_across_threads() {
    constexpr std::size_t kChannels = 2, kTotalFrames = 200000;
    raingan::FrameRingBuffer ring(1000, kChannels);  // rounded up to 1024
    CHECK(ring.capacity_frames() == 1024);
    std::thread producer([&] {
        ChunkSizes sizes{1};
        std::vector<float> chunk(300 * kChannels);
        std::size_t written = 0;
        while (written < kTotalFrames) {
            const std::size_t n = std::min(sizes.next(300), kTotalFrames - written);
            for (std::size_t f = 0; f < n; ++f)
                for (std::size_t c = 0; c < kChannels; ++c)
                    chunk[f * kChannels + c] = stream_sample(written + f, c);
            std::size_t done = 0;
            while (done < n) {
                done += ring.write(chunk.data() + done * kChannels, n - done);
                if (done < n) std::this_thread::yield();
            }
            written += n;
        }
    });
    ChunkSizes sizes{2};
    std::vector<float> chunk(300 * kChannels);
    std::size_t read = 0, mismatches = 0;
    while (read < kTotalFrames) {
        const std::size_t got = ring.read(chunk.data(), sizes.next(300));
        for (std::size_t f = 0; f < got; ++f)
            for (std::size_t c = 0; c < kChannels; ++c)
                mismatches += chunk[f * kChannels + c] != stream_sample(read + f, c);
        read += got;
        if (got == 0) std::this_thread::yield();
    }
    producer.join();
    CHECK(read == kTotalFrames);
    CHECK(mismatches == 0);
    CHECK(ring.readable_frames() == 0);
}

void test_ring_limits_writes_to_free_space() {
    raingan::FrameRingBuffer ring(8, 1);
    std::vector<float> in(12), out(12);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
    CHECK(ring.write(in.data(), 12) == 8);
    CHECK(ring.writable_frames() == 0);
    CHECK(ring.read(out.data(), 5) == 5);
    CHECK(ring.write(in.data() + 8, 4) == 4);  // wraps
    CHECK(ring.read(out.data() + 5, 12) == 7);
    bool in_order = true;
    for (std::size_t i = 0; i < 12; ++i) in_order = in_order && out[i] == in[i];
    CHECK(in_order);
}

std::vector<float> constant_frames(std::size_t n_frames, std::size_t channels, float value) {
    return std::vector<float>(n_frames * channels, value);
}

void test_core_crossfades_into_the_loop_on_underrun_and_back() {
    raingan::RainCore core(1024, 1, kRateHz, 100, 16, 64, 1e-6);
    const auto loop = constant_frames(100, 1, -0.25f);
    CHECK(core.set_loop(loop.data(), 100));
    core.set_running(true);
    const auto stream = constant_frames(200, 1, 0.5f);
    CHECK(core.write(stream.data(), 200) == 200);
    std::vector<float> out(300);
    core.render_interleaved(out.data(), 300);
    CHECK(out[100] == 0.5f);
    CHECK(std::fabs(out[299] + 0.25f) < 1e-6f);
    raingan::RainCoreStats stats = core.stats();
    CHECK(stats.underruns == 1);
    CHECK(stats.loop_heard_frames >= 100);
    CHECK(stats.frames_rendered == 300);

    core.write(stream.data(), 200);  // more than resume + fade: the stream returns
    core.render_interleaved(out.data(), 64);
    CHECK(out[63] == 0.5f);
    CHECK(core.stats().underruns == 1);
}

void test_core_without_a_loop_fades_to_silence_and_takes_one_loop() {
    raingan::RainCore core(256, 2, kRateHz, 10, 4, 8, 1e-6);
    core.set_running(true);
    const auto stream = constant_frames(40, 2, 0.5f);
    core.write(stream.data(), 40);
    std::vector<float> out(64 * 2, 1.0f);
    core.render_planar(out.data(), 64);
    CHECK(out[10] == 0.5f && out[64 + 10] == 0.5f);
    CHECK(out[63] == 0.0f && out[127] == 0.0f);
    const auto too_long = constant_frames(11, 2, 0.0f);
    CHECK(!core.set_loop(too_long.data(), 11));
    CHECK(!core.set_loop(too_long.data(), 0));
    const auto loop = constant_frames(10, 2, 0.25f);
    CHECK(core.set_loop(loop.data(), 10));
    CHECK(core.has_loop());
    CHECK(!core.set_loop(loop.data(), 10));
    core.render_interleaved(out.data(), 64);
    CHECK(std::fabs(out[127] - 0.25f) < 1e-6f);
}

// Gain and width glide per frame and the limiter bends what passes its knee, in the block
// loops (gliding, settled, loud) as a plain per-frame model of them says; NaN is silenced.
void test_core_shapes_as_a_per_frame_glide_and_limiter_would() {
    constexpr std::size_t kFrames = 6000;
    const double smoothing_s = 0.002;
    raingan::RainCore core(8192, 2, kRateHz, 10, 4, 8, smoothing_s);
    std::vector<float> stream(kFrames * 2);
    for (std::size_t i = 0; i < stream.size(); ++i)
        stream[i] = 0.6f * std::sin(0.37f * static_cast<float>(i)) * (i % 7 == 0 ? 3.0f : 1.0f);
    stream[2 * 4100 + 1] = std::nanf("");
    core.set_running(true);
    CHECK(core.write(stream.data(), kFrames) == kFrames);
    std::vector<float> out(kFrames * 2);
    core.set_gain_db(-6.0f);
    core.set_width(0.3f);
    // The fade in from silence takes 4 frames; the glides start from the targets there.
    core.render_interleaved(out.data(), 1000);
    core.set_gain_db(6.0f);  // the glide moves again, then settles
    core.render_interleaved(out.data() + 2000, kFrames - 1000 - 12);

    const float glide = static_cast<float>(1.0 - std::exp(-1.0 / (smoothing_s * kRateHz)));
    auto limit = [](float x) {
        if (!std::isfinite(x)) return 0.0f;
        const float m = std::fabs(x), knee = raingan::RainCore::kLimiterKnee;
        if (m <= knee) return x;
        return std::copysign(std::min(knee + (1 - knee) * std::tanh((m - knee) / (1 - knee)), 1.0f), x);
    };
    float gain = std::pow(10.0f, -6.0f / 20.0f), target = gain;
    const float angle = 0.7f * 0.78539816339744831f;
    const float direct = std::cos(angle), cross = std::sin(angle);
    std::size_t worst_frame = 0;
    float worst = 0.0f;
    for (std::size_t f = 4; f < kFrames - 12; ++f) {
        if (f == 1000) target = std::pow(10.0f, 6.0f / 20.0f);
        gain += glide * (target - gain);
        const float l = stream[2 * f], r = stream[2 * f + 1];
        const float want[2] = {limit(gain * (direct * l + cross * r)), limit(gain * (cross * l + direct * r))};
        for (int c = 0; c < 2; ++c) {
            const float got = out[2 * f + c];
            const float error = std::isfinite(want[c]) ? std::fabs(got - want[c]) : std::fabs(got);
            if (!(error <= worst)) worst = error, worst_frame = f;
        }
    }
    CHECK(worst < 2e-5f);
    if (!(worst < 2e-5f)) std::printf("  worst error %g at frame %zu\n", worst, worst_frame);
    CHECK(out[2 * 4100] == 0.0f && out[2 * 4100 + 1] == 0.0f);  // NaN in, silence out
    float loudest = 0.0f;
    for (float x : out) loudest = std::max(loudest, std::fabs(x));
    CHECK(loudest <= 1.0f && loudest > raingan::RainCore::kLimiterKnee);
}

// What the sanitizers are for: a producer writes, the audio thread renders, two threads race
// to install the loop while it renders, and a fourth moves gain and width.
void test_core_under_concurrent_producer_loop_and_controls() {
    constexpr std::size_t kChannels = 2, kBufferFrames = 128, kBuffers = 3000;
    constexpr std::size_t kLoopFrames = 4800;
    raingan::RainCore core(2048, kChannels, kRateHz, kLoopFrames, 64, 256, 0.002);
    std::atomic<bool> done{false};
    std::atomic<int> loops_installed{0};
    std::atomic<std::size_t> buffers_rendered{0};

    std::thread producer([&] {
        ChunkSizes sizes{3};
        std::vector<float> chunk(512 * kChannels);
        std::size_t written = 0;
        while (!done.load(std::memory_order_acquire)) {
            const std::size_t n = sizes.next(512);
            for (std::size_t i = 0; i < n * kChannels; ++i)
                chunk[i] = 0.4f * std::sin(0.01f * static_cast<float>(written * kChannels + i));
            written += core.write(chunk.data(), n);
            // Now and then fall behind, so that the audio thread takes the fallback path.
            std::this_thread::sleep_for(std::chrono::microseconds(n % 7 == 0 ? 3000 : 50));
        }
    });
    const auto loop = constant_frames(kLoopFrames, kChannels, -0.3f);
    auto install_loop = [&] {
        // Relaxed: an acquire here would order the audio thread's earlier renders before the
        // install, and hide from ThreadSanitizer any access that the core leaves unordered.
        while (buffers_rendered.load(std::memory_order_relaxed) < kBuffers / 4)
            std::this_thread::yield();
        if (core.set_loop(loop.data(), kLoopFrames)) loops_installed.fetch_add(1);
    };
    std::thread installer_a(install_loop), installer_b(install_loop);
    std::thread controls([&] {
        for (int i = 0; !done.load(std::memory_order_acquire); ++i) {
            core.set_gain_db(static_cast<float>(-(i % 24)));
            core.set_width(static_cast<float>(i % 11) / 10.0f);
            if (i % 97 == 0) (void)core.stats();
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });

    core.set_running(true);
    std::size_t bad_samples = 0;
    std::thread audio([&] {
        std::vector<float> buffer(kBufferFrames * kChannels);
        for (std::size_t b = 0; b < kBuffers; ++b) {
            core.render_interleaved(buffer.data(), kBufferFrames);
            for (float x : buffer) bad_samples += !(std::fabs(x) <= 1.0f);
            buffers_rendered.store(b + 1, std::memory_order_relaxed);
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    });
    audio.join();
    installer_a.join();
    installer_b.join();
    done.store(true, std::memory_order_release);
    producer.join();
    controls.join();

    const raingan::RainCoreStats stats = core.stats();
    CHECK(bad_samples == 0);
    CHECK(loops_installed.load() == 1);
    CHECK(core.has_loop());
    CHECK(stats.frames_rendered == kBuffers * kBufferFrames);
    CHECK(stats.underruns >= 1);
    CHECK(stats.loop_heard_frames > 0);
}

// A host must refuse a module whose RainCore differs in any part of the handshake.
void test_abi_check_refuses_a_different_module() {
    const raingan::RainCoreAbi host = raingan::this_build_rain_core_abi();
    CHECK(raingan::rain_core_abi_mismatch(host, host).empty());
    raingan::RainCoreAbi newer = host, larger = host, aligned = host, relaid = host;
    newer.version += 1;
    larger.core_size_bytes += 8;
    aligned.core_align_bytes *= 2;
    relaid.layout_tag ^= 1;
    for (const raingan::RainCoreAbi& module : {newer, larger, aligned, relaid}) {
        const std::string reason = raingan::rain_core_abi_mismatch(module, host);
        CHECK(reason.find("does not match") != std::string::npos);
        std::string thrown;
        try {
            raingan::check_rain_core_abi(module, host);
        } catch (const std::runtime_error& error) {
            thrown = error.what();
        }
        CHECK(!reason.empty() && thrown == reason);
    }
    const std::string reason = raingan::rain_core_abi_mismatch(newer, host);
    CHECK(reason.find("version " + std::to_string(host.version + 1)) != std::string::npos);
    CHECK(reason.find("version " + std::to_string(host.version) + ",") != std::string::npos);
}

}  // namespace

int main() {
    test_ring_keeps_order_across_threads();
    test_ring_limits_writes_to_free_space();
    test_core_crossfades_into_the_loop_on_underrun_and_back();
    test_core_without_a_loop_fades_to_silence_and_takes_one_loop();
    test_core_shapes_as_a_per_frame_glide_and_limiter_would();
    test_core_under_concurrent_producer_loop_and_controls();
    test_abi_check_refuses_a_different_module();
    if (g_failures) {
        std::printf("%d check(s) failed\n", g_failures);
        return 1;
    }
    const raingan::RainCoreAbi abi = raingan::this_build_rain_core_abi();
    std::printf("all checks passed\nrain_core_abi %llu %llu %llu %llu\n",
                static_cast<unsigned long long>(abi.version),
                static_cast<unsigned long long>(abi.core_size_bytes),
                static_cast<unsigned long long>(abi.core_align_bytes),
                static_cast<unsigned long long>(abi.layout_tag));
    return 0;
}
