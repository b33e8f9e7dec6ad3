// RainGAN's LV2 plugin: lifecycle and run() (plugin.hpp says which thread does what).
#include "plugin.hpp"

#include "raingan/plugin_mix.hpp"

#include <lv2/atom/util.h>
#include <lv2/log/log.h>
#include <lv2/patch/patch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>

namespace raingan_lv2 {

namespace {

const LV2_Feature* feature(const LV2_Feature* const* features, const char* uri) {
    for (std::size_t i = 0; features && features[i]; ++i)
        if (std::strcmp(features[i]->URI, uri) == 0) return features[i];
    return nullptr;
}

// The interpreter named in the bundle's raingan-python file, unless RAINGAN_PYTHON says one.
std::string bundle_python(const char* bundle_path) {
    if (const char* env = std::getenv("RAINGAN_PYTHON"); env && *env) return {};
    std::ifstream file(std::string(bundle_path) + "/" + kPythonFile);
    std::string line;
    if (file && std::getline(file, line)) return line;
    return {};
}

float value_or(const float* port, float fallback) {
    return port && std::isfinite(*port) ? *port : fallback;
}

void cleanup(LV2_Handle instance);

LV2_Handle instantiate(const LV2_Descriptor*, double rate, const char* bundle_path,
                       const LV2_Feature* const* features) {
    Plugin* p = new (std::nothrow) Plugin();
    if (!p) return nullptr;
    try {
        if (const LV2_Feature* f = feature(features, LV2_LOG__log)) lv2_log_logger_init(&p->logger, nullptr, static_cast<LV2_Log_Log*>(f->data));
        const LV2_Feature* map = feature(features, LV2_URID__map);
        if (!map) {
            lv2_log_error(&p->logger, "RainGAN: the host gives no urid:map\n");
            delete p;
            return nullptr;
        }
        p->map = static_cast<LV2_URID_Map*>(map->data);
        lv2_log_logger_set_map(&p->logger, p->map);
        if (const LV2_Feature* f = feature(features, LV2_WORKER__schedule))
            p->schedule = static_cast<LV2_Worker_Schedule*>(f->data);
        if (!(rate >= 8000.0 && rate <= 192000.0)) {
            lv2_log_error(&p->logger, "RainGAN: sample rate %.0f Hz is outside 8000 to 192000\n", rate);
            delete p;
            return nullptr;
        }
        p->rate = static_cast<std::uint32_t>(std::lround(rate));
        p->python = bundle_python(bundle_path);
        p->crossfade_frames = static_cast<std::uint32_t>(kCrossfadeS * rate);
        p->enable_ramp_frames = static_cast<std::uint32_t>(kEnableRampS * rate);
        for (float*& s : p->scratch) s = new float[kScratchFrames]();

        LV2_URID_Map* m = p->map;
        Uris& u = p->uris;
        u.atom_path = m->map(m->handle, LV2_ATOM__Path);
        u.atom_urid = m->map(m->handle, LV2_ATOM__URID);
        u.atom_object = m->map(m->handle, LV2_ATOM__Object);
        u.atom_sequence = m->map(m->handle, LV2_ATOM__Sequence);
        u.patch_get = m->map(m->handle, LV2_PATCH__Get);
        u.patch_set = m->map(m->handle, LV2_PATCH__Set);
        u.patch_property = m->map(m->handle, LV2_PATCH__property);
        u.patch_value = m->map(m->handle, LV2_PATCH__value);
        u.model = m->map(m->handle, kModelUri);
        lv2_atom_forge_init(&p->forge, p->map);
        return p;
    } catch (const std::exception&) {
        cleanup(p);
        return nullptr;
    }
}

void connect_port(LV2_Handle instance, uint32_t port, void* data) {
    Plugin* p = static_cast<Plugin*>(instance);
    switch (port) {
        case kOutLeft: case kOutRight: p->out[port] = static_cast<float*>(data); break;
        case kControl: p->control = static_cast<const LV2_Atom_Sequence*>(data); break;
        case kNotify: p->notify = static_cast<LV2_Atom_Sequence*>(data); break;
        case kUnderruns: p->underruns_out = static_cast<float*>(data); break;
        case kProducer: p->producer_out = static_cast<float*>(data); break;
        default: if (port < kPortCount) p->in[port] = static_cast<const float*>(data);
    }
}

// Not the audio thread: makes the stream on the first activation, and again when the seed
// changed while the host gave no worker to change it, or a restored state changed the model.
void activate(LV2_Handle instance) {
    Plugin* p = static_cast<Plugin*>(instance);
    p->active = true;
    const std::uint64_t seed = port_seed(*p);
    if (p->rain && seed == p->seed && !p->restart_due) return;
    std::string model;
    {
        std::lock_guard<std::mutex> lock(p->model_mutex);
        model = p->model;
    }
    raingan_status status = RAINGAN_OK;
    raingan_t* fresh = start_stream(*p, seed, model, port_settings(*p), false, &status);
    if (!fresh) return;  // start_stream logged why; the old stream (or silence) plays on
    count_underruns(*p, p->rain);
    destroy_stream(p->rain);
    destroy_stream(p->incoming);  // a crossfade the deactivation cut short
    p->incoming = nullptr;
    p->rain = fresh;
    p->seed = seed;
    p->restart_due = false;
    p->applied = port_settings(*p);
}

// Applies the control ports whose values moved; the C ABI glides each change.
void apply_settings(Plugin& p, raingan_t* rain) {
    const Settings now = port_settings(p);
    if (now.intensity != p.applied.intensity) raingan_set_intensity(rain, now.intensity);
    if (now.gain_db != p.applied.gain_db) raingan_set_gain_db(rain, now.gain_db);
    if (now.width != p.applied.width) raingan_set_width(rain, now.width);
    if (p.incoming) {
        raingan_set_intensity(p.incoming, now.intensity);
        raingan_set_gain_db(p.incoming, now.gain_db);
        raingan_set_width(p.incoming, now.width);
    }
    p.applied = now;
}

// A patch:Set of the model: its path goes to the worker with the next Start job.
void read_control(Plugin& p) {
    if (!p.control) return;
    LV2_ATOM_SEQUENCE_FOREACH(p.control, event) {
        if (event->body.type != p.uris.atom_object) continue;
        const auto* object = reinterpret_cast<const LV2_Atom_Object*>(&event->body);
        if (object->body.otype == p.uris.patch_get) {
            p.notify_due = true;
            continue;
        }
        if (object->body.otype != p.uris.patch_set) continue;
        const LV2_Atom* property = nullptr;
        const LV2_Atom* value = nullptr;
        lv2_atom_object_get(object, p.uris.patch_property, &property, p.uris.patch_value, &value, 0);
        if (!property || property->type != p.uris.atom_urid || !value || value->type != p.uris.atom_path ||
            reinterpret_cast<const LV2_Atom_URID*>(property)->body != p.uris.model)
            continue;
        const std::uint32_t bytes = value->size;  // with its terminating NUL
        if (bytes == 0 || bytes > kMaxPathBytes) continue;
        std::memcpy(p.pending_model, LV2_ATOM_BODY_CONST(value), bytes);
        p.pending_model[bytes - 1] = '\0';
        p.pending_model_bytes = bytes;
    }
}

// Sends the worker a Start job when the seed port or the model asks for another stream.
void request_stream(Plugin& p) {
    if (!p.schedule || p.job_pending || p.incoming || p.retiring) return;
    const std::uint64_t seed = port_seed(p);
    if (seed == p.seed && p.pending_model_bytes == 0) return;
    struct {
        Job job;
        char path[kMaxPathBytes];
    } message{};
    message.job = Job{JobKind::Start, p.pending_model_bytes, seed, port_settings(p), nullptr};
    std::memcpy(message.path, p.pending_model, p.pending_model_bytes);
    if (p.schedule->schedule_work(p.schedule->handle, sizeof(Job) + p.pending_model_bytes, &message) ==
        LV2_WORKER_SUCCESS) {
        p.job_pending = true;
        p.pending_model_bytes = 0;
    }
}

void write_notify(Plugin& p) {
    if (!p.notify) return;
    const std::uint32_t capacity = p.notify->atom.size;
    lv2_atom_forge_set_buffer(&p.forge, reinterpret_cast<std::uint8_t*>(p.notify), capacity);
    LV2_Atom_Forge_Frame sequence;
    lv2_atom_forge_sequence_head(&p.forge, &sequence, 0);
    if (p.notify_due) {
        LV2_Atom_Forge_Frame frame;
        lv2_atom_forge_frame_time(&p.forge, 0);
        lv2_atom_forge_object(&p.forge, &frame, 0, p.uris.patch_set);
        lv2_atom_forge_key(&p.forge, p.uris.patch_property);
        lv2_atom_forge_urid(&p.forge, p.uris.model);
        lv2_atom_forge_key(&p.forge, p.uris.patch_value);
        lv2_atom_forge_path(&p.forge, p.notify_model, static_cast<std::uint32_t>(std::strlen(p.notify_model)));
        lv2_atom_forge_pop(&p.forge, &frame);
        p.notify_due = false;
    }
    lv2_atom_forge_pop(&p.forge, &sequence);
}

// Renders `frames` of the playing stream into out, crossfading to the incoming one.
void render(Plugin& p, float* const* out, std::uint32_t offset, std::uint32_t frames) {
    float* dest[2] = {out[0] + offset, out[1] + offset};
    raingan_render_planar(p.rain, dest, frames);
    if (!p.incoming) return;
    raingan_render_planar(p.incoming, p.scratch, frames);
    raingan::crossfade_in(dest, p.scratch, 2, frames, p.fade_pos, p.crossfade_frames);
    p.fade_pos += frames;
    if (p.fade_pos >= p.crossfade_frames) {
        count_underruns(p, p.rain);
        p.retiring = p.rain;
        p.rain = p.incoming;
        p.incoming = nullptr;
    }
}

void run(LV2_Handle instance, uint32_t n) {
    Plugin& p = *static_cast<Plugin*>(instance);
    if (!p.out[0] || !p.out[1]) return;
    read_control(p);
    if (p.retiring && p.schedule) {
        const Job job{JobKind::Destroy, 0, 0, {}, p.retiring};
        if (p.schedule->schedule_work(p.schedule->handle, sizeof job, &job) == LV2_WORKER_SUCCESS)
            p.retiring = nullptr;
    }
    request_stream(p);
    write_notify(p);

    const bool on = value_or(p.in[kEnabled], 1.0f) > 0.5f;
    if (!p.rain || (!on && p.enable_gain == 0.0f)) {
        for (float* channel : p.out) std::memset(channel, 0, sizeof(float) * n);
    } else {
        apply_settings(p, p.rain);
        const std::uint32_t step = p.incoming ? kScratchFrames : RAINGAN_MAX_FRAMES;
        for (std::uint32_t done = 0; done < n;) {
            const std::uint32_t frames = n - done < step ? n - done : step;
            render(p, p.out, done, frames);
            done += frames;
        }
        p.enable_gain = raingan::ramp_enable(p.out, 2, n, p.enable_gain, on,
                                             1.0f / static_cast<float>(p.enable_ramp_frames));
    }
    raingan_stats_t stats{};
    if (p.rain && raingan_stats(p.rain, &stats) == RAINGAN_OK) {
        if (p.underruns_out) *p.underruns_out = static_cast<float>(p.underruns_before + stats.underruns);
        if (p.producer_out) *p.producer_out = static_cast<float>(stats.producer_state);
    } else if (p.producer_out) {
        *p.producer_out = static_cast<float>(RAINGAN_PRODUCER_FAILED);
    }
}

// The stream stays, so that the next activation is instant.
void deactivate(LV2_Handle instance) { static_cast<Plugin*>(instance)->active = false; }

void cleanup(LV2_Handle instance) {
    Plugin* p = static_cast<Plugin*>(instance);
    destroy_stream(p->incoming);
    destroy_stream(p->retiring);
    destroy_stream(p->rain);
    for (float* s : p->scratch) delete[] s;
    delete p;
}

const LV2_Descriptor descriptor = {kUri, instantiate, connect_port, activate, run,
                                   deactivate, cleanup, extension_data};

}  // namespace

Settings port_settings(const Plugin& p) {
    Settings s;
    s.intensity = std::fmin(1.0f, std::fmax(0.0f, value_or(p.in[kIntensity], 0.5f)));
    s.gain_db = std::fmin(24.0f, std::fmax(-120.0f, value_or(p.in[kGain], 0.0f)));
    s.width = std::fmin(1.0f, std::fmax(0.0f, value_or(p.in[kWidth], 1.0f)));
    return s;
}

std::uint64_t port_seed(const Plugin& p) {
    const float seed = std::fmin(kMaxSeed, std::fmax(0.0f, value_or(p.in[kSeed], 0.0f)));
    return static_cast<std::uint64_t>(std::lround(seed));
}

}  // namespace raingan_lv2

extern "C" LV2_SYMBOL_EXPORT const LV2_Descriptor* lv2_descriptor(uint32_t index) {
    return index == 0 ? &raingan_lv2::descriptor : nullptr;
}
