"""Covariance matrices the solver accepts, validated once.

A :class:`DenseCovariance` checks on construction that the matrix is square, finite, symmetric
and positive semidefinite, then hands the very same buffer to the C++ core on every solve (a
C-contiguous ``float64`` matrix is never copied). Passing a plain array to :func:`solve` builds
one per call, so the checks are paid every time; build it once when you solve repeatedly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.linalg.lapack

from rebalancing import _core
from rebalancing._validation import as_matrix

__all__ = ["DenseCovariance", "as_covariance"]

#: Relative tolerance of the checks: asymmetry up to ``SYMMETRY_TOL * max|Σ|`` and a smallest
#: eigenvalue down to ``-PSD_TOL * max|Σ|`` are rounding, not errors.
SYMMETRY_TOL = 1e-10
PSD_TOL = 1e-10


class DenseCovariance:
    """A dense, validated covariance matrix Σ (n × n).

    Parameters
    ----------
    matrix : array-like or pd.DataFrame
        Symmetric positive semidefinite. A DataFrame's index (equal to its columns) gives the
        tickers, which then must match the weights' tickers.
    check_psd : bool
        Verify positive semidefiniteness with a Cholesky factorisation of
        ``Σ + PSD_TOL·max|Σ|·I`` (O(n³), done once here). Disable only for a matrix known to
        be PSD by construction.

    Raises
    ------
    ValueError
        If Σ is not square, not finite, asymmetric beyond ``SYMMETRY_TOL`` relative, or has an
        eigenvalue below ``-PSD_TOL * max|Σ|``.
    """

    def __init__(self, matrix: Any, *, check_psd: bool = True, name: str = "cov") -> None:
        self.tickers: pd.Index | None = matrix.index if isinstance(matrix, pd.DataFrame) else None
        if isinstance(matrix, pd.DataFrame) and not matrix.index.equals(matrix.columns):
            raise ValueError(f"{name} must have the same tickers as rows and columns")
        arr = as_matrix(matrix, name)
        scale, eigenvalue_bound = _core.dense_stats(arr)
        asym = float(np.max(np.abs(arr - arr.T))) if arr.size else 0.0
        if asym > SYMMETRY_TOL * max(scale, np.finfo(float).tiny):
            raise ValueError(
                f"{name} must be symmetric: max |Σ - Σᵀ| = {asym:.3g} "
                f"(relative {asym / scale:.3g} > {SYMMETRY_TOL:g})"
            )
        if check_psd and scale > 0:
            _check_psd(arr, scale, name)
        self.matrix: np.ndarray = arr
        #: max|Σ_ij| and min(max absolute row sum, Frobenius norm) ≥ the largest eigenvalue:
        #: the scale the core needs, computed once here rather than on every solve.
        self.max_abs: float = scale
        self.eigenvalue_bound: float = eigenvalue_bound

    @property
    def n(self) -> int:
        """Number of assets."""
        return int(self.matrix.shape[0])

    def __repr__(self) -> str:
        return f"DenseCovariance(n={self.n})"


def _check_psd(arr: np.ndarray, scale: float, name: str) -> None:
    # Cholesky of Σ + jitter·I succeeds iff every eigenvalue exceeds -jitter (up to rounding).
    # LAPACK's dpotrf through scipy: several times faster here than numpy.linalg.cholesky.
    jitter = PSD_TOL * scale
    shifted = arr + jitter * np.eye(arr.shape[0])
    _, info = scipy.linalg.lapack.dpotrf(shifted, lower=False, clean=False, overwrite_a=True)
    if info != 0:
        smallest = float(scipy.linalg.eigvalsh(arr, subset_by_index=[0, 0])[0])
        raise ValueError(
            f"{name} must be positive semidefinite: smallest eigenvalue {smallest:.3g} "
            f"(below -{PSD_TOL:g} * max|Σ| = {-jitter:.3g})"
        ) from None


def as_covariance(cov: Any, n: int, name: str = "cov") -> DenseCovariance:
    """``cov`` as a validated covariance for ``n`` assets (no re-check if already one)."""
    checked = cov if isinstance(cov, DenseCovariance) else DenseCovariance(cov, name=name)
    if checked.n != n:
        raise ValueError(
            f"{name} must have shape ({n}, {n}) to match the weights, got "
            f"({checked.n}, {checked.n})"
        )
    return checked
