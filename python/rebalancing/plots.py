"""Plots of backtest results (needs the optional ``matplotlib``: ``pip install rebalancing[plot]``).

* :func:`plot_drift` — the largest drift from target, :math:`\\max_i |w_i - w^*_i|`, over time;
* :func:`plot_cumulative_cost` — costs paid, cumulated, in basis points of the portfolio value;
* :func:`plot_frontier` — cost per year against tracking error, one point per policy, policies
  of one family joined in order.

Each function draws on a given ``ax`` (or a new figure) and returns the figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rebalancing.backtest import BacktestResult

__all__ = ["available", "plot_cumulative_cost", "plot_drift", "plot_frontier", "save_plots"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'rebalancing[plot]'") from err
    return plt


def available() -> bool:
    """Whether matplotlib can be imported (the plots are an optional extra)."""
    try:
        _pyplot()
    except ImportError:
        return False
    return True


def _axes(ax: Any, title: str) -> tuple[Any, Any]:
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    else:
        fig = ax.figure
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return fig, ax


def plot_drift(
    results: Mapping[str, BacktestResult], ax: Any = None, *, resample: str | None = None
) -> Any:
    """Largest drift from target (percentage points) over time, one line per policy.

    ``resample`` (a pandas frequency such as ``"ME"``) plots the maximum per period, which keeps
    daily data over decades readable.
    """
    title = "Largest drift from target before trading"
    fig, ax = _axes(ax, title if resample is None else f"{title} (maximum per {resample} period)")
    for name, res in results.items():
        drift = res.drift * 100
        if resample is not None:
            drift = drift.resample(resample).max()
        ax.plot(drift.index, drift.to_numpy(), label=name, linewidth=0.9)
    ax.set_ylabel("max |w − w*| (percentage points)")
    ax.legend(fontsize=8, ncols=2)
    return fig


def plot_cumulative_cost(results: Mapping[str, BacktestResult], ax: Any = None) -> Any:
    """Costs paid, cumulated over time, in basis points of the portfolio value."""
    fig, ax = _axes(ax, "Cumulative trading cost")
    for name, res in results.items():
        total = res.costs.sum(axis=1).cumsum() * 1e4
        ax.plot(total.index, total.to_numpy(), label=name, linewidth=1.0)
    ax.set_ylabel("cumulative cost (bp of portfolio value)")
    ax.legend(fontsize=8, ncols=2)
    return fig


def plot_frontier(
    table: pd.DataFrame,
    families: Mapping[str, Sequence[str]] | None = None,
    ax: Any = None,
    *,
    title: str = "Cost against tracking error",
) -> Any:
    """Cost per year against tracking error, one labelled point per policy (row of ``table``).

    ``families`` maps a family name (e.g. "calendar") to its policies in order; each family is
    drawn as one line with markers. Policies in no family are drawn as single points.
    """
    fig, ax = _axes(ax, title)
    families = dict(families or {})
    listed = {name for names in families.values() for name in names}
    markers = iter("osD^v<>pX*")
    for family, names in families.items():
        rows = table.loc[[n for n in names if n in table.index]]
        ax.plot(
            rows["cost_bps"],
            rows["tracking_error"] * 100,
            marker=next(markers, "o"),
            label=family,
            linewidth=1.0,
        )
    others = table.loc[[n for n in table.index if n not in listed]]
    # A lone policy far above every family (buy and hold, typically) would flatten the chart:
    # it is named in the legend with its figures instead of being drawn.
    in_families = table.loc[[n for n in table.index if n in listed]]
    ceiling = 2.0 * float(in_families["tracking_error"].max()) if len(in_families) else np.inf
    off_chart = others[others["tracking_error"] > ceiling]
    others = others.drop(off_chart.index)
    if len(others):
        ax.scatter(others["cost_bps"], others["tracking_error"] * 100, marker="x", label="other")
    for name, row in off_chart.iterrows():
        ax.plot(
            [],
            [],
            " ",
            label=f"{name}: {row['cost_bps']:.2f} bp/yr, TE {100 * row['tracking_error']:.2f}%"
            " (off the chart)",
        )
    for name, row in table.drop(off_chart.index).iterrows():
        ax.annotate(
            str(name),
            (row["cost_bps"], row["tracking_error"] * 100),
            textcoords="offset points",
            xytext=(4, 3),
            fontsize=7,
        )
    ax.set_xlabel("cost paid (bp of portfolio value per year)")
    ax.set_ylabel("tracking error (% per year)")
    costs = table["cost_bps"][table["cost_bps"] > 0]
    if len(costs) >= 2 and costs.max() / costs.min() > 20:
        ax.set_xscale("log")
    ax.legend(fontsize=8)
    return fig


def save_plots(
    results: Mapping[str, BacktestResult],
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
    plt = _pyplot()
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
        plt.close(fig)
        paths.append(path)
    return paths
