"""Input checking shared by the public functions.

Every check raises ``ValueError`` (bad values or shapes) or ``TypeError`` (wrong kind of
object) with a message that names the argument, says what was expected and what was given.

Conversions (documented, not errors): integer, boolean-free real dtypes such as ``float32`` and
Fortran-ordered or non-contiguous arrays are converted to C-contiguous ``float64``; lists and
tuples are accepted wherever an array is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

__all__ = [
    "COST_UNIT_SLIP",
    "Labels",
    "align_to_tickers",
    "as_float_array",
    "as_labelled",
    "as_matrix",
    "as_per_asset",
    "as_vector",
    "check_choice",
    "check_costs",
    "check_count",
    "check_fraction",
    "check_labels",
    "check_scalar",
    "check_weights_sum",
    "percent_hint",
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


def as_vector(value: Any, name: str, n: int | None = None, of: str = "") -> np.ndarray:
    """A finite float64 C-contiguous vector, of length ``n`` if given (one per asset of the
    argument named ``of``, if given)."""
    arr = as_float_array(value, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if n is not None and arr.shape[0] != n:
        assets = f"one per asset of {of}" if of else "one per asset"
        raise ValueError(f"{name} must have length {n} ({assets}), got {arr.shape[0]}")
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
    """Weights must sum to one within ``WEIGHT_SUM_TOLERANCE``; a sum near 100 is named as what
    it almost surely is, weights in percent."""
    total = float(arr.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise ValueError(
            f"{name} must sum to 1 (within {WEIGHT_SUM_TOLERANCE:g}), got {total:.10g}"
            + percent_hint(total)
        )


def percent_hint(total: float) -> str:
    """The explanation added to a weight-sum error when the sum looks like percent."""
    if 90.0 <= total <= 110.0:
        return ": weights are fractions of the portfolio (0.25 = 25 %), not percent"
    return ""


#: A linear cost per unit traded at or above this is almost surely basis points or percent
#: passed where a fraction was expected (5 % of every trade is no realistic trading cost).
COST_UNIT_SLIP = 0.05


def check_costs(arr: np.ndarray, name: str) -> None:
    """Linear costs are fractions of the amount traded, >= 0 and below ``COST_UNIT_SLIP``."""
    if arr.size == 0:
        return
    require_finite(arr, name)
    low, high = float(arr.min()), float(arr.max())
    if low < 0:
        raise ValueError(f"{name} must be >= 0, got min {low:.6g}")
    if high >= COST_UNIT_SLIP:
        raise ValueError(
            f"{name} is a fraction of the amount traded (0.001 = 10 bp), got {high:g}: "
            f"for {high:g} bp pass {high / 1e4:g}"
        )


def as_labelled(value: Any) -> Any:
    """A plain mapping of weights by ticker (e.g. PyPortfolioOpt's ``clean_weights()``) as a
    ``pd.Series``; anything else unchanged."""
    if isinstance(value, Mapping) and not isinstance(value, pd.Series | pd.DataFrame):
        return pd.Series(dict(value))
    return value


def check_labels(
    index: pd.Index,
    reference: pd.Index,
    name: str,
    ref_name: str,
    what: str = "tickers",
    *,
    allow_extra: bool = False,
) -> None:
    """``index`` must hold the same unique labels as ``reference``, in any order (or at least
    them, with ``allow_extra``: a price list or a covariance may cover a wider universe).

    The one wording of every label error in the library: ``"<name> has duplicate tickers: [...]"``
    or ``"<name> tickers do not match <ref_name>: missing [...], unexpected [...]"``.
    """
    if index.has_duplicates:
        dup = index[index.duplicated()].unique().tolist()[:5]
        raise ValueError(f"{name} has duplicate {what}: {dup}")
    if index.equals(reference):
        return
    missing = reference.difference(index).tolist()[:5]
    extra = [] if allow_extra else index.difference(reference).tolist()[:5]
    if missing or extra or (len(index) != len(reference) and not allow_extra):
        unexpected = "" if allow_extra else f", unexpected {extra}"
        raise ValueError(f"{name} {what} do not match {ref_name}: missing {missing}{unexpected}")


def align_to_tickers(
    value: Any,
    tickers: pd.Index,
    name: str,
    ref_name: str = "the weights",
    *,
    allow_extra: bool = False,
) -> Any:
    """``value`` in the order of ``tickers`` when it is labelled: a mapping or Series by ticker
    is reindexed, a square DataFrame (a covariance) is reindexed on both axes; its labels must be
    exactly ``tickers`` (or include them, with ``allow_extra``; see :func:`check_labels`).
    Unlabelled values are returned unchanged (they are positional)."""
    value = as_labelled(value)
    if isinstance(value, pd.Series):
        check_labels(value.index, tickers, name, ref_name, allow_extra=allow_extra)
        return value if value.index.equals(tickers) else value.reindex(tickers)
    if isinstance(value, pd.DataFrame):
        check_labels(value.index, tickers, name, ref_name, allow_extra=allow_extra)
        if not value.columns.equals(value.index):
            raise ValueError(
                f"{name} must have the same tickers, in the same order, as rows and columns"
            )
        if value.index.equals(tickers):
            return value
        return value.reindex(index=tickers, columns=tickers)
    return value


def _tickers_of(value: Any, name: str) -> pd.Index | None:
    if isinstance(value, pd.Series | pd.DataFrame):
        if value.index.has_duplicates:
            dup = value.index[value.index.duplicated()].unique().tolist()[:5]
            raise ValueError(f"{name} has duplicate tickers: {dup}")
        return value.index
    return None


def resolve_labels(named: Sequence[tuple[str, Any]]) -> tuple[Labels, list[Any]]:
    """Aligns labelled inputs on the tickers of the first labelled one.

    Mappings and ``pd.Series`` by ticker and square ``pd.DataFrame`` covariances carry labels;
    they must all hold the same set of unique tickers and are reordered to the first one's order
    (:func:`align_to_tickers`). Unlabelled inputs are positional and must already be in that
    order.

    Returns the common index (``None`` if nothing is labelled) and the aligned values.
    """
    values = [(name, as_labelled(value)) for name, value in named]
    reference: tuple[str, pd.Index] | None = None
    for name, value in values:
        index = _tickers_of(value, name)
        if index is not None:
            reference = (name, index)
            break
    if reference is None:
        return None, [value for _, value in values]
    ref_name, tickers = reference
    return tickers, [align_to_tickers(value, tickers, name, ref_name) for name, value in values]


def check_scalar(value: Any, name: str, *, minimum: float, strict: bool = False) -> float:
    """A finite real number ``>= minimum`` (``> minimum`` if ``strict``), as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v) or v < minimum or (strict and v == minimum):
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be finite and {relation} {minimum:g}, got {value!r}")
    return v


def check_count(
    value: Any, name: str, *, minimum: int, meaning: str = "", maximum: int = 2**63 - 1
) -> int:
    """An integer (not a bool) in ``[minimum, maximum]``, as an int; ``meaning`` is added to the
    message. The default maximum is what the core's 64-bit counters hold."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not minimum <= value <= maximum
    ):
        extra = f" ({meaning})" if meaning else ""
        bound = f">= {minimum}" if maximum == 2**63 - 1 else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {bound}{extra}, got {value!r}")
    return int(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of the strings ``choices`` (anything else, arrays included, is a clear error)."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_fraction(arr: np.ndarray, name: str) -> None:
    """A band (or threshold) above 1 can never be breached by weights in [0, 1]: it is a
    percentage given by mistake (``abs_band=5`` for 5 %)."""
    if float(arr) > 1.0 if arr.ndim == 0 else (arr > 1.0).any():
        raise ValueError(
            f"{name} must be at most 1: bands are fractions (0.05 = 5 %), not percent; "
            f"got {float(arr.max()):g}"
        )
