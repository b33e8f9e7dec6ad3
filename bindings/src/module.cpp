// raingan._native: the Python face of the native core (library raingan_core).
//
// This module is shared: each native component adds its bindings here, as a thin layer over a
// plain C++ function or class of raingan_core that knows nothing of Python. Today it holds
// PGHI phase reconstruction, the Fast Griffin-Lim kernels, the DC blocker (module_dsp.cpp),
// the real-time RainCore (here) and the shared-memory ring that `raingan serve` writes
// (ShmRing, module_shm.cpp).
// Conventions for every binding:
//   - take numpy arrays as py::array_t<..., py::array::c_style> without implicit conversion,
//     so that a wrong dtype or layout is an error rather than a silent copy;
//   - validate shapes and arguments while holding the GIL and raise ValueError
//     (std::invalid_argument) with the offending values;
//   - release the GIL around the computation, so Python threads can run chunks in parallel
//     (except RainCore.render of a short buffer: see PyRainCore::render).

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "module_common.hpp"
#include "raingan.h"
#include "raingan/core_abi.hpp"
#include "raingan/rain_core.hpp"

namespace py = pybind11;

void bind_shm_ring(py::module_& m);  // module_shm.cpp

namespace {

using raingan_bindings::dim;
using raingan_bindings::FloatArray;
using raingan_bindings::require;

// -- RainCore -------------------------------------------------------------------------------

std::string shape_text(const py::array& a) {
    std::string text = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i)
        text += (i ? ", " : "") + std::to_string(a.shape(i));
    return text + (a.ndim() == 1 ? ",)" : ")");
}

// A host's float32 buffer, checked: TypeError for what is not float32, ValueError for the
// wrong shape or layout, so that nothing reaches the core that it could write out of bounds.
float* host_buffer(const py::handle& buffer, std::size_t channels, bool planar,
                   std::size_t* n_frames) {
    if (!py::isinstance<py::array>(buffer))
        throw py::type_error("render: buffer must be a numpy float32 array, got " +
                             std::string(py::str(py::type::of(buffer).attr("__name__"))));
    auto array = py::reinterpret_borrow<py::array>(buffer);
    if (!array.dtype().is(py::dtype::of<float>()))
        throw py::type_error("render: buffer must be float32, got " + std::string(py::str(array.dtype())));
    const std::string expected = planar ? "(" + std::to_string(channels) + ", frames)"
                                        : "(frames, " + std::to_string(channels) + ")";
    const bool mono_1d = !planar && channels == 1 && array.ndim() == 1;
    const int channel_axis = planar ? 0 : 1;
    if (!mono_1d && (array.ndim() != 2 || dim(array, channel_axis) != channels))
        throw py::value_error("render: buffer must have shape " + expected + ", got " +
                              shape_text(array));
    if (!(array.flags() & py::array::c_style))
        throw py::value_error("render: buffer must be C-contiguous (use np.ascontiguousarray)");
    if (!array.writeable()) throw py::value_error("render: buffer is read-only");
    *n_frames = mono_1d ? dim(array, 0) : dim(array, planar ? 1 : 0);
    return static_cast<float*>(array.mutable_data());
}

// raingan.ServedRainSource's render and render_planar: the C ABI's, reached in one call from
// Python. The source binds these methods as its own instance attributes, so a callback's
// `rain.render(buffer)` runs no Python frame: in a callback whose caches are cold each frame
// costs microseconds, several times the copy. Keeps the GIL, as RainCore.render does for short
// buffers: the copy takes microseconds, and detach() (ServedRainSource.stop, under the GIL)
// cannot free the handle under it. Detached, it checks the buffer the same way and writes
// silence.
class CAbiRenderer {
public:
    explicit CAbiRenderer(std::size_t channels) : channels_(channels) {
        require(channels == 1 || channels == 2, "CAbiRenderer: 1 or 2 channels");
    }

    void attach(std::uintptr_t handle) {
        require(handle != 0, "CAbiRenderer.attach: no C ABI handle");
        handle_ = handle;
    }
    void detach() noexcept { handle_ = 0; }
    bool attached() const noexcept { return handle_ != 0; }

    std::size_t render(const py::handle& buffer) { return render_into(buffer, false); }
    std::size_t render_planar(const py::handle& buffer) { return render_into(buffer, true); }

private:
    std::size_t render_into(const py::handle& buffer, bool planar) {
        std::size_t n_frames = 0;
        float* data = host_buffer(buffer, channels_, planar, &n_frames);
        if (n_frames == 0 || n_frames > RAINGAN_MAX_FRAMES)
            throw py::value_error("render: 1 to " + std::to_string(RAINGAN_MAX_FRAMES) +
                                  " frames, got " + std::to_string(n_frames));
        if (handle_ == 0) {
            std::fill_n(data, n_frames * channels_, 0.0f);
            return n_frames;
        }
        auto* rain = reinterpret_cast<raingan_t*>(handle_);
        raingan_status status;
        if (planar) {
            float* rows[2] = {data, data + (channels_ > 1 ? n_frames : 0)};
            status = raingan_render_planar(rain, rows, static_cast<std::uint32_t>(n_frames));
        } else {
            status = raingan_render_interleaved(rain, data, static_cast<std::uint32_t>(n_frames));
        }
        if (status != RAINGAN_OK)
            throw std::runtime_error(std::string("render: ") + raingan_status_text(status));
        return n_frames;
    }

    std::size_t channels_;
    std::uintptr_t handle_ = 0;
};

// The Python face of raingan::RainCore. It adds one guard the C++ core leaves to its host:
// render may run on one thread at a time (a second concurrent call is refused, not raced).
class PyRainCore {
public:
    PyRainCore(std::size_t capacity_frames, std::size_t channels, double sample_rate_hz,
               std::size_t loop_capacity_frames, std::size_t fade_frames,
               std::size_t resume_frames, double smoothing_s)
        : core_(std::make_unique<raingan::RainCore>(capacity_frames, channels, sample_rate_hz,
                                                    loop_capacity_frames, fade_frames,
                                                    resume_frames, smoothing_s)) {}

    void set_loop(const FloatArray& loop) {
        require(loop.ndim() == 2 && dim(loop, 1) == core_->channels(),
                "RainCore.set_loop: loop must have shape (frames, " +
                    std::to_string(core_->channels()) + ")");
        const float* data = loop.data();
        const std::size_t n = dim(loop, 0);
        bool installed = false;
        {
            py::gil_scoped_release release;
            installed = core_->set_loop(data, n);
        }
        require(installed, "RainCore.set_loop: a loop is installed already, or this one is "
                           "empty or longer than the loop capacity");
    }

    std::size_t write(const FloatArray& frames) {
        require(frames.ndim() == 2 && dim(frames, 1) == core_->channels(),
                "RainCore.write: frames must have shape (frames, " +
                    std::to_string(core_->channels()) + ")");
        const float* data = frames.data();
        const std::size_t n = dim(frames, 0);
        py::gil_scoped_release release;
        return core_->write(data, n);
    }

    std::size_t render(const py::handle& buffer, bool planar) {
        std::size_t n_frames = 0;
        float* out = host_buffer(buffer, core_->channels(), planar, &n_frames);
        if (rendering_.exchange(true, std::memory_order_acquire))
            throw std::runtime_error("render: called from two threads at once");
        if (n_frames <= kKeepGilFrames) {
            // Microseconds of copying: keep the GIL the Python caller holds. Handing it over
            // would let the producer's Python take it, and the caller would wait for it to
            // come back (the millisecond tail of a Python audio callback, BENCHMARKS.md).
            render_frames(out, n_frames, planar);
        } else {
            py::gil_scoped_release release;  // long copies let other Python threads run
            render_frames(out, n_frames, planar);
        }
        rendering_.store(false, std::memory_order_release);
        return n_frames;
    }

    // Producer side: sleep without the GIL until the ring holds fewer than `frames` frames,
    // the core stops running, or timeout_s passes; returns whether the ring is below `frames`.
    // (A Python producer polling the ring would take the GIL hundreds of times a second.)
    bool wait_for_room(std::size_t frames, double timeout_s) {
        require(timeout_s >= 0 && timeout_s <= 3600, "wait_for_room: timeout must be 0 to 3600 s");
        py::gil_scoped_release release;
        using clock = std::chrono::steady_clock;
        const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                                 std::chrono::duration<double>(timeout_s));
        while (core_->readable_frames() >= frames && core_->running() && clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return core_->readable_frames() < frames;
    }

    // Render n_buffers buffers of `frames` frames, one every period_s seconds, on this thread
    // without the GIL, and return each call's duration in nanoseconds: render's latency as a
    // native host sees it, while Python producers run (benchmarks/render_latency.py).
    py::array_t<std::int64_t> time_renders(std::size_t frames, std::size_t n_buffers,
                                           double period_s) {
        require(frames > 0 && n_buffers > 0 && period_s >= 0, "time_renders: bad arguments");
        py::array_t<std::int64_t> durations(static_cast<py::ssize_t>(n_buffers));
        std::int64_t* d = durations.mutable_data();
        std::vector<float> buffer(frames * core_->channels());
        if (rendering_.exchange(true, std::memory_order_acquire))
            throw std::runtime_error("render: called from two threads at once");
        {
            py::gil_scoped_release release;
            using clock = std::chrono::steady_clock;
            const auto period = std::chrono::duration_cast<clock::duration>(
                std::chrono::duration<double>(period_s));
            auto next = clock::now();
            for (std::size_t i = 0; i < n_buffers; ++i) {
                std::this_thread::sleep_until(next);
                const auto start = clock::now();
                core_->render_interleaved(buffer.data(), frames);
                d[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start).count();
                next += period;
            }
        }
        rendering_.store(false, std::memory_order_release);
        return durations;
    }

    py::dict stats() const {
        const raingan::RainCoreStats s = core_->stats();
        py::dict out;
        out["underruns"] = s.underruns;
        out["loop_heard_frames"] = s.loop_heard_frames;
        out["loop_frames"] = s.loop_heard_frames;  // its former name, for existing callers
        out["frames_rendered"] = s.frames_rendered;
        out["frames_buffered"] = s.frames_buffered;
        out["loop_ready"] = core_->has_loop();
        return out;
    }

    raingan::RainCore& core() { return *core_; }

private:
    // Buffers up to this many frames are rendered holding the GIL (about 40 us at most).
    static constexpr std::size_t kKeepGilFrames = 4096;

    void render_frames(float* out, std::size_t n_frames, bool planar) {
        if (planar) core_->render_planar(out, n_frames);
        else core_->render_interleaved(out, n_frames);
    }

    std::unique_ptr<raingan::RainCore> core_;
    std::atomic<bool> rendering_{false};
};

// Call `callback()` n_calls times, period_s apart, from a native thread of its own, as an
// audio API calls a Python audio callback: wake at the due time, take the GIL, call, release.
// Returns, per call, the nanoseconds from waking to holding the GIL (what other Python
// threads make the callback wait) and from the due time to waking (the OS's share), shape
// (n_calls, 2). The callback's own work is the callback's to time. A Python exception stops
// the calls and is raised here (benchmarks/soak.py).
py::array_t<std::int64_t> time_python_calls(const py::function& callback, std::size_t n_calls,
                                            double period_s) {
    require(n_calls > 0 && period_s >= 0, "time_python_calls: bad arguments");
    py::array_t<std::int64_t> times({static_cast<py::ssize_t>(n_calls), py::ssize_t{2}});
    std::int64_t* out = times.mutable_data();
    std::string failure;
    {
        py::gil_scoped_release release;
        std::thread caller([&] {
            using clock = std::chrono::steady_clock;
            const auto period = std::chrono::duration_cast<clock::duration>(
                std::chrono::duration<double>(period_s));
            auto due = clock::now();
            py::gil_scoped_acquire thread_state;  // made once, as an audio API's thread keeps one
            for (std::size_t i = 0; i < n_calls; ++i) {
                due += period;
                clock::time_point woke;
                {
                    py::gil_scoped_release sleeping;
                    std::this_thread::sleep_until(due);
                    woke = clock::now();
                }  // takes the GIL back here
                const auto holding = clock::now();
                out[2 * i] = std::chrono::duration_cast<std::chrono::nanoseconds>(holding - woke).count();
                out[2 * i + 1] = std::chrono::duration_cast<std::chrono::nanoseconds>(woke - due).count();
                try {
                    callback();
                } catch (py::error_already_set& error) {
                    failure = error.what();
                    return;
                }
            }
        });
        caller.join();
    }
    if (!failure.empty()) throw std::runtime_error("time_python_calls: the callback raised " + failure);
    return times;
}

py::dict rain_core_abi() {
    constexpr raingan::RainCoreAbi abi = raingan::this_build_rain_core_abi();
    py::dict out;
    out["version"] = abi.version;
    out["core_size_bytes"] = abi.core_size_bytes;
    out["core_align_bytes"] = abi.core_align_bytes;
    out["layout_tag"] = abi.layout_tag;
    return out;
}

}  // namespace

PYBIND11_MODULE(_native, m) {
    m.doc() = "RainGAN native core: PGHI phase reconstruction, Fast Griffin-Lim kernels, "
              "the real-time RainCore and the shared-memory ShmRing.";

    py::class_<CAbiRenderer>(m, "CAbiRenderer", R"doc(raingan.ServedRainSource's render calls.

Renders through libraingan (raingan.h) into a (frames, channels) float32 buffer, or
(channels, frames) for render_planar, keeping the GIL; silence while detached. attach takes
the raingan_t* as an integer; detach before raingan_destroy.)doc")
        .def(py::init<std::size_t>(), py::arg("channels"))
        .def("attach", &CAbiRenderer::attach, py::arg("handle"))
        .def("detach", &CAbiRenderer::detach)
        .def_property_readonly("attached", &CAbiRenderer::attached)
        .def("render", &CAbiRenderer::render, py::arg("buffer"),
             "Fill buffer, shape (frames, channels), in place; returns frames.")
        .def("render_planar", &CAbiRenderer::render_planar, py::arg("buffer"),
             "Fill buffer, shape (channels, frames), in place; returns frames.");

    py::class_<PyRainCore>(m, "RainCore", R"doc(The real-time half of raingan.RainSource.

A lock-free ring of interleaved float32 frames that a producer thread writes, and render()
reads on the host's audio thread, with per-sample gain and width glides, a soft limiter, and
a crossfade into a pre-rendered seamless loop whenever the ring runs short.

Parameters
----------
capacity_frames : ring size in frames (rounded up to a power of two)
channels : 1 or 2
sample_rate_hz : the host's rate (sets the glide time)
loop_capacity_frames : room for the seamless fallback loop (see set_loop)
fade_frames : crossfade length, frames
resume_frames : after an underrun, frames the ring must hold before the stream returns
smoothing_s : time constant of gain and width glides, seconds)doc")
        .def(py::init<std::size_t, std::size_t, double, std::size_t, std::size_t,
                      std::size_t, double>(),
             py::arg("capacity_frames"), py::arg("channels"), py::arg("sample_rate_hz"),
             py::arg("loop_capacity_frames"), py::arg("fade_frames"), py::arg("resume_frames"),
             py::arg("smoothing_s"))
        .def("set_loop", &PyRainCore::set_loop, py::arg("loop").noconvert(),
             "Install the seamless fallback loop (shape (frames, channels), float32), once; "
             "until then an underrun fades to silence.")
        .def("write", &PyRainCore::write, py::arg("frames").noconvert(),
             "Producer side: copy frames (shape (n, channels), float32) into the ring; returns "
             "how many fitted.")
        .def("render", [](PyRainCore& self, const py::handle& buffer) { return self.render(buffer, false); },
             py::arg("buffer"),
             "Fill a (frames, channels) float32 C-contiguous buffer in place; returns frames. "
             "Keeps the GIL for buffers of up to 4096 frames (microseconds), releases it for "
             "longer ones.")
        .def("render_planar", [](PyRainCore& self, const py::handle& buffer) { return self.render(buffer, true); },
             py::arg("buffer"),
             "Fill a (channels, frames) float32 C-contiguous buffer in place; returns frames. "
             "Keeps the GIL for buffers of up to 4096 frames, as render does.")
        .def("wait_for_room", &PyRainCore::wait_for_room, py::arg("frames"), py::arg("timeout_s"),
             "Producer side: sleep without the GIL until fewer than `frames` frames are "
             "buffered, the core stops running, or timeout_s passes; returns whether fewer are.")
        .def("time_renders", &PyRainCore::time_renders, py::arg("frames"), py::arg("n_buffers"),
             py::arg("period_s"),
             "Benchmark: render n_buffers buffers paced period_s apart without the GIL; "
             "returns each call's duration, ns.")
        .def("set_gain_db", [](PyRainCore& self, float v) { self.core().set_gain_db(v); }, py::arg("gain_db"))
        .def("set_width", [](PyRainCore& self, float v) { self.core().set_width(v); }, py::arg("width"))
        .def("set_running", [](PyRainCore& self, bool v) { self.core().set_running(v); }, py::arg("running"))
        .def_property_readonly("running", [](PyRainCore& self) { return self.core().running(); })
        .def_property_readonly("readable_frames", [](PyRainCore& self) { return self.core().readable_frames(); })
        .def_property_readonly("writable_frames", [](PyRainCore& self) { return self.core().writable_frames(); })
        .def_property_readonly("capacity_frames", [](PyRainCore& self) { return self.core().capacity_frames(); })
        .def_property_readonly("channels", [](PyRainCore& self) { return self.core().channels(); })
        .def("stats", &PyRainCore::stats,
             "dict: underruns, loop_heard_frames (also as loop_frames, its former name), "
             "frames_rendered, frames_buffered, loop_ready.")
        .def("address", [](PyRainCore& self) { return reinterpret_cast<std::uintptr_t>(&self.core()); },
             "Address of the raingan::RainCore, for C++ hosts (raingan/embed.hpp); valid while "
             "this object lives. Check abi() first.")
        .def_static("abi", &rain_core_abi,
                    "dict: version, core_size_bytes, core_align_bytes, layout_tag of the "
                    "raingan::RainCore behind address(), which a C++ host must match "
                    "(raingan/core_abi.hpp).");

    bind_shm_ring(m);

    m.def("time_python_calls", &time_python_calls, py::arg("callback"), py::arg("n_calls"),
          py::arg("period_s"),
          "Benchmark: call callback() n_calls times, period_s apart, from a native thread that "
          "takes the GIL for each call, as an audio API calls a Python audio callback; returns "
          "(n_calls, 2) int64 ns: waking to holding the GIL, and the due time to waking.");
    raingan_bindings::add_dsp_kernels(m);
}
