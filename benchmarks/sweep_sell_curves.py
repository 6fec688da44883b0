"""Random sweep of the solver with sell curves: how many instances are not certified.

Run::

    python benchmarks/sweep_sell_curves.py 6000        # instances (seeds 0 .. N-1); ~1 min per 1500

Instances: n in {2, 3, 5, 10, 30, 60, 150}; current and target Dirichlet weights, some zeros;
Σ = A Aᵀ / k with k drawn from 1..n (rank-deficient, rank one included), half of them plus a
small diagonal; λ log-uniform in [1e-3, 1e3]; buy and sell costs up to 1 %; most held assets get
a sell curve of one to five tranches (costs from −5 % to 5 %, sorted); a first benefit beyond
the buy cost is either capped at it or the asset is made sell-only. Prints every instance that
is not ``optimal`` and the count.
"""

from __future__ import annotations

import sys

import numpy as np

import rebalancing as rb


def instance(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n = int(rng.choice([2, 3, 5, 10, 30, 60, 150]))
    current = rng.dirichlet(np.ones(n) * rng.choice([0.3, 1, 10]))
    if rng.random() < 0.3:
        zero = rng.random(n) < 0.3
        zero[0] = False  # keep the weights summable
        current[zero] = 0.0
        current /= current.sum()
    target = rng.dirichlet(np.ones(n))
    if rng.random() < 0.3:
        zero = rng.random(n) < 0.2
        zero[-1] = False
        target[zero] = 0.0
        target /= target.sum()
    k = int(rng.integers(1, n + 1))
    a = rng.normal(0, 0.2, (n, k))
    cov = a @ a.T / k
    if rng.random() < 0.5:
        cov += np.diag(rng.uniform(0, 0.01, n))
    buy = rng.uniform(0, 0.01, n)
    upper = np.ones(n)
    curves = {}
    for i in range(n):
        if current[i] <= 0 or rng.random() < 0.3:
            continue
        t = int(rng.integers(1, 6))
        amounts = rng.dirichlet(np.ones(t)) * current[i]
        costs = np.sort(rng.uniform(-0.05, 0.05, t))
        if costs[0] < -buy[i]:
            if rng.random() < 0.5 and i > 0:
                upper[i] = current[i]  # sell-only: the full benefit
            else:
                costs = np.maximum(costs, -buy[i])  # capped at the buy cost
        curves[i] = [(float(x), float(y)) for x, y in zip(amounts, costs, strict=True)]
    if upper.sum() < 1:
        upper[0] = 1.0
    return {
        "current": current,
        "target": target,
        "cov": cov,
        "lam": float(10 ** rng.uniform(-3, 3)),
        "buy_costs": buy,
        "sell_costs": rng.uniform(0, 0.01, n),
        "upper": upper,
        "sell_curves": curves,
    }


def main(count: int) -> int:
    bad = 0
    for seed in range(count):
        res = rb.solve(**instance(seed))
        if res.status != "optimal":
            bad += 1
            print(f"seed {seed}: {res.status}, gap {res.gap:.3g}, objective {res.objective:.6g}")
    print(f"{count} instances, {bad} not certified")
    return bad


if __name__ == "__main__":
    sys.exit(1 if main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000) else 0)
