"""Covariance matrices the solver accepts, validated once.

A :class:`DenseCovariance` checks on construction that the matrix is square, finite, symmetric
and positive semidefinite, then hands the very same buffer to the C++ core on every solve (a
C-contiguous ``float64`` matrix is never copied).

A plain array (or DataFrame) passed to :func:`solve` or :func:`optimal_rebalance` is checked
once, too: the checks cost O(n³) (20 ms or more at n = 1000), so :func:`as_covariance`
remembers the matrices it has verified by a fingerprint of their bytes (XXH3-64, one pass at
about 50 GB/s from cache with AVX2, computed in the C++ core). Passing the same values again
skips the checks; changing any element, even in place in the same array, changes the
fingerprint and the matrix is checked again. See :func:`verified_cache_info`. Building a
:class:`DenseCovariance` once remains the cheapest way (no fingerprint per call).

A :class:`FactorModel` is :math:`\\Sigma = B F B^\top + \\operatorname{diag}(D)`; the core
multiplies by it in :math:`O(nk)` and never forms :math:`\\Sigma`.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.linalg
import scipy.linalg.lapack

from rebalancing import _core
from rebalancing._validation import align_to_tickers, as_float_array, as_labelled, as_matrix

__all__ = [
    "VERIFIED_CACHE_SIZE",
    "Covariance",
    "DenseCovariance",
    "FactorModel",
    "VerifiedCacheInfo",
    "as_covariance",
    "clear_verified_cache",
    "verified_cache_info",
]

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

    def __init__(
        self, matrix: npt.ArrayLike | pd.DataFrame, *, check_psd: bool = True, name: str = "cov"
    ) -> None:
        self.tickers: pd.Index | None = matrix.index if isinstance(matrix, pd.DataFrame) else None
        if isinstance(matrix, pd.DataFrame) and not matrix.index.equals(matrix.columns):
            raise ValueError(f"{name} must have the same tickers as rows and columns")
        arr = as_matrix(matrix, name)
        scale, eigenvalue_bound = _core.dense_stats(arr)
        # In the core, tile by tile: numpy's max(abs(arr - arr.T)) makes two n x n temporaries
        # and reads arr.T across rows (5-18 ms at n = 1000-2000, against 1.5-8 ms); the same value.
        asym = _core.max_asymmetry(arr)
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

    @classmethod
    def _verified(
        cls, arr: np.ndarray, tickers: pd.Index | None, stats: tuple[float, float]
    ) -> DenseCovariance:
        """One for a C-contiguous float64 ``arr`` whose values already passed every check, with
        the (max_abs, eigenvalue_bound) computed then (see :func:`as_covariance`)."""
        out = cls.__new__(cls)
        out.tickers = tickers
        out.matrix = arr
        out.max_abs, out.eigenvalue_bound = stats
        return out

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

    def __init__(
        self,
        loadings: npt.ArrayLike | pd.DataFrame,
        factor_cov: npt.ArrayLike | pd.DataFrame,
        specific_var: npt.ArrayLike | pd.Series | Mapping[Any, float],
    ) -> None:
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
        specific_var = as_labelled(specific_var)
        if isinstance(specific_var, pd.Series):
            if self.tickers is None:
                raise ValueError("specific_var is labelled by ticker but loadings is not")
            specific_var = align_to_tickers(specific_var, self.tickers, "specific_var", "loadings")
        d = as_float_array(specific_var, "specific_var")
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
    arr = as_float_array(value, name)  # ragged lists and text are clear errors naming `name`
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
    # One n x n temporary (dpotrf overwrites it), not two: arr + jitter * np.eye(n) would build
    # the identity as well. The same values: off the diagonal x + 0.0 is x.
    shifted = arr.copy()
    shifted[np.diag_indices_from(shifted)] += jitter
    _, info = scipy.linalg.lapack.dpotrf(shifted, lower=False, clean=False, overwrite_a=True)
    if info != 0:
        smallest = float(scipy.linalg.eigvalsh(arr, subset_by_index=[0, 0])[0])
        raise ValueError(
            f"{name} must be positive semidefinite: smallest eigenvalue {smallest:.3g} "
            f"(below -{PSD_TOL:g} * max|Σ| = {-jitter:.3g})"
        ) from None


#: How many verified plain matrices :func:`as_covariance` remembers (least recently used out).
#: An entry is a fingerprint and two floats, never the matrix: the cache keeps no array alive
#: and its memory is a few hundred bytes whatever n is.
VERIFIED_CACHE_SIZE = 8

# Below this n the checks cost about as much as looking the matrix up (tens of microseconds):
# remembering it would only push out a large matrix whose check is worth skipping.
_MIN_CACHED_N = 32

# The fingerprint (XXH3-64, see cpp/include/rebalancing/fingerprint.hpp) is not cryptographic;
# its 192-byte secret is drawn per process, so a matrix crafted to collide with a verified one
# would have to be crafted against this process's secret. Accidental collisions (an edit that
# leaves the digest unchanged) have probability about 2^-64 per lookup.
_SECRET = os.urandom(192)


class VerifiedCacheInfo(NamedTuple):
    """Counters of the verified-matrix cache (as :func:`functools.lru_cache`'s ``cache_info``):
    lookups that skipped the checks, lookups that ran them, entries held, and the bound."""

    hits: int
    misses: int
    currsize: int
    maxsize: int


class _VerifiedCache:
    """(n, fingerprint) -> (max|Σ|, eigenvalue bound) of matrices that passed every check.

    Thread-safe: one lock around the dictionary operations only; fingerprints and checks run
    outside it (the fingerprint with the GIL released), so threads verifying different matrices
    do not wait for each other. Two threads verifying the same new matrix at once both check it.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, int], tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        # A fork while another thread held the lock would leave the child's copy locked for
        # ever (multiprocessing's default start method on Linux): the child takes a new one.
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._new_lock)

    def _new_lock(self) -> None:
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int]) -> tuple[float, float] | None:
        with self._lock:
            stats = self._entries.get(key)
            if stats is None:
                self._misses += 1
            else:
                self._hits += 1
                self._entries.move_to_end(key)
            return stats

    def put(self, key: tuple[int, int], stats: tuple[float, float]) -> None:
        with self._lock:
            self._entries[key] = stats
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def info(self) -> VerifiedCacheInfo:
        with self._lock:
            return VerifiedCacheInfo(self._hits, self._misses, len(self._entries), self.maxsize)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._hits = self._misses = 0


_VERIFIED = _VerifiedCache(VERIFIED_CACHE_SIZE)


def verified_cache_info() -> VerifiedCacheInfo:
    """Hits, misses and size of the cache of verified plain covariance matrices (see
    :func:`as_covariance`)."""
    return _VERIFIED.info()


def clear_verified_cache() -> None:
    """Forget every verified matrix and reset the counters (the next call checks again)."""
    _VERIFIED.clear()


def _dense_checked_once(cov: Any, name: str) -> DenseCovariance:
    """``DenseCovariance(cov)``, without the checks when the same values passed them before.

    The key is (n, XXH3-64 of the float64 C-contiguous bytes): equal values give equal keys however
    the caller stores them (list, Fortran order, float32, DataFrame), and any change of any
    element -- in place in the same array, too -- gives another key, so the matrix is checked
    again. A key on ``id(cov)`` would let an array made indefinite in place through. Only
    matrices that pass every check are remembered: a rejected one is rejected on every call.
    """
    if isinstance(cov, pd.DataFrame):
        if not cov.index.equals(cov.columns):
            raise ValueError(f"{name} must have the same tickers as rows and columns")
        tickers: pd.Index | None = cov.index
    else:
        tickers = None
    # The conversion DenseCovariance would make (no copy of a C float64 array); malformed input
    # goes the uncached way, which raises the usual messages.
    arr = as_float_array(cov, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < _MIN_CACHED_N:
        return DenseCovariance(cov, name=name)
    key = (int(arr.shape[0]), _core.fingerprint(arr, _SECRET))
    stats = _VERIFIED.get(key)
    if stats is not None:
        return DenseCovariance._verified(arr, tickers, stats)
    checked = DenseCovariance(arr, name=name)
    checked.tickers = tickers
    # Remember it only if the bytes did not change while they were checked (another thread
    # writing to the array): the verdict must belong to the fingerprinted values. One more pass
    # at memory speed next to the O(n³) check.
    if _core.fingerprint(arr, _SECRET) == key[1]:
        _VERIFIED.put(key, (checked.max_abs, checked.eigenvalue_bound))
    return checked


def as_covariance(cov: Any, n: int, name: str = "cov") -> Covariance:
    """``cov`` as a validated covariance for ``n`` assets.

    A :class:`DenseCovariance` or :class:`FactorModel` is used as it is (checked when built). A
    plain matrix (array-like or DataFrame) is checked -- finite, symmetric, positive
    semidefinite -- unless the same values passed the checks in one of the last
    :data:`VERIFIED_CACHE_SIZE` distinct matrices of at least 32 assets: then only a one-pass
    fingerprint of its bytes is paid (about 0.2 ms at n = 1000 against 20 ms or more for the
    checks). A matrix changed in any element since, even in place, is checked again. The cache
    is shared by all threads and keeps no matrix alive.
    """
    checked = (
        cov if isinstance(cov, DenseCovariance | FactorModel) else _dense_checked_once(cov, name)
    )
    if checked.n != n:
        raise ValueError(
            f"{name} must have shape ({n}, {n}) to match the weights, got "
            f"({checked.n}, {checked.n})"
        )
    return checked
