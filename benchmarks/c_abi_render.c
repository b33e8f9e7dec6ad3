/* raingan_render_interleaved's cost as a host's audio thread sees it: one raingan_t, its
 * producer process running, BUFFERS buffers of FRAMES frames rendered one per period (the
 * buffer's duration divided by SPEED) after raingan_wait_ready. Prints one line of
 * space-separated key=value pairs; benchmarks/c_abi_render.py builds and runs it.
 *
 *     c_abi_render PYTHON FRAMES BUFFERS SPEED LATENCY_MS */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "raingan.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

int main(int argc, char** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: c_abi_render PYTHON FRAMES BUFFERS SPEED LATENCY_MS\n");
        return 2;
    }
    const unsigned frames = (unsigned)atoi(argv[2]);
    const long buffers = atol(argv[3]);
    const double speed = atof(argv[4]);
    raingan_config config;
    raingan_config_init(&config);
    config.python_path = argv[1];
    config.seed = 1;
    config.latency_ms = atof(argv[5]);
    raingan_t* rain = NULL;
    raingan_status status = raingan_create(&config, &rain);
    if (status != RAINGAN_OK) {
        fprintf(stderr, "c_abi_render: %s\n", raingan_status_text(status));
        return 1;
    }
    const double start = now_s();
    status = raingan_wait_ready(rain, 120000);
    const double ready_s = now_s() - start;
    if (status != RAINGAN_OK) {
        fprintf(stderr, "c_abi_render: %s\n", raingan_status_text(status));
        return 1;
    }
    float* out = malloc(sizeof(float) * 2 * frames);
    double* us = malloc(sizeof(double) * (size_t)buffers);
    if (!out || !us) return 1;
    raingan_stats_t primed, done;
    raingan_stats(rain, &primed);
    const double period = (double)frames / config.sample_rate_hz / speed;
    double next = now_s(), peak = 0.0;
    long bad = 0;
    for (long b = 0; b < buffers; ++b) {
        const double t0 = now_s();
        raingan_render_interleaved(rain, out, frames);
        us[b] = (now_s() - t0) * 1e6;
        for (unsigned i = 0; i < 2 * frames; ++i) {
            const double x = out[i] < 0 ? -out[i] : out[i];
            bad += !(x <= 1.0);
            peak = x > peak ? x : peak;
        }
        next += period;
        const double left = next - now_s();
        if (left > 0) {
            struct timespec t = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
            nanosleep(&t, NULL);
        }
    }
    raingan_stats(rain, &done);
    qsort(us, (size_t)buffers, sizeof *us, by_value);
    printf("frames=%u buffers=%ld speed=%g ready_s=%.3f p50_us=%.2f p99_us=%.2f p999_us=%.2f "
           "max_us=%.1f underruns=%llu restarts=%llu bad_samples=%ld peak=%.3f\n",
           frames, buffers, speed, ready_s, us[buffers / 2], us[(long)(buffers * 0.99)],
           us[(long)(buffers * 0.999)], us[buffers - 1],
           (unsigned long long)(done.underruns - primed.underruns),
           (unsigned long long)done.producer_restarts, bad, peak);
    free(out);
    free(us);
    raingan_destroy(rain);
    return 0;
}
