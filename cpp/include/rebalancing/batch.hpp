#pragma once
/// Many accounts sharing one covariance operator, solved in parallel.
///
/// Each account is an independent problem (its own current weights, target, costs, bounds and
/// lam) solved by the same deterministic Solver, so the results do not depend on the number of
/// threads or on which thread solves which account. The operator is only read (its methods are
/// const and keep no shared scratch), so one instance serves every thread.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "covariance.hpp"
#include "parallel.hpp"
#include "problem.hpp"
#include "solver.hpp"

namespace rebalancing {

/// Row-major (m, n) inputs. A per-asset input is shared by every account when its stride is 0,
/// or one row per account when its stride is n.
struct BatchInputs {
    std::size_t m = 0, n = 0;
    const double* current = nullptr;  ///< m x n
    const double* target = nullptr;
    std::size_t target_stride = 0;
    const double* buy = nullptr;
    std::size_t buy_stride = 0;
    const double* sell = nullptr;
    std::size_t sell_stride = 0;
    const double* lower = nullptr;
    std::size_t lower_stride = 0;
    const double* upper = nullptr;
    std::size_t upper_stride = 0;
    const double* lam = nullptr;         ///< m values
    const double* warm_start = nullptr;  ///< m x n, or null
};

/// Outputs, allocated by the caller: weights m x n, the rest m each.
struct BatchOutputs {
    double* weights = nullptr;
    double* objective = nullptr;
    double* risk = nullptr;
    double* cost = nullptr;
    double* gap = nullptr;
    double* nu = nullptr;
    double* solve_time = nullptr;
    std::int64_t* iterations = nullptr;
    std::uint8_t* status = nullptr;  ///< Status (Status::invalid for an account that threw)
};

/// Solves every account; returns the error message of each account that could not be solved
/// (empty when all were), so that one bad account never loses the others' results.
inline std::vector<std::string> solve_batch(const CovarianceOperator& cov, const BatchInputs& in,
                                            Settings settings, std::size_t n_threads,
                                            const BatchOutputs& out) {
    std::vector<std::string> errors(in.m);
    parallel_for(in.m, n_threads, [&](std::size_t first, std::size_t last) {
        for (std::size_t r = first; r < last; ++r) {
            const std::size_t n = in.n;
            SeparableTerms terms;
            terms.n = n;
            terms.current = in.current + r * n;
            terms.buy = in.buy + r * in.buy_stride;
            terms.sell = in.sell + r * in.sell_stride;
            terms.lower = in.lower + r * in.lower_stride;
            terms.upper = in.upper + r * in.upper_stride;
            try {
                Solver solver(cov, in.target + r * in.target_stride, in.lam[r], terms, settings);
                const Result res = solver.solve(in.warm_start ? in.warm_start + r * n : nullptr);
                for (std::size_t i = 0; i < n; ++i) out.weights[r * n + i] = res.weights[i];
                out.objective[r] = res.objective;
                out.risk[r] = res.risk;
                out.cost[r] = res.cost;
                out.gap[r] = res.gap;
                out.nu[r] = res.nu;
                out.solve_time[r] = res.solve_time;
                out.iterations[r] = static_cast<std::int64_t>(res.iterations);
                out.status[r] = static_cast<std::uint8_t>(res.status);
            } catch (const std::exception& e) {
                errors[r] = e.what();
                out.status[r] = static_cast<std::uint8_t>(Status::invalid);
            }
        }
    });
    return errors;
}

}  // namespace rebalancing
