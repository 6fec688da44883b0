"""The scale facts DenseCovariance computes once and hands to the core on every solve."""

from __future__ import annotations

import numpy as np
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import rebalancing as rb
from _problems import COV_KINDS, examples, make_cov
from rebalancing import _core


@settings(max_examples=examples(1))
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    kind=st.sampled_from(COV_KINDS),
    scale=st.sampled_from([1.0, 1e-150, 1e150]),
)
def test_scale_facts_bound_the_spectrum(seed: int, n: int, kind: str, scale: float) -> None:
    """max_abs is max|Σ_ij| exactly; eigenvalue_bound lies in [λmax, √n λmax] at any scale."""
    cov = make_cov(np.random.default_rng(seed), n, kind) * scale
    sigma = rb.DenseCovariance(cov, check_psd=False)
    assert sigma.max_abs == float(np.max(np.abs(cov)))
    largest = float(scipy.linalg.eigvalsh(cov / scale, subset_by_index=[n - 1, n - 1])[0]) * scale
    assert np.isfinite(sigma.eigenvalue_bound)
    assert sigma.eigenvalue_bound >= largest * (1 - 1e-12)
    # Frobenius norm <= sqrt(rank) λmax for a PSD matrix.
    assert sigma.eigenvalue_bound <= np.sqrt(n) * largest * (1 + 1e-12) + 1e-300


def test_zero_matrix_has_zero_scale() -> None:
    sigma = rb.DenseCovariance(np.zeros((3, 3)))
    assert sigma.max_abs == 0.0
    assert sigma.eigenvalue_bound == 0.0


def test_max_asymmetry_is_numpys() -> None:
    # The core's tiled symmetry check gives exactly max|Σ - Σᵀ|, across tile boundaries (32).
    rng = np.random.default_rng(5)
    for n in (1, 2, 31, 32, 33, 64, 65, 97):
        a = rng.normal(size=(n, n))
        assert _core.max_asymmetry(a) == float(np.max(np.abs(a - a.T)))
        assert _core.max_asymmetry(a + a.T) == 0.0
        b = a + a.T
        b[n - 1, 0] += 1e-3  # the farthest corner
        assert _core.max_asymmetry(b) == float(np.max(np.abs(b - b.T)))
