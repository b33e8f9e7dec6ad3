// The real-time half of a RainSource: what a host's audio thread calls.
//
// A producer (RainGAN's streaming engine) writes rain into a ring: a FrameRingBuffer that the
// core owns, written by a thread of this process, or a FrameRing over a shared-memory segment
// that a producer process writes (raingan/shm_ring.hpp). render() copies it out to the host, applying gain and stereo width that glide per sample. When the
// ring runs short, render crossfades into a pre-rendered seamless loop instead of outputting
// silence or a click, and crossfades back once the producer has caught up.
//
// render() never allocates, locks, blocks or logs, and costs constant time per frame: every
// buffer it touches is allocated in the constructor, parameters cross threads as lock-free
// atomics, the loop is handed over as FallbackLoop describes, and statistics are published
// with relaxed atomic stores.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "raingan/fallback_loop.hpp"
#include "raingan/ring_buffer.hpp"

namespace raingan {

struct RainCoreStats {
    std::uint64_t underruns = 0;          // times the ring ran short while running
    std::uint64_t loop_heard_frames = 0;  // frames in which the fallback loop was heard
    std::uint64_t frames_rendered = 0;    // frames written to the host in all
    std::size_t frames_buffered = 0;      // frames waiting in the ring
};

class RainCore {
public:
    // Soft limiter: identity below the knee, a tanh bend to +-1 above (as runtime/safety.py).
    static constexpr float kLimiterKnee = 0.9f;
    // Gain range (raingan.core.limits.GAIN_DB). Targets are clamped into it because the glide
    // is a one-pole filter: a target that overflows float (+771 dB and up) made the gain inf,
    // and gliding from inf back to any finite target gives inf - inf = NaN, for ever.
    static constexpr float kMinGainDb = -120.0f, kMaxGainDb = 24.0f;
    // Frames processed per inner step; bounds the scratch buffer, not the host's buffer size.
    static constexpr std::size_t kBlockFrames = 256;

    // loop_capacity_frames: room for the fallback loop, which set_loop installs later (until
    // then an underrun fades to silence).
    // fade_frames: crossfade length between ring, loop and silence.
    // resume_frames: after an underrun, frames the ring must hold before the stream returns.
    // smoothing_s: time constant of the gain and width glides.
    RainCore(std::size_t capacity_frames, std::size_t channels, double sample_rate_hz,
             std::size_t loop_capacity_frames, std::size_t fade_frames,
             std::size_t resume_frames, double smoothing_s)
        : RainCore(std::make_unique<FrameRingBuffer>(capacity_frames, channels), nullptr,
                   sample_rate_hz, loop_capacity_frames, fade_frames, resume_frames,
                   smoothing_s) {}

    // A core that renders from a ring whose storage lives elsewhere (a shared-memory segment)
    // and outlives the core; its producer is another process. Same parameters otherwise.
    RainCore(const FrameRing& ring, double sample_rate_hz, std::size_t loop_capacity_frames,
             std::size_t fade_frames, std::size_t resume_frames, double smoothing_s)
        : RainCore(nullptr, &ring, sample_rate_hz, loop_capacity_frames, fade_frames,
                   resume_frames, smoothing_s) {}

    RainCore(const RainCore&) = delete;
    RainCore& operator=(const RainCore&) = delete;

    std::size_t channels() const noexcept { return channels_; }
    std::size_t capacity_frames() const noexcept { return ring_.capacity_frames(); }

private:
    RainCore(std::unique_ptr<FrameRingBuffer> owned_ring, const FrameRing* external_ring,
             double sample_rate_hz, std::size_t loop_capacity_frames, std::size_t fade_frames,
             std::size_t resume_frames, double smoothing_s)
        : owned_ring_(std::move(owned_ring)),
          ring_(owned_ring_ ? owned_ring_->ring() : *external_ring), channels_(ring_.channels()),
          loop_(loop_capacity_frames, channels_),
          fade_frames_(std::max<std::size_t>(fade_frames, 1)), resume_frames_(resume_frames),
          fade_in_(fade_frames_), fade_out_(fade_frames_), scratch_(kBlockFrames * channels_),
          mixed_(kBlockFrames * channels_) {
        if (channels_ != 1 && channels_ != 2) throw std::invalid_argument("channels must be 1 or 2");
        if (!(sample_rate_hz > 0) || !(smoothing_s > 0))
            throw std::invalid_argument("sample rate and smoothing time must be positive");
        if (fade_frames_ + resume_frames_ > ring_.capacity_frames())
            throw std::invalid_argument("ring buffer is smaller than fade + resume frames");
        const double pi = 3.14159265358979323846;
        for (std::size_t i = 0; i < fade_frames_; ++i) {
            // Equal-power fades: the two sides are uncorrelated rain.
            const double t = (static_cast<double>(i) + 0.5) / static_cast<double>(fade_frames_);
            fade_in_[i] = static_cast<float>(std::sin(0.5 * pi * t));
            fade_out_[i] = static_cast<float>(std::cos(0.5 * pi * t));
        }
        glide_ = static_cast<float>(1.0 - std::exp(-1.0 / (smoothing_s * sample_rate_hz)));
        set_width(1.0f);
        gain_ = gain_target_.load();
        mix_direct_ = mix_direct_target_.load();
        mix_cross_ = mix_cross_target_.load();
    }

public:
    // -- producer thread ---------------------------------------------------------------------
    std::size_t write(const float* frames, std::size_t n_frames) noexcept {
        return ring_.write(frames, n_frames);
    }
    std::size_t readable_frames() const noexcept { return ring_.readable_frames(); }
    std::size_t writable_frames() const noexcept { return ring_.writable_frames(); }

    // Install the seamless fallback loop (interleaved), once, from any thread but the audio
    // thread, also while rendering. Returns false if a loop is installed already, or this one
    // is empty or longer than loop_capacity_frames.
    bool set_loop(const float* frames, std::size_t n_frames) noexcept {
        return loop_.install(frames, n_frames);
    }
    bool has_loop() const noexcept { return loop_.ready(); }

    // -- any thread --------------------------------------------------------------------------
    // NaN leaves the target as it was; everything else is clamped to the gain range.
    void set_gain_db(float gain_db) noexcept {
        if (std::isnan(gain_db)) return;
        const float db = std::clamp(gain_db, kMinGainDb, kMaxGainDb);
        gain_target_.store(std::pow(10.0f, db / 20.0f), std::memory_order_relaxed);
    }
    // 1: the two streams as they are; 0: both channels the same equal-power mix of them.
    void set_width(float width) noexcept {
        const float w = std::isfinite(width) ? std::clamp(width, 0.0f, 1.0f) : 1.0f;
        const float angle = (1.0f - w) * 0.78539816339744831f;
        mix_direct_target_.store(std::cos(angle), std::memory_order_relaxed);
        mix_cross_target_.store(std::sin(angle), std::memory_order_relaxed);
    }
    // While not running, render fades to silence and stays silent.
    void set_running(bool running) noexcept { running_.store(running, std::memory_order_release); }
    bool running() const noexcept { return running_.load(std::memory_order_acquire); }

    RainCoreStats stats() const noexcept {
        RainCoreStats s;
        s.underruns = underruns_.load(std::memory_order_relaxed);
        s.loop_heard_frames = loop_heard_frames_.load(std::memory_order_relaxed);
        s.frames_rendered = frames_rendered_.load(std::memory_order_relaxed);
        s.frames_buffered = ring_.readable_frames();
        return s;
    }

    // -- audio thread (one at a time) --------------------------------------------------------
    // Fill n_frames frames: sample (frame f, channel c) goes to out[f * frame_stride +
    // c * channel_stride]. Interleaved: (channels, 1); planar (channels, n_frames): (1, n_frames).
    void render(float* out, std::size_t n_frames, std::size_t frame_stride,
                std::size_t channel_stride) noexcept {
        render_frames(n_frames, [&](std::size_t f, const float* frame) {
            for (std::size_t c = 0; c < channels_; ++c)
                out[f * frame_stride + c * channel_stride] = frame[c];
        });
    }

    // One buffer per channel, each of n_frames samples (LV2 ports, JUCE's AudioBuffer).
    void render_channels(float* const* channel_buffers, std::size_t n_frames) noexcept {
        render_frames(n_frames, [&](std::size_t f, const float* frame) {
            for (std::size_t c = 0; c < channels_; ++c) channel_buffers[c][f] = frame[c];
        });
    }

    void render_interleaved(float* out, std::size_t n_frames) noexcept {
        render(out, n_frames, channels_, 1);
    }

    // Channels as consecutive runs of n_frames samples (JUCE, CLAP, VST3, Wwise).
    void render_planar(float* out, std::size_t n_frames) noexcept {
        render(out, n_frames, 1, n_frames);
    }

private:
    // Mix n_frames frames and hand each to sink(frame index, pointer to its channels).
    template <class Sink>
    void render_frames(std::size_t n_frames, Sink&& sink) noexcept {
        std::size_t done = 0;
        while (done < n_frames) {
            const std::size_t block = std::min(kBlockFrames, n_frames - done);
            const std::size_t count = render_block(block);
            for (std::size_t f = 0; f < count; ++f) sink(done + f, mixed_.data() + f * channels_);
            done += count;
        }
        frames_rendered_.store(frames_rendered_.load(std::memory_order_relaxed) + n_frames,
                               std::memory_order_relaxed);
    }

    enum class Source : std::uint8_t { Silence, Loop, Stream };

    // Where the next frames should come from. Staying on the stream keeps a whole fade in
    // reserve, so that a later fade away from it always has stream frames to fade; when the
    // ring holds less than `block` plus that reserve, `block` shrinks to what it can cover.
    Source wanted(std::size_t& block) const noexcept {
        if (!running()) return Source::Silence;
        const std::size_t buffered = ring_.readable_frames();
        const Source fallback = has_loop() ? Source::Loop : Source::Silence;
        if (current_ == Source::Stream) {
            if (buffered <= fade_frames_) return fallback;
            block = std::min(block, buffered - fade_frames_);
            return Source::Stream;
        }
        return buffered >= resume_frames_ + fade_frames_ ? Source::Stream : fallback;
    }

    // Mix up to `block` frames into mixed_; returns how many (a fade may end the block early).
    std::size_t render_block(std::size_t block) noexcept {
        if (current_ == Source::Silence && !fading_) {
            // Nothing is heard: jump to the targets, so that rain starts at the set gain.
            gain_ = gain_target_.load(std::memory_order_relaxed);
            mix_direct_ = mix_direct_target_.load(std::memory_order_relaxed);
            mix_cross_ = mix_cross_target_.load(std::memory_order_relaxed);
        }
        if (!fading_) {
            const Source next = wanted(block);
            if (next != current_) {
                // Leaving the stream while running means it ran short.
                if (current_ == Source::Stream && running()) ++underruns_local_;
                next_ = next;
                fading_ = true;
                fade_pos_ = 0;
            }
        }
        const std::size_t count = fading_ ? std::min(block, fade_frames_ - fade_pos_) : block;
        const bool uses_stream =
            current_ == Source::Stream || (fading_ && next_ == Source::Stream);
        if (uses_stream) {
            const std::size_t got = ring_.read(scratch_.data(), count);
            // Only reachable if the reserve rule was broken (stop during a fade-in): silence.
            std::fill(scratch_.begin() + got * channels_, scratch_.begin() + count * channels_, 0.0f);
        }
        // Choosing the loop needed has_loop() on this thread, which makes its samples visible.
        const bool uses_loop = current_ == Source::Loop || (fading_ && next_ == Source::Loop);
        if (!fading_ && current_ == Source::Stream) {
            shape_block(scratch_.data(), count);  // the common case: the ring as it is
        } else {
            for (std::size_t f = 0; f < count; ++f) {
                float from_w = 1.0f, to_w = 0.0f;
                if (fading_) {
                    from_w = fade_out_[fade_pos_ + f];
                    to_w = fade_in_[fade_pos_ + f];
                }
                const float* loop_frame = uses_loop ? next_loop_frame() : kSilentFrame;
                for (std::size_t c = 0; c < channels_; ++c) {
                    const float stream = scratch_[f * channels_ + c];
                    const float loop = loop_frame[c];
                    scratch_[f * channels_ + c] = from_w * pick(current_, stream, loop) +
                                                  (fading_ ? to_w * pick(next_, stream, loop) : 0.0f);
                }
            }
            shape_block(scratch_.data(), count);
        }
        if (uses_loop) loop_heard_frames_local_ += count;
        if (fading_) {
            fade_pos_ += count;
            if (fade_pos_ == fade_frames_) {
                current_ = next_;
                fading_ = false;
            }
        }
        underruns_.store(underruns_local_, std::memory_order_relaxed);
        loop_heard_frames_.store(loop_heard_frames_local_, std::memory_order_relaxed);
        return count;
    }

    // The loop frame to play now; moves the position on, wrapping at the loop's end.
    const float* next_loop_frame() noexcept {
        const float* frame = loop_.frame(loop_position_frames_);
        const std::size_t next = loop_position_frames_ + 1;
        loop_position_frames_ = next == loop_.length_frames() ? 0 : next;
        return frame;
    }

    static float pick(Source source, float stream, float loop) noexcept {
        return source == Source::Stream ? stream : source == Source::Loop ? loop : 0.0f;
    }

    // Width and gain (both gliding one step per frame), then the limiter, for count frames
    // of in (interleaved) into mixed_. Targets are read once per block (at most kBlockFrames,
    // 5 ms at 48 kHz, late). Once a glide has come within float rounding of its target it
    // holds the target, and a block whose samples all stay under the limiter's knee takes a
    // straight loop the compiler vectorises: the per-sample cost of the usual case.
    void shape_block(const float* in, std::size_t count) noexcept {
        const float gain_target = gain_target_.load(std::memory_order_relaxed);
        const float direct_target = mix_direct_target_.load(std::memory_order_relaxed);
        const float cross_target = mix_cross_target_.load(std::memory_order_relaxed);
        // Targets are finite and bounded, so this never fires; if memory were ever scribbled
        // on, the glide restarts at the target instead of staying NaN and silent.
        if (!std::isfinite(gain_)) gain_ = gain_target;
        if (!std::isfinite(mix_direct_) || !std::isfinite(mix_cross_)) {
            mix_direct_ = direct_target;
            mix_cross_ = cross_target;
        }
        float* out = mixed_.data();
        const std::size_t n = count * channels_;
        if (settled(gain_, gain_target) && settled(mix_direct_, direct_target) &&
            settled(mix_cross_, cross_target)) {
            gain_ = gain_target, mix_direct_ = direct_target, mix_cross_ = cross_target;
            const float direct = gain_ * mix_direct_, cross = gain_ * mix_cross_;
            if (channels_ == 2) {
                for (std::size_t f = 0; f < count; ++f) {
                    const float l = in[2 * f], r = in[2 * f + 1];
                    out[2 * f] = direct * l + cross * r;
                    out[2 * f + 1] = cross * l + direct * r;
                }
            } else {
                for (std::size_t i = 0; i < n; ++i) out[i] = gain_ * in[i];
            }
        } else {
            for (std::size_t f = 0; f < count; ++f) {
                gain_ += glide_ * (gain_target - gain_);
                if (channels_ == 2) {
                    mix_direct_ += glide_ * (direct_target - mix_direct_);
                    mix_cross_ += glide_ * (cross_target - mix_cross_);
                    const float l = in[2 * f], r = in[2 * f + 1];
                    out[2 * f] = gain_ * (mix_direct_ * l + mix_cross_ * r);
                    out[2 * f + 1] = gain_ * (mix_cross_ * l + mix_direct_ * r);
                } else {
                    out[f] = gain_ * in[f];
                }
            }
        }
        // NaN fails the comparison too, so it reaches limit(), which silences it.
        int over = 0;
        for (std::size_t i = 0; i < n; ++i) over |= !(std::fabs(out[i]) <= kLimiterKnee);
        if (over)
            for (std::size_t i = 0; i < n; ++i) out[i] = limit(out[i]);
    }

    // Whether a glide is within float rounding of its target (a one-pole glide in float
    // never quite arrives: its last steps round to nothing).
    static bool settled(float value, float target) noexcept {
        return std::fabs(value - target) <= 1e-6f * std::fabs(target) + 1e-12f;
    }

    static float limit(float x) noexcept {
        if (!std::isfinite(x)) return 0.0f;
        const float magnitude = std::fabs(x);
        if (magnitude <= kLimiterKnee) return x;
        const float span = 1.0f - kLimiterKnee;
        const float bent = kLimiterKnee + span * std::tanh((magnitude - kLimiterKnee) / span);
        return std::copysign(std::min(bent, 1.0f), x);
    }

    // Read in place of the loop's samples while the loop is not heard.
    static constexpr float kSilentFrame[2] = {0.0f, 0.0f};

    std::unique_ptr<FrameRingBuffer> owned_ring_;  // null when the ring lives elsewhere
    FrameRing ring_;
    const std::size_t channels_;
    FallbackLoop loop_;
    const std::size_t fade_frames_;
    const std::size_t resume_frames_;
    std::vector<float> fade_in_, fade_out_;
    std::vector<float> scratch_, mixed_;
    float glide_ = 1.0f;

    // Audio-thread state.
    Source current_ = Source::Silence;
    Source next_ = Source::Silence;
    bool fading_ = false;
    std::size_t fade_pos_ = 0;
    std::size_t loop_position_frames_ = 0;  // next frame of the loop to play
    float gain_ = 1.0f, mix_direct_ = 1.0f, mix_cross_ = 0.0f;
    std::uint64_t underruns_local_ = 0, loop_heard_frames_local_ = 0;

    // Shared.
    std::atomic<float> gain_target_{1.0f};
    std::atomic<float> mix_direct_target_{1.0f};
    std::atomic<float> mix_cross_target_{0.0f};
    std::atomic<bool> running_{false};
    std::atomic<std::uint64_t> underruns_{0}, loop_heard_frames_{0}, frames_rendered_{0};
    // The audio thread must never take a lock, not even one hidden in std::atomic.
    static_assert(std::atomic<float>::is_always_lock_free, "atomic<float> takes a lock");
    static_assert(std::atomic<bool>::is_always_lock_free, "atomic<bool> takes a lock");
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "atomic<uint64_t> takes a lock");
};

}  // namespace raingan
