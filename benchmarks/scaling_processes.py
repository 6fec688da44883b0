"""Is a shortfall of 2 threads against 1 ours or the machine's? The issue-4 batch three ways.

Usage: ``python benchmarks/scaling_processes.py [rounds] [accounts]`` (defaults 5 and 10,000).

In every round, on the batch of ``test_bench_batch.py`` (500 assets, k = 20, λ = 10):

* ``1 thread``: ``solve_batch`` on all accounts with ``n_threads=1``;
* ``2 threads``: the same with ``n_threads=2`` (our helper pool, one process);
* ``2 processes``: two worker processes, started and loaded before the round, each solving half
  of the accounts with ``n_threads=1``; timed from the parent's "go" to the last "done".

Two processes share nothing of ours (no pool, no allocator, no cache lines written by the
other), so their speed-up over one thread is what this machine gives two independent solvers at
that moment. If two threads match it, the shortfall from 2× is the machine's (the two vCPUs
slowing each other down, other tenants), not our threading. Prints one line per round.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from typing import Any

import numpy as np

import rebalancing as rb
from instances import make_accounts, make_instance

__all__ = ["main"]

N, K, LAM = 500, 20, 10.0


def _problem(m: int) -> tuple[Any, rb.FactorModel, np.ndarray]:
    inst = make_instance(N, k=K)
    model = rb.FactorModel(inst.loadings, inst.factor_cov, inst.specific_var)
    return inst, model, make_accounts(inst, m)


def _worker(m: int, part: int, go: Any, done: Any) -> None:
    inst, model, current = _problem(m)
    rows = current[: m // 2] if part == 0 else current[m // 2 :]
    rb.solve_batch(rows[:100], inst.target, model, inst.costs, LAM, n_threads=1)  # warm up
    done.put(("ready", part))
    while go.get() == "go":
        rb.solve_batch(rows, inst.target, model, inst.costs, LAM, n_threads=1)
        done.put(("done", part))


def main(rounds: int = 5, m: int = 10_000) -> None:
    inst, model, current = _problem(m)
    ctx = mp.get_context("spawn")
    done: Any = ctx.Queue()
    gos = [ctx.Queue() for _ in range(2)]
    workers = [ctx.Process(target=_worker, args=(m, p, gos[p], done)) for p in range(2)]
    for w in workers:
        w.start()
    for _ in workers:
        done.get()  # both loaded and warmed up
    rb.solve_batch(current[:100], inst.target, model, inst.costs, LAM, n_threads=2)

    def threads(n: int) -> float:
        start = time.perf_counter()
        rb.solve_batch(current, inst.target, model, inst.costs, LAM, n_threads=n)
        return time.perf_counter() - start

    def processes() -> float:
        start = time.perf_counter()
        for go in gos:
            go.put("go")
        for _ in workers:
            done.get()
        return time.perf_counter() - start

    print(f"{m} accounts x {N} assets, k = {K}; seconds per run, speed-up over 1 thread")
    for r in range(rounds):
        one, two, procs = threads(1), threads(2), processes()
        print(
            f"round {r + 1}: 1 thread {one:.2f} s | 2 threads {two:.2f} s ({one / two:.2f}x) | "
            f"2 processes {procs:.2f} s ({one / procs:.2f}x)",
            flush=True,
        )
    for go in gos:
        go.put("stop")
    for w in workers:
        w.join()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
