"""solve_batch on executors: a real Dask LocalCluster (two worker processes on loopback) and
concurrent.futures, with the same answers as the local run."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pytest

import rebalancing as rb

distributed = pytest.importorskip("distributed")


def _problem(m: int = 40, n: int = 60, k: int = 4) -> tuple[np.ndarray, np.ndarray, rb.FactorModel]:
    rng = np.random.default_rng(11)
    model = rb.FactorModel(rng.normal(0.0, 0.1, (n, k)), np.eye(k) * 0.02, np.full(n, 0.01))
    current = rng.dirichlet(np.ones(n) * 20, size=m)
    return current, np.full(n, 1.0 / n), model


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        yield dask_client


def test_dask_cluster_gives_the_local_answers(client: Any) -> None:
    current, target, model = _problem()
    local = rb.solve_batch(current, target, model, 0.001, 10.0)
    remote = rb.solve_batch(current, target, model, 0.001, 10.0, executor=client, chunk_size=7)
    assert remote.optimal
    assert remote.weights.tobytes() == local.weights.tobytes()
    assert remote.objective.tobytes() == local.objective.tobytes()
    assert list(remote.status) == list(local.status)
    # Each worker was started with one thread: the core used exactly that many per task.
    assert remote.threads_per_task == (1,) * 6


def test_dask_with_labels_and_per_account_lam(client: Any) -> None:
    current, target, model = _problem(m=9)
    accounts = [f"acct{i}" for i in range(9)]
    frame = pd.DataFrame(current, index=accounts)
    lam = pd.Series(np.linspace(1.0, 50.0, 9), index=accounts[::-1])
    res = rb.solve_batch(frame, target, model, 0.001, lam, executor=client, chunk_size=4)
    local = rb.solve_batch(frame, target, model, 0.001, lam)
    # This test failed twice in about 20 full-suite runs of session 3 without its output
    # being kept; the messages below show the statuses and errors should it happen again.
    assert list(res.status.index) == accounts, res.errors
    np.testing.assert_array_equal(
        res.weights.to_numpy(),
        local.weights.to_numpy(),
        err_msg=f"statuses {list(res.status)}, errors {res.errors}",
    )


def test_repeated_batches_with_one_model_on_one_client(client: Any) -> None:
    # The model used to be scattered under a key derived from its contents: a second call with
    # the same model reused the key while the first call's future was being released, and the
    # scheduler cancelled the new call's tasks (FutureCancelledError on every chunk, seen in CI).
    current, target, model = _problem(m=8)
    local = rb.solve_batch(current, target, model, 0.001, 10.0)
    for _ in range(12):
        res = rb.solve_batch(current, target, model, 0.001, 10.0, executor=client, chunk_size=2)
        assert res.optimal, res.errors
        assert res.weights.tobytes() == local.weights.tobytes()


def test_process_and_thread_pools_give_the_local_answers() -> None:
    current, target, model = _problem(m=20)
    local = rb.solve_batch(current, target, model, 0.001, 10.0)
    with ThreadPoolExecutor(2) as pool:
        threads = rb.solve_batch(current, target, model, 0.001, 10.0, executor=pool, chunk_size=3)
    # "spawn": forking a process that runs threads (a Dask client's event loop, BLAS) can
    # deadlock the child.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        processes = rb.solve_batch(current, target, model, 0.001, 10.0, executor=pool)
    assert threads.weights.tobytes() == local.weights.tobytes()
    assert processes.weights.tobytes() == local.weights.tobytes()
    assert threads.threads_per_task == (1,) * 7  # outside Dask, one thread per task


class _FlakyExecutor(ThreadPoolExecutor):
    """Fails its second task, as a lost worker would after its retries."""

    def __init__(self) -> None:
        super().__init__(2)
        self.calls = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1
        if self.calls == 2:
            failed: Future[Any] = Future()
            failed.set_exception(RuntimeError("worker lost"))
            return failed
        return super().submit(fn, *args, **kwargs)


def test_a_failed_task_does_not_lose_the_other_accounts() -> None:
    current, target, model = _problem(m=12)
    local = rb.solve_batch(current, target, model, 0.001, 10.0)
    with _FlakyExecutor() as pool:
        res = rb.solve_batch(current, target, model, 0.001, 10.0, executor=pool, chunk_size=4)
    assert not res.optimal
    assert list(res.status[4:8]) == ["failed"] * 4
    assert np.isnan(res.weights[4:8]).all()
    assert sorted(res.errors) == [4, 5, 6, 7]
    assert "worker lost" in res.errors[5]
    keep = np.r_[0:4, 8:12]
    np.testing.assert_array_equal(res.weights[keep], local.weights[keep])
    assert (res.status[keep] == "optimal").all()


def test_bad_chunk_size() -> None:
    current, target, model = _problem(m=3)
    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="chunk_size"):
        rb.solve_batch(current, target, model, executor=pool, chunk_size=0)
