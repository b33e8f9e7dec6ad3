/* A small LV2 host (lilv) for RainGAN's plugin: runs instances of a plugin found on LV2_PATH,
 * one block per period, and reports what a test or a benchmark needs. Run by tests/test_lv2.py
 * and benchmarks/lv2_run.py:
 *
 *     lv2_host URI SECONDS SEED [SEED...] [--out PREFIX] [--speed X] [--block N]
 *              [--seed-at T:SEED] [--kill-at T] [--model-at T:PATH] [--state] [--realtime]
 *              [--off] [--floor] [--warm]
 *
 * Each instance gets the seed given; the host waits (at real time) until every producer
 * streams and then 1 s more, then runs SECONDS of audio at X times real time and writes
 * instance i's output to PREFIX.i.f32 (interleaved stereo float32). --seed-at changes
 * instance 0's seed at T s, --kill-at sends SIGKILL to instance 0's producer (the host's only
 * child: use it with one instance), --model-at sends instance 0 a patch:Set of its model.
 * --state saves instance 0's state at the end, restores it into a new, deactivated instance,
 * prints both states, and activates the new instance until its producer streams. --realtime gives the host's thread SCHED_FIFO priority 50 once every producer is
 * running, as audio APIs give their callback threads (the producers keep normal priority).
 * --off switches every instance off (the enabled port) for the timed part. --floor times,
 * in run()'s place, what any generator's run() must do at least (copy a block of stereo
 * frames out of a 96 KiB ring that moves on by a block a call, as RainGAN's does) and then
 * runs the plugin untimed: the cost of touching fresh memory just after the thread wakes,
 * on this machine, with the producers busy as usual. --warm runs each block twice and times
 * the second run() only: the plugin's own work with its code and data in the caches (it
 * reads the ring twice as fast: give it --speed 0.5). The worker runs
 * each job right after the run() that scheduled it, as offline hosts do (the host's clock
 * starts again after a job). Prints run() durations (p50, p99, p99.9, max) and each
 * instance's underruns. */
#define _GNU_SOURCE
#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/atom/util.h>
#include <lv2/patch/patch.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <dirent.h>
#include <sched.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { kMaxInstances = 8, kMaxJobs = 16, kAtomBytes = 8192, kRate = 48000 };

static char* uris[256];
static unsigned n_uris = 0;

static LV2_URID map_uri(LV2_URID_Map_Handle handle, const char* uri) {
    (void)handle;
    for (unsigned i = 0; i < n_uris; ++i)
        if (!strcmp(uris[i], uri)) return i + 1;
    uris[n_uris] = strdup(uri);
    return ++n_uris;
}

static const char* unmap_uri(LV2_URID_Unmap_Handle handle, LV2_URID urid) {
    (void)handle;
    return urid >= 1 && urid <= n_uris ? uris[urid - 1] : NULL;
}

typedef struct {
    uint32_t size;
    char data[4096];
} Message;

typedef struct {
    LilvInstance* instance;
    const LV2_Worker_Interface* worker;
    LV2_Worker_Schedule scheduler;  /* the work:schedule feature given to this instance */
    Message jobs[kMaxJobs], replies[kMaxJobs];
    int n_jobs, n_replies;
    float out[2][8192];
    float controls[16];
    float underruns, producer;
    union { LV2_Atom_Sequence seq; uint8_t bytes[kAtomBytes]; } control, notify;
    FILE* file;
} Slot;

/* Appends a message to a queue of kMaxJobs (the worker's jobs, or its replies). */
static LV2_Worker_Status push(Message* queue, int* n, uint32_t size, const void* data) {
    if (*n == kMaxJobs || size > sizeof queue[0].data) return LV2_WORKER_ERR_NO_SPACE;
    queue[*n].size = size;
    memcpy(queue[(*n)++].data, data, size);
    return LV2_WORKER_SUCCESS;
}

static LV2_Worker_Status schedule(LV2_Worker_Schedule_Handle handle, uint32_t size, const void* data) {
    Slot* s = handle;
    return push(s->jobs, &s->n_jobs, size, data);
}

static LV2_Worker_Status respond(LV2_Worker_Respond_Handle handle, uint32_t size, const void* data) {
    Slot* s = handle;
    return push(s->replies, &s->n_replies, size, data);
}

static LV2_URID_Map map = {NULL, map_uri};
static LV2_URID_Unmap unmap = {NULL, unmap_uri};
static const LilvPlugin* plugin;
static LilvWorld* world;
static uint32_t block = 512;

static uint32_t port(const char* symbol) {
    LilvNode* name = lilv_new_string(world, symbol);
    const LilvPort* p = lilv_plugin_get_port_by_symbol(plugin, name);
    lilv_node_free(name);
    if (!p) { fprintf(stderr, "lv2_host: the plugin has no port %s\n", symbol); exit(2); }
    return lilv_port_get_index(plugin, p);
}

static void reset_atoms(Slot* s) {
    s->control.seq.atom.size = sizeof(LV2_Atom_Sequence_Body);
    s->control.seq.atom.type = map_uri(NULL, LV2_ATOM__Sequence);
    s->control.seq.body.unit = s->control.seq.body.pad = 0;
    s->notify.seq.atom.size = kAtomBytes - sizeof(LV2_Atom);
    s->notify.seq.atom.type = map_uri(NULL, LV2_ATOM__Chunk);
}

static Slot* start(float seed) {
    Slot* s = calloc(1, sizeof(Slot));
    s->scheduler = (LV2_Worker_Schedule){s, schedule};
    LV2_Feature map_f = {LV2_URID__map, &map}, unmap_f = {LV2_URID__unmap, &unmap};
    LV2_Feature sched_f = {LV2_WORKER__schedule, &s->scheduler};
    const LV2_Feature* features[] = {&map_f, &unmap_f, &sched_f, NULL};
    s->instance = lilv_plugin_instantiate(plugin, kRate, features);
    if (!s->instance) { fprintf(stderr, "lv2_host: instantiate failed\n"); exit(1); }
    s->worker = lilv_instance_get_extension_data(s->instance, LV2_WORKER__interface);
    const uint32_t n = lilv_plugin_get_num_ports(plugin);
    float defaults[16];
    lilv_plugin_get_port_ranges_float(plugin, NULL, NULL, defaults);
    for (uint32_t i = 0; i < n && i < 16; ++i) s->controls[i] = isnan(defaults[i]) ? 0 : defaults[i];
    s->controls[port("seed")] = seed;
    for (const char* const* sym = (const char* const[]){"intensity", "gain", "width", "seed", "enabled", NULL}; *sym; ++sym)
        lilv_instance_connect_port(s->instance, port(*sym), &s->controls[port(*sym)]);
    lilv_instance_connect_port(s->instance, port("out_l"), s->out[0]);
    lilv_instance_connect_port(s->instance, port("out_r"), s->out[1]);
    lilv_instance_connect_port(s->instance, port("underruns"), &s->underruns);
    lilv_instance_connect_port(s->instance, port("producer"), &s->producer);
    lilv_instance_connect_port(s->instance, port("control"), &s->control);
    lilv_instance_connect_port(s->instance, port("notify"), &s->notify);
    reset_atoms(s);
    lilv_instance_activate(s->instance);
    return s;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void sleep_until(double t) {
    const double left = t - now_s();
    if (left <= 0) return;
    struct timespec ts = {(time_t)left, (long)((left - (time_t)left) * 1e9)};
    nanosleep(&ts, NULL);
}

static int worked = 0; /* a job ran in the last step: the host's clock starts again */

/* One block: run() (timed), then the worker's jobs and their replies, then the notify port. */
static int floor_only = 0, warm_only = 0;
static float floor_ring[96 * 1024 / sizeof(float)];
static size_t floor_at = 0;

static double step(Slot* s) {
    double took;
    if (floor_only) {
        const size_t frames = sizeof floor_ring / sizeof(float) / 2;
        if (floor_at + block > frames) floor_at = 0;
        const double t0 = now_s();
        for (uint32_t f = 0; f < block; ++f) {
            s->out[0][f] = floor_ring[2 * (floor_at + f)];
            s->out[1][f] = floor_ring[2 * (floor_at + f) + 1];
        }
        took = now_s() - t0;
        floor_at += block;
        lilv_instance_run(s->instance, block);
    } else {
        if (warm_only) lilv_instance_run(s->instance, block);
        const double t0 = now_s();
        lilv_instance_run(s->instance, block);
        took = now_s() - t0;
    }
    for (int j = 0; j < s->n_jobs; ++j)
        s->worker->work(lilv_instance_get_handle(s->instance), respond, s, s->jobs[j].size, s->jobs[j].data);
    worked |= s->n_jobs > 0;
    s->n_jobs = 0;
    for (int j = 0; j < s->n_replies; ++j)
        s->worker->work_response(lilv_instance_get_handle(s->instance), s->replies[j].size, s->replies[j].data);
    s->n_replies = 0;
    LV2_ATOM_SEQUENCE_FOREACH(&s->notify.seq, ev) {
        const LV2_Atom_Object* obj = (const LV2_Atom_Object*)&ev->body;
        const LV2_Atom* value = NULL;
        lv2_atom_object_get(obj, map_uri(NULL, LV2_PATCH__value), &value, 0);
        if (value && value->type == map_uri(NULL, LV2_ATOM__Path))
            printf("notify: model=%s\n", (const char*)LV2_ATOM_BODY_CONST(value));
    }
    reset_atoms(s);
    return took;
}

static void send_model(Slot* s, const char* path) {
    LV2_Atom_Forge forge;
    lv2_atom_forge_init(&forge, &map);
    lv2_atom_forge_set_buffer(&forge, s->control.bytes, kAtomBytes);
    LV2_Atom_Forge_Frame seq, obj;
    lv2_atom_forge_sequence_head(&forge, &seq, 0);
    lv2_atom_forge_frame_time(&forge, 0);
    lv2_atom_forge_object(&forge, &obj, 0, map_uri(NULL, LV2_PATCH__Set));
    lv2_atom_forge_key(&forge, map_uri(NULL, LV2_PATCH__property));
    lv2_atom_forge_urid(&forge, map_uri(NULL, "urn:raingan:rain#model"));
    lv2_atom_forge_key(&forge, map_uri(NULL, LV2_PATCH__value));
    lv2_atom_forge_path(&forge, path, (uint32_t)strlen(path));
    lv2_atom_forge_pop(&forge, &obj);
    lv2_atom_forge_pop(&forge, &seq);
}

/* The host's only child process: instance 0's producer when one instance runs. */
static int producer_pid(void) {
    char path[320];
    DIR* tasks = opendir("/proc/self/task");
    int pid = 0;
    for (struct dirent* t; tasks && (t = readdir(tasks)) && !pid;) {
        snprintf(path, sizeof path, "/proc/self/task/%s/children", t->d_name);
        FILE* f = fopen(path, "r");
        if (f && fscanf(f, "%d", &pid) != 1) pid = 0;
        if (f) fclose(f);
    }
    if (tasks) closedir(tasks);
    return pid;
}

static int compare(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static const void* get_port_value(const char* symbol, void* data, uint32_t* size, uint32_t* type) {
    (void)symbol; (void)data; *size = 0; *type = 0;
    return NULL;
}

static void print_state(const char* label, Slot* s) {
    LilvState* state = lilv_state_new_from_instance(plugin, s->instance, &map, NULL, NULL, NULL, NULL,
                                                    get_port_value, NULL, 0, NULL);
    char* text = lilv_state_to_string(world, &map, &unmap, state, "urn:raingan:test-state", NULL);
    printf("state %s:\n%s\n", label, text);
    free(text);
    lilv_state_free(state);
}

int main(int argc, char** argv) {
    if (argc < 4) { fprintf(stderr, "usage: lv2_host URI SECONDS SEED [SEED...] [options]\n"); return 2; }
    const double seconds = atof(argv[2]);
    float seeds[kMaxInstances];
    int n = 0, i = 3;
    for (; i < argc && argv[i][0] != '-' && n < kMaxInstances; ++i) seeds[n++] = (float)atof(argv[i]);
    const char *prefix = NULL, *model = NULL;
    double speed = 1, seed_at = -1, kill_at = -1, model_at = -1;
    float new_seed = 0;
    int state = 0, realtime = 0, off = 0;
    for (; i < argc; ++i) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) prefix = argv[++i];
        else if (!strcmp(argv[i], "--speed") && i + 1 < argc) speed = atof(argv[++i]);
        else if (!strcmp(argv[i], "--block") && i + 1 < argc) block = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed-at") && i + 1 < argc) sscanf(argv[++i], "%lf:%f", &seed_at, &new_seed);
        else if (!strcmp(argv[i], "--kill-at") && i + 1 < argc) kill_at = atof(argv[++i]);
        else if (!strcmp(argv[i], "--model-at") && i + 1 < argc) { model_at = atof(argv[++i]); model = strchr(argv[i], ':') + 1; }
        else if (!strcmp(argv[i], "--state")) state = 1;
        else if (!strcmp(argv[i], "--realtime")) realtime = 1;
        else if (!strcmp(argv[i], "--off")) off = 1;
        else if (!strcmp(argv[i], "--floor")) floor_only = 1;
        else if (!strcmp(argv[i], "--warm")) warm_only = 1;
        else { fprintf(stderr, "lv2_host: unknown option %s\n", argv[i]); return 2; }
    }
    if (block == 0 || block > 8192) { fprintf(stderr, "lv2_host: --block is 1 to 8192\n"); return 2; }
    /* Real pages, not the zero page that untouched static memory reads from. */
    for (size_t k = 0; k < sizeof floor_ring / sizeof(float); ++k) floor_ring[k] = 1e-3f * (float)(k % 97);
    world = lilv_world_new();
    lilv_world_load_all(world);
    LilvNode* uri = lilv_new_uri(world, argv[1]);
    plugin = lilv_plugins_get_by_uri(lilv_world_get_all_plugins(world), uri);
    if (!plugin) { fprintf(stderr, "lv2_host: %s not found on LV2_PATH\n", argv[1]); return 1; }

    Slot* slots[kMaxInstances];
    for (int k = 0; k < n; ++k) slots[k] = start(seeds[k]);
    const double period = block / (double)kRate;
    double t = now_s(), ready_s = 0;
    for (int streaming = 0; streaming < n; ready_s += period) {
        if (ready_s > 180) { fprintf(stderr, "lv2_host: producers not streaming after 180 s\n"); return 1; }
        streaming = 0;
        for (int k = 0; k < n; ++k) { step(slots[k]); streaming += slots[k]->producer == 2.0f; }
        sleep_until(t += period);
    }
    for (double s = 0; s < 1.0; s += period) {  /* the ring fills to its latency */
        for (int k = 0; k < n; ++k) step(slots[k]);
        sleep_until(t += period);
    }
    printf("ready after %.2f s (underruns %.0f)\n", ready_s + 1.0, slots[0]->underruns);
    for (int k = 0; off && k < n; ++k) slots[k]->controls[port("enabled")] = 0.0f;
    const struct sched_param fifo = {.sched_priority = 50};
    if (realtime && sched_setscheduler(0, SCHED_FIFO, &fifo) != 0) {
        perror("lv2_host: SCHED_FIFO");
        return 1;
    }
    float underruns0[kMaxInstances];
    for (int k = 0; k < n; ++k) {
        underruns0[k] = slots[k]->underruns;
        if (prefix) {
            char name[4096];
            snprintf(name, sizeof name, "%s.%d.f32", prefix, k);
            slots[k]->file = fopen(name, "wb");
        }
    }
    const long blocks = (long)(seconds * kRate / block);
    double* took = malloc(sizeof(double) * (size_t)(blocks * n + 1));
    long n_took = 0;
    float interleaved[2 * 8192];
    t = now_s();
    for (long b = 0; b < blocks; ++b) {
        const double at = b * period;
        const float heard = slots[0]->underruns - underruns0[0];
        if (seed_at >= 0 && at >= seed_at) {
            printf("event seed at %.2f s: underruns=%.0f\n", at, heard);
            slots[0]->controls[port("seed")] = new_seed;
            seed_at = -1;
        }
        if (model_at >= 0 && at >= model_at) {
            printf("event model at %.2f s: underruns=%.0f\n", at, heard);
            send_model(slots[0], model);
            model_at = -1;
        }
        if (kill_at >= 0 && at >= kill_at) {
            const int pid = producer_pid();
            printf("event kill at %.2f s: underruns=%.0f producer=%.0f pid=%d\n", at, heard,
                   slots[0]->producer, pid);
            if (pid > 0) kill(pid, SIGKILL);
            kill_at = -1;
        }
        for (int k = 0; k < n; ++k) {
            took[n_took++] = step(slots[k]);
            if (slots[k]->file) {
                for (uint32_t f = 0; f < block; ++f) {
                    interleaved[2 * f] = slots[k]->out[0][f];
                    interleaved[2 * f + 1] = slots[k]->out[1][f];
                }
                fwrite(interleaved, sizeof(float), 2 * block, slots[k]->file);
            }
        }
        if (worked) t = now_s();  /* the worker held this thread: no catching up */
        worked = 0;
        sleep_until(t += period / speed);
    }
    qsort(took, (size_t)n_took, sizeof(double), compare);
    if (n_took)
        printf("run_us p50=%.2f p99=%.2f p999=%.2f max=%.2f calls=%ld\n", 1e6 * took[n_took / 2],
               1e6 * took[(long)(0.99 * n_took)], 1e6 * took[(long)(0.999 * n_took)],
               1e6 * took[n_took - 1], n_took);
    for (int k = 0; k < n; ++k)
        printf("instance %d: seed=%.0f underruns=%.0f producer=%.0f\n", k, slots[k]->controls[port("seed")],
               slots[k]->underruns - underruns0[k], slots[k]->producer);
    if (state) {
        print_state("saved", slots[0]);
        LilvState* saved = lilv_state_new_from_instance(plugin, slots[0]->instance, &map, NULL, NULL, NULL,
                                                        NULL, get_port_value, NULL, 0, NULL);
        Slot* copy = start(0);
        const LV2_Feature* none[] = {NULL};
        lilv_instance_deactivate(copy->instance);
        lilv_state_restore(saved, copy->instance, NULL, NULL, 0, none);
        print_state("restored", copy);
        lilv_instance_activate(copy->instance);  /* starts the restored model's stream */
        for (double waited = 0; copy->producer != 2.0f && waited < 120; waited += period) {
            step(copy);
            sleep_until(now_s() + period);
        }
        printf("restored instance: producer=%.0f\n", copy->producer);
        lilv_instance_deactivate(copy->instance);
        lilv_state_free(saved);
        lilv_instance_free(copy->instance);
    }
    for (int k = 0; k < n; ++k) {
        if (slots[k]->file) fclose(slots[k]->file);
        lilv_instance_deactivate(slots[k]->instance);
        lilv_instance_free(slots[k]->instance);
    }
    free(took);
    lilv_node_free(uri);
    lilv_world_free(world);
    return 0;
}
