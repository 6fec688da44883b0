// The only file that knows about Python: check shapes, release the GIL, compute, build results.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "rebalancing/backtest.hpp"
#include "rebalancing/batch.hpp"
#include "rebalancing/covariance.hpp"
#include "rebalancing/drift.hpp"
#include "rebalancing/fingerprint.hpp"
#include "rebalancing/prox.hpp"
#include "rebalancing/solver.hpp"

namespace py = pybind11;
using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

namespace {

/// Releases the GIL for the lifetime of the object, like py::gil_scoped_release, but with a
/// destructor that may throw. Retaking the GIL in a daemon thread while the interpreter shuts
/// down ends the thread with pthread_exit, which unwinds the stack; through pybind11's noexcept
/// destructor that unwinding calls std::terminate and aborts the process at exit. Here it
/// passes (pybind11's dispatcher rethrows the forced unwind) and the thread ends quietly.
class ReleaseGil {
   public:
    ReleaseGil() : state_(PyEval_SaveThread()) {}
    ReleaseGil(const ReleaseGil&) = delete;
    ReleaseGil& operator=(const ReleaseGil&) = delete;
    ~ReleaseGil() noexcept(false) { PyEval_RestoreThread(state_); }

   private:
    PyThreadState* state_;
};

void require_vector(const Array& a, std::size_t n, const char* name) {
    if (a.ndim() != 1 || static_cast<std::size_t>(a.shape(0)) != n)
        throw std::invalid_argument(std::string(name) + " must have shape (" + std::to_string(n) +
                                    ",)");
}

/// The covariance operator described by a spec tuple from the Python layer, with the arrays it
/// views kept alive: ("dense", cov, max_abs, eigenvalue_bound) or
/// ("factor", loadings, factor_cov, specific_var, max_abs, eigenvalue_bound).
struct Operator {
    std::vector<Array> keep;
    std::unique_ptr<rebalancing::CovarianceOperator> op;
};

Operator make_operator(const py::tuple& spec, std::size_t n) {
    Operator out;
    const auto kind = spec[0].cast<std::string>();
    if (kind == "dense") {
        Array cov = spec[1].cast<Array>();
        if (cov.ndim() != 2 || static_cast<std::size_t>(cov.shape(0)) != n ||
            static_cast<std::size_t>(cov.shape(1)) != n)
            throw std::invalid_argument("cov must have shape (" + std::to_string(n) + ", " +
                                        std::to_string(n) + ")");
        const rebalancing::DenseStats stats{spec[2].cast<double>(), spec[3].cast<double>()};
        out.op = std::make_unique<rebalancing::DenseCovariance>(cov.data(), n, stats);
        out.keep.push_back(std::move(cov));
    } else if (kind == "factor") {
        Array b = spec[1].cast<Array>(), f = spec[2].cast<Array>(), d = spec[3].cast<Array>();
        if (b.ndim() != 2 || static_cast<std::size_t>(b.shape(0)) != n)
            throw std::invalid_argument("loadings must have shape (n, k) with n = " +
                                        std::to_string(n));
        const auto k = static_cast<std::size_t>(b.shape(1));
        if (f.ndim() != 2 || static_cast<std::size_t>(f.shape(0)) != k ||
            static_cast<std::size_t>(f.shape(1)) != k)
            throw std::invalid_argument("factor_cov must have shape (k, k)");
        require_vector(d, n, "specific_var");
        const rebalancing::FactorStats stats{spec[4].cast<double>(), spec[5].cast<double>()};
        out.op = std::make_unique<rebalancing::FactorCovariance>(b.data(), f.data(), d.data(), n, k,
                                                                 stats);
        out.keep.push_back(std::move(b));
        out.keep.push_back(std::move(f));
        out.keep.push_back(std::move(d));
    } else {
        throw std::invalid_argument("unknown covariance kind " + kind);
    }
    return out;
}

using SizeArray = py::array_t<std::size_t, py::array::c_style | py::array::forcecast>;

py::dict solve(const py::tuple& cov_spec, const Array& current, const Array& target,
               const Array& buy, const Array& sell, const Array& lower, const Array& upper,
               double lam, const rebalancing::Settings& settings,
               const std::optional<Array>& warm_start, const std::optional<py::tuple>& curves) {
    if (current.ndim() != 1) throw std::invalid_argument("current must be one-dimensional");
    const auto n = static_cast<std::size_t>(current.shape(0));
    if (n == 0) throw std::invalid_argument("current must not be empty");
    require_vector(target, n, "target");
    require_vector(buy, n, "buy_costs");
    require_vector(sell, n, "sell_costs");
    require_vector(lower, n, "lower");
    require_vector(upper, n, "upper");
    if (warm_start) require_vector(*warm_start, n, "warm_start");
    const Operator cov = make_operator(cov_spec, n);

    rebalancing::SeparableTerms terms;
    terms.n = n;
    terms.current = current.data();
    terms.buy = buy.data();
    terms.sell = sell.data();
    terms.lower = lower.data();
    terms.upper = upper.data();
    const double* warm = warm_start ? warm_start->data() : nullptr;
    // Sell curves: (start (n + 1,), cost (T,), kink (T,)), compressed by asset (problem.hpp).
    SizeArray curve_start;
    Array curve_cost, curve_kink;
    if (curves) {
        curve_start = (*curves)[0].cast<SizeArray>();
        curve_cost = (*curves)[1].cast<Array>();
        curve_kink = (*curves)[2].cast<Array>();
        if (curve_start.ndim() != 1 || static_cast<std::size_t>(curve_start.shape(0)) != n + 1)
            throw std::invalid_argument("sell curve starts must have shape (n + 1,)");
        const std::size_t* start = curve_start.data();
        const auto count = static_cast<std::size_t>(curve_cost.size());
        if (start[0] != 0 || start[n] != count || curve_cost.ndim() != 1 ||
            curve_kink.ndim() != 1 || static_cast<std::size_t>(curve_kink.size()) != count)
            throw std::invalid_argument("sell curve arrays are inconsistent");
        for (std::size_t i = 0; i < n; ++i)
            if (start[i + 1] < start[i])
                throw std::invalid_argument("sell curve starts must be non-decreasing");
        terms.curve_start = start;
        terms.curve_cost = curve_cost.data();
        terms.curve_kink = curve_kink.data();
    }
    rebalancing::Result res;
    {
        ReleaseGil release;
        rebalancing::Solver solver(*cov.op, target.data(), lam, terms, settings);
        res = solver.solve(warm);
    }
    py::dict out;
    out["weights"] = Array(static_cast<py::ssize_t>(n), res.weights.data());
    out["objective"] = res.objective;
    out["risk"] = res.risk;
    out["cost"] = res.cost;
    out["gap"] = res.gap;
    out["nu"] = res.nu;
    out["status"] = rebalancing::status_name(res.status);
    out["iterations"] = res.iterations;
    out["polish_rounds"] = res.polish_rounds;
    out["largest_system"] = res.largest_system;
    out["gradient_steps"] = res.gradient_steps;
    out["matvecs"] = res.matvecs;
    out["column_updates"] = res.column_updates;
    out["solve_time"] = res.solve_time;
    return out;
}

/// Stride of a per-asset batch input: 0 if shared (n,), n if one row per account (m, n).
std::size_t batch_stride(const Array& a, std::size_t m, std::size_t n, const char* name) {
    if (a.ndim() == 1 && static_cast<std::size_t>(a.shape(0)) == n) return 0;
    if (a.ndim() == 2 && static_cast<std::size_t>(a.shape(0)) == m &&
        static_cast<std::size_t>(a.shape(1)) == n)
        return n;
    throw std::invalid_argument(std::string(name) + " must have shape (n,) or (m, n)");
}

py::dict solve_batch(const py::tuple& cov_spec, const Array& current, const Array& target,
                     const Array& buy, const Array& sell, const Array& lower, const Array& upper,
                     const Array& lam, const rebalancing::Settings& settings,
                     const std::optional<Array>& warm_start, std::size_t n_threads) {
    if (current.ndim() != 2) throw std::invalid_argument("current must have shape (m, n)");
    rebalancing::BatchInputs in;
    in.m = static_cast<std::size_t>(current.shape(0));
    in.n = static_cast<std::size_t>(current.shape(1));
    const std::size_t m = in.m, n = in.n;
    in.current = current.data();
    in.target = target.data();
    in.target_stride = batch_stride(target, m, n, "target");
    in.buy = buy.data();
    in.buy_stride = batch_stride(buy, m, n, "buy_costs");
    in.sell = sell.data();
    in.sell_stride = batch_stride(sell, m, n, "sell_costs");
    in.lower = lower.data();
    in.lower_stride = batch_stride(lower, m, n, "lower");
    in.upper = upper.data();
    in.upper_stride = batch_stride(upper, m, n, "upper");
    if (lam.ndim() != 1 || static_cast<std::size_t>(lam.shape(0)) != m)
        throw std::invalid_argument("lam must have shape (m,)");
    in.lam = lam.data();
    if (warm_start) {
        if (warm_start->ndim() != 2 || static_cast<std::size_t>(warm_start->shape(0)) != m ||
            static_cast<std::size_t>(warm_start->shape(1)) != n)
            throw std::invalid_argument("warm_start must have shape (m, n)");
        in.warm_start = warm_start->data();
    }
    const Operator cov = make_operator(cov_spec, n);
    const auto ms = static_cast<py::ssize_t>(m), ns = static_cast<py::ssize_t>(n);
    Array weights(std::vector<py::ssize_t>{ms, ns}), objective(ms), risk(ms), cost(ms), gap(ms),
        nu(ms), solve_time(ms);
    py::array_t<std::int64_t> iterations(ms);
    py::array_t<std::uint8_t> status(ms);
    std::fill(weights.mutable_data(), weights.mutable_data() + m * n, NAN);
    rebalancing::BatchOutputs out{
        weights.mutable_data(),    objective.mutable_data(),  risk.mutable_data(),
        cost.mutable_data(),       gap.mutable_data(),        nu.mutable_data(),
        solve_time.mutable_data(), iterations.mutable_data(), status.mutable_data()};
    std::vector<std::string> errors;
    {
        ReleaseGil release;
        errors = rebalancing::solve_batch(*cov.op, in, settings, n_threads, out);
    }
    py::list error_list;
    for (const std::string& e : errors) error_list.append(e);
    py::dict result;
    result["weights"] = weights;
    result["objective"] = objective;
    result["risk"] = risk;
    result["cost"] = cost;
    result["gap"] = gap;
    result["nu"] = nu;
    result["solve_time"] = solve_time;
    result["iterations"] = iterations;
    result["status"] = status;
    result["errors"] = error_list;
    return result;
}

py::tuple factor_stats(const Array& loadings, const Array& factor_cov, const Array& specific) {
    if (loadings.ndim() != 2) throw std::invalid_argument("loadings must have shape (n, k)");
    const auto n = static_cast<std::size_t>(loadings.shape(0));
    const auto k = static_cast<std::size_t>(loadings.shape(1));
    if (factor_cov.ndim() != 2 || static_cast<std::size_t>(factor_cov.shape(0)) != k ||
        static_cast<std::size_t>(factor_cov.shape(1)) != k)
        throw std::invalid_argument("factor_cov must have shape (k, k)");
    require_vector(specific, n, "specific_var");
    rebalancing::FactorStats s;
    {
        ReleaseGil release;
        s = rebalancing::factor_stats(loadings.data(), factor_cov.data(), specific.data(), n, k);
    }
    return py::make_tuple(s.max_abs, s.eigenvalue_bound);
}

/// A band rule from an optional 0-d (scalar) or (n,) array.
void set_band(const std::optional<Array>& band, std::size_t n, const char* name,
              rebalancing::BandKind& kind, double& scalar, const double*& per_asset) {
    if (!band) return;
    if (band->ndim() == 0) {
        kind = rebalancing::BandKind::scalar;
        scalar = *band->data();
    } else {
        require_vector(*band, n, name);
        kind = rebalancing::BandKind::per_asset;
        per_asset = band->data();
    }
}

py::tuple check_drift(const Array& current, const Array& target,
                      const std::optional<Array>& abs_band, const std::optional<Array>& rel_band,
                      const std::optional<IntArray>& group, std::size_t n_groups,
                      std::size_t n_threads) {
    if (current.ndim() != 2) throw std::invalid_argument("current must have shape (m, n)");
    rebalancing::DriftBatch batch;
    batch.m = static_cast<std::size_t>(current.shape(0));
    batch.n = static_cast<std::size_t>(current.shape(1));
    batch.current = current.data();
    batch.target = target.data();
    if (target.ndim() == 1 && static_cast<std::size_t>(target.shape(0)) == batch.n) {
        batch.shared_target = true;
    } else if (target.ndim() == 2 && static_cast<std::size_t>(target.shape(0)) == batch.m &&
               static_cast<std::size_t>(target.shape(1)) == batch.n) {
        batch.shared_target = false;
    } else {
        throw std::invalid_argument("target must have shape (n,) or (m, n)");
    }
    rebalancing::BandRule rule;
    set_band(abs_band, batch.n, "abs_band", rule.abs_kind, rule.abs_scalar, rule.abs);
    set_band(rel_band, batch.n, "rel_band", rule.rel_kind, rule.rel_scalar, rule.rel);
    if (group) {
        if (group->ndim() != 1 || static_cast<std::size_t>(group->shape(0)) != batch.n)
            throw std::invalid_argument("groups must have shape (n,)");
        batch.group = group->data();
        batch.n_groups = n_groups;
    }
    const auto m = static_cast<py::ssize_t>(batch.m);
    Array max_drift(m), max_excess(m);
    Array current_sum(m), drift_sum(m);
    py::array_t<std::int64_t> breaches(m), nonfinite(m);
    Array group_drift(std::vector<py::ssize_t>{m, static_cast<py::ssize_t>(group ? n_groups : 0)});
    std::vector<rebalancing::DriftSummary> summary(batch.m);
    {
        ReleaseGil release;
        rebalancing::check_drift(batch, rule, n_threads, summary.data(),
                                 group ? group_drift.mutable_data() : nullptr);
    }
    for (std::size_t r = 0; r < batch.m; ++r) {
        max_drift.mutable_data()[r] = summary[r].max_drift;
        max_excess.mutable_data()[r] = summary[r].max_excess;
        breaches.mutable_data()[r] = summary[r].breaches;
        nonfinite.mutable_data()[r] = summary[r].nonfinite;
        current_sum.mutable_data()[r] = summary[r].current_sum;
        drift_sum.mutable_data()[r] = summary[r].drift_sum;
    }
    return py::make_tuple(max_drift, max_excess, breaches, group_drift, nonfinite, current_sum,
                          drift_sum);
}

using ByteArray = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;

/// A backtest with the arrays it views kept alive. Inputs are validated by the Python layer;
/// shapes are checked again here because a wrong shape would read out of bounds.
class PyBacktest {
   public:
    PyBacktest(Array returns, Array target, ByteArray check, std::optional<Array> band,
               Array linear_rates, std::optional<Array> impact, const Array& initial, double nav0,
               bool stop_at_events, std::optional<Array> flows, bool flows_to_underweight)
        : returns_(std::move(returns)),
          target_(std::move(target)),
          check_(std::move(check)),
          band_(std::move(band)),
          linear_(std::move(linear_rates)),
          impact_(std::move(impact)),
          flows_(std::move(flows)) {
        if (returns_.ndim() != 2) throw std::invalid_argument("returns must be (periods, assets)");
        const auto periods = static_cast<std::size_t>(returns_.shape(0));
        const auto n = static_cast<std::size_t>(returns_.shape(1));
        if (n == 0) throw std::invalid_argument("returns must have at least one asset");
        require_vector(target_, n, "target");
        require_vector(initial, n, "initial");
        if (check_.ndim() != 1 || static_cast<std::size_t>(check_.shape(0)) != periods)
            throw std::invalid_argument("check must have shape (periods,)");
        if (band_) require_vector(*band_, n, "band");
        if (linear_.ndim() != 2 || static_cast<std::size_t>(linear_.shape(1)) != n)
            throw std::invalid_argument("linear_rates must be (components, assets)");
        if (impact_ &&
            (impact_->ndim() != 2 || static_cast<std::size_t>(impact_->shape(0)) != periods ||
             static_cast<std::size_t>(impact_->shape(1)) != n))
            throw std::invalid_argument("impact must be (periods, assets)");
        if (flows_) require_vector(*flows_, periods, "flows");
        if (!(nav0 > 0.0) || !std::isfinite(nav0))
            throw std::invalid_argument("initial_nav must be a positive finite number");
        rebalancing::BacktestData data;
        data.returns = returns_.data();
        data.periods = periods;
        data.assets = n;
        data.target = target_.data();
        data.check = check_.data();
        data.band = band_ ? band_->data() : nullptr;
        data.linear_rates = linear_.data();
        data.linear_components = static_cast<std::size_t>(linear_.shape(0));
        data.impact = impact_ ? impact_->data() : nullptr;
        data.flows = flows_ ? flows_->data() : nullptr;
        data.flows_to_underweight = flows_to_underweight;
        const auto mode =
            stop_at_events ? rebalancing::OnEvent::stop : rebalancing::OnEvent::trade_to_target;
        core_ = std::make_unique<rebalancing::Backtest>(data, initial.data(), nav0, mode);
    }

    long run() {
        ReleaseGil release;
        return core_->run();
    }

    Array weights() const {
        const auto& w = core_->weights();
        return Array(static_cast<py::ssize_t>(w.size()), w.data());
    }

    void trade(const Array& new_weights) {
        require_vector(new_weights, core_->weights().size(), "new_weights");
        core_->trade(new_weights.data());
    }

    py::dict results() const {
        const auto& r = core_->record();
        const auto periods = static_cast<py::ssize_t>(r.nav.size());
        const auto n = static_cast<py::ssize_t>(core_->weights().size());
        const auto k = static_cast<py::ssize_t>(linear_.shape(0));
        py::dict out;
        out["gross_return"] = Array(periods, r.gross_return.data());
        out["turnover"] = Array(periods, r.turnover.data());
        out["linear_cost"] = Array({periods, k}, r.linear_cost.data());
        out["impact_cost"] = Array(periods, r.impact_cost.data());
        out["nav"] = Array(periods, r.nav.data());
        out["max_drift"] = Array(periods, r.max_drift.data());
        out["traded"] = py::array_t<bool>(periods, reinterpret_cast<const bool*>(r.traded.data()));
        out["weights"] = Array({periods, n}, r.weights.data());
        out["flow"] = Array(periods, r.flow.data());
        if (!r.pre_trade.empty()) out["pre_trade"] = Array({periods, n}, r.pre_trade.data());
        return out;
    }

   private:
    Array returns_, target_;
    ByteArray check_;
    std::optional<Array> band_;
    Array linear_;
    std::optional<Array> impact_, flows_;
    std::unique_ptr<rebalancing::Backtest> core_;
};

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "Compiled core of rebalancing: the certified cost-aware solver.";
    py::class_<rebalancing::Settings>(
        m, "Settings", "The solver's settings (built and validated by rebalancing.Settings).")
        .def(py::init([](double rel_tol, double abs_tol, std::size_t max_iter, bool polish) {
                 if (!(rel_tol > 0.0) || !std::isfinite(rel_tol))
                     throw std::invalid_argument("tol must be finite and > 0");
                 if (!(abs_tol >= 0.0) || !std::isfinite(abs_tol))
                     throw std::invalid_argument("abs_tol must be finite and >= 0");
                 if (max_iter < 1) throw std::invalid_argument("max_iter must be >= 1");
                 rebalancing::Settings s;
                 s.rel_tol = rel_tol;
                 s.abs_tol = abs_tol;
                 s.max_iter = max_iter;
                 s.polish = polish;
                 return s;
             }),
             py::arg("rel_tol"), py::arg("abs_tol"), py::arg("max_iter"), py::arg("polish"))
        .def_readonly("rel_tol", &rebalancing::Settings::rel_tol)
        .def_readonly("abs_tol", &rebalancing::Settings::abs_tol)
        .def_readonly("max_iter", &rebalancing::Settings::max_iter)
        .def_readonly("polish", &rebalancing::Settings::polish);
    py::list names;
    for (std::size_t code = 0; code < rebalancing::kStatusCount; ++code)
        names.append(rebalancing::status_name(static_cast<rebalancing::Status>(code)));
    m.attr("STATUS_NAMES") = py::tuple(names);
    m.def("solve", &solve, py::arg("cov_spec"), py::arg("current"), py::arg("target"),
          py::arg("buy"), py::arg("sell"), py::arg("lower"), py::arg("upper"), py::arg("lam"),
          py::arg("settings"), py::arg("warm_start"), py::arg("curves") = py::none(),
          "Solve one problem; inputs are validated by the Python layer (cov_spec describes the "
          "covariance operator, see make_operator).");
    m.def("solve_batch", &solve_batch, py::arg("cov_spec"), py::arg("current"), py::arg("target"),
          py::arg("buy"), py::arg("sell"), py::arg("lower"), py::arg("upper"), py::arg("lam"),
          py::arg("settings"), py::arg("warm_start"), py::arg("n_threads"),
          "Solve m accounts sharing one covariance, on n_threads threads; per-account errors "
          "are returned, not raised.");
    m.def("factor_stats", &factor_stats, py::arg("loadings"), py::arg("factor_cov"),
          py::arg("specific_var"), "(max_i Sigma_ii, a bound on the spectral norm of Sigma).");
    m.def(
        "dense_stats",
        [](const Array& cov) {
            if (cov.ndim() != 2 || cov.shape(0) != cov.shape(1))
                throw std::invalid_argument("cov must be a square matrix");
            const auto n = static_cast<std::size_t>(cov.shape(0));
            rebalancing::DenseStats s;
            {
                ReleaseGil release;
                s = rebalancing::dense_stats(cov.data(), n);
            }
            return py::make_tuple(s.max_abs, s.eigenvalue_bound);
        },
        py::arg("cov"), "(max|cov_ij|, a bound on the spectral norm of cov), in one pass each.");
    m.def(
        "max_asymmetry",
        [](const Array& cov) {
            if (cov.ndim() != 2 || cov.shape(0) != cov.shape(1))
                throw std::invalid_argument("cov must be a square matrix");
            const auto n = static_cast<std::size_t>(cov.shape(0));
            double out;
            {
                ReleaseGil release;
                out = rebalancing::max_asymmetry(cov.data(), n);
            }
            return out;
        },
        py::arg("cov"), "max |cov_ij - cov_ji|, tile by tile (no n x n temporary).");
    m.def(
        "fingerprint",
        [](const py::buffer& data, const py::bytes& secret) {
            const std::string key = secret;
            if (key.size() != rebalancing::kXxh3SecretSize)
                throw std::invalid_argument("fingerprint needs a secret of " +
                                            std::to_string(rebalancing::kXxh3SecretSize) +
                                            " bytes");
            const py::buffer_info info = data.request();
            // Hashing the bytes in memory order means nothing unless that order is the array's:
            // a strided view would hash bytes that are not its elements.
            auto expected = info.itemsize;
            for (auto d = info.ndim; d-- > 0;) {
                if (info.shape[d] != 1 && info.strides[d] != expected)
                    throw std::invalid_argument("fingerprint needs a C-contiguous buffer");
                expected *= info.shape[d];
            }
            const auto bytes = static_cast<std::size_t>(info.size * info.itemsize);
            std::uint64_t h;
            {
                ReleaseGil release;
                h = rebalancing::fingerprint(info.ptr, bytes,
                                             reinterpret_cast<const unsigned char*>(key.data()));
            }
            return h;
        },
        py::arg("data"), py::arg("secret"),
        "XXH3-64 (XXH64 up to 240 bytes) of a C-contiguous buffer's bytes under a 192-byte "
        "secret, in one pass with the GIL released: detects a matrix changed in place since it "
        "was verified.");
    m.def(
        "max_drift",
        [](const Array& current, const Array& target) {
            if (current.ndim() != 1 || target.ndim() != 1 || current.shape(0) != target.shape(0))
                throw std::invalid_argument("current and target must be (n,) arrays of one length");
            const auto n = static_cast<std::size_t>(current.shape(0));
            rebalancing::DriftSummary s;
            {
                ReleaseGil release;
                const rebalancing::BandRule none;
                s = rebalancing::detail::scan_one(current.data(), target.data(), n, none);
            }
            return py::make_tuple(s.max_drift, s.nonfinite, s.current_sum, s.drift_sum);
        },
        py::arg("current"), py::arg("target"),
        "(max_i |current_i - target_i|, number of non-finite differences, sum_i current_i, "
        "sum_i (current_i - target_i)) of one portfolio, single-threaded: the lean path of "
        "threshold_rebalance.");
    m.def("check_drift", &check_drift, py::arg("current"), py::arg("target"),
          py::arg("abs_band") = py::none(), py::arg("rel_band") = py::none(),
          py::arg("group") = py::none(), py::arg("n_groups") = 0, py::arg("n_threads") = 0,
          "Fused drift reductions per portfolio: (max_drift, max_excess, breaches, group_drift, "
          "nonfinite, current_sum, drift_sum). "
          "Inputs are validated by the Python layer.");
    py::class_<PyBacktest>(m, "Backtest",
                           "The inner loop of a backtest (see backtest.hpp for the conventions).")
        .def(py::init<Array, Array, ByteArray, std::optional<Array>, Array, std::optional<Array>,
                      const Array&, double, bool, std::optional<Array>, bool>(),
             py::arg("returns"), py::arg("target"), py::arg("check"), py::arg("band"),
             py::arg("linear_rates"), py::arg("impact"), py::arg("initial"), py::arg("nav0"),
             py::arg("stop_at_events"), py::arg("flows") = py::none(),
             py::arg("flows_to_underweight") = false)
        .def("run", &PyBacktest::run,
             "Advance to the next event; its period, or -1 at the end of the data.")
        .def("weights", &PyBacktest::weights, "The current (pre-trade at an event) weights.")
        .def("trade", &PyBacktest::trade, py::arg("new_weights"),
             "Trade to new_weights at the current event.")
        .def("results", &PyBacktest::results, "Per-period records, as fresh arrays.");
}
