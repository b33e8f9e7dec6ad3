// A 32-bit float WAV writer for the example hosts: no library needed to look at what they render.
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace wav_file {

template <typename T>
void put(std::ofstream& f, T value) {
    f.write(reinterpret_cast<const char*>(&value), sizeof(T));  // WAV is little-endian
}

// Interleaved samples to a 32-bit float WAV file, written under a temporary name and renamed,
// so no half file is left.
inline void write(const std::string& path, const std::vector<float>& samples, int channels,
                  int rate_hz) {
    const std::string temp = path + ".part";
    {
        std::ofstream f(temp, std::ios::binary);
        if (!f) throw std::runtime_error("cannot write " + path);
        const auto data_bytes = static_cast<std::uint32_t>(samples.size() * sizeof(float));
        f.write("RIFF", 4);
        put<std::uint32_t>(f, 36 + data_bytes);
        f.write("WAVEfmt ", 8);
        put<std::uint32_t>(f, 16);
        put<std::uint16_t>(f, 3);  // IEEE float
        put<std::uint16_t>(f, static_cast<std::uint16_t>(channels));
        put<std::uint32_t>(f, static_cast<std::uint32_t>(rate_hz));
        put<std::uint32_t>(f, static_cast<std::uint32_t>(rate_hz * channels * sizeof(float)));
        put<std::uint16_t>(f, static_cast<std::uint16_t>(channels * sizeof(float)));
        put<std::uint16_t>(f, 32);
        f.write("data", 4);
        put<std::uint32_t>(f, data_bytes);
        f.write(reinterpret_cast<const char*>(samples.data()), data_bytes);
        if (!f) throw std::runtime_error("cannot write " + path);
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        std::remove(temp.c_str());
        throw std::runtime_error("cannot write " + path);
    }
}

}  // namespace wav_file
