// Lock-free single-producer, single-consumer ring buffer of interleaved float frames.
//
// Real-time discipline after JUCE's AbstractFifo and PortAudio's pa_ringbuffer: the capacity
// is a power of two so that indices wrap with a mask; each side owns one index and publishes
// it with a release store, and reads the other side's with an acquire load. Reads and writes
// copy in at most two contiguous regions. Nothing here allocates, locks or blocks once the
// buffer is constructed, so read() may run on an audio thread while write() runs on a
// producer thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace raingan {

class FrameRingBuffer {
public:
    // capacity_frames is rounded up to a power of two; channels is the frame width.
    FrameRingBuffer(std::size_t capacity_frames, std::size_t channels)
        : channels_(channels), capacity_(round_up_pow2(capacity_frames)), mask_(capacity_ - 1),
          samples_(capacity_ * channels) {
        if (channels == 0) throw std::invalid_argument("ring buffer needs at least one channel");
        if (capacity_frames == 0) throw std::invalid_argument("ring buffer capacity must be positive");
    }

    FrameRingBuffer(const FrameRingBuffer&) = delete;
    FrameRingBuffer& operator=(const FrameRingBuffer&) = delete;

    std::size_t capacity_frames() const noexcept { return capacity_; }
    std::size_t channels() const noexcept { return channels_; }

    // Frames ready to read. Exact on the consumer thread; a lower bound elsewhere.
    std::size_t readable_frames() const noexcept {
        return write_index_.load(std::memory_order_acquire) -
               read_index_.load(std::memory_order_relaxed);
    }

    // Free frames. Exact on the producer thread; a lower bound elsewhere.
    std::size_t writable_frames() const noexcept {
        return capacity_ - (write_index_.load(std::memory_order_relaxed) -
                            read_index_.load(std::memory_order_acquire));
    }

    // Producer side: copy up to n_frames interleaved frames in; returns frames written.
    std::size_t write(const float* frames, std::size_t n_frames) noexcept {
        const std::size_t write_index = write_index_.load(std::memory_order_relaxed);
        const std::size_t free_frames =
            capacity_ - (write_index - read_index_.load(std::memory_order_acquire));
        const std::size_t count = std::min(n_frames, free_frames);
        copy_in(write_index & mask_, frames, count);
        write_index_.store(write_index + count, std::memory_order_release);
        return count;
    }

    // Consumer side: copy up to n_frames interleaved frames out; returns frames read.
    std::size_t read(float* frames, std::size_t n_frames) noexcept {
        const std::size_t read_index = read_index_.load(std::memory_order_relaxed);
        const std::size_t available =
            write_index_.load(std::memory_order_acquire) - read_index;
        const std::size_t count = std::min(n_frames, available);
        copy_out(read_index & mask_, frames, count);
        read_index_.store(read_index + count, std::memory_order_release);
        return count;
    }

private:
    static std::size_t round_up_pow2(std::size_t n) {
        std::size_t p = 1;
        while (p < n) p <<= 1;
        return p;
    }

    void copy_in(std::size_t start, const float* src, std::size_t count) noexcept {
        const std::size_t first = std::min(count, capacity_ - start);
        std::memcpy(samples_.data() + start * channels_, src, first * channels_ * sizeof(float));
        std::memcpy(samples_.data(), src + first * channels_,
                    (count - first) * channels_ * sizeof(float));
    }

    void copy_out(std::size_t start, float* dst, std::size_t count) const noexcept {
        const std::size_t first = std::min(count, capacity_ - start);
        std::memcpy(dst, samples_.data() + start * channels_, first * channels_ * sizeof(float));
        std::memcpy(dst + first * channels_, samples_.data(),
                    (count - first) * channels_ * sizeof(float));
    }

    const std::size_t channels_;
    const std::size_t capacity_;
    const std::size_t mask_;
    std::vector<float> samples_;
    // Monotonic frame counters (wrap-around of size_t is harmless: differences stay exact).
    // Each on its own cache line, so that producer and consumer do not false-share.
    alignas(64) std::atomic<std::size_t> write_index_{0};
    alignas(64) std::atomic<std::size_t> read_index_{0};
    static_assert(std::atomic<std::size_t>::is_always_lock_free,
                  "the audio thread must not take a lock, not even one hidden in std::atomic");
};

}  // namespace raingan
