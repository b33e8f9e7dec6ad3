// A C++ host that embeds Python and RainGAN (raingan/embed.hpp): renders rain on its own audio
// thread in fixed-size buffers, paced like a sound card, and writes it to a 32-bit float WAV
// file. Hosts that should not embed Python use the C ABI (examples/cpp_host).
//
//   raingan_embed_host OUT.wav [--seconds 10] [--model M.onnx] [--seed 1] [--buffer 512]
//                            [--rate 48000] [--speed 1]
//
// --speed N paces the audio thread N times faster than real time (tests use it).
#include <pybind11/embed.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "raingan/embed.hpp"
#include "wav_file.hpp"

namespace py = pybind11;

namespace {

struct Options {
    std::string out_path;
    std::string model;
    double seconds = 10.0;
    long seed = 1;
    std::size_t buffer_frames = 512;
    int sample_rate_hz = 48000;
    double speed = 1.0;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--seconds") o.seconds = std::stod(value());
        else if (arg == "--model") o.model = value();
        else if (arg == "--seed") o.seed = std::stol(value());
        else if (arg == "--buffer") o.buffer_frames = std::stoul(value());
        else if (arg == "--rate") o.sample_rate_hz = std::stoi(value());
        else if (arg == "--speed") o.speed = std::stod(value());
        else if (!arg.empty() && arg[0] == '-') throw std::invalid_argument("unknown option " + arg);
        else o.out_path = arg;
    }
    if (o.out_path.empty()) throw std::invalid_argument("usage: raingan_embed_host OUT.wav [options]");
    if (!(o.seconds > 0) || o.buffer_frames == 0 || !(o.speed > 0))
        throw std::invalid_argument("--seconds, --buffer and --speed must be positive");
    return o;
}

int render_to_file(const Options& o);

int run(const Options& o) {
    py::scoped_interpreter python;
    try {
        return render_to_file(o);
    } catch (const py::error_already_set& e) {
        // Turned into a plain exception while the interpreter still lives.
        throw std::runtime_error(e.what());
    }
}

int render_to_file(const Options& o) {
#ifdef RAINGAN_PYTHON_SITE
    py::module_::import("site").attr("addsitedir")(RAINGAN_PYTHON_SITE);
#endif
    py::dict settings(py::arg("sample_rate") = o.sample_rate_hz, py::arg("channels") = 2,
                      py::arg("seed") = o.seed);
    if (!o.model.empty()) settings["model"] = o.model;
    raingan::EmbeddedRainSource rain(settings);
    const std::size_t channels = rain.channels();
    const auto total_frames = static_cast<std::size_t>(o.seconds * o.sample_rate_hz);
    const std::size_t n_buffers = (total_frames + o.buffer_frames - 1) / o.buffer_frames;
    std::vector<float> recording(n_buffers * o.buffer_frames * channels);

    rain.start();
    {
        py::gil_scoped_release free_python;  // the producer thread runs Python
        std::thread audio([&] {
            // The audio thread: pure C++, one render per buffer period.
            using clock = std::chrono::steady_clock;
            const auto period = std::chrono::duration_cast<clock::duration>(
                std::chrono::duration<double>(o.buffer_frames / (o.sample_rate_hz * o.speed)));
            auto next = clock::now();
            for (std::size_t i = 0; i < n_buffers; ++i) {
                std::this_thread::sleep_until(next);
                rain.render(recording.data() + i * o.buffer_frames * channels, o.buffer_frames);
                next += period;
            }
        });
        audio.join();
    }
    rain.stop();
    recording.resize(total_frames * channels);
    wav_file::write(o.out_path, recording, static_cast<int>(channels), o.sample_rate_hz);
    const py::dict stats = rain.stats();
    std::cout << "wrote " << o.out_path << " (" << o.seconds << " s, " << channels
              << " channels, " << o.sample_rate_hz << " Hz); underruns "
              << stats["underruns"].cast<long>() << ", producer load "
              << stats["producer_load"].cast<double>() << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        // pybind11::error_already_set's message ends with the Python exception's line.
        std::string message = e.what();
        const auto newline = message.find('\n');
        std::cerr << "raingan_embed_host: " << message.substr(0, newline) << std::endl;
        return 2;
    }
}
