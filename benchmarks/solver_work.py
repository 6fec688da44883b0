"""The solver's work on the issue-2 benchmark instances, to compare two builds without timing.

Run under each build and diff the outputs::

    python benchmarks/solver_work.py > work.txt

One line per (n, λ): status, iterations, polish rounds and the objective in hex (bitwise).
Identical lines mean the timed figures of ``test_bench_solver.py`` still describe the build.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import rebalancing as rb
from instances import make_instance

for n in (100, 500, 1000, 2000):
    for lam in (1.0, 10.0, 100.0):
        x = make_instance(n, lam, 0)
        r = rb.solve(x.current, x.target, rb.DenseCovariance(x.cov), x.costs, lam)
        print(n, lam, r.status, r.iterations, r.polish_rounds, float(r.objective).hex())
