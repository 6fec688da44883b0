#pragma once
/// A one-pass fingerprint of a buffer, for the Python layer's cache of verified covariance
/// matrices: it remembers which matrices passed the O(n^3) checks (symmetric, positive
/// semidefinite) by (shape, fingerprint of the bytes), so that a matrix passed again unchanged
/// skips the checks while one changed in place is checked again. The fingerprint therefore reads
/// every byte, and it is worth having only if that read is much cheaper than the checks.
///
/// Two hashes by Yann Collet (xxHash), written from their specification and checked against
/// the reference library (libxxhash 0.8.1) in the tests:
///
/// * XXH3-64 with a caller's 192-byte secret (XXH3_64bits_withSecret) for buffers of more than
///   240 bytes -- every matrix the cache sees. Per 8 bytes one 32 x 32 -> 64-bit product, two
///   per SSE2 instruction: about 25 GB/s on this project's machines with data in cache, 2.5
///   times XXH64, and close to the memory bandwidth beyond it.
/// * XXH64 for shorter buffers (XXH3's short-input paths are not needed here), seeded with the
///   secret's first 8 bytes.
///
/// Neither is cryptographic: they detect accidental changes (any change of the bytes alters the
/// digest except with probability about 2^-64); a secret drawn at random per process makes a
/// collision crafted on purpose depend on knowing it.

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define REBALANCING_XXH3_SSE2 1
#endif
// AVX2 is not in the x86-64 baseline the library is compiled for: its loop is compiled for AVX2
// alone (a target attribute, GCC and Clang) and chosen at run time when the CPU has it.
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define REBALANCING_XXH3_AVX2 1
#endif

namespace rebalancing {

namespace detail {

constexpr std::uint64_t kXxPrime1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t kXxPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t kXxPrime3 = 0x165667B19E3779F9ULL;
constexpr std::uint64_t kXxPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr std::uint64_t kXxPrime5 = 0x27D4EB2F165667C5ULL;
constexpr std::uint64_t kXxPrime32_1 = 0x9E3779B1ULL;
constexpr std::uint64_t kXxPrime32_2 = 0x85EBCA77ULL;
constexpr std::uint64_t kXxPrime32_3 = 0xC2B2AE3DULL;

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

/// Size of the secret XXH3 takes here (its default secret's size).
constexpr std::size_t kXxh3SecretSize = 192;

namespace detail {

constexpr std::size_t kXxh3Stripe = 64;
// Each stripe of a block uses the secret 8 bytes further on; a block ends with a scramble.
constexpr std::size_t kXxh3StripesPerBlock = (kXxh3SecretSize - kXxh3Stripe) / 8;
constexpr std::size_t kXxh3Block = kXxh3Stripe * kXxh3StripesPerBlock;

/// One 64-byte stripe into the eight accumulators: acc[i ^ 1] += x_i, and
/// acc[i] += lo32(x_i ^ k_i) * hi32(x_i ^ k_i).
inline void xxh3_stripe(std::uint64_t* acc, const unsigned char* in, const unsigned char* key) {
#if defined(REBALANCING_XXH3_SSE2)
    auto* a = reinterpret_cast<__m128i*>(acc);
    for (int i = 0; i < 4; ++i) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in) + i);
        const __m128i k =
            _mm_xor_si128(x, _mm_loadu_si128(reinterpret_cast<const __m128i*>(key) + i));
        const __m128i product = _mm_mul_epu32(k, _mm_shuffle_epi32(k, _MM_SHUFFLE(0, 3, 0, 1)));
        const __m128i swapped = _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2));
        a[i] = _mm_add_epi64(a[i], _mm_add_epi64(product, swapped));
    }
#else
    for (int i = 0; i < 8; ++i) {
        const std::uint64_t x = read64(in + 8 * i), k = x ^ read64(key + 8 * i);
        acc[i ^ 1] += x;
        acc[i] += (k & 0xFFFFFFFFULL) * (k >> 32);
    }
#endif
}

/// The low 64 bits of the 128-bit product a * b, xor its high 64 bits: from 32-bit halves
/// (portable and -Wpedantic clean; it runs four times per fingerprint).
inline std::uint64_t mul128_fold64(std::uint64_t a, std::uint64_t b) {
    const std::uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32;
    const std::uint64_t b_lo = b & 0xFFFFFFFFULL, b_hi = b >> 32;
    const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi;
    const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFULL) + lo_hi;
    const std::uint64_t upper = a_hi * b_hi + (hi_lo >> 32) + (cross >> 32);
    const std::uint64_t lower = (cross << 32) | (lo_lo & 0xFFFFFFFFULL);
    return lower ^ upper;
}

}  // namespace detail

namespace detail {

/// XXH3's accumulation of a whole input into acc[8]: blocks of 16 stripes, each followed by a
/// scramble (acc ^= acc >> 47, ^= secret, *= PRIME32_1), the stripes of the last partial block,
/// then the last 64 bytes (overlapping what came before when size is not a multiple of 64).
inline void xxh3_accumulate(std::uint64_t* acc, const unsigned char* in, std::size_t size,
                            const unsigned char* secret) {
    const std::size_t blocks = (size - 1) / kXxh3Block;
    for (std::size_t b = 0; b < blocks; ++b) {
        const unsigned char* block = in + b * kXxh3Block;
        for (std::size_t s = 0; s < kXxh3StripesPerBlock; ++s)
            xxh3_stripe(acc, block + s * kXxh3Stripe, secret + s * 8);
        const unsigned char* key = secret + kXxh3SecretSize - kXxh3Stripe;
        for (int i = 0; i < 8; ++i) {
            std::uint64_t a = acc[i];
            a ^= a >> 47;
            a ^= read64(key + 8 * i);
            acc[i] = a * kXxPrime32_1;
        }
    }
    const std::size_t stripes = ((size - 1) - blocks * kXxh3Block) / kXxh3Stripe;
    for (std::size_t s = 0; s < stripes; ++s)
        xxh3_stripe(acc, in + blocks * kXxh3Block + s * kXxh3Stripe, secret + s * 8);
    xxh3_stripe(acc, in + size - kXxh3Stripe, secret + kXxh3SecretSize - kXxh3Stripe - 7);
}

#if defined(REBALANCING_XXH3_AVX2)
/// xxh3_accumulate with the eight accumulators in two AVX2 registers (the same digest).
__attribute__((target("avx2"))) inline void xxh3_accumulate_avx2(std::uint64_t* acc,
                                                                 const unsigned char* in,
                                                                 std::size_t size,
                                                                 const unsigned char* secret) {
    __m256i a[2] = {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc)),
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc) + 1)};
    const auto stripe = [&a](const unsigned char* p,
                             const unsigned char* key) __attribute__((target("avx2"))) {
        for (int i = 0; i < 2; ++i) {
            const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p) + i);
            const __m256i k =
                _mm256_xor_si256(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(key) + i));
            const __m256i product =
                _mm256_mul_epu32(k, _mm256_shuffle_epi32(k, _MM_SHUFFLE(0, 3, 0, 1)));
            const __m256i swapped = _mm256_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2));
            a[i] = _mm256_add_epi64(a[i], _mm256_add_epi64(product, swapped));
        }
    };
    // 64-bit lanes times a 32-bit prime: low product plus the high half's product shifted up.
    const __m256i prime = _mm256_set1_epi32(static_cast<int>(kXxPrime32_1));
    const std::size_t blocks = (size - 1) / kXxh3Block;
    for (std::size_t b = 0; b < blocks; ++b) {
        const unsigned char* block = in + b * kXxh3Block;
        for (std::size_t s = 0; s < kXxh3StripesPerBlock; ++s)
            stripe(block + s * kXxh3Stripe, secret + s * 8);
        const unsigned char* key = secret + kXxh3SecretSize - kXxh3Stripe;
        for (int i = 0; i < 2; ++i) {
            __m256i v = _mm256_xor_si256(a[i], _mm256_srli_epi64(a[i], 47));
            v = _mm256_xor_si256(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(key) + i));
            const __m256i lo = _mm256_mul_epu32(v, prime);
            const __m256i hi =
                _mm256_mul_epu32(_mm256_shuffle_epi32(v, _MM_SHUFFLE(0, 3, 0, 1)), prime);
            a[i] = _mm256_add_epi64(lo, _mm256_slli_epi64(hi, 32));
        }
    }
    const std::size_t stripes = ((size - 1) - blocks * kXxh3Block) / kXxh3Stripe;
    for (std::size_t s = 0; s < stripes; ++s)
        stripe(in + blocks * kXxh3Block + s * kXxh3Stripe, secret + s * 8);
    stripe(in + size - kXxh3Stripe, secret + kXxh3SecretSize - kXxh3Stripe - 7);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc), a[0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc) + 1, a[1]);
}

inline bool cpu_has_avx2() {
    static const bool has = __builtin_cpu_supports("avx2");
    return has;
}
#endif

}  // namespace detail

/// XXH3-64 of the `size` > 240 bytes at `data` with a kXxh3SecretSize-byte `secret`: the digest
/// of libxxhash's XXH3_64bits_withSecret (its long-input path). `allow_avx2 = false` forces the
/// SSE2 (or scalar) loop, for the tests.
inline std::uint64_t xxh3_64_long(const void* data, std::size_t size, const unsigned char* secret,
                                  bool allow_avx2 = true) {
    using namespace detail;
    const auto* in = static_cast<const unsigned char*>(data);
    alignas(16) std::uint64_t acc[8] = {kXxPrime32_3, kXxPrime1,    kXxPrime2, kXxPrime3,
                                        kXxPrime4,    kXxPrime32_2, kXxPrime5, kXxPrime32_1};
#if defined(REBALANCING_XXH3_AVX2)
    if (allow_avx2 && cpu_has_avx2())
        xxh3_accumulate_avx2(acc, in, size, secret);
    else
        xxh3_accumulate(acc, in, size, secret);
#else
    static_cast<void>(allow_avx2);
    xxh3_accumulate(acc, in, size, secret);
#endif
    std::uint64_t h = static_cast<std::uint64_t>(size) * kXxPrime1;
    const unsigned char* merge = secret + 11;
    for (int i = 0; i < 4; ++i)
        h += mul128_fold64(acc[2 * i] ^ read64(merge + 16 * i),
                           acc[2 * i + 1] ^ read64(merge + 16 * i + 8));
    h ^= h >> 37;
    h *= 0x165667919E3779F9ULL;
    h ^= h >> 32;
    return h;
}

/// The fingerprint of the `size` bytes at `data` under a kXxh3SecretSize-byte `secret`:
/// XXH3-64 above 240 bytes, XXH64 seeded with the secret's first 8 bytes up to 240.
inline std::uint64_t fingerprint(const void* data, std::size_t size, const unsigned char* secret) {
    if (size > 240) return xxh3_64_long(data, size, secret);
    return xxh64(data, size, detail::read64(secret));
}

}  // namespace rebalancing
