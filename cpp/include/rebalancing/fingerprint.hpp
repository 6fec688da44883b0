#pragma once
/// A one-pass fingerprint of a buffer: XXH64 (Yann Collet's xxHash, 64-bit variant, written from
/// its published specification; the same digests as libxxhash's XXH64, checked in the tests).
///
/// What it is for: the Python layer remembers which covariance matrices it has already verified
/// (symmetric, positive semidefinite: O(n^3)) by (shape, fingerprint of the bytes), so a matrix
/// passed again unchanged skips the check while one changed in place is checked again. The hash
/// must therefore read every byte, and it is worth having only if that read is much cheaper than
/// the check: XXH64 runs at several GB/s with plain scalar code (four independent lanes, two
/// multiplications per 8 bytes), close to the memory bandwidth for matrices that leave the cache.
/// It is not cryptographic: it detects accidental changes (any change of the bytes alters the
/// digest except with probability about 2^-64), not a collision crafted on purpose.

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rebalancing {

namespace detail {

constexpr std::uint64_t kXxPrime1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t kXxPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t kXxPrime3 = 0x165667B19E3779F9ULL;
constexpr std::uint64_t kXxPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr std::uint64_t kXxPrime5 = 0x27D4EB2F165667C5ULL;

inline std::uint64_t rotl64(std::uint64_t x, int r) {
    return (x << r) | (x >> (64 - r));
}

/// Little-endian loads through memcpy: no alignment or aliasing assumptions (the x86-64 and
/// aarch64 targets of this library are little-endian, so the digest is XXH64's there).
inline std::uint64_t read64(const unsigned char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline std::uint32_t read32(const unsigned char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline std::uint64_t xx_round(std::uint64_t acc, std::uint64_t input) {
    acc += input * kXxPrime2;
    acc = rotl64(acc, 31);
    return acc * kXxPrime1;
}

inline std::uint64_t xx_merge(std::uint64_t acc, std::uint64_t lane) {
    acc ^= xx_round(0, lane);
    return acc * kXxPrime1 + kXxPrime4;
}

}  // namespace detail

/// XXH64 of the `size` bytes at `data` with `seed`.
inline std::uint64_t xxh64(const void* data, std::size_t size, std::uint64_t seed) {
    using namespace detail;
    const auto* p = static_cast<const unsigned char*>(data);
    const unsigned char* const end = p + size;
    std::uint64_t h;
    if (size >= 32) {
        // Four independent accumulators over 32-byte stripes: their multiplications overlap.
        std::uint64_t v1 = seed + kXxPrime1 + kXxPrime2, v2 = seed + kXxPrime2, v3 = seed,
                      v4 = seed - kXxPrime1;
        const unsigned char* const limit = end - 32;
        do {
            v1 = xx_round(v1, read64(p));
            v2 = xx_round(v2, read64(p + 8));
            v3 = xx_round(v3, read64(p + 16));
            v4 = xx_round(v4, read64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xx_merge(h, v1);
        h = xx_merge(h, v2);
        h = xx_merge(h, v3);
        h = xx_merge(h, v4);
    } else {
        h = seed + kXxPrime5;
    }
    h += static_cast<std::uint64_t>(size);
    for (; p + 8 <= end; p += 8) {
        h ^= xx_round(0, read64(p));
        h = rotl64(h, 27) * kXxPrime1 + kXxPrime4;
    }
    if (p + 4 <= end) {
        h ^= static_cast<std::uint64_t>(read32(p)) * kXxPrime1;
        h = rotl64(h, 23) * kXxPrime2 + kXxPrime3;
        p += 4;
    }
    for (; p < end; ++p) {
        h ^= static_cast<std::uint64_t>(*p) * kXxPrime5;
        h = rotl64(h, 11) * kXxPrime1;
    }
    h ^= h >> 33;
    h *= kXxPrime2;
    h ^= h >> 29;
    h *= kXxPrime3;
    h ^= h >> 32;
    return h;
}

}  // namespace rebalancing
