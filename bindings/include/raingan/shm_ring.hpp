// The shared-memory ring between a producer process (`raingan serve`) and its consumer (the C
// ABI's raingan_t in a game engine or plugin host, or any program that maps the segment).
//
// One POSIX shared-memory segment holds, in this order:
//   ShmRingHeader (its size rounded up to 64 bytes): identity, controls, producer status and
//       the ring's two indices, each group on its own cache line;
//   the ring: capacity_frames * channels interleaved float32 samples (capacity a power of two);
//   the fallback loop: loop_capacity_frames * channels samples, written once by a producer.
//
// The consumer creates the segment (exclusively), fills in the identity, publishes `magic`
// last with a release store, then starts the producer, which attaches by name and checks
// magic, version and sizes before it touches anything else. The ring is FrameRing's
// single-producer single-consumer protocol (raingan/ring_buffer.hpp) on indices that live
// in the segment: fixed-width lock-free atomics, which are address-free and so order memory
// across processes as they do across threads. Every other field shared after creation is an
// atomic too, except `message`, which the producer writes before it publishes
// ProducerState::Failed and then exits, and the loop's samples, which it writes before it
// publishes loop_frames.
//
// A restarted producer attaches to the same segment and goes on at the write index where its
// predecessor stopped; the fallback loop, once written, stays.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include "raingan/ring_buffer.hpp"

#ifndef MAP_POPULATE  // Linux's; elsewhere the pages fault in on first touch
#define MAP_POPULATE 0
#endif

namespace raingan {

// "RAINRING" in memory order on a little-endian machine.
inline constexpr std::uint64_t kShmRingMagic = 0x474e49524e494152ull;
// Bump on every change to ShmRingHeader or to the meaning of its fields.
inline constexpr std::uint32_t kShmRingVersion = 1;
inline constexpr std::size_t kShmMessageBytes = 256;

enum class ProducerState : std::uint32_t {
    None = 0,       // no producer has attached since the last one exited
    Loading = 1,    // attached, loading the model
    Streaming = 2,  // writing the ring
    Failed = 3,     // gave up; `message` says why (bad model, bad settings)
};
inline constexpr std::uint32_t kProducerHasIntensityAxis = 1u;

struct ShmRingHeader {
    // Identity: written by the creator before it publishes magic; constant afterwards.
    std::atomic<std::uint64_t> magic;
    std::uint32_t version;
    std::uint32_t header_bytes;  // where the ring's samples start
    std::uint32_t channels;
    std::uint32_t sample_rate_hz;
    std::uint64_t capacity_frames;       // a power of two
    std::uint64_t target_frames;         // the producer keeps this many frames buffered
    std::uint64_t loop_capacity_frames;  // room for the fallback loop
    std::uint64_t total_bytes;           // the segment's size
    std::int32_t consumer_pid;           // the producer exits when it is gone
    std::uint32_t reserved;

    // Consumer -> producer, at any time.
    alignas(64) std::atomic<std::uint32_t> intensity_bits;  // a float's bits; NaN: released
    std::atomic<std::uint32_t> stop_requested;              // nonzero: exit now

    // Producer -> consumer.
    alignas(64) std::atomic<std::uint64_t> heartbeat;  // counts the producer's loop iterations
    std::atomic<std::int32_t> producer_pid;
    std::atomic<std::uint32_t> producer_state;  // a ProducerState
    std::atomic<std::uint32_t> producer_flags;  // kProducerHasIntensityAxis
    std::atomic<std::uint64_t> loop_frames;     // 0 until the loop is written, then its length
    char message[kShmMessageBytes];             // see ProducerState::Failed

    RingIndices indices;

    static_assert(std::atomic<std::uint32_t>::is_always_lock_free &&
                      std::atomic<std::int32_t>::is_always_lock_free,
                  "shared-memory atomics must be lock-free to work across processes");
};

struct ShmRingLayout {
    std::uint32_t channels = 2;
    std::uint32_t sample_rate_hz = 48000;
    std::uint64_t capacity_frames = 0;  // rounded up to a power of two by create()
    std::uint64_t target_frames = 0;
    std::uint64_t loop_capacity_frames = 0;
};

inline constexpr std::size_t shm_header_bytes() noexcept {
    return (sizeof(ShmRingHeader) + 63) / 64 * 64;
}

// A mapping of one ring segment. The creator owns the name and unlinks it when destroyed.
class ShmRing {
public:
    // Create `name` ("/something", or "something" which gets the slash) exclusively, sized
    // and filled in for `layout`; consumer_pid is whose exit ends the producer. Throws
    // std::invalid_argument for bad names and layouts, std::runtime_error when the system
    // refuses (the name exists, no memory).
    static std::unique_ptr<ShmRing> create(const std::string& name, ShmRingLayout layout,
                                           std::int32_t consumer_pid) {
        const std::string path = checked_name(name);
        if (layout.channels != 1 && layout.channels != 2)
            throw std::invalid_argument("shared-memory ring: channels must be 1 or 2");
        if (layout.sample_rate_hz == 0 || layout.capacity_frames == 0 ||
            layout.capacity_frames > (std::uint64_t{1} << 30) ||
            layout.loop_capacity_frames > (std::uint64_t{1} << 30))
            throw std::invalid_argument("shared-memory ring: rate and capacity must be positive "
                                        "and capacities at most 2^30 frames");
        layout.capacity_frames = round_up_pow2(static_cast<std::size_t>(layout.capacity_frames));
        if (layout.target_frames == 0 || layout.target_frames > layout.capacity_frames)
            throw std::invalid_argument("shared-memory ring: target must be 1 to capacity frames");
        const std::size_t bytes = bytes_for(layout);
        const int fd = shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) throw os_error("cannot create shared-memory ring " + path);
        std::unique_ptr<ShmRing> ring;
        try {
            if (ftruncate(fd, static_cast<off_t>(bytes)) != 0)
                throw os_error("cannot size shared-memory ring " + path);
            ring.reset(new ShmRing(path, fd, bytes, true));
        } catch (...) {
            close(fd);
            shm_unlink(path.c_str());
            throw;
        }
        close(fd);
        ShmRingHeader* h = new (ring->base_) ShmRingHeader();  // zeroes every field
        h->version = kShmRingVersion;
        h->header_bytes = static_cast<std::uint32_t>(shm_header_bytes());
        h->channels = layout.channels;
        h->sample_rate_hz = layout.sample_rate_hz;
        h->capacity_frames = layout.capacity_frames;
        h->target_frames = layout.target_frames;
        h->loop_capacity_frames = layout.loop_capacity_frames;
        h->total_bytes = bytes;
        h->consumer_pid = consumer_pid;
        h->intensity_bits.store(float_bits(std::numeric_limits<float>::quiet_NaN()));
        h->magic.store(kShmRingMagic, std::memory_order_release);
        return ring;
    }

    // Map an existing segment and check that it is a ring of this version. Throws
    // std::invalid_argument naming what is wrong.
    static std::unique_ptr<ShmRing> attach(const std::string& name) {
        const std::string path = checked_name(name);
        const int fd = shm_open(path.c_str(), O_RDWR | O_CLOEXEC, 0);
        if (fd < 0)
            throw std::invalid_argument("no shared-memory ring " + path + " (" +
                                        std::strerror(errno) + "); its consumer creates it");
        struct stat info {};
        const bool sized = fstat(fd, &info) == 0 && info.st_size >= static_cast<off_t>(shm_header_bytes());
        if (!sized) {
            close(fd);
            throw std::invalid_argument(path + " is not a RainGAN ring (too small)");
        }
        std::unique_ptr<ShmRing> ring;
        try {
            ring.reset(new ShmRing(path, fd, static_cast<std::size_t>(info.st_size), false));
        } catch (...) {
            close(fd);
            throw;
        }
        close(fd);
        ring->check_identity();
        return ring;
    }

    static std::size_t bytes_for(const ShmRingLayout& layout) noexcept {
        return shm_header_bytes() +
               static_cast<std::size_t>(layout.capacity_frames + layout.loop_capacity_frames) *
                   layout.channels * sizeof(float);
    }

    ~ShmRing() {
        munmap(base_, bytes_);
        if (owner_) shm_unlink(name_.c_str());
    }
    ShmRing(const ShmRing&) = delete;
    ShmRing& operator=(const ShmRing&) = delete;

    const std::string& name() const noexcept { return name_; }
    ShmRingHeader& header() noexcept { return *static_cast<ShmRingHeader*>(base_); }
    const ShmRingHeader& header() const noexcept { return *static_cast<const ShmRingHeader*>(base_); }
    std::size_t channels() const noexcept { return header().channels; }

    FrameRing ring() noexcept {
        return FrameRing(&header().indices, samples(), header().capacity_frames, channels());
    }
    float* samples() noexcept {
        return reinterpret_cast<float*>(static_cast<char*>(base_) + shm_header_bytes());
    }
    float* loop_samples() noexcept { return samples() + header().capacity_frames * channels(); }

    // Producer: write the fallback loop once; false if one is there or it does not fit.
    bool set_loop(const float* frames, std::size_t n_frames) noexcept {
        ShmRingHeader& h = header();
        if (n_frames == 0 || n_frames > h.loop_capacity_frames ||
            h.loop_frames.load(std::memory_order_acquire) != 0)
            return false;
        std::memcpy(loop_samples(), frames, n_frames * channels() * sizeof(float));
        h.loop_frames.store(n_frames, std::memory_order_release);
        return true;
    }

    // Producer: the reason it gives up, then the Failed state (the consumer reads the one
    // after it has seen the other).
    void fail(const std::string& reason) noexcept {
        ShmRingHeader& h = header();
        const std::size_t n = std::min(reason.size(), kShmMessageBytes - 1);
        std::memcpy(h.message, reason.data(), n);
        h.message[n] = '\0';
        h.producer_state.store(static_cast<std::uint32_t>(ProducerState::Failed),
                               std::memory_order_release);
    }

    static std::uint32_t float_bits(float value) noexcept {
        std::uint32_t bits;
        std::memcpy(&bits, &value, sizeof bits);
        return bits;
    }
    static float bits_float(std::uint32_t bits) noexcept {
        float value;
        std::memcpy(&value, &bits, sizeof value);
        return value;
    }

private:
    ShmRing(std::string name, int fd, std::size_t bytes, bool owner)
        : name_(std::move(name)), bytes_(bytes), owner_(owner) {
        // MAP_POPULATE: the pages are there before the audio thread first touches them.
        base_ = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
        if (base_ == MAP_FAILED) throw os_error("cannot map shared-memory ring " + name_);
    }

    void check_identity() const {
        const ShmRingHeader& h = header();
        const std::string what = name_ + " is not a RainGAN ring of this version (";
        if (h.magic.load(std::memory_order_acquire) != kShmRingMagic)
            throw std::invalid_argument(what + "no magic)");
        if (h.version != kShmRingVersion || h.header_bytes != shm_header_bytes())
            throw std::invalid_argument(what + "version " + std::to_string(h.version) + ", this is " +
                                        std::to_string(kShmRingVersion) + ")");
        const ShmRingLayout layout{h.channels, h.sample_rate_hz, h.capacity_frames,
                                   h.target_frames, h.loop_capacity_frames};
        const bool sane = (h.channels == 1 || h.channels == 2) && h.sample_rate_hz > 0 &&
                          is_pow2(h.capacity_frames) && h.capacity_frames <= (1ull << 30) &&
                          h.loop_capacity_frames <= (1ull << 30) && h.target_frames > 0 &&
                          h.target_frames <= h.capacity_frames &&
                          h.total_bytes == bytes_for(layout) && h.total_bytes <= bytes_;
        if (!sane) throw std::invalid_argument(what + "its sizes do not add up)");
    }

    static std::string checked_name(const std::string& name) {
        const std::string path = !name.empty() && name[0] == '/' ? name : "/" + name;
        const bool ok = path.size() > 1 && path.size() <= 250 &&
                        path.find('/', 1) == std::string::npos &&
                        path.find('\0') == std::string::npos;
        if (!ok)
            throw std::invalid_argument("shared-memory ring name must be 1 to 249 characters "
                                        "without '/', got '" + name + "'");
        return path;
    }

    static std::runtime_error os_error(const std::string& what) {
        return std::runtime_error(what + ": " + std::strerror(errno));
    }

    std::string name_;
    void* base_ = nullptr;
    std::size_t bytes_ = 0;
    bool owner_ = false;
};

}  // namespace raingan
