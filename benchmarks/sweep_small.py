"""Random sweep of small problems: how many instances are not certified.

Run::

    python benchmarks/sweep_small.py 100000          # instances (seeds 0 .. N-1)
    python benchmarks/sweep_small.py 100000 --start 0 --dump failing.py   # also write them out

Instances (``instance(seed)``): n in 2..12; Σ = G Gᵀ with G of shape n × r, r drawn from 1..n
(rank-deficient most of the time), sometimes with one asset a scaled copy of another (an exact
duplicate when the scale is 1) and sometimes a tiny diagonal; volatilities of annualised-return
scale; λ log-uniform in [1e-3, 1e3]; costs 0..50 bp, symmetric or asymmetric, with exact zeros;
bounds long-only, random boxes (with exact zero upper or lower bounds) or long-short; target
Dirichlet with some zeros; current = target drifted by random returns (one month to a few
years), with zero holdings kept at zero. Prints every instance that is not ``optimal``, the
status counts and the time.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

import numpy as np

import rebalancing as rb


def _simplex(rng: np.random.Generator, n: int) -> np.ndarray:
    w = rng.dirichlet(np.full(n, float(rng.choice([0.3, 1.0, 5.0]))))
    if n > 2 and rng.random() < 0.4:
        zero = rng.random(n) < 0.3
        zero[rng.integers(n)] = False
        w[zero] = 0.0
        w /= w.sum()
    return w


def instance(seed: int) -> dict:
    """Keyword arguments of :func:`rebalancing.solve` for one random small instance."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 13))
    r = int(rng.integers(1, n + 1))
    vol = rng.uniform(0.05, 0.4, n)
    g = rng.normal(0.0, 1.0, (n, r))
    g *= (vol / np.sqrt(np.maximum((g * g).sum(axis=1), 1e-300)))[:, None]
    if n >= 2 and rng.random() < 0.25:  # asset j a scaled copy of asset i
        i, j = rng.choice(n, 2, replace=False)
        g[j] = g[i] * (1.0 if rng.random() < 0.5 else rng.uniform(0.2, 3.0))
    cov = g @ g.T
    if rng.random() < 0.15:
        cov += np.diag(rng.uniform(0.0, 1e-6, n))
    cov = 0.5 * (cov + cov.T)
    target = _simplex(rng, n)
    # Drift the target by simulated returns; assets the target does not hold stay at zero.
    years = float(rng.choice([1 / 12, 0.25, 1.0, 3.0]))
    growth = np.exp(g @ rng.normal(0.0, np.sqrt(years), g.shape[1]))
    current = target * growth
    if rng.random() < 0.2:  # a new asset bought outright or an old one being exited
        k = int(rng.integers(n))
        if rng.random() < 0.5 and current.sum() > current[k]:
            current[k] = 0.0
        else:
            current[k] = current.sum() * rng.uniform(0.01, 0.3)
    current /= current.sum()
    costs = rng.uniform(0.0, 0.005, n)
    costs[rng.random(n) < 0.2] = 0.0
    if rng.random() < 0.4:
        sell = rng.uniform(0.0, 0.005, n)
        sell[rng.random(n) < 0.2] = 0.0
    else:
        sell = costs.copy()
    kind = rng.choice(["long_only", "boxes", "long_short"], p=[0.4, 0.4, 0.2])
    if kind == "long_only":
        lower, upper = np.zeros(n), np.ones(n)
    elif kind == "boxes":
        p = _simplex(rng, n)  # a feasible point the boxes contain
        lower = p * rng.uniform(0.0, 1.0, n) * (rng.random(n) < 0.5)
        upper = p + (1.0 - p) * rng.uniform(0.0, 1.0, n)
        upper[(p == 0.0) & (rng.random(n) < 0.5)] = 0.0  # cannot hold it at all
        if lower.sum() > 1.0:
            lower = np.minimum(lower, p) * (1.0 - 1e-9)
        if upper.sum() < 1.0:
            upper = np.maximum(upper, p) + 1e-9
    else:
        lower = -rng.uniform(0.0, 0.3, n)
        upper = np.maximum(np.maximum(target, current), 0.0) + rng.uniform(0.0, 0.5, n)
    return {
        "current": current,
        "target": target,
        "cov": cov,
        "lam": float(10 ** rng.uniform(-3.0, 3.0)),
        "buy_costs": costs,
        "sell_costs": sell,
        "lower": lower,
        "upper": upper,
    }


def _literal(kwargs: dict) -> str:
    """The instance as exact Python source (float.hex of every number)."""
    parts = []
    for key, value in kwargs.items():
        if isinstance(value, np.ndarray):
            flat = ", ".join(f"float.fromhex('{float(v).hex()}')" for v in value.ravel())
            parts.append(f"    {key!r}: np.array([{flat}]).reshape({value.shape}),")
        else:
            parts.append(f"    {key!r}: float.fromhex('{float(value).hex()}'),")
    return "{\n" + "\n".join(parts) + "\n}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=1000)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--dump", help="write the failing instances to this file")
    args = parser.parse_args(argv)
    counts: Counter[str] = Counter()
    failing = []
    t0 = time.perf_counter()
    for seed in range(args.start, args.start + args.count):
        kw = instance(seed)
        res = rb.solve(**kw)
        counts[res.status] += 1
        if res.status != "optimal":
            failing.append((seed, kw))
            rank = np.linalg.matrix_rank(kw["cov"])
            print(
                f"seed {seed}: {res.status}, n {len(kw['current'])}, rank {rank}, "
                f"lam {kw['lam']:.4g}, gap {res.gap:.3g}, objective {res.objective:.6g}",
                flush=True,
            )
    elapsed = time.perf_counter() - t0
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"{args.count} instances (seeds {args.start}..{args.start + args.count - 1}): {summary}")
    print(f"{len(failing)} not certified; {elapsed:.1f} s")
    if args.dump:
        with open(args.dump, "w") as f:
            for seed, kw in failing:
                f.write(f"SEED_{seed} = {_literal(kw)}\n\n")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
