#pragma once
/// The cost-aware rebalancing solver.
///
///     minimize  F(w) = lam (w - w*)' Sigma (w - w*) + sum_i h_i(w_i - w0_i)
///     s.t.      sum_i w_i = 1,  l <= w <= u.
///
/// Method (see DESIGN.md):
///  1. Start from the projection of the warm start (or of w0) onto the feasible set.
///  2. Active-set polish: the current point's own pieces, corrected by its certificate's
///     multiplier, guess which assets buy, sell, hold or sit on a bound. The buying and selling
///     assets then solve the KKT system of the problem restricted to that guess exactly (a small
///     saddle-point solve). The guess is corrected with primal-dual active-set rules
///     (Hintermueller, Ito & Kunisch 2002) until the certificate closes or the guess stops
///     improving.
///  3. If polishing stalls, accelerated proximal gradient (FISTA with the exact prox and
///     gradient-based adaptive restart, O'Donoghue & Candes 2015) makes monotone progress for a
///     growing budget of iterations, then polishing is tried again from the best point.
/// Every feasible point visited is certified by a duality gap (certificate.hpp); status is
/// `optimal` only when that gap is within tolerance.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
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
    std::size_t max_polish_rounds = 30;
};

enum class Status : std::uint8_t {
    optimal,          ///< certified: gap within tolerance
    max_iterations,   ///< budget exhausted; the best point and its gap are returned
    numerical_error,  ///< the objective or its gradient overflowed: nothing is certified
};

inline const char* status_name(Status s) {
    switch (s) {
        case Status::optimal: return "optimal";
        case Status::max_iterations: return "max_iterations";
        case Status::numerical_error: return "numerical_error";
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
                    // Fast pass: plain primal-dual active-set rounds. If they stall, a second
                    // pass takes bounded primal steps whenever a guess overshoots its bounds:
                    // slower (about one bound fixed per round) but robust when Sigma_FF is
                    // singular.
                    polish(res, false);
                    if (!converged(best_)) polish(res, true);
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
        for (std::size_t i = 0; i < n_; ++i) {
            risk += (p.w[i] - target_[i]) * p.sigma_d[i];
            cost += s_.cost(i, p.w[i] - s_.current[i]);
            p.abs_w += std::abs(p.w[i]);
            p.abs_trade += std::abs(p.w[i] - s_.current[i]);
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
    /// objective itself) a smaller certified gap. Comparing objectives alone would throw away
    /// an exactly certified point whose objective rounds a few ulps above an uncertified one.
    void keep_if_better(const Point& p) {
        const double rounding = 1e-14 * std::abs(best_.objective);
        if (p.objective < best_.objective - rounding ||
            (p.objective <= best_.objective + rounding && p.gap < best_.gap))
            best_ = p;
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
    void polish(Result& res, bool bounded) {
        std::vector<Piece> pieces(n_);
        for (std::size_t i = 0; i < n_; ++i) pieces[i] = piece_of(i, best_.w[i]);
        update_pieces(best_, best_.nu, pieces);

        std::set<std::vector<Piece>> seen;
        Point base = best_;    // the last point whose Sigma d is known
        Point anchor = best_;  // the last feasible point of this polish
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
                anchor = cand;
            } else if (Point step = make_point();
                       bounded && bounded_step(anchor, cand, step, pieces, res)) {
                // Second pass only: the guess overshot its bounds (typically a singular
                // Sigma_FF makes the reduced problem flat or unbounded): a classical primal
                // active-set step instead of trusting the guess's multipliers. Move from the last
                // feasible point towards the guess until the first bound blocks, and fix the
                // blocking assets there (done in bounded_step); the rest of the guess stands.
                keep_if_better(step);
                if (converged(best_)) return;
                anchor = step;
                base = std::move(step);
                continue;
            }
            if (!update_pieces(cand, nu, pieces)) return;  // no change: nothing more to gain
            base = std::move(cand);
        }
    }

    /// step = anchor + alpha (cand - anchor) with the largest alpha in [0, 1] that keeps the
    /// bounds; the assets that block are put on their bound in `pieces`. Returns true if the
    /// step lowers the objective below the anchor's (then step is evaluated and certified).
    bool bounded_step(const Point& anchor, const Point& cand, Point& step,
                      std::vector<Piece>& pieces, Result& res) {
        double alpha = 1.0;
        for (std::size_t i = 0; i < n_; ++i) {
            const double dir = cand.w[i] - anchor.w[i];
            if (dir > 0.0 && cand.w[i] > s_.upper[i])
                alpha = std::min(alpha, (s_.upper[i] - anchor.w[i]) / dir);
            if (dir < 0.0 && cand.w[i] < s_.lower[i])
                alpha = std::min(alpha, (s_.lower[i] - anchor.w[i]) / dir);
        }
        if (!(alpha > 0.0)) return false;
        std::vector<std::size_t> blocking;
        for (std::size_t i = 0; i < n_; ++i) {
            const double w = anchor.w[i] + alpha * (cand.w[i] - anchor.w[i]);
            step.w[i] = std::min(std::max(w, s_.lower[i]), s_.upper[i]);
            // Within rounding of a bound that the full step would cross: the step stops there.
            const double tol = 1e-13 * (1.0 + std::abs(cand.w[i] - anchor.w[i]));
            if (cand.w[i] > s_.upper[i] && step.w[i] >= s_.upper[i] - tol) {
                step.w[i] = s_.upper[i];
                blocking.push_back(i);
            } else if (cand.w[i] < s_.lower[i] && step.w[i] <= s_.lower[i] + tol) {
                step.w[i] = s_.lower[i];
                blocking.push_back(i);
            }
        }
        if (blocking.empty()) return false;
        fix_budget(step.w);
        if (!is_feasible(step.w)) return false;
        update_product(anchor, step, res);
        objective_terms(step);
        if (!(step.objective < anchor.objective)) return false;
        certify_point(step);
        for (std::size_t i : blocking)
            pieces[i] = step.w[i] == s_.upper[i] ? Piece::upper : Piece::lower;
        return true;
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

    /// Sets the fixed assets (hold, lower, upper) to their values and solves
    ///     2 lam Sigma_FF d_F + nu 1 = -2 lam Sigma_FX d_X - s_F,   1' w_F = total - 1' w_X
    /// for the free assets F (s = +buy or -sell). Returns false if the system is unusable.
    bool solve_reduced_kkt(const std::vector<Piece>& pieces, std::vector<double>& w, double& nu) {
        free_.clear();
        double fixed_sum = 0.0, free_target = 0.0;
        for (std::size_t i = 0; i < n_; ++i) {
            switch (pieces[i]) {
                case Piece::lower: w[i] = s_.lower[i]; break;
                case Piece::upper: w[i] = s_.upper[i]; break;
                case Piece::hold: w[i] = s_.current[i]; break;
                default: free_.push_back(i); break;
            }
            if (is_free(pieces[i])) {
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
        std::vector<double> rhs(m), a(m * m), y;
        cov_.multiply_rows(free_, d_.data(), rhs.data());
        for (std::size_t r = 0; r < m; ++r) {
            const std::size_t i = free_[r];
            const double slope = pieces[i] == Piece::buy ? s_.buy[i] : -s_.sell[i];
            rhs[r] = -2.0 * lam_ * rhs[r] - slope;
        }
        cov_.principal_submatrix(free_, a.data());
        for (double& v : a) v *= 2.0 * lam_;
        SaddleSolver saddle;
        if (!saddle.factorize(a, m)) return false;
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

    /// The piece a weight lies on.
    Piece piece_of(std::size_t i, double w) const {
        if (w <= s_.lower[i]) return Piece::lower;
        if (w >= s_.upper[i]) return Piece::upper;
        if (w > s_.current[i]) return Piece::buy;
        if (w < s_.current[i]) return Piece::sell;
        return Piece::hold;
    }

    /// Primal-dual active-set correction. Free assets that left their piece move to the piece
    /// they crossed into; fixed assets whose reduced gradient mu = g + nu says that moving
    /// lowers the Lagrangian become free. Far from the solution first-order information marks
    /// most assets as violators although few trade at the optimum, so at most
    /// max(16, |free|) of them join per round, the largest violations first: the free set at
    /// most doubles and the reduced systems stay near the size of the final one.
    /// Returns false if nothing changed.
    bool update_pieces(const Point& cand, double nu, std::vector<Piece>& pieces) const {
        double scale = 0.0;
        for (std::size_t i = 0; i < n_; ++i)
            scale = std::max(scale, std::abs(2.0 * lam_ * cand.sigma_d[i]));
        const double tau = 1e-13 * (scale + std::abs(nu));
        bool changed = false;
        std::vector<std::pair<double, std::size_t>> joins;  // (violation, asset)
        std::vector<Piece> joined(n_);
        std::size_t free_count = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            const double wi = cand.w[i], l = s_.lower[i], u = s_.upper[i], w0 = s_.current[i];
            const double mu = 2.0 * lam_ * cand.sigma_d[i] + nu;
            const double up = mu + s_.buy[i];     // derivative of the Lagrangian buying more
            const double down = mu - s_.sell[i];  // derivative of the Lagrangian selling less
            Piece next = pieces[i];
            double violation = 0.0;
            switch (pieces[i]) {
                case Piece::buy:
                    if (wi > u)
                        next = Piece::upper;
                    else if (wi < std::max(w0, l))
                        next = w0 >= l ? Piece::hold : Piece::lower;
                    break;
                case Piece::sell:
                    if (wi < l)
                        next = Piece::lower;
                    else if (wi > std::min(w0, u))
                        next = w0 <= u ? Piece::hold : Piece::upper;
                    break;
                case Piece::hold:
                    if (up < -tau && w0 < u)
                        violation = -up, joined[i] = Piece::buy;
                    else if (down > tau && w0 > l)
                        violation = down, joined[i] = Piece::sell;
                    break;
                case Piece::upper:  // moving down pays if the left derivative is positive
                    if (l < u && (u > w0 ? up > tau : down > tau))
                        violation = u > w0 ? up : down,
                        joined[i] = u > w0 ? Piece::buy : Piece::sell;
                    break;
                case Piece::lower:  // moving up pays if the right derivative is negative
                    if (l < u && (l < w0 ? down < -tau : up < -tau))
                        violation = l < w0 ? -down : -up,
                        joined[i] = l < w0 ? Piece::sell : Piece::buy;
                    break;
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
