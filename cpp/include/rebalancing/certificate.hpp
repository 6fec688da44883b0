#pragma once
/// Duality-gap certificate for a feasible point.
///
/// Let f(w) = lam d'Sigma d (d = w - w*) with gradient g at a feasible w, and write x = w - w0.
/// By convexity of f, for every feasible w',
///     F(w') >= f(w) + g'(w' - w) + sum_i h_i(w'_i - w0_i),
/// so F* >= f(w) - g'x + L, where L = min over feasible x' of sum_i [g_i x'_i + h_i(x'_i)].
/// L is a separable piecewise-linear program with one sum constraint sum x' = r (r = total -
/// sum w0) and boxes a = l - w0 <= x' <= b = u - w0. Its Lagrange dual,
///     q(nu) = sum_i min_{a_i <= x_i <= b_i} psi_i(x_i; nu) - nu r,
///     psi_i(x; nu) = (g_i + nu) x + h_i(x),
/// is concave and piecewise linear in nu with breakpoints -g_i - buy_i and -g_i + sell_i (one per
/// tranche of a sell curve, -g_i + c_j). Any nu
/// gives a valid bound L >= q(nu) (weak duality); we maximise q exactly over its breakpoints.
/// The gap F(w) - [f(w) - g'x + q(nu)] is then a sum of non-negative per-asset terms,
///     gap = sum_i [psi_i(x_i) - min psi_i] - nu (sum_i w_i - total),
/// which is computed without cancellation. gap = 0 exactly at the optimum (it is the optimality
/// condition), so gap <= tol certifies F(w) - F* <= tol up to the rounding of g.

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include "breakpoints.hpp"
#include "problem.hpp"
#include "prox.hpp"

namespace rebalancing {

struct Certificate {
    double gap = std::numeric_limits<double>::infinity();  ///< F(w) - lower bound, >= 0
    /// sum_i (|psi_i(x_i)| + |min psi_i|): the size of the terms the gap is a difference of,
    /// so n eps magnitude bounds the rounding error of the computed gap.
    double magnitude = 0.0;
    /// sum_i |x*_i| of the linear program's minimiser: with |w - w0|_1 it bounds how far a
    /// rounding error in g can move the gap.
    double lp_trade = 0.0;
    double nu = 0.0;  ///< the multiplier of sum w = total that gives the bound
};

namespace detail {

/// The interval [lo, hi] of minimisers over a <= x <= b of psi_i(x) = (g_i + nu) x + h_i(x).
/// It is a single point except at a tie, nu at one of the asset's breakpoints -g_i - S_j
/// (-g_i - buy_i, -g_i + c_j for the sell tranches), where that segment's slope is zero. Ties
/// are recognised by comparing the breakpoint, computed exactly as the breakpoint list computes
/// it, with nu; testing g_i + nu + buy_i == 0 instead would let rounding decide, and misplace
/// the dual's peak. lo is the minimiser for nu slightly larger, so sum_i lo_i(nu) is the right
/// derivative of the dual (up to -r), and hi the one for nu slightly smaller.
struct MinimizerRange {
    double lo, hi;
};
inline MinimizerRange minimizer_range(const SeparableTerms& s, std::size_t i, double g, double nu) {
    const double a = s.lower[i] - s.current[i];
    const double b = s.upper[i] - s.current[i];
    const double gnu = g + nu;
    const double up = -g - s.buy[i] == nu ? 0.0 : gnu + s.buy[i];  // slope for x > 0
    if (!s.has_curve(i)) {
        const double down = -g + s.sell[i] == nu ? 0.0 : gnu - s.sell[i];  // slope for x < 0
        if (a >= 0.0) return {up < 0.0 ? b : a, up <= 0.0 ? b : a};        // purchases only
        if (b <= 0.0) return {down < 0.0 ? b : a, down <= 0.0 ? b : a};    // sales only
        return {up < 0.0 ? b : down >= 0.0 ? a : 0.0, up <= 0.0 ? b : down > 0.0 ? a : 0.0};
    }
    // psi is convex and piecewise linear with kinks at 0 and at the tranche ends X_j = K_j - w0
    // (X_0 = 0 > X_1 > ...). Walk the segments from the right (x > 0) to the left: lo is the
    // left end of the leftmost segment with slope >= 0 inside [a, b], hi the right end of the
    // rightmost segment with slope <= 0. (Segments are ordered by slope, highest first.)
    const std::size_t t = s.tranches(i);
    auto clip = [&](double x) { return x < a ? a : x > b ? b : x; };
    double lo = b, hi = a;  // every slope < 0: the minimiser is b; every slope > 0: a
    bool found_hi = false;
    // Segment 0: (0, inf) with slope `up`, if purchases are possible (b > 0; a sell-only
    // asset's curve need not be convex at 0).
    if (b > 0.0 && up >= 0.0) lo = clip(0.0);
    if (b > 0.0 && up <= 0.0) {
        hi = b;
        found_hi = true;
    }
    for (std::size_t j = 0; j < t; ++j) {
        const double c = s.tranche_cost(i, j);
        const double slope = -g + c == nu ? 0.0 : gnu - c;
        const double top = s.kink(i, j) - s.current[i];  // right end of this tranche's segment
        const double bottom =
            j + 1 < t ? s.kink(i, j + 1) - s.current[i] : -std::numeric_limits<double>::infinity();
        if (slope >= 0.0) lo = clip(bottom);
        if (slope <= 0.0 && !found_hi) {
            hi = clip(top);
            found_hi = true;
        }
        if (bottom <= a) break;  // the rest lies below the bound
    }
    return {lo, hi};
}

inline double psi(const SeparableTerms& s, std::size_t i, double gnu, double x) {
    return gnu * x + s.cost(i, x);
}

}  // namespace detail

/// The breakpoints of the dual q(nu) that bracket its peak: q is maximal at `right` (the
/// smallest breakpoint whose right derivative sum_i x_i*(nu+) - r is <= 0) in exact arithmetic.
/// `breakpoints` is scratch space.
inline BreakpointBracket dual_peak(const SeparableTerms& s, const double* g,
                                   std::vector<double>& breakpoints) {
    const std::size_t n = s.n;
    double sum_current = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum_current += s.current[i];
    const double r = s.total - sum_current;
    auto slope_at = [&](double nu) {
        double acc = -r;
        for (std::size_t i = 0; i < n; ++i) acc += detail::minimizer_range(s, i, g[i], nu).lo;
        return acc;
    };
    breakpoints.clear();
    breakpoints.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        breakpoints.push_back(-g[i] - s.buy[i]);
        const std::size_t t = s.tranches(i);
        for (std::size_t j = 0; j < t; ++j) breakpoints.push_back(-g[i] + s.tranche_cost(i, j));
    }
    BreakpointBracket b =
        bracket_breakpoints(breakpoints, slope_at, [](double slope) { return slope <= 0.0; });
    if (!b.has_right) {
        // Rounding left the slope a hair above zero even at the largest breakpoint, where it
        // is sum(a) - r <= 0 in exact arithmetic: the peak is that breakpoint.
        b.has_right = true;
        b.right = b.left;
        b.right_value = b.left_value;
    }
    return b;
}

/// Certificate for the feasible point w with gradient g of the smooth part.
/// `breakpoints` is scratch space.
inline Certificate certify(const SeparableTerms& s, const double* w, const double* g,
                           std::vector<double>& breakpoints) {
    const std::size_t n = s.n;
    const BreakpointBracket b = dual_peak(s, g, breakpoints);
    // Any nu gives a valid bound. Mathematically q peaks at b.right; but at the optimum many
    // breakpoints coincide up to rounding, and a tie decided by rounding can put the peak at
    // b.left instead. Take the better of the two.
    double magnitude = 0.0, lp_trade = 0.0;
    auto gap_at = [&](double nu) {
        double gap = 0.0, sum_w = 0.0;
        magnitude = 0.0;
        lp_trade = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double gnu = g[i] + nu;
            const double x = w[i] - s.current[i];
            const double x_best = detail::minimizer_range(s, i, g[i], nu).lo;
            const double best = detail::psi(s, i, gnu, x_best);
            lp_trade += std::abs(x_best);
            const double here = detail::psi(s, i, gnu, x);
            const double term = here - best;
            magnitude += std::abs(here) + std::abs(best);
            gap += term > 0.0 ? term : 0.0;  // each term is >= 0 in exact arithmetic
            sum_w += w[i];
        }
        gap -= nu * (sum_w - s.total);
        return gap > 0.0 ? gap : 0.0;
    };
    Certificate c;
    c.nu = b.has_right ? b.right : 0.0;
    c.gap = gap_at(c.nu);
    c.magnitude = magnitude;
    c.lp_trade = lp_trade;
    if (b.has_left) {
        const double gap_left = gap_at(b.left);
        if (gap_left < c.gap) {
            c.gap = gap_left;
            c.nu = b.left;
            c.magnitude = magnitude;
            c.lp_trade = lp_trade;
        }
    }
    return c;
}

/// An exact minimiser of the linear program sum_i [g_i x_i + h_i(x_i)] over the feasible set,
/// written as weights w = w0 + x. With g = 0 this solves the lam = 0 problem (costs only).
inline void linear_program_solution(const SeparableTerms& s, const double* g, double* w,
                                    std::vector<double>& breakpoints) {
    const std::size_t n = s.n;
    const double nu = dual_peak(s, g, breakpoints).right;
    // At the peak nu each asset minimises psi_i over [lo_i, hi_i] (detail::minimizer_range),
    // a single point except for the ties. sum lo_i <= total <= sum hi_i at the peak: start
    // every asset at lo_i and fill the ties up to hi_i until the budget is met.
    detail::CompensatedSum sum;
    std::vector<std::size_t> ties;
    std::vector<double> high;
    for (std::size_t i = 0; i < n; ++i) {
        const double a = s.lower[i] - s.current[i], b = s.upper[i] - s.current[i];
        const auto [lo, hi] = detail::minimizer_range(s, i, g[i], nu);
        // Write the bound or the kink itself, not w0 + (l - w0), which may round to just
        // outside it.
        auto weight = [&](double x) {
            if (x == a) return s.lower[i];
            if (x == b) return s.upper[i];
            for (std::size_t j = 1; s.has_curve(i) && j < s.tranches(i); ++j)
                if (x == s.kink(i, j) - s.current[i]) return s.kink(i, j);
            return s.current[i] + x;
        };
        w[i] = weight(lo);
        sum.add(w[i]);
        if (hi > lo) {
            ties.push_back(i);
            high.push_back(weight(hi));
        }
    }
    for (std::size_t k = 0; k < ties.size(); ++k) {
        const double need = s.total - sum.value();
        if (need <= 0.0) break;
        const std::size_t i = ties[k];
        const double cap = high[k] - w[i];
        const double step = need < cap ? need : cap;
        const double before = w[i];
        w[i] = step == cap ? high[k] : w[i] + step;  // land exactly on the boundary
        sum.add(w[i] - before);
    }
    settle_budget(s, w, sum.value());  // rounding of the sums: a few ulps at most
}

}  // namespace rebalancing
