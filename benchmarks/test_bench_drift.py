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

Three measurements in the same run:

* *Hot rows* (pytest-benchmark): each function called back to back for about a second, the
  rows one after the other. Helper threads stay awake (OpenBLAS's poll for about 0.1 s after a
  call, ours for 1 ms) and the caches hold whatever the previous call left. This machine's
  memory bandwidth moves by up to 2x within seconds (other tenants), so rows timed seconds
  apart can land in different regimes: read the next two tables for ratios.
* *Hot, interleaved* (``extra_info["hot"]`` of the ``rebalancing`` row): 10 rounds; in each, for
  every function in an order rotated every round, a 0.15 s pause, one untimed call, then 15
  timed calls back to back. Medians of all timed calls. The pause matters: OpenBLAS's threads
  poll without yielding for about 0.1 s after each call, and a check started inside that window
  shares a vCPU with a polling OpenBLAS thread (measured in one C++ process linking numpy's
  OpenBLAS: the two-thread check read 45-48 GB/s alone and 27 GB/s interleaved call by call with
  ``ddot``, while ``ddot`` read 47 GB/s either way).
* *Cold* (``extra_info["interleaved"]``): 25 rounds of (check, numpy, probe), in an order rotated
  every round, each call timed after a 0.25 s pause and a read of a 64 MB buffer (twice the L3
  cache): every call starts with its threads asleep and its data in memory, as a daily check
  does. Waking a thread on an idle vCPU costs about 1 ms here, for the probe's threads as for
  ours. Medians of each.
"""

from __future__ import annotations

import functools
import time
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
    probe_other = cur.ravel() if shared and not single else tgt.ravel()
    if name == "rebalancing":
        report = benchmark(rb.check_drift, cur_in, tgt, abs_band=THRESHOLD)
        breach = np.atleast_1d(report.breach)
        expected = np.max(np.abs(cur - tgt), axis=-1) > THRESHOLD
        assert np.array_equal(breach, expected)
        benchmark.extra_info["hot"] = _hot_blocks(
            {
                "rebalancing": lambda: rb.check_drift(cur_in, tgt, abs_band=THRESHOLD),
                "numpy": lambda: np.max(np.abs(cur_in - tgt), axis=-1) > THRESHOLD,
                "bandwidth_probe": lambda: np.dot(cur.ravel(), probe_other),
            }
        )
        benchmark.extra_info["interleaved"] = _interleaved(
            {
                "rebalancing": lambda: rb.check_drift(cur_in, tgt, abs_band=THRESHOLD),
                "numpy": lambda: np.max(np.abs(cur_in - tgt), axis=-1) > THRESHOLD,
                "bandwidth_probe": lambda: np.dot(cur.ravel(), probe_other),
            }
        )
    elif name == "numpy":
        benchmark(lambda: np.max(np.abs(cur_in - tgt), axis=-1) > THRESHOLD)
    else:
        if shared and not single:
            benchmark.extra_info["bytes"] = cur.nbytes  # tgt stays in cache for the check
        benchmark(np.dot, cur.ravel(), probe_other)


_FLUSH = np.ones(8 * 1024 * 1024)  # 64 MB: reading it evicts the inputs from the 32 MB L3


def _hot_blocks(
    runs: dict[str, Any], rounds: int = 10, calls: int = 15, pause: float = 0.15
) -> dict[str, float]:
    """Median seconds of each callable, called hot in blocks (see the module docstring)."""
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            time.sleep(pause)
            runs[name]()
            for _ in range(calls):
                start = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def _interleaved(runs: dict[str, Any], rounds: int = 25, pause: float = 0.25) -> dict[str, float]:
    """Median seconds of each callable, each call made cold (see the module docstring)."""
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            time.sleep(pause)
            _FLUSH.sum()
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def _textbook_threshold_rebalance(current_weights, target_weights, threshold=0.05):  # type: ignore[no-untyped-def]
    drift = current_weights - target_weights
    if np.max(np.abs(drift)) > threshold:
        return target_weights - current_weights
    return None


@pytest.mark.parametrize("n", [20, 500, 100_000, 10_000_000], ids=lambda n: f"n{n}")
@pytest.mark.parametrize("name", ["rebalancing", "textbook"])
def test_threshold_rebalance(benchmark: Any, name: str, n: int) -> None:
    """The drop-in on one portfolio (no breach: the daily case) beside the textbook function."""
    cur, tgt = _data(1, n, True)
    benchmark.group = f"threshold_rebalance n={n}"
    benchmark.extra_info.update({"name": name, "n": n})
    run = rb.threshold_rebalance if name == "rebalancing" else _textbook_threshold_rebalance
    assert benchmark(run, cur[0], tgt, THRESHOLD) is None
