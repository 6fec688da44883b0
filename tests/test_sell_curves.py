"""Piecewise-linear sell costs (tax lots) in the core solver: against an independent smooth
reformulation solved by scipy, by hand, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, minimize

import rebalancing as rb


def expanded_reference(current, target, cov, buy, curves, lam, lower, upper):
    """The same problem with one variable per buy and per sell tranche (a smooth QP):
    w = w0 + b - sum_t s_t, 0 <= s_t <= amount_t (the last tranche unbounded), b >= 0,
    minimising lam d'Σd + buy'b + sum_t c_t s_t. Filling cheaper tranches first is optimal
    because costs are sorted, so this equals the piecewise-linear problem."""
    n = len(current)
    tranche_asset, tranche_cost, tranche_cap = [], [], []
    for i, tranches in enumerate(curves):
        for k, (amount, cost) in enumerate(tranches):
            tranche_asset.append(i)
            tranche_cost.append(cost)
            tranche_cap.append(amount if k + 1 < len(tranches) else np.inf)
    m = len(tranche_asset)
    sell_matrix = np.zeros((n, m))
    sell_matrix[tranche_asset, np.arange(m)] = 1.0
    c = np.concatenate([buy, tranche_cost])

    def weights(x):
        return current + x[:n] - sell_matrix @ x[n:]

    def f(x):
        d = weights(x) - target
        return lam * d @ cov @ d + c @ x

    def grad(x):
        g = 2 * lam * cov @ (weights(x) - target)
        return np.concatenate([g, -sell_matrix.T @ g]) + c

    jac_w = np.hstack([np.eye(n), -sell_matrix])
    constraints = [
        LinearConstraint(np.ones(n) @ jac_w, 1 - current.sum(), 1 - current.sum()),
        LinearConstraint(jac_w, lower - current, upper - current),
    ]
    best = None
    for x0 in (np.zeros(n + m), np.full(n + m, 1e-3)):
        res = minimize(
            f,
            x0,
            jac=grad,
            method="SLSQP",
            constraints=constraints,
            bounds=Bounds(np.zeros(n + m), np.concatenate([np.full(n, np.inf), tranche_cap])),
            options={"ftol": 1e-15, "maxiter": 2000},
        )
        if best is None or res.fun < best.fun:
            best = res
    return weights(best.x), best.fun


def random_problem(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    current = rng.dirichlet(np.ones(n))
    target = rng.dirichlet(np.ones(n))
    a = rng.normal(0, 0.2, (n, n))
    cov = a @ a.T / n + np.diag(rng.uniform(0.001, 0.01, n))
    buy = rng.uniform(0.0, 0.01, n)
    curves = []
    for i in range(n):
        k = int(rng.integers(1, 4))
        amounts = rng.dirichlet(np.ones(k)) * current[i]
        costs = np.maximum(np.sort(rng.uniform(-0.01, 0.03, k)), -buy[i])
        curves.append([(float(x), float(y)) for x, y in zip(amounts, costs, strict=True)])
    lam = float(rng.choice([0.1, 1.0, 10.0, 100.0]))
    return current, target, cov, buy, curves, lam


@pytest.mark.parametrize("seed", range(40))
def test_matches_the_expanded_reformulation(seed):
    current, target, cov, buy, curves, lam = random_problem(seed)
    n = len(current)
    res = rb.solve(current, target, cov, lam=lam, buy_costs=buy, sell_costs=0.0, sell_curves=curves)
    assert res.status == "optimal"
    _, ref_objective = expanded_reference(
        current, target, cov, buy, curves, lam, np.zeros(n), np.ones(n)
    )
    # The core is certified; the reference is a local solver on a smooth QP.
    assert res.objective <= ref_objective + 1e-9 * max(1.0, abs(ref_objective))
    assert res.objective >= ref_objective - 1e-7 * max(1.0, abs(ref_objective))


def test_one_tranche_equals_a_plain_sell_cost():
    current, target, cov, buy, _, lam = random_problem(3)
    n = len(current)
    sell = np.linspace(0.001, 0.005, n)
    plain = rb.solve(current, target, cov, lam=lam, buy_costs=buy, sell_costs=sell)
    curved = rb.solve(
        current,
        target,
        cov,
        lam=lam,
        buy_costs=buy,
        sell_costs=0.0,
        sell_curves=[[(current[i], sell[i])] for i in range(n)],
    )
    np.testing.assert_allclose(curved.weights, plain.weights, atol=1e-12)
    assert curved.objective == pytest.approx(plain.objective, rel=1e-12)


def test_a_loss_lot_is_sold_first_and_only_as_far_as_it_pays():
    # Two uncorrelated assets at target. Selling A's first lot (0.1 of weight) earns a tax
    # benefit of 0.004 per unit, buying B costs 0.001: a net gain of 0.003 per unit, against the
    # tracking risk lam (x² σA² + x² σB²). The rest of A is a gain lot taxed at 0.02. The
    # benefit exceeds A's own buy cost, so A must be sell-only (upper = current).
    cov = np.diag([0.04, 0.04])
    current = target = np.array([0.5, 0.5])
    curves = {0: [(0.1, -0.004), (0.4, 0.02)]}
    costs = {"buy_costs": 0.001, "sell_costs": 0.001, "sell_curves": curves}
    res = rb.solve(current, target, cov, lam=1.0, upper=[0.5, 1.0], **costs)
    # d/dx [lam·0.08 x² − 0.003 x] = 0 → x = 0.003 / (2·0.08) = 0.01875, inside the loss lot.
    assert res.status == "optimal"
    assert res.weights[0] == pytest.approx(0.5 - 0.01875, abs=1e-12)
    # With a tiny λ it sells the whole loss lot and stops at the gain lot's kink.
    res = rb.solve(current, target, cov, lam=1e-4, upper=[0.5, 1.0], **costs)
    assert res.status == "optimal"
    assert res.weights[0] == pytest.approx(0.4, abs=1e-12)
    # A buyable A cannot carry that benefit: its cost would not be convex.
    with pytest.raises(ValueError, match="sell-only"):
        rb.solve(current, target, cov, lam=1.0, **costs)


def test_labels_and_bad_input():
    tickers = ["AAA", "BBB", "CCC"]
    current = pd.Series([0.5, 0.3, 0.2], tickers)
    target = pd.Series([0.4, 0.4, 0.2], tickers)
    cov = pd.DataFrame(np.diag([0.04, 0.02, 0.03]), tickers, tickers)
    res = rb.solve(
        current, target, cov, 0.001, 10.0, sell_curves={"AAA": [(0.2, -0.001), (0.3, 0.01)]}
    )
    assert res.status == "optimal" and list(res.weights.index) == tickers
    with pytest.raises(ValueError, match="unknown ticker 'ZZZ'"):
        rb.solve(current, target, cov, 0.001, 10.0, sell_curves={"ZZZ": [(0.1, 0.0)]})
    with pytest.raises(ValueError, match=r"sell_curves\['AAA'\]: costs must be non-decreasing"):
        rb.solve(current, target, cov, 0.001, 10.0, sell_curves={"AAA": [(0.1, 0.01), (0.1, 0.0)]})
    with pytest.raises(ValueError, match="below -buy_cost"):
        rb.solve(current, target, cov, 0.001, 10.0, sell_curves={"AAA": [(0.1, -0.01)]})
    with pytest.raises(ValueError, match="amounts must be > 0"):
        rb.solve(current, target, cov, 0.001, 10.0, sell_curves={"AAA": [(0.0, 0.01)]})
    with pytest.raises(ValueError, match="pairs"):
        rb.solve(current, target, cov, 0.001, 10.0, sell_curves={"AAA": [0.1, 0.01]})
    with pytest.raises(ValueError, match="finite"):
        rb.solve(current, target, cov, 0.001, 10.0, sell_curves={"AAA": [(np.nan, 0.01)]})
    with pytest.raises(ValueError, match="one entry per asset"):
        rb.solve(current, target, cov, 0.001, 10.0, sell_curves=[None])
    with pytest.raises(TypeError, match="sell_curves must be"):
        rb.solve(current, target, cov, 0.001, 10.0, sell_curves="AAA")


def test_equal_cost_tranches_with_a_rank_one_covariance_certify():
    # Found by a 3,000-instance sweep: three tranches at the same (capped) cost on a rank-one
    # Σ ended at max_iterations (relative gap 1.3e-9). Equal-cost tranches are now merged.
    cov = np.array(
        [
            [0.0033212874507882904, -0.009509994353620356, 0.020413013545285477],
            [-0.009509994353620356, 0.02723040204918897, -0.0584495158676993],
            [0.020413013545285477, -0.0584495158676993, 0.1254607221368656],
        ]
    )
    current = np.array([0.4637528456982146, 0.06711362728927163, 0.4691335270125138])
    target = np.array([0.39667472135101167, 0.45182737109896165, 0.15149790755002676])
    buy = np.array([0.003755761657372464, 0.008943263855449475, 0.0027634643622856283])
    sell = np.array([0.00856990617562509, 0.009480426139928668, 0.005361705045710128])
    capped = -0.0027634643622856283
    curves = {
        0: [
            (0.0385, 0.0158),
            (0.1636, 0.0395),
            (0.0794, 0.0469),
            (0.1224, 0.0476),
            (0.0598, 0.0483),
        ],
        1: [(0.06711362728927163, -0.008943263855449475)],
        2: [(0.14631623630225443, capped), (0.27667009816673754, capped), (0.0461, capped)],
    }
    res = rb.solve(
        current,
        target,
        cov,
        lam=193.31008016154541,
        buy_costs=buy,
        sell_costs=sell,
        sell_curves=curves,
    )
    assert res.status == "optimal"
    merged = rb.solve(
        current,
        target,
        cov,
        lam=193.31008016154541,
        buy_costs=buy,
        sell_costs=sell,
        sell_curves={**curves, 2: [(0.4691335270125138, capped)]},
    )
    assert res.objective == pytest.approx(merged.objective, rel=1e-12)


def test_rank_one_covariance_with_the_optimum_at_a_kink_certifies():
    # Found by the sweep: the primal active-set method took the working set's minimiser as
    # "stationary" when the objective decrease was below rounding, leaving a gradient error of
    # 1e-11 that the first-order certificate saw (relative gap 1.7e-9, max_iterations). It now
    # takes that last step before releasing constraints.
    cov = np.array(
        [
            [0.0002945624074753008, 0.0026014247528234964, -0.004976561689219274],
            [0.0026014247528234964, 0.022974454896014664, -0.04395045136020513],
            [-0.004976561689219274, -0.04395045136020513, 0.08407782397922466],
        ]
    )
    current = np.array([0.19906853277817843, 0.04985253691645771, 0.7510789303053639])
    target = np.array([0.025715974999958376, 0.7412933182985691, 0.23299070670147246])
    buy = np.array([0.005457028343330428, 0.00967355568341317, 0.0058069234276052544])
    sell = np.array([0.0030604047783386423, 0.00920305488983997, 0.00484047610426206])
    curves = {
        2: [
            (0.43418221054, -0.0058069234276052544),
            (0.1708612197741321, -0.0013181990723402648),
            (0.0825422214979099, 0.00303927822383028),
            (0.06349327849754367, 0.010263723048776166),
        ]
    }
    res = rb.solve(
        current,
        target,
        cov,
        lam=108.97380560865712,
        buy_costs=buy,
        sell_costs=sell,
        sell_curves=curves,
    )
    assert res.status == "optimal"
