"""optimal_rebalance: the drop-in for the textbook function (same signature and return type)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import rebalancing as rb
from _checks import assert_feasible, assert_not_worse
from _problems import Problem, examples, problems
from rebalancing.reference import textbook_optimal_rebalance


def test_signature_matches_textbook(small_problem: dict) -> None:
    sp = small_problem
    args = (sp["current"], sp["target"], sp["cov"], sp["costs"])
    ours = rb.optimal_rebalance(*args)
    theirs = textbook_optimal_rebalance(*args)
    assert type(ours) is type(theirs) is np.ndarray
    assert ours.shape == theirs.shape == (4,)
    assert ours.dtype == theirs.dtype == np.float64
    # keyword names are the textbook's
    kw = rb.optimal_rebalance(
        current_w=sp["current"], target_w=sp["target"], cov=sp["cov"], costs=sp["costs"], lam=1.0
    )
    np.testing.assert_array_equal(kw, ours)


def test_equals_solve_weights(small_problem: dict) -> None:
    sp = small_problem
    for lam in (0.0, 1.0, 10.0):
        w = rb.optimal_rebalance(sp["current"], sp["target"], sp["cov"], sp["costs"], lam)
        res = rb.solve(sp["current"], sp["target"], sp["cov"], sp["costs"], lam)
        np.testing.assert_array_equal(w, res.weights)


def test_lam_defaults_to_one(small_problem: dict) -> None:
    sp = small_problem
    a = rb.optimal_rebalance(sp["current"], sp["target"], sp["cov"], sp["costs"])
    b = rb.optimal_rebalance(sp["current"], sp["target"], sp["cov"], sp["costs"], 1.0)
    np.testing.assert_array_equal(a, b)


def test_accepts_lists_and_scalar_costs(small_problem: dict) -> None:
    sp = small_problem
    w = rb.optimal_rebalance(
        sp["current"].tolist(), sp["target"].tolist(), sp["cov"].tolist(), 0.001
    )
    assert isinstance(w, np.ndarray)
    expected = rb.solve(sp["current"], sp["target"], sp["cov"], 0.001).weights
    np.testing.assert_array_equal(w, expected)


def test_bad_input_raises_like_solve(small_problem: dict) -> None:
    sp = small_problem
    with pytest.raises(ValueError, match="costs"):
        rb.optimal_rebalance(sp["current"], sp["target"], sp["cov"], -0.001)
    with pytest.raises(ValueError, match="cov"):
        rb.optimal_rebalance(sp["current"], sp["target"], np.eye(3), 0.001)


def test_uncertified_answer_raises_runtime_error() -> None:
    # Documented: RuntimeError instead of an uncertified answer. Found with a problem whose
    # certificate cannot close (objective overflow would be another); here lam = 1e20 makes the
    # gradient rounding dominate every tolerance, so either the solver certifies (fine) or it
    # must raise RuntimeError, never return silently.
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    current, target = np.array([0.5, 0.5]), np.array([0.2, 0.8])
    res = rb.solve(current, target, cov, 0.001, 1e20)
    if res.optimal:
        w = rb.optimal_rebalance(current, target, cov, 0.001, 1e20)
        np.testing.assert_array_equal(w, res.weights)
    else:
        with pytest.raises(RuntimeError, match="could not certify"):
            rb.optimal_rebalance(current, target, cov, 0.001, 1e20)


@settings(max_examples=examples(1))
@given(problems(max_n=30, bound_kinds=("long_only",), cost_kinds=("uniform", "sparse_zeros")))
def test_never_worse_than_textbook_and_equal_to_solve(p: Problem) -> None:
    w = rb.optimal_rebalance(p.current, p.target, p.cov, p.buy, p.lam)
    assert isinstance(w, np.ndarray)
    np.testing.assert_array_equal(w, rb.solve(p.current, p.target, p.cov, p.buy, p.lam).weights)
    assert_feasible(p, w)
    tb = np.clip(textbook_optimal_rebalance(p.current, p.target, p.cov, p.buy, p.lam), 0, 1)
    assert_not_worse(p, p.objective(w), p.objective(tb), tb)
