// raingan.h: the C ABI, a thin layer over RainCore (raingan/rain_core.hpp) rendering from a
// shared-memory ring (raingan/shm_ring.hpp) that a supervised producer process writes
// (producer_supervisor.hpp). No C++ exception crosses it: each entry point that can throw
// catches and returns a status.
#include "raingan.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <thread>

#include "producer_supervisor.hpp"
#include "raingan/rain_core.hpp"
#include "raingan/shm_ring.hpp"

using raingan::detail::ProducerSupervisor;

struct raingan_instance {
    std::unique_ptr<raingan::ShmRing> shm;
    std::unique_ptr<raingan::RainCore> core;
    std::unique_ptr<ProducerSupervisor> supervisor;  // destroyed first: stops the producer
    std::atomic<bool> rendering{false};
};

namespace {

// As raingan.runtime.source's RainSource: crossfades of 10 ms, a fallback loop of 4 s (room
// for 5), gain and width glides of 20 ms, and the stream back once half the latency is there.
constexpr double kFadeS = 0.01, kLoopCapacityS = 5.0, kSmoothingS = 0.02;
constexpr double kMinLatencyMs = 20.0, kMaxLatencyMs = 10000.0;
constexpr std::uint32_t kMinRateHz = 8000, kMaxRateHz = 192000;
constexpr std::uint64_t kMaxSeed = (std::uint64_t{1} << 63) - 1;
constexpr float kMinGainDb = raingan::RainCore::kMinGainDb, kMaxGainDb = raingan::RainCore::kMaxGainDb;

bool executable(const std::string& path) {
    struct stat info {};
    return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(path.c_str(), X_OK) == 0;
}

// `name` if it names a file (has a slash), else the first executable of that name on PATH.
std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return executable(name) ? name : std::string();
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const std::size_t end = std::min(dirs.find(':', start), dirs.size());
        const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
        if (executable(dir + "/" + name)) return dir + "/" + name;
        start = end + 1;
    }
    return {};
}

// config.python_path, then $RAINGAN_PYTHON, then the interpreter this library was built for,
// then python3 on PATH; "" if none is executable.
std::string find_python(const char* configured) {
    if (configured) return find_program(configured);
    if (const char* env = std::getenv("RAINGAN_PYTHON"); env && *env) return find_program(env);
#ifdef RAINGAN_BUILD_PYTHON
    if (executable(RAINGAN_BUILD_PYTHON)) return RAINGAN_BUILD_PYTHON;
#endif
    return find_program("python3");
}

std::uint64_t random_seed() {
    std::random_device device;
    return ((static_cast<std::uint64_t>(device()) << 32) | device()) & kMaxSeed;
}

std::string ring_name() {
    static std::atomic<unsigned> counter{0};
    std::random_device device;
    return "/raingan-" + std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1)) +
           "-" + std::to_string(device() & 0xffffffu);
}

raingan_status check_config(const raingan_config& c) {
    if (c.struct_size < sizeof(raingan_config)) return RAINGAN_ERROR_INVALID_ARGUMENT;
    if (c.sample_rate_hz < kMinRateHz || c.sample_rate_hz > kMaxRateHz) return RAINGAN_ERROR_INVALID_ARGUMENT;
    if (c.channels != 1 && c.channels != 2) return RAINGAN_ERROR_INVALID_ARGUMENT;
    if (c.seed > kMaxSeed && c.seed != RAINGAN_SEED_RANDOM) return RAINGAN_ERROR_INVALID_ARGUMENT;
    if (!(c.latency_ms >= kMinLatencyMs && c.latency_ms <= kMaxLatencyMs)) return RAINGAN_ERROR_INVALID_ARGUMENT;
    return RAINGAN_OK;
}

raingan_status create(const raingan_config& config, raingan_t** out) {
    std::string model;
    if (config.model_path) {
        char resolved[PATH_MAX];
        struct stat info {};
        // Absolute, so that a producer restarted after the host changes directory finds it.
        if (!realpath(config.model_path, resolved) || stat(resolved, &info) != 0 ||
            !S_ISREG(info.st_mode) || access(resolved, R_OK) != 0)
            return RAINGAN_ERROR_MODEL_NOT_FOUND;
        model = resolved;
    }
    const std::string python = find_python(config.python_path);
    if (python.empty()) return RAINGAN_ERROR_NO_PYTHON;

    const double rate = config.sample_rate_hz;
    const auto target = static_cast<std::uint64_t>(std::llround(config.latency_ms * rate / 1000.0));
    const auto fade = static_cast<std::size_t>(std::llround(kFadeS * rate));
    raingan::ShmRingLayout layout{config.channels, config.sample_rate_hz, 2 * target + fade,
                                  target, static_cast<std::uint64_t>(kLoopCapacityS * rate)};
    auto handle = std::make_unique<raingan_instance>();
    try {
        handle->shm = raingan::ShmRing::create(ring_name(), layout, static_cast<std::int32_t>(getpid()));
    } catch (const std::exception&) {
        return RAINGAN_ERROR_SYSTEM;
    }
    handle->core = std::make_unique<raingan::RainCore>(
        handle->shm->ring(), rate, static_cast<std::size_t>(layout.loop_capacity_frames), fade,
        static_cast<std::size_t>(target / 2), kSmoothingS);
    handle->core->set_running(true);

    raingan::detail::ProducerCommand command;
    command.python = python;
    command.args = {"--shm", handle->shm->name(), "--sr", std::to_string(config.sample_rate_hz),
                    "--channels", std::to_string(config.channels)};
    if (!model.empty()) command.args.insert(command.args.end(), {"--model", model});
    command.seed = config.seed == RAINGAN_SEED_RANDOM ? random_seed() : config.seed;
    handle->supervisor = std::make_unique<ProducerSupervisor>(*handle->shm, *handle->core, command);
    if (!handle->supervisor->start()) return RAINGAN_ERROR_SYSTEM;
    *out = handle.release();
    return RAINGAN_OK;
}

raingan_status check_render(raingan_t* rain, const void* out, std::uint32_t frames) {
    if (!rain || !out) return RAINGAN_ERROR_NULL_POINTER;
    if (frames == 0 || frames > RAINGAN_MAX_FRAMES) return RAINGAN_ERROR_FRAME_COUNT;
    return RAINGAN_OK;
}

// Runs render(core) unless another thread is rendering this handle already.
template <class Render>
raingan_status guarded_render(raingan_t* rain, Render&& render) {
    if (rain->rendering.exchange(true, std::memory_order_acquire)) return RAINGAN_ERROR_BUSY;
    render(*rain->core);
    rain->rendering.store(false, std::memory_order_release);
    return RAINGAN_OK;
}

}  // namespace

extern "C" {

uint32_t raingan_abi_version(void) { return RAINGAN_ABI_VERSION; }

const char* raingan_status_text(raingan_status status) {
    switch (status) {
        case RAINGAN_OK: return "ok";
        case RAINGAN_ERROR_NULL_POINTER: return "a required pointer is NULL";
        case RAINGAN_ERROR_INVALID_ARGUMENT: return "an argument is NaN or out of range";
        case RAINGAN_ERROR_FRAME_COUNT: return "frame count is 0 or above RAINGAN_MAX_FRAMES";
        case RAINGAN_ERROR_BUSY: return "render was called from two threads at once";
        case RAINGAN_ERROR_MODEL_NOT_FOUND: return "the model file does not exist or cannot be read";
        case RAINGAN_ERROR_NO_PYTHON: return "no Python interpreter found to run the producer";
        case RAINGAN_ERROR_SYSTEM: return "the system refused shared memory, a thread or a process";
        case RAINGAN_ERROR_PRODUCER_FAILED: return "the producer gave up (see raingan_producer_message)";
        case RAINGAN_ERROR_TIMEOUT: return "timed out";
        case RAINGAN_ERROR_UNSUPPORTED: return "the model has no intensity axis";
    }
    return "unknown status";
}

raingan_status raingan_config_init(raingan_config* config) {
    if (!config) return RAINGAN_ERROR_NULL_POINTER;
    *config = raingan_config{};
    config->struct_size = sizeof(raingan_config);
    config->sample_rate_hz = 48000;
    config->channels = 2;
    config->seed = RAINGAN_SEED_RANDOM;
    config->latency_ms = 250.0;
    return RAINGAN_OK;
}

raingan_status raingan_create(const raingan_config* config, raingan_t** out) {
    if (!config || !out) return RAINGAN_ERROR_NULL_POINTER;
    *out = nullptr;
    if (const raingan_status status = check_config(*config); status != RAINGAN_OK) return status;
    try {
        return create(*config, out);
    } catch (const std::bad_alloc&) {
        return RAINGAN_ERROR_SYSTEM;
    } catch (const std::exception&) {
        return RAINGAN_ERROR_SYSTEM;
    }
}

raingan_status raingan_wait_ready(raingan_t* rain, uint32_t timeout_ms) {
    if (!rain) return RAINGAN_ERROR_NULL_POINTER;
    if (timeout_ms == 0 || timeout_ms > 600000) return RAINGAN_ERROR_INVALID_ARGUMENT;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    const std::uint64_t target = rain->shm->header().target_frames;
    while (true) {
        if (rain->supervisor->failed()) return RAINGAN_ERROR_PRODUCER_FAILED;
        if (rain->core->readable_frames() >= target && rain->core->has_loop()) return RAINGAN_OK;
        if (std::chrono::steady_clock::now() >= deadline) return RAINGAN_ERROR_TIMEOUT;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

raingan_status raingan_render_interleaved(raingan_t* rain, float* out, uint32_t frames) {
    if (const raingan_status status = check_render(rain, out, frames); status != RAINGAN_OK) return status;
    return guarded_render(rain, [&](raingan::RainCore& core) { core.render_interleaved(out, frames); });
}

raingan_status raingan_render_planar(raingan_t* rain, float* const* out, uint32_t frames) {
    if (const raingan_status status = check_render(rain, out, frames); status != RAINGAN_OK) return status;
    for (std::size_t c = 0; c < rain->core->channels(); ++c)
        if (!out[c]) return RAINGAN_ERROR_NULL_POINTER;
    return guarded_render(rain, [&](raingan::RainCore& core) { core.render_channels(out, frames); });
}

raingan_status raingan_set_intensity(raingan_t* rain, float intensity) {
    if (!rain) return RAINGAN_ERROR_NULL_POINTER;
    if (!(intensity >= 0.0f && intensity <= 1.0f)) return RAINGAN_ERROR_INVALID_ARGUMENT;
    raingan::ShmRingHeader& h = rain->shm->header();
    const bool streaming = h.producer_state.load(std::memory_order_acquire) ==
                           static_cast<std::uint32_t>(raingan::ProducerState::Streaming);
    if (streaming && !(h.producer_flags.load(std::memory_order_relaxed) & raingan::kProducerHasIntensityAxis))
        return RAINGAN_ERROR_UNSUPPORTED;
    h.intensity_bits.store(raingan::ShmRing::float_bits(intensity), std::memory_order_relaxed);
    return RAINGAN_OK;
}

raingan_status raingan_set_gain_db(raingan_t* rain, float gain_db) {
    if (!rain) return RAINGAN_ERROR_NULL_POINTER;
    if (!(gain_db >= kMinGainDb && gain_db <= kMaxGainDb)) return RAINGAN_ERROR_INVALID_ARGUMENT;
    rain->core->set_gain_db(gain_db);
    return RAINGAN_OK;
}

raingan_status raingan_set_width(raingan_t* rain, float width) {
    if (!rain) return RAINGAN_ERROR_NULL_POINTER;
    if (!(width >= 0.0f && width <= 1.0f)) return RAINGAN_ERROR_INVALID_ARGUMENT;
    rain->core->set_width(width);
    return RAINGAN_OK;
}

raingan_status raingan_stats(raingan_t* rain, raingan_stats_t* out) {
    if (!rain || !out) return RAINGAN_ERROR_NULL_POINTER;
    const raingan::RainCoreStats core = rain->core->stats();
    const raingan::ShmRingHeader& h = rain->shm->header();
    *out = raingan_stats_t{};
    out->underruns = core.underruns;
    out->loop_heard_frames = core.loop_heard_frames;
    out->frames_rendered = core.frames_rendered;
    out->frames_buffered = core.frames_buffered;
    out->producer_restarts = rain->supervisor->restarts();
    out->producer_heartbeat = h.heartbeat.load(std::memory_order_relaxed);
    out->producer_pid = h.producer_pid.load(std::memory_order_relaxed);
    const auto state = static_cast<raingan::ProducerState>(h.producer_state.load(std::memory_order_acquire));
    out->producer_state = rain->supervisor->failed() || state == raingan::ProducerState::Failed
                              ? RAINGAN_PRODUCER_FAILED
                          : state == raingan::ProducerState::Streaming ? RAINGAN_PRODUCER_STREAMING
                          : state == raingan::ProducerState::Loading   ? RAINGAN_PRODUCER_LOADING
                                                                       : RAINGAN_PRODUCER_STARTING;
    out->loop_ready = rain->core->has_loop() ? 1u : 0u;
    out->has_intensity = (h.producer_flags.load(std::memory_order_relaxed) & raingan::kProducerHasIntensityAxis) ? 1u : 0u;
    return RAINGAN_OK;
}

raingan_status raingan_producer_message(raingan_t* rain, char* buffer, size_t size) {
    if (!rain || !buffer) return RAINGAN_ERROR_NULL_POINTER;
    if (size == 0) return RAINGAN_ERROR_INVALID_ARGUMENT;
    try {
        const std::string text = rain->supervisor->message();
        const std::size_t n = std::min(text.size(), size - 1);
        std::memcpy(buffer, text.data(), n);
        buffer[n] = '\0';
        return RAINGAN_OK;
    } catch (const std::exception&) {
        buffer[0] = '\0';
        return RAINGAN_ERROR_SYSTEM;
    }
}

raingan_status raingan_destroy(raingan_t* rain) {
    if (!rain) return RAINGAN_ERROR_NULL_POINTER;
    delete rain;
    return RAINGAN_OK;
}

}  // extern "C"
