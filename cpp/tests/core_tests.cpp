// Unit tests of the pure C++ core, without Python. Built by CMake with REBALANCING_BUILD_TESTS
// (and under ASan/UBSan with REBALANCING_SANITIZE); run by ctest and .ci/run.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rebalancing/backtest.hpp"
#include "rebalancing/batch.hpp"
#include "rebalancing/certificate.hpp"
#include "rebalancing/covariance.hpp"
#include "rebalancing/drift.hpp"
#include "rebalancing/fingerprint.hpp"
#include "rebalancing/parallel.hpp"
#include "rebalancing/prox.hpp"
#include "rebalancing/solver.hpp"

using namespace rebalancing;

namespace {

int g_passed = 0, g_failed = 0;

void check(bool ok, const std::string& what) {
    if (ok) {
        ++g_passed;
    } else {
        ++g_failed;
        std::printf("FAILED: %s\n", what.c_str());
    }
}

/// Owns the arrays behind a SeparableTerms view.
struct Data {
    std::vector<double> current, buy, sell, lower, upper;
    SeparableTerms view() const {
        SeparableTerms s;
        s.n = current.size();
        s.current = current.data();
        s.buy = buy.data();
        s.sell = sell.data();
        s.lower = lower.data();
        s.upper = upper.data();
        return s;
    }
};

/// Owns the arrays of sell curves (see SeparableTerms).
struct Curves {
    std::vector<std::size_t> start{0};
    std::vector<double> cost, kink;
    SeparableTerms attach(SeparableTerms s) const {
        s.curve_start = start.data();
        s.curve_cost = cost.data();
        s.curve_kink = kink.data();
        return s;
    }
};

/// Adds random sell curves (tax lots): up to 4 tranches per asset, kinks between 0 and w0 (the
/// last one sometimes exactly at the lower bound 0), costs sorted, the first possibly a benefit
/// (negative) down to -buy, the limit of convexity. Some assets keep their plain sell cost.
Curves random_sell_curves(std::mt19937_64& rng, Data& d) {
    std::uniform_real_distribution<double> unif(0.0, 1.0);
    const std::size_t n = d.current.size();
    Curves c;
    for (std::size_t i = 0; i < n; ++i) {
        const auto tranches = static_cast<std::size_t>(unif(rng) * 5.0);  // 0..4
        std::vector<double> costs;
        for (std::size_t j = 0; j < tranches; ++j) costs.push_back(0.03 * unif(rng) - 0.01);
        std::sort(costs.begin(), costs.end());
        if (i > 0 && !costs.empty() && unif(rng) < 0.2) {
            // Sell-only (u = w0): the first benefit may exceed the buy cost.
            d.upper[i] = d.current[i];
            costs[0] = std::min(costs[0], -0.05 * unif(rng));
        } else {
            for (double& cost : costs) cost = std::max(cost, -d.buy[i]);
            if (!costs.empty() && unif(rng) < 0.2) costs[0] = -d.buy[i];  // exactly at the limit
        }
        double kink = d.current[i];
        for (std::size_t j = 0; j < tranches; ++j) {
            kink =
                j + 1 < tranches && unif(rng) < 0.3 && j + 2 == tranches ? 0.0 : kink * unif(rng);
            c.cost.push_back(costs[j]);
            c.kink.push_back(j + 1 < tranches ? kink : -1.0);  // the last one is ignored
        }
        c.start.push_back(c.cost.size());
    }
    return c;
}

Data random_data(std::mt19937_64& rng, std::size_t n) {
    std::uniform_real_distribution<double> unif(0.0, 1.0);
    Data d;
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        d.current.push_back(unif(rng));
        sum += d.current.back();
        d.buy.push_back(0.01 * unif(rng));
        d.sell.push_back(0.01 * unif(rng));
        d.lower.push_back(0.0);
        d.upper.push_back(i > 0 && unif(rng) < 0.2 ? 0.05 : 1.0);  // asset 0 keeps it feasible
    }
    for (double& c : d.current) c /= sum;
    return d;
}

/// Random PSD matrix A A' / k (rank min(n, k)), row-major.
std::vector<double> random_cov(std::mt19937_64& rng, std::size_t n, std::size_t k) {
    std::normal_distribution<double> normal(0.0, 0.2);
    std::vector<double> a(n * k), cov(n * n, 0.0);
    for (double& v : a) v = normal(rng);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t r = 0; r < k; ++r)
                cov[i * n + j] += a[i * k + r] * a[j * k + r] / static_cast<double>(k);
    return cov;
}

double objective(const std::vector<double>& cov, const std::vector<double>& target,
                 const SeparableTerms& s, double lam, const std::vector<double>& w) {
    const std::size_t n = w.size();
    double risk = 0.0, cost = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j)
            risk += (w[i] - target[i]) * cov[i * n + j] * (w[j] - target[j]);
        cost += s.cost(i, w[i] - s.current[i]);
    }
    return lam * risk + cost;
}

/// The prox's shift nu by bisection (200 halvings): the reference for prox().
double bisect_shift(const SeparableTerms& s, double kappa, const std::vector<double>& v) {
    double lo = -1e3, hi = 1e3;
    for (int it = 0; it < 200; ++it) {
        const double mid = 0.5 * (lo + hi);
        double sum = 0.0;
        for (std::size_t i = 0; i < s.n; ++i)
            sum += detail::prox_coordinate(s, kappa, i, v[i] - mid);
        (sum > 1.0 ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

/// The minimiser of a convex function of one variable on [lo, hi] by ternary search.
double ternary_min(const std::function<double(double)>& f, double lo, double hi) {
    for (int it = 0; it < 300; ++it) {
        const double m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
        (f(m1) < f(m2) ? hi : lo) = (f(m1) < f(m2) ? m2 : m1);
    }
    return 0.5 * (lo + hi);
}

void test_prox_matches_bisection() {
    std::mt19937_64 rng(1);
    std::normal_distribution<double> normal(0.0, 0.3);
    for (int trial = 0; trial < 200; ++trial) {
        const std::size_t n = 1 + static_cast<std::size_t>(trial % 17);
        Data d = random_data(rng, n);
        const SeparableTerms s = d.view();
        std::vector<double> v(n), w(n), w_ref(n);
        for (double& x : v) x = normal(rng);
        const double kappa = trial % 3 == 0 ? 0.0 : 0.5;
        ProxWorkspace ws;
        prox(s, kappa, v.data(), w.data(), ws);
        const double shift = bisect_shift(s, kappa, v);
        double sum = 0.0, err = 0.0;
        bool in_box = true;
        for (std::size_t i = 0; i < n; ++i) {
            w_ref[i] = detail::prox_coordinate(s, kappa, i, v[i] - shift);
            err = std::max(err, std::abs(w[i] - w_ref[i]));
            sum += w[i];
            in_box = in_box && w[i] >= s.lower[i] && w[i] <= s.upper[i];
        }
        check(err < 1e-10, "prox agrees with bisection, trial " + std::to_string(trial));
        check(std::abs(sum - 1.0) < 1e-14, "prox keeps sum(w) = 1");
        check(in_box, "prox keeps the bounds");
    }
}

void test_certificate_is_a_valid_bound() {
    // For random feasible points of random problems, F(w) - gap must not exceed the objective
    // of any other feasible point, in particular the solver's optimum.
    std::mt19937_64 rng(2);
    for (int trial = 0; trial < 60; ++trial) {
        const std::size_t n = 2 + static_cast<std::size_t>(trial % 11);
        Data d = random_data(rng, n);
        const SeparableTerms s = d.view();
        const auto cov = random_cov(rng, n, 1 + static_cast<std::size_t>(trial % 5));
        std::vector<double> target(n, 1.0 / static_cast<double>(n));
        const double lam = 10.0;
        DenseCovariance op(cov.data(), n);
        Solver solver(op, target.data(), lam, s);
        const Result best = solver.solve();
        check(best.status == Status::optimal, "solver certifies, trial " + std::to_string(trial));
        if (best.status != Status::optimal)
            std::printf("  gap %.3g objective %.6g iterations %zu polish %zu grad %zu\n", best.gap,
                        best.objective, best.iterations, best.polish_rounds, best.gradient_steps);
        const double f_best = objective(cov, target, s, lam, best.weights);
        check(
            std::abs(f_best - best.objective) <= 1e-12 * std::max(1e-12, std::abs(f_best)) + 1e-18,
            "reported objective matches a direct evaluation");

        std::uniform_real_distribution<double> unif(0.0, 1.0);
        std::vector<double> v(n), w(n), d_vec(n), sd(n), g(n), scratch;
        for (double& x : v) x = unif(rng);
        ProxWorkspace ws;
        project_feasible(s, v.data(), w.data(), ws);
        for (std::size_t i = 0; i < n; ++i) d_vec[i] = w[i] - target[i];
        op.multiply(d_vec.data(), sd.data());
        for (std::size_t i = 0; i < n; ++i) g[i] = 2.0 * lam * sd[i];
        const Certificate c = certify(s, w.data(), g.data(), scratch);
        const double f_w = objective(cov, target, s, lam, w);
        check(c.gap >= 0.0, "gap is non-negative");
        check(f_w - c.gap <= f_best + 1e-12,
              "F(w) - gap is a lower bound on F*, trial " + std::to_string(trial));
    }
}

void test_two_assets_against_grid() {
    // n = 2: w = (x, 1 - x), a one-dimensional convex problem solved by ternary search.
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> unif(0.0, 1.0);
    for (int trial = 0; trial < 50; ++trial) {
        Data d;
        const double c0 = unif(rng);
        d.current = {c0, 1.0 - c0};
        d.buy = {0.02 * unif(rng), 0.02 * unif(rng)};
        d.sell = {0.02 * unif(rng), 0.02 * unif(rng)};
        d.lower = {0.0, 0.0};
        d.upper = {1.0, 1.0};
        const SeparableTerms s = d.view();
        const double a = 0.01 + 0.1 * unif(rng), b = 0.01 + 0.1 * unif(rng);
        const double rho = 0.9 * (2 * unif(rng) - 1) * std::sqrt(a * b);
        std::vector<double> cov = {a, rho, rho, b}, target = {unif(rng), 0.0};
        target[1] = 1.0 - target[0];
        DenseCovariance op(cov.data(), 2);
        const Result r = Solver(op, target.data(), 5.0, s).solve();
        auto f = [&](double x) { return objective(cov, target, s, 5.0, {x, 1.0 - x}); };
        const double x_min = ternary_min(f, 0.0, 1.0);
        check(r.status == Status::optimal, "n = 2 certified");
        check(r.objective <= f(x_min) + 1e-14, "n = 2 matches ternary search");
    }
}

void test_edge_cases() {
    // n = 1: the only feasible point is w = 1.
    {
        Data d{{1.0}, {0.01}, {0.01}, {0.0}, {1.0}};
        std::vector<double> cov = {0.04}, target = {1.0};
        DenseCovariance op(cov.data(), 1);
        const Result r = Solver(op, target.data(), 1.0, d.view()).solve();
        check(r.status == Status::optimal && r.weights[0] == 1.0, "n = 1");
    }
    // lam = 0 with the current weights outside the bounds: the cheapest way back inside.
    {
        Data d{{0.7, 0.2, 0.1}, {0.01, 0.03, 0.02}, {0.01, 0.01, 0.01}, {0, 0, 0}, {0.5, 1, 1}};
        std::vector<double> cov(9, 0.0), target = {0.4, 0.3, 0.3};
        DenseCovariance op(cov.data(), 3);
        const Result r = Solver(op, target.data(), 0.0, d.view()).solve();
        // Sell 0.2 of asset 0 (cost 0.002), buy the cheaper asset 2 (cost 0.004).
        check(r.status == Status::optimal, "lam = 0 certified");
        check(std::abs(r.weights[0] - 0.5) < 1e-15 && std::abs(r.weights[2] - 0.3) < 1e-15,
              "lam = 0 buys the cheapest asset");
        check(std::abs(r.objective - 0.006) < 1e-15, "lam = 0 objective");
    }
    // current == target: nothing to do.
    {
        Data d{{0.5, 0.3, 0.2}, {0.01, 0.01, 0.01}, {0.01, 0.01, 0.01}, {0, 0, 0}, {1, 1, 1}};
        std::vector<double> cov = {0.04, 0.01, 0, 0.01, 0.09, 0, 0, 0, 0.01};
        DenseCovariance op(cov.data(), 3);
        const Result r = Solver(op, d.current.data(), 10.0, d.view()).solve();
        check(r.status == Status::optimal && r.objective == 0.0 && r.iterations == 0,
              "current == target needs no iteration");
    }
    // Infeasible bounds and negative costs are rejected.
    {
        Data d{{0.5, 0.5}, {0.0, 0.0}, {0.0, 0.0}, {0.0, 0.0}, {0.4, 0.4}};
        std::vector<double> cov(4, 0.0), target = {0.5, 0.5};
        DenseCovariance op(cov.data(), 2);
        bool threw = false;
        try {
            Solver(op, target.data(), 1.0, d.view());
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        check(threw, "sum(upper) < 1 is rejected");
        d.upper = {1.0, 1.0};
        d.buy = {-0.01, 0.0};
        threw = false;
        try {
            Solver(op, target.data(), 1.0, d.view());
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        check(threw, "negative costs are rejected");
    }
}

void test_dense_stats() {
    std::mt19937_64 rng(11);
    for (std::size_t n : {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{50}}) {
        for (double scale : {1.0, 1e200, 1e-200}) {
            auto cov = random_cov(rng, n, 3);
            for (double& v : cov) v *= scale;
            const DenseStats st = dense_stats(cov.data(), n);
            double max_abs = 0.0;
            for (double v : cov) max_abs = std::max(max_abs, std::abs(v));
            check(st.max_abs == max_abs, "dense_stats max_abs, n = " + std::to_string(n));
            // Power iteration gives a lower estimate of the largest eigenvalue; x is scaled to
            // max|x_i| = 1 so that nothing overflows or underflows at either scale.
            std::vector<double> x(n, 1.0), y(n);
            double rayleigh = 0.0;
            for (int it = 0; it < 200; ++it) {
                double xx = 0.0, xy = 0.0, top = 0.0;
                DenseCovariance(cov.data(), n, st).multiply(x.data(), y.data());
                for (std::size_t i = 0; i < n; ++i) {
                    xx += x[i] * x[i];
                    xy += x[i] * y[i];
                    top = std::max(top, std::abs(y[i]));
                }
                rayleigh = xy / xx;
                if (top == 0.0) break;
                for (std::size_t i = 0; i < n; ++i) x[i] = y[i] / top;
            }
            check(
                std::isfinite(st.eigenvalue_bound) && st.eigenvalue_bound >= rayleigh * (1 - 1e-12),
                "dense_stats bounds the largest eigenvalue, n = " + std::to_string(n) + ", scale " +
                    std::to_string(scale));
        }
    }
    const DenseStats zero = dense_stats(std::vector<double>(9, 0.0).data(), 3);
    check(zero.max_abs == 0.0 && zero.eigenvalue_bound == 0.0, "dense_stats of a zero matrix");
}

void test_linear_program_ties_under_rounding() {
    // Gradients built so that many breakpoints -g_i - buy_i coincide in exact arithmetic but
    // round differently: the LP solution must still fill the ties to sum(w) = 1 exactly.
    std::mt19937_64 rng(12);
    std::uniform_real_distribution<double> unif(0.0, 1.0);
    for (int trial = 0; trial < 200; ++trial) {
        const std::size_t n = 2 + static_cast<std::size_t>(trial % 30);
        Data d = random_data(rng, n);
        std::vector<double> g(n), w(n), scratch;
        const double level = 0.1 * unif(rng);
        for (std::size_t i = 0; i < n; ++i) {
            if (unif(rng) < 0.5)
                g[i] = (level * 3.0) / 3.0 - d.buy[i];  // buy breakpoints tie at -level
            else
                g[i] = 7.0 * unif(rng) * 1e-3;
        }
        const SeparableTerms s = d.view();
        linear_program_solution(s, g.data(), w.data(), scratch);
        double sum = 0.0;
        bool inside = true;
        for (std::size_t i = 0; i < n; ++i) {
            sum += w[i];
            inside = inside && w[i] >= s.lower[i] && w[i] <= s.upper[i];
        }
        const Certificate c = certify(s, w.data(), g.data(), scratch);
        check(inside && std::abs(sum - 1.0) <= 1e-14 && c.gap <= 1e-14,
              "LP solution with rounded ties is feasible and optimal (trial " +
                  std::to_string(trial) + ", sum - 1 = " + std::to_string(sum - 1.0) +
                  ", gap = " + std::to_string(c.gap) + ")");
    }
}

void test_rank_deficient_and_ill_conditioned() {
    std::mt19937_64 rng(4);
    for (std::size_t k : {std::size_t{2}, std::size_t{5}}) {
        const std::size_t n = 40;
        Data d = random_data(rng, n);
        const auto cov = random_cov(rng, n, k);  // rank k < n
        std::vector<double> target(n, 1.0 / static_cast<double>(n));
        DenseCovariance op(cov.data(), n);
        const Result r = Solver(op, target.data(), 10.0, d.view()).solve();
        check(r.status == Status::optimal, "rank-deficient covariance, rank " + std::to_string(k));
    }
    {
        // Diagonal with condition number 1e8 plus a dense rank-one term.
        const std::size_t n = 30;
        Data d = random_data(rng, n);
        std::vector<double> cov(n * n), target(n, 1.0 / static_cast<double>(n));
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j)
                cov[i * n + j] = 0.01 + (i == j ? std::pow(10.0, -8.0 * static_cast<double>(i) /
                                                                     static_cast<double>(n - 1))
                                                : 0.0);
        DenseCovariance op(cov.data(), n);
        const Result r = Solver(op, target.data(), 100.0, d.view()).solve();
        check(r.status == Status::optimal, "ill-conditioned covariance");
    }
}

/// Seed 1044 of benchmarks/sweep_small.py (n = 4, Sigma of rank 1, lam = 788.8): the polish
/// finds the exact KKT point (gap ~1e-15) but its computed objective was 4.6e-15 above a
/// first-order point's (gap 8.2e-11, tolerance 1.7e-13), far below the rounding of F here
/// (|d|'|Sigma||d| / d'Sigma d ~ 1e10): it was thrown away and the solve ended max_iterations.
void test_rank_deficient_small_certified() {
    Data d;
    d.current = {0x1.36f717e944b74p-2, 0x1.870b407439ea5p-2, 0x1.0d37d28006c75p-25,
                 0x1.41fda58811b98p-2};
    d.buy = {0x1.451054f2d5ccdp-14, 0x1.03bdfd99a6443p-9, 0x1.44171ba16245ap-10, 0.0};
    d.sell = {0x1.11e1581247069p-10, 0x1.003524fcb6e3ep-9, 0x1.6f55c61e13469p-10, 0.0};
    d.lower = {0.0, 0.0, 0.0, 0.0};
    d.upper = {1.0, 1.0, 1.0, 1.0};
    const std::vector<double> target = {0x1.978f6eef9cf2fp-3, 0x1.18a68fce391d4p-2,
                                        0x1.9e08b4d2e6e1cp-26, 0x1.0dc8db8df7da3p-1};
    const std::vector<double> cov = {
        0x1.f7171d37d5281p-4,  -0x1.5f87e531fbdd9p-6, -0x1.0c208e352926cp-3, 0x1.cf5b785967753p-4,
        -0x1.5f87e531fbdd9p-6, 0x1.eb426c03fb092p-9,  0x1.76b438b7f8bb6p-6,  -0x1.43c4879f7142ep-6,
        -0x1.0c208e352926cp-3, 0x1.76b438b7f8bb6p-6,  0x1.1dcd6317d577ap-3,  -0x1.ede6f20357eabp-4,
        0x1.cf5b785967753p-4,  -0x1.43c4879f7142ep-6, -0x1.ede6f20357eabp-4, 0x1.aac3291b20108p-4};
    DenseCovariance op(cov.data(), 4);
    const Result r = Solver(op, target.data(), 0x1.8a617acf04becp+9, d.view()).solve();
    check(r.status == Status::optimal, "small rank-one covariance, lam 788.8: certified");
    check(r.gap <= 1e-9 * r.objective, "small rank-one covariance: gap within tolerance");
}

void test_drift_against_naive_loop() {
    std::mt19937_64 rng(21);
    std::uniform_real_distribution<double> unif(0.0, 1.0);
    // Sizes on both sides of the chunk of 65536 assets, shared and per-portfolio targets.
    // Row lengths around the vector widths (2, 4, 16), longer rows, and more rows than a
    // vector body takes at once (kRowGroup).
    for (std::size_t n :
         {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5}, std::size_t{7},
          std::size_t{16}, std::size_t{17}, std::size_t{1000}, kDriftChunk + 5}) {
        for (bool shared : {true, false}) {
            const std::size_t m = n > 1000 ? 2 : n <= 17 ? detail::kRowGroup + 9 : 5, groups = 3;
            std::vector<double> cur(m * n), tgt(shared ? n : m * n), abs_band(n), rel(n);
            std::vector<std::int32_t> group(n);
            for (double& v : cur) v = unif(rng) / static_cast<double>(n);
            for (double& v : tgt) v = unif(rng) / static_cast<double>(n);
            for (std::size_t i = 0; i < n; ++i) {
                abs_band[i] = 0.3 * unif(rng) / static_cast<double>(n);
                rel[i] = unif(rng);
                group[i] = static_cast<std::int32_t>(i % groups);
            }
            DriftBatch batch{m, n, cur.data(), tgt.data(), shared, group.data(), groups};
            BandRule rule;
            rule.abs_kind = BandKind::per_asset;
            rule.abs = abs_band.data();
            rule.rel_kind = BandKind::per_asset;
            rule.rel = rel.data();
            std::vector<DriftSummary> one(m), many(m);
            std::vector<double> gd_one(m * groups), gd_many(m * groups);
            check_drift(batch, rule, 1, one.data(), gd_one.data());
            check_drift(batch, rule, 3, many.data(), gd_many.data());
            for (std::size_t r = 0; r < m; ++r) {
                const double* t = shared ? tgt.data() : tgt.data() + r * n;
                double top = 0.0, excess = -INFINITY, current_sum = 0.0, drift_sum = 0.0;
                std::int64_t count = 0;
                std::vector<double> sums(groups, 0.0);
                for (std::size_t i = 0; i < n; ++i) {
                    const double d = cur[r * n + i] - t[i];
                    current_sum += cur[r * n + i];
                    drift_sum += d;
                    const double band = std::min(abs_band[i], rel[i] * std::abs(t[i]));
                    top = std::max(top, std::abs(d));
                    excess = std::max(excess, std::abs(d) - band);
                    count += std::abs(d) > band ? 1 : 0;
                    sums[static_cast<std::size_t>(group[i])] += d;
                }
                const std::string what = "drift n=" + std::to_string(n) +
                                         " r=" + std::to_string(r) + (shared ? " shared" : "");
                check(one[r].max_drift == top && one[r].max_excess == excess &&
                          one[r].breaches == count && one[r].nonfinite == 0,
                      what + ": reductions equal the naive loop");
                bool groups_ok = true;
                for (std::size_t g = 0; g < groups; ++g)
                    groups_ok = groups_ok && std::abs(gd_one[r * groups + g] - sums[g]) <= 1e-15;
                check(groups_ok, what + ": group drifts equal the naive sums");
                // The sums are added in another order than the naive loop: equal up to rounding.
                check(std::abs(one[r].current_sum - current_sum) <= 1e-14 &&
                          std::abs(one[r].drift_sum - drift_sum) <= 1e-14,
                      what + ": sums of w and of d equal the naive sums");
                check(one[r].current_sum == many[r].current_sum &&
                          one[r].drift_sum == many[r].drift_sum,
                      what + ": sums bitwise equal on 1 and 3 threads");
                check(one[r].max_drift == many[r].max_drift &&
                          one[r].max_excess == many[r].max_excess &&
                          one[r].breaches == many[r].breaches,
                      what + ": same result on 1 and 3 threads");
            }
            check(gd_one == gd_many, "group drifts bitwise equal on 1 and 3 threads");
            // The SSE2 and AVX2 bodies (whichever this CPU runs by default) agree exactly.
            detail::RowSpan span;
            span.cur = cur.data();
            span.cur_stride = n;
            span.tgt = tgt.data();
            span.tgt_stride = shared ? 0 : n;
            span.last = m;
            span.end = n;
            std::vector<DriftSummary> portable(m), wide(m);
            detail::select_scan_for<false>(rule)(span, rule, portable.data());
            if (detail::use_avx2())
                detail::select_scan_for<true>(rule)(span, rule, wide.data());
            else
                wide = portable;
            for (std::size_t r = 0; r < m; ++r) {
                const DriftSummary& a = portable[r];
                const DriftSummary& b = wide[r];
                check(a.max_drift == one[r].max_drift && a.max_excess == one[r].max_excess &&
                          a.breaches == one[r].breaches && b.max_drift == a.max_drift &&
                          b.max_excess == a.max_excess && b.breaches == a.breaches,
                      "SSE2 and AVX2 bodies agree with the threaded result");
            }
        }
    }
    {  // NaN and inf are counted, a group id out of range throws.
        std::vector<double> cur = {0.5, NAN, 0.5, INFINITY}, tgt = {0.5, 0.5, 0.5, 0.5};
        DriftBatch batch{1, 4, cur.data(), tgt.data(), true, nullptr, 0};
        BandRule rule;
        rule.abs_kind = BandKind::scalar;
        rule.abs_scalar = 0.1;
        DriftSummary s;
        check_drift(batch, rule, 1, &s, nullptr);
        check(s.nonfinite == 2, "NaN and inf drifts are counted");
        std::vector<std::int32_t> bad_group = {0, 1, 2, 3};
        batch.group = bad_group.data();
        batch.n_groups = 3;
        bool threw = false;
        try {
            check_drift(batch, rule, 1, &s, nullptr);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        check(threw, "a group id out of range is rejected");
    }
}

/// Every item exactly once, for many sizes and thread counts, from the calling thread's pool
/// reused across calls, from several threads at once, nested, after an exception, and in a
/// forked child (whose parent's helpers do not exist).
void test_parallel_for() {
    auto covers = [](std::size_t items, std::size_t threads) {
        std::vector<std::atomic<int>> hits(items);
        parallel_for(items, threads, [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) hits[i].fetch_add(1);
        });
        return std::all_of(hits.begin(), hits.end(), [](const auto& h) { return h.load() == 1; });
    };
    bool all = true;
    for (std::size_t items : {1, 2, 3, 7, 64, 1000, 100003})
        for (std::size_t threads : {0, 1, 2, 3, 8}) all = all && covers(items, threads);
    check(all, "parallel_for covers every item exactly once");

    std::atomic<int> concurrent_ok{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t)
        callers.emplace_back([&] {
            bool ok = true;
            for (int rep = 0; rep < 50; ++rep) ok = ok && covers(5000, 3);
            if (ok) concurrent_ok.fetch_add(1);
        });
    for (std::thread& t : callers) t.join();
    check(concurrent_ok.load() == 4, "parallel_for from several threads at once");

    std::atomic<long> nested_sum{0};
    parallel_for(8, 2, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i)
            parallel_for(100, 2, [&](std::size_t b, std::size_t e) {
                for (std::size_t j = b; j < e; ++j) nested_sum.fetch_add(static_cast<long>(j));
            });
    });
    check(nested_sum.load() == 8 * 4950, "nested parallel_for");

    bool threw = false;
    try {
        parallel_for(100, 4, [](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i)
                if (i == 57) throw std::runtime_error("item 57");
        });
    } catch (const std::runtime_error& e) {
        threw = std::string(e.what()) == "item 57";
    }
    check(threw, "parallel_for propagates exceptions");
    check(covers(1000, 4), "parallel_for works again after an exception");

#if !defined(__SANITIZE_THREAD__)  // ThreadSanitizer cannot start threads after such a fork
    const pid_t child = ::fork();
    if (child == 0) std::_Exit(covers(10000, 2) ? 0 : 1);
    int status = -1;
    check(child > 0 && ::waitpid(child, &status, 0) == child && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          "parallel_for in a forked child");
#endif
}

void test_factor_covariance_matches_dense() {
    std::mt19937_64 rng(31);
    std::normal_distribution<double> normal(0.0, 0.2);
    std::uniform_real_distribution<double> unif(0.0, 0.01);
    const std::size_t n = 37, k = 4;
    std::vector<double> b(n * k), half(k * k), f(k * k, 0.0), d(n), dense(n * n);
    for (double& v : b) v = normal(rng);
    for (double& v : half) v = normal(rng);
    for (std::size_t r = 0; r < k; ++r)
        for (std::size_t c = 0; c < k; ++c)
            for (std::size_t t = 0; t < k; ++t) f[r * k + c] += half[r * k + t] * half[c * k + t];
    for (double& v : d) v = unif(rng);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double v = i == j ? d[i] : 0.0;
            for (std::size_t r = 0; r < k; ++r)
                for (std::size_t c = 0; c < k; ++c) v += b[i * k + r] * f[r * k + c] * b[j * k + c];
            dense[i * n + j] = v;
        }
    const FactorCovariance fc(b.data(), f.data(), d.data(), n, k);
    const DenseCovariance dc(dense.data(), n);
    std::vector<double> x(n), y1(n), y2(n);
    for (double& v : x) v = normal(rng);
    fc.multiply(x.data(), y1.data());
    dc.multiply(x.data(), y2.data());
    double err = 0.0;
    for (std::size_t i = 0; i < n; ++i) err = std::max(err, std::abs(y1[i] - y2[i]));
    check(err <= 1e-14, "factor multiply equals dense");
    const std::vector<std::size_t> idx = {3, 0, 17, 36};
    std::vector<double> r1(idx.size()), r2(idx.size()), s1(16), s2(16);
    fc.multiply_rows(idx, x.data(), r1.data());
    dc.multiply_rows(idx, x.data(), r2.data());
    fc.principal_submatrix(idx, s1.data());
    dc.principal_submatrix(idx, s2.data());
    err = 0.0;
    for (std::size_t t = 0; t < idx.size(); ++t) err = std::max(err, std::abs(r1[t] - r2[t]));
    for (std::size_t t = 0; t < 16; ++t) err = std::max(err, std::abs(s1[t] - s2[t]));
    const double coef[4] = {0.1, -0.2, 0.3, 0.05};
    y1 = y2;
    fc.add_columns(idx, coef, y1.data());
    dc.add_columns(idx, coef, y2.data());
    for (std::size_t i = 0; i < n; ++i) err = std::max(err, std::abs(y1[i] - y2[i]));
    check(err <= 1e-14, "factor rows, submatrix and column updates equal dense");
    const DenseStats ds = dense_stats(dense.data(), n);
    check(fc.max_abs_entry() >= ds.max_abs * (1 - 1e-14) &&
              fc.max_abs_entry() <= ds.max_abs * (1 + 1e-14),
          "factor max_abs is the largest diagonal entry = max |Sigma_ij|");
    check(fc.eigenvalue_bound() >= 0.99 * ds.eigenvalue_bound / std::sqrt(double(n)),
          "factor eigenvalue bound is an upper bound (checked against the dense one)");

    // A batch over both operators: same answers, and equal to single solves.
    const std::size_t m = 5;
    std::vector<double> cur(m * n), tgt(n), costs(n, 0.002), lo(n, 0.0), hi(n, 1.0), lam(m);
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    for (std::size_t r = 0; r < m; ++r) {
        double sum = 0.0;
        for (std::size_t i = 0; i < n; ++i) sum += cur[r * n + i] = u01(rng);
        for (std::size_t i = 0; i < n; ++i) cur[r * n + i] /= sum;
        lam[r] = 1.0 + 10.0 * static_cast<double>(r);
    }
    for (double& v : tgt) v = 1.0 / static_cast<double>(n);
    BatchInputs in;
    in.m = m;
    in.n = n;
    in.current = cur.data();
    in.target = tgt.data();
    in.buy = in.sell = costs.data();
    in.lower = lo.data();
    in.upper = hi.data();
    in.lam = lam.data();
    std::vector<double> w(m * n), obj(m), risk(m), cost(m), gap(m), nu(m), t(m);
    std::vector<std::int64_t> its(m);
    std::vector<std::uint8_t> status(m);
    BatchOutputs out{w.data(),  obj.data(), risk.data(), cost.data(),  gap.data(),
                     nu.data(), t.data(),   its.data(),  status.data()};
    const auto errors = solve_batch(fc, in, Settings{}, 2, out);
    bool same = true;
    for (std::size_t r = 0; r < m; ++r) {
        SeparableTerms terms;
        terms.n = n;
        terms.current = cur.data() + r * n;
        terms.buy = terms.sell = costs.data();
        terms.lower = lo.data();
        terms.upper = hi.data();
        const Result single = Solver(fc, tgt.data(), lam[r], terms).solve();
        same = same && errors[r].empty() && status[r] == 0 && obj[r] == single.objective;
        for (std::size_t i = 0; i < n; ++i) same = same && w[r * n + i] == single.weights[i];
    }
    check(same, "batch on 2 threads equals single solves, all optimal");

    // Woodbury reduced matrix against the dense one on the same assets.
    std::vector<std::size_t> many;
    for (std::size_t i = 0; i < n; i += 2) many.push_back(i);
    const double scale = 20.0;
    FactorReduced woodbury(b.data(), f.data(), d.data(), many, k, scale);
    auto dense_reduced = dc.CovarianceOperator::reduced(many, scale);
    const std::size_t mm = many.size();
    std::vector<double> v(mm), wa(mm), da(mm);
    for (double& x_t : v) x_t = normal(rng);
    woodbury.multiply(v.data(), wa.data());
    dense_reduced->multiply(v.data(), da.data());
    double merr = 0.0;
    for (std::size_t q = 0; q < mm; ++q) merr = std::max(merr, std::abs(wa[q] - da[q]));
    check(merr <= 1e-13, "Woodbury multiply equals the dense reduced matrix");
    const double delta = 1e-3;
    check(woodbury.factorize(delta) && dense_reduced->factorize(delta), "both factorise");
    wa = v;
    da = v;
    woodbury.solve(wa.data());
    dense_reduced->solve(da.data());
    double serr = 0.0, size = 0.0;
    for (std::size_t q = 0; q < mm; ++q) {
        serr = std::max(serr, std::abs(wa[q] - da[q]));
        size = std::max(size, std::abs(da[q]));
    }
    check(serr <= 1e-9 * size, "Woodbury solve equals the dense Cholesky solve (F + jitter)");
}

void test_sell_curves() {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> unif(0.0, 1.0);
    // 1. The cost in weights and in trades agree, and match a direct sum over the tranches.
    {
        const Data d{{0.5}, {0.002}, {0.0}, {0.0}, {1.0}};
        const Curves curves{{0, 3}, {-0.001, 0.004, 0.01}, {0.3, 0.1, -1}};
        const SeparableTerms s = curves.attach(d.view());
        check(s.tranches(0) == 3 && s.kink(0, 1) == 0.3 && s.kink(0, 2) == 0.1, "curve layout");
        // Selling 0.45: 0.2 at -0.001, 0.2 at 0.004, 0.05 at 0.01.
        const double expected = 0.2 * -0.001 + 0.2 * 0.004 + 0.05 * 0.01;
        check(std::abs(s.cost_at(0, 0.05) - expected) < 1e-18, "cost_at over three tranches");
        check(std::abs(s.cost(0, 0.05 - 0.5) - expected) < 1e-17, "cost over three tranches");
        check(s.cost_at(0, 0.7) == 0.002 * (0.7 - 0.5), "buying costs buy");
        check(s.place_of(0, 0.3) == 3 && s.place_of(0, 0.2) == 4 && s.place_of(0, 0.05) == 6,
              "places on the curve");
        bool threw = false;
        Curves bad = curves;
        bad.cost = {-0.003, 0.004, 0.01};  // benefit 0.003 > buy 0.002: not convex
        try {
            bad.attach(d.view()).check();
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        check(threw, "a non-convex sell curve is rejected");
        threw = false;
        bad = curves;
        bad.kink = {0.1, 0.3, -1};  // kinks must decrease
        try {
            bad.attach(d.view()).check();
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        check(threw, "unordered kinks are rejected");
    }
    // 2. The prox matches bisection on the multiplier with 1-D minimisation by ternary search.
    for (int trial = 0; trial < 200; ++trial) {
        const std::size_t n = 1 + static_cast<std::size_t>(trial % 9);
        Data d = random_data(rng, n);
        const Curves curves = random_sell_curves(rng, d);
        const SeparableTerms s = curves.attach(d.view());
        const double kappa = trial % 4 == 0 ? 0.0 : 0.7;
        for (std::size_t i = 0; i < n; ++i) {
            const double z = 2.0 * unif(rng) - 0.5;
            auto f = [&](double w) { return 0.5 * (w - z) * (w - z) + kappa * s.cost_at(i, w); };
            const double x_min = ternary_min(f, s.lower[i], s.upper[i]);
            const double w = detail::prox_coordinate(s, kappa, i, z);
            check(f(w) <= f(x_min) + 1e-15,
                  "prox coordinate minimises, trial " + std::to_string(trial));
        }
        std::vector<double> v(n), w(n);
        for (double& x : v) x = unif(rng);
        ProxWorkspace ws;
        prox(s, kappa, v.data(), w.data(), ws);
        const double shift = bisect_shift(s, kappa, v);
        double err = 0.0, sum = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            err =
                std::max(err, std::abs(w[i] - detail::prox_coordinate(s, kappa, i, v[i] - shift)));
            sum += w[i];
        }
        check(err < 1e-9, "prox with sell curves agrees with bisection");
        check(std::abs(sum - 1.0) < 1e-14, "prox with sell curves keeps sum(w) = 1");
    }
    // 3. Solves are certified, the certificate bounds every feasible point, and n = 2 matches a
    //    ternary search.
    for (int trial = 0; trial < 300; ++trial) {
        const std::size_t n = 2 + static_cast<std::size_t>(trial % 12);
        Data d = random_data(rng, n);
        const Curves curves = random_sell_curves(rng, d);
        const SeparableTerms s = curves.attach(d.view());
        const auto cov = random_cov(rng, n, 1 + static_cast<std::size_t>(trial % 6));
        std::vector<double> target(n);
        double total = 0.0;
        for (double& t : target) total += (t = unif(rng));
        for (double& t : target) t /= total;
        const double lam = trial % 5 == 0 ? 0.01 : trial % 5 == 1 ? 1000.0 : 10.0;
        DenseCovariance op(cov.data(), n);
        const Result best = Solver(op, target.data(), lam, s).solve();
        check(best.status == Status::optimal,
              "solver with sell curves certifies, trial " + std::to_string(trial));
        if (best.status != Status::optimal)
            std::printf("  n %zu lam %g gap %.3g objective %.6g iterations %zu polish %zu\n", n,
                        lam, best.gap, best.objective, best.iterations, best.polish_rounds);
        const double f_best = objective(cov, target, s, lam, best.weights);
        check(std::abs(f_best - best.objective) <= 1e-12 * std::max(1.0, std::abs(f_best)),
              "objective with sell curves matches a direct evaluation");
        for (int k = 0; k < 5; ++k) {
            std::vector<double> v(n), w(n), dv(n), sd(n), g(n), scratch;
            for (double& x : v) x = unif(rng);
            ProxWorkspace ws;
            project_feasible(s, v.data(), w.data(), ws);
            for (std::size_t i = 0; i < n; ++i) dv[i] = w[i] - target[i];
            op.multiply(dv.data(), sd.data());
            for (std::size_t i = 0; i < n; ++i) g[i] = 2.0 * lam * sd[i];
            const Certificate c = certify(s, w.data(), g.data(), scratch);
            const double f_w = objective(cov, target, s, lam, w);
            check(f_w >= f_best - 1e-12 * std::max(1.0, std::abs(f_best)),
                  "no feasible point beats the certified optimum");
            check(f_w - c.gap <= f_best + 1e-12 * std::max(1.0, std::abs(f_best)),
                  "the certificate with sell curves is a valid bound");
        }
        if (n == 2) {
            auto f = [&](double x) { return objective(cov, target, s, lam, {x, 1.0 - x}); };
            const double x_min = ternary_min(f, std::max(s.lower[0], 1.0 - s.upper[1]),
                                             std::min(s.upper[0], 1.0 - s.lower[1]));
            check(best.objective <= f(x_min) + 1e-14,
                  "n = 2 with sell curves matches ternary search");
        }
    }
}

void test_backtest_by_hand() {
    // Two assets, target 50/50, A +10 % then flat; 10 bp per unit traded on both components.
    const std::vector<double> returns = {0.10, 0.0, 0.0, 0.0};
    const std::vector<double> target = {0.5, 0.5};
    const std::vector<std::uint8_t> every = {1, 1};
    const std::vector<double> rates = {0.001, 0.001, 0.0005, 0.0005};
    rebalancing::BacktestData data;
    data.returns = returns.data();
    data.periods = 2;
    data.assets = 2;
    data.target = target.data();
    data.check = every.data();
    data.linear_rates = rates.data();
    data.linear_components = 2;
    rebalancing::Backtest to_target(data, target.data(), 1.0,
                                    rebalancing::OnEvent::trade_to_target);
    check(to_target.run() == -1, "trade-to-target runs to the end in one call");
    const auto& rec = to_target.record();
    const double z = 0.55 / 1.05 - 0.5;
    check(std::abs(rec.gross_return[0] - 0.05) <= 1e-15, "gross return of period 0");
    check(std::abs(rec.turnover[0] - z) <= 1e-15, "one-way turnover of period 0");
    check(std::abs(rec.linear_cost[0] - 0.001 * 2 * z) <= 1e-17, "commission of period 0");
    check(std::abs(rec.linear_cost[1] - 0.0005 * 2 * z) <= 1e-17, "spread of period 0");
    check(std::abs(rec.nav[0] - 1.05 * (1 - 0.0015 * 2 * z)) <= 1e-15, "nav after costs");
    check(rec.traded[0] == 1 && rec.traded[1] == 0, "only period 0 trades");

    // The same with events handed back: trade to 60/40 at period 0, nothing at period 1.
    const std::vector<double> band = {0.01, 0.01};
    data.band = band.data();
    rebalancing::Backtest stop(data, target.data(), 1.0, rebalancing::OnEvent::stop);
    check(stop.run() == 0, "the breach of period 0 is an event");
    check(std::abs(stop.weights()[0] - 0.55 / 1.05) <= 1e-15, "pre-trade weights at the event");
    const std::vector<double> chosen = {0.6, 0.4};
    stop.trade(chosen.data());
    // Period 1 drift is 0.1 > band: a second event, where the caller does not trade.
    check(stop.run() == 1, "period 1 is an event too");
    check(stop.run() == -1, "then the data ends");
    check(stop.record().weights[2] == 0.6 && stop.record().traded[1] == 0,
          "weights carried when the caller does not trade");
    bool threw = false;
    try {
        stop.trade(chosen.data());
    } catch (const std::logic_error&) {
        threw = true;
    }
    check(threw, "trade() outside an event throws");
}

/// Cash flows by hand: 70/30 worth 100 against a 50/50 target, flat returns, no policy trades.
void test_backtest_flows_by_hand() {
    const std::vector<double> returns = {0.0, 0.0};
    const std::vector<double> target = {0.5, 0.5}, initial = {0.7, 0.3};
    const std::vector<std::uint8_t> never = {0};
    const std::vector<double> rate = {0.01, 0.01};
    rebalancing::BacktestData data;
    data.returns = returns.data();
    data.periods = 1;
    data.assets = 2;
    data.target = target.data();
    data.check = never.data();
    data.linear_rates = rate.data();
    data.linear_components = 1;
    auto run = [&](double flow, bool underweight) {
        data.flows = &flow;
        data.flows_to_underweight = underweight;
        rebalancing::Backtest bt(data, initial.data(), 100.0,
                                 rebalancing::OnEvent::trade_to_target);
        bt.run();
        return bt.record();
    };
    // +20 to the underweight asset: holdings (70, 30) -> (70, 50); 1 % on 20 traded.
    auto rec = run(20.0, true);
    check(std::abs(rec.weights[0] - 70.0 / 120.0) <= 1e-15 &&
              std::abs(rec.weights[1] - 50.0 / 120.0) <= 1e-15,
          "a contribution buys only the underweight asset");
    check(std::abs(rec.nav[0] - (120.0 - 0.2)) <= 1e-12 && rec.flow[0] == 20.0,
          "the contribution and its cost reach the value");
    check(std::abs(rec.linear_cost[0] - 0.2 / 120.0) <= 1e-17 && rec.turnover[0] == 0.0,
          "flow costs are costs, not turnover");
    // -20 from the overweight asset: (70, 30) -> (50, 30).
    rec = run(-20.0, true);
    check(std::abs(rec.weights[0] - 50.0 / 80.0) <= 1e-15 &&
              std::abs(rec.weights[1] - 30.0 / 80.0) <= 1e-15,
          "a withdrawal sells only the overweight asset");
    // +60 is more than the gap: (70, 30) -> (80, 80), exactly at target.
    rec = run(60.0, true);
    check(std::abs(rec.weights[0] - 0.5) <= 1e-15 && std::abs(rec.weights[1] - 0.5) <= 1e-15,
          "a contribution larger than the gap lands on target");
    // Pro rata: the weights do not move.
    rec = run(20.0, false);
    check(std::abs(rec.weights[0] - 0.7) <= 1e-15 && std::abs(rec.nav[0] - 119.8) <= 1e-12,
          "a pro-rata contribution keeps the weights");
    bool threw = false;
    try {
        run(-100.0, true);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    check(threw, "withdrawing the whole value is an error");
}

}  // namespace

void test_xxh64_vectors() {
    // Digests from the reference implementation (libxxhash 0.8.1's XXH64): the published empty
    // and "abc" vectors, and bytes (31 i + 7) mod 256 around the 32-byte stripe boundary and
    // with an odd tail, at seed 0 and another seed.
    check(xxh64("", 0, 0) == 0xEF46DB3751D8E999ULL, "xxh64 of nothing");
    check(xxh64("abc", 3, 0) == 0x44BC2CF5AD770999ULL, "xxh64 of abc");
    struct Case {
        std::size_t size;
        std::uint64_t seed, digest;
    };
    const Case cases[] = {
        {31, 0, 0x4A74F3A1A39AD4A1ULL},   {31, 0x9E3779B97F4A7C15ULL, 0x8137041F5AF88413ULL},
        {32, 0, 0x8D57D6A4671CC43DULL},   {32, 0x9E3779B97F4A7C15ULL, 0x184EBCF3745CD46CULL},
        {100, 0, 0xEFA0AD2D3E70C151ULL},  {100, 0x9E3779B97F4A7C15ULL, 0xBC7AB33BE7528C18ULL},
        {1003, 0, 0x6225F49ABC0F2191ULL}, {1003, 0x9E3779B97F4A7C15ULL, 0x9C4DE1BA3A98E781ULL},
    };
    std::vector<unsigned char> bytes(1003);
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<unsigned char>((i * 31 + 7) & 0xFF);
    for (const Case& c : cases)
        check(xxh64(bytes.data(), c.size, c.seed) == c.digest,
              "xxh64 of " + std::to_string(c.size) + " bytes, seed " + std::to_string(c.seed));
}

void test_xxh3_vectors() {
    // Digests of libxxhash 0.8.1's XXH3_64bits_withSecret for the bytes (31 i + 7) mod 256 and
    // the secret (131 i + 17) mod 256: at the first length past XXH3's short inputs, stripe and
    // block (1024-byte) boundaries and an odd length. fingerprint() is XXH3 there and XXH64
    // seeded with the secret's first 8 bytes up to 240 bytes.
    std::vector<unsigned char> secret(kXxh3SecretSize), bytes(4999);
    for (std::size_t i = 0; i < secret.size(); ++i)
        secret[i] = static_cast<unsigned char>((i * 131 + 17) & 0xFF);
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<unsigned char>((i * 31 + 7) & 0xFF);
    const std::pair<std::size_t, std::uint64_t> cases[] = {
        {241, 0x7DCA6C8F1E24BE1BULL},  {256, 0xC14F8D538DAE3CFCULL},  {1024, 0x5C566EBF593FFEEFULL},
        {1025, 0xE8024B06B7FACCFEULL}, {4999, 0x316C3DA5ACBA6B70ULL},
    };
    for (const auto& [size, digest] : cases) {
        check(xxh3_64_long(bytes.data(), size, secret.data()) == digest,
              "xxh3 of " + std::to_string(size) + " bytes");
        check(xxh3_64_long(bytes.data(), size, secret.data(), false) == digest,
              "xxh3 without avx2 of " + std::to_string(size) + " bytes");
        check(fingerprint(bytes.data(), size, secret.data()) == digest,
              "fingerprint of " + std::to_string(size) + " bytes is xxh3");
    }
    std::uint64_t seed = 0;
    std::memcpy(&seed, secret.data(), sizeof seed);
    check(fingerprint(bytes.data(), 240, secret.data()) == xxh64(bytes.data(), 240, seed),
          "fingerprint of 240 bytes is xxh64");
}

void test_max_asymmetry() {
    // Tile by tile equals the plain double loop, across tile boundaries (32) and at the corners.
    std::mt19937_64 rng(12);
    std::normal_distribution<double> normal;
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{31}, std::size_t{32},
                          std::size_t{33}, std::size_t{70}}) {
        std::vector<double> a(n * n);
        for (double& v : a) v = normal(rng);
        double expected = 0.0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j)
                expected = std::max(expected, std::abs(a[i * n + j] - a[j * n + i]));
        check(max_asymmetry(a.data(), n) == expected, "max_asymmetry, n = " + std::to_string(n));
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < i; ++j) a[i * n + j] = a[j * n + i];
        check(max_asymmetry(a.data(), n) == 0.0, "max_asymmetry of a symmetric matrix");
    }
}

int main() {
    test_prox_matches_bisection();
    test_certificate_is_a_valid_bound();
    test_two_assets_against_grid();
    test_edge_cases();
    test_rank_deficient_and_ill_conditioned();
    test_rank_deficient_small_certified();
    test_dense_stats();
    test_max_asymmetry();
    test_xxh64_vectors();
    test_xxh3_vectors();
    test_linear_program_ties_under_rounding();
    test_drift_against_naive_loop();
    test_parallel_for();
    test_factor_covariance_matches_dense();
    test_sell_curves();
    test_backtest_by_hand();
    test_backtest_flows_by_hand();
    std::printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
