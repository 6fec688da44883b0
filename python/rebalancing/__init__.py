"""Portfolio rebalancing with a certified C++ core.

The main entry points are :func:`solve` (the full result) and :func:`optimal_rebalance` (the
drop-in for the textbook scipy function) for cost-aware rebalancing, and :func:`check_drift`,
:func:`band_trades` and :func:`threshold_rebalance` (the textbook drop-in) for band checks.
"""

from rebalancing.batch import BatchResult, solve_batch
from rebalancing.covariance import DenseCovariance, FactorModel
from rebalancing.drift import DriftReport, band_trades, check_drift, threshold_rebalance
from rebalancing.solver import RebalanceResult, optimal_rebalance, solve

__all__ = [
    "BatchResult",
    "DenseCovariance",
    "DriftReport",
    "FactorModel",
    "RebalanceResult",
    "band_trades",
    "check_drift",
    "optimal_rebalance",
    "solve",
    "solve_batch",
    "threshold_rebalance",
]
__version__ = "0.1.0"
