// The priority queue of PGHI's integration (pghi.cpp): cells keyed by magnitude, with O(1)
// push and pop. Internal to raingan_core.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace raingan::pghi_detail {

inline std::uint32_t float_bits(float value) {
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

// Index of the highest set bit of a non-zero word.
inline unsigned highest_bit(std::uint64_t word) {
#if defined(__GNUC__) || defined(__clang__)
    return 63u - static_cast<unsigned>(__builtin_clzll(word));
#else
    unsigned bit = 0;
    while (word >>= 1) ++bit;
    return bit;
#endif
}

// Max-priority queue of cells keyed by magnitude, quantised to 1/256 of an octave (0.024 dB):
// O(1) push and pop where a binary heap spent 60% of the run time. The order within a bucket
// (last in, first out) is arbitrary but deterministic, and swapping coefficients that close
// in magnitude does not change the integration measurably.
class BucketQueue {
public:
    // A bucket per 2^kShift steps of the float bit pattern: 2^(23 - kShift) per octave.
    static constexpr unsigned kShift = 15;
    // Bucket indices of all positive normal floats fit in 16 bits.
    using Bucket = std::uint16_t;

    BucketQueue(std::size_t cells, std::size_t max_buckets)
        : next_(cells), head_(max_buckets), occupied_((max_buckets + 63) / 64) {}

    // Empties the queue for magnitudes in [floor, peak] (normal, positive).
    void clear(float floor, float peak) {
        floor_bits_ = float_bits(floor);
        const std::size_t used = ((float_bits(peak) - floor_bits_) >> kShift) + 1;
        n_buckets_ = std::min(used, head_.size());
        std::fill_n(occupied_.begin(), (n_buckets_ + 63) / 64, std::uint64_t{0});
        top_ = 0;
        size_ = 0;
    }

    Bucket bucket_of(float magnitude) const {
        return static_cast<Bucket>(
            std::min<std::size_t>((float_bits(magnitude) - floor_bits_) >> kShift, n_buckets_ - 1));
    }

    bool empty() const { return size_ == 0; }

    void push(std::uint32_t cell, Bucket bucket) {
        const std::uint64_t bit = std::uint64_t{1} << (bucket & 63);
        // An empty bucket's head is stale; the occupancy bit says whether to link to it.
        next_[cell] = occupied_[bucket >> 6] & bit ? head_[bucket] : kNone;
        head_[bucket] = cell;
        occupied_[bucket >> 6] |= bit;
        top_ = std::max<std::size_t>(top_, bucket);
        ++size_;
    }

    std::uint32_t pop() {
        // top_ bounds the highest occupied bucket from above, so no bit above it is set. The
        // occupancy bitmap skips runs of empty buckets, which are long in noisy spectra where
        // a push far above the rest is popped at once.
        std::size_t word = top_ >> 6;
        while (occupied_[word] == 0) --word;
        top_ = (word << 6) + highest_bit(occupied_[word]);
        const std::uint32_t cell = head_[top_];
        head_[top_] = next_[cell];
        if (next_[cell] == kNone) occupied_[word] &= ~(std::uint64_t{1} << (top_ & 63));
        --size_;
        return cell;
    }

private:
    static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

    std::vector<std::uint32_t> next_;  // singly linked list through the cells of a bucket
    std::vector<std::uint32_t> head_;
    std::vector<std::uint64_t> occupied_;  // bit per bucket: non-empty
    std::uint32_t floor_bits_ = 0;
    std::size_t n_buckets_ = 0;
    std::size_t top_ = 0;
    std::size_t size_ = 0;
};

// Buckets that magnitudes spanning `tolerance_db` below the peak can need, with a margin for
// float rounding, capped by the span of all normal floats.
inline std::size_t bucket_capacity(float tolerance_db) {
    const double octaves = -static_cast<double>(tolerance_db) / (20.0 * std::log10(2.0));
    const double per_octave = static_cast<double>(1u << (23 - BucketQueue::kShift));
    const double all_normals = static_cast<double>(
        (float_bits(std::numeric_limits<float>::max()) - float_bits(std::numeric_limits<float>::min())) >>
        BucketQueue::kShift) + 1.0;
    return static_cast<std::size_t>(std::min((std::ceil(octaves) + 2.0) * per_octave, all_normals));
}

}  // namespace raingan::pghi_detail
