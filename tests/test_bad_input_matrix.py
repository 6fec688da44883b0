"""A bad-input matrix over the public entry points: every argument of every function, given
values of the wrong kind or out of range, gets a ValueError or TypeError whose message names the
argument -- never another exception, never a crash, and never silence for a value that cannot
mean anything (text, an object, a boolean, NaN, inf, a complex number, bytes, a ragged list).

Values that may be valid for some arguments (None, a negative number, an empty list, a mapping)
must either work or be refused clearly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

import rebalancing as rb

TICKERS = ["A", "B", "C"]
CURRENT = np.array([0.3, 0.3, 0.4])
TARGET = np.full(3, 1 / 3)
COV = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.0], [0.0, 0.0, 0.01]])
RETURNS = pd.DataFrame(
    np.random.default_rng(0).normal(0.0005, 0.01, (60, 3)),
    index=pd.bdate_range("2023-01-02", periods=60),
    columns=TICKERS,
)

#: Values no argument can accept.
NONSENSE: dict[str, Any] = {
    "text": "abc",
    "object": object(),
    "bool": True,
    "nan": math.nan,
    "inf": math.inf,
    "complex": 1j,
    "bytes": b"x",
    "ragged": [[1.0, 2.0], [3.0]],
    "text array": np.array(["a", "b", "c"]),
}
#: Values some arguments accept.
MAYBE: dict[str, Any] = {
    "none": None,
    "negative": -1.0,
    "empty": [],
    "mapping": {"ZZ": 1.0},
    "huge": 10**30,  # beyond any 64-bit counter of the core
}


def _drift_report() -> rb.DriftReport:
    return rb.check_drift(CURRENT, TARGET, abs_band=0.01)


# entry point -> (callable, valid keyword arguments, aliases accepted in messages per argument)
ENTRY_POINTS: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "solve": (
        rb.solve,
        {
            "current": CURRENT,
            "target": TARGET,
            "cov": COV,
            "costs": 0.001,
            "lam": 1.0,
            "lower": 0.0,
            "upper": 1.0,
            "buy_costs": 0.001,
            "sell_costs": 0.001,
            "warm_start": CURRENT,
            "tol": 1e-9,
            "abs_tol": 1e-15,
            "max_iter": 100,
            "polish": True,
        },
    ),
    "optimal_rebalance": (
        rb.optimal_rebalance,
        {"current_w": CURRENT, "target_w": TARGET, "cov": COV, "costs": 0.001, "lam": 1.0},
    ),
    "solve_batch": (
        rb.solve_batch,
        {
            "current": np.vstack([CURRENT, CURRENT]),
            "target": TARGET,
            "cov": COV,
            "costs": 0.001,
            "lam": 1.0,
            "lower": 0.0,
            "upper": 1.0,
            "n_threads": 1,
            "max_iter": 100,
            "chunk_size": 1,
        },
    ),
    "Settings": (rb.Settings, {"tol": 1e-9, "abs_tol": 1e-15, "max_iter": 10, "polish": True}),
    "DenseCovariance": (rb.DenseCovariance, {"matrix": COV}),
    "FactorModel": (
        rb.FactorModel,
        {"loadings": np.ones((3, 1)), "factor_cov": np.eye(1), "specific_var": np.full(3, 0.01)},
    ),
    "check_drift": (
        rb.check_drift,
        {"current": CURRENT, "target": TARGET, "abs_band": 0.05, "rel_band": 0.25},
    ),
    "band_trades": (lambda **kw: rb.band_trades(_drift_report(), **kw), {"to": "edge"}),
    "threshold_rebalance": (
        rb.threshold_rebalance,
        {"current_weights": CURRENT, "target_weights": TARGET, "threshold": 0.05},
    ),
    "backtest": (
        rb.backtest,
        {
            "returns": RETURNS,
            "target": TARGET,
            "policy": rb.Calendar("monthly"),
            "costs": 0.001,
            "initial": CURRENT,
            "initial_nav": 1e6,
            "periods_per_year": 252.0,
            "flows": 0.0,
            "flow_to": "pro_rata",
        },
    ),
    "compare": (
        rb.compare,
        {"returns": RETURNS, "target": TARGET, "policies": [rb.Never()], "costs": 0.001},
    ),
    "Calendar": (rb.Calendar, {"freq": "monthly", "when": "last"}),
    "Threshold": (
        rb.Threshold,
        {"abs_band": 0.05, "rel_band": 0.25, "check": "daily", "to": "inner", "inner": 0.5},
    ),
    "CostAware": (
        rb.CostAware,
        {
            "lam": 10.0,
            "risk": "sample",
            "window": 20,
            "min_periods": 5,
            "costs": 0.001,
            "factors": 2,
        },
    ),
    "LinearCost": (
        lambda **kw: rb.backtest(RETURNS, TARGET, rb.Calendar("monthly"), rb.LinearCost(**kw)),
        {"commission_bps": 1.0, "half_spread_bps": 5.0},
    ),
    "MarketImpact": (
        lambda **kw: rb.backtest(RETURNS, TARGET, rb.Calendar("monthly"), rb.MarketImpact(**kw)),
        {"adv": 1e8, "coefficient": 1.0, "window": 10},
    ),
}

#: What a message may call an argument instead of its own name.
ALIASES = {
    "current_w": ("current",),
    "target_w": ("target",),
    "current_weights": ("current",),
    "target_weights": ("target",),
    "matrix": ("cov",),  # DenseCovariance(matrix) names what it holds: a covariance
    # A valid but absurd impact coefficient ends the backtest with the date the costs exceed
    # the value on: the message names the consequence.
    "coefficient": ("trading costs",),
}
#: Arguments for which a boolean, or a text, is a valid value.
BOOLEAN = {"polish", "fractional"}
TEXT = {"ticker", "date", "name"}  # any text is a ticker; a date in text is parsed (and checked)


def _ledger() -> rb.tax.Ledger:
    ledger = rb.tax.Ledger({"brokerage": "taxable"})
    ledger.buy("2024-01-02", "VOO", 100, Decimal("450"))
    return ledger


def _ledger_call(method: str) -> Callable[..., Any]:
    return lambda **kw: getattr(_ledger(), method)(**kw)


TAX_TARGET = pd.Series({"VOO": 0.5, "IVV": 0.5})
TAX_COV = pd.DataFrame([[0.04, 0.039], [0.039, 0.04]], TAX_TARGET.index, TAX_TARGET.index)
PRICES = {"VOO": Decimal("400"), "IVV": Decimal("440")}

ENTRY_POINTS |= {
    "Ledger.buy": (
        _ledger_call("buy"),
        {"date": "2024-02-01", "ticker": "IVV", "shares": 10, "price": Decimal("440")},
    ),
    "Ledger.sell": (
        _ledger_call("sell"),
        {"date": "2024-02-01", "ticker": "VOO", "shares": 10, "price": Decimal("400")},
    ),
    "harvest": (
        lambda **kw: rb.tax.harvest(_ledger(), **kw),
        {
            "prices": PRICES,
            "date": "2024-08-05",
            "substitutes": {"VOO": ["IVV"]},
            "min_loss_usd": 100,
            "min_loss_pct": Decimal("0.05"),
        },
    ),
    "tax_aware_rebalance": (
        lambda **kw: rb.tax.tax_aware_rebalance(_ledger(), **kw),
        {
            "prices": PRICES,
            "target": TAX_TARGET,
            "cov": TAX_COV,
            "date": "2024-08-05",
            "lam": 10.0,
            "short_term_rate": 0.37,
            "long_term_rate": 0.2,
        },
    ),
    "TaxPolicy": (
        rb.tax.TaxPolicy,
        {"short_term_rate": 0.37, "long_term_rate": 0.2, "method": "hifo"},
    ),
}

ACCOUNT_TICKERS = pd.Index(["A", "B", "C"])
ENTRY_POINTS |= {
    "Account": (
        rb.Account,
        {
            "shares": {"A": 10.0, "B": 5.0},
            "cash": 100.0,
            "prices": {"A": 10.0, "B": 20.0, "C": 30.0},
            "name": "acct",
        },
    ),
    "trade_list": (
        rb.trade_list,
        {
            "account": rb.Account({"A": 10.0, "B": 5.0}, 100.0, {"A": 10.0, "B": 20.0, "C": 30.0}),
            "target": {"A": 0.3, "B": 0.3, "C": 0.3, "CASH": 0.1},
            "method": "optimal",
            "cov": pd.DataFrame(COV, index=ACCOUNT_TICKERS, columns=ACCOUNT_TICKERS),
            "costs": 0.001,
            "lam": 1.0,
            "lot_size": 1,
            "min_trade": 0.0,
            "cash_reserve": 0.0,
            "fractional": False,
            "mode": "full",
            "settings": rb.Settings(),
        },
    ),
}

CASES = [
    (entry, arg, label)
    for entry, (_, valid) in ENTRY_POINTS.items()
    for arg in valid
    for label in [*NONSENSE, *MAYBE]
    if not (label == "bool" and arg in BOOLEAN) and not (label == "text" and arg in TEXT)
]


def _call(entry: str, arg: str, value: Any) -> Any:
    function, valid = ENTRY_POINTS[entry]
    return function(**{**valid, arg: value})


def test_every_entry_point_accepts_its_valid_arguments() -> None:
    for function, valid in ENTRY_POINTS.values():
        function(**valid)  # the matrix below varies one argument of a working call


@pytest.mark.parametrize(("entry", "arg", "label"), CASES)
def test_bad_input_gets_a_clear_error(entry: str, arg: str, label: str) -> None:
    value = NONSENSE.get(label, MAYBE.get(label))
    try:
        _call(entry, arg, value)
    except (ValueError, TypeError) as err:
        names = (arg, *ALIASES.get(arg, ()))
        assert any(name in str(err) for name in names), f"{entry}({arg}={value!r}): {err}"
        return
    assert label in MAYBE, f"{entry}({arg}={value!r}) was accepted"
