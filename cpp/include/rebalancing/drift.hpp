#pragma once
/// Fused drift and band checks for one portfolio or a batch of m portfolios over n assets.
///
/// For portfolio r and asset i, the drift is d_ri = w_ri - w*_ri and the band is
///     b_ri = min(abs_i, rel_i |w*_ri|)
/// over the rules that are given (a missing rule is +inf). Asset i breaches when |d_ri| > b_ri
/// (strictly, as the textbook threshold test). Groups: with g(i) the group of asset i, the group
/// drift is D_rg = sum_{i in g} d_ri, and group g breaches when |D_rg| exceeds its band (checked
/// by the caller, who knows the group bands; the kernel returns D).
///
/// One pass over the data computes, per portfolio, max_i |d_ri|, max_i (|d_ri| - b_ri) (> 0 iff
/// some asset breaches; otherwise minus the smallest headroom), a NaN/inf check, and the group
/// drifts: reductions only, no n-sized output, so memory traffic is the reading of the inputs. The
/// number of breaching assets is counted by a second pass over only the blocks that breach (in a
/// daily check, few). Which assets breach is read afterwards, only for the portfolios that do.
///
/// Work is split into items of at most kDriftChunk assets of one portfolio. Maxima and counts do
/// not depend on the order of evaluation; group sums are accumulated within an item in index
/// order and items are merged in index order, so every result is bitwise identical for any
/// thread count.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
// AVX2 body chosen at run time (GCC and Clang on x86-64); the baseline build stays portable.
#if defined(__GNUC__) && defined(__x86_64__)
#define REBALANCING_HAVE_AVX2_DISPATCH 1
#include <immintrin.h>
#endif

#include "parallel.hpp"

namespace rebalancing {

inline constexpr std::size_t kDriftChunk = std::size_t{1} << 16;
inline constexpr std::size_t kAutoThreadMinimum = std::size_t{1} << 18;

enum class BandKind : std::uint8_t { none, scalar, per_asset };

/// b_i = min(abs_i, rel_i |w*_i|) over the rules present.
struct BandRule {
    BandKind abs_kind = BandKind::none;
    double abs_scalar = 0.0;
    const double* abs = nullptr;  ///< n entries when abs_kind == per_asset
    BandKind rel_kind = BandKind::none;
    double rel_scalar = 0.0;
    const double* rel = nullptr;  ///< n entries when rel_kind == per_asset
};

/// The portfolios to check. Row-major arrays.
struct DriftBatch {
    std::size_t m = 0, n = 0;
    const double* current = nullptr;  ///< m x n
    const double* target = nullptr;   ///< n (shared by every portfolio) or m x n
    bool shared_target = true;
    const std::int32_t* group = nullptr;  ///< n group ids in [0, n_groups), or null
    std::size_t n_groups = 0;
};

struct DriftSummary {
    double max_drift = 0.0;                                        ///< max_i |d_i|
    double max_excess = -std::numeric_limits<double>::infinity();  ///< max_i (|d_i| - b_i)
    std::int64_t breaches = 0;                                     ///< #{i : |d_i| > b_i}
    /// #{i : d_i is NaN or +-inf}: the inputs are checked for finiteness in the same pass.
    std::int64_t nonfinite = 0;
};

namespace detail {

inline constexpr double kLargest = std::numeric_limits<double>::max();

template <BandKind A, BandKind R>
inline double band_at(const BandRule& rule, std::size_t i, double target) {
    double band = std::numeric_limits<double>::infinity();
    if constexpr (A == BandKind::scalar) band = rule.abs_scalar;
    if constexpr (A == BandKind::per_asset) band = rule.abs[i];
    if constexpr (R != BandKind::none) {
        const double rel = R == BandKind::scalar ? rule.rel_scalar : rule.rel[i];
        const double by_target = rel * std::abs(target);
        band = by_target < band ? by_target : band;
    }
    return band;
}

/// Pass 1 over assets [begin, end) of one portfolio: max |d_i|, max (|d_i| - b_i), and whether
/// some d_i may be NaN or inf. The counts are left to pass 2, which runs only when pass 1 finds a
/// breach or a non-finite value: in the common case (no breach) the check is one lean pass over
/// memory. With a constant band (a scalar absolute band, or none), max (|d_i| - b) is computed as
/// max |d_i| - b, the same number (subtracting b rounds monotonically).
///
/// The vector bodies use SSE2 (part of the x86-64 baseline) or, where the CPU has it, AVX2
/// (chosen at run time). maxpd/minpd are exactly `a > m ? a : m` / `a < m ? a : m`, and |x|
/// clears the sign bit as std::abs does, so every path gives identical maxima. NaN/inf are
/// screened by a running sum of |d|, which stays finite unless some |d| is NaN or inf (or the sum
/// overflows: a false alarm that pass 2 settles exactly) -- one add per vector.
struct Extremes {
    double top = 0.0;
    double excess = -std::numeric_limits<double>::infinity();
    bool suspect = false;  ///< some |d| may be NaN or inf
    std::size_t next = 0;  ///< first asset not processed by the vector body
};

template <BandKind A, BandKind R>
constexpr bool band_is_constant = A != BandKind::per_asset && R == BandKind::none;

#if defined(__SSE2__)
template <BandKind A, BandKind R>
Extremes extremes_sse2(const double* cur, const double* tgt, std::size_t begin, std::size_t end,
                       const BandRule& rule) {
    const __m128d magnitude = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL));
    __m128d top[2] = {_mm_setzero_pd(), _mm_setzero_pd()};
    __m128d excess[2] = {_mm_set1_pd(-INFINITY), _mm_set1_pd(-INFINITY)};
    __m128d screen[2] = {_mm_setzero_pd(), _mm_setzero_pd()};
    std::size_t j = begin;
    for (; j + 4 <= end; j += 4) {
        for (std::size_t h = 0; h < 2; ++h) {
            const std::size_t k = j + 2 * h;
            const __m128d t = _mm_loadu_pd(tgt + k);
            const __m128d a = _mm_and_pd(_mm_sub_pd(_mm_loadu_pd(cur + k), t), magnitude);
            top[h] = _mm_max_pd(a, top[h]);
            screen[h] = _mm_add_pd(screen[h], a);
            if constexpr (!band_is_constant<A, R>) {
                __m128d band =
                    A == BandKind::scalar ? _mm_set1_pd(rule.abs_scalar) : _mm_set1_pd(INFINITY);
                if constexpr (A == BandKind::per_asset) band = _mm_loadu_pd(rule.abs + k);
                if constexpr (R != BandKind::none) {
                    const __m128d rel = R == BandKind::scalar ? _mm_set1_pd(rule.rel_scalar)
                                                              : _mm_loadu_pd(rule.rel + k);
                    band = _mm_min_pd(_mm_mul_pd(rel, _mm_and_pd(t, magnitude)), band);
                }
                excess[h] = _mm_max_pd(_mm_sub_pd(a, band), excess[h]);
            }
        }
    }
    Extremes out;
    out.next = j;
    // Fold the accumulators, then the two lanes (see the AVX2 body).
    const __m128d top2 = _mm_max_pd(top[0], top[1]);
    out.top = _mm_cvtsd_f64(_mm_max_pd(top2, _mm_unpackhi_pd(top2, top2)));
    const __m128d screen2 = _mm_add_pd(screen[0], screen[1]);
    out.suspect =
        !(std::abs(_mm_cvtsd_f64(_mm_add_pd(screen2, _mm_unpackhi_pd(screen2, screen2)))) <=
          kLargest);
    if constexpr (!band_is_constant<A, R>) {
        const __m128d ex2 = _mm_max_pd(excess[0], excess[1]);
        out.excess = _mm_cvtsd_f64(_mm_max_pd(ex2, _mm_unpackhi_pd(ex2, ex2)));
    }
    return out;
}
#endif

#if defined(REBALANCING_HAVE_AVX2_DISPATCH)
template <BandKind A, BandKind R>
__attribute__((target("avx2"))) Extremes extremes_avx2(const double* cur, const double* tgt,
                                                       std::size_t begin, std::size_t end,
                                                       const BandRule& rule) {
    const __m256d magnitude = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    __m256d top[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                      _mm256_setzero_pd()};
    __m256d excess[4] = {_mm256_set1_pd(-INFINITY), _mm256_set1_pd(-INFINITY),
                         _mm256_set1_pd(-INFINITY), _mm256_set1_pd(-INFINITY)};
    __m256d screen[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                         _mm256_setzero_pd()};
    std::size_t j = begin;
    for (; j + 16 <= end; j += 16) {
        for (std::size_t h = 0; h < 4; ++h) {
            const std::size_t k = j + 4 * h;
            const __m256d t = _mm256_loadu_pd(tgt + k);
            const __m256d a = _mm256_and_pd(_mm256_sub_pd(_mm256_loadu_pd(cur + k), t), magnitude);
            top[h] = _mm256_max_pd(a, top[h]);
            screen[h] = _mm256_add_pd(screen[h], a);
            if constexpr (!band_is_constant<A, R>) {
                __m256d band = A == BandKind::scalar ? _mm256_set1_pd(rule.abs_scalar)
                                                     : _mm256_set1_pd(INFINITY);
                if constexpr (A == BandKind::per_asset) band = _mm256_loadu_pd(rule.abs + k);
                if constexpr (R != BandKind::none) {
                    const __m256d rel = R == BandKind::scalar ? _mm256_set1_pd(rule.rel_scalar)
                                                              : _mm256_loadu_pd(rule.rel + k);
                    band = _mm256_min_pd(_mm256_mul_pd(rel, _mm256_and_pd(t, magnitude)), band);
                }
                excess[h] = _mm256_max_pd(_mm256_sub_pd(a, band), excess[h]);
            }
        }
    }
    Extremes out;
    out.next = j;
    // Fold the accumulators (max and sum are exact to fold in any order here: the maxima are
    // exact and the sum is only a finiteness screen), then the four lanes.
    const __m256d top4 =
        _mm256_max_pd(_mm256_max_pd(top[0], top[1]), _mm256_max_pd(top[2], top[3]));
    const __m256d screen4 =
        _mm256_add_pd(_mm256_add_pd(screen[0], screen[1]), _mm256_add_pd(screen[2], screen[3]));
    __m128d top2 = _mm_max_pd(_mm256_castpd256_pd128(top4), _mm256_extractf128_pd(top4, 1));
    out.top = _mm_cvtsd_f64(_mm_max_pd(top2, _mm_unpackhi_pd(top2, top2)));
    __m128d screen2 =
        _mm_add_pd(_mm256_castpd256_pd128(screen4), _mm256_extractf128_pd(screen4, 1));
    out.suspect =
        !(std::abs(_mm_cvtsd_f64(_mm_add_pd(screen2, _mm_unpackhi_pd(screen2, screen2)))) <=
          kLargest);
    if constexpr (!band_is_constant<A, R>) {
        const __m256d ex4 =
            _mm256_max_pd(_mm256_max_pd(excess[0], excess[1]), _mm256_max_pd(excess[2], excess[3]));
        __m128d ex2 = _mm_max_pd(_mm256_castpd256_pd128(ex4), _mm256_extractf128_pd(ex4, 1));
        out.excess = _mm_cvtsd_f64(_mm_max_pd(ex2, _mm_unpackhi_pd(ex2, ex2)));
    }
    return out;
}
#endif

/// Pass 1: a vector body (if any), then the remaining assets one by one.
template <BandKind A, BandKind R, bool Avx2>
DriftSummary scan_extremes(const double* cur, const double* tgt, std::size_t begin, std::size_t end,
                           const BandRule& rule) {
    Extremes x;
    x.next = begin;
#if defined(REBALANCING_HAVE_AVX2_DISPATCH)
    if constexpr (Avx2) x = extremes_avx2<A, R>(cur, tgt, begin, end, rule);
#endif
#if defined(__SSE2__)
    if constexpr (!Avx2) x = extremes_sse2<A, R>(cur, tgt, begin, end, rule);
#endif
    for (std::size_t j = x.next; j < end; ++j) {
        const double a = std::abs(cur[j] - tgt[j]);
        x.top = a > x.top ? a : x.top;
        x.suspect = x.suspect || !(a <= kLargest);
        if constexpr (!band_is_constant<A, R>) {
            const double e = a - band_at<A, R>(rule, j, tgt[j]);
            x.excess = e > x.excess ? e : x.excess;
        }
    }
    DriftSummary out;
    out.max_drift = x.top;
    out.max_excess = x.excess;
    if constexpr (band_is_constant<A, R>) out.max_excess = x.top - band_at<A, R>(rule, begin, 0.0);
    out.nonfinite = x.suspect ? 1 : 0;  // counted exactly by pass 2
    return out;
}

/// Pass 2: the number of breaching assets and of non-finite drifts, by the same arithmetic.
template <BandKind A, BandKind R>
void count_breaches(const double* cur, const double* tgt, std::size_t begin, std::size_t end,
                    const BandRule& rule, DriftSummary& out) {
    constexpr double largest = std::numeric_limits<double>::max();
    out.breaches = 0;
    out.nonfinite = 0;
    for (std::size_t j = begin; j < end; ++j) {
        const double a = std::abs(cur[j] - tgt[j]);
        out.breaches += a - band_at<A, R>(rule, j, tgt[j]) > 0.0 ? 1 : 0;
        out.nonfinite += a <= largest ? 0 : 1;
    }
}

/// Both passes for one item.
template <BandKind A, BandKind R, bool Avx2>
DriftSummary scan(const double* cur, const double* tgt, std::size_t begin, std::size_t end,
                  const BandRule& rule) {
    DriftSummary out = scan_extremes<A, R, Avx2>(cur, tgt, begin, end, rule);
    if (out.max_excess > 0.0 || out.nonfinite != 0)
        count_breaches<A, R>(cur, tgt, begin, end, rule, out);
    return out;
}

using ScanFn = DriftSummary (*)(const double*, const double*, std::size_t, std::size_t,
                                const BandRule&);

/// Whether this CPU runs the AVX2 body (checked once).
inline bool use_avx2() {
#if defined(REBALANCING_HAVE_AVX2_DISPATCH)
    static const bool has = __builtin_cpu_supports("avx2");
    return has;
#else
    return false;
#endif
}

template <bool Avx2>
ScanFn select_scan_for(const BandRule& rule) {
    using K = BandKind;
    switch (rule.abs_kind) {
        case K::none:
            return rule.rel_kind == K::none     ? scan<K::none, K::none, Avx2>
                   : rule.rel_kind == K::scalar ? scan<K::none, K::scalar, Avx2>
                                                : scan<K::none, K::per_asset, Avx2>;
        case K::scalar:
            return rule.rel_kind == K::none     ? scan<K::scalar, K::none, Avx2>
                   : rule.rel_kind == K::scalar ? scan<K::scalar, K::scalar, Avx2>
                                                : scan<K::scalar, K::per_asset, Avx2>;
        case K::per_asset:
            return rule.rel_kind == K::none     ? scan<K::per_asset, K::none, Avx2>
                   : rule.rel_kind == K::scalar ? scan<K::per_asset, K::scalar, Avx2>
                                                : scan<K::per_asset, K::per_asset, Avx2>;
    }
    return scan<K::none, K::none, Avx2>;
}

inline ScanFn select_scan(const BandRule& rule) {
    return use_avx2() ? select_scan_for<true>(rule) : select_scan_for<false>(rule);
}

}  // namespace detail

/// Checks every portfolio of `batch`: summary[r] for r < m, and, with groups, group_drift[r G + g]
/// (m x n_groups). Throws std::invalid_argument on a group id out of range.
inline void check_drift(const DriftBatch& batch, const BandRule& rule, std::size_t n_threads,
                        DriftSummary* summary, double* group_drift) {
    const std::size_t m = batch.m, n = batch.n, groups = batch.n_groups;
    if (batch.group)
        for (std::size_t i = 0; i < n; ++i)
            if (batch.group[i] < 0 || static_cast<std::size_t>(batch.group[i]) >= groups)
                throw std::invalid_argument("group id out of range at asset " + std::to_string(i));
    if (m == 0 || n == 0) return;
    const detail::ScanFn scan = detail::select_scan(rule);
    // Automatic thread count: starting a thread costs ~80 us here, as long as scanning a quarter
    // million assets; below that one thread is faster.
    if (n_threads == 0 && m * n < kAutoThreadMinimum) n_threads = 1;
    const std::size_t chunks = (n + kDriftChunk - 1) / kDriftChunk;
    const std::size_t items = m * chunks;
    // One partial result per item; merged below in item order.
    std::vector<DriftSummary> partial(chunks == 1 ? 0 : items);
    std::vector<double> partial_groups(batch.group && chunks > 1 ? items * groups : 0);
    parallel_for(items, n_threads, [&](std::size_t first, std::size_t last) {
        for (std::size_t item = first; item < last; ++item) {
            const std::size_t r = item / chunks, c = item % chunks;
            const std::size_t begin = c * kDriftChunk, end = std::min(n, begin + kDriftChunk);
            const double* cur = batch.current + r * n;
            const double* tgt = batch.shared_target ? batch.target : batch.target + r * n;
            const DriftSummary s = scan(cur, tgt, begin, end, rule);
            if (chunks == 1)
                summary[r] = s;
            else
                partial[item] = s;
            if (batch.group) {
                double* sums =
                    chunks == 1 ? group_drift + r * groups : partial_groups.data() + item * groups;
                for (std::size_t g = 0; g < groups; ++g) sums[g] = 0.0;
                for (std::size_t j = begin; j < end; ++j)
                    sums[static_cast<std::size_t>(batch.group[j])] += cur[j] - tgt[j];
            }
        }
    });
    if (chunks == 1) return;
    for (std::size_t r = 0; r < m; ++r) {
        DriftSummary total;
        double* sums = batch.group ? group_drift + r * groups : nullptr;
        for (std::size_t g = 0; sums && g < groups; ++g) sums[g] = 0.0;
        for (std::size_t c = 0; c < chunks; ++c) {
            const std::size_t item = r * chunks + c;
            const DriftSummary& s = partial[item];
            total.max_drift = s.max_drift > total.max_drift ? s.max_drift : total.max_drift;
            total.max_excess = s.max_excess > total.max_excess ? s.max_excess : total.max_excess;
            total.breaches += s.breaches;
            total.nonfinite += s.nonfinite;
            for (std::size_t g = 0; sums && g < groups; ++g)
                sums[g] += partial_groups[item * groups + g];
        }
        summary[r] = total;
    }
}

}  // namespace rebalancing
