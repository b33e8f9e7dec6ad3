// RainGAN's VST3 and CLAP plugins, built with DPF from this one file: the LV2 plugin's
// generator (bindings/lv2) on the same C ABI (raingan.h), with the same knobs.
//
// Threads:
// - audio (run, and setParameterValue, which hosts may call from it): only
//   raingan_render_planar, the raingan_set_* setters, raingan_stats and atomics;
// - the host's main thread (constructor, activate, deactivate, setState, destructor): makes the
//   first stream without waiting for it;
// - the plugin's starter thread: makes the stream a seed or model change asks for, waits until
//   its ring is primed and hands it to run(), which crossfades to it and hands the old one
//   back to be destroyed. It is the LV2 worker's counterpart; neither format has one.
//
// The interpreter that runs the producer (`python -m raingan serve`) is named in the
// raingan-python file beside the plugin's binary, which `raingan plugin install` writes.

#include "DistrhoPlugin.hpp"
#include "DistrhoPluginUtils.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "raingan.h"
#include "raingan/plugin_mix.hpp"

START_NAMESPACE_DISTRHO

namespace {

enum Parameters : uint32_t {
    kIntensity = 0, kGain, kWidth, kSeed, kEnabled, kUnderruns, kProducer, kParameterCount
};

constexpr float kMaxSeed = 16777215.0f;  // the largest integer a float parameter holds exactly
constexpr double kCrossfadeS = 0.05;
constexpr double kEnableRampS = 0.01;
constexpr uint32_t kScratchFrames = 4096;
constexpr uint32_t kReadyTimeoutMs = 120000;
constexpr uint32_t kReadySliceMs = 50;  // how soon a waiting starter notices the plugin going
constexpr const char* kModelKey = "model";
constexpr const char* kPythonFile = "raingan-python";

// The interpreter named beside the plugin's binary, unless RAINGAN_PYTHON names one.
std::string binary_python() {
    if (const char* env = std::getenv("RAINGAN_PYTHON"); env && *env) return {};
    std::string path = getBinaryFilename();
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return {};
    std::ifstream file(path.substr(0, slash + 1) + kPythonFile);
    std::string line;
    if (file && std::getline(file, line)) return line;
    return {};
}

}  // namespace

class RainPlugin : public Plugin {
public:
    RainPlugin() : Plugin(kParameterCount, 0, 1), python_(binary_python()) {
        store(kIntensity, 0.5f);
        store(kWidth, 1.0f);
        store(kEnabled, 1.0f);
        for (float*& s : scratch_) s = new float[kScratchFrames]();
        starter_ = std::thread([this] { start_streams(); });
    }

    ~RainPlugin() override {
        {
            std::lock_guard<std::mutex> lock(mutex_);  // the starter is waiting or working
            quitting_.store(true, std::memory_order_relaxed);
        }
        wake_.notify_all();
        starter_.join();
        for (raingan_t* rain : {rain_, incoming_, ready_.exchange(nullptr), retired_.exchange(nullptr)})
            if (rain) raingan_destroy(rain);
        for (float* s : scratch_) delete[] s;
    }

protected:
    const char* getLabel() const override { return "RainGAN"; }
    const char* getDescription() const override {
        return "Endless rain from a GAN trained on rain recordings; the generator runs in its own "
               "process.";
    }
    const char* getMaker() const override { return "RainGAN"; }
    const char* getHomePage() const override { return "https://github.com/raingan/raingan"; }
    const char* getLicense() const override { return "MIT"; }
    uint32_t getVersion() const override { return d_version(0, 1, 0); }
    int64_t getUniqueId() const override { return d_cconst('R', 'g', 'a', 'n'); }

    void initAudioPort(bool input, uint32_t index, AudioPort& port) override {
        port.groupId = kPortGroupStereo;
        Plugin::initAudioPort(input, index, port);
    }

    void initParameter(uint32_t index, Parameter& p) override {
        p.hints = kParameterIsAutomatable;
        switch (index) {
            case kIntensity: set(p, "intensity", "Intensity", "", 0.0f, 1.0f, 0.5f); break;
            case kGain: set(p, "gain", "Gain", "dB", -120.0f, 24.0f, 0.0f); break;
            case kWidth: set(p, "width", "Width", "", 0.0f, 1.0f, 1.0f); break;
            case kSeed:
                set(p, "seed", "Seed", "", 0.0f, kMaxSeed, 0.0f);
                p.hints |= kParameterIsInteger;
                break;
            case kEnabled:
                set(p, "enabled", "On", "", 0.0f, 1.0f, 1.0f);
                p.hints |= kParameterIsBoolean | kParameterIsInteger;
                break;
            case kUnderruns:
                set(p, "underruns", "Underruns", "", 0.0f, kMaxSeed, 0.0f);
                p.hints = kParameterIsOutput | kParameterIsInteger;
                break;
            case kProducer:
                set(p, "producer", "Producer", "", 0.0f, 3.0f, 0.0f);
                p.hints = kParameterIsOutput | kParameterIsInteger;
                break;
        }
    }

    void initState(uint32_t, State& state) override {
        state.key = kModelKey;
        state.label = "Model";
        state.defaultValue = "";  // the bundled model
        state.hints = kStateIsFilenamePath | kStateIsOnlyForDSP;
    }

    float getParameterValue(uint32_t index) const override {
        return index < kParameterCount ? load(index) : 0.0f;
    }

    void setParameterValue(uint32_t index, float value) override {
        if (index >= kUnderruns || !std::isfinite(value)) return;
        store(index, value);  // the starter polls the seed: no wake-up call from here
        if (index == kSeed) wanted_seed_.store(seed_of(value), std::memory_order_relaxed);
    }

    String getState(const char* key) const override {
        if (std::strcmp(key, kModelKey) != 0) return String();
        std::lock_guard<std::mutex> lock(mutex_);
        return String(model_.c_str());
    }

    void setState(const char* key, const char* value) override {
        if (std::strcmp(key, kModelKey) != 0 || !value) return;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (model_ == value) return;
            model_ = value;
            ++model_generation_;
        }
        wake_.notify_one();
    }

    void activate() override {
        crossfade_frames_ = static_cast<uint32_t>(kCrossfadeS * getSampleRate());
        enable_step_ = 1.0f / static_cast<float>(kEnableRampS * getSampleRate());
        const auto rate = static_cast<uint32_t>(std::lround(getSampleRate()));
        std::unique_lock<std::mutex> lock(mutex_);
        if (rain_ && rate_ == rate) return;
        // The first activation, or a new rate, which needs a new stream: the old ones go.
        rate_ = rate;
        raingan_t* old[] = {rain_, incoming_, ready_.exchange(nullptr)};
        incoming_ = nullptr;
        made_seed_ = wanted_seed_.load(std::memory_order_relaxed);
        made_generation_ = model_generation_;
        rain_ = make_stream(rate, made_seed_, model_, false);  // null: silence, and it said why
        applied_[0] = -1.0f;  // the knobs go to the new stream in full
        lock.unlock();
        for (raingan_t* rain : old)
            if (rain) raingan_destroy(rain);
    }

    void run(const float**, float** outputs, uint32_t frames) override {
        if (!incoming_) {
            if (raingan_t* fresh = ready_.exchange(nullptr, std::memory_order_acquire)) {
                if (rain_) {
                    incoming_ = fresh;
                    fade_pos_ = 0;
                } else {  // after silence: nothing to fade from
                    rain_ = fresh;
                    applied_[0] = -1.0f;
                }
            }
        }
        if (retiring_ && !retired_.load(std::memory_order_relaxed)) {
            retired_.store(retiring_, std::memory_order_release);  // the starter polls it
            retiring_ = nullptr;
        }
        const bool on = load(kEnabled) > 0.5f;
        if (!rain_ || (!on && enable_gain_ == 0.0f)) {
            for (int c = 0; c < 2; ++c) std::memset(outputs[c], 0, sizeof(float) * frames);
        } else {
            apply_settings();
            const uint32_t step = incoming_ ? kScratchFrames : RAINGAN_MAX_FRAMES;
            for (uint32_t done = 0; done < frames;) {
                const uint32_t n = frames - done < step ? frames - done : step;
                render(outputs, done, n);
                done += n;
            }
            enable_gain_ = raingan::ramp_enable(outputs, 2, frames, enable_gain_, on, enable_step_);
        }
        raingan_stats_t stats{};
        if (rain_ && raingan_stats(rain_, &stats) == RAINGAN_OK) {
            store(kUnderruns, static_cast<float>(underruns_before_ + stats.underruns));
            store(kProducer, static_cast<float>(stats.producer_state));
        } else {
            store(kProducer, static_cast<float>(RAINGAN_PRODUCER_FAILED));
        }
    }

private:
    static void set(Parameter& p, const char* symbol, const char* name, const char* unit,
                    float min, float max, float def) {
        p.symbol = symbol;
        p.name = name;
        p.unit = unit;
        p.ranges.min = min;
        p.ranges.max = max;
        p.ranges.def = def;
    }

    static uint64_t seed_of(float value) {
        return static_cast<uint64_t>(std::lround(std::fmin(kMaxSeed, std::fmax(0.0f, value))));
    }

    float load(uint32_t index) const { return values_[index].load(std::memory_order_relaxed); }
    void store(uint32_t index, float value) { values_[index].store(value, std::memory_order_relaxed); }

    float clamped(uint32_t index, float low, float high) const {
        return std::fmin(high, std::fmax(low, load(index)));
    }

    // The knobs whose values moved go to the playing stream, all of them to one fading in;
    // the C ABI glides each change.
    void apply_settings() {
        const float intensity = clamped(kIntensity, 0.0f, 1.0f);
        const float gain_db = clamped(kGain, -120.0f, 24.0f);
        const float width = clamped(kWidth, 0.0f, 1.0f);
        if (intensity != applied_[0]) raingan_set_intensity(rain_, intensity);
        if (gain_db != applied_[1]) raingan_set_gain_db(rain_, gain_db);
        if (width != applied_[2]) raingan_set_width(rain_, width);
        if (incoming_) {
            raingan_set_intensity(incoming_, intensity);
            raingan_set_gain_db(incoming_, gain_db);
            raingan_set_width(incoming_, width);
        }
        applied_[0] = intensity;
        applied_[1] = gain_db;
        applied_[2] = width;
    }

    void render(float** outputs, uint32_t offset, uint32_t frames) {
        float* dest[2] = {outputs[0] + offset, outputs[1] + offset};
        raingan_render_planar(rain_, dest, frames);
        if (!incoming_) return;
        raingan_render_planar(incoming_, scratch_, frames);
        raingan::crossfade_in(dest, scratch_, 2, frames, fade_pos_, crossfade_frames_);
        fade_pos_ += frames;
        if (fade_pos_ >= crossfade_frames_) {
            raingan_stats_t stats{};
            if (raingan_stats(rain_, &stats) == RAINGAN_OK) underruns_before_ += stats.underruns;
            retiring_ = rain_;
            rain_ = incoming_;
            incoming_ = nullptr;
        }
    }

    // A stream that starts at the knobs' settings; `wait`: once its ring is primed.
    raingan_t* make_stream(uint32_t rate, uint64_t seed, const std::string& model, bool wait) {
        raingan_config config;
        raingan_config_init(&config);
        config.sample_rate_hz = rate;
        config.channels = 2;
        config.seed = seed;
        config.model_path = model.empty() ? nullptr : model.c_str();
        config.python_path = python_.empty() ? nullptr : python_.c_str();
        raingan_t* rain = nullptr;
        if (raingan_create(&config, &rain) != RAINGAN_OK) {
            d_stderr("RainGAN: cannot start the generator%s%s", model.empty() ? "" : " for ",
                     model.c_str());
            return nullptr;
        }
        raingan_set_intensity(rain, clamped(kIntensity, 0.0f, 1.0f));
        raingan_set_gain_db(rain, clamped(kGain, -120.0f, 24.0f));
        raingan_set_width(rain, clamped(kWidth, 0.0f, 1.0f));
        if (!wait) return rain;
        // In slices, so that destroying the plugin never waits for a producer's start.
        raingan_status status = RAINGAN_ERROR_TIMEOUT;
        for (uint32_t waited = 0; status == RAINGAN_ERROR_TIMEOUT && waited < kReadyTimeoutMs &&
                                  !quitting_.load(std::memory_order_relaxed);
             waited += kReadySliceMs)
            status = raingan_wait_ready(rain, kReadySliceMs);
        if (status == RAINGAN_ERROR_PRODUCER_FAILED || quitting_.load(std::memory_order_relaxed)) {
            if (status == RAINGAN_ERROR_PRODUCER_FAILED) {
                char message[512];
                raingan_producer_message(rain, message, sizeof message);
                d_stderr("RainGAN: the generator failed: %s", message);
            }
            raingan_destroy(rain);
            return nullptr;
        }
        return rain;  // a timeout is not fatal: the ring fills later
    }

    // The starter thread: destroys what run() retired, and makes the stream that the seed or
    // the model now asks for, one at a time.
    void start_streams() {
        std::unique_lock<std::mutex> lock(mutex_);
        while (!quitting_.load(std::memory_order_relaxed)) {
            wake_.wait_for(lock, std::chrono::milliseconds(20));
            if (raingan_t* old = retired_.exchange(nullptr, std::memory_order_acquire)) {
                lock.unlock();
                raingan_destroy(old);
                lock.lock();
            }
            const uint64_t seed = wanted_seed_.load(std::memory_order_relaxed);
            const bool wanted = rate_ != 0 && (seed != made_seed_ || model_generation_ != made_generation_);
            if (quitting_.load(std::memory_order_relaxed) || !wanted ||
                ready_.load(std::memory_order_relaxed))
                continue;
            const std::string model = model_;
            const uint64_t generation = model_generation_;
            const uint32_t rate = rate_;
            lock.unlock();
            raingan_t* fresh = make_stream(rate, seed, model, true);
            lock.lock();
            made_seed_ = seed;  // a failed start is not retried until the seed or model moves
            made_generation_ = generation;
            if (fresh && rate != rate_) {  // activate moved to another rate meanwhile
                lock.unlock();
                raingan_destroy(fresh);
                lock.lock();
            } else if (fresh) {
                ready_.store(fresh, std::memory_order_release);
            }
        }
    }

    // Audio thread.
    raingan_t* rain_ = nullptr;
    raingan_t* incoming_ = nullptr;
    raingan_t* retiring_ = nullptr;
    float applied_[3] = {-1.0f, 1e9f, -1.0f};
    uint32_t fade_pos_ = 0;
    uint64_t underruns_before_ = 0;
    float enable_gain_ = 1.0f;
    float* scratch_[2] = {nullptr, nullptr};
    uint32_t crossfade_frames_ = 1;
    float enable_step_ = 1.0f;

    // Between the threads: the parameters (the starter reads the knobs for a new stream).
    std::atomic<float> values_[kParameterCount] = {};
    std::atomic<uint64_t> wanted_seed_{0};
    std::atomic<raingan_t*> ready_{nullptr};    // starter -> run(): primed, not yet playing
    std::atomic<raingan_t*> retired_{nullptr};  // run() -> starter: to destroy

    // The main thread and the starter, under mutex_.
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::string model_;  // "": the bundled model
    uint64_t model_generation_ = 0, made_generation_ = 0, made_seed_ = 0;
    uint32_t rate_ = 0;
    std::atomic<bool> quitting_{false};  // the destructor to the starter

    const std::string python_;
    std::thread starter_;

    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(RainPlugin)
};

Plugin* createPlugin() { return new RainPlugin(); }

END_NAMESPACE_DISTRHO
