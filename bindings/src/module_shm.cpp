// raingan._native.ShmRing: the Python face of raingan::ShmRing (raingan/shm_ring.hpp), the
// shared-memory ring that `raingan serve` writes and the C ABI (raingan.h) reads. A thin
// layer, by module.cpp's conventions: arrays are float32 and C-contiguous without implicit
// conversion, shapes are checked with the GIL held, and copies run with it released.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "raingan/shm_ring.hpp"

namespace py = pybind11;

namespace {

using FloatArray = py::array_t<float, py::array::c_style>;

const char* state_name(std::uint32_t state) {
    switch (static_cast<raingan::ProducerState>(state)) {
        case raingan::ProducerState::None: return "none";
        case raingan::ProducerState::Loading: return "loading";
        case raingan::ProducerState::Streaming: return "streaming";
        case raingan::ProducerState::Failed: return "failed";
    }
    return "unknown";
}

class PyShmRing {
public:
    explicit PyShmRing(std::unique_ptr<raingan::ShmRing> ring) : ring_(std::move(ring)) {}

    static PyShmRing create(const std::string& name, std::uint32_t channels,
                            std::uint32_t sample_rate_hz, std::uint64_t capacity_frames,
                            std::uint64_t target_frames, std::uint64_t loop_capacity_frames) {
        raingan::ShmRingLayout layout{channels, sample_rate_hz, capacity_frames, target_frames,
                                      loop_capacity_frames};
        return PyShmRing(raingan::ShmRing::create(name, layout, static_cast<std::int32_t>(getpid())));
    }

    static PyShmRing attach(const std::string& name) {
        return PyShmRing(raingan::ShmRing::attach(name));
    }

    // The producer says it is there (this pid, loading), with a first heartbeat.
    void claim() {
        raingan::ShmRingHeader& h = header();
        h.producer_pid.store(static_cast<std::int32_t>(getpid()), std::memory_order_relaxed);
        h.producer_flags.store(0, std::memory_order_relaxed);
        h.producer_state.store(static_cast<std::uint32_t>(raingan::ProducerState::Loading),
                               std::memory_order_release);
        beat();
    }

    std::size_t write(const FloatArray& frames) {
        check_frames(frames, "write");
        const float* data = frames.data();
        const auto n = static_cast<std::size_t>(frames.shape(0));
        raingan::FrameRing ring = shm().ring();
        py::gil_scoped_release release;
        return ring.write(data, n);
    }

    FloatArray read(std::size_t max_frames) {
        raingan::FrameRing ring = shm().ring();
        const std::size_t n = std::min(max_frames, ring.readable_frames());
        FloatArray out({n, ring.channels()});
        float* data = out.mutable_data();
        std::size_t got = 0;
        {
            py::gil_scoped_release release;
            got = ring.read(data, n);
        }
        if (got != n) out.resize({got, ring.channels()});  // only if another consumer read too
        return out;
    }

    void set_loop(const FloatArray& frames) {
        check_frames(frames, "set_loop");
        const float* data = frames.data();
        const auto n = static_cast<std::size_t>(frames.shape(0));
        bool written = false;
        {
            py::gil_scoped_release release;
            written = shm().set_loop(data, n);
        }
        if (!written)
            throw std::invalid_argument("ShmRing.set_loop: a loop is there already, or this one "
                                        "is empty or longer than the loop capacity (" +
                                        std::to_string(header().loop_capacity_frames) + " frames)");
    }

    void beat() { header().heartbeat.fetch_add(1, std::memory_order_release); }

    void set_streaming(bool has_intensity_axis) {
        raingan::ShmRingHeader& h = header();
        h.producer_flags.store(has_intensity_axis ? raingan::kProducerHasIntensityAxis : 0u,
                               std::memory_order_relaxed);
        h.producer_state.store(static_cast<std::uint32_t>(raingan::ProducerState::Streaming),
                               std::memory_order_release);
    }

    py::object intensity() {
        const float value = raingan::ShmRing::bits_float(
            header().intensity_bits.load(std::memory_order_relaxed));
        return std::isnan(value) ? py::none() : py::object(py::float_(value));
    }

    void set_intensity(const py::object& value) {
        const float v = value.is_none() ? NAN : value.cast<float>();
        if (!value.is_none() && !(v >= 0.0f && v <= 1.0f))
            throw std::invalid_argument("ShmRing.intensity must be None or 0 to 1");
        header().intensity_bits.store(raingan::ShmRing::float_bits(v), std::memory_order_relaxed);
    }

    std::string message() {
        const raingan::ShmRingHeader& h = header();
        return std::string(h.message, strnlen(h.message, raingan::kShmMessageBytes));
    }

    raingan::ShmRing& shm() {
        if (!ring_) throw std::invalid_argument("ShmRing: closed");
        return *ring_;
    }
    raingan::ShmRingHeader& header() { return shm().header(); }
    void close() { ring_.reset(); }

private:
    void check_frames(const FloatArray& frames, const char* what) {
        if (frames.ndim() != 2 || static_cast<std::size_t>(frames.shape(1)) != shm().channels())
            throw std::invalid_argument(std::string("ShmRing.") + what +
                                        ": frames must have shape (frames, " +
                                        std::to_string(shm().channels()) + ")");
    }

    std::unique_ptr<raingan::ShmRing> ring_;
};

template <class Getter>
auto header_field(Getter getter) {
    return [getter](PyShmRing& self) { return getter(self.header()); };
}

}  // namespace

void bind_shm_ring(py::module_& m) {
    using H = raingan::ShmRingHeader;
    constexpr auto relaxed = std::memory_order_relaxed;
    py::class_<PyShmRing>(m, "ShmRing", R"doc(A shared-memory ring of interleaved float32 frames.

The consumer (the C ABI, raingan.h) creates it; `raingan serve` attaches to it by name and
writes. Layout and protocol: raingan/shm_ring.hpp. Use create() or attach(), not the
constructor; close() unmaps it (and unlinks the name, for its creator).)doc")
        .def_static("create", &PyShmRing::create, py::arg("name"), py::arg("channels"),
                    py::arg("sample_rate_hz"), py::arg("capacity_frames"),
                    py::arg("target_frames"), py::arg("loop_capacity_frames"),
                    "Consumer: create the segment `name` exclusively (this process is its "
                    "consumer, and unlinks it on close()).")
        .def_static("attach", &PyShmRing::attach, py::arg("name"),
                    "Map an existing ring and check that it is one of this version; "
                    "ValueError names what is wrong.")
        .def("claim", &PyShmRing::claim,
             "Producer: mark this process as the ring's producer (loading), and beat once.")
        .def("write", &PyShmRing::write, py::arg("frames").noconvert(),
             "Producer: copy (n, channels) float32 frames in; returns how many fitted.")
        .def("read", &PyShmRing::read, py::arg("max_frames"),
             "Consumer: take up to max_frames frames out, as a (frames, channels) array.")
        .def("set_loop", &PyShmRing::set_loop, py::arg("frames").noconvert(),
             "Producer: write the fallback loop, (frames, channels) float32, once.")
        .def("beat", &PyShmRing::beat, "Producer: one heartbeat (the consumer's watchdog "
                                       "restarts a producer whose heartbeat stops).")
        .def("set_streaming", &PyShmRing::set_streaming, py::arg("has_intensity_axis"),
             "Producer: the model is loaded and audio flows.")
        .def("fail", [](PyShmRing& self, const std::string& reason) { self.shm().fail(reason); },
             py::arg("reason"), "Producer: give up, with one line of reason, before exiting.")
        .def("request_stop", [](PyShmRing& self) { self.header().stop_requested.store(1); },
             "Consumer: ask the producer to exit.")
        .def("close", &PyShmRing::close)
        .def_property("intensity", &PyShmRing::intensity, &PyShmRing::set_intensity,
                      "The consumer's intensity target, 0-1, or None (released).")
        .def_property_readonly("name", [](PyShmRing& self) { return self.shm().name(); })
        .def_property_readonly("message", &PyShmRing::message)
        .def_property_readonly("channels", header_field([](H& h) { return h.channels; }))
        .def_property_readonly("sample_rate_hz", header_field([](H& h) { return h.sample_rate_hz; }))
        .def_property_readonly("capacity_frames", header_field([](H& h) { return h.capacity_frames; }))
        .def_property_readonly("target_frames", header_field([](H& h) { return h.target_frames; }))
        .def_property_readonly("loop_capacity_frames",
                               header_field([](H& h) { return h.loop_capacity_frames; }))
        .def_property_readonly("consumer_pid", header_field([](H& h) { return h.consumer_pid; }))
        .def_property_readonly("has_loop",
                               header_field([](H& h) { return h.loop_frames.load() != 0; }))
        .def_property_readonly("stop_requested",
                               header_field([](H& h) { return h.stop_requested.load() != 0; }))
        .def_property_readonly("heartbeat", header_field([](H& h) { return h.heartbeat.load(relaxed); }))
        .def_property_readonly("producer_pid", header_field([](H& h) { return h.producer_pid.load(); }))
        .def_property_readonly("producer_state",
                               header_field([](H& h) { return state_name(h.producer_state.load()); }))
        .def_property_readonly("readable_frames",
                               [](PyShmRing& self) { return self.shm().ring().readable_frames(); })
        .def_property_readonly("writable_frames",
                               [](PyShmRing& self) { return self.shm().ring().writable_frames(); });
}
