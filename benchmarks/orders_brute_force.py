"""Rounding quality of rb.trade_list against exhaustive enumeration of every whole-share
portfolio (up to 4 tickers, accounts of a few thousand dollars).

Usage: python benchmarks/orders_brute_force.py CASES SEED (from the repository root).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

import rebalancing as rb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_orders import CASH, _brute_force

rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
N = int(sys.argv[1])
stats = {"cases": 0, "exact": 0, "refused": 0, "bound_invalid": 0, "worse": 0}
excess_rel = []
ratios = []
for _ in range(N):
    n = int(rng.integers(1, 5))
    tickers = [f"T{i}" for i in range(n)]
    prices = {t: float(rng.integers(20, 401)) for t in tickers}
    held = {t: float(rng.integers(0, 7)) for t in tickers}
    cash = float(rng.integers(0, 1501))
    if sum(held[t] * prices[t] for t in held) + cash == 0:
        continue
    raw = rng.integers(0, 11, n + 1)
    if raw.sum() == 0:
        continue
    target = {t: r / raw.sum() for t, r in zip([*tickers, CASH], raw, strict=True)}
    kw = {
        "method": str(rng.choice(["target", "optimal"])),
        "costs": float(rng.choice([0.0, 0.001, 0.02])),
        "lam": float(rng.choice([1.0, 10.0])),
        "min_trade": float(rng.choice([0.0, 0.0, 150.0])),
        "cash_reserve": float(rng.choice([0.0, 0.0, 100.0])),
    }
    if rng.random() < 0.5:
        a = rng.uniform(-1, 1, (n, n))
        kw["cov"] = pd.DataFrame(a @ a.T * 0.05 + np.eye(n) * 0.01, index=tickers, columns=tickers)
    acct = rb.Account(held, cash, prices)
    stats["cases"] += 1
    best, _ = _brute_force(acct, target, kw)
    try:
        tl = rb.trade_list(acct, target, **kw)
    except ValueError:
        stats["refused"] += 1
        assert best == np.inf
        continue
    if tl.lower_bound > best + 1e-12 * max(1e-12, abs(best)):
        stats["bound_invalid"] += 1
    ex = tl.rounded_objective - best
    if ex <= 1e-12 * max(1.0, abs(best)):
        stats["exact"] += 1
    else:
        stats["worse"] += 1
        excess_rel.append(ex / max(best, 1e-300))
        ratios.append(ex / max(best - tl.lower_bound, 1e-300))
print(stats)
if excess_rel:
    e = np.array(excess_rel)
    r = np.array(ratios)
    q95 = np.quantile(e, 0.95)
    print(f"non-optimal: excess median {np.median(e):.3g} p95 {q95:.3g} max {e.max():.3g}")
    print(f"excess / (optimum - lower_bound): median {np.median(r):.3g} max {r.max():.3g}")
    solved = stats["cases"] - stats["refused"]
    print(f"within 1% of optimum: {(stats['exact'] + (e <= 0.01).sum()) / solved:.4f}")
