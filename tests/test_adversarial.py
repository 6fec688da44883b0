"""Adversarial magnitudes: a result or a clear error, never a crash; inputs are never mutated.

A returned result must always be usable: finite, feasible weights and a finite objective and
gap (an objective that overflowed to inf cannot be "optimal"). Errors must be ValueError or
TypeError. A segfault would kill the test process, so simply running these is the crash test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rebalancing as rb
from _problems import examples, make_cov, make_problem
from rebalancing import _core

N = 8
_RNG = np.random.default_rng(0)
BASE_COV = make_cov(_RNG, N, "factor") + np.diag(np.full(N, 0.002))
CURRENT = _RNG.dirichlet(np.ones(N))
TARGET = _RNG.dirichlet(np.ones(N))


def _check_result_or_clear_error(*args: object, **kwargs: object) -> rb.RebalanceResult | None:
    """Run solve; a result must be sane, an exception must be ValueError or TypeError."""
    try:
        res = rb.solve(*args, **kwargs)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        assert str(exc), "error without a message"
        return None
    w = np.asarray(res.weights)
    lower = np.broadcast_to(np.asarray(kwargs.get("lower", 0.0), dtype=float), w.shape)
    upper = np.broadcast_to(np.asarray(kwargs.get("upper", 1.0), dtype=float), w.shape)
    assert np.all(np.isfinite(w))
    assert np.all(w >= lower)
    assert np.all(w <= upper)
    assert abs(math.fsum(w) - 1.0) <= 1e-12
    assert res.status in ("optimal", "max_iterations")  # never "numerical_error" here
    assert math.isfinite(res.objective), f"objective {res.objective} with status {res.status}"
    assert math.isfinite(res.gap), f"gap {res.gap} with status {res.status}"
    assert res.gap >= 0.0
    return res


@pytest.mark.parametrize(
    "scale", [5e-324, 1e-320, 1e-300, 1e-200, 1e-150, 1e-20, 1e20, 1e150, 1e200, 1e300, 1e307]
)
@pytest.mark.parametrize("lam", [0.0, 1e-300, 1.0])  # overflowing lam: tested separately
@pytest.mark.parametrize("costs", [0.0, 1e-3, 1e6])
def test_extreme_magnitudes_give_a_result_or_a_clear_error(
    scale: float, lam: float, costs: float
) -> None:
    _check_result_or_clear_error(CURRENT, TARGET, BASE_COV * scale, costs, lam)


def test_objective_overflow_is_not_reported_optimal() -> None:
    # lam * Sigma ~ 1e450: F(w) overflows. Certifying "optimal" with F = inf and gap 0 is wrong.
    res = _check_result_or_clear_error(
        np.array([0.5, 0.5]), np.array([0.2, 0.8]), np.eye(2) * 1e150, 0.0, 1e300
    )
    if res is not None:
        assert res.status != "optimal" or math.isfinite(res.objective)


@pytest.mark.parametrize("scale", [1e-200, 1e-170, 1e-100, 1e100, 1e200])
def test_tiny_or_huge_cov_with_compensating_lam_is_solved(scale: float) -> None:
    # (lam / c) * (c * Sigma) is the same problem for any c; the answer must not depend on c.
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    current, target = np.array([0.5, 0.5]), np.array([0.2, 0.8])
    expected = rb.solve(current, target, cov, 0.001, 1.0)
    res = rb.solve(current, target, cov * scale, 0.001, 1.0 / scale)
    assert res.status == "optimal", f"gap {res.gap:.3e}, objective {res.objective:.6e}"
    np.testing.assert_allclose(res.weights, expected.weights, rtol=0, atol=1e-12)
    assert res.objective == pytest.approx(expected.objective, rel=1e-9)


@pytest.mark.parametrize("lam", [1e4, 1e5, 1e6, 1e8])
def test_large_risk_aversion_is_certified(lam: float) -> None:
    # Large lam pins w to the target up to O(cost / lam); the certificate must still close.
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    res = rb.solve(np.array([0.5, 0.5]), np.array([0.2, 0.8]), cov, 0.001, lam)
    assert res.status == "optimal", f"lam={lam:g}: gap {res.gap:.3e}, F {res.objective:.6e}"
    np.testing.assert_allclose(res.weights, [0.2, 0.8], rtol=0, atol=0.1 / lam)


def test_subnormal_and_zero_entries() -> None:
    cov = np.diag([5e-324, 0.0, 1e-310, 0.04])
    _check_result_or_clear_error(np.full(4, 0.25), np.array([0.1, 0.2, 0.3, 0.4]), cov, 1e-320)


@pytest.mark.parametrize("costs", [1e6, 1e100, 1e300])
def test_huge_costs_mean_no_trade(costs: float) -> None:
    # The public API refuses a cost >= 0.05 as a unit slip; the core itself must still handle
    # any magnitude (it is fed directly here, as a policy or a future caller might).
    with pytest.raises(ValueError, match="fraction of the amount traded"):
        rb.solve(CURRENT, TARGET, BASE_COV, costs, 1.0)
    cost = np.full(N, costs)
    raw = _core.solve(
        rb.DenseCovariance(BASE_COV).spec(),
        CURRENT,
        TARGET,
        cost,
        cost,
        np.zeros(N),
        np.ones(N),
        1.0,
        rb.Settings().core,
        None,
    )
    assert raw["status"] == "optimal"
    # CURRENT sums to 1 only up to rounding, which the solver removes: equal up to that.
    np.testing.assert_allclose(raw["weights"], CURRENT, rtol=0, atol=2e-16)


def test_huge_long_short_positions() -> None:
    current = np.array([1e6, -1e6 + 0.5, 0.5])
    target = np.array([1 / 3, 1 / 3, 1 / 3])
    res = _check_result_or_clear_error(
        current, target, np.eye(3) * 0.04, 0.001, 1.0, lower=-2e6, upper=2e6
    )
    assert res is not None


def test_tiny_weights_and_bounds() -> None:
    n = 50
    current = np.full(n, 1.0 / n)
    target = np.full(n, 1.0 / n)
    target[0] += 1e-300
    res = _check_result_or_clear_error(current, target, np.eye(n) * 0.04, 0.0, 1.0)
    assert res is not None


def test_large_n_with_bounds_tight_around_current() -> None:
    n = 400
    p = make_problem(3, n, "factor", "asymmetric", "tight", "inside_bounds", lam=10.0)
    res = _check_result_or_clear_error(*p.args(), **p.kwargs())
    assert res is not None


# --- inputs are not mutated -------------------------------------------------------------------


def _snapshot(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in values.items()}


def _assert_unchanged(values: dict[str, np.ndarray], before: dict[str, np.ndarray]) -> None:
    for key, value in before.items():
        np.testing.assert_array_equal(values[key], value, err_msg=f"{key} was modified")
        assert values[key].dtype == value.dtype


@pytest.mark.parametrize("seed", range(4))
def test_successful_call_does_not_mutate_inputs(seed: int) -> None:
    p = make_problem(seed, 20, "sample", "asymmetric", "boxes", "random", lam=10.0)
    arrays = p.copies()  # C-contiguous float64: handed to C++ without copying
    warm = np.full(20, 0.05)
    arrays["warm"] = warm
    before = _snapshot(arrays)
    rb.solve(
        arrays["current"],
        arrays["target"],
        arrays["cov"],
        lam=p.lam,
        lower=arrays["lower"],
        upper=arrays["upper"],
        buy_costs=arrays["buy"],
        sell_costs=arrays["sell"],
        warm_start=warm,
    )
    _assert_unchanged(arrays, before)


def test_dense_covariance_is_not_mutated_by_solves() -> None:
    cov = BASE_COV.copy()
    sigma = rb.DenseCovariance(cov)
    before = cov.copy()
    for lam in (0.0, 1.0, 1e3):
        rb.solve(CURRENT, TARGET, sigma, 0.001, lam)
    np.testing.assert_array_equal(cov, before)
    np.testing.assert_array_equal(sigma.matrix, before)


_FAILING_CALLS = {
    "nan_cov": {"cov": np.full((N, N), np.nan)},
    "indefinite_cov": {"cov": -BASE_COV},
    "infeasible_bounds": {"lower": 0.5},
    "lower_above_upper": {"lower": 0.6, "upper": 0.5},
    "negative_costs": {"costs": -1.0},
    "bad_lam": {"lam": -1.0},
    "bad_sum": {"target": np.full(N, 1.0)},
    "bad_warm": {"warm_start": np.full(N - 1, 0.1)},
    "bad_max_iter": {"max_iter": 0},
}


@pytest.mark.parametrize("case", sorted(_FAILING_CALLS))
def test_failing_call_does_not_mutate_inputs(case: str) -> None:
    arrays = {
        "current": CURRENT.copy(),
        "target": TARGET.copy(),
        "cov": BASE_COV.copy(),
        "costs": np.full(N, 0.001),
        "lower": np.zeros(N),
        "upper": np.ones(N),
    }
    before = _snapshot(arrays)
    kwargs: dict[str, object] = {**arrays, "lam": 1.0}
    kwargs.update(_FAILING_CALLS[case])
    with pytest.raises((ValueError, TypeError)):
        rb.solve(**kwargs)  # type: ignore[arg-type]
    _assert_unchanged(arrays, before)


@settings(max_examples=examples(1))
@given(
    n=st.integers(1, 12),
    log_scale=st.sampled_from([-300, -150, -8, 0, 8, 150, 300]),
    lam=st.sampled_from([0.0, 1e-300, 1e-12, 1.0, 1e12, 1e300]),
    cost=st.sampled_from([0.0, 1e-300, 1e-4, 1e6, 1e300]),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_extreme_instances(
    n: int, log_scale: int, lam: float, cost: float, seed: int
) -> None:
    p = make_problem(seed, n, "factor", "zero", "long_only", "random", lam=lam)
    arrays = p.copies()
    arrays["cov"] = arrays["cov"] * 10.0**log_scale
    before = _snapshot(arrays)
    _check_result_or_clear_error(arrays["current"], arrays["target"], arrays["cov"], cost, lam)
    _assert_unchanged(arrays, before)
