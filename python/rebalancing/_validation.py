"""Input checking shared by the public functions.

Every check raises ``ValueError`` (bad values or shapes) or ``TypeError`` (wrong kind of
object) with a message that names the argument, says what was expected and what was given.

Conversions (documented, not errors): integer, boolean-free real dtypes such as ``float32`` and
Fortran-ordered or non-contiguous arrays are converted to C-contiguous ``float64``; lists and
tuples are accepted wherever an array is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

__all__ = [
    "Labels",
    "align_to_tickers",
    "as_float_array",
    "as_matrix",
    "as_per_asset",
    "as_vector",
    "check_count",
    "check_same_labels",
    "check_scalar",
    "check_weights_sum",
    "require_finite",
    "resolve_labels",
]

Labels: TypeAlias = pd.Index | None

WEIGHT_SUM_TOLERANCE = 1e-6


def as_float_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a float64 C-contiguous array (pandas unwrapped, ints converted); 0-d kept."""
    if isinstance(value, pd.DataFrame | pd.Series):
        value = value.to_numpy()
    try:
        arr = np.asarray(value)
    except Exception as exc:  # e.g. ragged nested lists
        raise TypeError(f"{name} must be array-like of real numbers: {exc}") from None
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers (int or float), got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64, order="C")


def require_finite(arr: np.ndarray, name: str) -> None:
    """Raise ValueError naming ``name`` and the first positions of any NaN or inf."""
    if not np.isfinite(arr).all():  # the method skips numpy's Python-level dispatch
        bad = np.flatnonzero(~np.isfinite(arr.ravel()))
        raise ValueError(
            f"{name} must be finite; found NaN or inf at flat position(s) {bad[:5].tolist()}"
        )


def as_vector(value: Any, name: str, n: int | None = None) -> np.ndarray:
    """A finite float64 C-contiguous vector, of length ``n`` if given."""
    arr = as_float_array(value, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have length {n} (one per asset), got {arr.shape[0]}")
    require_finite(arr, name)
    return arr


def as_per_asset(value: Any, name: str, n: int) -> np.ndarray:
    """A scalar broadcast to ``n`` assets, or a length-``n`` vector."""
    arr = as_float_array(value, name)
    if arr.ndim == 0:
        require_finite(arr, name)
        return np.full(n, float(arr))
    return as_vector(arr, name, n)


def as_matrix(value: Any, name: str, n: int | None = None) -> np.ndarray:
    """A finite float64 C-contiguous square matrix (``(n, n)`` if given); a float64 C array is
    used as is, never copied."""
    arr = as_float_array(value, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n}, {n}) to match the weights, got {arr.shape}")
    require_finite(arr, name)
    return arr


def check_weights_sum(arr: np.ndarray, name: str) -> None:
    """Weights must sum to one within ``WEIGHT_SUM_TOLERANCE``."""
    total = float(arr.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise ValueError(
            f"{name} must sum to 1 (within {WEIGHT_SUM_TOLERANCE:g}), got {total:.10g}"
        )


def _labels_of(value: Any, name: str) -> list[tuple[str, pd.Index]]:
    if isinstance(value, pd.Series):
        return [(name, value.index)]
    if isinstance(value, pd.DataFrame):
        if not value.index.equals(value.columns):
            raise ValueError(
                f"{name} must have the same tickers, in the same order, as rows and columns"
            )
        return [(name, value.index)]
    return []


def resolve_labels(named: Sequence[tuple[str, Any]]) -> tuple[Labels, list[Any]]:
    """Aligns labelled inputs on the tickers of the first labelled one.

    Inputs that carry labels (``pd.Series``, ``pd.DataFrame``) must hold exactly the same set
    of unique tickers; they are then aligned by label (reordered to the first one's order).
    A different set of tickers is an error naming both arguments and the differing tickers.
    Unlabelled inputs are positional and must already be in that order.

    Returns the common index (``None`` if nothing is labelled) and the aligned values.
    """
    reference: tuple[str, pd.Index] | None = None
    for name, value in named:
        for label_name, index in _labels_of(value, name):
            if index.has_duplicates:
                dup = index[index.duplicated()].unique().tolist()[:5]
                raise ValueError(f"{label_name} has duplicate tickers: {dup}")
            if reference is None:
                reference = (label_name, index)
                continue
            ref_name, ref_index = reference
            if not index.equals(ref_index) and (
                len(index) != len(ref_index) or not index.isin(ref_index).all()
            ):
                missing = ref_index.difference(index).tolist()[:5]
                extra = index.difference(ref_index).tolist()[:5]
                raise ValueError(
                    f"{label_name} tickers do not match {ref_name}: missing {missing}, "
                    f"unexpected {extra}"
                )
    if reference is None:
        return None, [value for _, value in named]
    index = reference[1]
    aligned: list[Any] = []
    for _, value in named:
        if isinstance(value, pd.Series) and not value.index.equals(index):
            value = value.reindex(index)
        elif isinstance(value, pd.DataFrame) and not value.index.equals(index):
            value = value.reindex(index=index, columns=index)
        aligned.append(value)
    return index, aligned


def check_scalar(value: Any, name: str, *, minimum: float, strict: bool = False) -> float:
    """A finite real number ``>= minimum`` (``> minimum`` if ``strict``), as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v) or v < minimum or (strict and v == minimum):
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be finite and {relation} {minimum:g}, got {value!r}")
    return v


def check_count(value: Any, name: str, *, minimum: int, meaning: str = "") -> int:
    """An integer (not a bool) ``>= minimum``, as an int; ``meaning`` is added to the message."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        extra = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name} must be an integer >= {minimum}{extra}, got {value!r}")
    return int(value)


def check_same_labels(index: pd.Index, reference: pd.Index, name: str, ref_name: str) -> None:
    """``index`` must hold the same unique labels as ``reference`` (in any order)."""
    if index.has_duplicates:
        raise ValueError(
            f"{name} has duplicates: {index[index.duplicated()].unique().tolist()[:5]}"
        )
    if not index.equals(reference) and (
        len(index) != len(reference) or not index.isin(reference).all()
    ):
        missing = reference.difference(index).tolist()[:5]
        extra = index.difference(reference).tolist()[:5]
        raise ValueError(f"{name} do not match {ref_name}: missing {missing}, unexpected {extra}")


def align_to_tickers(value: Any, tickers: pd.Index, name: str) -> Any:
    """A Series is reindexed to ``tickers`` (its labels must be exactly those tickers, in any
    order); anything else is returned unchanged."""
    if not isinstance(value, pd.Series):
        return value
    missing = tickers.difference(value.index)
    unknown = value.index.difference(tickers)
    if len(missing) or len(unknown):
        raise ValueError(
            f"{name}: tickers must match the returns' columns "
            f"(missing {list(missing)[:5]}, unknown {list(unknown)[:5]})"
        )
    return value.reindex(tickers)
