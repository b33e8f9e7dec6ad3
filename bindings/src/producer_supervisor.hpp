// The producer process behind a raingan_t and the watchdog thread that keeps it running.
//
// Everything here runs off the audio thread: it spawns processes, waits, sleeps and takes a
// mutex. The audio thread only reads the shared-memory ring and RainCore, which this class
// feeds (it installs the fallback loop that the producer writes into the segment).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "raingan/rain_core.hpp"
#include "raingan/shm_ring.hpp"

namespace raingan::detail {

struct ProducerCommand {
    std::string python;             // absolute path of the interpreter
    std::vector<std::string> args;  // after `python -m raingan serve`, without --seed
    std::uint64_t seed = 0;         // restart k runs seed + k (mod 2^63)
};

class ProducerSupervisor {
public:
    // Heartbeat silence after which a streaming producer counts as hung and is killed.
    static constexpr std::chrono::milliseconds kHangTimeout{5000};
    // Time a producer may take from its start to streaming (interpreter, imports, model).
    static constexpr std::chrono::milliseconds kStartTimeout{120000};
    static constexpr std::chrono::milliseconds kPoll{10};

    ProducerSupervisor(ShmRing& shm, RainCore& core, ProducerCommand command);
    ~ProducerSupervisor();  // stops the watchdog, then the producer (SIGTERM, then SIGKILL)
    ProducerSupervisor(const ProducerSupervisor&) = delete;
    ProducerSupervisor& operator=(const ProducerSupervisor&) = delete;

    // Spawn the first producer and the watchdog; false (with message()) if either fails.
    bool start();

    std::uint64_t restarts() const noexcept { return restarts_.load(std::memory_order_relaxed); }
    bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
    std::string message() const;

private:
    void watch();
    bool spawn();
    void on_exit(int status, bool status_known);
    void check_progress(std::chrono::steady_clock::time_point now);
    void install_loop();
    void stop_child();
    void set_message(const std::string& text);

    ShmRing& shm_;
    RainCore& core_;
    const ProducerCommand command_;

    mutable std::mutex mutex_;  // guards message_ and stopping_
    std::condition_variable wake_;
    bool stopping_ = false;
    std::string message_;
    std::thread watchdog_;

    // The watchdog thread's own (and start()'s, before the thread exists).
    pid_t child_ = 0;
    bool attached_ = false;
    int quick_exits_ = 0;
    std::chrono::steady_clock::time_point spawned_at_, last_beat_at_, respawn_at_;
    std::uint64_t last_beat_ = 0;
    std::string hang_reason_;  // set when the watchdog kills a hung producer

    std::atomic<std::uint64_t> restarts_{0};
    std::atomic<bool> failed_{false};
};

}  // namespace raingan::detail
