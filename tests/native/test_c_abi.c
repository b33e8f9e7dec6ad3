/* The C ABI (raingan.h) from plain C, as a game engine calls it; built against the installed
 * libraingan and run by tests/test_c_abi.py, one case per run:
 *
 *     test_c_abi CASE PYTHON      CASE: arguments | audio | killed | hung | instances
 *
 * PYTHON is the interpreter that runs the producer (`python -m raingan serve`). Exits 0 when
 * every check passes; prints each failed check and exits 1 otherwise. Audio is rendered in
 * 512-frame buffers paced at real time, as an audio callback would ask for it. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "raingan.h"

static int failures = 0;
static const char* python = NULL;

#define CHECK(condition)                                                            \
    do {                                                                            \
        if (!(condition)) {                                                         \
            printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);    \
            ++failures;                                                             \
        }                                                                           \
    } while (0)

#define CHECK_STATUS(call, expected)                                                \
    do {                                                                            \
        const raingan_status got_ = (call);                                         \
        if (got_ != (expected)) {                                                   \
            printf("%s:%d: %s gave %d (%s), expected %s\n", __FILE__, __LINE__,     \
                   #call, (int)got_, raingan_status_text(got_), #expected);         \
            ++failures;                                                             \
        }                                                                           \
    } while (0)

enum { kRate = 48000, kBlock = 512 };

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void sleep_until(double deadline) {
    const double left = deadline - now_s();
    if (left <= 0) return;
    struct timespec t = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    nanosleep(&t, NULL);
}

static raingan_config config_for(uint64_t seed, uint32_t channels) {
    raingan_config config;
    raingan_config_init(&config);
    config.seed = seed;
    config.channels = channels;
    config.python_path = python;
    return config;
}

static raingan_t* start(uint64_t seed, uint32_t channels) {
    const raingan_config config = config_for(seed, channels);
    raingan_t* rain = NULL;
    CHECK_STATUS(raingan_create(&config, &rain), RAINGAN_OK);
    if (!rain) exit(1);
    char message[256];
    const raingan_status ready = raingan_wait_ready(rain, 120000);
    raingan_producer_message(rain, message, sizeof message);
    if (ready != RAINGAN_OK) printf("producer: %s\n", message);
    CHECK_STATUS(ready, RAINGAN_OK);
    return rain;
}

/* Every sample finite and within [-1, 1]; returns the buffer's rms. */
static double checked_rms(const float* samples, size_t n) {
    double sum = 0.0;
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i) {
        bad += !(isfinite(samples[i]) && fabsf(samples[i]) <= 1.0f);
        sum += (double)samples[i] * samples[i];
    }
    CHECK(bad == 0);
    return sqrt(sum / (double)n);
}

static raingan_stats_t stats_of(raingan_t* rain) {
    raingan_stats_t stats;
    CHECK_STATUS(raingan_stats(rain, &stats), RAINGAN_OK);
    return stats;
}

static void bad_config(raingan_config config, raingan_status expected, const char* what) {
    raingan_t* rain = (raingan_t*)&config;  /* create must clear it on failure */
    const raingan_status got = raingan_create(&config, &rain);
    if (got != expected || rain != NULL) {
        printf("config with %s: gave %d (%s), handle %p\n", what, (int)got,
               raingan_status_text(got), (void*)rain);
        ++failures;
    }
}

static void test_arguments(void) {
    CHECK(raingan_abi_version() == RAINGAN_ABI_VERSION);
    for (int s = 0; s <= 10; ++s) CHECK(raingan_status_text((raingan_status)s) != NULL);
    CHECK(raingan_status_text((raingan_status)999) != NULL);
    CHECK_STATUS(raingan_config_init(NULL), RAINGAN_ERROR_NULL_POINTER);

    const raingan_config good = config_for(3, 2);
    raingan_t* rain = NULL;
    CHECK_STATUS(raingan_create(NULL, &rain), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_create(&good, NULL), RAINGAN_ERROR_NULL_POINTER);
    raingan_config c;
    c = good; c.struct_size = 0; bad_config(c, RAINGAN_ERROR_INVALID_ARGUMENT, "struct_size 0");
    c = good; c.sample_rate_hz = 0; bad_config(c, RAINGAN_ERROR_INVALID_ARGUMENT, "rate 0");
    c = good; c.sample_rate_hz = 7999; bad_config(c, RAINGAN_ERROR_INVALID_ARGUMENT, "rate 7999");
    c = good; c.sample_rate_hz = 192001; bad_config(c, RAINGAN_ERROR_INVALID_ARGUMENT, "rate 192001");
    c = good; c.channels = 0; bad_config(c, RAINGAN_ERROR_INVALID_ARGUMENT, "0 channels");
    c = good; c.channels = 3; bad_config(c, RAINGAN_ERROR_INVALID_ARGUMENT, "3 channels");
    c = good; c.seed = UINT64_C(1) << 63; bad_config(c, RAINGAN_ERROR_INVALID_ARGUMENT, "seed 2^63");
    const double latencies[] = {NAN, INFINITY, -INFINITY, -1.0, 0.0, 19.9, 10000.1};
    for (size_t i = 0; i < sizeof latencies / sizeof *latencies; ++i) {
        c = good; c.latency_ms = latencies[i];
        bad_config(c, RAINGAN_ERROR_INVALID_ARGUMENT, "a bad latency");
    }
    c = good; c.model_path = "/nonexistent/rain.onnx";
    bad_config(c, RAINGAN_ERROR_MODEL_NOT_FOUND, "a missing model");
    c = good; c.model_path = "/";
    bad_config(c, RAINGAN_ERROR_MODEL_NOT_FOUND, "a folder for a model");
    c = good; c.python_path = "/nonexistent/python3";
    bad_config(c, RAINGAN_ERROR_NO_PYTHON, "a missing python");
    c = good; c.python_path = "/dev/null";
    bad_config(c, RAINGAN_ERROR_NO_PYTHON, "a python that is no program");

    float frames[2 * kBlock];
    float left[kBlock], right[kBlock];
    float* planar[2] = {left, right};
    float* half_planar[2] = {left, NULL};
    raingan_stats_t stats;
    char message[64];
    CHECK_STATUS(raingan_wait_ready(NULL, 1), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_render_interleaved(NULL, frames, kBlock), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_render_planar(NULL, planar, kBlock), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_set_intensity(NULL, 0.5f), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_set_gain_db(NULL, 0.0f), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_set_width(NULL, 1.0f), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_stats(NULL, &stats), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_producer_message(NULL, message, sizeof message), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_destroy(NULL), RAINGAN_ERROR_NULL_POINTER);

    /* A live handle, refusing bad arguments before its producer is even there. */
    CHECK_STATUS(raingan_create(&good, &rain), RAINGAN_OK);
    if (!rain) return;
    for (size_t i = 0; i < 2 * kBlock; ++i) frames[i] = 7.0f;
    CHECK_STATUS(raingan_render_interleaved(rain, NULL, kBlock), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_render_interleaved(rain, frames, 0), RAINGAN_ERROR_FRAME_COUNT);
    CHECK_STATUS(raingan_render_interleaved(rain, frames, RAINGAN_MAX_FRAMES + 1), RAINGAN_ERROR_FRAME_COUNT);
    CHECK_STATUS(raingan_render_interleaved(rain, frames, UINT32_MAX), RAINGAN_ERROR_FRAME_COUNT);
    CHECK_STATUS(raingan_render_planar(rain, NULL, kBlock), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_render_planar(rain, half_planar, kBlock), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_render_planar(rain, planar, 0), RAINGAN_ERROR_FRAME_COUNT);
    CHECK_STATUS(raingan_render_planar(rain, planar, UINT32_MAX), RAINGAN_ERROR_FRAME_COUNT);
    CHECK(frames[0] == 7.0f && frames[2 * kBlock - 1] == 7.0f);  /* refused calls write nothing */
    const float bad_unit[] = {NAN, -NAN, INFINITY, -INFINITY, -0.001f, 1.001f};
    for (size_t i = 0; i < sizeof bad_unit / sizeof *bad_unit; ++i) {
        CHECK_STATUS(raingan_set_intensity(rain, bad_unit[i]), RAINGAN_ERROR_INVALID_ARGUMENT);
        CHECK_STATUS(raingan_set_width(rain, bad_unit[i]), RAINGAN_ERROR_INVALID_ARGUMENT);
    }
    const float bad_gain[] = {NAN, INFINITY, -INFINITY, 24.01f, -120.01f, 1e30f};
    for (size_t i = 0; i < sizeof bad_gain / sizeof *bad_gain; ++i)
        CHECK_STATUS(raingan_set_gain_db(rain, bad_gain[i]), RAINGAN_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(raingan_set_intensity(rain, 0.5f), RAINGAN_OK);
    CHECK_STATUS(raingan_set_gain_db(rain, -6.0f), RAINGAN_OK);
    CHECK_STATUS(raingan_set_width(rain, 0.0f), RAINGAN_OK);
    CHECK_STATUS(raingan_stats(rain, NULL), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_wait_ready(rain, 0), RAINGAN_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(raingan_wait_ready(rain, 600001), RAINGAN_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(raingan_producer_message(rain, NULL, 8), RAINGAN_ERROR_NULL_POINTER);
    CHECK_STATUS(raingan_producer_message(rain, message, 0), RAINGAN_ERROR_INVALID_ARGUMENT);
    /* Before the producer has written anything: silence, not garbage. */
    CHECK_STATUS(raingan_render_interleaved(rain, frames, kBlock), RAINGAN_OK);
    CHECK(checked_rms(frames, 2 * kBlock) == 0.0);
    CHECK_STATUS(raingan_render_planar(rain, planar, kBlock), RAINGAN_OK);
    CHECK(checked_rms(left, kBlock) == 0.0 && checked_rms(right, kBlock) == 0.0);
    stats = stats_of(rain);
    CHECK(stats.frames_rendered == 2 * kBlock);
    CHECK_STATUS(raingan_destroy(rain), RAINGAN_OK);
}

static void test_audio(void) {
    raingan_t* rain = start(7, 2);
    const raingan_stats_t primed = stats_of(rain);
    CHECK(primed.producer_pid > 0);
    float frames[2 * kBlock], left[kBlock], right[kBlock];
    float* planar[2] = {left, right};
    const int blocks = 2 * kRate / kBlock;  /* 2 s */
    double quietest = 1.0, next = now_s();
    for (int b = 0; b < blocks; ++b) {
        if (b == blocks / 2) {
            CHECK_STATUS(raingan_set_gain_db(rain, -6.0f), RAINGAN_OK);
            CHECK_STATUS(raingan_set_width(rain, 0.5f), RAINGAN_OK);
            CHECK_STATUS(raingan_set_intensity(rain, 0.9f), RAINGAN_OK);
        }
        if (b % 2) {
            CHECK_STATUS(raingan_render_planar(rain, planar, kBlock), RAINGAN_OK);
            const double rms = checked_rms(left, kBlock) + checked_rms(right, kBlock);
            quietest = rms < quietest ? rms : quietest;
        } else {
            CHECK_STATUS(raingan_render_interleaved(rain, frames, kBlock), RAINGAN_OK);
            const double rms = checked_rms(frames, 2 * kBlock);
            quietest = rms < quietest ? rms : quietest;
        }
        next += (double)kBlock / kRate;
        sleep_until(next);
    }
    CHECK(quietest > 1e-4);  /* rain in every buffer */
    const raingan_stats_t stats = stats_of(rain);
    printf("audio: underruns %llu, quietest buffer rms %.4f, heartbeat %llu -> %llu\n",
           (unsigned long long)stats.underruns, quietest,
           (unsigned long long)primed.producer_heartbeat, (unsigned long long)stats.producer_heartbeat);
    CHECK(stats.frames_rendered == (uint64_t)blocks * kBlock);
    CHECK(stats.producer_state == RAINGAN_PRODUCER_STREAMING);
    CHECK(stats.has_intensity == 1);
    CHECK(stats.producer_heartbeat > primed.producer_heartbeat);
    CHECK(stats.producer_restarts == 0);
    const pid_t producer = stats.producer_pid;
    CHECK_STATUS(raingan_destroy(rain), RAINGAN_OK);
    CHECK(producer > 0 && kill(producer, 0) == -1 && errno == ESRCH);  /* stopped and reaped */
}

/* Signals the producer, never anything else: kill() with a pid of 0 or below would signal
 * this program's whole process group (pytest and its workers) or every process. */
static int signal_producer(long long pid, int signal_number) {
    if (pid <= 0) {
        printf("no producer to signal (pid %lld)\n", pid);
        ++failures;
        return 0;
    }
    return kill((pid_t)pid, signal_number) == 0;
}

static void test_killed(void) {
    raingan_t* rain = start(11, 2);
    float frames[2 * kBlock];
    double next = now_s();
    const double loop_deadline = next + 60.0;
    while (!stats_of(rain).loop_ready && now_s() < loop_deadline) {
        CHECK_STATUS(raingan_render_interleaved(rain, frames, kBlock), RAINGAN_OK);
        checked_rms(frames, 2 * kBlock);
        next += (double)kBlock / kRate;
        sleep_until(next);
    }
    const raingan_stats_t before = stats_of(rain);
    CHECK(before.loop_ready == 1);
    if (!signal_producer(before.producer_pid, SIGKILL)) {
        raingan_destroy(rain);
        return;
    }
    const double killed_at = now_s();
    double back_s = -1.0, streaming_s = -1.0;
    size_t silent_buffers = 0;
    /* Drain what the dead producer left in the ring at once, as a host running ahead would:
     * a restart on a fast machine can otherwise beat the ring's last second, and the test
     * is of the gap. At most 5 s of audio. */
    for (int b = 0; b < 5 * kRate / kBlock && stats_of(rain).underruns == before.underruns; ++b) {
        CHECK_STATUS(raingan_render_interleaved(rain, frames, kBlock), RAINGAN_OK);
        silent_buffers += checked_rms(frames, 2 * kBlock) == 0.0;
    }
    next = now_s();
    while (now_s() - killed_at < 60.0 && streaming_s < 0) {
        CHECK_STATUS(raingan_render_interleaved(rain, frames, kBlock), RAINGAN_OK);
        silent_buffers += checked_rms(frames, 2 * kBlock) == 0.0;
        const raingan_stats_t s = stats_of(rain);
        const int replaced = s.producer_pid != 0 && s.producer_pid != before.producer_pid;
        if (back_s < 0 && replaced && s.producer_state >= RAINGAN_PRODUCER_LOADING)
            back_s = now_s() - killed_at;
        if (replaced && s.producer_state == RAINGAN_PRODUCER_STREAMING && s.frames_buffered > 0 &&
            s.underruns > before.underruns)
            streaming_s = now_s() - killed_at;
        next += (double)kBlock / kRate;
        sleep_until(next);
    }
    /* Half a second more of the stream after the fallback's crossfade back. */
    for (int b = 0; b < kRate / 2 / kBlock; ++b) {
        CHECK_STATUS(raingan_render_interleaved(rain, frames, kBlock), RAINGAN_OK);
        silent_buffers += checked_rms(frames, 2 * kBlock) == 0.0;
        next += (double)kBlock / kRate;
        sleep_until(next);
    }
    const raingan_stats_t after = stats_of(rain);
    printf("killed: producer back (attached) after %.3f s, streaming after %.3f s; underruns %llu "
           "-> %llu; fallback loop heard %llu frames\n", back_s, streaming_s,
           (unsigned long long)before.underruns, (unsigned long long)after.underruns,
           (unsigned long long)(after.loop_heard_frames - before.loop_heard_frames));
    CHECK(back_s >= 0 && back_s < 2.0);
    CHECK(streaming_s >= 0);
    CHECK(after.producer_restarts == 1);
    CHECK(after.underruns > before.underruns);
    CHECK(after.loop_heard_frames > before.loop_heard_frames);
    CHECK(silent_buffers == 0);  /* the loop covered the gap: never silence */
    char message[256];
    CHECK_STATUS(raingan_producer_message(rain, message, sizeof message), RAINGAN_OK);
    CHECK(strstr(message, "signal 9") != NULL);
    CHECK_STATUS(raingan_destroy(rain), RAINGAN_OK);
}

/* A producer that stops beating (SIGSTOP: alive, but no progress) is killed and replaced. */
static void test_hung(void) {
    raingan_t* rain = start(13, 1);
    float frames[kBlock];
    const raingan_stats_t before = stats_of(rain);
    if (!signal_producer(before.producer_pid, SIGSTOP)) {
        raingan_destroy(rain);
        return;
    }
    const double stopped_at = now_s();
    double replaced_s = -1.0, next = stopped_at;
    size_t silent_buffers = 0;
    while (now_s() - stopped_at < 30.0 && replaced_s < 0) {
        CHECK_STATUS(raingan_render_interleaved(rain, frames, kBlock), RAINGAN_OK);
        silent_buffers += checked_rms(frames, kBlock) == 0.0;
        const raingan_stats_t s = stats_of(rain);
        if (s.producer_pid != 0 && s.producer_pid != before.producer_pid) replaced_s = now_s() - stopped_at;
        next += (double)kBlock / kRate;
        sleep_until(next);
    }
    printf("hung: producer replaced %.3f s after it stopped\n", replaced_s);
    CHECK(replaced_s >= 4.9 && replaced_s < 7.0);  /* 5 s without a heartbeat, then at once */
    CHECK(silent_buffers == 0);
    CHECK(stats_of(rain).producer_restarts == 1);
    char message[256];
    CHECK_STATUS(raingan_producer_message(rain, message, sizeof message), RAINGAN_OK);
    CHECK(strstr(message, "heartbeat stopped") != NULL);
    CHECK(before.producer_pid > 0 && kill(before.producer_pid, 0) == -1 && errno == ESRCH);  /* killed and reaped */
    CHECK_STATUS(raingan_destroy(rain), RAINGAN_OK);
}

static void test_instances(void) {
    raingan_t* a = start(1, 2);
    raingan_t* b = start(2, 2);
    enum { kBlocks = kRate / 2 / kBlock };
    static float out_a[kBlocks * 2 * kBlock], out_b[kBlocks * 2 * kBlock];
    double next = now_s();
    for (int i = 0; i < kBlocks; ++i) {
        CHECK_STATUS(raingan_render_interleaved(a, out_a + i * 2 * kBlock, kBlock), RAINGAN_OK);
        CHECK_STATUS(raingan_render_interleaved(b, out_b + i * 2 * kBlock, kBlock), RAINGAN_OK);
        next += (double)kBlock / kRate;
        sleep_until(next);
    }
    double dot = 0, energy_a = 0, energy_b = 0;
    for (size_t i = 0; i < sizeof out_a / sizeof *out_a; ++i) {
        dot += (double)out_a[i] * out_b[i];
        energy_a += (double)out_a[i] * out_a[i];
        energy_b += (double)out_b[i] * out_b[i];
    }
    const double correlation = dot / sqrt(energy_a * energy_b + 1e-30);
    printf("instances: correlation of seeds 1 and 2: %.4f\n", correlation);
    CHECK(energy_a > 0 && energy_b > 0);
    CHECK(fabs(correlation) < 0.5);  /* two streams, not one (one stream twice: 1) */
    CHECK(stats_of(a).producer_pid != stats_of(b).producer_pid);
    CHECK_STATUS(raingan_destroy(a), RAINGAN_OK);
    CHECK_STATUS(raingan_destroy(b), RAINGAN_OK);
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_c_abi arguments|audio|killed|hung|instances PYTHON\n");
        return 2;
    }
    python = argv[2];
    if (strcmp(argv[1], "arguments") == 0) test_arguments();
    else if (strcmp(argv[1], "audio") == 0) test_audio();
    else if (strcmp(argv[1], "killed") == 0) test_killed();
    else if (strcmp(argv[1], "hung") == 0) test_hung();
    else if (strcmp(argv[1], "instances") == 0) test_instances();
    else {
        fprintf(stderr, "test_c_abi: unknown case %s\n", argv[1]);
        return 2;
    }
    if (failures) {
        printf("%d check(s) failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
