"""Plots of backtest results (needs the optional ``matplotlib``: ``pip install rebalancing[plot]``).

* :func:`plot_backtest` — one backtest over time: its value (``kind="nav"``), its largest drift
  from target (``"drift"``), its weights (``"weights"``) or its costs by component (``"costs"``);
* :func:`plot_comparison` — several backtests on one chart: ``"nav"``, ``"drift"``, ``"costs"``
  or ``"frontier"``;
* :func:`plot_drift` — the largest drift from target, :math:`\\max_i |w_i - w^*_i|`, over time;
* :func:`plot_cumulative_cost` — costs paid, cumulated, in basis points of the portfolio value;
* :func:`plot_frontier` — cost per year against tracking error, one labelled point per policy,
  policies of one family joined in order;
* :func:`save_plots` — the drift, cost and frontier charts as PNG files.

Each function draws on a given ``ax`` or, without one, on a new
:class:`matplotlib.figure.Figure`, and returns the figure. The new figures are made without
pyplot, so drawing never selects or changes the matplotlib backend, never opens a window and
leaves nothing in pyplot's list of open figures (a figure is freed once unreferenced). In a
notebook a returned figure displays as the cell's value; in a script, ``fig.savefig(path)``, or
pass ``ax=plt.subplots()[1]`` to draw into a pyplot figure and ``plt.show()`` it.

The results are used through their public attributes only (``policy``, ``index``, ``tickers``,
``nav``, ``drift``, ``weights``, ``costs`` and ``summary()``), so anything shaped like
:class:`rebalancing.BacktestResult` can be plotted.
"""

from __future__ import annotations

import functools
import io
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd

__all__ = [
    "available",
    "plot_backtest",
    "plot_comparison",
    "plot_cumulative_cost",
    "plot_drift",
    "plot_frontier",
    "save_plots",
]


class BacktestLike(Protocol):
    """What the plots read from a backtest result (:class:`rebalancing.BacktestResult`)."""

    @property
    def policy(self) -> str: ...
    @property
    def index(self) -> pd.DatetimeIndex: ...
    @property
    def tickers(self) -> pd.Index: ...
    @property
    def nav(self) -> pd.Series: ...
    @property
    def drift(self) -> pd.Series: ...
    @property
    def weights(self) -> pd.DataFrame: ...
    @property
    def costs(self) -> pd.DataFrame: ...
    def summary(self) -> pd.Series: ...


# --- matplotlib, without pyplot --------------------------------------------------------------


@functools.cache
def _figure_class() -> Any:
    """matplotlib's Figure, extended to show itself in IPython and Jupyter.

    matplotlib.figure, never matplotlib.pyplot: importing pyplot resolves (and may switch) the
    user's backend, and its figures stay open in pyplot's list until closed. A figure made
    without pyplot is displayed by IPython as text only (its PNG formatter is registered when
    pyplot loads the inline backend), hence the ``_repr_png_``.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'rebalancing[plot]'") from err

    class NotebookFigure(Figure):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png")
            return buffer.getvalue()

    # Found by name for pickling, through the module's __getattr__ below.
    NotebookFigure.__module__ = __name__
    NotebookFigure.__qualname__ = "NotebookFigure"
    return NotebookFigure


def __getattr__(name: str) -> Any:
    # The figure class is made on first use (matplotlib is optional and imported late); pickle
    # finds it again as rebalancing.plots.NotebookFigure.
    if name == "NotebookFigure":
        return _figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def available() -> bool:
    """Whether matplotlib can be imported (the plots are an optional extra)."""
    try:
        _figure_class()
    except ImportError:
        return False
    return True


def _axes(ax: Any, title: str, xlabel: str, ylabel: str) -> tuple[Any, Any]:
    if ax is None:
        fig = _figure_class()(figsize=(10, 5), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _legend(ax: Any, **kwargs: Any) -> None:
    # Beside the axes rather than in them: time series fill the whole plotting area, and the
    # frontier's point labels are placed around the data, so a legend inside would cover one or
    # the other. The constrained layout of our figures makes room for it.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8, **kwargs)


def _distinct_colors(ax: Any, n: int) -> None:
    """Give ``n`` series ``n`` different colours: the default cycle repeats after ten, which
    made two of the demo's thirteen policies (or of twenty tickers) look the same."""
    if n <= 10:
        return
    from matplotlib import colormaps

    if n <= 20:
        colors = list(colormaps["tab20"](np.arange(n)))  # its n first colours
    else:
        colors = [colormaps["turbo"](t) for t in np.linspace(0.05, 0.95, n)]
    ax.set_prop_cycle(color=colors)


# --- words and ticks -------------------------------------------------------------------------

# pandas offset classes (by name fragment, most specific first) and what a reader calls them.
_PERIOD_WORDS = (
    ("Year", "year"),
    ("Quarter", "quarter"),
    ("SemiMonth", "half month"),
    ("Month", "month"),
    ("Week", "week"),
    ("BusinessDay", "business day"),
    ("Day", "day"),
)


def _per_period(resample: str) -> str:
    """``"YE"`` → ``"per year"``, ``"2ME"`` → ``"per 2 months"``: titles in words, not codes."""
    offset = pd.tseries.frequencies.to_offset(resample)
    kind = type(offset).__name__
    word = next((w for fragment, w in _PERIOD_WORDS if fragment in kind), None)
    if word is None:
        return f"per period of {offset.freqstr}"
    return f"per {word}" if offset.n == 1 else f"per {offset.n} {word}s"


def _plain_number(value: float, _pos: object = None) -> str:
    """Tick label without powers of ten: 0.5, 2, 20, 1,000."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if abs(value) < 1e-4:
        return f"{value:.0e}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def _log_ticks(lo: float, hi: float, subs: Sequence[float]) -> int:
    """How many ticks ``s·10^k`` (s in ``subs``) lie in ``[lo, hi]``."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    return sum(lo <= s * 10.0**k <= hi * (1 + 1e-9) for k in range(first, last + 1) for s in subs)


def _log_scale_if_wide(ax: Any, which: str, values: np.ndarray, ratio: float) -> bool:
    """Put the ``which`` axis ("x" or "y") on a log scale when its positive ``values`` span more
    than ``ratio``, with at least three labelled ticks written as plain numbers.

    matplotlib labels only the powers of ten by default, which leaves a range of a decade or so
    with one or two labels; here the ticks are the densest of every integer multiple, 1-2-5 or
    the powers of ten alone that keeps at most eight of them. Returns whether the scale is log.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2 or values.min() <= 0 or values.max() / values.min() <= ratio:
        return False
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    subs: Sequence[float] = (1.0,)
    for candidate in ((1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0), (1.0, 2.0, 5.0)):
        if 3 <= _log_ticks(lo, hi, candidate) <= 8:
            subs = candidate
            break
    axis.set_major_locator(LogLocator(base=10.0, subs=subs))
    axis.set_major_formatter(FuncFormatter(_plain_number))
    axis.set_minor_formatter(NullFormatter())
    return True


# --- point labels without overlap ------------------------------------------------------------

_Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in display pixels

# Where a label may go around its point, most preferred first: right, above right, below right,
# left, ... A label placed further out than the first ring gets a thin leader line to its point.
_DIRECTIONS = ((1, 0), (1, 1), (1, -1), (-1, 0), (-1, 1), (-1, -1), (0, 1), (0, -1))
_DISTANCES_PT = (5.5, 10.0, 16.0, 23.0, 31.0, 41.0, 53.0, 67.0)  # the first clears a marker
_PAD_PT = 1.5  # kept clear around every label, so that a re-layout by a pixel cannot make two touch


class _Spot(NamedTuple):
    """A place for a label: its cost, its box (padded), where it is and its leader line."""

    cost: float
    box: _Box
    direction: tuple[int, int]
    distance: float  # points, along each axis of the direction
    leader: tuple[np.ndarray, np.ndarray] | None  # point to label centre


def _overlap(a: _Box, b: _Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _segment_crosses(p: np.ndarray, q: np.ndarray, box: _Box) -> bool:
    """Whether the segment p–q passes through the box (Liang–Barsky clipping)."""
    t0, t1 = 0.0, 1.0
    d = q - p
    for step, lo_gap, hi_gap in (
        (d[0], p[0] - box[0], box[2] - p[0]),
        (d[1], p[1] - box[1], box[3] - p[1]),
    ):
        if step == 0:
            if lo_gap < 0 or hi_gap < 0:
                return False
            continue
        ta, tb = -lo_gap / step, hi_gap / step
        t0, t1 = max(t0, min(ta, tb)), min(t1, max(ta, tb))
        if t0 > t1:
            return False
    return True


def _label_points(
    ax: Any,
    labels: Sequence[tuple[str, float, float]],
    lines: Sequence[np.ndarray] = (),
    *,
    fontsize: float = 7.0,
) -> list[Any]:
    """Annotate each ``(text, x, y)`` so that no label overlaps another label or any labelled
    point, and every label lies inside the axes (hence inside the figure), crossing the
    ``lines`` (arrays of data points, joined in order) as little as possible.

    Deterministic greedy placement: the most crowded points choose first, each taking the
    cheapest free spot among eight directions at growing distances. Positions are computed in
    display space for the axes' current limits and size, and stored as offsets in points, so
    they survive saving at another dpi. The labels are left out of the layout computation (they
    lie inside the axes) so that placing them cannot move the axes.
    """
    if not labels:
        return []
    fig = ax.figure.figure  # the root figure, also when ax is in a subfigure
    fig.draw_without_rendering()  # settles the layout and the autoscaled limits
    px_per_pt = fig.dpi / 72.0
    pad = _PAD_PT * px_per_pt
    frame = ax.bbox
    inside: _Box = (frame.x0 + pad, frame.y0 + pad, frame.x1 - pad, frame.y1 - pad)
    points = ax.transData.transform(np.array([(x, y) for _, x, y in labels], dtype=float))
    marker = 3.5 * px_per_pt  # half the size of a default marker, and a little more
    blocked: list[_Box] = [
        (px - marker, py - marker, px + marker, py + marker) for px, py in points
    ]
    segments = [
        (a, b)
        for line in lines
        for a, b in zip(
            ax.transData.transform(line)[:-1], ax.transData.transform(line)[1:], strict=True
        )
    ]
    # Measure each text once; its box around any anchor follows from the alignment.
    sizes = []
    for text, _, _ in labels:
        # At the axes' centre: an annotation outside the axes is not drawn and measures 1×1.
        probe = ax.annotate(text, (0.5, 0.5), xycoords="axes fraction", fontsize=fontsize)
        extent = probe.get_window_extent()
        sizes.append((extent.width, extent.height))
        probe.remove()
    near = 40 * px_per_pt
    crowding = [int((np.hypot(*(points - p).T) < near).sum()) for p in points]
    order = sorted(range(len(labels)), key=lambda i: (-crowding[i], i))
    chosen: dict[int, _Spot] = {}
    leaders: list[tuple[np.ndarray, np.ndarray]] = []
    zeros = np.zeros(len(points))
    for i in order:
        (px, py), (w, h) = points[i], sizes[i]
        best: _Spot | None = None
        for rank, (dx, dy) in enumerate(_DIRECTIONS):
            for dist in _DISTANCES_PT:
                ox, oy = dx * dist * px_per_pt, dy * dist * px_per_pt
                x0 = px + ox - (0.0 if dx > 0 else w if dx < 0 else w / 2)
                y0 = py + oy - (0.0 if dy > 0 else h if dy < 0 else h / 2)
                box = (x0 - pad, y0 - pad, x0 + w + pad, y0 + h + pad)
                if not (
                    inside[0] <= box[0]
                    and box[2] <= inside[2]
                    and inside[1] <= box[1]
                    and box[3] <= inside[3]
                ):
                    continue
                if any(_overlap(box, other) for other in blocked):
                    continue
                if any(_segment_crosses(a, b, box) for a, b in leaders):
                    continue
                # Right next to its point a label needs no line; further out a thin line says
                # which point it names (without one, a label between two points is ambiguous).
                # That line may not cross another label or point either.
                centre = np.array([x0 + w / 2, y0 + h / 2])
                leader = (points[i], centre) if dist > _DISTANCES_PT[0] else None
                if leader is not None and any(
                    _segment_crosses(*leader, other)
                    for k, other in enumerate(blocked)
                    if k != i  # its own point, where the line starts
                ):
                    continue
                crossings = sum(_segment_crosses(a, b, box) for a, b in segments)
                # A label nearer another point than its own reads as that point's name.
                gaps = np.hypot(
                    np.maximum.reduce([box[0] - points[:, 0], points[:, 0] - box[2], zeros]),
                    np.maximum.reduce([box[1] - points[:, 1], points[:, 1] - box[3], zeros]),
                )
                misleading = bool((np.delete(gaps, i) < gaps[i]).any())
                cost = dist + rank + 12.0 * crossings + 40.0 * misleading
                if best is None or cost < best.cost:
                    best = _Spot(cost, box, (dx, dy), dist, leader)
        if best is None:
            continue  # no free spot (in very small axes): unlabelled rather than overlapping
        blocked.append(best.box)
        chosen[i] = best
        if best.leader is not None:
            leaders.append(best.leader)
    missing = [labels[i][0] for i in range(len(labels)) if i not in chosen]
    if missing:
        warnings.warn(
            f"no room to label {', '.join(missing)} without overlap: give the plot larger axes",
            UserWarning,
            stacklevel=3,  # the plot function's caller
        )
    annotations = []
    for i, spot in sorted(chosen.items()):
        text, x, y = labels[i]
        (dx, dy), dist = spot.direction, spot.distance
        annotation = ax.annotate(
            text,
            (x, y),
            xytext=(dx * dist, dy * dist),
            textcoords="offset points",
            ha="left" if dx > 0 else "right" if dx < 0 else "center",
            va="bottom" if dy > 0 else "top" if dy < 0 else "center",
            fontsize=fontsize,
            arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5, "shrinkA": 0, "shrinkB": 3}
            if spot.leader is not None
            else None,
        )
        annotation.set_in_layout(False)
        annotations.append(annotation)
    return annotations


# --- several backtests -----------------------------------------------------------------------


def _named(results: Mapping[str, BacktestLike] | Iterable[BacktestLike]) -> dict[str, BacktestLike]:
    if isinstance(results, Mapping):
        return dict(results)
    return {r.policy: r for r in results}


def plot_drift(
    results: Mapping[str, BacktestLike],
    ax: Any = None,
    *,
    resample: str | None = None,
    title: str = "Largest drift from target before trading",
) -> Any:
    """Largest drift from target (percentage points) over time, one line per policy.

    ``resample`` (a pandas frequency such as ``"ME"``) plots the maximum per period, which keeps
    daily data over decades readable; the title then says which period.
    """
    if resample is not None:
        title += f" (maximum {_per_period(resample)})"
    fig, ax = _axes(ax, title, "date", "max |w − w*| (percentage points)")
    _distinct_colors(ax, len(results))
    for name, res in results.items():
        drift = res.drift * 100
        if resample is not None:
            drift = drift.resample(resample).max()
        ax.plot(drift.index, drift.to_numpy(), label=name, linewidth=0.9)
    ax.set_ylim(bottom=0)
    if len(results) > 1:
        _legend(ax)
    return fig


def plot_cumulative_cost(results: Mapping[str, BacktestLike], ax: Any = None) -> Any:
    """Costs paid, cumulated over time, in basis points of the portfolio value."""
    fig, ax = _axes(
        ax, "Cumulative trading cost", "date", "cumulative cost (bp of portfolio value)"
    )
    _distinct_colors(ax, len(results))
    for name, res in results.items():
        total = res.costs.sum(axis=1).cumsum() * 1e4
        ax.plot(total.index, total.to_numpy(), label=name, linewidth=1.0)
    if len(results) > 1:
        _legend(ax)
    return fig


def _plot_nav(results: Mapping[str, BacktestLike], ax: Any, title: str) -> Any:
    fig, ax = _axes(ax, title, "date", "portfolio value (currency units)")
    _distinct_colors(ax, len(results))
    for name, res in results.items():
        ax.plot(res.nav.index, res.nav.to_numpy(), label=name, linewidth=1.0)
    values = np.concatenate([res.nav.to_numpy() for res in results.values()])
    if _log_scale_if_wide(ax, "y", values, ratio=10.0):
        ax.set_ylabel("portfolio value (currency units, log scale)")
    if len(results) > 1:
        _legend(ax)
    return fig


def plot_frontier(
    table: pd.DataFrame,
    families: Mapping[str, Sequence[str]] | None = None,
    ax: Any = None,
    *,
    title: str = "Cost against tracking error",
) -> Any:
    """Cost per year against tracking error, one labelled point per policy (row of ``table``,
    with columns ``cost_bps`` and ``tracking_error`` as in :func:`rebalancing.summary_table`).

    ``families`` maps a family name (e.g. "calendar") to its policies in order; each family is
    drawn as one line with markers. Policies in no family are drawn as single points. The labels
    are placed so that none overlaps another or a point, and all lie inside the axes.
    """
    fig, ax = _axes(
        ax, title, "cost paid (bp of portfolio value per year)", "tracking error (% per year)"
    )
    families = dict(families or {})
    listed = {name for names in families.values() for name in names}
    markers = iter("osD^v<>pX*")
    lines = []
    for family, names in families.items():
        rows = table.loc[[n for n in names if n in table.index]]
        line = np.column_stack([rows["cost_bps"], rows["tracking_error"] * 100])
        ax.plot(*line.T, marker=next(markers, "o"), label=family, linewidth=1.0)
        lines.append(line)
    others = table.loc[[n for n in table.index if n not in listed]]
    # A lone policy far above every family (buy and hold, typically) would flatten the chart:
    # it is named in the legend with its figures instead of being drawn.
    in_families = table.loc[[n for n in table.index if n in listed]]
    ceiling = 2.0 * float(in_families["tracking_error"].max()) if len(in_families) else np.inf
    off_chart = others[others["tracking_error"] > ceiling]
    others = others.drop(off_chart.index)
    if len(others):
        # "other" only means something beside families; alone, the points need no legend.
        label = "other" if families else None
        ax.scatter(others["cost_bps"], others["tracking_error"] * 100, marker="x", label=label)
    for name, row in off_chart.iterrows():
        ax.plot(
            [],
            [],
            " ",
            label=f"{name}: {row['cost_bps']:.2f} bp/yr, TE {100 * row['tracking_error']:.2f}%"
            "\n(off the chart)",
        )
    drawn = table.drop(off_chart.index)
    # Room around the outermost points, so that their labels fit inside the axes.
    ax.margins(x=0.08, y=0.08)
    # A log scale cannot show a zero cost, so it is used only when every drawn cost is positive.
    _log_scale_if_wide(ax, "x", drawn["cost_bps"].to_numpy(), ratio=20.0)
    if families or len(off_chart):
        _legend(ax)
    _label_points(
        ax,
        [(str(n), r["cost_bps"], r["tracking_error"] * 100) for n, r in drawn.iterrows()],
        lines,
    )
    return fig


_COMPARISONS = ("nav", "drift", "costs", "frontier")


def plot_comparison(
    results: Mapping[str, BacktestLike] | Iterable[BacktestLike],
    kind: str = "nav",
    ax: Any = None,
    *,
    resample: str | None = None,
    families: Mapping[str, Sequence[str]] | None = None,
) -> Any:
    """Several backtests on one chart: their values over time (``kind="nav"``), their largest
    drift from target (``"drift"``, see :func:`plot_drift` for ``resample``), their cumulative
    costs (``"costs"``), or cost per year against tracking error (``"frontier"``, see
    :func:`plot_frontier` for ``families``).

    ``results`` maps names to results (as :func:`rebalancing.backtests` returns) or is a
    sequence of results, named by their ``policy``.
    """
    named = _named(results)
    if kind == "nav":
        return _plot_nav(named, ax, "Portfolio value after costs")
    if kind == "drift":
        return plot_drift(named, ax, resample=resample)
    if kind == "costs":
        return plot_cumulative_cost(named, ax)
    if kind == "frontier":
        table = pd.DataFrame({name: r.summary() for name, r in named.items()}).T
        return plot_frontier(table, families, ax)
    raise ValueError(f"kind must be one of {', '.join(_COMPARISONS)}, got {kind!r}")


# --- one backtest ----------------------------------------------------------------------------

_KINDS = ("nav", "drift", "weights", "costs")


def plot_backtest(
    result: BacktestLike, kind: str = "nav", ax: Any = None, *, resample: str | None = None
) -> Any:
    """One backtest over time: its value after costs and flows (``kind="nav"``), its largest
    drift from target before trading (``"drift"``; ``resample`` as in :func:`plot_drift`), its
    weights after trading, stacked (``"weights"``), or its costs by component, cumulated
    (``"costs"``). Returns the figure.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    name = result.policy
    if kind == "nav":
        return _plot_nav({name: result}, ax, f"{name}: portfolio value after costs")
    if kind == "drift":
        title = f"{name}: largest drift from target before trading"
        return plot_drift({name: result}, ax, resample=resample, title=title)
    if kind == "weights":
        return _plot_weights(result, ax)
    return _plot_costs(result, ax)


def _plot_weights(result: BacktestLike, ax: Any) -> Any:
    fig, ax = _axes(
        ax, f"{result.policy}: weights after trading", "date", "weight (% of portfolio value)"
    )
    weights = result.weights * 100
    columns = [str(c) for c in weights.columns]
    _distinct_colors(ax, len(columns))
    if (weights.to_numpy() >= 0).all():
        # Stacked, the bands show each holding's share and add up to 100 %.
        ax.stackplot(weights.index, weights.to_numpy().T, labels=columns, linewidth=0)
        ax.set_ylim(0, 100)
    else:  # a short position cannot be stacked
        for column, label in zip(weights.columns, columns, strict=True):
            ax.plot(weights.index, weights[column].to_numpy(), label=label, linewidth=0.8)
    ax.set_xlim(weights.index[0], weights.index[-1])
    # Long ticker lists in columns, so that the legend stays within the figure's height.
    _legend(ax, ncols=max(1, math.ceil(len(columns) / 25)), reverse=True)
    return fig


def _plot_costs(result: BacktestLike, ax: Any) -> Any:
    fig, ax = _axes(
        ax,
        f"{result.policy}: cumulative trading cost",
        "date",
        "cumulative cost (bp of portfolio value)",
    )
    costs = result.costs * 1e4
    paid = [c for c in costs.columns if (costs[c] != 0).any()]
    for column in paid:
        ax.plot(costs.index, costs[column].cumsum().to_numpy(), label=str(column), linewidth=1.0)
    if len(paid) != 1:  # the total is the line itself when only one component is paid
        total = costs.sum(axis=1).cumsum()
        ax.plot(total.index, total.to_numpy(), label="total", color="black", linewidth=1.2)
    _legend(ax)
    return fig


def save_plots(
    results: Mapping[str, BacktestLike],
    table: pd.DataFrame,
    folder: str | Path,
    prefix: str,
    *,
    families: Mapping[str, Sequence[str]] | None = None,
    drift_policies: Sequence[str] | None = None,
    resample: str | None = None,
) -> list[Path]:
    """Write the three plots as PNG files named ``{prefix}_drift.png``, ``..._cost.png`` and
    ``..._frontier.png`` in ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chosen = {k: results[k] for k in (drift_policies or list(results)) if k in results}
    paths = []
    for suffix, fig in (
        ("drift", plot_drift(chosen, resample=resample)),
        ("cost", plot_cumulative_cost(chosen)),
        ("frontier", plot_frontier(table, families)),
    ):
        path = folder / f"{prefix}_{suffix}.png"
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths
