// ProducerSupervisor: spawn `python -m raingan serve`, watch it, restart it.
#include "producer_supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace raingan::detail {

namespace {

using Clock = std::chrono::steady_clock;

// A producer that exits sooner than this after its start counts as a quick exit; repeated
// quick exits back off (0.1 s, doubling, at most 5 s) instead of spinning.
constexpr auto kQuickExit = std::chrono::seconds(2);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);
// How long a producer has to exit after SIGTERM before it gets SIGKILL.
constexpr auto kTermGrace = std::chrono::milliseconds(2000);

ProducerState state_of(const ShmRing& shm) {
    return static_cast<ProducerState>(shm.header().producer_state.load(std::memory_order_acquire));
}

std::string exit_text(int status, bool known) {
    if (!known) return "the producer exited (status unknown)";
    if (WIFSIGNALED(status)) return "the producer was killed by signal " + std::to_string(WTERMSIG(status));
    return "the producer exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

ProducerSupervisor::ProducerSupervisor(ShmRing& shm, RainCore& core, ProducerCommand command)
    : shm_(shm), core_(core), command_(std::move(command)) {}

ProducerSupervisor::~ProducerSupervisor() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
    stop_child();
}

bool ProducerSupervisor::start() {
    if (!spawn()) return false;
    try {
        watchdog_ = std::thread([this] { watch(); });
    } catch (const std::system_error& error) {
        set_message(std::string("cannot start the watchdog thread: ") + error.what());
        stop_child();
        return false;
    }
    return true;
}

std::string ProducerSupervisor::message() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return message_;
}

void ProducerSupervisor::set_message(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    message_ = text;
}

bool ProducerSupervisor::spawn() {
    const std::uint64_t restart = restarts_.load(std::memory_order_relaxed);
    const std::uint64_t seed = (command_.seed + restart) & ((std::uint64_t{1} << 63) - 1);
    std::vector<std::string> args = {command_.python, "-m", "raingan", "serve"};
    args.insert(args.end(), command_.args.begin(), command_.args.end());
    args.push_back("--seed");
    args.push_back(std::to_string(seed));
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    // The child starts clean: default signal dispositions, nothing blocked, its own process
    // group (a Ctrl-C in the host's terminal is the host's to handle), stdin from /dev/null,
    // and none of the host's other descriptors.
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
    ShmRingHeader& h = shm_.header();
    h.producer_state.store(static_cast<std::uint32_t>(ProducerState::None), std::memory_order_release);
    h.producer_pid.store(0, std::memory_order_relaxed);
    pid_t pid = 0;
    const int error = posix_spawn(&pid, command_.python.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (error != 0) {
        set_message("cannot start " + command_.python + ": " + std::strerror(error));
        return false;
    }
    child_ = pid;
    attached_ = false;
    spawned_at_ = last_beat_at_ = Clock::now();
    last_beat_ = h.heartbeat.load(std::memory_order_relaxed);
    return true;
}

void ProducerSupervisor::watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        const auto now = Clock::now();
        if (child_ > 0) {
            int status = 0;
            const pid_t reaped = waitpid(child_, &status, WNOHANG);
            if (reaped == child_) on_exit(status, true);
            else if (reaped < 0 && errno == ECHILD) on_exit(0, false);  // reaped by the host
            else check_progress(now);
        } else if (!failed() && now >= respawn_at_) {
            restarts_.fetch_add(1, std::memory_order_relaxed);
            if (!spawn()) respawn_at_ = now + kMaxBackoff;
        }
        install_loop();
        lock.lock();
        wake_.wait_for(lock, kPoll, [this] { return stopping_; });
    }
}

void ProducerSupervisor::check_progress(Clock::time_point now) {
    const ShmRingHeader& h = shm_.header();
    if (!attached_ && h.producer_pid.load(std::memory_order_acquire) == child_) attached_ = true;
    const std::uint64_t beat = h.heartbeat.load(std::memory_order_acquire);
    if (beat != last_beat_) {
        last_beat_ = beat;
        last_beat_at_ = now;
    }
    const ProducerState state = state_of(shm_);
    if (state == ProducerState::Failed) return;  // it is on its way out; on_exit reports it
    const bool hung = state == ProducerState::Streaming ? now - last_beat_at_ > kHangTimeout
                                                        : now - spawned_at_ > kStartTimeout;
    if (hung && hang_reason_.empty()) {
        hang_reason_ = state == ProducerState::Streaming
                           ? "the producer's heartbeat stopped for 5 s; killed"
                           : "the producer did not stream within 120 s of its start; killed";
        kill(child_, SIGKILL);  // reaped, and replaced, on a later pass
    }
}

void ProducerSupervisor::on_exit(int status, bool status_known) {
    const bool attached = attached_ || shm_.header().producer_pid.load() == child_;
    child_ = 0;
    shm_.header().producer_pid.store(0, std::memory_order_relaxed);
    const bool gave_up = state_of(shm_) == ProducerState::Failed;
    const bool bad_input = status_known && WIFEXITED(status) && WEXITSTATUS(status) == 2;
    // An interpreter that cannot even import raingan exits 1 before attaching: restarting it
    // would only fail again.
    const bool never_ran = status_known && WIFEXITED(status) && WEXITSTATUS(status) != 0 && !attached;
    if (gave_up || bad_input || never_ran) {
        const ShmRingHeader& h = shm_.header();
        std::string reason(h.message, strnlen(h.message, kShmMessageBytes));
        if (!gave_up || reason.empty()) {
            reason = exit_text(status, status_known) +
                     (attached ? "" : " before attaching to the ring (is raingan installed for " +
                                          command_.python + "?)");
        }
        set_message(reason);
        failed_.store(true, std::memory_order_release);
        return;
    }
    shm_.header().producer_state.store(static_cast<std::uint32_t>(ProducerState::None),
                                       std::memory_order_release);
    const auto now = Clock::now();
    quick_exits_ = now - spawned_at_ < kQuickExit ? quick_exits_ + 1 : 0;
    const auto backoff = quick_exits_ == 0
                             ? std::chrono::milliseconds(0)
                             : std::min(kMaxBackoff, std::chrono::milliseconds(100 << std::min(quick_exits_ - 1, 6)));
    respawn_at_ = now + backoff;
    set_message((hang_reason_.empty() ? exit_text(status, status_known) : hang_reason_) +
                "; restarted");
    hang_reason_.clear();
}

void ProducerSupervisor::install_loop() {
    if (core_.has_loop()) return;
    const std::uint64_t frames = shm_.header().loop_frames.load(std::memory_order_acquire);
    if (frames > 0) core_.set_loop(shm_.loop_samples(), static_cast<std::size_t>(frames));
}

void ProducerSupervisor::stop_child() {
    if (child_ <= 0) return;
    shm_.header().stop_requested.store(1, std::memory_order_release);
    kill(child_, SIGTERM);
    const auto deadline = Clock::now() + kTermGrace;
    int status = 0;
    while (Clock::now() < deadline) {
        const pid_t reaped = waitpid(child_, &status, WNOHANG);
        if (reaped == child_ || (reaped < 0 && errno == ECHILD)) {
            child_ = 0;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(child_, SIGKILL);
    while (waitpid(child_, &status, 0) < 0 && errno == EINTR) {
    }
    child_ = 0;
}

}  // namespace raingan::detail
