"""One status vocabulary for every solver result, single or batch.

:class:`Status` is a ``str``-valued enum, so ``res.status == "optimal"`` and
``res.status is Status.OPTIMAL`` both hold. Its members are the names the C++ core gives its
``Status`` enum (``cpp/include/rebalancing/solver.hpp``), in the same order: the core's codes
index :data:`STATUSES`, and importing this module fails if the two ever disagree.
"""

from __future__ import annotations

from enum import Enum

from rebalancing import _core

__all__ = ["STATUSES", "Status"]


class Status(str, Enum):
    """How a solve ended.

    * ``OPTIMAL`` — certified: the duality gap is within the tolerance;
    * ``MAX_ITERATIONS`` — the iteration budget ran out; the best point is returned with its gap;
    * ``NUMERICAL_ERROR`` — the objective or its gradient overflowed float64: nothing is certified;
    * ``INVALID`` — (batches) the account's inputs were rejected; ``errors`` says why;
    * ``FAILED`` — (batches) the task that solved the account failed, e.g. a lost worker.

    Examples
    --------
    >>> import rebalancing as rb
    >>> status = rb.solve([0.7, 0.3], [0.6, 0.4], [[0.04, 0.0], [0.0, 0.01]], 0.001).status
    >>> status is rb.Status.OPTIMAL, status == "optimal"
    (True, True)
    """

    OPTIMAL = "optimal"
    MAX_ITERATIONS = "max_iterations"
    NUMERICAL_ERROR = "numerical_error"
    INVALID = "invalid"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


#: Status by the core's code (``STATUSES[code]``).
STATUSES: tuple[Status, ...] = tuple(Status(name) for name in _core.STATUS_NAMES)

if tuple(s.value for s in Status) != _core.STATUS_NAMES:  # pragma: no cover - a build mismatch
    raise ImportError(
        f"rebalancing.status does not match the compiled core: {_core.STATUS_NAMES} against "
        f"{tuple(s.value for s in Status)}; rebuild the package"
    )
