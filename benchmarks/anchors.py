r"""Anchor solvers: the established ways to solve the rebalancing problem, to benchmark against.

Every anchor solves the same problem for an :class:`instances.Instance`,

.. math::

    \min_w \; \lambda\,(w - w^*)^\top \Sigma\,(w - w^*) + \sum_i c_i\,|w_i - w^0_i|
    \quad\text{s.t.}\quad \textstyle\sum_i w_i = 1,\; 0 \le w \le 1,

and has the signature ``anchor(instance) -> (weights, seconds)``: ``seconds`` is the wall time of
the whole solve *including* building the solver's matrices from the instance (what a user of
that solver pays), but not evaluating the objective. Evaluate answers with
:func:`objective_of` (which calls :func:`rebalancing.reference.objective`), never with a solver's
own reported value.

QP formulation shared by the conic / QP anchors: the variables are the trade
:math:`x = w - w^0` and the amount bought :math:`b` (the amount sold is :math:`b - x`); with
:math:`e = w^0 - w^*`,

.. math::

    \min_{x, b}\; \lambda\,x^\top\Sigma x + (2\lambda\Sigma e - \sigma)^\top x
        + (\beta + \sigma)^\top b
    \quad\text{s.t.}\quad \mathbf 1^\top x = 1 - \mathbf 1^\top w^0,\;
    b \ge 0,\; b - x \ge 0,\; l - w^0 \le x \le u - w^0,

which equals :math:`F(w^0 + x)` up to the constant :math:`\lambda e^\top\Sigma e` (at the
optimum :math:`b = x_+`, since :math:`\beta + \sigma \ge 0`; symmetric costs:
:math:`\beta = \sigma = c`). It has :math:`2n` variables and keeps :math:`\Sigma` in one dense
block (a ``(w, b, s)`` form adds :math:`n` variables and equalities for nothing; the ``(b, s)``
form puts :math:`\Sigma` in four blocks). Two scalings matter for accuracy, because interior-point
gap tolerances are absolute below objective magnitude 1 and relative above it: the objective is
divided by :math:`F(\operatorname{clip}(w^0, l, u))` (here :math:`F` is about :math:`10^{-6}` to
:math:`10^{-3}`), and trade variables are used because in terms of :math:`w` the dropped
constant :math:`\lambda w^{*\top}\Sigma w^*` is thousands of times :math:`F` (measured: with
``w`` variables Clarabel stopped 1.1e-7 above the optimum at n = 500; with trades, below 1e-9).

The dense piqp anchor instead uses the box-only ``(b, s)`` form (bounds become simple bounds on
:math:`b, s`; see :func:`rebalancing.reference.reference_solve`), which measured faster for the
dense solver: it has no general inequalities at all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import clarabel
import numpy as np
import numpy.typing as npt
import osqp
import piqp
import scipy.sparse as sp

from instances import Instance
from rebalancing.reference import objective, reference_solve, textbook_optimal_rebalance

__all__ = [
    "ACCURATE_ANCHORS",
    "ANCHORS",
    "Anchor",
    "accurate_scipy",
    "clarabel_dense",
    "clarabel_factor",
    "clarabel_solve",
    "objective_of",
    "osqp_polished",
    "piqp_dense",
    "textbook_scipy",
]

FloatArray = npt.NDArray[np.float64]
Anchor = Callable[[Instance], tuple[FloatArray, float]]

TIGHT = 1e-10  # interior-point tolerances of the accurate anchors
OSQP_EPS = 1e-8


def objective_of(instance: Instance, weights: npt.ArrayLike) -> float:
    r"""Return :math:`F(w)` for ``instance`` (via :func:`rebalancing.reference.objective`).

    Without the dense :math:`\Sigma` (``make_instance(..., dense=False)``) the risk term is
    evaluated from the factor model, :math:`d^\top\Sigma d = (B^\top d)^\top F (B^\top d) +
    \sum_i D_i d_i^2`, with compensated sums.
    """
    if instance.cov.size:
        return objective(
            weights, instance.current, instance.target, instance.cov, instance.costs, instance.lam
        )
    w = np.asarray(weights, dtype=np.float64)
    d = w - instance.target
    y = instance.loadings.T @ d
    risk = math.fsum(y * (instance.factor_cov @ y)) + math.fsum(instance.specific_var * d * d)
    cost = math.fsum(instance.costs * np.abs(w - instance.current))
    return instance.lam * risk + cost


def _scale(instance: Instance) -> float:
    """Objective scale: F at the current weights (feasible here), floored away from zero."""
    return max(objective_of(instance, instance.current), 1e-300)


def _unpack_w(x: object, n: int) -> FloatArray:
    """First ``n`` entries of a solver's solution as a fresh float64 array."""
    return np.array(np.asarray(x, dtype=np.float64)[:n], dtype=np.float64)


def textbook_scipy(instance: Instance) -> tuple[FloatArray, float]:
    """Textbook SLSQP (:func:`rebalancing.reference.textbook_optimal_rebalance`)."""
    t0 = time.perf_counter()
    w = textbook_optimal_rebalance(
        instance.current, instance.target, instance.cov, instance.costs, instance.lam
    )
    return np.asarray(w, dtype=np.float64), time.perf_counter() - t0


def accurate_scipy(instance: Instance) -> tuple[FloatArray, float]:
    """Smooth split SLSQP with gradients (:func:`rebalancing.reference.reference_solve`).

    Cost grows like :math:`n^3` per iteration; intended for n <= 100.
    """
    t0 = time.perf_counter()
    res = reference_solve(
        instance.current, instance.target, instance.cov, instance.costs, instance.lam
    )
    return res.weights, time.perf_counter() - t0


def clarabel_solve(
    current: FloatArray,
    target: FloatArray,
    cov: FloatArray,
    lam: float,
    buy: FloatArray,
    sell: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    *,
    scale: float = 1.0,
    tol: float = TIGHT,
    direct_solve_method: str = "faer",
) -> FloatArray:
    r"""Solve the general problem (per-asset bounds, buy/sell costs) with Clarabel.

    Uses the trade formulation ``(x, b)`` of the module docstring with the cone rows
    ``[1ᵀx = 1 - 1ᵀw0 (zero cone); b >= 0; b - x >= 0; x >= l - w0; x <= u - w0
    (nonnegative cone)]``
    written as Clarabel's :math:`A x + s = b_{\mathrm{rhs}}`, :math:`s \in K`. Bounds equal to
    ±inf are dropped. ``scale`` divides :math:`P` and :math:`q`.

    Parameters
    ----------
    current, target : numpy.ndarray, shape (n,)
        :math:`w^0` and :math:`w^*`.
    cov : numpy.ndarray, shape (n, n)
        :math:`\Sigma` (dense).
    lam : float
        :math:`\lambda`.
    buy, sell : numpy.ndarray, shape (n,)
        Buy and sell costs :math:`\beta, \sigma`, with :math:`\beta + \sigma \ge 0`.
    lower, upper : numpy.ndarray, shape (n,)
        Bounds :math:`l, u`.
    scale : float, default 1.0
        Positive objective scale (use about :math:`|F^*|`).
    tol : float, default 1e-10
        ``tol_gap_abs``, ``tol_gap_rel`` and ``tol_feas``.
    direct_solve_method : str, default "faer"
        Clarabel's KKT solver (``"faer"`` is the supernodal one, much faster here than
        ``"qdldl"`` on the dense :math:`\Sigma` block).

    Returns
    -------
    numpy.ndarray
        The weights :math:`w`, shape ``(n,)``.

    Raises
    ------
    RuntimeError
        If Clarabel does not report ``Solved``.
    """
    n = current.size
    eye = sp.identity(n, format="csc")
    zero = sp.csc_matrix((n, n))
    p = sp.block_diag([sp.csc_matrix(np.triu(cov) * (2.0 * lam / scale)), zero], format="csc")
    q = np.concatenate([(2.0 * lam) * (cov @ (current - target)) - sell, buy + sell]) / scale
    lo_rows = np.flatnonzero(np.isfinite(lower))
    hi_rows = np.flatnonzero(np.isfinite(upper))
    sum_row = sp.hstack([sp.csc_matrix(np.ones((1, n))), sp.csc_matrix((1, n))])
    a = sp.vstack(
        [
            sum_row,  # 1'x + s = 1 - 1'w0, s = 0
            sp.hstack([zero, -eye]),  # -b + s = 0, s >= 0
            sp.hstack([eye, -eye]),  # x - b + s = 0
            sp.hstack([-eye[lo_rows], sp.csc_matrix((lo_rows.size, n))]),  # -x + s = w0 - l
            sp.hstack([eye[hi_rows], sp.csc_matrix((hi_rows.size, n))]),  # x + s = u - w0
        ],
        format="csc",
    )
    rhs = np.concatenate(
        [
            [1.0 - current.sum()],
            np.zeros(2 * n),
            current[lo_rows] - lower[lo_rows],
            upper[hi_rows] - current[hi_rows],
        ]
    )
    cones = [
        clarabel.ZeroConeT(1),
        clarabel.NonnegativeConeT(2 * n + lo_rows.size + hi_rows.size),
    ]
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = tol
    settings.tol_gap_rel = tol
    settings.tol_feas = tol
    settings.direct_solve_method = direct_solve_method
    solution = clarabel.DefaultSolver(p, q, a, rhs, cones, settings).solve()
    if str(solution.status) != "Solved":
        raise RuntimeError(f"Clarabel did not solve the problem: status {solution.status}")
    return current + _unpack_w(solution.x, n)


def clarabel_dense(instance: Instance) -> tuple[FloatArray, float]:
    """Clarabel (faer KKT solver) on the trade QP with dense :math:`\\Sigma`, tolerances 1e-10."""
    t0 = time.perf_counter()
    n = instance.n
    w = clarabel_solve(
        instance.current,
        instance.target,
        instance.cov,
        instance.lam,
        instance.costs,
        instance.costs,
        np.zeros(n),
        np.ones(n),
        scale=_scale(instance),
    )
    return w, time.perf_counter() - t0


def clarabel_factor(instance: Instance) -> tuple[FloatArray, float]:
    r"""Clarabel on the factor-model formulation (never forms the dense :math:`\Sigma`).

    With the trade :math:`x = w - w^0`, :math:`e = w^0 - w^*` and :math:`y = B^\top (x + e)`
    as extra variables,
    :math:`(w - w^*)^\top\Sigma(w - w^*) = y^\top F y + (x + e)^\top D (x + e)`, so
    ``(x, b, y)`` has

    .. math::

        P = 2\lambda \operatorname{blockdiag}(D, 0, F), \quad
        q = (2\lambda D e - c,\; 2c,\; 0), \quad B^\top x - y = -B^\top e,

    plus the rows of :func:`clarabel_solve` (bounds :math:`0 \le w \le 1`), tolerances 1e-10.
    :math:`P` has :math:`n + k^2` non-zeros and the constraints :math:`nk`, so a KKT
    factorization costs :math:`O(nk^2)` instead of :math:`O(n^3)`.
    """
    t0 = time.perf_counter()
    n, k = instance.n, instance.k
    lam, c = instance.lam, instance.costs
    scale = _scale(instance)
    loadings, d = instance.loadings, instance.specific_var
    eye = sp.identity(n, format="csc")
    p = sp.block_diag(
        [
            sp.diags(d * (2.0 * lam / scale)),
            sp.csc_matrix((n, n)),
            sp.csc_matrix(np.triu(instance.factor_cov) * (2.0 * lam / scale)),
        ],
        format="csc",
    )
    e = instance.current - instance.target
    q = np.concatenate([(2.0 * lam) * d * e - c, 2.0 * c, np.zeros(k)]) / scale
    zero_nk = sp.csc_matrix((n, k))
    a = sp.vstack(
        [
            sp.hstack([sp.csc_matrix(np.ones((1, n))), sp.csc_matrix((1, n + k))]),
            sp.hstack([sp.csc_matrix(loadings.T), sp.csc_matrix((k, n)), -sp.identity(k)]),
            sp.hstack([sp.csc_matrix((n, n)), -eye, zero_nk]),  # b >= 0
            sp.hstack([eye, -eye, zero_nk]),  # b - x >= 0
            sp.hstack([-eye, sp.csc_matrix((n, n)), zero_nk]),  # x >= -w0
            sp.hstack([eye, sp.csc_matrix((n, n)), zero_nk]),  # x <= 1 - w0
        ],
        format="csc",
    )
    rhs = np.concatenate(
        [
            [1.0 - instance.current.sum()],
            -(loadings.T @ e),
            np.zeros(2 * n),
            instance.current,
            1.0 - instance.current,
        ]
    )
    cones = [clarabel.ZeroConeT(1 + k), clarabel.NonnegativeConeT(4 * n)]
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = TIGHT
    settings.tol_gap_rel = TIGHT
    settings.tol_feas = TIGHT
    solution = clarabel.DefaultSolver(p, q, a, rhs, cones, settings).solve()
    if str(solution.status) != "Solved":
        raise RuntimeError(f"Clarabel did not solve the problem: status {solution.status}")
    return instance.current + _unpack_w(solution.x, n), time.perf_counter() - t0


def piqp_dense(instance: Instance) -> tuple[FloatArray, float]:
    r"""piqp's dense solver on the box-only ``(b, s)`` form, tolerances 1e-10.

    With :math:`w = w^0 + b - s`, :math:`e = w^0 - w^*`:

    .. math::

        P = 2\lambda \begin{pmatrix} \Sigma & -\Sigma \\ -\Sigma & \Sigma \end{pmatrix},\quad
        q = \begin{pmatrix} 2\lambda\Sigma e + c \\ -2\lambda\Sigma e + c \end{pmatrix},\quad
        \mathbf 1^\top b - \mathbf 1^\top s = 1 - \mathbf 1^\top w^0,\quad
        0 \le b \le 1 - w^0,\; 0 \le s \le w^0.
    """
    t0 = time.perf_counter()
    n, lam, c = instance.n, instance.lam, instance.costs
    scale = _scale(instance)
    cov = instance.cov
    cur = instance.current
    p = np.empty((2 * n, 2 * n), order="F")
    p[:n, :n] = cov
    p[n:, n:] = cov
    p[:n, n:] = -cov
    p[n:, :n] = -cov
    p *= 2.0 * lam / scale
    g = (2.0 * lam) * (cov @ (cur - instance.target))
    q = np.concatenate([g + c, c - g]) / scale
    a = np.asfortranarray(np.concatenate([np.ones(n), -np.ones(n)])[np.newaxis, :])
    rhs = np.array([1.0 - cur.sum()])
    x_l = np.zeros(2 * n)
    x_u = np.concatenate([1.0 - cur, cur])
    solver = piqp.DenseSolver()
    settings = solver.settings
    settings.verbose = False
    settings.eps_abs = TIGHT
    settings.eps_rel = TIGHT
    settings.eps_duality_gap_abs = TIGHT
    settings.eps_duality_gap_rel = TIGHT
    solver.setup(p, q, a, rhs, None, None, None, x_l, x_u)
    status = solver.solve()
    if status != piqp.PIQP_SOLVED:
        raise RuntimeError(f"piqp did not solve the problem: status {status}")
    x = np.asarray(solver.result.x, dtype=np.float64)
    w = cur + x[:n] - x[n:]
    return np.clip(w, 0.0, 1.0), time.perf_counter() - t0


def osqp_polished(instance: Instance) -> tuple[FloatArray, float]:
    """OSQP (ADMM) on the trade QP, ``eps_abs = eps_rel = 1e-8``, with polishing.

    At OSQP's default eps (1e-3) the answers are far from optimal on these problems; even at
    1e-8 the result is only as good as the polishing step, so always report its objective gap.
    """
    t0 = time.perf_counter()
    n, lam, c = instance.n, instance.lam, instance.costs
    scale = _scale(instance)
    cov = instance.cov
    eye = sp.identity(n, format="csc")
    zero = sp.csc_matrix((n, n))
    p = sp.block_diag([sp.csc_matrix(np.triu(cov) * (2.0 * lam / scale)), zero], format="csc")
    cur = instance.current
    q = np.concatenate([(2.0 * lam) * (cov @ (cur - instance.target)) - c, 2.0 * c]) / scale
    a = sp.vstack(
        [
            sp.hstack([sp.csc_matrix(np.ones((1, n))), sp.csc_matrix((1, n))]),
            sp.hstack([eye, zero]),  # -w0 <= x <= 1 - w0
            sp.hstack([zero, eye]),  # b >= 0
            sp.hstack([-eye, eye]),  # b - x >= 0
        ],
        format="csc",
    )
    inf = np.full(n, np.inf)
    rhs = 1.0 - cur.sum()
    lo = np.concatenate([[rhs], -cur, np.zeros(2 * n)])
    hi = np.concatenate([[rhs], 1.0 - cur, inf, inf])
    solver = osqp.OSQP()
    solver.setup(
        p,
        q,
        a,
        lo,
        hi,
        eps_abs=OSQP_EPS,
        eps_rel=OSQP_EPS,
        polishing=True,
        verbose=False,
        max_iter=100_000,
    )
    # raise_error=False: answers are judged by their objective; passing it also avoids
    # osqp 1.x's PendingDeprecationWarning about the future default.
    res = solver.solve(raise_error=False)
    w = np.clip(cur + _unpack_w(res.x, n), 0.0, 1.0)
    return w, time.perf_counter() - t0


ANCHORS: dict[str, Anchor] = {
    "textbook_scipy": textbook_scipy,
    "accurate_scipy": accurate_scipy,
    "clarabel": clarabel_dense,
    "piqp_dense": piqp_dense,
    "osqp_1e-8_polished": osqp_polished,
    "clarabel_factor": clarabel_factor,
}
"""All anchors by name, in a stable order."""

ACCURATE_ANCHORS: tuple[str, ...] = ("accurate_scipy", "clarabel", "piqp_dense", "clarabel_factor")
"""Anchors expected to reach the optimum to about 1e-8 relative objective (OSQP is not)."""
