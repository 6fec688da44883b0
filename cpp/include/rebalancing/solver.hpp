#pragma once
/// The cost-aware rebalancing solver.
///
///     minimize  F(w) = lam (w - w*)' Sigma (w - w*) + sum_i h_i(w_i - w0_i)
///     s.t.      sum_i w_i = 1,  l <= w <= u.
///
/// Method (see docs/solver.md):
///  1. Start from the projection of the warm start (or of w0) onto the feasible set.
///  2. Primal-dual active-set polish: the current point's own pieces, corrected by its
///     certificate's multiplier, guess which assets buy, sell, hold or sit on a bound. The buying
///     and selling assets then solve the KKT system of the problem restricted to that guess
///     exactly (a small saddle-point solve). The guess is corrected with primal-dual active-set
///     rules (Hintermueller, Ito & Kunisch 2002) until the certificate closes or the guess stops
///     improving. Fast (a handful of rounds) when Sigma_FF is well conditioned.
///  3. If it stalls (singular or ill-conditioned Sigma_FF, where guesses overshoot), a primal
///     active-set method (Nocedal & Wright, Algorithm 16.3) from the best point: a descent
///     method that releases one constraint per round and terminates.
///  4. With lam = 0 (or Sigma = 0) instead of steps 2-5: the vertex minimising the costs (the
///     certificate's linear program with g = 0), which is then the exact answer.
///  5. Last resort: accelerated proximal gradient (FISTA with the exact prox and gradient-based
///     adaptive restart, O'Donoghue & Candes 2015) for a growing budget of iterations, then the
///     polish again from the best point.
/// Every feasible point visited is certified by a duality gap (certificate.hpp); status is
/// `optimal` only when that gap is within tolerance.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "certificate.hpp"
#include "covariance.hpp"
#include "linalg.hpp"
#include "problem.hpp"
#include "prox.hpp"

namespace rebalancing {

struct Settings {
    /// `optimal` when gap <= max(rel_tol * |F(w)|, abs_tol, working-precision floor); the floor
    /// (see Solver::converged) is the rounding error of the computed gap itself.
    double rel_tol = 1e-9;
    double abs_tol = 1e-15;
    /// Budget counted in iterations: one gradient step or one polish round each.
    std::size_t max_iter = 10000;
    bool polish = true;
    std::size_t max_polish_rounds = 100;
};

/// One vocabulary for every result, single or batch (the Python layer's `Status` enum is built
/// from `status_names()`, so the two cannot drift apart). The first three come from a solve; the
/// last two describe an account of a batch that was never solved.
enum class Status : std::uint8_t {
    optimal,          ///< certified: gap within tolerance
    max_iterations,   ///< budget exhausted; the best point and its gap are returned
    numerical_error,  ///< the objective or its gradient overflowed: nothing is certified
    invalid,          ///< the account's inputs were rejected (the error message says why)
    failed,           ///< the task solving the account failed (e.g. a lost worker)
};

inline constexpr std::size_t kStatusCount = 5;

inline const char* status_name(Status s) {
    switch (s) {
        case Status::optimal: return "optimal";
        case Status::max_iterations: return "max_iterations";
        case Status::numerical_error: return "numerical_error";
        case Status::invalid: return "invalid";
        case Status::failed: return "failed";
    }
    return "unknown";
}

struct Result {
    std::vector<double> weights;
    double objective = 0.0;  ///< F(w)
    double risk = 0.0;       ///< lam d' Sigma d
    double cost = 0.0;       ///< sum_i h_i(w_i - w0_i)
    double gap = 0.0;        ///< certified F(w) - F* (up to rounding of the gradient)
    double nu = 0.0;         ///< multiplier of the budget constraint from the certificate
    std::size_t iterations = 0;
    std::size_t polish_rounds = 0;
    std::size_t largest_system = 0;  ///< most free assets in one reduced KKT solve
    std::size_t gradient_steps = 0;
    std::size_t matvecs = 0;
    std::size_t column_updates = 0;  ///< columns of Sigma added in incremental products
    double solve_time = 0.0;         ///< seconds
    Status status = Status::max_iterations;
};

class Solver {
   public:
    Solver(const CovarianceOperator& cov, const double* target, double lam, SeparableTerms terms,
           Settings settings = {})
        : cov_(cov), target_(target), lam_(lam), s_(terms), settings_(settings), n_(terms.n) {
        if (cov.size() != n_) throw std::invalid_argument("cov size does not match the weights");
        if (!(lam >= 0.0) || !std::isfinite(lam))
            throw std::invalid_argument("lam must be finite and >= 0");
        s_.check();
        const double bound = 2.0 * lam_ * cov_.eigenvalue_bound();
        step_ = bound > 0.0 ? 1.0 / bound : 0.0;
        gradient_entry_scale_ = 2.0 * lam_ * cov_.max_abs_entry();
        for (std::size_t i = 0; i < n_; ++i) target_l1_ += std::abs(target_[i]);
    }

    /// Solves from the projection of `warm_start` (or of the current weights if null).
    Result solve(const double* warm_start = nullptr) {
        const auto t0 = std::chrono::steady_clock::now();
        Result res;
        Point start = make_point();
        project_feasible(s_, warm_start ? warm_start : s_.current, start.w.data(), prox_ws_);
        evaluate(start, res);
        best_ = start;
        if (step_ == 0.0) {
            solve_linear(res);  // lam = 0 or Sigma = 0: only costs remain, a linear program
        } else {
            std::size_t budget = 10;
            while (!converged(best_) && std::isfinite(best_.objective) &&
                   res.iterations < settings_.max_iter) {
                if (settings_.polish) {
                    // Fast: primal-dual active-set rounds. If they stall (a singular or
                    // ill-conditioned Sigma_FF), a primal active-set method: slower, one
                    // constraint released per round, but a descent method that terminates.
                    polish(res);
                    if (!converged(best_)) primal_active_set(res);
                    verify_best(res);
                }
                if (converged(best_) || res.iterations >= settings_.max_iter) break;
                accelerated_gradient(res, budget);
                budget = std::min<std::size_t>(budget * 2, 1000);
            }
        }
        res.weights = best_.w;
        res.objective = best_.objective;
        res.risk = best_.risk;
        res.cost = best_.cost;
        res.gap = best_.gap;
        res.nu = best_.nu;
        res.largest_system = largest_system_;
        if (converged(best_))
            res.status = Status::optimal;
        else if (!std::isfinite(best_.objective) || !std::isfinite(best_.gap))
            res.status = Status::numerical_error;
        else
            res.status = Status::max_iterations;
        res.solve_time =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return res;
    }

   private:
    /// A feasible point with everything needed to certify it.
    struct Point {
        std::vector<double> w;
        std::vector<double> sigma_d;  ///< Sigma (w - w*)
        double risk = 0.0, cost = 0.0, objective = INFINITY, gap = INFINITY, nu = 0.0;
        double magnitude = 0.0;  ///< rounding scale of the gap (Certificate::magnitude)
        double lp_trade = 0.0;   ///< Certificate::lp_trade
        double abs_w = 0.0, abs_trade = 0.0;  ///< |w|_1 and |w - w0|_1
        double abs_d = 0.0, abs_cost = 0.0;   ///< |w - w*|_1 and sum_i |h_i(w_i - w0_i)|
        double budget_error = INFINITY;       ///< |sum(w) - total|: feasibility is checked too
    };

    Point make_point() const {
        Point p;
        p.w.assign(n_, 0.0);
        p.sigma_d.assign(n_, 0.0);
        return p;
    }

    bool converged(const Point& p) const {
        // Working-precision floor: demanding a smaller gap would ask rounding to vanish.
        // (1) the gap is a difference of sums of n terms, exact to about n eps magnitude;
        // (2) each gradient entry g_i = 2 lam (Sigma d)_i inherits the rounding of d = w - w*,
        //     |dg_i| <= 2 lam max|Sigma| eps (|w|_1 + |w*|_1), which moves the gap by up to
        //     max|dg| (|w - w0|_1 + |x*|_1), x* the certificate's linear-program minimiser.
        constexpr double eps = 2.220446049250313e-16;
        const double floor =
            4.0 * eps *
            (static_cast<double>(n_) * p.magnitude +
             gradient_entry_scale_ * (p.abs_w + target_l1_) * (p.abs_trade + p.lp_trade));
        return std::isfinite(p.objective) && std::isfinite(p.nu) && p.budget_error <= 1e-13 &&
               p.gap <=
                   std::max({settings_.rel_tol * std::abs(p.objective), settings_.abs_tol, floor});
    }

    /// Objective terms of p from p.sigma_d (which the caller has filled).
    void objective_terms(Point& p) const {
        double risk = 0.0, cost = 0.0;
        p.abs_w = 0.0;
        p.abs_trade = 0.0;
        p.abs_d = 0.0;
        p.abs_cost = 0.0;
        for (std::size_t i = 0; i < n_; ++i) {
            const double d = p.w[i] - target_[i], h = s_.cost_at(i, p.w[i]);
            risk += d * p.sigma_d[i];
            cost += h;
            p.abs_w += std::abs(p.w[i]);
            p.abs_trade += std::abs(p.w[i] - s_.current[i]);
            p.abs_d += std::abs(d);
            p.abs_cost += std::abs(h);
        }
        detail::CompensatedSum sum;
        for (double v : p.w) sum.add(v);
        p.budget_error = std::abs(sum.value() - s_.total);
        p.risk = lam_ * risk;
        p.cost = cost;
        p.objective = p.risk + p.cost;
    }

    /// Fills sigma_d, the objective and the certificate of the feasible point p.
    void evaluate(Point& p, Result& res) {
        for (std::size_t i = 0; i < n_; ++i) d_[i] = p.w[i] - target_[i];
        cov_.multiply(d_.data(), p.sigma_d.data());
        ++res.matvecs;
        objective_terms(p);
        certify_point(p);
    }

    void certify_point(Point& p) {
        for (std::size_t i = 0; i < n_; ++i) grad_[i] = 2.0 * lam_ * p.sigma_d[i];
        const Certificate c = certify(s_, p.w.data(), grad_.data(), scratch_);
        p.gap = c.gap;
        p.nu = c.nu;
        p.magnitude = c.magnitude;
        p.lp_trade = c.lp_trade;
    }

    /// Keeps p if it is better than best_: a lower objective, or (within the rounding of the
    /// two computed objectives) a smaller certified gap, or a certified gap where best_ has
    /// none. Comparing objectives alone would throw away an exactly certified point whose
    /// computed objective rounds above an uncertified one's.
    ///
    /// A certified p always wins: F(p) - F* <= gap(p), so no point is better than p by more
    /// than the tolerance, whatever the computed objectives say. This matters when Sigma is
    /// rank-deficient: d = w - w* may be large along its null space while F is small, and the
    /// rounding of the computed F (objective_error) then exceeds the true difference between
    /// a first-order point and the exact KKT point (second order in their distance) by orders
    /// of magnitude, while the gap, first order in that distance, tells them apart.
    void keep_if_better(const Point& p) {
        const double rounding = std::max(1e-14 * std::abs(best_.objective),
                                         objective_error(p) + objective_error(best_));
        if (p.objective < best_.objective - rounding ||
            (p.objective <= best_.objective + rounding && p.gap < best_.gap) ||
            (converged(p) && !converged(best_)))
            best_ = p;
    }

    /// A bound on the rounding error of the computed objective of p, u = eps / 2 the unit
    /// roundoff, gamma_n = n u / (1 - n u), M = max|Sigma_ij|. With d^ = fl(w - w*) =
    /// d (1 + delta), |delta| <= u, and s^ the computed Sigma d^, |s^ - Sigma d^| <= gamma_n
    /// |Sigma| |d^| (one dot product per entry), the computed sum_i d^_i s^_i differs from
    /// d' Sigma d by at most
    ///     |d^'(s^ - Sigma d^)| + |d^' Sigma d^ - d' Sigma d| + gamma_n sum_i |d^_i| |s^_i|
    ///         <= (2 gamma_n + 2 u + O(u^2)) |d|' |Sigma| |d|  <=  (n + 1) eps M |d|_1^2,
    /// and the sum of the n cost terms by (n + 1) eps sum_i |h_i| (each term is exact up to
    /// the rounding of w - w0 and one product per tranche). Sigma d updated column by column
    /// (update_product) carries the errors of each update as well: a factor 2 covers a few.
    /// Note |d|' |Sigma| |d| >= d' Sigma d, with equality only without cancellation: for a
    /// rank-deficient Sigma the ratio reached 1e10 (benchmarks/sweep_small.py), so this bound
    /// is far above eps |F|.
    double objective_error(const Point& p) const {
        constexpr double eps = 2.220446049250313e-16;
        const double m = gradient_entry_scale_ / 2.0;  // lam M
        return 2.0 * static_cast<double>(n_ + 2) * eps * (m * p.abs_d * p.abs_d + p.abs_cost);
    }

    /// lam = 0: minimise the costs alone. The certificate's linear program with g = 0 is then
    /// the problem itself, and its exact solution is optimal.
    void solve_linear(Result& res) {
        std::fill(grad_.begin(), grad_.end(), 0.0);
        Point p = make_point();
        linear_program_solution(s_, grad_.data(), p.w.data(), scratch_);
        evaluate(p, res);
        ++res.iterations;
        keep_if_better(p);
    }

    /// Primal-dual active-set rounds starting from the pieces of best_ itself, corrected once by
    /// its certificate's multiplier.
    void polish(Result& res) {
        std::vector<Place> pieces(n_);
        for (std::size_t i = 0; i < n_; ++i) pieces[i] = piece_of(i, best_.w[i]);
        update_pieces(best_, best_.nu, pieces);

        std::set<std::vector<Place>> seen;
        Point base = best_;  // the last point whose Sigma d is known
        for (std::size_t round = 0; round < settings_.max_polish_rounds; ++round) {
            if (res.iterations >= settings_.max_iter) return;
            if (!seen.insert(pieces).second) return;  // cycling: leave it to the gradient phase
            ++res.iterations;
            ++res.polish_rounds;
            Point cand = make_point();
            double nu = 0.0;
            if (!solve_reduced_kkt(pieces, cand.w, nu)) return;
            update_product(base, cand, res);
            objective_terms(cand);
            if (is_feasible(cand.w)) {
                certify_point(cand);
                keep_if_better(cand);
                if (converged(best_)) return;
            }
            if (!update_pieces(cand, nu, pieces)) return;  // no change: nothing more to gain
            base = std::move(cand);
        }
    }

    /// cand.sigma_d from base.sigma_d plus the columns of the assets whose weight changed:
    /// O(changed n) instead of O(n^2) once the active set has settled. Recomputed in full when
    /// most weights changed.
    void update_product(const Point& base, Point& cand, Result& res) {
        changed_.clear();
        delta_.clear();
        for (std::size_t i = 0; i < n_; ++i)
            if (cand.w[i] != base.w[i]) {
                changed_.push_back(i);
                delta_.push_back(cand.w[i] - base.w[i]);
            }
        if (2 * changed_.size() >= n_) {
            for (std::size_t i = 0; i < n_; ++i) d_[i] = cand.w[i] - target_[i];
            cov_.multiply(d_.data(), cand.sigma_d.data());
            ++res.matvecs;
            return;
        }
        cand.sigma_d = base.sigma_d;
        cov_.add_columns(changed_, delta_.data(), cand.sigma_d.data());
        res.column_updates += changed_.size();
    }

    /// Recomputes Sigma d of best_ with one full product and certifies it again, so that the
    /// reported objective and gap never rest on incrementally updated products.
    void verify_best(Result& res) {
        for (std::size_t i = 0; i < n_; ++i) d_[i] = best_.w[i] - target_[i];
        cov_.multiply(d_.data(), best_.sigma_d.data());
        ++res.matvecs;
        objective_terms(best_);
        certify_point(best_);
    }

    /// Sets the fixed assets (at a kink of h_i or a bound) to their values and solves
    ///     2 lam Sigma_FF d_F + nu 1 = -2 lam Sigma_FX d_X - s_F,   1' w_F = total - 1' w_X
    /// for the free assets F (s the slope of h_i on the asset's segment: +buy, -sell, or a sell
    /// tranche's -c_j). Returns false if the system is unusable.
    bool solve_reduced_kkt(const std::vector<Place>& pieces, std::vector<double>& w, double& nu) {
        free_.clear();
        double fixed_sum = 0.0, free_target = 0.0;
        for (std::size_t i = 0; i < n_; ++i) {
            const Place p = pieces[i];
            if (p == kLower)
                w[i] = s_.lower[i];
            else if (p == kUpper)
                w[i] = s_.upper[i];
            else if (!is_free(p))
                w[i] = s_.kink(i, static_cast<std::size_t>(p / 2));
            else
                free_.push_back(i);
            if (is_free(p)) {
                free_target += target_[i];
                d_[i] = 0.0;
            } else {
                fixed_sum += w[i];
                d_[i] = w[i] - target_[i];
            }
        }
        const std::size_t m = free_.size();
        largest_system_ = std::max(largest_system_, m);
        if (m == 0) {
            nu = 0.0;
            return std::abs(fixed_sum - s_.total) <= 1e-14 * static_cast<double>(n_);
        }
        std::vector<double> rhs(m), y;
        cov_.multiply_rows(free_, d_.data(), rhs.data());
        for (std::size_t r = 0; r < m; ++r) {
            const std::size_t i = free_[r];
            rhs[r] = -2.0 * lam_ * rhs[r] - cost_slope(i, pieces[i]);
        }
        const std::unique_ptr<ReducedMatrix> a = cov_.reduced(free_, 2.0 * lam_);
        SaddleSolver saddle;
        if (!saddle.factorize(*a)) return false;
        const double rho = s_.total - fixed_sum - free_target;
        // Start from the best point so far: with a singular Sigma_FF the solution nearest to it.
        y.resize(m);
        for (std::size_t r = 0; r < m; ++r) y[r] = best_.w[free_[r]] - target_[free_[r]];
        nu = best_.nu;
        saddle.solve(rhs, rho, y, nu);
        for (std::size_t r = 0; r < m; ++r) {
            if (!std::isfinite(y[r])) return false;
            w[free_[r]] = target_[free_[r]] + y[r];
        }
        fix_budget(w);
        return std::isfinite(nu);
    }

    /// Puts the rounding residual of sum(w) on the free asset with the most room.
    void fix_budget(std::vector<double>& w) const {
        detail::CompensatedSum acc;
        for (double v : w) acc.add(v);
        const double residual = s_.total - acc.value();
        std::size_t best = n_;
        double room_best = 0.0;
        for (std::size_t i : free_) {
            const double room = residual > 0 ? s_.upper[i] - w[i] : w[i] - s_.lower[i];
            if (room > room_best) {
                room_best = room;
                best = i;
            }
        }
        if (best < n_ && std::abs(residual) <= room_best) w[best] += residual;
    }

    bool is_feasible(const std::vector<double>& w) const {
        detail::CompensatedSum acc;
        for (std::size_t i = 0; i < n_; ++i) {
            if (!(w[i] >= s_.lower[i] && w[i] <= s_.upper[i])) return false;
            acc.add(w[i]);
        }
        return std::abs(acc.value() - s_.total) <= 1e-14 * std::max<double>(1.0, std::sqrt(n_));
    }

    /// The place of a weight: a bound, a kink of h_i, or a segment between them.
    Place piece_of(std::size_t i, double w) const {
        if (w <= s_.lower[i]) return kLower;
        if (w >= s_.upper[i]) return kUpper;
        return s_.place_of(i, w);
    }

    /// Whether a fixed asset should start trading: the rate at which moving it off its bound
    /// (or off its kink) lowers the Lagrangian, given its reduced gradient mu = g_i + nu, and
    /// the segment it would move onto. violation = 0 when it should stay.
    struct Release {
        double violation = 0.0;
        Place piece = kHold;
    };
    Release release_of(std::size_t i, Place piece, double mu, double tau) const {
        const double l = s_.lower[i], u = s_.upper[i];
        if (piece == kUpper || piece == kLower) {
            if (!(l < u)) return {};
            // The segment just below u, or just above l.
            const double at = piece == kUpper ? u : l;
            Place segment = s_.place_of(i, at);
            if (!is_free(segment)) segment += piece == kUpper ? 1 : -1;  // at a kink
            const double rate = mu + cost_slope(i, segment);
            if (piece == kUpper && rate > tau) return {rate, segment};    // moving down pays
            if (piece == kLower && rate < -tau) return {-rate, segment};  // moving up pays
            return {};
        }
        if (is_free(piece)) return {};  // free assets are not released
        // At kink K_j (place 2j + 1): segment j above it, segment j + 1 below it.
        const double k = s_.kink(i, static_cast<std::size_t>(piece / 2));
        const double up = mu + cost_slope(i, piece - 1);    // derivative moving up
        const double down = mu + cost_slope(i, piece + 1);  // derivative moving down (negated)
        if (up < -tau && k < u) return {-up, piece - 1};
        if (down > tau && k > l) return {down, piece + 1};
        return {};
    }

    /// The cost slope S_j of a free asset on segment j (place 2j).
    double cost_slope(std::size_t i, Place piece) const {
        return s_.slope(i, static_cast<std::size_t>(piece / 2));
    }

    /// Primal active-set method (Nocedal & Wright, Algorithm 16.3) for the piecewise-linear
    /// cost: each free asset stays on one segment of h_i (buying, or selling one tranche), so F
    /// is a quadratic on the working set. Each round solves the equality-constrained step on the
    /// free assets F,
    ///     2 lam Sigma_FF p + nu 1 = -c_F,   1'p = 0,   c_i = g_i + cost slope_i,
    /// and moves along p with an exact line search cut at the first blocking bound or kink (an
    /// asset that reaches a kink, w0 included, stays there). When Sigma_FF is singular the step
    /// problem may be unbounded; the regularised solve then returns a long step along a flat
    /// descent direction, and the line search stops it at the blocking bound. At a stationary point
    /// of the working set the fixed asset whose multiplier is most violated is released. F never
    /// increases and only degenerate steps keep it level, so working sets do not repeat in
    /// practice; a round limit guards against cycling on exact ties.
    void primal_active_set(Result& res) {
        Point cur = best_;  // certified already
        std::vector<Place> pieces(n_);
        for (std::size_t i = 0; i < n_; ++i) pieces[i] = piece_of(i, cur.w[i]);
        const std::size_t max_rounds = 100 + 4 * n_;
        std::vector<double> c, p;
        // A step whose decrease is below rounding still matters: the certificate's gap is
        // first order in the gradient's error, the objective only second order. So the
        // working set's own minimiser is taken once before the point counts as stationary.
        bool final_step_taken = false;
        for (std::size_t round = 0; round < max_rounds && res.iterations < settings_.max_iter;
             ++round) {
            ++res.iterations;
            ++res.polish_rounds;
            free_.clear();
            for (std::size_t i = 0; i < n_; ++i)
                if (is_free(pieces[i])) free_.push_back(i);
            const std::size_t m = free_.size();
            largest_system_ = std::max(largest_system_, m);
            c.resize(m);
            for (std::size_t r = 0; r < m; ++r)
                c[r] = 2.0 * lam_ * cur.sigma_d[free_[r]] + cost_slope(free_[r], pieces[free_[r]]);
            // The step p and the multiplier nu of the working set (m <= 1: p = 0).
            p.assign(m, 0.0);
            double nu = m == 1 ? -c[0] : cur.nu, slope = 0.0, curvature = 0.0;
            if (m >= 2) {
                const std::unique_ptr<ReducedMatrix> a = cov_.reduced(free_, 2.0 * lam_);
                SaddleSolver saddle;
                if (!saddle.factorize(*a)) return;
                std::vector<double> rhs(m);
                for (std::size_t r = 0; r < m; ++r) rhs[r] = -c[r];
                nu = 0.0;
                saddle.solve(rhs, 0.0, p, nu);
                std::vector<double> ap(m);
                a->multiply(p.data(), ap.data());
                for (std::size_t r = 0; r < m; ++r) {
                    if (!std::isfinite(p[r])) return;
                    slope += c[r] * p[r];
                    curvature += p[r] * ap[r];
                }
            }
            // Line search: the exact minimiser along p, cut at the first blocking bound.
            const double alpha_star = curvature > 0.0 ? -slope / curvature : INFINITY;
            double alpha_block = INFINITY;
            for (std::size_t r = 0; r < m; ++r) {
                const std::size_t i = free_[r];
                if (p[r] > 0.0)
                    alpha_block =
                        std::min(alpha_block, (side_high(i, pieces[i]) - cur.w[i]) / p[r]);
                if (p[r] < 0.0)
                    alpha_block = std::min(alpha_block, (side_low(i, pieces[i]) - cur.w[i]) / p[r]);
            }
            alpha_block = std::max(alpha_block, 0.0);
            const bool blocked = alpha_block <= alpha_star;
            const double alpha = std::min(alpha_star, alpha_block);
            constexpr double eps = 2.220446049250313e-16;
            const double decrease = -(alpha * slope + 0.5 * alpha * alpha * curvature);
            const bool negligible = !blocked && decrease <= 16.0 * eps * std::abs(cur.objective) +
                                                                0.01 * settings_.abs_tol;
            const bool stationary = !(slope < 0.0) || (negligible && final_step_taken);
            final_step_taken = negligible;
            if (stationary) {
                final_step_taken = false;
                if (m == 0) nu = cur.nu;
                double scale = 0.0;
                for (std::size_t i = 0; i < n_; ++i)
                    scale = std::max(scale, std::abs(2.0 * lam_ * cur.sigma_d[i]));
                const double tau = 1e-13 * (scale + std::abs(nu));
                Release most;
                std::size_t release = n_;
                for (std::size_t i = 0; i < n_; ++i) {
                    const Release r =
                        release_of(i, pieces[i], 2.0 * lam_ * cur.sigma_d[i] + nu, tau);
                    if (r.violation > most.violation) {
                        most = r;
                        release = i;
                    }
                }
                if (release == n_) return;  // optimal for this working set: nothing to release
                pieces[release] = most.piece;
                continue;
            }
            if (!std::isfinite(alpha)) return;  // unbounded: impossible with finite bounds
            Point next = cur;
            for (std::size_t r = 0; r < m; ++r) {
                const std::size_t i = free_[r];
                const double high = side_high(i, pieces[i]), low = side_low(i, pieces[i]);
                double w = cur.w[i] + alpha * p[r];
                // An asset that blocks (or would cross its side within rounding) stops there.
                const double tol = 1e-13 * (1.0 + std::abs(alpha * p[r]));
                if (p[r] > 0.0 && w >= high - tol && (blocked || w > high)) w = high;
                if (p[r] < 0.0 && w <= low + tol && (blocked || w < low)) w = low;
                next.w[i] = w;
                if (w == high || w == low)
                    pieces[i] = w == s_.upper[i]   ? kUpper
                                : w == s_.lower[i] ? kLower
                                : w == high        ? pieces[i] - 1   // the kink above
                                                   : pieces[i] + 1;  // the kink below
            }
            free_.clear();
            for (std::size_t i = 0; i < n_; ++i)
                if (is_free(pieces[i])) free_.push_back(i);
            fix_budget(next.w);
            if (!is_feasible(next.w)) return;
            update_product(cur, next, res);
            objective_terms(next);
            certify_point(next);
            keep_if_better(next);
            if (converged(best_)) return;
            cur = std::move(next);
        }
    }

    /// The interval a free asset may move in without leaving its segment or its bounds.
    double side_low(std::size_t i, Place piece) const {
        return std::max(s_.segment_low(i, static_cast<std::size_t>(piece / 2)), s_.lower[i]);
    }
    double side_high(std::size_t i, Place piece) const {
        return std::min(s_.segment_high(i, static_cast<std::size_t>(piece / 2)), s_.upper[i]);
    }

    /// Primal-dual active-set correction. Free assets that left their piece move to the piece
    /// they crossed into; fixed assets whose reduced gradient mu = g + nu says that moving
    /// lowers the Lagrangian become free. Far from the solution first-order information marks
    /// most assets as violators although few trade at the optimum, so at most
    /// max(16, |free|) of them join per round, the largest violations first: the free set at
    /// most doubles and the reduced systems stay near the size of the final one.
    /// Returns false if nothing changed.
    bool update_pieces(const Point& cand, double nu, std::vector<Place>& pieces) const {
        double scale = 0.0;
        for (std::size_t i = 0; i < n_; ++i)
            scale = std::max(scale, std::abs(2.0 * lam_ * cand.sigma_d[i]));
        const double tau = 1e-13 * (scale + std::abs(nu));
        bool changed = false;
        std::vector<std::pair<double, std::size_t>> joins;  // (violation, asset)
        std::vector<Place> joined(n_, kHold);
        std::size_t free_count = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            const double wi = cand.w[i], l = s_.lower[i], u = s_.upper[i];
            const double mu = 2.0 * lam_ * cand.sigma_d[i] + nu;
            Place next = pieces[i];
            double violation = 0.0;
            if (is_free(pieces[i])) {
                // Left its segment: fixed at the kink or the bound it crossed (the kink when
                // the two coincide).
                const auto j = static_cast<std::size_t>(pieces[i] / 2);
                const double high = s_.segment_high(i, j), low = s_.segment_low(i, j);
                if (wi > std::min(high, u))
                    next = high <= u ? pieces[i] - 1 : kUpper;
                else if (wi < std::max(low, l))
                    next = low >= l ? pieces[i] + 1 : kLower;
            } else {
                const Release r = release_of(i, pieces[i], mu, tau);
                violation = r.violation;
                joined[i] = r.piece;
            }
            if (violation > 0.0) joins.emplace_back(violation, i);
            if (next != pieces[i]) {
                pieces[i] = next;
                changed = true;
            }
            free_count += is_free(pieces[i]) ? 1 : 0;
        }
        const std::size_t cap = std::max<std::size_t>(16, free_count);
        if (joins.size() > cap) {
            // Largest violations first; ties by index so the result does not depend on the sort.
            std::partial_sort(joins.begin(), joins.begin() + static_cast<std::ptrdiff_t>(cap),
                              joins.end(), [](const auto& a, const auto& b) {
                                  return a.first > b.first ||
                                         (a.first == b.first && a.second < b.second);
                              });
            joins.resize(cap);
        }
        for (const auto& [violation, i] : joins) pieces[i] = joined[i];
        return changed || !joins.empty();
    }

    /// FISTA with the exact prox and gradient-based adaptive restart, for `budget` iterations
    /// from best_. Sigma is applied once per iteration: Sigma(y - w*) is a linear combination
    /// of the Sigma(x - w*) already computed.
    void accelerated_gradient(Result& res, std::size_t budget) {
        Point x = best_, x_prev = best_;
        std::vector<double> y = best_.w, sy = best_.sigma_d;
        double theta = 1.0;
        for (std::size_t k = 0; k < budget && res.iterations < settings_.max_iter; ++k) {
            ++res.iterations;
            ++res.gradient_steps;
            for (std::size_t i = 0; i < n_; ++i) v_[i] = y[i] - step_ * 2.0 * lam_ * sy[i];
            prox(s_, step_, v_.data(), x.w.data(), prox_ws_);
            for (std::size_t i = 0; i < n_; ++i) d_[i] = x.w[i] - target_[i];
            cov_.multiply(d_.data(), x.sigma_d.data());
            ++res.matvecs;
            objective_terms(x);
            if (x.objective < best_.objective) {
                certify_point(x);
                keep_if_better(x);
                if (converged(best_)) return;
            }
            // Restart when the momentum points uphill: (y - x)'(x - x_prev) > 0.
            double uphill = 0.0;
            for (std::size_t i = 0; i < n_; ++i) uphill += (y[i] - x.w[i]) * (x.w[i] - x_prev.w[i]);
            double beta = 0.0;
            if (uphill > 0.0) {
                theta = 1.0;
            } else {
                const double theta_next = 0.5 * (1.0 + std::sqrt(1.0 + 4.0 * theta * theta));
                beta = (theta - 1.0) / theta_next;
                theta = theta_next;
            }
            for (std::size_t i = 0; i < n_; ++i) {
                y[i] = x.w[i] + beta * (x.w[i] - x_prev.w[i]);
                sy[i] = x.sigma_d[i] + beta * (x.sigma_d[i] - x_prev.sigma_d[i]);
            }
            std::swap(x, x_prev);
        }
    }

    const CovarianceOperator& cov_;
    const double* target_;
    double lam_;
    SeparableTerms s_;
    Settings settings_;
    std::size_t n_;
    double step_ = 0.0;
    double gradient_entry_scale_ = 0.0;  ///< 2 lam max|Sigma_ij|
    double target_l1_ = 0.0;             ///< |w*|_1
    Point best_;
    ProxWorkspace prox_ws_;
    std::vector<double> d_ = std::vector<double>(n_), grad_ = std::vector<double>(n_),
                        v_ = std::vector<double>(n_), scratch_;
    std::vector<std::size_t> free_, changed_;
    std::vector<double> delta_;
    std::size_t largest_system_ = 0;
};

}  // namespace rebalancing
