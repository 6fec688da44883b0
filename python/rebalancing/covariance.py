"""Covariance matrices the solver accepts, validated once.

A :class:`DenseCovariance` checks on construction that the matrix is square, finite, symmetric
and positive semidefinite, then hands the very same buffer to the C++ core on every solve (a
C-contiguous ``float64`` matrix is never copied). Passing a plain array to :func:`solve` builds
one per call, so the checks are paid every time; build it once when you solve repeatedly.

A :class:`FactorModel` is :math:`\\Sigma = B F B^\top + \\operatorname{diag}(D)`; the core
multiplies by it in :math:`O(nk)` and never forms :math:`\\Sigma`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.linalg.lapack

from rebalancing import _core
from rebalancing._validation import as_matrix

__all__ = ["Covariance", "DenseCovariance", "FactorModel", "as_covariance"]

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
        tickers; solve and solve_batch put it in the weights' order (the same tickers needed).
    check_psd : bool
        Verify positive semidefiniteness with a Cholesky factorisation of
        ``Σ + PSD_TOL·max|Σ|·I`` (O(n³), done once here). Disable only for a matrix known to
        be PSD by construction.

    Raises
    ------
    ValueError
        If Σ is not square, not finite, asymmetric beyond ``SYMMETRY_TOL`` relative, or has an
        eigenvalue below ``-PSD_TOL * max|Σ|``.

    Examples
    --------
    >>> import rebalancing as rb
    >>> cov = rb.DenseCovariance([[0.04, 0.01], [0.01, 0.09]])  # checked once, reused
    >>> rb.solve([0.7, 0.3], [0.6, 0.4], cov, 0.001, 10.0).status
    <Status.OPTIMAL: 'optimal'>
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

    def spec(self) -> tuple[Any, ...]:
        """What the C++ core needs to build its operator (see bindings.cpp, make_operator)."""
        return ("dense", self.matrix, self.max_abs, self.eigenvalue_bound)

    def reindex(self, tickers: pd.Index) -> DenseCovariance:
        """This covariance with rows and columns in the order of ``tickers`` (the same set of
        tickers; itself when unlabelled or already in that order). Its scale and eigenvalue
        bound do not change under a permutation, so nothing is recomputed."""
        if self.tickers is None or self.tickers.equals(tickers):
            return self
        order = _positions(self.tickers, tickers)
        out = copy.copy(self)
        out.matrix = np.ascontiguousarray(self.matrix[np.ix_(order, order)])
        out.tickers = tickers
        return out

    def __repr__(self) -> str:
        return f"DenseCovariance(n={self.n})"


class FactorModel:
    r"""A factor-model covariance :math:`\Sigma = B F B^\top + \operatorname{diag}(D)`.

    Parameters
    ----------
    loadings : array-like or pd.DataFrame, shape (n, k)
        Factor loadings :math:`B`; a DataFrame's index gives the tickers.
    factor_cov : array-like, shape (k, k)
        Factor covariance :math:`F`: symmetric positive semidefinite (checked as for
        :class:`DenseCovariance`, on the small k × k matrix).
    specific_var : array-like or pd.Series, shape (n,)
        Specific (idiosyncratic) variances :math:`D \ge 0`; a Series is aligned to the tickers.

    Products with :math:`\Sigma` cost :math:`O(nk)` in the core, the reduced systems of its
    active-set method :math:`O(mk^2 + m^2k)` for m trading assets; :math:`\Sigma` is never formed.

    Examples
    --------
    >>> import rebalancing as rb
    >>> model = rb.FactorModel([[1.0], [0.5]], [[0.04]], [0.01, 0.02])  # Σ = B F Bᵀ + D
    >>> rb.solve([0.7, 0.3], [0.6, 0.4], model, 0.001, 10.0).status
    <Status.OPTIMAL: 'optimal'>
    """

    def __init__(self, loadings: Any, factor_cov: Any, specific_var: Any) -> None:
        self.tickers: pd.Index | None = (
            loadings.index if isinstance(loadings, pd.DataFrame) else None
        )
        b = _finite_matrix(loadings, "loadings")
        n, k = b.shape
        if n == 0 or k == 0:
            raise ValueError(f"loadings must have shape (n, k) with n, k >= 1, got {b.shape}")
        f = DenseCovariance(factor_cov, name="factor_cov")
        if f.n != k:
            raise ValueError(
                f"factor_cov must have shape ({k}, {k}) to match loadings' {k} factors, "
                f"got ({f.n}, {f.n})"
            )
        if isinstance(specific_var, pd.Series):
            if self.tickers is None:
                raise ValueError("specific_var is labelled by ticker but loadings is not")
            if not specific_var.index.equals(self.tickers):
                if set(specific_var.index) != set(self.tickers):
                    raise ValueError("specific_var tickers do not match the loadings' tickers")
                specific_var = specific_var.loc[self.tickers]
        d = np.asarray(
            specific_var.to_numpy() if isinstance(specific_var, pd.Series) else specific_var
        )
        if d.dtype == object or d.dtype.kind not in "iuf":
            raise TypeError(f"specific_var must hold real numbers, got dtype {d.dtype}")
        d = np.asarray(d, dtype=np.float64, order="C")
        if d.shape != (n,):
            raise ValueError(
                f"specific_var must have shape ({n},) like loadings' rows, got {d.shape}"
            )
        if not np.isfinite(d).all() or (d < 0).any():
            raise ValueError("specific_var must be finite and >= 0")
        self.loadings: np.ndarray = b
        self.factor_cov: np.ndarray = f.matrix
        self.specific_var: np.ndarray = d
        self.max_abs, self.eigenvalue_bound = _core.factor_stats(b, f.matrix, d)

    @property
    def n(self) -> int:
        """Number of assets."""
        return int(self.loadings.shape[0])

    @property
    def k(self) -> int:
        """Number of factors."""
        return int(self.loadings.shape[1])

    def reindex(self, tickers: pd.Index) -> FactorModel:
        """This model with its assets in the order of ``tickers`` (see
        :meth:`DenseCovariance.reindex`)."""
        if self.tickers is None or self.tickers.equals(tickers):
            return self
        order = _positions(self.tickers, tickers)
        out = copy.copy(self)
        out.loadings = np.ascontiguousarray(self.loadings[order])
        out.specific_var = np.ascontiguousarray(self.specific_var[order])
        out.tickers = tickers
        return out

    def spec(self) -> tuple[Any, ...]:
        """What the C++ core needs to build its operator (see bindings.cpp, make_operator)."""
        return (
            "factor",
            self.loadings,
            self.factor_cov,
            self.specific_var,
            self.max_abs,
            self.eigenvalue_bound,
        )

    def dense(self) -> np.ndarray:
        r""":math:`\Sigma` as a dense (n, n) array (O(n²) memory: for checks and small n)."""
        out: np.ndarray = (self.loadings @ self.factor_cov) @ self.loadings.T
        out[np.diag_indices_from(out)] += self.specific_var
        sym: np.ndarray = 0.5 * (out + out.T)
        return sym

    def __repr__(self) -> str:
        return f"FactorModel(n={self.n}, k={self.k})"


Covariance = DenseCovariance | FactorModel


def _positions(have: pd.Index, want: pd.Index) -> np.ndarray:
    """Where each of ``want`` is in ``have``; the two must hold the same tickers."""
    order: np.ndarray = np.asarray(have.get_indexer(want))
    if (order < 0).any() or len(have) != len(want):
        missing = [str(t) for t in want[order < 0]][:5]
        extra = [str(t) for t in have.difference(want)][:5]
        raise ValueError(
            f"cov tickers do not match the weights' tickers: the weights' {missing} are not in "
            f"cov, cov's {extra} are not in the weights"
        )
    return order


def _finite_matrix(value: Any, name: str) -> np.ndarray:
    arr = np.asarray(value.to_numpy() if isinstance(value, pd.DataFrame) else value)
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be two-dimensional, got shape {arr.shape}")
    arr = np.asarray(arr, dtype=np.float64, order="C")
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr.ravel()))[:5].tolist()
        raise ValueError(f"{name} must be finite; found NaN or inf at flat position(s) {bad}")
    return arr


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


def as_covariance(cov: Any, n: int, name: str = "cov") -> Covariance:
    """``cov`` as a validated covariance for ``n`` assets (no re-check if already one)."""
    checked = (
        cov if isinstance(cov, DenseCovariance | FactorModel) else DenseCovariance(cov, name=name)
    )
    if checked.n != n:
        raise ValueError(
            f"{name} must have shape ({n}, {n}) to match the weights, got "
            f"({checked.n}, {checked.n})"
        )
    return checked
