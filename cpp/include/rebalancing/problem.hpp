#pragma once
/// The separable part of the rebalancing problem: costs, bounds and the current holdings.
///
/// The full problem is
///     minimize  F(w) = lam (w - w*)' Sigma (w - w*) + sum_i h_i(w_i - w0_i)
///     s.t.      sum_i w_i = 1,  l_i <= w_i <= u_i,
/// with the asymmetric linear cost h_i(x) = buy_i max(x, 0) + sell_i max(-x, 0).
/// This header holds everything except Sigma (see covariance.hpp) and the solver state.

#include <cstddef>
#include <stdexcept>
#include <string>

namespace rebalancing {

/// Non-owning view of the per-asset data. All arrays have length n.
struct SeparableTerms {
    std::size_t n = 0;
    const double* current = nullptr;  ///< w0: the weights held now
    const double* buy = nullptr;      ///< cost per unit of weight bought, >= 0
    const double* sell = nullptr;     ///< cost per unit of weight sold, >= 0
    const double* lower = nullptr;    ///< l
    const double* upper = nullptr;    ///< u
    double total = 1.0;               ///< the budget: sum_i w_i = total

    /// The trading cost h_i(x) of moving asset i by x.
    double cost(std::size_t i, double x) const { return x > 0.0 ? buy[i] * x : -sell[i] * x; }

    /// Throws std::invalid_argument if the data cannot define a feasible problem.
    void check() const {
        double lo = 0.0, hi = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            if (!(lower[i] <= upper[i]))
                throw std::invalid_argument("lower must be <= upper for every asset (asset " +
                                            std::to_string(i) + ")");
            if (!(buy[i] >= 0.0) || !(sell[i] >= 0.0))
                throw std::invalid_argument("costs must be non-negative (asset " +
                                            std::to_string(i) + ")");
            lo += lower[i];
            hi += upper[i];
        }
        if (lo > total || hi < total)
            throw std::invalid_argument(
                "bounds make sum(w) = 1 infeasible: sum(lower) = " + std::to_string(lo) +
                ", sum(upper) = " + std::to_string(hi));
    }
};

}  // namespace rebalancing
