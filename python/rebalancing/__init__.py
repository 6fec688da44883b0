"""Portfolio rebalancing with a certified C++ core.

The main entry points are :func:`solve` (the full result) and :func:`optimal_rebalance` (the
drop-in for the textbook scipy function) for cost-aware rebalancing; :func:`check_drift`,
:func:`band_trades` and :func:`threshold_rebalance` (the textbook drop-in) for band checks; and
:func:`backtest` / :func:`compare` to measure policies (:class:`Calendar`, :class:`Threshold`,
:class:`CostAware`, :class:`Never`) on real data (:mod:`rebalancing.datasets`).
"""

from rebalancing import datasets, tax
from rebalancing._version import __version__
from rebalancing.backtest import (
    Backtester,
    BacktestOptions,
    BacktestResult,
    backtest,
    backtests,
    compare,
    summary_table,
)
from rebalancing.batch import BatchResult, solve_batch
from rebalancing.costs import CostModel, LinearCost, MarketImpact
from rebalancing.covariance import DenseCovariance, FactorModel
from rebalancing.drift import DriftReport, band_trades, check_drift, threshold_rebalance
from rebalancing.orders import Account, TradeList, trade_list
from rebalancing.policies import Calendar, CostAware, Never, Threshold, policies_from_toml
from rebalancing.schedule import Schedule
from rebalancing.settings import Settings
from rebalancing.solver import RebalanceResult, optimal_rebalance, solve
from rebalancing.status import Status

__all__ = [
    "Account",
    "BacktestOptions",
    "BacktestResult",
    "Backtester",
    "BatchResult",
    "Calendar",
    "CostAware",
    "CostModel",
    "DenseCovariance",
    "DriftReport",
    "FactorModel",
    "LinearCost",
    "MarketImpact",
    "Never",
    "RebalanceResult",
    "Schedule",
    "Settings",
    "Status",
    "Threshold",
    "TradeList",
    "__version__",
    "backtest",
    "backtests",
    "band_trades",
    "check_drift",
    "compare",
    "datasets",
    "optimal_rebalance",
    "policies_from_toml",
    "solve",
    "solve_batch",
    "summary_table",
    "tax",
    "threshold_rebalance",
    "trade_list",
]
