"""pandas in, pandas out: labels are carried through and aligned, mismatches are errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rebalancing as rb
from _problems import make_problem

TICKERS = ["AAPL", "MSFT", "NVDA", "TLT", "GLD", "CASH"]


@pytest.fixture
def data() -> dict[str, object]:
    p = make_problem(17, len(TICKERS), "factor", "asymmetric", "boxes", "random", lam=10.0)
    idx = pd.Index(TICKERS, name="ticker")
    return {
        "p": p,
        "current": pd.Series(p.current, index=idx),
        "target": pd.Series(p.target, index=idx),
        "cov": pd.DataFrame(p.cov, index=idx, columns=idx),
        "buy": pd.Series(p.buy, index=idx),
        "sell": pd.Series(p.sell, index=idx),
        "lower": pd.Series(p.lower, index=idx),
        "upper": pd.Series(p.upper, index=idx),
    }


def _solve(d: dict, **overrides: object) -> rb.RebalanceResult:
    args: dict[str, object] = {
        "current": d["current"],
        "target": d["target"],
        "cov": d["cov"],
        "lam": 10.0,
        "buy_costs": d["buy"],
        "sell_costs": d["sell"],
        "lower": d["lower"],
        "upper": d["upper"],
    }
    args.update(overrides)
    return rb.solve(**args)  # type: ignore[arg-type]


def _numpy_answer(d: dict) -> rb.RebalanceResult:
    p = d["p"]
    return rb.solve(*p.args(), **p.kwargs())


def test_series_in_series_out(data: dict) -> None:
    res = _solve(data)
    assert res.status == "optimal"
    assert isinstance(res.weights, pd.Series)
    assert isinstance(res.trades, pd.Series)
    assert res.weights.index.equals(data["current"].index)
    assert res.trades.index.equals(data["current"].index)
    assert res.weights.dtype == np.float64
    np.testing.assert_array_equal(res.weights.to_numpy(), _numpy_answer(data).weights)
    pd.testing.assert_series_equal(res.trades, res.weights - data["current"], check_names=False)


def test_only_target_labelled_labels_the_result(data: dict) -> None:
    p = data["p"]
    res = rb.solve(p.current, data["target"], p.cov, 0.0)
    assert isinstance(res.weights, pd.Series)
    assert res.weights.index.equals(data["target"].index)
    assert res.trades.index.equals(data["target"].index)


def test_only_cov_labelled_labels_the_result(data: dict) -> None:
    p = data["p"]
    res = rb.solve(p.current, p.target, data["cov"], 0.001)
    assert isinstance(res.weights, pd.Series)
    assert list(res.weights.index) == TICKERS


def test_unlabelled_inputs_give_arrays(data: dict) -> None:
    res = _numpy_answer(data)
    assert isinstance(res.weights, np.ndarray)
    assert isinstance(res.trades, np.ndarray)


@pytest.mark.parametrize(
    "which", ["target", "cov", "buy", "sell", "lower", "upper", "all_but_current"]
)
def test_different_ticker_order_is_aligned_by_label(data: dict, which: str) -> None:
    order = [TICKERS[i] for i in (3, 0, 5, 1, 4, 2)]
    shuffled = dict(data)
    names = (
        ["target", "cov", "buy", "sell", "lower", "upper"] if which.startswith("all") else [which]
    )
    for name in names:
        value = data[name]
        shuffled[name] = value.loc[order, order] if name == "cov" else value.loc[order]
    res = _solve(shuffled)
    expected = _solve(data)
    assert res.status == "optimal"
    assert list(res.weights.index) == TICKERS  # the order of the first labelled input
    np.testing.assert_array_equal(res.weights.to_numpy(), expected.weights.to_numpy())


def test_current_order_decides_output_order(data: dict) -> None:
    order = TICKERS[::-1]
    res = _solve(data, current=data["current"].loc[order])
    expected = _solve(data)
    assert list(res.weights.index) == order
    pd.testing.assert_series_equal(res.weights.loc[TICKERS], expected.weights, atol=1e-15)


def test_scalar_costs_with_series_weights(data: dict) -> None:
    res = rb.solve(data["current"], data["target"], data["cov"], 0.002, 10.0)
    assert isinstance(res.weights, pd.Series)
    assert res.status == "optimal"


@pytest.mark.parametrize("name", ["target", "buy_costs", "sell_costs", "lower", "upper"])
def test_mismatched_ticker_set_names_argument(data: dict, name: str) -> None:
    key = {"buy_costs": "buy", "sell_costs": "sell"}.get(name, name)
    renamed = data[key].rename({"GLD": "SLV"})
    with pytest.raises(ValueError, match=f"{name} tickers do not match") as info:
        _solve(data, **{name: renamed})
    assert "SLV" in str(info.value)
    assert "GLD" in str(info.value)


@pytest.mark.parametrize("name", ["target", "lower"])
def test_missing_ticker_names_argument(data: dict, name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} tickers do not match"):
        _solve(data, **{name: data[name].drop("TLT")})


def test_extra_ticker_names_argument(data: dict) -> None:
    extra = pd.concat([data["target"], pd.Series([0.0], index=["BTC"])])
    with pytest.raises(ValueError, match=r"target tickers do not match.*BTC"):
        _solve(data, target=extra)


def test_cov_with_other_tickers_names_cov(data: dict) -> None:
    cov = data["cov"].rename(index={"GLD": "SLV"}, columns={"GLD": "SLV"})
    with pytest.raises(ValueError, match="cov"):
        _solve(data, cov=cov)


def test_mismatched_warm_start_names_argument(data: dict) -> None:
    warm = data["current"].rename({"GLD": "SLV"})
    with pytest.raises(ValueError, match="warm_start"):
        _solve(data, warm_start=warm)


def test_warm_start_series_is_aligned(data: dict) -> None:
    cold = _solve(data)
    warm = _solve(data, warm_start=cold.weights.iloc[::-1])
    assert warm.status == "optimal"
    np.testing.assert_allclose(warm.weights.to_numpy(), cold.weights.to_numpy(), atol=1e-9)
    warm_result = _solve(data, warm_start=cold)  # a labelled RebalanceResult
    assert warm_result.status == "optimal"


@pytest.mark.parametrize("name", ["current", "target", "lower"])
def test_duplicate_tickers_are_an_error(data: dict, name: str) -> None:
    dup_index = [*TICKERS[:-1], TICKERS[0]]
    value = pd.Series(data[name].to_numpy(), index=dup_index)
    with pytest.raises(ValueError, match=f"{name} has duplicate tickers"):
        _solve(data, **{name: value})


def test_duplicate_tickers_in_cov_are_an_error(data: dict) -> None:
    dup_index = [*TICKERS[:-1], TICKERS[0]]
    cov = pd.DataFrame(data["cov"].to_numpy(), index=dup_index, columns=dup_index)
    with pytest.raises(ValueError, match="cov has duplicate tickers"):
        _solve(data, cov=cov)


def test_cov_rows_and_columns_in_different_order_is_an_error(data: dict) -> None:
    cov = data["cov"].loc[TICKERS, TICKERS[::-1]]
    with pytest.raises(ValueError, match="cov must have the same tickers"):
        _solve(data, cov=cov)


def test_cov_rows_and_columns_with_different_tickers_is_an_error(data: dict) -> None:
    cov = data["cov"].rename(columns={"GLD": "SLV"})
    with pytest.raises(ValueError, match="cov must have the same tickers"):
        _solve(data, cov=cov)


def test_non_square_dataframe_cov_is_an_error(data: dict) -> None:
    with pytest.raises(ValueError, match="cov"):
        _solve(data, cov=data["cov"].drop(columns="CASH"))


def test_dense_covariance_from_dataframe_keeps_tickers(data: dict) -> None:
    sigma = rb.DenseCovariance(data["cov"])
    assert sigma.tickers is not None
    assert list(sigma.tickers) == TICKERS
    res = _solve(data, cov=sigma)
    np.testing.assert_array_equal(res.weights.to_numpy(), _solve(data).weights.to_numpy())


def test_dense_covariance_in_other_order_is_aligned(data: dict) -> None:
    """A prebuilt DenseCovariance labelled in another order is put in the weights' order, as a
    DataFrame is (it used to be an error)."""
    sigma = rb.DenseCovariance(data["cov"].loc[TICKERS[::-1], TICKERS[::-1]])
    np.testing.assert_allclose(
        _solve(data, cov=sigma).weights, _solve(data).weights, rtol=0, atol=1e-13
    )


def test_dense_covariance_rejects_mismatched_dataframe(data: dict) -> None:
    with pytest.raises(ValueError, match="cov"):
        rb.DenseCovariance(data["cov"].loc[TICKERS, TICKERS[::-1]])


def test_nan_in_series_names_argument(data: dict) -> None:
    target = data["target"].copy()
    target["NVDA"] = np.nan
    with pytest.raises(ValueError, match="target"):
        _solve(data, target=target)


def test_object_series_names_argument(data: dict) -> None:
    with pytest.raises(TypeError, match="target"):
        _solve(data, target=data["target"].astype(str))


def test_nullable_float_series_is_accepted(data: dict) -> None:
    res = _solve(data, current=data["current"].astype("Float64"))
    np.testing.assert_array_equal(res.weights.to_numpy(), _solve(data).weights.to_numpy())


def test_inputs_are_not_mutated(data: dict) -> None:
    before = {k: v.copy() for k, v in data.items() if isinstance(v, pd.Series | pd.DataFrame)}
    order = TICKERS[::-1]
    _solve(data, target=data["target"].loc[order], cov=data["cov"].loc[order, order])
    for key, value in before.items():
        if isinstance(value, pd.Series):
            pd.testing.assert_series_equal(data[key], value)
        else:
            pd.testing.assert_frame_equal(data[key], value)


def test_optimal_rebalance_returns_series_for_series(data: dict) -> None:
    w = rb.optimal_rebalance(data["current"], data["target"], data["cov"], 0.001, 10.0)
    assert isinstance(w, pd.Series)
    assert list(w.index) == TICKERS
    res = rb.solve(data["current"], data["target"], data["cov"], 0.001, 10.0)
    pd.testing.assert_series_equal(w, res.weights)
