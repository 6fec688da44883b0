"""Distribution of per-account solve times in a batch, by universe size.

Usage: ``python benchmarks/tail.py 200 500 1000 2000``: for each n, 200 accounts drifted by their
own month of returns (``instances.make_accounts``) around the benchmark instance (k = 20,
λ = 10), solved with ``rb.solve_batch`` on a ``FactorModel``; prints the median, mean and
maximum of the per-account solve times. The mean is what a batch costs; the maximum shows the
tail.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import rebalancing as rb
from instances import make_accounts, make_instance

__all__ = ["main"]


def main(m: int, sizes: list[int]) -> None:
    for n in sizes:
        inst = make_instance(n, 10.0, seed=0, k=20, dense=False)
        model = rb.FactorModel(inst.loadings, inst.factor_cov, inst.specific_var)
        current = make_accounts(inst, m, seed=1)
        start = time.perf_counter()
        res = rb.solve_batch(current, inst.target, model, inst.costs, 10.0)
        wall = time.perf_counter() - start
        t = np.asarray(res.solve_time) * 1e3
        print(
            f"n = {n}: {m} accounts in {wall:.1f} s; per-account solve time median "
            f"{np.median(t):.1f} ms, mean {t.mean():.1f} ms, max {t.max():.0f} ms; "
            f"all optimal: {res.optimal}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]), [int(a) for a in sys.argv[2:]])
