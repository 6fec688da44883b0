"""The fused drift check beside numpy's equivalent expression and a memory-bandwidth probe.

Run (figures in RESULTS.md come from exactly this)::

    pytest benchmarks/test_bench_drift.py --benchmark-only --benchmark-json=drift.json
    python benchmarks/drift_report.py drift.json

Each case is one pytest-benchmark group with three rows, measured in the same run:

* ``rebalancing``: ``rb.check_drift(cur, tgt, abs_band=0.05)`` with the default threads (all
  cores); it computes, per portfolio, the max drift, the max excess over the band, the number of
  breaching assets and a NaN/inf check, in one pass, plus the Python-side validation.
* ``numpy``: the textbook expression ``np.max(np.abs(cur - tgt), axis=-1) > 0.05``, which
  computes less (only the max) but makes temporaries and passes over memory several times.
* ``bandwidth_probe``: ``np.dot`` of the same arrays (multi-threaded BLAS, one pass of pure reads):
  the machine's practical read bandwidth in this run. For a batch with one shared target the
  probe reads ``cur`` against itself, i.e. the same bytes from memory as the check.

``extra_info["bytes"]`` is the number of bytes each check must read; ``drift_report.py`` turns
medians into GB/s, the speed-up over numpy, and the fraction of the probe's bandwidth.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest

import rebalancing as rb

__all__: list[str] = []

# (m, n, shared target): one big portfolio, many small accounts, a few huge ones.
CASES = [(1, 10_000_000, True), (10_000, 500, True), (10_000, 500, False), (100, 100_000, False)]
THRESHOLD = 0.05


@functools.lru_cache(maxsize=4)
def _data(m: int, n: int, shared: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(m + n)
    tgt = rng.dirichlet(np.ones(n), size=1 if shared else m)
    cur = tgt * np.exp(rng.normal(0.0, 0.05, size=(m, n)))
    cur /= cur.sum(axis=1, keepdims=True)
    return np.ascontiguousarray(cur), np.ascontiguousarray(tgt[0] if shared else tgt)


def _case_id(case: tuple[int, int, bool]) -> str:
    m, n, shared = case
    return f"m{m}-n{n}-{'shared' if shared else 'per_account'}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("name", ["rebalancing", "numpy", "bandwidth_probe"])
def test_drift(benchmark: Any, name: str, case: tuple[int, int, bool]) -> None:
    m, n, shared = case
    cur, tgt = _data(m, n, shared)
    single = m == 1
    cur_in = cur[0] if single else cur
    benchmark.group = _case_id(case)
    bytes_read = cur.nbytes + tgt.nbytes
    benchmark.extra_info.update({"name": name, "m": m, "n": n, "shared": shared})
    benchmark.extra_info["bytes"] = bytes_read
    if name == "rebalancing":
        report = benchmark(rb.check_drift, cur_in, tgt, abs_band=THRESHOLD)
        breach = np.atleast_1d(report.breach)
        expected = np.max(np.abs(cur - tgt), axis=-1) > THRESHOLD
        assert np.array_equal(breach, expected)
    elif name == "numpy":
        benchmark(lambda: np.max(np.abs(cur_in - tgt), axis=-1) > THRESHOLD)
    else:
        flat_cur = cur.ravel()
        other = flat_cur if shared and not single else tgt.ravel()
        if shared and not single:
            benchmark.extra_info["bytes"] = cur.nbytes  # tgt stays in cache for the check
        benchmark(np.dot, flat_cur, other)
