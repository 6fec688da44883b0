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
/// some asset breaches; otherwise minus the smallest headroom), a NaN/inf check, the sums
/// sum_i w_ri and sum_i d_ri (for the caller's check that weights and targets sum to one), and
/// the group drifts: reductions only, no n-sized output, so memory traffic is the reading of the
/// inputs. The number of breaching assets is counted by a second pass over only the blocks that
/// breach (in a daily check, few). Which assets breach is read afterwards, only for the
/// portfolios that do.
///
/// Work is split into whole portfolios when they have at most kDriftChunk assets, and into items
/// of kDriftChunk assets of one portfolio otherwise. Maxima and counts do not depend on the order
/// of evaluation; group sums are accumulated within an item in index order, the sums of w and d
/// in the vector body's fixed order, and items are merged in index order, so every result is
/// bitwise identical for any thread count.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

// The vector bodies use GCC/Clang vector extensions; other compilers get the scalar loop. On
// x86-64 a 4-lane AVX2 body is chosen at run time; the baseline build stays portable.
#if defined(__GNUC__)
#define REBALANCING_HAVE_VECTOR_BODY 1
#include <cstring>
#if defined(__x86_64__)
#define REBALANCING_HAVE_AVX2_DISPATCH 1
#endif
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
    /// sum_i w_i and sum_i d_i (so sum_i w*_i = current_sum - drift_sum up to rounding), summed
    /// in an order fixed by the vector width: for the caller's sum-to-one check, which settles
    /// any doubt with an exact-order sum of its own.
    double current_sum = 0.0;
    double drift_sum = 0.0;
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

/// The rows [first, last) of a row-major block, and the assets [begin, end) of each. A target
/// stride of 0 means one target shared by every row.
struct RowSpan {
    const double* cur = nullptr;
    std::size_t cur_stride = 0;
    const double* tgt = nullptr;
    std::size_t tgt_stride = 0;
    std::size_t first = 0, last = 0, begin = 0, end = 0;
};

/// Pass 1 over assets [begin, end) of each row: max |d_i|, max (|d_i| - b_i), and whether some
/// d_i may be NaN or inf. The counts are left to pass 2, which runs only when pass 1 finds a
/// breach or a non-finite value: in the common case (no breach) the check is one lean pass over
/// memory. With a constant band (a scalar absolute band, or none), max (|d_i| - b) is computed as
/// max |d_i| - b, the same number (subtracting b rounds monotonically).
///
/// One vector body, written for W lanes with GCC/Clang vector extensions, is compiled twice: 2
/// lanes for the baseline (SSE2 on x86-64, NEON on arm64) and 4 lanes inside a function with
/// the avx2 target, chosen at run time where the CPU has it. Maxima and minima are written
/// `a > m ? a : m` / `a < m ? a : m` (maxpd/minpd exactly, as in the scalar tail), and |x|
/// clears the sign bit as std::abs does, so every path gives identical maxima. NaN/inf are
/// screened by the running sum of d, which stays finite unless some d is NaN or inf (or the sum
/// overflows: a false alarm that pass 2 settles exactly) -- one add per vector, and the sum is
/// returned too, with the running sum of w (one more add) for the caller's sum-to-one check.
///
/// A vector body loops over the rows itself: for short rows (a batch of accounts of a few
/// hundred assets) a call per row cost ~11 % of the instructions (922 against 822 per 500-asset
/// row, callgrind); the accounts' maxima go to an array of Extremes, finished by the scalar
/// code below.
struct Extremes {
    double top = 0.0;
    double excess = -std::numeric_limits<double>::infinity();
    double current_sum = 0.0;  ///< sum of w
    double drift_sum = 0.0;    ///< sum of d
    bool suspect = false;      ///< some |d| may be NaN or inf
    std::size_t next = 0;      ///< first asset not processed by the vector body
};

/// Rows handled per call of a vector body (the size of the caller's Extremes array).
inline constexpr std::size_t kRowGroup = 64;

template <BandKind A, BandKind R>
constexpr bool band_is_constant = A != BandKind::per_asset && R == BandKind::none;

#if defined(REBALANCING_HAVE_VECTOR_BODY)
/// W doubles as one vector, and W 64-bit integers (for bit masks).
template <int W>
struct Lanes;
template <>
struct Lanes<2> {
    typedef double V __attribute__((vector_size(16)));
    typedef std::int64_t M __attribute__((vector_size(16)));
};
template <>
struct Lanes<4> {
    typedef double V __attribute__((vector_size(32)));
    typedef std::int64_t M __attribute__((vector_size(32)));
};

/// One vector of weights at asset k: d = w - w*, a = |d|, running max, running sums of d (the
/// NaN screen) and of w, excess.
template <int W, BandKind A, BandKind R>
__attribute__((always_inline)) inline void accumulate(const double* cur, const double* tgt,
                                                      std::size_t k, const BandRule& rule,
                                                      typename Lanes<W>::V& top,
                                                      typename Lanes<W>::V& screen,
                                                      typename Lanes<W>::V& total,
                                                      typename Lanes<W>::V& excess) {
    using V = typename Lanes<W>::V;
    using M = typename Lanes<W>::M;
    const M magnitude = M{} + std::int64_t{0x7fffffffffffffff};
    V c, t;
    std::memcpy(&c, cur + k, sizeof c);
    std::memcpy(&t, tgt + k, sizeof t);
    const V d = c - t;
    const V a = (V)((M)d & magnitude);
    top = a > top ? a : top;
    screen = screen + d;
    total = total + c;
    if constexpr (!band_is_constant<A, R>) {
        V band = V{} + (A == BandKind::scalar ? rule.abs_scalar
                                              : std::numeric_limits<double>::infinity());
        if constexpr (A == BandKind::per_asset) std::memcpy(&band, rule.abs + k, sizeof band);
        if constexpr (R != BandKind::none) {
            V rel = V{} + rule.rel_scalar;
            if constexpr (R == BandKind::per_asset) std::memcpy(&rel, rule.rel + k, sizeof rel);
            const V by_target = rel * (V)((M)t & magnitude);
            band = by_target < band ? by_target : band;
        }
        const V e = a - band;
        excess = e > excess ? e : excess;
    }
}

/// The vector body over the rows of `span`: four accumulators of W lanes, then one vector at a
/// time; the rest (fewer than W assets) is left to the scalar tail (Extremes::next).
template <int W, BandKind A, BandKind R>
__attribute__((always_inline)) inline void extremes_vector(const RowSpan& span,
                                                           const BandRule& rule, Extremes* out) {
    using V = typename Lanes<W>::V;
    constexpr double infinity = std::numeric_limits<double>::infinity();
    for (std::size_t r = span.first; r < span.last; ++r) {
        const double* cur = span.cur + r * span.cur_stride;
        const double* tgt = span.tgt + r * span.tgt_stride;
        V top[4] = {}, screen[4] = {}, total[4] = {};
        V excess[4] = {V{} - infinity, V{} - infinity, V{} - infinity, V{} - infinity};
        std::size_t j = span.begin;
        for (; j + 4 * W <= span.end; j += 4 * W)
            for (std::size_t h = 0; h < 4; ++h)
                accumulate<W, A, R>(cur, tgt, j + W * h, rule, top[h], screen[h], total[h],
                                    excess[h]);
        for (; j + W <= span.end; j += W)
            accumulate<W, A, R>(cur, tgt, j, rule, top[0], screen[0], total[0], excess[0]);
        // Fold the four accumulators, then the lanes (max is exact in any order; the sums are a
        // finiteness screen and a sum-to-one check with a tolerance far above their rounding).
        Extremes& x = out[r - span.first];
        x.next = j;
        for (std::size_t h = 1; h < 4; ++h) {
            top[0] = top[h] > top[0] ? top[h] : top[0];
            screen[0] = screen[0] + screen[h];
            total[0] = total[0] + total[h];
            excess[0] = excess[h] > excess[0] ? excess[h] : excess[0];
        }
        double sum = 0.0;
        for (int lane = 0; lane < W; ++lane) {
            x.top = top[0][lane] > x.top ? top[0][lane] : x.top;
            sum += screen[0][lane];
            x.current_sum += total[0][lane];
            if constexpr (!band_is_constant<A, R>)
                x.excess = excess[0][lane] > x.excess ? excess[0][lane] : x.excess;
        }
        x.drift_sum = sum;
        x.suspect = !(std::abs(sum) <= kLargest);
    }
}

template <BandKind A, BandKind R>
void extremes_baseline(const RowSpan& span, const BandRule& rule, Extremes* out) {
    extremes_vector<2, A, R>(span, rule, out);
}
#endif

#if defined(REBALANCING_HAVE_AVX2_DISPATCH)
template <BandKind A, BandKind R>
__attribute__((target("avx2"))) void extremes_avx2(const RowSpan& span, const BandRule& rule,
                                                   Extremes* out) {
    extremes_vector<4, A, R>(span, rule, out);
}
#endif

/// Pass 2: the number of breaching assets and of non-finite drifts, by the same arithmetic.
template <BandKind A, BandKind R>
void count_breaches(const double* cur, const double* tgt, std::size_t begin, std::size_t end,
                    const BandRule& rule, DriftSummary& out) {
    out.breaches = 0;
    out.nonfinite = 0;
    for (std::size_t j = begin; j < end; ++j) {
        const double a = std::abs(cur[j] - tgt[j]);
        out.breaches += a - band_at<A, R>(rule, j, tgt[j]) > 0.0 ? 1 : 0;
        out.nonfinite += a <= kLargest ? 0 : 1;
    }
}

/// Both passes over a span: a vector body (if any) on up to kRowGroup rows at a time, then, per
/// row, the remaining assets one by one and pass 2 where needed. out[r - first] for each row r.
template <BandKind A, BandKind R, bool Avx2>
void scan(const RowSpan& span, const BandRule& rule, DriftSummary* out) {
    Extremes extremes[kRowGroup];
    for (std::size_t first = span.first; first < span.last; first += kRowGroup) {
        RowSpan group = span;
        group.first = first;
        group.last = std::min(span.last, first + kRowGroup);
        for (std::size_t r = group.first; r < group.last; ++r) {
            extremes[r - first] = Extremes{};
            extremes[r - first].next = span.begin;
        }
#if defined(REBALANCING_HAVE_AVX2_DISPATCH)
        if constexpr (Avx2) extremes_avx2<A, R>(group, rule, extremes);
#endif
#if defined(REBALANCING_HAVE_VECTOR_BODY)
        if constexpr (!Avx2) extremes_baseline<A, R>(group, rule, extremes);
#endif
        for (std::size_t r = group.first; r < group.last; ++r) {
            const double* cur = span.cur + r * span.cur_stride;
            const double* tgt = span.tgt + r * span.tgt_stride;
            Extremes& x = extremes[r - first];
            for (std::size_t j = x.next; j < span.end; ++j) {
                const double d = cur[j] - tgt[j];
                const double a = std::abs(d);
                x.drift_sum += d;
                x.current_sum += cur[j];
                x.top = a > x.top ? a : x.top;
                x.suspect = x.suspect || !(a <= kLargest);
                if constexpr (!band_is_constant<A, R>) {
                    const double e = a - band_at<A, R>(rule, j, tgt[j]);
                    x.excess = e > x.excess ? e : x.excess;
                }
            }
            DriftSummary& s = out[r - span.first];
            s = DriftSummary{};
            s.max_drift = x.top;
            s.max_excess = x.excess;
            s.current_sum = x.current_sum;
            s.drift_sum = x.drift_sum;
            if constexpr (band_is_constant<A, R>)
                s.max_excess = x.top - band_at<A, R>(rule, span.begin, 0.0);
            if (s.max_excess > 0.0 || x.suspect)
                count_breaches<A, R>(cur, tgt, span.begin, span.end, rule, s);
        }
    }
}

using ScanFn = void (*)(const RowSpan&, const BandRule&, DriftSummary*);

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

/// The summary of one portfolio of n assets (single-threaded).
inline DriftSummary scan_one(const double* cur, const double* tgt, std::size_t n,
                             const BandRule& rule) {
    RowSpan span;
    span.cur = cur;
    span.tgt = tgt;
    span.last = 1;
    span.end = n;
    DriftSummary out;
    select_scan(rule)(span, rule, &out);
    return out;
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
    // Automatic thread count: below a quarter million assets in all, one thread is faster than
    // handing half of the work to another.
    if (n_threads == 0 && m * n < kAutoThreadMinimum) n_threads = 1;
    detail::RowSpan all;
    all.cur = batch.current;
    all.cur_stride = n;
    all.tgt = batch.target;
    all.tgt_stride = batch.shared_target ? 0 : n;
    // Group drifts of rows [first, last) over assets [begin, end), into sums (one row apart).
    auto add_groups = [&](std::size_t first, std::size_t last, std::size_t begin, std::size_t end,
                          double* sums) {
        for (std::size_t r = first; r < last; ++r, sums += groups) {
            const double* cur = all.cur + r * n;
            const double* tgt = all.tgt + r * all.tgt_stride;
            for (std::size_t g = 0; g < groups; ++g) sums[g] = 0.0;
            for (std::size_t j = begin; j < end; ++j)
                sums[static_cast<std::size_t>(batch.group[j])] += cur[j] - tgt[j];
        }
    };
    const std::size_t chunks = (n + kDriftChunk - 1) / kDriftChunk;
    if (chunks == 1) {  // short rows: the items are whole portfolios
        parallel_for(m, n_threads, [&](std::size_t first, std::size_t last) {
            detail::RowSpan span = all;
            span.first = first;
            span.last = last;
            span.end = n;
            scan(span, rule, summary + first);
            if (batch.group) add_groups(first, last, 0, n, group_drift + first * groups);
        });
        return;
    }
    // Long rows: the items are chunks of kDriftChunk assets of one portfolio, with one partial
    // result each, merged below in item order.
    const std::size_t items = m * chunks;
    std::vector<DriftSummary> partial(items);
    std::vector<double> partial_groups(batch.group ? items * groups : 0);
    parallel_for(items, n_threads, [&](std::size_t first, std::size_t last) {
        for (std::size_t item = first; item < last; ++item) {
            const std::size_t r = item / chunks, c = item % chunks;
            detail::RowSpan span = all;
            span.first = r;
            span.last = r + 1;
            span.begin = c * kDriftChunk;
            span.end = std::min(n, span.begin + kDriftChunk);
            scan(span, rule, &partial[item]);
            if (batch.group)
                add_groups(r, r + 1, span.begin, span.end, partial_groups.data() + item * groups);
        }
    });
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
            total.current_sum += s.current_sum;
            total.drift_sum += s.drift_sum;
            for (std::size_t g = 0; sums && g < groups; ++g)
                sums[g] += partial_groups[item * groups + g];
        }
        summary[r] = total;
    }
}

}  // namespace rebalancing
