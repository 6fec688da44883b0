"""The solver's settings: one object accepted by :func:`~rebalancing.solve`,
:func:`~rebalancing.solve_batch`, :class:`~rebalancing.CostAware` and the C++ core.

``Settings`` is validated once, when it is made; it is frozen (hashable, picklable: it travels
to Dask workers with the accounts) and converted to the core's struct once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from rebalancing import _core
from rebalancing._validation import check_count, check_scalar

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """When a solve stops, and how it gets there.

    Parameters
    ----------
    tol : float
        Relative duality-gap tolerance: ``status == "optimal"`` means
        ``gap <= max(tol * |F(w)|, abs_tol, rounding floor)`` (the floor is the rounding error of
        the computed gap itself). Default 1e-9.
    abs_tol : float
        Absolute gap floor for objectives near zero. Default 1e-15.
    max_iter : int
        Iteration budget: active-set (polish) rounds plus accelerated gradient steps.
    polish : bool
        Use the active-set polish (default). Without it only accelerated gradient runs, which
        rarely certifies to tight tolerances; kept for diagnostics and benchmarks.

    Examples
    --------
    >>> import rebalancing as rb
    >>> rb.Settings(tol=1e-10).max_iter
    10000
    >>> rb.Settings(tol=0)
    Traceback (most recent call last):
    ...
    ValueError: tol must be finite and > 0, got 0
    """

    tol: float = 1e-9
    abs_tol: float = 1e-15
    max_iter: int = 10_000
    polish: bool = True
    _core_settings: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tol = check_scalar(self.tol, "tol", minimum=0.0, strict=True)
        abs_tol = check_scalar(self.abs_tol, "abs_tol", minimum=0.0)
        max_iter = check_count(self.max_iter, "max_iter", minimum=1)
        if not isinstance(self.polish, bool):
            raise TypeError(f"polish must be True or False, got {self.polish!r}")
        object.__setattr__(self, "tol", tol)
        object.__setattr__(self, "abs_tol", abs_tol)
        object.__setattr__(self, "max_iter", max_iter)
        object.__setattr__(
            self, "_core_settings", _core.Settings(tol, abs_tol, max_iter, self.polish)
        )

    def __getstate__(self) -> dict[str, Any]:  # the core's struct is rebuilt, not pickled
        return {
            "tol": self.tol,
            "abs_tol": self.abs_tol,
            "max_iter": self.max_iter,
            "polish": self.polish,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        self.__post_init__()

    @property
    def core(self) -> Any:
        """The core's settings struct (``_core.Settings``)."""
        return self._core_settings

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the keyword arguments that are not None replacing fields."""
        given = {key: value for key, value in overrides.items() if value is not None}
        return replace(self, **given) if given else self


def as_settings(settings: Settings | None, **overrides: Any) -> Settings:
    """``settings`` (None: the defaults) with the convenience keywords (``tol=``, ...) applied."""
    if settings is None:
        return DEFAULT.with_overrides(**overrides)
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be a rebalancing.Settings, got {type(settings).__name__}")
    return settings.with_overrides(**overrides)


DEFAULT = Settings()
