#pragma once
/// The separable part of the rebalancing problem: costs, bounds and the current holdings.
///
/// The full problem is
///     minimize  F(w) = lam (w - w*)' Sigma (w - w*) + sum_i h_i(w_i)
///     s.t.      sum_i w_i = 1,  l_i <= w_i <= u_i,
/// with h_i the trading cost of asset i, convex and piecewise linear in w_i, zero at w0_i:
///   * buying (w > w0) costs buy_i per unit of weight;
///   * selling costs sell_i per unit, or, with a sell curve (tax lots), tranche by tranche:
///     the first tranche from w0 down to the kink k_1 at cost c_1 per unit, the next down to k_2
///     at c_2, ..., the last one without end. Convexity needs c_1 <= c_2 <= ... and, if the
///     asset can be bought (u > w0), -c_1 <= buy_i (no gain from selling and buying back at
///     once). A cost may be negative (a tax benefit), within those limits.
/// In the weight coordinate h_i has kinks K_0 = w0 > K_1 > ... > K_{T-1} and slopes
/// S_0 = buy (right of K_0), S_1 = -c_1 (between K_1 and K_0), ..., S_T = -c_T (left of
/// K_{T-1}); a sell cost without curve is T = 1 tranche.
///
/// A *place* locates a weight on this curve, and fixes the active set of the KKT system:
///     place 2j       on segment j (slope S_j, the weight is free),
///     place 2j + 1   at kink K_j (the weight is fixed there),
///     kLower/kUpper  at a bound.
/// This header holds everything except Sigma (see covariance.hpp) and the solver state.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace rebalancing {

using Place = std::int32_t;
constexpr Place kLower = -2;  ///< at the lower bound
constexpr Place kUpper = -1;  ///< at the upper bound
constexpr Place kBuy = 0;     ///< segment 0: buying
constexpr Place kHold = 1;    ///< kink 0: no trade

/// True for the places whose weight is free in the reduced KKT system.
inline bool is_free(Place p) {
    return p >= 0 && p % 2 == 0;
}

/// Non-owning view of the per-asset data. All arrays have length n.
struct SeparableTerms {
    std::size_t n = 0;
    const double* current = nullptr;  ///< w0: the weights held now
    const double* buy = nullptr;      ///< cost per unit of weight bought, >= 0
    const double* sell = nullptr;     ///< cost per unit of weight sold, >= 0 (without a curve)
    const double* lower = nullptr;    ///< l
    const double* upper = nullptr;    ///< u
    double total = 1.0;               ///< the budget: sum_i w_i = total
    /// Optional sell curves, compressed by asset: asset i's tranches are
    /// curve_start[i] <= t < curve_start[i + 1] (curve_start has n + 1 entries; an asset with
    /// no tranche sells at sell_i). curve_cost[t] is the cost per unit sold in tranche t and
    /// curve_kink[t] the weight where it ends (ignored for an asset's last tranche).
    const std::size_t* curve_start = nullptr;
    const double* curve_cost = nullptr;
    const double* curve_kink = nullptr;

    bool has_curve(std::size_t i) const {
        return curve_start != nullptr && curve_start[i + 1] > curve_start[i];
    }
    /// T_i, the number of sell tranches (1 without a curve).
    std::size_t tranches(std::size_t i) const {
        return has_curve(i) ? curve_start[i + 1] - curve_start[i] : 1;
    }
    /// c_{j+1}: cost per unit sold in tranche j (0-based).
    double tranche_cost(std::size_t i, std::size_t j) const {
        return has_curve(i) ? curve_cost[curve_start[i] + j] : sell[i];
    }
    /// K_j, the weight of kink j (j = 0 is w0; j < T_i).
    double kink(std::size_t i, std::size_t j) const {
        return j == 0 ? current[i] : curve_kink[curve_start[i] + j - 1];
    }
    /// S_j, the slope of h_i on segment j (0 <= j <= T_i).
    double slope(std::size_t i, std::size_t j) const {
        return j == 0 ? buy[i] : -tranche_cost(i, j - 1);
    }
    /// The weights where segment j starts and ends (without the bounds).
    double segment_low(std::size_t i, std::size_t j) const {
        return j < tranches(i) ? kink(i, j) : -std::numeric_limits<double>::infinity();
    }
    double segment_high(std::size_t i, std::size_t j) const {
        return j == 0 ? std::numeric_limits<double>::infinity() : kink(i, j - 1);
    }

    /// The place of weight w on asset i's curve, ignoring the bounds.
    Place place_of(std::size_t i, double w) const {
        const std::size_t t = tranches(i);
        for (std::size_t j = 0; j < t; ++j) {
            const double k = kink(i, j);
            if (w > k) return static_cast<Place>(2 * j);
            if (w == k) return static_cast<Place>(2 * j + 1);
        }
        return static_cast<Place>(2 * t);
    }

    /// h_i as a function of the trade x = w - w0 (the certificate works with trades).
    double cost(std::size_t i, double x) const {
        if (x >= 0.0) return buy[i] * x;
        if (!has_curve(i)) return -sell[i] * x;
        const double w0 = current[i];
        double cost = 0.0, high = 0.0;
        const std::size_t t = tranches(i);
        for (std::size_t j = 0; j < t; ++j) {
            const double low = j + 1 < t ? kink(i, j + 1) - w0 : x;
            const double bottom = low > x ? low : x;
            cost += tranche_cost(i, j) * (high - bottom);
            if (bottom == x) break;
            high = low;
        }
        return cost;
    }

    /// h_i(w): the trading cost of holding w instead of w0.
    double cost_at(std::size_t i, double w) const { return cost(i, w - current[i]); }

    /// Throws std::invalid_argument if the data cannot define a feasible convex problem.
    void check() const {
        double lo = 0.0, hi = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            if (!(lower[i] <= upper[i]))
                throw std::invalid_argument("lower must be <= upper for every asset (asset " +
                                            std::to_string(i) + ")");
            if (!(buy[i] >= 0.0) || !(sell[i] >= 0.0))
                throw std::invalid_argument("costs must be non-negative (asset " +
                                            std::to_string(i) + ")");
            if (has_curve(i)) check_curve(i);
            lo += lower[i];
            hi += upper[i];
        }
        if (lo > total || hi < total)
            throw std::invalid_argument(
                "bounds make sum(w) = 1 infeasible: sum(lower) = " + std::to_string(lo) +
                ", sum(upper) = " + std::to_string(hi));
    }

   private:
    void check_curve(std::size_t i) const {
        const std::string where = " (asset " + std::to_string(i) + ")";
        const std::size_t t = tranches(i);
        for (std::size_t j = 0; j < t; ++j) {
            const double c = tranche_cost(i, j);
            if (!std::isfinite(c))
                throw std::invalid_argument("sell curve costs must be finite" + where);
            if (j > 0 && c < tranche_cost(i, j - 1))
                throw std::invalid_argument(
                    "sell curve costs must be non-decreasing (cheapest tranche first)" + where);
            if (j > 0 && !(kink(i, j) < kink(i, j - 1)))
                throw std::invalid_argument(
                    "sell curve kinks must be finite and strictly below the current weight, "
                    "in decreasing order" +
                    where);
        }
        // Convex at w0 only matters if the asset can be bought: a sell-only asset (u <= w0)
        // may carry a benefit larger than its buy cost.
        if (tranche_cost(i, 0) < -buy[i] && upper[i] > current[i])
            throw std::invalid_argument(
                "sell curve is not convex: the first tranche's benefit exceeds the buy cost, so "
                "selling and buying back would pay; cap the benefit or make the asset sell-only "
                "(upper <= current)" +
                where);
    }
};

}  // namespace rebalancing
