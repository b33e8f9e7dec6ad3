/* A minimal CLAP host for the tests: loads RainGAN's raingan.clap, lists its descriptor and
 * parameters, then plays it at real time in 512-frame blocks and writes the output.
 *
 *   clap_host PLUGIN.clap OUT.f32 SECONDS [SEED [NEW_SEED]]
 *
 * It waits (at most 90 s) until the plugin's "producer" parameter says the generator
 * streams, then records SECONDS of 48 kHz stereo as interleaved float32 to OUT.f32. With
 * NEW_SEED it sets the seed parameter to it halfway and keeps playing. Prints "descriptor
 * ...", one "param ..." line per parameter, then "streaming after S s", and at the end
 * "underruns N producer P children C": after the recording it keeps playing, unrecorded and
 * for at most 20 s, until one child process is left (the streaming producer). SECONDS 0:
 * one block that sets the seed, half a second (the plugin's starter is then waiting for that
 * seed's producer), then the plugin's end, timed, and the child processes left: "destroyed
 * in S s, N children left". Before the last line of a recording it prints how long each
 * recorded block's process() call took (the plugin's audio thread): "process us p50 A p99 B
 * p99.9 C max D". Exit status 0, or 1 with a line on stderr.
 *
 * Build: cc -O2 -I/usr/share/dpf/distrho/src clap_host.c -ldl -o clap_host
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clap/entry.h"
#include "clap/ext/params.h"
#include "clap/host.h"
#include "clap/plugin-factory.h"
#include "clap/plugin.h"
#include "clap/process.h"

#define RATE 48000
#define BLOCK 512

static const void* host_extension(const clap_host_t* host, const char* id) {
    (void)host;
    (void)id;
    return NULL;
}
static void host_request(const clap_host_t* host) { (void)host; }

static const clap_host_t host = {CLAP_VERSION_INIT, NULL, "raingan-test-host", "RainGAN", "", "1.0",
                                 host_extension, host_request, host_request, host_request};

static int fail(const char* what) {
    fprintf(stderr, "clap_host: %s\n", what);
    return 1;
}

static int by_value(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

/* The q-quantile of n sorted values (nearest rank). */
static double quantile(const double* sorted, long n, double q) {
    long rank = (long)(q * n + 0.5);
    if (rank < 1) rank = 1;
    return sorted[(rank > n ? n : rank) - 1];
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_until(double t) {
    const double wait = t - now_s();
    if (wait <= 0) return;
    struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
    nanosleep(&ts, NULL);
}

/* One parameter change as the only input event of a block. */
typedef struct {
    int has;
    clap_event_param_value_t event;
} Change;

static uint32_t events_size(const clap_input_events_t* list) {
    return ((const Change*)list->ctx)->has ? 1u : 0u;
}
static const clap_event_header_t* events_get(const clap_input_events_t* list, uint32_t index) {
    (void)index;
    return &((const Change*)list->ctx)->event.header;
}
static bool events_push(const clap_output_events_t* list, const clap_event_header_t* event) {
    (void)list;
    (void)event;
    return true;
}

static clap_id param_id(const clap_plugin_params_t* params, const clap_plugin_t* plugin,
                        const char* name) {
    const uint32_t n = params->count(plugin);
    for (uint32_t i = 0; i < n; ++i) {
        clap_param_info_t info;
        if (params->get_info(plugin, i, &info) && strcmp(info.name, name) == 0) return info.id;
    }
    return CLAP_INVALID_ID;
}

static double param_value(const clap_plugin_params_t* params, const clap_plugin_t* plugin,
                          clap_id id) {
    double value = -1.0;
    params->get_value(plugin, id, &value);
    return value;
}

/* This process's children (its producers). /proc lists a child under the thread that
 * started it, and the plugin starts them from its own threads: so every task's list. */
static int count_children(void) {
    DIR* tasks = opendir("/proc/self/task");
    if (!tasks) return -1;
    int count = 0;
    for (struct dirent* task; (task = readdir(tasks)) != NULL;) {
        if (task->d_name[0] == '.') continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", task->d_name);
        FILE* file = fopen(path, "r");
        if (!file) continue;  /* the thread ended meanwhile */
        int pid;
        while (fscanf(file, "%d", &pid) == 1) ++count;
        fclose(file);
    }
    closedir(tasks);
    return count;
}

int main(int argc, char** argv) {
    if (argc < 4) return fail("usage: clap_host PLUGIN.clap OUT.f32 SECONDS [SEED [NEW_SEED]]");
    const double seconds = atof(argv[3]);
    const double seed = argc > 4 ? atof(argv[4]) : 0.0;
    const double new_seed = argc > 5 ? atof(argv[5]) : -1.0;

    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!library) return fail(dlerror());
    const clap_plugin_entry_t* entry = (const clap_plugin_entry_t*)dlsym(library, "clap_entry");
    if (!entry || !entry->init(argv[1])) return fail("no clap_entry, or its init failed");
    const clap_plugin_factory_t* factory =
        (const clap_plugin_factory_t*)entry->get_factory(CLAP_PLUGIN_FACTORY_ID);
    if (!factory || factory->get_plugin_count(factory) != 1) return fail("expected one plugin");
    const clap_plugin_descriptor_t* desc = factory->get_plugin_descriptor(factory, 0);
    printf("descriptor %s \"%s\" features", desc->id, desc->name);
    for (const char* const* f = desc->features; f && *f; ++f) printf(" %s", *f);
    printf("\n");

    const clap_plugin_t* plugin = factory->create_plugin(factory, &host, desc->id);
    if (!plugin || !plugin->init(plugin)) return fail("create_plugin or init failed");
    const clap_plugin_params_t* params =
        (const clap_plugin_params_t*)plugin->get_extension(plugin, CLAP_EXT_PARAMS);
    if (!params) return fail("no params extension");
    for (uint32_t i = 0; i < params->count(plugin); ++i) {
        clap_param_info_t info;
        params->get_info(plugin, i, &info);
        printf("param %s %.9g %.9g %.9g%s\n", info.name, info.min_value, info.max_value,
               info.default_value, (info.flags & CLAP_PARAM_IS_READONLY) ? " output" : "");
    }
    const clap_id seed_id = param_id(params, plugin, "Seed");
    const clap_id producer_id = param_id(params, plugin, "Producer");
    const clap_id underruns_id = param_id(params, plugin, "Underruns");
    if (seed_id == CLAP_INVALID_ID || producer_id == CLAP_INVALID_ID) return fail("no Seed or Producer parameter");

    if (!plugin->activate(plugin, RATE, 1, 4096)) return fail("activate failed");
    if (!plugin->start_processing(plugin)) return fail("start_processing failed");

    static float left[BLOCK], right[BLOCK];
    float* channels[2] = {left, right};
    clap_audio_buffer_t output = {NULL, NULL, 2, 0, 0};
    output.data32 = channels;
    Change change = {1, {{sizeof(clap_event_param_value_t), 0, CLAP_CORE_EVENT_SPACE_ID,
                          CLAP_EVENT_PARAM_VALUE, 0},
                         seed_id, NULL, -1, -1, -1, -1, seed}};
    const clap_input_events_t in_events = {&change, events_size, events_get};
    const clap_output_events_t out_events = {NULL, events_push};
    clap_process_t process = {0, BLOCK, NULL, NULL, &output, 0, 1, &in_events, &out_events};

    if (seconds == 0.0) {
        if (plugin->process(plugin, &process) == CLAP_PROCESS_ERROR) return fail("process failed");
        sleep_until(now_s() + 0.5);
        const double ending = now_s();
        plugin->stop_processing(plugin);
        plugin->deactivate(plugin);
        plugin->destroy(plugin);
        printf("destroyed in %.2f s, %d children left\n", now_s() - ending, count_children());
        entry->deinit();
        return 0;
    }
    FILE* out = fopen(argv[2], "wb");
    if (!out) return fail("cannot open the output file");
    const double started = now_s();
    double due = started;
    const long recorded_blocks = (long)(seconds * RATE / BLOCK);
    long recorded = -1;  /* -1: waiting for the producer */
    double* call_us = malloc(sizeof(double) * (size_t)(recorded_blocks > 0 ? recorded_blocks : 1));
    if (!call_us) return fail("out of memory");
    while (recorded < recorded_blocks) {
        due += (double)BLOCK / RATE;
        sleep_until(due);
        if (recorded == recorded_blocks / 2 && new_seed >= 0) {
            change.has = 1;
            change.event.value = new_seed;
        }
        const double called = now_s();
        if (plugin->process(plugin, &process) == CLAP_PROCESS_ERROR) return fail("process failed");
        const double call_s = now_s() - called;
        process.steady_time += BLOCK;
        change.has = 0;
        if (recorded < 0) {
            if (param_value(params, plugin, producer_id) == 2.0) {
                printf("streaming after %.1f s\n", now_s() - started);
                due = now_s() + 1.0;  /* a second for the ring to fill */
                recorded = 0;
            } else if (now_s() - started > 90.0) {
                return fail("the producer did not stream within 90 s");
            }
            continue;
        }
        for (int i = 0; i < BLOCK; ++i) {
            const float frame[2] = {left[i], right[i]};
            fwrite(frame, sizeof frame, 1, out);
        }
        call_us[recorded++] = call_s * 1e6;
    }
    fclose(out);
    /* A replaced producer is stopped after the crossfade; on a loaded machine that can end
     * after the recording does, so play on until it has gone. */
    const double drained_by = now_s() + 20.0;
    while (count_children() > 1 && now_s() < drained_by) {
        due += (double)BLOCK / RATE;
        sleep_until(due);
        if (plugin->process(plugin, &process) == CLAP_PROCESS_ERROR) return fail("process failed");
        process.steady_time += BLOCK;
    }
    if (recorded_blocks > 0) {
        qsort(call_us, (size_t)recorded_blocks, sizeof(double), by_value);
        printf("process us p50 %.2f p99 %.2f p99.9 %.2f max %.2f\n",
               quantile(call_us, recorded_blocks, 0.5), quantile(call_us, recorded_blocks, 0.99),
               quantile(call_us, recorded_blocks, 0.999), call_us[recorded_blocks - 1]);
    }
    free(call_us);
    printf("underruns %g producer %g children %d\n", param_value(params, plugin, underruns_id),
           param_value(params, plugin, producer_id), count_children());
    plugin->stop_processing(plugin);
    plugin->deactivate(plugin);
    plugin->destroy(plugin);
    entry->deinit();
    dlclose(library);
    return 0;
}
