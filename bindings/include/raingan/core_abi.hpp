// The handshake between the two binaries that share a RainCore: the raingan._native module,
// which owns the object, and a C++ host (raingan/embed.hpp), which receives its address as an
// integer and runs RainCore's inline code, compiled from its own copy of these headers, on
// it. Nothing else makes the two agree, so the host compares this build's RainCoreAbi with
// the module's (RainCore.abi() in Python) before it touches the pointer, and refuses with a
// message instead of corrupting memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "raingan/fallback_loop.hpp"
#include "raingan/rain_core.hpp"
#include "raingan/ring_buffer.hpp"

namespace raingan {

// Bump on every change to the members of RainCore, FrameRing(Buffer), FallbackLoop or
// RainCoreStats, or to the meaning of their inline code: sizes cannot see a reordering or a
// changed protocol.
inline constexpr std::uint64_t kRainCoreAbiVersion = 4;

struct RainCoreAbi {
    std::uint64_t version;
    std::uint64_t core_size_bytes;
    std::uint64_t core_align_bytes;
    // A hash of the sizes and alignments of RainCore's parts and of the standard types they
    // are built from, so that a different compiler or standard library shows up too.
    std::uint64_t layout_tag;
};

namespace abi_detail {

// FNV-1a over the bytes of each value.
constexpr std::uint64_t fnv1a(std::initializer_list<std::uint64_t> values) {
    std::uint64_t hash = 0xcbf29ce484222325ull;
    for (std::uint64_t value : values) {
        for (int byte = 0; byte < 8; ++byte) {
            hash ^= (value >> (8 * byte)) & 0xffu;
            hash *= 0x100000001b3ull;
        }
    }
    return hash;
}

inline std::string hex(std::uint64_t value) {
    static const char digits[] = "0123456789abcdef";
    std::string text = "0x";
    for (int shift = 60; shift >= 0; shift -= 4) text += digits[(value >> shift) & 0xfu];
    return text;
}

inline std::string describe(const RainCoreAbi& abi) {
    return "version " + std::to_string(abi.version) + ", " + std::to_string(abi.core_size_bytes) +
           " bytes aligned to " + std::to_string(abi.core_align_bytes) + ", layout " +
           hex(abi.layout_tag);
}

}  // namespace abi_detail

// What this translation unit's headers and compiler make of RainCore.
constexpr RainCoreAbi this_build_rain_core_abi() noexcept {
    return {kRainCoreAbiVersion, sizeof(RainCore), alignof(RainCore),
            abi_detail::fnv1a({sizeof(RainCore), alignof(RainCore), sizeof(FrameRing),
                               alignof(RingIndices), sizeof(FallbackLoop),
                               sizeof(RainCoreStats), sizeof(std::vector<float>),
                               sizeof(std::atomic<float>), sizeof(std::atomic<std::size_t>),
                               sizeof(std::size_t), sizeof(void*)})};
}

// Empty when the module's RainCore is usable by a host built as `host`; otherwise the
// reason, with both sides' values and what to do.
inline std::string rain_core_abi_mismatch(const RainCoreAbi& module, const RainCoreAbi& host) {
    if (module.version == host.version && module.core_size_bytes == host.core_size_bytes &&
        module.core_align_bytes == host.core_align_bytes && module.layout_tag == host.layout_tag)
        return {};
    return "raingan: the installed raingan._native RainCore (" + abi_detail::describe(module) +
           ") does not match the one this program was compiled against (" +
           abi_detail::describe(host) +
           "); rebuild the program against the headers of the installed raingan, or install "
           "raingan from the same source as the headers";
}

// Throws std::runtime_error with rain_core_abi_mismatch's reason when there is one.
inline void check_rain_core_abi(const RainCoreAbi& module,
                                const RainCoreAbi& host = this_build_rain_core_abi()) {
    const std::string mismatch = rain_core_abi_mismatch(module, host);
    if (!mismatch.empty()) throw std::runtime_error(mismatch);
}

}  // namespace raingan
