"""pytest configuration for the benchmark suites.

Makes the sibling modules (:mod:`instances`, :mod:`anchors`) importable as plain modules, and
provides cached instances so that generating a problem is never part of a timing.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from instances import Instance, make_instance  # noqa: E402

__all__ = ["cached_instance", "get_instance"]


@functools.lru_cache(maxsize=16)
def cached_instance(n: int, lam: float, seed: int = 0) -> Instance:
    """Return :func:`instances.make_instance` ``(n, lam, seed)``, generated once per session."""
    return make_instance(n, lam, seed)


@functools.lru_cache(maxsize=16)
def _optimum(n: int, lam: float, seed: int = 0) -> float:
    """Optimal objective of an instance from the factor-model Clarabel anchor (about 1e-10)."""
    from anchors import clarabel_factor, objective_of

    inst = cached_instance(n, lam, seed)
    return objective_of(inst, clarabel_factor(inst)[0])


@pytest.fixture
def get_instance() -> type[_Getter]:
    """Fixture giving access to cached instances and their optimal objective."""
    return _Getter


class _Getter:
    """Namespace returned by the :func:`get_instance` fixture."""

    instance = staticmethod(cached_instance)
    optimum = staticmethod(_optimum)
