// The only file that knows about Python: check shapes, release the GIL, compute, build results.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "rebalancing/covariance.hpp"
#include "rebalancing/drift.hpp"
#include "rebalancing/prox.hpp"
#include "rebalancing/solver.hpp"

namespace py = pybind11;
using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

namespace {

void require_vector(const Array& a, std::size_t n, const char* name) {
    if (a.ndim() != 1 || static_cast<std::size_t>(a.shape(0)) != n)
        throw std::invalid_argument(std::string(name) + " must have shape (" + std::to_string(n) +
                                    ",)");
}

py::dict solve_dense(const Array& cov, const Array& current, const Array& target, const Array& buy,
                     const Array& sell, const Array& lower, const Array& upper, double lam,
                     double rel_tol, double abs_tol, std::size_t max_iter, bool polish,
                     const std::optional<Array>& warm_start, double cov_max_abs,
                     double cov_eigenvalue_bound) {
    if (current.ndim() != 1) throw std::invalid_argument("current must be one-dimensional");
    const auto n = static_cast<std::size_t>(current.shape(0));
    if (n == 0) throw std::invalid_argument("current must not be empty");
    if (cov.ndim() != 2 || static_cast<std::size_t>(cov.shape(0)) != n ||
        static_cast<std::size_t>(cov.shape(1)) != n)
        throw std::invalid_argument("cov must have shape (" + std::to_string(n) + ", " +
                                    std::to_string(n) + ")");
    require_vector(target, n, "target");
    require_vector(buy, n, "buy_costs");
    require_vector(sell, n, "sell_costs");
    require_vector(lower, n, "lower");
    require_vector(upper, n, "upper");
    if (warm_start) require_vector(*warm_start, n, "warm_start");

    rebalancing::SeparableTerms terms;
    terms.n = n;
    terms.current = current.data();
    terms.buy = buy.data();
    terms.sell = sell.data();
    terms.lower = lower.data();
    terms.upper = upper.data();
    rebalancing::Settings settings;
    settings.rel_tol = rel_tol;
    settings.abs_tol = abs_tol;
    settings.max_iter = max_iter;
    settings.polish = polish;
    const double* warm = warm_start ? warm_start->data() : nullptr;

    if (!(cov_max_abs >= 0.0) || !(cov_eigenvalue_bound >= 0.0))
        throw std::invalid_argument("cov_max_abs and cov_eigenvalue_bound must be >= 0");
    rebalancing::DenseCovariance op(cov.data(), n, {cov_max_abs, cov_eigenvalue_bound});
    rebalancing::Result res;
    {
        py::gil_scoped_release release;
        rebalancing::Solver solver(op, target.data(), lam, terms, settings);
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
    py::array_t<std::int64_t> breaches(m), nonfinite(m);
    Array group_drift(std::vector<py::ssize_t>{m, static_cast<py::ssize_t>(group ? n_groups : 0)});
    std::vector<rebalancing::DriftSummary> summary(batch.m);
    {
        py::gil_scoped_release release;
        rebalancing::check_drift(batch, rule, n_threads, summary.data(),
                                 group ? group_drift.mutable_data() : nullptr);
    }
    for (std::size_t r = 0; r < batch.m; ++r) {
        max_drift.mutable_data()[r] = summary[r].max_drift;
        max_excess.mutable_data()[r] = summary[r].max_excess;
        breaches.mutable_data()[r] = summary[r].breaches;
        nonfinite.mutable_data()[r] = summary[r].nonfinite;
    }
    return py::make_tuple(max_drift, max_excess, breaches, group_drift, nonfinite);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "Compiled core of rebalancing: the certified cost-aware solver.";
    m.def("solve_dense", &solve_dense, py::arg("cov"), py::arg("current"), py::arg("target"),
          py::arg("buy"), py::arg("sell"), py::arg("lower"), py::arg("upper"), py::arg("lam"),
          py::arg("rel_tol"), py::arg("abs_tol"), py::arg("max_iter"), py::arg("polish"),
          py::arg("warm_start"), py::arg("cov_max_abs"), py::arg("cov_eigenvalue_bound"),
          "Solve one dense-covariance problem; inputs are validated by the Python layer, and "
          "cov_max_abs, cov_eigenvalue_bound come from dense_stats(cov).");
    m.def(
        "dense_stats",
        [](const Array& cov) {
            if (cov.ndim() != 2 || cov.shape(0) != cov.shape(1))
                throw std::invalid_argument("cov must be a square matrix");
            const auto n = static_cast<std::size_t>(cov.shape(0));
            rebalancing::DenseStats s;
            {
                py::gil_scoped_release release;
                s = rebalancing::dense_stats(cov.data(), n);
            }
            return py::make_tuple(s.max_abs, s.eigenvalue_bound);
        },
        py::arg("cov"), "(max|cov_ij|, a bound on the spectral norm of cov), in one pass each.");
    m.def(
        "max_drift",
        [](const Array& current, const Array& target) {
            if (current.ndim() != 1 || target.ndim() != 1 || current.shape(0) != target.shape(0))
                throw std::invalid_argument("current and target must be (n,) arrays of one length");
            const auto n = static_cast<std::size_t>(current.shape(0));
            rebalancing::DriftSummary s;
            {
                py::gil_scoped_release release;
                const rebalancing::BandRule none;
                s = rebalancing::detail::select_scan(none)(current.data(), target.data(), 0, n,
                                                           none);
            }
            return py::make_tuple(s.max_drift, s.nonfinite);
        },
        py::arg("current"), py::arg("target"),
        "(max_i |current_i - target_i|, number of non-finite differences) of one portfolio, "
        "single-threaded: the lean path of threshold_rebalance.");
    m.def("check_drift", &check_drift, py::arg("current"), py::arg("target"),
          py::arg("abs_band") = py::none(), py::arg("rel_band") = py::none(),
          py::arg("group") = py::none(), py::arg("n_groups") = 0, py::arg("n_threads") = 0,
          "Fused drift reductions per portfolio: (max_drift, max_excess, breaches, group_drift, "
          "nonfinite). "
          "Inputs are validated by the Python layer.");
}
