# Hand-written stub of the compiled module (cpp/src/bindings.cpp).
from typing import Any

import numpy as np

STATUS_NAMES: tuple[str, ...]

class Settings:
    rel_tol: float
    abs_tol: float
    max_iter: int
    polish: bool
    def __init__(self, rel_tol: float, abs_tol: float, max_iter: int, polish: bool) -> None: ...

def solve(
    cov_spec: tuple[Any, ...],
    current: np.ndarray,
    target: np.ndarray,
    buy: np.ndarray,
    sell: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    lam: float,
    settings: Settings,
    warm_start: np.ndarray | None,
    curves: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]: ...
def solve_batch(
    cov_spec: tuple[Any, ...],
    current: np.ndarray,
    target: np.ndarray,
    buy: np.ndarray,
    sell: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    lam: np.ndarray,
    settings: Settings,
    warm_start: np.ndarray | None,
    n_threads: int,
) -> dict[str, Any]: ...
def factor_stats(
    loadings: np.ndarray, factor_cov: np.ndarray, specific_var: np.ndarray
) -> tuple[float, float]: ...
def dense_stats(cov: np.ndarray) -> tuple[float, float]: ...
def fingerprint(data: Any, secret: bytes) -> int: ...
def max_asymmetry(cov: np.ndarray) -> float: ...
def check_drift(
    current: np.ndarray,
    target: np.ndarray,
    abs_band: np.ndarray | None = None,
    rel_band: np.ndarray | None = None,
    group: np.ndarray | None = None,
    n_groups: int = 0,
    n_threads: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
def max_drift(current: np.ndarray, target: np.ndarray) -> tuple[float, int, float, float]: ...

class Backtest:
    def __init__(
        self,
        returns: np.ndarray,
        target: np.ndarray,
        check: np.ndarray,
        band: np.ndarray | None,
        linear_rates: np.ndarray,
        impact: np.ndarray | None,
        initial: np.ndarray,
        nav0: float,
        stop_at_events: bool,
        flows: np.ndarray | None = None,
        flows_to_underweight: bool = False,
    ) -> None: ...
    def run(self) -> int: ...
    def weights(self) -> np.ndarray: ...
    def trade(self, new_weights: np.ndarray) -> None: ...
    def results(self) -> dict[str, np.ndarray]: ...
