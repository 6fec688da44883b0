"""The drop-in ``optimal_rebalance`` given a plain array, beside ``solve`` given a prebuilt
``DenseCovariance``, in one run (issue 12).

Run (figures in RESULTS.md come from exactly this)::

    pytest benchmarks/test_bench_dropin.py --benchmark-only --benchmark-json=dropin.json
    python benchmarks/dropin_report.py dropin.json

Instances: ``instances.make_instance(n, λ, seed=0)`` (the DESIGN.md generator, as every other
benchmark), n = 500, 1000, 2000 and λ = 1, 10, 100. Each (n, λ) is one group holding:

* ``dense_covariance``: ``rb.solve(current, target, DenseCovariance, costs, λ)`` with the
  ``DenseCovariance`` built once outside the timing -- the fastest way to solve repeatedly.
* ``plain_repeated``: ``rb.optimal_rebalance(current, target, cov, costs, λ)`` with the same
  plain numpy array on every call, the way a user loop calls the textbook function (one
  untimed warm-up call first, as a loop's first iteration).
* ``plain_cold``: the same call as the first one on that matrix (the verified-matrix cache is
  emptied before every round; on code without the cache every call is this call).
* ``interleaved``: the two above, ``dense_covariance`` and ``plain_repeated``, alternated call
  by call (41 pairs); ``extra_info`` holds both medians and their ratio. On this shared machine
  rows timed seconds apart can see different load; alternating puts both sides under the same
  load.

and, in the λ = 10 groups only (they do not depend on λ):

* ``checks``: ``rb.DenseCovariance(cov)``, the finite/symmetric/PSD checks and scale facts that
  a plain array costs when it is not remembered;
* ``fingerprint``: ``_core.fingerprint(cov, secret)``, the XXH3 pass that a remembered array costs.

Every solve's objective, status and gap are recorded and must be certified optimal.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import rebalancing as rb
from rebalancing import _core
from rebalancing import covariance as rb_covariance

__all__: list[str] = []

SIZES = (500, 1000, 2000)
LAMBDAS = (1.0, 10.0, 100.0)
ROUNDS = 21
PAIRS = 41
COLD_ROUNDS = 5
NAMES = ("dense_covariance", "plain_repeated", "plain_cold", "interleaved", "checks", "fingerprint")


def _forget() -> None:
    """Empty the verified-matrix cache (nothing to do on code from before it existed)."""
    clear = getattr(rb_covariance, "clear_verified_cache", None)
    if clear is not None:
        clear()


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


@pytest.mark.parametrize("lam", LAMBDAS, ids=lambda v: f"lam{v:g}")
@pytest.mark.parametrize("n", SIZES, ids=lambda v: f"n{v}")
@pytest.mark.parametrize("name", NAMES)
def test_dropin(benchmark: Any, get_instance: Any, name: str, n: int, lam: float) -> None:
    """Time one way of passing the covariance on one instance."""
    if name in ("checks", "fingerprint") and lam != 10.0:
        pytest.skip("independent of lambda: measured in the lambda = 10 group")
    if name == "fingerprint" and not hasattr(rb_covariance, "_SECRET"):
        pytest.skip("code from before the verified-matrix cache: no fingerprint")
    inst = get_instance.instance(n, lam)
    benchmark.group = f"n={n} lam={lam:g}"
    info: dict[str, Any] = {"name": name, "n": n, "lam": lam}
    dense = rb.DenseCovariance(inst.cov)
    args = (inst.current, inst.target)

    def ours_dense() -> Any:
        return rb.solve(*args, dense, inst.costs, lam)

    def ours_plain() -> Any:
        return rb.optimal_rebalance(*args, inst.cov, inst.costs, lam)

    weights: Any = None
    if name == "dense_covariance":
        res = benchmark.pedantic(ours_dense, rounds=ROUNDS, warmup_rounds=1)
        weights = res.weights
        info.update(status=res.status, rel_gap=res.rel_gap)
        assert res.status == "optimal"  # a benchmark of a wrong answer is worthless
    elif name == "plain_repeated":
        _forget()
        weights = benchmark.pedantic(ours_plain, rounds=ROUNDS, warmup_rounds=1)
    elif name == "plain_cold":
        weights = benchmark.pedantic(
            ours_plain, setup=_forget, rounds=COLD_ROUNDS, iterations=1, warmup_rounds=0
        )
    elif name == "interleaved":
        _forget()
        ours_plain()  # the loop's first call, not timed

        def alternate() -> tuple[list[float], list[float]]:
            dense_times, plain_times = [], []
            for _ in range(PAIRS):
                dense_times.append(_timed(ours_dense)[0])
                plain_times.append(_timed(ours_plain)[0])
            return dense_times, plain_times

        dense_times, plain_times = benchmark.pedantic(alternate, rounds=1, iterations=1)
        dense_median = statistics.median(dense_times)
        plain_median = statistics.median(plain_times)
        info.update(
            dense_median=dense_median,
            plain_median=plain_median,
            ratio=plain_median / dense_median,
            pairs=PAIRS,
        )
        weights = ours_plain()
    elif name == "checks":
        benchmark.pedantic(lambda: rb.DenseCovariance(inst.cov), rounds=COLD_ROUNDS)
    else:
        benchmark.pedantic(
            lambda: _core.fingerprint(inst.cov, rb_covariance._SECRET),
            rounds=ROUNDS,
            warmup_rounds=1,
        )
    if weights is not None:
        reference = ours_dense().weights
        # The drop-in's answer is the prebuilt path's answer, bit for bit.
        np.testing.assert_array_equal(np.asarray(weights), np.asarray(reference))
    info["bytes"] = int(inst.cov.nbytes)
    benchmark.extra_info.update(info)
