// The seamless loop that RainCore plays while its ring runs short: installed once by any
// thread but the audio thread, then read by the audio thread for the core's lifetime.
//
// The handoff is a one-way state machine, Empty -> Filling -> Ready, on one atomic:
//   - an installer claims the slot by moving it from Empty to Filling (compare-exchange), so
//     of two racing installers exactly one writes, and the other is refused;
//   - it copies the samples and the length while Filling, then publishes with a release
//     store of Ready;
//   - the audio thread touches the samples only after an acquire load has seen Ready.
// The writer thus never writes a sample the reader may read: before Ready the reader reads
// none, and after Ready nobody writes. Once Ready, the loop never changes, so a single buffer
// suffices; replacing a playing loop would need a second buffer and an acknowledgement from
// the reader, which the install-once contract spares. Every operation is constant time on
// the reader's side and nothing here allocates after construction.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace raingan {

class FallbackLoop {
public:
    FallbackLoop(std::size_t capacity_frames, std::size_t channels)
        : channels_(channels), capacity_frames_(capacity_frames),
          samples_(capacity_frames * channels) {}

    FallbackLoop(const FallbackLoop&) = delete;
    FallbackLoop& operator=(const FallbackLoop&) = delete;

    std::size_t capacity_frames() const noexcept { return capacity_frames_; }

    // Any thread but the audio thread. Copies n_frames interleaved frames in; false if a loop
    // is installed (or being installed) already, or it is empty or longer than the capacity.
    bool install(const float* frames, std::size_t n_frames) noexcept {
        if (n_frames == 0 || n_frames > capacity_frames_) return false;
        State expected = State::Empty;
        // Relaxed: the claim only has to be exclusive; the samples are ordered by the
        // release store below.
        if (!state_.compare_exchange_strong(expected, State::Filling, std::memory_order_relaxed))
            return false;
        std::copy(frames, frames + n_frames * channels_, samples_.begin());
        length_frames_ = n_frames;
        state_.store(State::Ready, std::memory_order_release);
        return true;
    }

    // Any thread. Once true on a thread, length_frames() and frame() may be read there.
    bool ready() const noexcept { return state_.load(std::memory_order_acquire) == State::Ready; }

    // Only after ready() has returned true on this thread.
    std::size_t length_frames() const noexcept { return length_frames_; }
    const float* frame(std::size_t position_frames) const noexcept {
        return samples_.data() + position_frames * channels_;
    }

private:
    enum class State : std::uint8_t { Empty, Filling, Ready };
    static_assert(std::atomic<State>::is_always_lock_free,
                  "the audio thread must not take a lock to see the loop");

    const std::size_t channels_;
    const std::size_t capacity_frames_;
    std::vector<float> samples_;
    std::size_t length_frames_ = 0;  // written while Filling, read after Ready
    std::atomic<State> state_{State::Empty};
};

}  // namespace raingan
