/* raingan.h: endless generated rain for game engines and plugin hosts, as a plain C ABI.
 *
 * Link libraingan (built by the project's CMake, installed beside the Python package as
 * raingan/libraingan.so). raingan_create() starts a producer process, `python -m raingan
 * serve`, that generates rain into a shared-memory ring; the render functions only read that
 * ring, so nothing the generator does (an exception, a crash, a hang) can stall or take down
 * the host. While the producer is missing or late, render plays a seamless fallback loop (or
 * silence, before the producer has made the loop) and counts an underrun; a watchdog thread
 * restarts a producer that dies or hangs.
 *
 *     raingan_config config;
 *     raingan_config_init(&config);             // 48 kHz stereo, bundled model, 250 ms
 *     config.seed = 7;
 *     raingan_t* rain = NULL;
 *     if (raingan_create(&config, &rain) != RAINGAN_OK) ...;
 *     raingan_wait_ready(rain, 30000);          // optional: start on the stream itself
 *     ... audio thread: raingan_render_interleaved(rain, buffer, frames);
 *     ... any thread:  raingan_set_intensity(rain, 0.8f);
 *     raingan_destroy(rain);
 *
 * Every function but raingan_abi_version and raingan_status_text returns a raingan_status
 * and checks its arguments first: a NULL pointer, a frame count of 0 or above
 * RAINGAN_MAX_FRAMES, or a NaN or out-of-range parameter gets an error code and changes
 * nothing (but raingan_create's *out, which any failure sets to NULL). Threads: render from one thread at a time (a second concurrent call gets
 * RAINGAN_ERROR_BUSY); the setters and raingan_stats from any thread; create, wait_ready,
 * producer_message and destroy from threads that may block, and destroy only once nothing
 * else uses the handle.
 *
 * Real-time safe (no allocation, lock, system call, or Python): the render functions, the
 * setters and raingan_stats. Built and tested on Linux (POSIX shared memory, posix_spawn). */
#ifndef RAINGAN_H
#define RAINGAN_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define RAINGAN_API __attribute__((visibility("default")))
#else
#define RAINGAN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change to this header; compare with raingan_abi_version(). */
#define RAINGAN_ABI_VERSION 1
/* The most frames one render call takes. */
#define RAINGAN_MAX_FRAMES 65536u
/* config.seed: draw one. */
#define RAINGAN_SEED_RANDOM UINT64_MAX

typedef enum raingan_status {
    RAINGAN_OK = 0,
    RAINGAN_ERROR_NULL_POINTER = 1,     /* a required pointer is NULL */
    RAINGAN_ERROR_INVALID_ARGUMENT = 2, /* NaN, or outside the documented range */
    RAINGAN_ERROR_FRAME_COUNT = 3,      /* 0 frames, or more than RAINGAN_MAX_FRAMES */
    RAINGAN_ERROR_BUSY = 4,             /* render called from two threads at once */
    RAINGAN_ERROR_MODEL_NOT_FOUND = 5,  /* config.model_path is not a readable file */
    RAINGAN_ERROR_NO_PYTHON = 6,        /* no Python interpreter to run the producer */
    RAINGAN_ERROR_SYSTEM = 7,           /* shared memory, a thread or a process refused */
    RAINGAN_ERROR_PRODUCER_FAILED = 8,  /* the producer gave up; raingan_producer_message */
    RAINGAN_ERROR_TIMEOUT = 9,          /* raingan_wait_ready ran out of time */
    RAINGAN_ERROR_UNSUPPORTED = 10      /* the model has no intensity axis */
} raingan_status;

typedef struct raingan_instance raingan_t;

typedef struct raingan_config {
    uint32_t struct_size;     /* sizeof(raingan_config), set by raingan_config_init */
    uint32_t sample_rate_hz;  /* 8000 to 192000 (48000) */
    uint32_t channels;        /* 1 or 2 (2); interleaved frames carry this many samples */
    uint64_t seed;            /* 0 to 2^63 - 1, or RAINGAN_SEED_RANDOM (the default) */
    double latency_ms;        /* audio kept buffered ahead of the host, 20 to 10000 (250) */
    const char* model_path;   /* an exported .onnx model; NULL: the bundled one */
    const char* python_path;  /* the interpreter that has raingan installed; NULL: the
                                 RAINGAN_PYTHON environment variable, else python3 on PATH,
                                 resolved once, in raingan_create */
} raingan_config;

typedef enum raingan_producer_state {
    RAINGAN_PRODUCER_STARTING = 0,  /* launched, not attached to the ring yet */
    RAINGAN_PRODUCER_LOADING = 1,   /* attached, loading the model */
    RAINGAN_PRODUCER_STREAMING = 2, /* writing audio */
    RAINGAN_PRODUCER_FAILED = 3     /* gave up (bad model or settings); not restarted */
} raingan_producer_state;

typedef struct raingan_stats_t {
    uint64_t underruns;          /* times the ring ran short and the fallback stepped in */
    uint64_t loop_heard_frames;  /* frames in which the fallback loop was heard */
    uint64_t frames_rendered;    /* frames written to the host */
    uint64_t frames_buffered;    /* frames waiting in the ring now */
    uint64_t producer_restarts;  /* producers started after the first */
    uint64_t producer_heartbeat; /* the producer's loop count: moves while it is alive */
    int32_t producer_pid;        /* 0 while none runs */
    uint32_t producer_state;     /* a raingan_producer_state */
    uint32_t loop_ready;         /* 1 once the fallback loop is installed */
    uint32_t has_intensity;      /* 1 when the model has an intensity axis */
} raingan_stats_t;

/* RAINGAN_ABI_VERSION of the library at run time. */
RAINGAN_API uint32_t raingan_abi_version(void);
/* A short English description of a status, never NULL. */
RAINGAN_API const char* raingan_status_text(raingan_status status);

/* Fill *config with the defaults above. */
RAINGAN_API raingan_status raingan_config_init(raingan_config* config);

/* Check *config, create the shared-memory ring and start the producer; returns without
 * waiting for audio (render plays silence until the producer has filled the ring). */
RAINGAN_API raingan_status raingan_create(const raingan_config* config, raingan_t** out);

/* Block until the ring holds the latency and the fallback loop is in place (OK), the producer
 * has failed (PRODUCER_FAILED), or timeout_ms (1 to 600000) has passed (TIMEOUT). Not for the
 * audio thread. */
RAINGAN_API raingan_status raingan_wait_ready(raingan_t* rain, uint32_t timeout_ms);

/* Fill frames * channels interleaved samples (Unity, Unreal, FMOD, Godot). */
RAINGAN_API raingan_status raingan_render_interleaved(raingan_t* rain, float* out,
                                                      uint32_t frames);
/* Fill channels buffers of frames samples each (LV2, CLAP, VST3, JUCE, Wwise). */
RAINGAN_API raingan_status raingan_render_planar(raingan_t* rain, float* const* out,
                                                 uint32_t frames);

/* 0 light to 1 heavy; reaches the output after the latency and glides over about 0.5 s. */
RAINGAN_API raingan_status raingan_set_intensity(raingan_t* rain, float intensity);
/* -120 to +24 dB; glides per sample. */
RAINGAN_API raingan_status raingan_set_gain_db(raingan_t* rain, float gain_db);
/* Stereo width, 0 (mono) to 1; glides per sample. */
RAINGAN_API raingan_status raingan_set_width(raingan_t* rain, float width);

RAINGAN_API raingan_status raingan_stats(raingan_t* rain, raingan_stats_t* out);

/* The producer's last failure, one line, into buffer (always terminated); "" if none. */
RAINGAN_API raingan_status raingan_producer_message(raingan_t* rain, char* buffer,
                                                    size_t size);

/* Stop the producer (SIGTERM, then SIGKILL after 2 s), remove the ring, free the handle. */
RAINGAN_API raingan_status raingan_destroy(raingan_t* rain);

#ifdef __cplusplus
}
#endif

#endif /* RAINGAN_H */
