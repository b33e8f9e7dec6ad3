#include "raingan/pghi.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <system_error>
#include <thread>
#include <vector>

#include "pghi_bucket_queue.hpp"

namespace raingan {
namespace {

using pghi_detail::bucket_capacity;
using pghi_detail::BucketQueue;
using pghi_detail::float_bits;

constexpr double kPi = 3.14159265358979323846;
constexpr double kTwoPi = 2.0 * kPi;

// Seeds are sorted by a key that packs the magnitude's bit pattern above the cell index: for
// non-negative floats the bit pattern orders like the value, so one integer comparison
// orders them, and equal magnitudes tie-break on the index.
using SeedKey = std::uint64_t;

SeedKey seed_key(float magnitude, std::uint32_t index) {
    return (static_cast<SeedKey>(float_bits(magnitude)) << 32) | index;
}

std::uint32_t seed_index(SeedKey key) { return static_cast<std::uint32_t>(key); }

// A hash of the cell position, not a seeded generator: a chunk's phase must not depend on
// where it sits in the batch or which thread handles it.
float scrambled_phase(std::uint64_t cell) {
    std::uint64_t z = cell + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const double unit = static_cast<double>(z >> 40) * (1.0 / static_cast<double>(1ull << 24));
    return static_cast<float>(kTwoPi * unit - kPi);
}

float wrap_phase(float phase) {
    // Round to nearest through an integer conversion: std::nearbyint is a library call
    // without SSE4.1, and this runs once per cell. The gradients are bounded (clamped
    // log-magnitudes), so the quotient is far inside the int64 range.
    const double turns = static_cast<double>(phase) * (1.0 / kTwoPi);
    const auto nearest = static_cast<std::int64_t>(turns + (turns >= 0.0 ? 0.5 : -0.5));
    return static_cast<float>(static_cast<double>(phase) - kTwoPi * static_cast<double>(nearest));
}

// Everything that depends on the geometry only, shared read-only by all workers.
struct Geometry {
    std::size_t n_frames;
    std::size_t n_bins;
    std::size_t n_fft;
    // Phase advance per hop from d(log s)/d(bin), and per bin from d(log s)/d(frame), for
    // centred differences (the 1/2 of the difference is folded in).
    double time_gain;
    double freq_gain;
    // Per-bin phase advance of one hop for a stationary sinusoid at the bin centre, reduced
    // mod 2 pi so that long integration paths keep their precision.
    std::vector<float> hop_advance;
    // The window's centre sits win/2 samples into the FFT buffer, which adds this linear
    // phase per bin to the centre-referenced phase that the gradient theorem describes.
    float bin_advance;
};

Geometry make_geometry(std::size_t n_frames, std::size_t n_bins, std::size_t n_fft,
                       std::size_t win_length, std::size_t hop_length) {
    const double gamma = kHannGammaPerSquaredLength * static_cast<double>(win_length) *
                         static_cast<double>(win_length);
    const double hop = static_cast<double>(hop_length);
    const double channels = static_cast<double>(n_fft);
    Geometry g{n_frames, n_bins, n_fft, 0.5 * hop * channels / gamma,
               -0.5 * gamma / (hop * channels), {},
               static_cast<float>(-kTwoPi * (0.5 * static_cast<double>(win_length)) / channels)};
    g.hop_advance.resize(n_bins);
    for (std::size_t k = 0; k < n_bins; ++k) {
        // k * hop fits exactly in 64 bits, so the reduction mod n_fft is exact.
        const std::uint64_t cycles_numer = (static_cast<std::uint64_t>(k) * hop_length) % n_fft;
        g.hop_advance[k] = static_cast<float>(kTwoPi * static_cast<double>(cycles_numer) / channels);
    }
    return g;
}

// One worker's scratch, sized once and reused for every chunk it handles. The integration
// visits cells in magnitude order, i.e. all over the chunk, so what it reads of a cell is
// kept together in one record.
class Integrator {
public:
    Integrator(const Geometry& geometry, float tolerance_db)
        : g_(geometry), cells_(geometry.n_frames * geometry.n_bins), log_mag_(cells_),
          cell_(cells_), queue_(cells_, bucket_capacity(tolerance_db)) {
        seeds_.reserve(cells_);
    }

    void run(const float* mag, float* phase_out, float tolerance_db) {
        float peak = 0.0f;
        std::size_t peak_cell = 0;
        for (std::size_t i = 0; i < cells_; ++i) {
            // Written so that NaN and infinity never become the peak.
            if (mag[i] > peak && mag[i] <= std::numeric_limits<float>::max()) {
                peak = mag[i];
                peak_cell = i;
            }
        }
        if (!(peak > 0.0f)) {  // silence (or nothing finite): no phase to integrate
            for (std::size_t i = 0; i < cells_; ++i) phase_out[i] = scrambled_phase(i);
            return;
        }
        const float floor = peak * static_cast<float>(std::pow(10.0, tolerance_db / 20.0));
        // A positive floor keeps log() finite; a normal one keeps the bucket count bounded.
        lo_ = std::min(std::max(floor, std::numeric_limits<float>::min()), peak);
        hi_ = peak;
        mag_ = mag;
        phase_ = phase_out;

        classify();
        compute_gradients();
        integrate(peak_cell);
    }

private:
    enum class State : std::uint8_t { kOpen, kDone, kMasked };

    struct Cell {
        float time_grad;  // phase advance per hop
        float freq_grad;  // phase advance per bin
        BucketQueue::Bucket bucket;
        State state;
    };

    // Marks the cells whose phase is integrated, gives the others their final phase, and
    // takes the log-magnitudes, clamped at the floor: that bounds the gradients next to
    // masked cells, whose log-magnitude could otherwise be -inf.
    void classify() {
        queue_.clear(lo_, hi_);
        const float log_floor = std::log(lo_);
        for (std::size_t i = 0; i < cells_; ++i) {
            // Written so that NaN and infinity are masked.
            if (mag_[i] >= lo_ && mag_[i] <= hi_) {
                cell_[i].state = State::kOpen;
                cell_[i].bucket = queue_.bucket_of(mag_[i]);
                log_mag_[i] = std::log(mag_[i]);
            } else {
                cell_[i].state = State::kMasked;
                log_mag_[i] = log_floor;
                phase_[i] = scrambled_phase(i);
            }
        }
    }

    void compute_gradients() {
        const std::size_t n_frames = g_.n_frames, n_bins = g_.n_bins;
        const float time_gain = static_cast<float>(g_.time_gain);
        const float freq_gain = static_cast<float>(g_.freq_gain);
        // Bins mirror about DC and about n_fft / 2 (conjugate symmetry of a real signal's
        // spectrum), so the neighbour past either end is a bin inside the range: bin -1 is
        // bin 1, and bin n_bins is bin n_fft - n_bins (n_bins - 2 for even n_fft).
        const std::size_t below_dc = n_bins > 1 ? 1 : 0;
        const std::size_t past_top = g_.n_fft - n_bins;
        for (std::size_t m = 0; m < n_frames; ++m) {
            // One-sided differences at the chunk's ends, doubled to match the centred scale.
            const std::size_t prev = m == 0 ? 0 : m - 1;
            const std::size_t next = m + 1 == n_frames ? m : m + 1;
            const float frame_gain =
                next - prev == 2 ? freq_gain : next == prev ? 0.0f : 2.0f * freq_gain;
            const float* row = &log_mag_[m * n_bins];
            const float* before = &log_mag_[prev * n_bins];
            const float* after = &log_mag_[next * n_bins];
            Cell* cell = &cell_[m * n_bins];
            for (std::size_t k = 0; k < n_bins; ++k) {
                const float lower = row[k == 0 ? below_dc : k - 1];
                const float upper = row[k + 1 == n_bins ? past_top : k + 1];
                cell[k].time_grad = time_gain * (upper - lower) + g_.hop_advance[k];
                cell[k].freq_grad = frame_gain * (after[k] - before[k]) + g_.bin_advance;
            }
        }
    }

    void assign(std::size_t cell, float phase) {
        // Wrapping every step keeps the phase small, so float accumulates no drift along
        // paths of hundreds of steps.
        phase_[cell] = wrap_phase(phase);
        cell_[cell].state = State::kDone;
        queue_.push(static_cast<std::uint32_t>(cell), cell_[cell].bucket);
    }

    // Heap integration (Prusa et al. 2017, algorithm 1): always extend from the largest
    // coefficient whose phase is known, by trapezoidal steps of the phase gradient; when
    // nothing is left to extend, start a new region at the largest coefficient not reached.
    //
    // ltfat's pghi runs this twice, first down to -20 dB and then down to the tolerance, so
    // that isolated strong regions start from their own maxima; on rain (dense noise) that
    // measured 0.1 to 0.5 dB worse in spectral convergence, so a single pass it is.
    void integrate(std::size_t peak_cell) {
        const std::size_t n_frames = g_.n_frames, n_bins = g_.n_bins;
        assign(peak_cell, 0.0f);
        // The peak's region usually covers the whole mask, so the other regions' seeds are
        // only gathered (and sorted) once it is exhausted.
        bool seeds_gathered = false;
        std::size_t next_seed = 0;
        for (;;) {
            if (queue_.empty()) {
                if (!seeds_gathered) {
                    seeds_.clear();
                    for (std::size_t i = 0; i < cells_; ++i) {
                        if (cell_[i].state == State::kOpen) {
                            seeds_.push_back(seed_key(mag_[i], static_cast<std::uint32_t>(i)));
                        }
                    }
                    std::sort(seeds_.begin(), seeds_.end(), std::greater<>());
                    seeds_gathered = true;
                }
                while (next_seed < seeds_.size() &&
                       cell_[seed_index(seeds_[next_seed])].state == State::kDone) {
                    ++next_seed;
                }
                if (next_seed == seeds_.size()) return;
                assign(seed_index(seeds_[next_seed]), 0.0f);
            }
            const std::size_t c = queue_.pop();
            const std::size_t m = c / n_bins, k = c - m * n_bins;
            const float p = phase_[c];
            const Cell& here = cell_[c];
            if (m + 1 < n_frames && cell_[c + n_bins].state == State::kOpen) {
                assign(c + n_bins, p + 0.5f * (here.time_grad + cell_[c + n_bins].time_grad));
            }
            if (m > 0 && cell_[c - n_bins].state == State::kOpen) {
                assign(c - n_bins, p - 0.5f * (here.time_grad + cell_[c - n_bins].time_grad));
            }
            if (k + 1 < n_bins && cell_[c + 1].state == State::kOpen) {
                assign(c + 1, p + 0.5f * (here.freq_grad + cell_[c + 1].freq_grad));
            }
            if (k > 0 && cell_[c - 1].state == State::kOpen) {
                assign(c - 1, p - 0.5f * (here.freq_grad + cell_[c - 1].freq_grad));
            }
        }
    }

    const Geometry& g_;
    std::size_t cells_;
    const float* mag_ = nullptr;
    float* phase_ = nullptr;  // the chunk's output, also the integration's working phase
    float lo_ = 0.0f;
    float hi_ = 0.0f;
    std::vector<float> log_mag_;
    std::vector<Cell> cell_;
    BucketQueue queue_;
    std::vector<SeedKey> seeds_;
};

}  // namespace

void pghi(const float* magnitudes, float* phase_out, std::size_t batch, std::size_t n_frames,
          std::size_t n_bins, std::size_t n_fft, std::size_t win_length, std::size_t hop_length,
          float tolerance_db, std::size_t num_threads) {
    check_pghi_arguments(n_frames, n_bins, n_fft, win_length, hop_length, tolerance_db);
    if (batch == 0) return;

    if (num_threads == 0) num_threads = std::max(1u, std::thread::hardware_concurrency());
    num_threads = std::min(num_threads, batch);

    const Geometry geometry = make_geometry(n_frames, n_bins, n_fft, win_length, hop_length);
    // All allocation happens here, before any worker starts: workers cannot throw.
    std::vector<Integrator> workers;
    workers.reserve(num_threads);
    for (std::size_t t = 0; t < num_threads; ++t) workers.emplace_back(geometry, tolerance_db);

    const std::size_t cells = n_frames * n_bins;
    auto work = [&](std::size_t t) {
        // Contiguous ranges: each worker streams through its own part of the arrays.
        const std::size_t begin = batch * t / num_threads, end = batch * (t + 1) / num_threads;
        for (std::size_t b = begin; b < end; ++b) {
            workers[t].run(magnitudes + b * cells, phase_out + b * cells, tolerance_db);
        }
    };

    std::vector<std::thread> threads;
    threads.reserve(num_threads - 1);
    std::size_t t = 1;
    try {
        for (; t < num_threads; ++t) threads.emplace_back(work, t);
    } catch (const std::system_error&) {
        // No thread to spare: the calling thread does the remaining ranges itself.
    }
    for (std::size_t rest = t; rest < num_threads; ++rest) work(rest);
    work(0);
    for (auto& thread : threads) thread.join();
}

}  // namespace raingan
