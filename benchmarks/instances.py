r"""Deterministic benchmark instances for cost-aware optimal rebalancing (see docs/solver.md).

Each instance is the problem

.. math::

    \min_w \; \lambda\,(w - w^*)^\top \Sigma\,(w - w^*) + \sum_i c_i\,|w_i - w^0_i|
    \quad\text{s.t.}\quad \textstyle\sum_i w_i = 1,\; 0 \le w \le 1,

with a factor-model covariance :math:`\Sigma = B F B^\top + \operatorname{diag}(D)` drawn as
follows (all from one ``numpy.random.default_rng(seed)`` stream, in this order):

1. :math:`k = \max(1, \min(20, \lfloor n/5 \rfloor))` factors. Factor 0 is the market with
   annual volatility 16%; the others have volatilities uniform in [3%, 10%]. Factors are
   uncorrelated, so :math:`F` is diagonal (stored as a dense ``(k, k)`` matrix).
2. Raw loadings: market betas :math:`\sim N(1, 0.3)`, other loadings :math:`\sim N(0, 1)`.
3. Each asset draws a total volatility :math:`v_i \sim U[15\%, 40\%]` and a systematic share
   :math:`h_i \sim U[0.2, 0.7]`. Its whole loading row is scaled by a positive factor so that
   :math:`B_i F B_i^\top = h_i v_i^2`, and :math:`D_i = (1 - h_i) v_i^2`. (Scaling the whole row
   keeps the mix of exposures but changes the realized beta; scaling only the non-market
   loadings cannot always reach a low systematic share when the market part alone exceeds it.)
4. Target :math:`w^* \sim \operatorname{Dirichlet}(\mathbf 1)` with :math:`\operatorname{round}
   (0.1 n)` randomly chosen entries set to zero (at most :math:`n - 1`), renormalized.
5. Current :math:`w^0 \propto w^* \odot (1 + r)` where :math:`r` is one month of returns from the
   model: :math:`r = 0.005 + B f + \varepsilon`, :math:`f \sim N(0, F/12)`,
   :math:`\varepsilon \sim N(0, \operatorname{diag}(D)/12)`. Zero targets stay zero holdings,
   so those assets sit on their lower bound (the one-sided optimality corner case).
6. Costs :math:`c_i \sim U[0.0005, 0.005]` (5 to 50 bp).

:math:`\lambda` does not enter the draw: instances with the same ``n`` and ``seed`` and a
different ``lam`` share all their data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Instance", "make_accounts", "make_instance"]

FloatArray = npt.NDArray[np.float64]

MARKET_VOL = 0.16
OTHER_FACTOR_VOL = (0.03, 0.10)
MARKET_BETA = (1.0, 0.3)
ASSET_VOL = (0.15, 0.40)
SYSTEMATIC_SHARE = (0.2, 0.7)
ZERO_TARGET_FRACTION = 0.1
MONTHLY_MEAN = 0.005
COSTS = (0.0005, 0.005)


@dataclass(frozen=True)
class Instance:
    r"""One rebalancing problem with a factor-model covariance.

    Attributes
    ----------
    n : int
        Number of assets.
    k : int
        Number of factors.
    seed : int
        Seed the instance was drawn from.
    lam : float
        Risk aversion :math:`\lambda`.
    current : numpy.ndarray, shape (n,)
        Current weights :math:`w^0` (non-negative, sum 1).
    target : numpy.ndarray, shape (n,)
        Target weights :math:`w^*` (non-negative, sum 1, about 10% zeros).
    cov : numpy.ndarray, shape (n, n)
        Dense :math:`\Sigma = B F B^\top + \operatorname{diag}(D)`, exactly symmetric,
        C-contiguous float64.
    loadings : numpy.ndarray, shape (n, k)
        Factor loadings :math:`B`.
    factor_cov : numpy.ndarray, shape (k, k)
        Factor covariance :math:`F` (diagonal here).
    specific_var : numpy.ndarray, shape (n,)
        Specific variances :math:`D`.
    costs : numpy.ndarray, shape (n,)
        Proportional (symmetric) transaction costs :math:`c`.
    """

    n: int
    k: int
    seed: int
    lam: float
    current: FloatArray
    target: FloatArray
    cov: FloatArray
    loadings: FloatArray
    factor_cov: FloatArray
    specific_var: FloatArray
    costs: FloatArray

    def with_lam(self, lam: float) -> Instance:
        """Return the same instance with risk aversion ``lam`` (data shared, not copied)."""
        return dataclasses.replace(self, lam=float(lam))


def make_instance(
    n: int, lam: float = 10.0, seed: int = 0, *, k: int | None = None, dense: bool = True
) -> Instance:
    """Draw the benchmark instance with ``n`` assets.

    Parameters
    ----------
    n : int
        Number of assets, at least 2.
    lam : float, default 10.0
        Risk aversion :math:`\\lambda` (stored, does not affect the draw).
    seed : int, default 0
        Seed of ``numpy.random.default_rng``; the instance is a deterministic function of
        ``(n, seed, k)``.
    k : int, optional
        Number of factors; default ``min(20, n // 5)``.
    dense : bool, default True
        Also form the dense :math:`\\Sigma` (``cov``). Without it ``cov`` is an empty (0, 0)
        array: at n = 20000 the dense matrix alone would take 3.2 GB.

    Returns
    -------
    Instance
        The problem data; see the module docstring for the distributions.
    """
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    rng = np.random.default_rng(seed)
    k = max(1, min(20, n // 5)) if k is None else int(k)

    # 1. factor covariance (diagonal): market first
    factor_vol = np.empty(k)
    factor_vol[0] = MARKET_VOL
    factor_vol[1:] = rng.uniform(*OTHER_FACTOR_VOL, size=k - 1)
    factor_var = factor_vol**2

    # 2.-3. loadings, scaled per asset to the drawn total variance and systematic share
    loadings = np.empty((n, k))
    loadings[:, 0] = rng.normal(*MARKET_BETA, size=n)
    loadings[:, 1:] = rng.normal(0.0, 1.0, size=(n, k - 1))
    total_var = rng.uniform(*ASSET_VOL, size=n) ** 2
    share = rng.uniform(*SYSTEMATIC_SHARE, size=n)
    raw_systematic = (loadings**2) @ factor_var
    loadings *= np.sqrt(share * total_var / raw_systematic)[:, np.newaxis]
    specific_var = (1.0 - share) * total_var

    if dense:
        cov = (loadings * factor_var) @ loadings.T
        cov = 0.5 * (cov + cov.T)
        cov[np.diag_indices(n)] += specific_var
        cov = np.ascontiguousarray(cov)
    else:
        cov = np.empty((0, 0))

    # 4. target: Dirichlet(1) with about 10% zeros
    target = rng.dirichlet(np.ones(n))
    n_zero = min(round(ZERO_TARGET_FRACTION * n), n - 1)
    target[rng.choice(n, size=n_zero, replace=False)] = 0.0
    target /= target.sum()

    # 5. current: target drifted by one month of model returns
    f = rng.normal(0.0, 1.0, size=k) * np.sqrt(factor_var / 12.0)
    eps = rng.normal(0.0, 1.0, size=n) * np.sqrt(specific_var / 12.0)
    returns = MONTHLY_MEAN + loadings @ f + eps
    current = target * np.maximum(1.0 + returns, 0.0)
    current /= current.sum()

    # 6. costs
    costs = rng.uniform(*COSTS, size=n)

    return Instance(
        n=n,
        k=k,
        seed=seed,
        lam=float(lam),
        current=current,
        target=target,
        cov=cov,
        loadings=np.ascontiguousarray(loadings),
        factor_cov=np.diag(factor_var),
        specific_var=specific_var,
        costs=costs,
    )


def make_accounts(instance: Instance, m: int, seed: int = 1) -> FloatArray:
    """``m`` accounts holding the instance's target, each drifted by its own month of returns.

    Every account draws its own factor and specific returns from the instance's model (as step 5
    of :func:`make_instance`), so the accounts share the risk model and the target but need
    different trades. Returns the (m, n) current weights, rows summing to one.
    """
    rng = np.random.default_rng(seed)
    factor_sd = np.sqrt(np.diag(instance.factor_cov) / 12.0)
    f = rng.normal(0.0, 1.0, size=(m, instance.k)) * factor_sd
    eps = rng.normal(0.0, 1.0, size=(m, instance.n)) * np.sqrt(instance.specific_var / 12.0)
    returns = MONTHLY_MEAN + f @ instance.loadings.T + eps
    current = instance.target * np.maximum(1.0 + returns, 0.0)
    current /= current.sum(axis=1, keepdims=True)
    return np.ascontiguousarray(current)
