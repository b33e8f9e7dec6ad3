// Embedding RainGAN in a C++ host: the Python runtime produces, the host's audio thread
// renders straight from the native core, without the GIL and without calling into Python.
//
//     pybind11::scoped_interpreter python;            // once per process
//     raingan::EmbeddedRainSource rain(pybind11::dict(pybind11::arg("sample_rate") = 48000));
//     rain.start();
//     {
//         pybind11::gil_scoped_release free_python;  // the producer thread needs the GIL
//         ... audio thread: rain.render(interleaved, frames);
//     }
//     rain.stop();
//
// Construct, start, stop and destroy with the GIL held; render and the setters of core()
// from any thread, GIL or not. Link the CMake target raingan::host (bindings/RainGANHost.cmake).
#pragma once

#include <pybind11/embed.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include "raingan/core_abi.hpp"
#include "raingan/rain_core.hpp"

// Holds pybind11 objects, which pybind11 gives hidden visibility; so must this class.
#if defined(__GNUG__) && !defined(_WIN32)
#define RAINGAN_EMBED_VISIBILITY __attribute__((visibility("hidden")))
#else
#define RAINGAN_EMBED_VISIBILITY
#endif

namespace raingan {

class RAINGAN_EMBED_VISIBILITY EmbeddedRainSource {
public:
    // settings: keyword arguments of raingan.RainSource (model, sample_rate, channels, seed,
    // latency_ms, gain_db, width, ...). Python exceptions (bad settings, a missing model)
    // propagate as pybind11::error_already_set; a raingan._native built from other headers
    // than this program is refused with std::runtime_error (raingan/core_abi.hpp).
    explicit EmbeddedRainSource(const pybind11::dict& settings = pybind11::dict())
        : source_(pybind11::module_::import("raingan").attr("RainSource")(**settings)) {
        const pybind11::object native_core = source_.attr("native_core");
        check_rain_core_abi(module_abi(native_core));
        const auto address = native_core.attr("address")().cast<std::uintptr_t>();
        core_ = reinterpret_cast<RainCore*>(address);  // lives as long as source_
    }

    EmbeddedRainSource(const EmbeddedRainSource&) = delete;
    EmbeddedRainSource& operator=(const EmbeddedRainSource&) = delete;

    void start() { source_.attr("start")(); }
    void stop() { source_.attr("stop")(); }
    pybind11::dict stats() const {
        return pybind11::module_::import("dataclasses").attr("asdict")(source_.attr("stats")());
    }

    // Audio thread: fill n_frames interleaved frames. Never blocks, allocates or locks.
    void render(float* interleaved, std::size_t n_frames) noexcept {
        core_->render_interleaved(interleaved, n_frames);
    }
    // Audio thread: fill a planar buffer laid out as channels consecutive runs of n_frames.
    void render_planar(float* planar, std::size_t n_frames) noexcept {
        core_->render_planar(planar, n_frames);
    }

    RainCore& core() noexcept { return *core_; }
    std::size_t channels() const noexcept { return core_->channels(); }
    pybind11::object& python_source() noexcept { return source_; }

private:
    static RainCoreAbi module_abi(const pybind11::object& native_core) {
        if (!pybind11::hasattr(native_core, "abi"))
            throw std::runtime_error(
                "raingan: the installed raingan._native predates the RainCore ABI check, so "
                "its RainCore cannot be trusted; install raingan from the same source as the "
                "headers this program was compiled against");
        const auto abi = native_core.attr("abi")().cast<pybind11::dict>();
        return {abi["version"].cast<std::uint64_t>(), abi["core_size_bytes"].cast<std::uint64_t>(),
                abi["core_align_bytes"].cast<std::uint64_t>(),
                abi["layout_tag"].cast<std::uint64_t>()};
    }

    pybind11::object source_;
    RainCore* core_ = nullptr;
};

}  // namespace raingan
