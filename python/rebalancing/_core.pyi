# Hand-written stub of the compiled module (cpp/src/bindings.cpp).
from typing import Any

import numpy as np

def solve_dense(
    cov: np.ndarray,
    current: np.ndarray,
    target: np.ndarray,
    buy: np.ndarray,
    sell: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    lam: float,
    rel_tol: float,
    abs_tol: float,
    max_iter: int,
    polish: bool,
    warm_start: np.ndarray | None,
    cov_max_abs: float,
    cov_eigenvalue_bound: float,
) -> dict[str, Any]: ...
def dense_stats(cov: np.ndarray) -> tuple[float, float]: ...
