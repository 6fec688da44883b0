r"""Risk models estimated from a window of past returns, for the cost-aware policy.

Each estimator maps a history :math:`X` (rows = periods, columns = assets; only data available at
the decision date) to an *annualized* covariance (per-period covariance times periods per year),
so the risk aversion λ means the same at any data frequency.

* ``"sample"``: :math:`S = \frac{1}{T-1} \sum_t (x_t - \bar x)(x_t - \bar x)^\top`.
* ``"ledoit-wolf"``: shrinkage of the sample covariance towards :math:`\mu I`,
  :math:`\mu = \operatorname{tr} S / n` (Ledoit & Wolf, 2004, "A well-conditioned estimator for
  large-dimensional covariance matrices"): :math:`\hat\Sigma = s\,\mu I + (1 - s) S` with
  :math:`s = \min(\bar b^2, d^2) / d^2`, :math:`d^2 = \|S - \mu I\|_F^2`,
  :math:`\bar b^2 = \frac{1}{T^2} \sum_t \|x_t x_t^\top - S\|_F^2`
  (centred data, :math:`S` with divisor :math:`T`), which is
  :math:`\frac{1}{T^2}\bigl(\sum_t \|x_t\|^4 - T \|S\|_F^2\bigr)`.
  Well conditioned even with fewer periods than assets.
* ``"pca"``: a statistical factor model from the top ``k`` principal components of the sample
  covariance, :math:`B F B^\top + D`, with :math:`D` the residual variances (floored at 1e-4 of
  the average variance so every asset keeps some specific risk).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from rebalancing.covariance import FactorModel

__all__ = ["RISK_MODELS", "estimate_covariance", "ledoit_wolf"]

RiskModel = Literal["sample", "ledoit-wolf", "pca"]
RISK_MODELS: tuple[str, ...] = ("sample", "ledoit-wolf", "pca")


def ledoit_wolf(history: np.ndarray) -> np.ndarray:
    """Ledoit–Wolf shrunk covariance (per period) of the rows of ``history``."""
    t, n = history.shape
    x = history - history.mean(axis=0)
    s = x.T @ x / t
    mu = np.trace(s) / n
    target_gap = s.copy()
    target_gap[np.diag_indices(n)] -= mu
    d2 = float(np.sum(target_gap**2))
    if d2 <= 0.0:  # S is already a multiple of the identity
        return np.asarray(s)
    row_norms = np.einsum("ij,ij->i", x, x)
    b2_bar = max(0.0, float(np.sum(row_norms**2)) - t * float(np.sum(s**2))) / t**2
    shrink = min(b2_bar, d2) / d2
    out: np.ndarray = (1.0 - shrink) * s
    out[np.diag_indices(n)] += shrink * mu
    return out


def _pca_factor_model(history: np.ndarray, k: int) -> FactorModel:
    n = history.shape[1]
    s = np.cov(history, rowvar=False, ddof=1).reshape(n, n)
    vals, vecs = np.linalg.eigh(s)
    # At most n - 1 factors: with n, nothing would be left for the specific variances.
    k = max(1, min(k, n - 1))
    top = np.argsort(vals)[::-1][:k]
    loadings = vecs[:, top]
    factor_cov = np.diag(np.maximum(vals[top], 0.0))
    systematic = np.einsum("ik,k,ik->i", loadings, np.diag(factor_cov), loadings)
    floor = 1e-4 * max(float(np.trace(s)) / n, 1e-300)
    specific = np.maximum(np.diag(s) - systematic, floor)
    return FactorModel(loadings, factor_cov, specific)


def estimate_covariance(
    history: np.ndarray,
    method: str = "ledoit-wolf",
    periods_per_year: float = 252.0,
    *,
    factors: int = 3,
) -> np.ndarray | FactorModel:
    """Annualized covariance of the rows of ``history`` by ``method`` (see the module docstring)."""
    if history.ndim != 2 or history.shape[0] < 2:
        raise ValueError(f"history needs at least two rows, got shape {history.shape}")
    if method == "sample":
        return (
            np.cov(history, rowvar=False, ddof=1).reshape(history.shape[1], -1) * periods_per_year
        )
    if method == "ledoit-wolf":
        return ledoit_wolf(history) * periods_per_year
    if method == "pca":
        if isinstance(factors, bool) or not isinstance(factors, int | np.integer) or factors < 1:
            raise ValueError(f"factors must be an integer >= 1, got {factors!r}")
        model = _pca_factor_model(history, int(factors))
        return FactorModel(
            model.loadings,
            model.factor_cov * periods_per_year,
            model.specific_var * periods_per_year,
        )
    raise ValueError(f"risk must be one of {', '.join(RISK_MODELS)}, got {method!r}")
