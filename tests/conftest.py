"""Shared pytest configuration: hypothesis profiles and small fixtures.

Profiles (select with ``HYPOTHESIS_PROFILE=name``):

* ``default`` (also under CI): every property test runs ``max_examples`` examples (heavier
  tests scale it with ``_problems.examples``), a few hundred instances in all, no deadline (a
  reference solve of n = 60 takes tens of milliseconds and timing is never asserted),
  derandomised and without the example database, so that every run, a user's or CI's, checks
  the same instances and a failure reproduces exactly.
* ``explore``: random examples with the database, for hunting new failures (it occasionally
  finds the scipy reference's own inaccuracy, see the strict xfails in tests/test_reference.py).
"""

from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# On a failure hypothesis imports libcst (to suggest an explicit example), which triggers a
# DeprecationWarning from mypy_extensions; under filterwarnings=error that turns every failing
# property test into a pytest INTERNALERROR. Import it once here, quietly, if it is installed.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import libcst  # noqa: F401

_COMMON = {
    "max_examples": 40,
    "deadline": None,
    "suppress_health_check": (HealthCheck.too_slow,),
    "print_blob": True,
}
settings.register_profile("default", derandomize=True, database=None, **_COMMON)
settings.register_profile("explore", **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.fixture
def small_problem() -> dict[str, np.ndarray]:
    """A 4-asset long-only problem whose solution trades (no bound is active at the target)."""
    current = np.array([0.4, 0.3, 0.2, 0.1])
    target = np.array([0.25, 0.25, 0.25, 0.25])
    vol = np.array([0.15, 0.2, 0.25, 0.3])
    corr = np.full((4, 4), 0.3) + 0.7 * np.eye(4)
    cov = corr * np.outer(vol, vol)
    costs = np.array([0.001, 0.002, 0.0005, 0.003])
    return {"current": current, "target": target, "cov": cov, "costs": costs}
