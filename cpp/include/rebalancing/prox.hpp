#pragma once
/// Exact prox of the trading cost with box bounds and the budget constraint.
///
/// For a point v and a step kappa >= 0 the prox solves
///     minimize  1/2 ||w - v||^2 + kappa sum_i h_i(w_i - w0_i)
///     s.t.      sum_i w_i = total,  l <= w <= u.
/// With a multiplier nu for the sum, each coordinate is a closed form
///     w_i(nu) = clip(S_i(v_i - nu), l_i, u_i),
/// where S_i soft-thresholds around w0_i (by kappa buy_i upwards and kappa sell_i downwards;
/// with a sell curve, tranche by tranche, see problem.hpp).
/// w_i(nu) is non-increasing and piecewise linear in nu with breakpoints where v_i - nu hits
/// w0_i + kappa buy_i, K_j - kappa S_j or K_j - kappa S_{j+1} at a kink K_j of h_i (for a plain
/// sell cost only w0_i - kappa sell_i), or the pre-images of l_i and u_i. sum_i w_i(nu) =
/// total is therefore solved exactly: bracket the root between two consecutive breakpoints and
/// interpolate linearly. kappa = 0 gives the Euclidean projection onto {sum w = total, l <= w <=
/// u}.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "breakpoints.hpp"
#include "problem.hpp"

namespace rebalancing {

namespace detail {

/// Coordinate i of the prox at the shifted point z = v_i - nu: the minimiser of
/// 1/2 (w - z)^2 + kappa h_i(w) over [l_i, u_i]. On segment j it is z - kappa S_j; it stops at
/// kink K_j for z in [K_j + kappa S_{j+1}, K_j + kappa S_j]. A sell-only asset (u <= w0) skips
/// the buy segment, so its sell curve need not be convex at w0.
inline double prox_coordinate(const SeparableTerms& s, double kappa, std::size_t i, double z) {
    double w;
    const double w0 = s.current[i];
    if (s.upper[i] > w0 && z > w0 + kappa * s.buy[i]) {
        w = z - kappa * s.buy[i];
    } else if (!s.has_curve(i)) {
        w = z < w0 - kappa * s.sell[i] ? z + kappa * s.sell[i] : w0;
    } else {
        // Walk down the sell tranches: stop at the first kink z cannot pass, or on a segment.
        w = w0;
        const std::size_t t = s.tranches(i);
        for (std::size_t j = 0; j < t; ++j) {
            const double c = s.tranche_cost(i, j);
            if (z >= w + kappa * -c) break;  // stuck at the kink above this tranche
            const double candidate = z + kappa * c;
            const double low = s.segment_low(i, j + 1);
            if (candidate > low) {
                w = candidate;
                break;
            }
            w = low;
        }
    }
    return std::min(std::max(w, s.lower[i]), s.upper[i]);
}

/// Neumaier-compensated sum, so sum(w) = total holds to the last bits for large n.
class CompensatedSum {
   public:
    void add(double x) {
        const double t = sum_ + x;
        if (std::abs(sum_) >= std::abs(x))
            err_ += (sum_ - t) + x;
        else
            err_ += (x - t) + sum_;
        sum_ = t;
    }
    double value() const { return sum_ + err_; }

   private:
    double sum_ = 0.0;
    double err_ = 0.0;
};

}  // namespace detail

/// Puts the residual total - sum(w) (sum(w) given as `sum`) on the coordinate with the most room
/// towards it, clipped to that room, so that the budget holds to the last bit while the bounds
/// stay exact. Only the coordinates in `candidates` are considered if it is given.
inline void settle_budget(const SeparableTerms& s, double* w, double sum,
                          const std::vector<std::size_t>* candidates = nullptr) {
    const double residual = s.total - sum;
    if (residual == 0.0) return;
    std::size_t best = s.n;
    double room_best = 0.0;
    auto consider = [&](std::size_t i) {
        const double room = residual > 0 ? s.upper[i] - w[i] : w[i] - s.lower[i];
        if (room > room_best) {
            room_best = room;
            best = i;
        }
    };
    if (candidates)
        for (std::size_t i : *candidates) consider(i);
    else
        for (std::size_t i = 0; i < s.n; ++i) consider(i);
    if (best < s.n)
        w[best] += residual > 0 ? std::min(residual, room_best) : -std::min(-residual, room_best);
}

/// Workspace reused across prox calls to avoid allocation in the iteration loop.
struct ProxWorkspace {
    std::vector<double> breakpoints;
};

/// Computes w = prox(v) exactly (see the header comment); returns the shift nu.
inline double prox(const SeparableTerms& s, double kappa, const double* v, double* w,
                   ProxWorkspace& ws) {
    const std::size_t n = s.n;
    auto total_at = [&](double nu) {
        detail::CompensatedSum acc;
        for (std::size_t i = 0; i < n; ++i)
            acc.add(detail::prox_coordinate(s, kappa, i, v[i] - nu));
        return acc.value();
    };
    // Candidate breakpoints in nu: v_i - z for every level z at which coordinate i changes piece.
    // Extra candidates are harmless: between two consecutive candidates the sum stays linear.
    ws.breakpoints.clear();
    ws.breakpoints.reserve(6 * n);
    for (std::size_t i = 0; i < n; ++i) {
        const double tb = kappa * s.buy[i];
        const std::size_t t = s.tranches(i);
        ws.breakpoints.push_back(v[i] - (s.current[i] + tb));
        ws.breakpoints.push_back(v[i] - (s.lower[i] + tb));
        ws.breakpoints.push_back(v[i] - (s.upper[i] + tb));
        for (std::size_t j = 0; j < t; ++j) {
            const double ts = kappa * s.tranche_cost(i, j);
            // Kink j (above tranche j) and kink j + 1 (below it), and the bounds, on this slope.
            ws.breakpoints.push_back(v[i] - (s.kink(i, j) - ts));
            if (j + 1 < t) ws.breakpoints.push_back(v[i] - (s.kink(i, j + 1) - ts));
            ws.breakpoints.push_back(v[i] - (s.lower[i] - ts));
            ws.breakpoints.push_back(v[i] - (s.upper[i] - ts));
        }
    }
    // sum(nu) is non-increasing: find the smallest breakpoint where it is <= total.
    const BreakpointBracket b = bracket_breakpoints(ws.breakpoints, total_at,
                                                    [&](double value) { return value <= s.total; });
    double nu = b.right;
    if (b.has_left && b.left_value != b.right_value) {
        // Linear between the two breakpoints: interpolate to the exact crossing.
        const double frac = (b.left_value - s.total) / (b.left_value - b.right_value);
        nu = b.left + frac * (b.right - b.left);
    }
    detail::CompensatedSum acc;
    for (std::size_t i = 0; i < n; ++i) {
        w[i] = detail::prox_coordinate(s, kappa, i, v[i] - nu);
        acc.add(w[i]);
    }
    // Rounding leaves a residual of a few ulps.
    settle_budget(s, w, acc.value());
    return nu;
}

/// Euclidean projection onto {sum w = total, l <= w <= u}.
inline void project_feasible(const SeparableTerms& s, const double* v, double* w,
                             ProxWorkspace& ws) {
    prox(s, 0.0, v, w, ws);
}

}  // namespace rebalancing
