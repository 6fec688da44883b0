"""One vocabulary: settings, statuses, units, labels and results, the same across the library."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest

import rebalancing as rb
from rebalancing import _core

TICKERS = ["SPY", "EFA", "AGG"]
COV = np.array([[0.040, 0.006, 0.002], [0.006, 0.090, 0.010], [0.002, 0.010, 0.010]])
CURRENT = np.array([0.30, 0.25, 0.45])
TARGET = np.full(3, 1 / 3)


def _returns(seed: int = 0) -> pd.DataFrame:
    """Business days of January 2020 to February 2021 (14 whole months)."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2020-01-02", "2021-02-26")
    return pd.DataFrame(rng.normal(0.0003, 0.01, (len(index), 3)), index=index, columns=TICKERS)


# --- settings ------------------------------------------------------------------------------------


def test_settings_are_validated_once_frozen_and_picklable() -> None:
    s = rb.Settings(tol=1e-10, max_iter=500)
    assert (s.tol, s.abs_tol, s.max_iter, s.polish) == (1e-10, 1e-15, 500, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.tol = 1.0  # type: ignore[misc]
    back = pickle.loads(pickle.dumps(s))
    assert back == s and back.core.rel_tol == 1e-10 and back.core.max_iter == 500
    for bad, name in (
        ({"tol": 0}, "tol"),
        ({"abs_tol": -1}, "abs_tol"),
        ({"max_iter": 0}, "max_iter"),
    ):
        with pytest.raises(ValueError, match=name):
            rb.Settings(**bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="polish"):
        rb.Settings(polish=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_iter"):
        rb.Settings(max_iter=True)  # type: ignore[arg-type]


def test_one_settings_object_drives_solve_batch_and_cost_aware() -> None:
    tight = rb.Settings(max_iter=1, polish=False)  # one gradient step: never certified here
    single = rb.solve(CURRENT, TARGET, COV, 0.001, 10.0, settings=tight)
    assert single.status is rb.Status.MAX_ITERATIONS and single.iterations <= 1
    batch = rb.solve_batch(np.vstack([CURRENT, CURRENT]), TARGET, COV, 0.001, 10.0, settings=tight)
    assert list(batch.status) == [rb.Status.MAX_ITERATIONS] * 2
    # The keyword conveniences build the same settings.
    by_keywords = rb.solve(CURRENT, TARGET, COV, 0.001, 10.0, max_iter=1, polish=False)
    np.testing.assert_array_equal(by_keywords.weights, single.weights)
    # ... and override a given settings object field by field.
    relaxed = rb.solve(
        CURRENT, TARGET, COV, 0.001, 10.0, settings=tight, max_iter=10_000, polish=True
    )
    assert relaxed.status is rb.Status.OPTIMAL
    policy = rb.CostAware(10.0, settings=tight, check="monthly")
    assert policy.settings is tight
    res = rb.backtest(_returns(), TARGET, policy, costs=0.001)
    assert any("solver status max_iterations" in note for note in res.notes)
    with pytest.raises(TypeError, match="settings"):
        rb.solve(CURRENT, TARGET, COV, settings={"tol": 1e-9})  # type: ignore[arg-type]


# --- statuses ------------------------------------------------------------------------------------


def test_status_is_the_cores_vocabulary_and_a_string() -> None:
    assert tuple(s.value for s in rb.Status) == _core.STATUS_NAMES
    res = rb.solve(CURRENT, TARGET, COV, 0.001, 10.0)
    assert (
        res.status is rb.Status.OPTIMAL and res.status == "optimal" and str(res.status) == "optimal"
    )
    assert isinstance(res.status, str)


def test_batch_statuses_are_status_members_including_invalid_accounts() -> None:
    current = np.vstack([CURRENT, CURRENT])
    lower = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0]])  # account 1: sum(lower) = 1 ...
    upper = np.array([[1.0, 1.0, 1.0], [0.5, 0.5, 1.0]])  # ... feasible, solved
    batch = rb.solve_batch(current, TARGET, COV, 0.001, 10.0, lower=lower, upper=upper)
    assert all(isinstance(s, rb.Status) for s in batch.status)
    assert batch.optimal
    frame = pd.DataFrame(current, index=["a", "b"], columns=TICKERS)
    labelled = rb.solve_batch(frame, pd.Series(TARGET, TICKERS), COV, 0.001, 10.0)
    assert labelled.status.to_dict() == {"a": rb.Status.OPTIMAL, "b": rb.Status.OPTIMAL}


def test_solve_batch_refuses_an_overflowing_lambda_like_solve() -> None:
    # Defect: solve_batch lacked solve's guard and reported gap 0 with status max_iterations.
    with pytest.raises(ValueError, match="overflows float64"):
        rb.solve(CURRENT, TARGET, COV, 0.001, 1.7e308)
    accounts = pd.DataFrame(np.vstack([CURRENT, CURRENT]), index=["a", "b"], columns=TICKERS)
    with pytest.raises(ValueError, match=r"overflows float64 arithmetic for account 'b'"):
        rb.solve_batch(
            accounts, pd.Series(TARGET, TICKERS), COV, 0.001, pd.Series([1.0, 1.7e308], ["a", "b"])
        )


# --- units ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("costs", [10, 0.05, 5.0])
def test_a_cost_in_basis_points_is_a_unit_slip_everywhere(costs: float) -> None:
    message = r"fraction of the amount traded \(0.001 = 10 bp\)"
    with pytest.raises(ValueError, match=message):
        rb.solve(CURRENT, TARGET, COV, costs, 10.0)
    with pytest.raises(ValueError, match=message):
        rb.solve(CURRENT, TARGET, COV, 0.001, 10.0, sell_costs=costs)
    with pytest.raises(ValueError, match="costs is a fraction"):
        rb.solve_batch(np.vstack([CURRENT, CURRENT]), TARGET, COV, costs, 10.0)
    with pytest.raises(ValueError, match=message):
        rb.backtest(_returns(), TARGET, rb.Never(), costs=costs)
    with pytest.raises(ValueError, match=message):
        rb.CostAware(10.0, costs=costs)


def test_a_number_of_costs_means_the_same_everywhere() -> None:
    # 0.001 = 10 bp in the solver, the batch, the policies and the backtest alike.
    returns = _returns()
    plain = rb.backtest(returns, TARGET, rb.Calendar("monthly"), costs=0.001).summary()
    named = rb.backtest(
        returns, TARGET, rb.Calendar("monthly"), costs=rb.LinearCost(half_spread_bps=10)
    ).summary()
    assert plain["cost_bps"] == pytest.approx(named["cost_bps"], rel=1e-12)
    assert plain["cost_bps"] == pytest.approx(2 * 10 * plain["turnover"], rel=1e-9)


@pytest.mark.parametrize("scale", [100.0, 99.99999])
def test_weights_in_percent_are_named_as_such(scale: float) -> None:
    percent = TARGET * scale
    hint = "weights are fractions of the portfolio"
    with pytest.raises(ValueError, match=hint):
        rb.solve(CURRENT, percent, COV, 0.001)
    with pytest.raises(ValueError, match=hint):
        rb.solve_batch(np.vstack([CURRENT * scale] * 2), TARGET, COV, 0.001)
    with pytest.raises(ValueError, match=hint):
        rb.backtest(_returns(), percent, rb.Never())


# --- labels --------------------------------------------------------------------------------------


def test_plain_dicts_are_labelled_weights_everywhere() -> None:
    # What PyPortfolioOpt's clean_weights() returns: an OrderedDict by ticker.
    current = dict(zip(TICKERS, CURRENT, strict=True))
    target = dict(zip(reversed(TICKERS), reversed(TARGET.tolist()), strict=True))
    cov = pd.DataFrame(COV, TICKERS, TICKERS)
    res = rb.solve(current, target, cov, {"SPY": 0.001, "AGG": 0.001, "EFA": 0.002}, 10.0)
    series = rb.solve(
        pd.Series(CURRENT, TICKERS),
        pd.Series(TARGET, TICKERS),
        cov,
        pd.Series([0.001, 0.002, 0.001], TICKERS),
        10.0,
    )
    pd.testing.assert_series_equal(res.weights, series.weights)
    frame = pd.DataFrame([CURRENT, CURRENT], index=["a", "b"], columns=TICKERS)
    batch = rb.solve_batch(frame, target, cov, {"EFA": 0.002, "SPY": 0.001, "AGG": 0.001}, 10.0)
    np.testing.assert_allclose(batch.weights.loc["a"], series.weights, rtol=0, atol=1e-14)
    bt = rb.backtest(_returns(), target, rb.Calendar("monthly"), initial=current)
    assert list(bt.weights.columns) == TICKERS


@pytest.mark.parametrize(
    "call",
    [
        lambda t: rb.solve(pd.Series(CURRENT, TICKERS), t, COV),
        lambda t: rb.solve_batch(pd.DataFrame([CURRENT], columns=TICKERS), t, COV),
        lambda t: rb.backtest(_returns(), t, rb.Never()),
        lambda t: rb.check_drift(pd.Series(CURRENT, TICKERS), t),
    ],
)
def test_one_wording_for_misaligned_tickers(call: object) -> None:
    wrong = pd.Series(TARGET, ["SPY", "EFA", "BND"])
    with pytest.raises(
        ValueError, match=r"target tickers do not match .*: missing \['AGG'\], unexpected \['BND'\]"
    ):
        call(wrong)  # type: ignore[operator]


# --- backtests -----------------------------------------------------------------------------------


def test_backtester_validates_once_and_runs_like_the_functions() -> None:
    returns = _returns()
    bt = rb.Backtester(returns, TARGET, costs=0.001, initial_nav=1e5)
    a = bt.run(rb.Calendar("monthly"))
    b = rb.backtest(returns, TARGET, rb.Calendar("monthly"), costs=0.001, initial_nav=1e5)
    pd.testing.assert_frame_equal(a.weights, b.weights)
    table = bt.compare([rb.Never(), rb.Calendar("monthly")])
    pd.testing.assert_frame_equal(
        table,
        rb.compare(returns, TARGET, [rb.Never(), rb.Calendar("monthly")], 0.001, initial_nav=1e5),
    )
    with pytest.raises(TypeError, match=r"unknown backtest option\(s\) \['initial_value'\]"):
        rb.Backtester(returns, TARGET, initial_value=1e5)  # type: ignore[call-arg]


def test_backtest_results_are_immutable() -> None:
    res = rb.backtest(_returns(), TARGET, rb.Calendar("monthly"), costs=0.001)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.policy = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        res.raw["nav"] = np.zeros(3)  # type: ignore[index]
    with pytest.raises(ValueError, match="read-only"):
        res.raw["nav"][0] = 0.0
    weights = res.weights
    weights.iloc[0, 0] = 99.0  # a copy: the result does not change
    assert res.weights.iloc[0, 0] != 99.0
    nav = res.nav
    nav.iloc[0] = -1.0
    assert res.nav.iloc[0] > 0


def test_pre_trade_and_average_weights_and_an_integer_rebalance_count() -> None:
    returns = _returns()
    res = rb.backtest(returns, TARGET, rb.Calendar("monthly"), costs=0.001)
    pre, post = res.pre_trade_weights, res.weights
    # Pre-trade weights are the previous post-trade weights drifted by the period's returns.
    grown = post.shift(1).fillna(pd.Series(TARGET, TICKERS)) * (1 + returns)
    pd.testing.assert_frame_equal(pre, grown.div(grown.sum(axis=1), axis=0), rtol=1e-12)
    pd.testing.assert_frame_equal(
        res.trades, (post - pre).where(res.trades.abs().sum(axis=1) > 0, 0.0), atol=1e-15
    )
    held = pd.concat([pd.DataFrame([TARGET], columns=TICKERS), post.iloc[:-1]])
    pd.testing.assert_series_equal(res.average_weights, held.mean(), check_names=False)
    months = returns.index.to_period("M").nunique()
    assert months == 14
    assert res.rebalances == months and isinstance(res.rebalances, int)
    summary = res.summary()
    assert isinstance(summary["rebalances"], int) and summary["rebalances"] == months
    assert rb.summary_table({"m": res})["rebalances"].dtype.kind == "i"


def test_a_value_that_overflows_float64_is_an_error_naming_the_date() -> None:
    index = pd.bdate_range("2021-01-01", periods=40)
    returns = pd.DataFrame(1e9, index=index, columns=["A", "B"])  # ×1e9 a day: 1e360 by day 40
    with pytest.raises(ValueError, match=r"overflows float64 on 2021-02-1\d"):
        rb.backtest(returns, [0.5, 0.5], rb.Never())


def test_backtest_results_plot_themselves() -> None:
    pytest.importorskip("matplotlib")
    res = rb.backtest(_returns(), TARGET, rb.Calendar("monthly"), costs=0.001)
    fig = res.plot()
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), res.nav.to_numpy())
    drift = res.plot("drift")
    assert drift.axes[0].get_title().startswith("monthly")
    with pytest.raises(ValueError, match="kind must be one of"):
        res.plot("returns")


# --- small defects found by using the library as a new user would ---------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: rb.CostAware(True),
        lambda: rb.CostAware(10.0, window=True),
        lambda: rb.CostAware(10.0, factors=True),
        lambda: rb.Threshold(0.05, to="inner", inner=True),
        lambda: rb.backtest(_returns(), TARGET, rb.Never(), initial_nav=True),
        lambda: rb.backtest(_returns(), TARGET, rb.Never(), periods_per_year=True),
        lambda: rb.solve(CURRENT, TARGET, COV, 0.001, lam=True),
    ],
)
def test_booleans_are_not_numbers(make: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        make()  # type: ignore[operator]


@pytest.mark.parametrize("factors", [0, -2])
def test_pca_factors_below_one_are_an_error_not_clamped(factors: int) -> None:
    with pytest.raises(ValueError, match="factors must be an integer >= 1"):
        rb.CostAware(10.0, risk="pca", factors=factors)
    from rebalancing.risk import estimate_covariance

    with pytest.raises(ValueError, match="factors must be an integer >= 1"):
        estimate_covariance(_returns().to_numpy(), "pca", factors=factors)


def test_intraday_timestamps_are_not_taken_for_days() -> None:
    index = pd.date_range("2024-01-02 09:30", periods=40, freq="h")
    returns = pd.DataFrame(0.001, index=index, columns=["A", "B"])
    with pytest.raises(ValueError, match=r"several rows on 2024-01-02 \(intraday timestamps\)"):
        rb.backtest(returns, [0.5, 0.5], rb.Never())
    # One row a day with a time of day (a close at 16:00) is daily data.
    daily = pd.DataFrame(
        0.001,
        index=pd.bdate_range("2024-01-02", periods=40) + pd.Timedelta("16h"),
        columns=["A", "B"],
    )
    assert rb.backtest(daily, [0.5, 0.5], rb.Never()).periods_per_year == 252


def test_valid_inputs_that_were_refused() -> None:
    # A numpy float32 inner band and sum() over cost terms.
    policy = rb.Threshold(0.05, to="inner", inner=np.float32(0.5))
    assert policy.inner == 0.5
    costs = sum(
        [
            rb.LinearCost(commission_bps=1),
            rb.LinearCost(half_spread_bps=5),
            rb.MarketImpact(adv=1e9),
        ]
    )
    assert isinstance(costs, rb.CostModel) and len(costs.terms) == 3
    res = rb.backtest(_returns(), TARGET, rb.Calendar("monthly"), costs=costs)
    assert res.summary()["cost_bps"] > 0
