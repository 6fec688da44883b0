"""Type aliases for the arguments of the public API, for users' own annotations too.

Each alias lists what a function accepts. Mappings are keyed by ticker; their key type is
``Any`` because ``Mapping`` is invariant in its keys (``dict[str, float]`` must match). Values
are checked at run time all the same (a wrong value is a ``ValueError`` or ``TypeError`` naming
the argument), and labelled values (a Series, DataFrame or mapping by ticker) are aligned by
ticker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

# Imported at run time too, so that typing.get_type_hints resolves the public signatures. (The
# alias of a backtest's costs is rebalancing.costs.Costs: that module imports this one.)
from rebalancing.covariance import DenseCovariance, FactorModel
from rebalancing.schedule import Schedule

if TYPE_CHECKING:
    # pandas-stubs makes Series generic; at run time it is not subscriptable.
    _Series: TypeAlias = pd.Series[Any]
else:
    _Series = pd.Series

__all__ = [
    "Accounts",
    "Amount",
    "ByTicker",
    "Covariance",
    "DateLike",
    "Executor",
    "Groups",
    "PerAccount",
    "PerAsset",
    "ScheduleLike",
    "SellCurves",
    "Weights",
]

#: One portfolio's weights (fractions summing to 1): an array or sequence in the order of the
#: other arguments, or a Series or mapping by ticker.
Weights: TypeAlias = npt.ArrayLike | _Series | Mapping[Any, float]

#: One value per asset: a scalar for every asset, an array or sequence, or a Series or mapping
#: by ticker.
PerAsset: TypeAlias = float | npt.ArrayLike | _Series | Mapping[Any, float]

#: Several accounts' weights: an (m, n) array, one account per row, or a DataFrame accounts ×
#: tickers.
Accounts: TypeAlias = npt.ArrayLike | pd.DataFrame

#: A per-asset value shared by every account (see :data:`PerAsset`) or one row per account
#: (an (m, n) array or a DataFrame accounts × tickers).
PerAccount: TypeAlias = PerAsset | pd.DataFrame

#: A covariance: an (n, n) array, a DataFrame by ticker, or a prebuilt operator.
Covariance: TypeAlias = npt.ArrayLike | pd.DataFrame | DenseCovariance | FactorModel

#: Asset groups: a label per asset (array or sequence), or a Series or mapping ticker -> group.
Groups: TypeAlias = npt.ArrayLike | _Series | Mapping[Any, Hashable]

#: Sell curves by asset (ticker or index): tranches ``(amount, cost per unit)``, cheapest first;
#: or a list with one entry per asset (None for none).
SellCurves: TypeAlias = (
    Mapping[Any, Sequence[tuple[float, float]]] | Sequence[Sequence[tuple[float, float]] | None]
)

#: Money or a number of shares: ``Decimal``, ``int`` or a decimal string (binary floats are
#: refused where exact amounts are kept, as in the tax ledger).
Amount: TypeAlias = Decimal | int | str

#: A calendar date.
DateLike: TypeAlias = str | dt.date | pd.Timestamp | np.datetime64

#: When to look: a frequency name (``"monthly"``), a :class:`~rebalancing.Schedule`, or dates.
ScheduleLike: TypeAlias = str | Schedule | Iterable[DateLike]


class Executor(Protocol):
    """What :func:`~rebalancing.solve_batch` needs of an executor: ``submit`` as in
    :class:`concurrent.futures.Executor` (a ``dask.distributed.Client`` also qualifies)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any: ...


#: Values by ticker (an account's shares or prices, a target with ``"CASH"``): a Series or a
#: mapping ticker -> number.
ByTicker: TypeAlias = _Series | Mapping[Any, float]
