// RainGAN's LV2 plugin: making and destroying streams, the worker and the plugin's state.
// Nothing here runs on the audio thread but work_response (plugin.hpp).
#include <unistd.h>

#include <cstring>

#include "plugin.hpp"

namespace raingan_lv2 {

raingan_t* start_stream(Plugin& p, std::uint64_t seed, const std::string& model,
                        const Settings& settings, bool wait, raingan_status* status) {
    raingan_config config;
    raingan_config_init(&config);
    config.sample_rate_hz = p.rate;
    config.channels = 2;
    config.seed = seed;
    config.model_path = model.empty() ? nullptr : model.c_str();
    config.python_path = p.python.empty() ? nullptr : p.python.c_str();
    raingan_t* rain = nullptr;
    *status = raingan_create(&config, &rain);
    if (*status != RAINGAN_OK) {
        lv2_log_error(&p.logger, "RainGAN: cannot start the generator (%s)%s%s\n",
                      raingan_status_text(*status), model.empty() ? "" : ": ", model.c_str());
        return nullptr;
    }
    raingan_set_intensity(rain, settings.intensity);
    raingan_set_gain_db(rain, settings.gain_db);
    raingan_set_width(rain, settings.width);
    if (!wait) return rain;
    *status = raingan_wait_ready(rain, kReadyTimeoutMs);
    if (*status == RAINGAN_ERROR_PRODUCER_FAILED) {
        char message[512];
        raingan_producer_message(rain, message, sizeof message);
        lv2_log_error(&p.logger, "RainGAN: the generator failed: %s\n", message);
        raingan_destroy(rain);
        return nullptr;
    }
    *status = RAINGAN_OK;  // a timeout is not fatal: the ring fills later
    return rain;
}

void destroy_stream(raingan_t* rain) {
    if (rain) raingan_destroy(rain);
}

void count_underruns(Plugin& p, raingan_t* rain) {
    raingan_stats_t stats{};
    if (rain && raingan_stats(rain, &stats) == RAINGAN_OK) p.underruns_before += stats.underruns;
}

namespace {

std::string current_model(Plugin& p) {
    std::lock_guard<std::mutex> lock(p.model_mutex);
    return p.model;
}

LV2_Worker_Status work(LV2_Handle instance, LV2_Worker_Respond_Function respond,
                       LV2_Worker_Respond_Handle handle, uint32_t size, const void* data) {
    Plugin& p = *static_cast<Plugin*>(instance);
    if (size < sizeof(Job)) return LV2_WORKER_ERR_UNKNOWN;
    Job job;
    std::memcpy(&job, data, sizeof job);
    if (job.kind == JobKind::Destroy) {
        destroy_stream(job.handle);
        return LV2_WORKER_SUCCESS;
    }
    if (job.kind != JobKind::Start || size != sizeof(Job) + job.path_bytes || job.path_bytes > kMaxPathBytes)
        return LV2_WORKER_ERR_UNKNOWN;
    struct {
        Reply reply;
        char path[kMaxPathBytes];
    } message{};
    const char* path = static_cast<const char*>(data) + sizeof(Job);
    const std::string model = job.path_bytes ? std::string(path, strnlen(path, job.path_bytes)) : current_model(p);
    raingan_status status = RAINGAN_OK;
    raingan_t* rain = start_stream(p, job.seed, model, job.settings, true, &status);
    message.reply = Reply{rain, job.seed, status, 0};
    if (rain && job.path_bytes) {
        std::lock_guard<std::mutex> lock(p.model_mutex);
        p.model = model;
        message.reply.path_bytes = static_cast<std::uint32_t>(model.size() + 1);
        std::memcpy(message.path, model.c_str(), model.size() + 1);
    }
    return respond(handle, sizeof(Reply) + message.reply.path_bytes, &message);
}

// Audio thread: the new stream fades in (or starts, if none played).
LV2_Worker_Status work_response(LV2_Handle instance, uint32_t size, const void* data) {
    Plugin& p = *static_cast<Plugin*>(instance);
    if (size < sizeof(Reply)) return LV2_WORKER_ERR_UNKNOWN;
    Reply reply;
    std::memcpy(&reply, data, sizeof reply);
    p.job_pending = false;
    p.seed = reply.seed;  // after a failure too: not retried until the seed moves again
    if (!reply.handle) return LV2_WORKER_SUCCESS;
    if (p.rain) {
        p.incoming = reply.handle;
        p.fade_pos = 0;
    } else {
        p.rain = reply.handle;
    }
    if (reply.path_bytes && reply.path_bytes <= kMaxPathBytes && size == sizeof(Reply) + reply.path_bytes) {
        std::memcpy(p.notify_model, static_cast<const char*>(data) + sizeof(Reply), reply.path_bytes);
        p.notify_model[reply.path_bytes - 1] = '\0';
        p.notify_due = true;
    }
    return LV2_WORKER_SUCCESS;
}

const LV2_Feature* find(const LV2_Feature* const* features, const char* uri) {
    for (std::size_t i = 0; features && features[i]; ++i)
        if (std::strcmp(features[i]->URI, uri) == 0) return features[i];
    return nullptr;
}

void free_path(const LV2_Feature* const* features, char* path) {
    if (const LV2_Feature* f = find(features, LV2_STATE__freePath)) {
        auto* freer = static_cast<LV2_State_Free_Path*>(f->data);
        freer->free_path(freer->handle, path);
    } else {
        std::free(path);
    }
}

// The model path, made relative to the host's session where it can (state:mapPath); nothing is
// stored for the bundled model.
LV2_State_Status save(LV2_Handle instance, LV2_State_Store_Function store, LV2_State_Handle handle,
                      uint32_t, const LV2_Feature* const* features) {
    Plugin& p = *static_cast<Plugin*>(instance);
    const std::string model = current_model(p);
    if (model.empty()) return LV2_STATE_SUCCESS;
    const LV2_Feature* map_path = find(features, LV2_STATE__mapPath);
    char* abstract = nullptr;
    if (map_path) {
        auto* mapper = static_cast<LV2_State_Map_Path*>(map_path->data);
        abstract = mapper->abstract_path(mapper->handle, model.c_str());
    }
    const char* value = abstract ? abstract : model.c_str();
    const LV2_State_Status status = store(handle, p.uris.model, value, std::strlen(value) + 1,
                                          p.uris.atom_path, LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE);
    if (abstract) free_path(features, abstract);
    return status;
}

// Not beside run() (no state:threadSafeRestore). A changed model is the next activation's to
// start, or, while active, the worker's (without a worker, it replaces the stream now).
LV2_State_Status restore(LV2_Handle instance, LV2_State_Retrieve_Function retrieve,
                         LV2_State_Handle handle, uint32_t, const LV2_Feature* const* features) {
    Plugin& p = *static_cast<Plugin*>(instance);
    std::size_t size = 0;
    std::uint32_t type = 0, flags = 0;
    const void* value = retrieve(handle, p.uris.model, &size, &type, &flags);
    std::string model;
    if (value) {
        if (type != p.uris.atom_path || size == 0) return LV2_STATE_ERR_BAD_TYPE;
        const std::string stored(static_cast<const char*>(value), strnlen(static_cast<const char*>(value), size));
        model = stored;
        if (const LV2_Feature* f = find(features, LV2_STATE__mapPath)) {
            auto* mapper = static_cast<LV2_State_Map_Path*>(f->data);
            if (char* absolute = mapper->absolute_path(mapper->handle, stored.c_str())) {
                model = absolute;
                free_path(features, absolute);
            }
        }
        if (model.size() + 1 > kMaxPathBytes || access(model.c_str(), R_OK) != 0) {
            lv2_log_error(&p.logger, "RainGAN: the saved model %s cannot be read; keeping the current one\n",
                          model.c_str());
            return LV2_STATE_ERR_UNKNOWN;
        }
    }
    if (model == current_model(p)) return LV2_STATE_SUCCESS;
    if (p.rain && p.active && p.schedule) {
        // Playing, with a worker: the next run() hands the model to the worker, which keeps
        // the old stream unless the new one loads (as for a patch:Set).
        std::memcpy(p.pending_model, model.c_str(), model.size() + 1);
        p.pending_model_bytes = static_cast<std::uint32_t>(model.size() + 1);
        return LV2_STATE_SUCCESS;
    }
    if (p.rain && !p.active) {
        p.restart_due = true;  // the next activation starts the new model's stream
    } else if (p.rain) {  // no worker: the new stream replaces the old one now
        raingan_status status = RAINGAN_OK;
        raingan_t* fresh = start_stream(p, p.seed, model, port_settings(p), false, &status);
        if (!fresh) return LV2_STATE_ERR_UNKNOWN;
        count_underruns(p, p.rain);
        destroy_stream(p.incoming);
        destroy_stream(p.rain);
        p.incoming = nullptr;
        p.rain = fresh;
    }
    {
        std::lock_guard<std::mutex> lock(p.model_mutex);
        p.model = model;
    }
    std::memcpy(p.notify_model, model.c_str(), model.size() + 1);
    p.notify_due = true;
    return LV2_STATE_SUCCESS;
}

}  // namespace

const void* extension_data(const char* uri) {
    static const LV2_State_Interface state = {save, restore};
    static const LV2_Worker_Interface worker = {work, work_response, nullptr};
    if (std::strcmp(uri, LV2_STATE__interface) == 0) return &state;
    if (std::strcmp(uri, LV2_WORKER__interface) == 0) return &worker;
    return nullptr;
}

}  // namespace raingan_lv2
