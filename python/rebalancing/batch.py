"""Many accounts sharing one covariance: :func:`solve_batch`.

Every account is its own rebalancing problem (current weights, target, costs, bounds and λ may
differ per account) with the covariance shared. The accounts are solved in parallel by C++ threads
with the GIL released; each is solved by exactly the code of :func:`rebalancing.solve`, so the
answers equal ``m`` single solves and do not depend on ``n_threads``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rebalancing import _core
from rebalancing._validation import (
    COST_UNIT_SLIP,
    WEIGHT_SUM_TOLERANCE,
    as_float_array,
    as_labelled,
    check_count,
    check_labels,
    percent_hint,
)
from rebalancing.covariance import as_covariance
from rebalancing.settings import Settings, as_settings
from rebalancing.solver import check_scale
from rebalancing.status import STATUSES, Status
from rebalancing.typing import Accounts, Covariance, Executor, PerAccount

__all__ = ["BatchResult", "solve_batch"]

_FAILED = STATUSES.index(Status.FAILED)


@dataclass(frozen=True)
class BatchResult:
    """Result of :func:`solve_batch`: one row (or entry) per account.

    Attributes
    ----------
    weights, trades : (m, n) arrays, or DataFrames (accounts × tickers) for labelled input;
        None when the results were streamed to a file (``out=``).
    objective, risk, cost, gap : (m,) per account, as in :class:`rebalancing.RebalanceResult`
        (arrays, or Series by account for labelled input).
    status : (m,) :class:`~rebalancing.Status` per account (the same vocabulary as a single
        solve): ``OPTIMAL`` only where certified; ``INVALID`` or ``FAILED`` for accounts that
        could not be solved.
    iterations : (m,) per account.
    solve_time : (m,) seconds per account (inside the core).
    wall_time : seconds for the whole batch.
    errors : account → message, for accounts that could not be solved (status ``"invalid"``
        or ``"failed"``); empty when all were.
    threads_per_task : with an executor, the thread count each task used (diagnostics).
    """

    weights: np.ndarray | pd.DataFrame | None
    trades: np.ndarray | pd.DataFrame | None
    objective: np.ndarray | pd.Series
    risk: np.ndarray | pd.Series
    cost: np.ndarray | pd.Series
    gap: np.ndarray | pd.Series
    status: np.ndarray | pd.Series
    iterations: np.ndarray | pd.Series
    solve_time: np.ndarray | pd.Series
    wall_time: float
    errors: dict[Any, str] = field(default_factory=dict)
    threads_per_task: tuple[int, ...] = ()

    @property
    def optimal(self) -> bool:
        """Whether every account is certified optimal."""
        return all(s is Status.OPTIMAL for s in np.asarray(self.status))


def solve_batch(
    current: Accounts,
    target: PerAccount,
    cov: Covariance,
    costs: PerAccount = 0.0,
    lam: float | npt.ArrayLike | pd.Series = 1.0,
    *,
    lower: PerAccount = 0.0,
    upper: PerAccount = 1.0,
    buy_costs: PerAccount | None = None,
    sell_costs: PerAccount | None = None,
    n_threads: int = 0,
    warm_start: Accounts | BatchResult | None = None,
    executor: Executor | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    out: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    tol: float | None = None,
    abs_tol: float | None = None,
    max_iter: int | None = None,
) -> BatchResult:
    """Solve ``m`` rebalancing problems that share one covariance.

    Parameters
    ----------
    current : (m, n) array or pd.DataFrame (accounts × tickers)
        Current weights, one account per row; each row must sum to 1 within 1e-6.
    target : (n,) shared, (m, n) per account, or pandas (aligned by ticker and account)
        Target weights.
    cov : array-like (n, n), DenseCovariance or FactorModel
        The shared covariance (a :class:`FactorModel` makes products O(nk)).
    costs, buy_costs, sell_costs, lower, upper : scalar, (n,) shared, or (m, n) per account
        As in :func:`rebalancing.solve` (costs are fractions of the amount traded); a pd.Series
        or mapping is aligned by ticker, a DataFrame by account and ticker.
    lam : float or (m,)
        Risk aversion per account.
    n_threads : int
        Threads (0 = every core). The answers do not depend on it. With an ``executor`` it is
        the thread count of each task; 0 then means the Dask worker's own thread count inside a
        Dask worker, and 1 under any other executor (the executor supplies the parallelism).
    warm_start : (m, n) array, DataFrame or BatchResult, optional
        Starting points, e.g. the previous rebalance's weights.
    executor : dask.distributed.Client or concurrent.futures.Executor, optional
        Solve chunks of accounts on it. A Dask client gets the covariance scattered once to
        every worker and the chunks mapped with two retries; results come back in account order.
        A chunk that still fails does not lose the others: its accounts get status ``"failed"``,
        NaN weights and an entry in ``errors``.
    chunk_size : int, optional
        Accounts per task (default: about 16 tasks with an executor; with ``progress`` or
        ``out`` about 64 steps of at most 4096 accounts).
    progress : bool
        Show a progress bar (tqdm, the ``[progress]`` extra) as chunks finish; it stays silent
        when not on a terminal.
    out : path, optional
        Stream the results to this parquet file (the ``[parquet]`` extra) chunk by chunk instead
        of holding an (m, n) array: one row per account with ``account``, ``status``,
        ``objective``, ``gap``, ``iterations`` and one weight column per ticker (``w0``, ``w1``,
        ... without tickers). The returned result then has ``weights = trades = None``; its
        per-account summaries are kept. ``current`` may be a memory-mapped array
        (``np.load(..., mmap_mode="r")``): only one chunk of it is converted at a time.
    settings : Settings, optional
        Tolerances and iteration budget for every account (:class:`~rebalancing.Settings`).
    tol, abs_tol, max_iter : optional
        Conveniences: each replaces that field of ``settings``.

    Returns
    -------
    BatchResult

    Raises
    ------
    ValueError, TypeError
        Shapes inconsistent across accounts or with the covariance, NaN or inf in an account,
        weights not summing to one, negative costs or λ, infeasible bounds: the message names the
        argument and the account.

    Examples
    --------
    >>> import rebalancing as rb
    >>> batch = rb.solve_batch(
    ...     [[0.7, 0.3], [0.5, 0.5]], [0.6, 0.4], [[0.04, 0.0], [0.0, 0.01]], 0.001, 10.0
    ... )
    >>> batch.weights
    array([[0.602, 0.398],
           [0.598, 0.402]])
    >>> [str(s) for s in batch.status]
    ['optimal', 'optimal']
    """
    start = time.perf_counter()
    config = as_settings(settings, tol=tol, abs_tol=abs_tol, max_iter=max_iter)
    cur, tickers, accounts = _weights_matrix(current, "current")
    m, n = cur.shape
    tgt = _per_account(target, "target", m, n, tickers, accounts)
    base = _per_account(costs, "costs", m, n, tickers, accounts)
    buy = (
        base if buy_costs is None else _per_account(buy_costs, "buy_costs", m, n, tickers, accounts)
    )
    sell = (
        base
        if sell_costs is None
        else _per_account(sell_costs, "sell_costs", m, n, tickers, accounts)
    )
    lo = _per_account(lower, "lower", m, n, tickers, accounts)
    hi = _per_account(upper, "upper", m, n, tickers, accounts)
    lams = _lams(lam, m, accounts)
    if isinstance(warm_start, BatchResult):
        warm_start = warm_start.weights
    warm = None
    if warm_start is not None:
        warm = _per_account(warm_start, "warm_start", m, n, tickers, accounts)
        if warm.shape != (m, n):
            raise ValueError(f"warm_start must have shape ({m}, {n}), got {warm.shape}")
    _check_accounts(cur, tgt, base, buy, sell, lo, hi, accounts)
    sigma = as_covariance(cov, n)
    if sigma.tickers is not None and tickers is not None:
        sigma = sigma.reindex(tickers)  # in the weights' order (the same tickers needed)
    span = max(float(np.abs(np.atleast_2d(hi) - np.atleast_2d(lo)).max()), 1.0)
    check_scale(lams, sigma.max_abs, n, span, accounts)
    n_threads = check_count(n_threads, "n_threads", minimum=0, meaning="0 = all cores")
    if chunk_size is not None:
        chunk_size = check_count(chunk_size, "chunk_size", minimum=1)
    problem = _Rows(cur, tgt, buy, sell, lo, hi, lams, warm, config)
    if executor is None and not progress and out is None:
        raw = _solve_rows(sigma, problem, int(n_threads))
        threads: tuple[int, ...] = ()
    else:
        spans = _spans(m, chunk_size, executor is not None)
        parts = _chunk_results(executor, sigma, problem, int(n_threads), spans)
        if progress:
            parts = _with_progress(parts, m)
        sink = None if out is None else _ParquetSink(out, tickers, n)
        raw, threads = _collect(parts, n, sink, accounts)
    errors = {_label(r, accounts): e for r, e in enumerate(raw["errors"]) if e}
    status = np.array([STATUSES[int(s)] for s in raw["status"]], dtype=object)
    weights = raw.get("weights")
    return BatchResult(
        weights=None if weights is None else _frame(weights, accounts, tickers),
        trades=None if weights is None else _frame(weights - cur, accounts, tickers),
        objective=_series(raw["objective"], accounts, "objective"),
        risk=_series(raw["risk"], accounts, "risk"),
        cost=_series(raw["cost"], accounts, "cost"),
        gap=_series(raw["gap"], accounts, "gap"),
        status=_series(status, accounts, "status"),
        iterations=_series(raw["iterations"], accounts, "iterations"),
        solve_time=_series(raw["solve_time"], accounts, "solve_time"),
        wall_time=time.perf_counter() - start,
        errors=errors,
        threads_per_task=threads,
    )


# --- solving rows locally or on an executor ------------------------------------------------------


@dataclass(frozen=True)
class _Rows:
    """Validated inputs of some accounts; (n,) arrays are shared, (m, n) ones per account."""

    current: np.ndarray
    target: np.ndarray
    buy: np.ndarray
    sell: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    lam: np.ndarray
    warm: np.ndarray | None
    settings: Settings

    def rows(self, a: int, b: int) -> _Rows:
        def take(arr: np.ndarray) -> np.ndarray:
            return arr if arr.ndim == 1 else np.ascontiguousarray(arr[a:b])

        return _Rows(
            np.ascontiguousarray(self.current[a:b]),
            take(self.target),
            take(self.buy),
            take(self.sell),
            take(self.lower),
            take(self.upper),
            np.ascontiguousarray(self.lam[a:b]),
            None if self.warm is None else np.ascontiguousarray(self.warm[a:b]),
            self.settings,
        )


def _solve_rows(sigma: Any, p: _Rows, n_threads: int) -> dict[str, Any]:
    raw: dict[str, Any] = _core.solve_batch(
        sigma.spec(),
        p.current,
        p.target,
        p.buy,
        p.sell,
        p.lower,
        p.upper,
        p.lam,
        p.settings.core,
        p.warm,
        n_threads,
    )
    return raw


def _solve_chunk(chunk: _Rows, sigma: Any, n_threads: int) -> dict[str, Any]:
    """One executor task (module level, so that it pickles)."""
    threads = n_threads if n_threads > 0 else _worker_threads()
    raw = _solve_rows(sigma, chunk, threads)
    raw["threads"] = threads
    return raw


def _worker_threads() -> int:
    """The thread count of the Dask worker running this task; 1 outside Dask.

    Dask workers set OMP_NUM_THREADS=1, which the core ignores (it uses std::thread): the right
    number is what the worker was given, so that worker processes do not oversubscribe cores.
    """
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return 1
    state = getattr(worker, "state", None)
    return int(getattr(state, "nthreads", 0) or getattr(worker, "nthreads", 0) or 1)


def _is_dask_client(executor: Any) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "scatter")


def _spans(m: int, chunk_size: int | None, on_executor: bool) -> list[tuple[int, int]]:
    if chunk_size is None:
        chunk_size = math.ceil(m / 16) if on_executor else min(4096, math.ceil(m / 64))
        chunk_size = max(1, chunk_size)
    chunk_size = check_count(chunk_size, "chunk_size", minimum=1)
    return [(a, min(m, a + chunk_size)) for a in range(0, m, chunk_size)]


def _chunk_results(
    executor: Any, sigma: Any, p: _Rows, n_threads: int, spans: list[tuple[int, int]]
) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(first, end, result) per chunk of accounts, in account order."""
    n = p.current.shape[1]
    if executor is None:  # locally, chunk by chunk (for a progress bar or a file)
        for a, b in spans:
            yield a, b, _solve_rows(sigma, p.rows(a, b), n_threads)
        return
    chunks = [p.rows(a, b) for a, b in spans]
    if _is_dask_client(executor):
        # The model travels once per worker, under a key of its own: with the default
        # content-hash key, a second call with the same model reused the key while the first
        # call's future was being released, and the scheduler cancelled the new tasks.
        shared = executor.scatter(sigma, broadcast=True, hash=False)
        futures = executor.map(
            _solve_chunk, chunks, sigma=shared, n_threads=n_threads, retries=2, pure=False
        )
    else:
        futures = [executor.submit(_solve_chunk, chunk, sigma, n_threads) for chunk in chunks]
    for (a, b), future in zip(spans, futures, strict=True):
        try:
            part = future.result()
        except Exception as exc:  # keep the other chunks' results
            part = _failed_part(b - a, n, f"task for accounts {a}..{b - 1} failed: {exc!r}")
        yield a, b, part


def _with_progress(
    parts: Iterator[tuple[int, int, dict[str, Any]]], m: int
) -> Iterator[tuple[int, int, dict[str, Any]]]:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError("progress=True needs tqdm: pip install 'rebalancing[progress]'") from None
    with tqdm(total=m, unit="account", disable=None) as bar:  # disable=None: silent off a TTY
        for a, b, part in parts:
            bar.update(b - a)
            yield a, b, part


_SUMMARY_KEYS = ("objective", "risk", "cost", "gap", "nu", "solve_time", "iterations", "status")


def _collect(
    parts: Iterator[tuple[int, int, dict[str, Any]]],
    n: int,
    sink: _ParquetSink | None,
    accounts: pd.Index | None,
) -> tuple[dict[str, Any], tuple[int, ...]]:
    """Concatenate chunk results (weights only without a sink; the sink writes them)."""
    kept: list[dict[str, Any]] = []
    threads: list[int] = []
    try:
        for a, b, part in parts:
            threads.append(int(part.get("threads", 0)))
            if sink is not None:
                sink.write(a, b, part, accounts)
                part = {key: value for key, value in part.items() if key != "weights"}
            kept.append(part)
    finally:
        if sink is not None:
            sink.close()
    merged: dict[str, Any] = {
        key: np.concatenate([part[key] for part in kept]) for key in _SUMMARY_KEYS
    }
    if sink is None:
        merged["weights"] = np.concatenate([part["weights"] for part in kept])
    merged["errors"] = [e for part in kept for e in part["errors"]]
    return merged, tuple(threads) if any(threads) else ()


class _ParquetSink:
    """Writes chunk results to one parquet file, one row group per chunk."""

    def __init__(self, path: str | os.PathLike[str], tickers: pd.Index | None, n: int) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ImportError("out= needs pyarrow: pip install 'rebalancing[parquet]'") from None
        self._pa = pa
        names = [f"w{i}" for i in range(n)] if tickers is None else [str(t) for t in tickers]
        if len(set(names)) != n or {"account", "status"} & set(names):
            raise ValueError("tickers must be distinct as strings and not 'account' or 'status'")
        self._weight_names = names
        self._writer: Any = None
        self._path = path
        self._pq = pq

    def write(self, a: int, b: int, part: dict[str, Any], accounts: pd.Index | None) -> None:
        pa = self._pa
        labels = list(range(a, b)) if accounts is None else [accounts[r] for r in range(a, b)]
        columns = {
            "account": pa.array(labels),
            "status": pa.array([STATUSES[int(x)].value for x in part["status"]]),
            "objective": pa.array(part["objective"]),
            "gap": pa.array(part["gap"]),
            "iterations": pa.array(part["iterations"]),
        }
        weights = part["weights"]
        for i, name in enumerate(self._weight_names):
            columns[name] = pa.array(weights[:, i])
        table = pa.table(columns)
        if self._writer is None:
            self._writer = self._pq.ParquetWriter(self._path, table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _failed_part(rows: int, n: int, message: str) -> dict[str, Any]:
    nan = np.full(rows, np.nan)
    return {
        "weights": np.full((rows, n), np.nan),
        "objective": nan,
        "risk": nan,
        "cost": nan,
        "gap": nan,
        "nu": nan,
        "solve_time": nan,
        "iterations": np.zeros(rows, dtype=np.int64),
        "status": np.full(rows, _FAILED, dtype=np.uint8),
        "errors": [message] * rows,
    }


# --- inputs --------------------------------------------------------------------------------------


def _weights_matrix(value: Any, name: str) -> tuple[np.ndarray, pd.Index | None, pd.Index | None]:
    tickers = accounts = None
    if isinstance(value, pd.DataFrame):
        tickers, accounts = value.columns, value.index
        for labels, what in ((tickers, "tickers"), (accounts, "accounts")):
            if labels.has_duplicates:
                dup = labels[labels.duplicated()].unique().tolist()[:5]
                raise ValueError(f"{name} has duplicate {what}: {dup}")
        value = value.to_numpy()
    arr = as_float_array(value, name)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{name} must have shape (m, n) with m, n >= 1 (one account per row; use "
            f"rebalancing.solve for one account), got {arr.shape}"
        )
    return arr, tickers, accounts


def _per_account(
    value: Any, name: str, m: int, n: int, tickers: pd.Index | None, accounts: pd.Index | None
) -> np.ndarray:
    """A scalar (broadcast to (n,)), an (n,) shared row or an (m, n) matrix, aligned by labels."""
    value = as_labelled(value)
    if isinstance(value, pd.Series | pd.DataFrame):
        if tickers is None:
            raise ValueError(f"{name} is labelled by ticker but current is not; label both")
        cols = value.index if isinstance(value, pd.Series) else value.columns
        check_labels(cols, tickers, name, "current")
        if isinstance(value, pd.DataFrame):
            assert accounts is not None
            check_labels(value.index, accounts, name, "current", what="accounts")
            value = value.loc[accounts, tickers]
        else:
            value = value.loc[tickers]
        value = value.to_numpy()
    arr = as_float_array(value, name)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape not in ((n,), (m, n)):
        raise ValueError(
            f"{name} must be a scalar, ({n},) shared by every account or ({m}, {n}) per "
            f"account, got shape {arr.shape}"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        if arr.ndim == 1:
            raise ValueError(f"{name} must be finite; asset {int(np.flatnonzero(bad)[0])} is not")
        r = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(f"{name} must be finite; account {_name(r, accounts)} has NaN or inf")
    return arr


def _lams(lam: Any, m: int, accounts: pd.Index | None) -> np.ndarray:
    if isinstance(lam, pd.Series):
        if accounts is None:
            raise ValueError("lam is labelled by account but current is not")
        check_labels(lam.index, accounts, "lam", "current", what="accounts")
        lam = lam.loc[accounts].to_numpy()
    arr = as_float_array(lam, "lam")
    if arr.ndim == 0:
        arr = np.full(m, float(arr))
    if arr.shape != (m,):
        raise ValueError(f"lam must be a scalar or have shape ({m},), got {arr.shape}")
    bad = ~(np.isfinite(arr) & (arr >= 0))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"lam must be finite and >= 0; account {_name(r, accounts)} has {arr[r]!r}"
        )
    return arr


def _check_accounts(
    cur: np.ndarray,
    tgt: np.ndarray,
    base: np.ndarray,
    buy: np.ndarray,
    sell: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    accounts: pd.Index | None,
) -> None:
    """Per-account checks, with the first offending account named in the message."""
    m = cur.shape[0]

    def first(mask: Any) -> str:
        rows = np.flatnonzero(np.broadcast_to(mask, (m,)))
        return _name(int(rows[0]), accounts)

    # In blocks of rows, so that a memory-mapped `current` is never converted whole.
    bad = np.concatenate([~np.isfinite(cur[a : a + 4096]).all(axis=1) for a in range(0, m, 4096)])
    if bad.any():
        raise ValueError(f"current must be finite; account {first(bad)} has NaN or inf")
    for arr, name in ((cur, "current"), (tgt, "target")):
        sums = np.atleast_2d(arr).sum(axis=1)
        off = np.abs(sums - 1.0) > WEIGHT_SUM_TOLERANCE
        if off.any():
            r = int(np.flatnonzero(np.broadcast_to(off, (m,)))[0])
            total = sums[r if sums.shape[0] > 1 else 0]
            raise ValueError(
                f"{name} must sum to 1 (within {WEIGHT_SUM_TOLERANCE:g}); account "
                f"{_name(r, accounts)} sums to {total:.10g}" + percent_hint(float(total))
            )
    for arr, name in ((base, "costs"), (buy, "buy_costs"), (sell, "sell_costs")):
        neg = (np.atleast_2d(arr) < 0).any(axis=1)
        if neg.any():
            raise ValueError(f"{name} must be >= 0; account {first(neg)} has a negative cost")
        slip = (np.atleast_2d(arr) >= COST_UNIT_SLIP).any(axis=1)
        if slip.any():
            raise ValueError(
                f"{name} is a fraction of the amount traded (0.001 = 10 bp); account "
                f"{first(slip)} has a cost >= {COST_UNIT_SLIP:g} (basis points or percent?)"
            )
    crossed = (np.atleast_2d(lo) > np.atleast_2d(hi)).any(axis=1)
    if crossed.any():
        raise ValueError(f"lower must be <= upper; account {first(crossed)} has lower > upper")
    lo_sum, hi_sum = np.atleast_2d(lo).sum(axis=1), np.atleast_2d(hi).sum(axis=1)
    infeasible = (lo_sum > 1.0) | (hi_sum < 1.0)
    if infeasible.any():
        raise ValueError(
            f"bounds make sum(w) = 1 infeasible for account {first(infeasible)}: "
            f"sum(lower) > 1 or sum(upper) < 1"
        )


def _label(r: int, accounts: pd.Index | None) -> Any:
    return r if accounts is None else accounts[r]


def _name(r: int, accounts: pd.Index | None) -> str:
    return f"{r}" if accounts is None else f"{accounts[r]!r} (row {r})"


def _frame(values: np.ndarray, accounts: pd.Index | None, tickers: pd.Index | None) -> Any:
    if tickers is None:
        return values
    return pd.DataFrame(values, index=accounts, columns=tickers)


def _series(values: np.ndarray, accounts: pd.Index | None, name: str) -> Any:
    if accounts is None:
        return values
    return pd.Series(values, index=accounts, name=name)
