// RainGAN's LV2 plugin (urn:raingan:rain): a stereo generator on top of the C ABI (raingan.h).
//
// Threads, as LV2 classes them:
// - audio (run, work_response): only raingan_render_planar, the raingan_set_* setters and
//   raingan_stats, which are real-time safe, plus LV2's own atom and worker calls;
// - instantiation (instantiate, activate, deactivate, cleanup, state save/restore) and the
//   worker thread (work): everything that blocks, raingan_create and raingan_destroy included.
//
// A stream (raingan_t, with its producer process) is made in activate for the seed port's
// value and the model in the plugin's state. A seed or model change while active is made by
// the worker, which starts the new stream, waits until its ring is primed, and hands it to
// run(), which crossfades to it and hands the old one back to the worker to destroy. Without
// the host's worker, a seed change takes effect at the next activate.
#pragma once

#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/core/lv2.h>
#include <lv2/log/logger.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "raingan.h"

namespace raingan_lv2 {

constexpr const char* kUri = "urn:raingan:rain";
constexpr const char* kModelUri = "urn:raingan:rain#model";
// Written by `raingan plugin install` into the bundle: the interpreter that has raingan.
constexpr const char* kPythonFile = "raingan-python";

enum Port : std::uint32_t {
    kOutLeft = 0, kOutRight, kIntensity, kGain, kWidth, kSeed, kEnabled, kControl, kNotify,
    kUnderruns, kProducer, kPortCount
};

constexpr float kMaxSeed = 16777215.0f;      // the largest integer a float port holds exactly
constexpr double kCrossfadeS = 0.05;         // old stream to new one, equal power
constexpr double kEnableRampS = 0.01;        // on/off
constexpr std::uint32_t kScratchFrames = 4096;
constexpr std::uint32_t kMaxPathBytes = 2048;  // a model path sent through the worker
constexpr std::uint32_t kReadyTimeoutMs = 120000;

struct Uris {
    LV2_URID atom_path, atom_urid, atom_object, atom_sequence;
    LV2_URID patch_get, patch_set, patch_property, patch_value;
    LV2_URID model;
};

// The control values a new stream starts with, so that it joins at the old one's settings.
struct Settings {
    float intensity = 0.5f, gain_db = 0.0f, width = 1.0f;
};

// Worker messages. Job: run() or activate() to the worker; Reply: the worker to run().
enum class JobKind : std::uint32_t { Start = 1, Destroy = 2 };
struct Job {
    JobKind kind;
    std::uint32_t path_bytes;  // Start: bytes of the model path that follow (0: keep the model)
    std::uint64_t seed;
    Settings settings;
    raingan_t* handle;         // Destroy: the stream to destroy
};
struct Reply {
    raingan_t* handle;         // NULL when starting it failed
    std::uint64_t seed;
    raingan_status status;
    std::uint32_t path_bytes;  // the model path that follows, when it changed
};

struct Plugin {
    // Ports.
    float* out[2] = {nullptr, nullptr};
    const float* in[kPortCount] = {};
    const LV2_Atom_Sequence* control = nullptr;
    LV2_Atom_Sequence* notify = nullptr;
    float* underruns_out = nullptr;
    float* producer_out = nullptr;

    // Host features.
    LV2_URID_Map* map = nullptr;
    LV2_Worker_Schedule* schedule = nullptr;
    LV2_Log_Logger logger{};
    Uris uris{};
    LV2_Atom_Forge forge{};

    // Set in instantiate, read-only afterwards.
    std::uint32_t rate = 48000;
    std::string python;  // "" : libraingan's own search (RAINGAN_PYTHON, build Python, PATH)
    std::uint32_t crossfade_frames = 0, enable_ramp_frames = 0;
    float* scratch[2] = {nullptr, nullptr};

    // Off the audio thread: the model in the plugin's state ("": the bundled one).
    std::mutex model_mutex;
    std::string model;

    // Instantiation class only.
    bool active = false;
    bool restart_due = false;  // a restored model waits for the next activation

    // Audio thread (and the instantiation class, which never runs beside it).
    raingan_t* rain = nullptr;       // the stream playing
    raingan_t* incoming = nullptr;   // the stream fading in
    raingan_t* retiring = nullptr;   // faded out; to hand to the worker to destroy
    std::uint64_t seed = 0;          // rain's seed (incoming's while it fades in)
    bool job_pending = false;        // a Start job is out; one at a time
    std::uint32_t fade_pos = 0;
    std::uint64_t underruns_before = 0;  // underruns of the streams that played before rain
    float enable_gain = 1.0f;
    Settings applied{-1.0f, 1e9f, -1.0f};  // what the setters were last given
    char pending_model[kMaxPathBytes] = {};  // a patch:Set model waiting for the worker
    std::uint32_t pending_model_bytes = 0;
    char notify_model[kMaxPathBytes] = {};   // the model to report on notify ("" bundled)
    bool notify_due = false;
};

// plugin_worker.cpp: making and destroying streams (never on the audio thread), state, worker.
raingan_t* start_stream(Plugin& p, std::uint64_t seed, const std::string& model,
                        const Settings& settings, bool wait, raingan_status* status);
void destroy_stream(raingan_t* rain);
// Adds rain's underruns to p.underruns_before, for the plugin's running count.
void count_underruns(Plugin& p, raingan_t* rain);
const void* extension_data(const char* uri);

// plugin.cpp: the current control values, clamped into range.
Settings port_settings(const Plugin& p);
std::uint64_t port_seed(const Plugin& p);

}  // namespace raingan_lv2
