// A C++ host on RainGAN's C ABI (raingan.h, libraingan): renders rain on its own audio
// thread in fixed-size buffers, paced like a sound card, and writes it to a 32-bit float WAV
// file. The generator runs in a `raingan serve` process that libraingan starts; this program
// embeds no Python.
//
//   raingan_cpp_host OUT.wav [--seconds 10] [--model M.onnx] [--seed 1] [--buffer 512]
//                            [--rate 48000] [--speed 1]
//
// --speed N paces the audio thread N times faster than real time (tests use it).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "raingan.h"
#include "wav_file.hpp"

namespace {

struct Options {
    std::string out_path;
    std::string model;
    double seconds = 10.0;
    unsigned long long seed = 1;
    std::size_t buffer_frames = 512;
    unsigned sample_rate_hz = 48000;
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
        else if (arg == "--seed") o.seed = std::stoull(value());
        else if (arg == "--buffer") o.buffer_frames = std::stoul(value());
        else if (arg == "--rate") o.sample_rate_hz = static_cast<unsigned>(std::stoul(value()));
        else if (arg == "--speed") o.speed = std::stod(value());
        else if (!arg.empty() && arg[0] == '-') throw std::invalid_argument("unknown option " + arg);
        else o.out_path = arg;
    }
    if (o.out_path.empty()) throw std::invalid_argument("usage: raingan_cpp_host OUT.wav [options]");
    if (!(o.seconds > 0) || o.buffer_frames == 0 || o.buffer_frames > RAINGAN_MAX_FRAMES ||
        !(o.speed > 0))
        throw std::invalid_argument("--seconds, --buffer (up to 65536) and --speed must be positive");
    return o;
}

// A status other than RAINGAN_OK as one line.
void check(raingan_status status, const std::string& doing) {
    if (status != RAINGAN_OK) throw std::runtime_error(doing + ": " + raingan_status_text(status));
}

int render_to_file(const Options& o) {
    // A library from another release of this header would misread its structs.
    if (raingan_abi_version() != RAINGAN_ABI_VERSION)
        throw std::runtime_error("libraingan's ABI version " +
                                 std::to_string(raingan_abi_version()) +
                                 " does not match this program's raingan.h (version " +
                                 std::to_string(RAINGAN_ABI_VERSION) + ")");
    raingan_config config;
    check(raingan_config_init(&config), "config");
    config.sample_rate_hz = o.sample_rate_hz;
    config.channels = 2;
    config.seed = o.seed;
    config.model_path = o.model.empty() ? nullptr : o.model.c_str();
#ifdef RAINGAN_HOST_PYTHON
    config.python_path = RAINGAN_HOST_PYTHON;  // the interpreter this was built against
#endif
    raingan_t* handle = nullptr;
    const raingan_status created = raingan_create(&config, &handle);
    if (created == RAINGAN_ERROR_MODEL_NOT_FOUND)
        throw std::runtime_error(o.model + ": no such model file");
    check(created, "raingan_create");
    std::unique_ptr<raingan_t, raingan_status (*)(raingan_t*)> rain(handle, raingan_destroy);
    if (raingan_wait_ready(rain.get(), 120000) != RAINGAN_OK) {
        char message[512];
        raingan_producer_message(rain.get(), message, sizeof message);
        throw std::runtime_error(std::string("the producer did not start: ") + message);
    }

    const std::size_t channels = config.channels;
    const auto total_frames = static_cast<std::size_t>(o.seconds * o.sample_rate_hz);
    const std::size_t n_buffers = (total_frames + o.buffer_frames - 1) / o.buffer_frames;
    std::vector<float> recording(n_buffers * o.buffer_frames * channels);
    std::thread audio([&] {
        // The audio thread: one render per buffer period; no allocation, lock or Python.
        using clock = std::chrono::steady_clock;
        const auto period = std::chrono::duration_cast<clock::duration>(
            std::chrono::duration<double>(o.buffer_frames / (o.sample_rate_hz * o.speed)));
        auto next = clock::now();
        for (std::size_t i = 0; i < n_buffers; ++i) {
            std::this_thread::sleep_until(next);
            raingan_render_interleaved(rain.get(), recording.data() + i * o.buffer_frames * channels,
                                       static_cast<std::uint32_t>(o.buffer_frames));
            next += period;
        }
    });
    audio.join();
    raingan_stats_t stats;
    check(raingan_stats(rain.get(), &stats), "raingan_stats");
    rain.reset();  // stops the producer
    recording.resize(total_frames * channels);
    wav_file::write(o.out_path, recording, static_cast<int>(channels),
              static_cast<int>(o.sample_rate_hz));
    std::cout << "wrote " << o.out_path << " (" << o.seconds << " s, " << channels
              << " channels, " << o.sample_rate_hz << " Hz); underruns " << stats.underruns
              << ", producer restarts " << stats.producer_restarts << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return render_to_file(parse(argc, argv));
    } catch (const std::exception& e) {
        std::cerr << "raingan_cpp_host: " << e.what() << std::endl;
        return 2;
    }
}
