"""The scipy references in ``rebalancing.reference``: the oracles the solver tests rely on.

``objective`` must be exact to rounding; ``reference_solve`` must be feasible and accurate
within its measured accuracy relative to the certified solver; ``textbook_optimal_rebalance``
must keep the textbook's behaviour (ndarray out, SLSQP from the current weights).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rebalancing as rb
from _checks import infeasibility_slack, solve_reference
from _problems import Problem, examples, make_problem
from rebalancing.reference import (
    ReferenceResult,
    objective,
    reference_solve,
    textbook_optimal_rebalance,
)

#: Worst relative excess F(ref) / F(ours) - 1 measured on 150 benchmark-like instances (random
#: current weights, factor or sample covariance, lam in {1, 10, 100}, n = 2..60): 3.7e-14.
#: (With a current portfolio concentrated in one asset it reached 2e-5: not asserted.)
REFERENCE_REL_ACCURACY = 1e-10


# --- objective --------------------------------------------------------------------------------


def test_objective_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    n = 7
    p = make_problem(0, n, "factor", "asymmetric", "boxes", "random", lam=3.0)
    w = rng.dirichlet(np.ones(n))
    d = w - p.target
    x = w - p.current
    expected = 3.0 * d @ p.cov @ d + p.buy @ np.maximum(x, 0) + p.sell @ np.maximum(-x, 0)
    got = objective(w, p.current, p.target, p.cov, 0.0, 3.0, buy_costs=p.buy, sell_costs=p.sell)
    assert got == pytest.approx(expected, rel=1e-14)


def test_objective_symmetric_costs_is_absolute_value() -> None:
    w = np.array([0.5, 0.3, 0.2])
    current = np.array([0.2, 0.3, 0.5])
    f = objective(w, current, current, np.zeros((3, 3)), 0.01)
    assert f == pytest.approx(0.01 * 0.6, rel=1e-15)


def test_objective_is_zero_at_target_without_trade() -> None:
    t = np.array([0.25, 0.75])
    assert objective(t, t, t, np.eye(2), 0.01, 5.0) == 0.0


def test_objective_no_cancellation_near_target() -> None:
    # d = 1e-9: the expansion w'Sw - 2w'St + t'St would lose every digit; d'Sd must not.
    t = np.array([0.5, 0.5])
    w = t + np.array([1e-9, -1e-9])
    f = objective(w, w, t, np.eye(2), 0.0)
    assert f == pytest.approx(2e-18, rel=1e-6)


def test_objective_rejects_wrong_shapes() -> None:
    with pytest.raises(ValueError, match="weights"):
        objective(np.ones(3) / 3, np.ones(2) / 2, np.ones(2) / 2, np.eye(2), 0.0)
    with pytest.raises(ValueError, match="cov"):
        objective(np.ones(2) / 2, np.ones(2) / 2, np.ones(2) / 2, np.eye(3), 0.0)


# --- textbook ---------------------------------------------------------------------------------


def test_textbook_returns_ndarray(small_problem: dict) -> None:
    sp = small_problem
    w = textbook_optimal_rebalance(sp["current"], sp["target"], sp["cov"], sp["costs"])
    assert isinstance(w, np.ndarray)
    assert w.dtype == np.float64
    assert w.shape == (4,)
    assert abs(w.sum() - 1.0) < 1e-6
    assert np.all(w >= -1e-9)
    assert np.all(w <= 1 + 1e-9)


def test_textbook_is_not_better_than_certified_optimum(small_problem: dict) -> None:
    sp = small_problem
    args = (sp["current"], sp["target"], sp["cov"], sp["costs"], 10.0)
    tb = np.clip(textbook_optimal_rebalance(*args), 0.0, 1.0)
    res = rb.solve(*args)
    assert res.optimal
    f_tb = objective(tb, *args[:4], 10.0)
    assert res.objective <= f_tb + 1e-12


# --- reference_solve --------------------------------------------------------------------------


def test_reference_result_fields(small_problem: dict) -> None:
    sp = small_problem
    ref = reference_solve(sp["current"], sp["target"], sp["cov"], sp["costs"], 10.0)
    assert isinstance(ref, ReferenceResult)
    assert ref.success
    assert isinstance(ref.message, str)
    assert ref.iterations > 0
    assert ref.objective == objective(
        ref.weights, sp["current"], sp["target"], sp["cov"], sp["costs"], 10.0
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lower": 0.5}, "infeasible"),
        ({"upper": 0.1}, "infeasible"),
        ({"lower": [0.0, 0.6, 0.0, 0.0], "upper": [1.0, 0.5, 1.0, 1.0]}, "lower"),
        ({"buy_costs": -0.01}, "convex"),
        ({"lam": -1.0}, "lam"),
        ({"lam": float("nan")}, "lam"),
    ],
)
def test_reference_rejects_bad_problems(small_problem: dict, kwargs: dict, match: str) -> None:
    sp = small_problem
    args = {"lam": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        reference_solve(sp["current"], sp["target"], sp["cov"], sp["costs"], **args)


def test_reference_matches_closed_form() -> None:
    # Two assets, symmetric costs: x = 0.3 - c / (lam (s1 + s2)) is traded.
    current, target = np.array([0.8, 0.2]), np.array([0.5, 0.5])
    ref = reference_solve(current, target, np.diag([0.04, 0.09]), 0.002, 1.0)
    x = 0.3 - 0.002 / 0.13
    np.testing.assert_allclose(ref.weights, [0.8 - x, 0.2 + x], rtol=0, atol=1e-12)


def _benchmark_like(seed: int, n: int, cov: str, costs: str, bounds: str, lam: float) -> Problem:
    return make_problem(seed, n, cov, costs, bounds, "random", lam=lam)


@settings(max_examples=examples(1))
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 60),
    cov=st.sampled_from(["factor", "sample"]),
    costs=st.sampled_from(["uniform", "asymmetric", "sparse_zeros"]),
    bounds=st.sampled_from(["long_only", "boxes"]),
    lam=st.sampled_from([1.0, 10.0, 100.0]),
)
def test_reference_is_feasible_and_accurate(
    seed: int, n: int, cov: str, costs: str, bounds: str, lam: float
) -> None:
    """On the benchmark's kind of instance the reference is within its measured accuracy of
    the certified optimum, and exactly feasible."""
    p = _benchmark_like(seed, n, cov, costs, bounds, lam)
    ref = solve_reference(p)
    w = ref.weights
    assert np.all(w >= p.lower)
    assert np.all(w <= p.upper)
    # The budget to 1e-10 here (1e-12 is asserted on a known instance below): this test is
    # about the objective, and F(ref) is corrected for the budget miss by the slack below.
    assert abs(math.fsum(w) - 1.0) <= 1e-10
    res = rb.solve(*p.args(), **p.kwargs())
    assert res.optimal
    f = p.objective(res.weights)
    # F(ours) - gap <= F*, so F(ref) >= F(ours) - gap; and F(ref) is at most slightly above.
    assert ref.objective >= f - res.gap - 1e-12 * abs(f) - infeasibility_slack(p, w)
    assert ref.objective <= f + REFERENCE_REL_ACCURACY * abs(f) + 1e-15, (
        f"{p.label}: reference {ref.objective!r} vs certified {f!r}: relative excess "
        f"{(ref.objective - f) / abs(f):.3e}"
    )


def test_reference_weights_sum_to_one_on_tight_bounds() -> None:
    # Tight boxes and a concentrated current portfolio (3 assets, lam = 1000): the reference's
    # weights missed the budget by 4.4e-10 before it settled the residual on one asset.
    cov = np.array(
        [
            [0.1518597272500929, 0.04527172890609138, 0.05170052512714272],
            [0.04527172890609138, 0.1204648895010205, 0.03537831367208163],
            [0.05170052512714272, 0.03537831367208163, 0.09237867331330915],
        ]
    )
    ref = reference_solve(
        np.array([1.0, 0.0, 0.0]),
        np.array([0.3098194495928805, 0.0, 0.6901805504071195]),
        cov,
        0.005,
        1000.0,
        lower=np.array([0.0, 0.6627877578317862, 0.2847234779460654]),
        upper=np.array([0.009301988803679941, 0.7015624836189683, 0.3131146307573874]),
    )
    assert abs(math.fsum(ref.weights) - 1.0) <= 1e-12, math.fsum(ref.weights) - 1.0


def test_reference_does_not_report_success_far_from_optimum() -> None:
    # 5 assets, diagonal cov with one zero variance, asymmetric costs, two pinned assets and a
    # current portfolio entirely in the last asset. The certified optimum (also found by
    # Clarabel) is 0.0114280; the reference reported success at 0.0121535 (6 % above) before it
    # restarted SLSQP from its own answer and from a second start.
    current = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    target = np.array([0.1945960344142861, 0.4500280977607905, 0.042020878615344225])
    target = np.append(target, [0.20505557450014747, 0.10829941470943177])
    cov = np.diag([0.0518523917937961, 0.0482822291704073, 0.028133458641930818])
    cov = np.pad(cov, (0, 2))
    cov[3, 3] = 0.029376394399734322
    buy = np.array([0.006132116376287196, 0.007010732159311632, 0.0, 0.0024627713615825364])
    buy = np.append(buy, 0.00460356780962864)
    sell = np.array([0.005531403199088184, 0.0069756558497737955, 0.002260520672630628])
    sell = np.append(sell, [0.0031960867933159944, 0.0])
    lower = np.array([0.26606379981174083, 0.05341884437624186, 0.24056219397740575])
    lower = np.append(lower, [0.005984746311800978, 0.17342761355607053])
    upper = np.array([0.26606379981174083, 0.05341884437624186, 0.5422481945313531])
    upper = np.append(upper, [0.5819400834037237, 0.7967102399901036])
    p = Problem(current, target, cov, 1.0, buy, sell, lower, upper, label="reference-6%")
    ref = solve_reference(p)
    res = rb.solve(*p.args(), **p.kwargs())
    assert res.optimal
    f = p.objective(res.weights)
    assert f == pytest.approx(0.011427995782152, rel=1e-12)
    assert ref.success
    assert ref.objective <= f + 1e-9 * abs(f), (ref.objective, f)
