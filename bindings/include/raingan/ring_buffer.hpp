// Lock-free single-producer, single-consumer ring buffer of interleaved float frames.
//
// Real-time discipline after JUCE's AbstractFifo and PortAudio's pa_ringbuffer: the capacity
// is a power of two so that indices wrap with a mask; each side owns one index and publishes
// it with a release store, and reads the other side's with an acquire load. Reads and writes
// copy in at most two contiguous regions. Nothing here allocates, locks or blocks once the
// buffer is constructed, so read() may run on an audio thread while write() runs on a
// producer thread.
//
// FrameRing is the algorithm over storage it does not own, so that the same code serves a
// ring inside this process (FrameRingBuffer, which owns its storage) and one in a
// shared-memory segment that a producer process writes (raingan/shm_ring.hpp). Its indices
// are fixed-width lock-free atomics, which are address-free and so work across processes.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace raingan {

// Monotonic frame counters (wrap-around of uint64_t is harmless: differences stay exact).
// Each on its own cache line, so that producer and consumer do not false-share.
struct RingIndices {
    alignas(64) std::atomic<std::uint64_t> write_index{0};
    alignas(64) std::atomic<std::uint64_t> read_index{0};
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
                  "the audio thread must not take a lock, not even one hidden in std::atomic");
};

constexpr bool is_pow2(std::size_t n) noexcept { return n != 0 && (n & (n - 1)) == 0; }

inline std::size_t round_up_pow2(std::size_t n) noexcept {
    std::size_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

// A view: indices and capacity_frames * channels samples owned by someone else, who keeps
// them alive as long as the view is used. capacity_frames must be a power of two.
class FrameRing {
public:
    FrameRing(RingIndices* indices, float* samples, std::size_t capacity_frames,
              std::size_t channels)
        : indices_(indices), samples_(samples), channels_(channels),
          capacity_(capacity_frames), mask_(capacity_frames - 1) {
        if (channels == 0) throw std::invalid_argument("ring buffer needs at least one channel");
        if (capacity_frames == 0) throw std::invalid_argument("ring buffer capacity must be positive");
        if (!is_pow2(capacity_frames))
            throw std::invalid_argument("ring buffer capacity must be a power of two");
        if (indices == nullptr || samples == nullptr)
            throw std::invalid_argument("ring buffer needs its indices and samples");
    }

    std::size_t capacity_frames() const noexcept { return capacity_; }
    std::size_t channels() const noexcept { return channels_; }

    // Frames ready to read. Exact on the consumer thread; a lower bound elsewhere.
    std::size_t readable_frames() const noexcept {
        return static_cast<std::size_t>(indices_->write_index.load(std::memory_order_acquire) -
                                        indices_->read_index.load(std::memory_order_relaxed));
    }

    // Free frames. Exact on the producer thread; a lower bound elsewhere.
    std::size_t writable_frames() const noexcept {
        return capacity_ - static_cast<std::size_t>(
                               indices_->write_index.load(std::memory_order_relaxed) -
                               indices_->read_index.load(std::memory_order_acquire));
    }

    // Producer side: copy up to n_frames interleaved frames in; returns frames written.
    std::size_t write(const float* frames, std::size_t n_frames) noexcept {
        const std::uint64_t write_index = indices_->write_index.load(std::memory_order_relaxed);
        const std::size_t free_frames = capacity_ - static_cast<std::size_t>(
            write_index - indices_->read_index.load(std::memory_order_acquire));
        const std::size_t count = std::min(n_frames, free_frames);
        copy_in(static_cast<std::size_t>(write_index) & mask_, frames, count);
        indices_->write_index.store(write_index + count, std::memory_order_release);
        return count;
    }

    // Consumer side: copy up to n_frames interleaved frames out; returns frames read.
    std::size_t read(float* frames, std::size_t n_frames) noexcept {
        const std::uint64_t read_index = indices_->read_index.load(std::memory_order_relaxed);
        const std::size_t available = static_cast<std::size_t>(
            indices_->write_index.load(std::memory_order_acquire) - read_index);
        const std::size_t count = std::min(n_frames, available);
        copy_out(static_cast<std::size_t>(read_index) & mask_, frames, count);
        indices_->read_index.store(read_index + count, std::memory_order_release);
        return count;
    }

private:
    void copy_in(std::size_t start, const float* src, std::size_t count) noexcept {
        const std::size_t first = std::min(count, capacity_ - start);
        std::memcpy(samples_ + start * channels_, src, first * channels_ * sizeof(float));
        std::memcpy(samples_, src + first * channels_, (count - first) * channels_ * sizeof(float));
    }

    void copy_out(std::size_t start, float* dst, std::size_t count) const noexcept {
        const std::size_t first = std::min(count, capacity_ - start);
        std::memcpy(dst, samples_ + start * channels_, first * channels_ * sizeof(float));
        std::memcpy(dst + first * channels_, samples_, (count - first) * channels_ * sizeof(float));
    }

    RingIndices* indices_;
    float* samples_;
    std::size_t channels_;
    std::size_t capacity_;
    std::size_t mask_;
};

// A ring that owns its storage, for a producer thread in the same process.
class FrameRingBuffer {
public:
    // capacity_frames is rounded up to a power of two; channels is the frame width.
    FrameRingBuffer(std::size_t capacity_frames, std::size_t channels)
        : samples_(round_up_pow2(capacity_frames) * channels),
          ring_(&indices_, samples_.data(), capacity_frames ? round_up_pow2(capacity_frames) : 0,
                channels) {}

    FrameRingBuffer(const FrameRingBuffer&) = delete;
    FrameRingBuffer& operator=(const FrameRingBuffer&) = delete;

    std::size_t capacity_frames() const noexcept { return ring_.capacity_frames(); }
    std::size_t channels() const noexcept { return ring_.channels(); }
    std::size_t readable_frames() const noexcept { return ring_.readable_frames(); }
    std::size_t writable_frames() const noexcept { return ring_.writable_frames(); }
    std::size_t write(const float* frames, std::size_t n_frames) noexcept {
        return ring_.write(frames, n_frames);
    }
    std::size_t read(float* frames, std::size_t n_frames) noexcept {
        return ring_.read(frames, n_frames);
    }
    const FrameRing& ring() const noexcept { return ring_; }

private:
    std::vector<float> samples_;
    RingIndices indices_;
    FrameRing ring_;
};

}  // namespace raingan
