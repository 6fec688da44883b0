"""Portfolio rebalancing with a certified C++ core.

The main entry points are :func:`solve` (the full result) and :func:`optimal_rebalance` (the
drop-in for the textbook scipy function).
"""

from rebalancing.covariance import DenseCovariance
from rebalancing.solver import RebalanceResult, optimal_rebalance, solve

__all__ = ["DenseCovariance", "RebalanceResult", "optimal_rebalance", "solve"]
__version__ = "0.1.0"
