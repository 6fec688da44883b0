"""The plots: they leave the user's matplotlib alone, their labels are readable (no overlap,
nothing clipped, log axes with real tick labels, English titles, every axis labelled), and the
per-backtest functions draw what the result holds. On the embedded real data, as in the demo."""

from __future__ import annotations

import itertools
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import rebalancing as rb
from rebalancing import datasets, plots
from rebalancing.cli import stock_bond_policies

# matplotlib is an optional extra: without it these tests are skipped (test_cli checks that the
# demo still runs and says so).
Figure = pytest.importorskip("matplotlib.figure").Figure
Text = pytest.importorskip("matplotlib.text").Text

STOCK_BOND_FAMILIES = {
    "calendar": ["monthly", "quarterly", "annual"],
    "monthly + band": [f"monthly {b}% band" for b in (1, 5, 10)],
    "quarterly + band": [f"quarterly {b}% band" for b in (1, 5, 10)],
    "annual + band": [f"annual {b}% band" for b in (1, 5, 10)],
}

# The demo's part (b) figures (cost bp/yr, tracking error): recomputing them needs the daily
# cost-aware backtests, half a minute; the frontier only reads these two columns.
STOCKS20 = pd.DataFrame.from_dict(
    {
        "daily": (18.105, 0.00000),
        "weekly": (8.451, 0.00439),
        "monthly": (4.067, 0.00990),
        "quarterly": (2.488, 0.01639),
        "1% band": (4.664, 0.00513),
        "5% band": (1.031, 0.02863),
        "cost-aware λ=0.03": (0.616, 0.04752),
        "cost-aware λ=0.1": (1.280, 0.01749),
        "cost-aware λ=0.3": (2.734, 0.00741),
        "cost-aware λ=1": (5.393, 0.00273),
        "cost-aware λ=3": (8.564, 0.00114),
        "cost-aware λ=10": (12.090, 0.00050),
    },
    orient="index",
    columns=["cost_bps", "tracking_error"],
)
STOCKS20_FAMILIES = {
    "calendar": ["daily", "weekly", "monthly", "quarterly"],
    "band": ["1% band", "5% band"],
    "cost-aware (λ sweep)": [n for n in STOCKS20.index if n.startswith("cost-aware")],
}


@pytest.fixture(scope="module")
def stock_bond() -> dict[str, rb.BacktestResult]:
    """The demo's part (a): 60/40 since 1926, monthly, thirteen policies."""
    monthly = datasets.load_stocks_bonds_bills()[["stocks", "bonds"]]
    target = pd.Series({"stocks": 0.6, "bonds": 0.4})
    costs = rb.LinearCost(half_spread_bps=10.0)
    return rb.backtests(monthly, target, stock_bond_policies(), costs)


@pytest.fixture(scope="module")
def stocks20() -> dict[str, rb.BacktestResult]:
    """Two years of the demo's 20 stocks, daily, with two cost components."""
    daily = datasets.sp500_20_returns().loc["2019":"2020"]
    target = pd.Series(1.0 / daily.shape[1], index=daily.columns)
    costs = rb.LinearCost(commission_bps=1.0, half_spread_bps=5.0)
    policies = {"monthly": rb.Calendar("monthly"), "5% band": rb.Threshold(0.05)}
    return rb.backtests(daily, target, policies, costs)


def every_figure(
    stock_bond: dict[str, rb.BacktestResult], stocks20: dict[str, rb.BacktestResult], folder: Path
) -> list[Any]:
    """One call of every plotting function, as the demo and a user would make them."""
    table = rb.summary_table(stock_bond)
    one = stocks20["monthly"]
    figures = [plots.plot_backtest(one, kind) for kind in ("nav", "drift", "weights", "costs")]
    figures.append(plots.plot_backtest(stock_bond["annual"], "drift", resample="YE"))
    figures += [plots.plot_comparison(stocks20, kind) for kind in ("nav", "drift", "costs")]
    figures.append(plots.plot_comparison(stock_bond, "frontier", families=STOCK_BOND_FAMILIES))
    figures.append(plots.plot_comparison(list(stock_bond.values()), "nav"))
    figures += [
        plots.plot_drift(stock_bond, resample="YE"),
        plots.plot_drift(stocks20, resample="ME"),
        plots.plot_drift(stocks20, resample="QE"),
        plots.plot_cumulative_cost(stock_bond),
        plots.plot_frontier(table, STOCK_BOND_FAMILIES),
        plots.plot_frontier(STOCKS20, STOCKS20_FAMILIES),
    ]
    paths = plots.save_plots(stock_bond, table, folder, "a", families=STOCK_BOND_FAMILIES)
    assert [p.name for p in paths] == ["a_drift.png", "a_cost.png", "a_frontier.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
    return figures


# --- the user's matplotlib is left alone -------------------------------------------------------


def test_plots_keep_the_backend_and_leave_no_pyplot_figure(
    stock_bond: dict[str, rb.BacktestResult],
    stocks20: dict[str, rb.BacktestResult],
    tmp_path: Path,
) -> None:
    import matplotlib
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    open_before = plt.get_fignums()
    # A backend other than the Agg the module used to force, and other than the default.
    matplotlib.use("svg")
    try:
        figures = every_figure(stock_bond, stocks20, tmp_path)
        assert matplotlib.get_backend() == "svg"
        assert plt.get_fignums() == open_before
        assert all(isinstance(fig, Figure) for fig in figures)
    finally:
        matplotlib.use(before)


def test_plotting_never_imports_pyplot(tmp_path: Path) -> None:
    """In a fresh interpreter (pyplot is already imported in this one): a user who never asked
    for pyplot does not get it, nor the backend resolution that comes with it."""
    script = f"""
import sys
import pandas as pd
import rebalancing as rb
from rebalancing import datasets, plots
m = datasets.load_stocks_bonds_bills()[["stocks", "bonds"]].iloc[:120]
res = rb.backtests(m, {{"stocks": 0.6, "bonds": 0.4}}, [rb.Calendar("annual"), rb.Never()], 0.001)
figures = [plots.plot_backtest(res["annual"], k) for k in ("nav", "drift", "weights", "costs")]
figures += [plots.plot_comparison(res, k) for k in ("nav", "drift", "costs", "frontier")]
figures[2].savefig(r"{tmp_path}/weights.png")
figures[-1].savefig(r"{tmp_path}/frontier.png")
assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
import matplotlib
assert matplotlib.get_backend() == "pdf", matplotlib.get_backend()
print("ok")
"""
    env = {**os.environ, "MPLBACKEND": "pdf"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert len(list(tmp_path.glob("*.png"))) == 2


# --- readable labels -------------------------------------------------------------------------


def _boxes_overlap(a: Any, b: Any) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _inside(inner: Any, outer: Any) -> bool:
    return (
        outer.x0 <= inner.x0
        and inner.x1 <= outer.x1
        and outer.y0 <= inner.y0
        and inner.y1 <= outer.y1
    )


def _check_labels(fig: Any, expected: int) -> None:
    """The point labels do not overlap each other nor any point, and lie inside the axes; every
    text of the figure (title, axis labels, tick labels, legend) lies inside the figure."""
    fig.draw_without_rendering()
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_text()]
    assert len(labels) == expected
    boxes = [Text.get_window_extent(t) for t in labels]  # the text, without its leader line
    for (a, box_a), (b, box_b) in itertools.combinations(zip(labels, boxes, strict=True), 2):
        assert not _boxes_overlap(box_a, box_b), (a.get_text(), b.get_text())
    points = ax.transData.transform([t.xy for t in labels])
    for label, box in zip(labels, boxes, strict=True):
        assert _inside(box, ax.bbox), label.get_text()
        assert not any(box.contains(x, y) for x, y in points), label.get_text()
    texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_legend().get_texts()]
    # Tick labels of ticks beyond the view limits exist but are not drawn.
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    texts += [t for t in ax.get_xticklabels() if t.get_text() and x0 <= t.get_position()[0] <= x1]
    texts += [t for t in ax.get_yticklabels() if t.get_text() and y0 <= t.get_position()[1] <= y1]
    for text in texts:
        assert _inside(text.get_window_extent(), fig.bbox), text.get_text()


@pytest.mark.parametrize("dpi", [100, 110, 200])
def test_frontier_labels_neither_collide_nor_leave_the_chart(
    stock_bond: dict[str, rb.BacktestResult], dpi: int
) -> None:
    # Part (a) of the demo: "annual" and "annual 1% band" nearly coincide, and "quarterly" and
    # "quarterly 1% band" are close, which made their labels overlap before.
    table = rb.summary_table(stock_bond)
    fig = plots.plot_frontier(table, STOCK_BOND_FAMILIES)
    fig.set_dpi(dpi)  # the labels are placed at the figure's dpi and saved at another
    _check_labels(fig, expected=12)  # "never" is off the chart, named in the legend
    fig = plots.plot_frontier(STOCKS20, STOCKS20_FAMILIES)
    fig.set_dpi(dpi)
    _check_labels(fig, expected=len(STOCKS20))


def test_frontier_labels_in_a_small_given_axes() -> None:
    """Labels still do not collide in a quarter of a small figure (a user's subplot grid)."""
    fig = Figure(figsize=(8, 6), layout="constrained")
    axes = fig.subplots(2, 2)
    # In so little room a label may be left out (and the user told), but never drawn over
    # another or clipped.
    with pytest.warns(UserWarning, match="no room to label") as caught:
        plots.plot_frontier(STOCKS20, STOCKS20_FAMILIES, ax=axes[0, 0])
    fig.draw_without_rendering()
    labels = [t for t in axes[0, 0].texts if t.get_text()]
    message = str(caught[0].message)
    missing = message.removeprefix("no room to label ").split(" without")[0].split(", ")
    assert sorted([t.get_text() for t in labels] + missing) == sorted(STOCKS20.index)
    assert len(labels) >= len(STOCKS20) // 2
    boxes = [Text.get_window_extent(t) for t in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not _boxes_overlap(a, b)
    assert all(_inside(box, axes[0, 0].bbox) for box in boxes)


def _labelled_ticks(axis: Any, lo: float, hi: float) -> list[str]:
    locs = [v for v in axis.get_majorticklocs() if lo <= v <= hi]
    return [s for s in axis.get_major_formatter().format_ticks(locs) if s]


def test_log_axes_carry_at_least_three_plain_tick_labels(
    stock_bond: dict[str, rb.BacktestResult],
) -> None:
    # The part (b) frontier spans 0.6 to 18 bp: matplotlib's default labelled only 1 and 10.
    fig = plots.plot_frontier(STOCKS20, STOCKS20_FAMILIES)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = _labelled_ticks(ax.xaxis, *ax.get_xlim())
    assert labels == ["0.5", "1", "2", "5", "10", "20"]
    # Portfolio value since 1926 spans three decades and more.
    fig = plots.plot_comparison(stock_bond, "nav")
    fig.draw_without_rendering()
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    labels = _labelled_ticks(ax.yaxis, *ax.get_ylim())
    assert 3 <= len(labels) <= 9
    assert not any("$" in s or "e+" in s for s in labels), labels  # no 10^k in mathtext


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0.6, 18.0, ["1", "2", "5", "10"]),
        (3.0, 70.0, ["5", "10", "20", "50"]),
        (0.02, 900.0, ["0.1", "1", "10", "100"]),
        (40.0, 1_500_000.0, ["100", "1,000", "10,000", "100,000", "1,000,000"]),
    ],
)
def test_log_scale_ticks(lo: float, hi: float, expected: list[str]) -> None:
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([0, 1], [lo, hi])
    assert plots._log_scale_if_wide(ax, "y", np.array([lo, hi]), ratio=10.0)
    ax.set_ylim(lo, hi)
    assert _labelled_ticks(ax.yaxis, lo, hi) == expected


def test_narrow_ranges_stay_linear() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert not plots._log_scale_if_wide(ax, "x", np.array([1.0, 15.0]), ratio=20.0)
    assert not plots._log_scale_if_wide(ax, "x", np.array([0.0, 100.0]), ratio=20.0)
    assert ax.get_xscale() == "linear"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("YE", "per year"),
        ("QE", "per quarter"),
        ("ME", "per month"),
        ("2ME", "per 2 months"),
        ("W", "per week"),
        ("D", "per day"),
        ("B", "per business day"),
    ],
)
def test_periods_in_words(code: str, words: str) -> None:
    assert plots._per_period(code) == words


def test_every_axes_is_titled_and_labelled_in_words(
    stock_bond: dict[str, rb.BacktestResult],
    stocks20: dict[str, rb.BacktestResult],
    tmp_path: Path,
) -> None:
    figures = every_figure(stock_bond, stocks20, tmp_path)
    codes = {"YE", "QE", "ME", " D ", "period"}
    for fig in figures:
        (ax,) = fig.axes
        title = ax.get_title()
        assert title and not any(code in title for code in codes), title
        # Units in parentheses on the value axes; dates need none.
        assert ax.get_xlabel() and ax.get_ylabel(), title
        assert "(" in ax.get_ylabel() or ax.get_ylabel() == "date", ax.get_ylabel()
        assert "(" in ax.get_xlabel() or ax.get_xlabel() == "date", ax.get_xlabel()
    titles = [fig.axes[0].get_title() for fig in figures]
    assert "Largest drift from target before trading (maximum per year)" in titles
    assert "Largest drift from target before trading (maximum per quarter)" in titles


# --- what the per-backtest plots draw ---------------------------------------------------------


def test_plot_backtest_draws_the_result(stocks20: dict[str, rb.BacktestResult]) -> None:
    res = stocks20["monthly"]
    ax = plots.plot_backtest(res, "nav").axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), res.nav.to_numpy())
    assert ax.get_title() == "monthly: portfolio value after costs"

    ax = plots.plot_backtest(res, "drift").axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 100 * res.drift.to_numpy())

    ax = plots.plot_backtest(res, "weights").axes[0]
    assert len(ax.collections) == 20  # one band per ticker
    top = ax.collections[-1].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(100.0)
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == sorted(res.tickers)
    colors = {tuple(c.get_facecolor()[0]) for c in ax.collections}
    assert len(colors) == 20  # twenty tickers, twenty colours (the default cycle has ten)

    ax = plots.plot_backtest(res, "costs").axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["commission", "spread", "total"]  # impact is never paid here: left out
    total = ax.lines[-1].get_ydata()
    assert total[-1] == pytest.approx(1e4 * res.costs.to_numpy().sum())


def test_plot_backtest_rejects_an_unknown_kind(stocks20: dict[str, rb.BacktestResult]) -> None:
    with pytest.raises(ValueError, match="kind must be one of nav, drift, weights, costs"):
        plots.plot_backtest(stocks20["monthly"], "returns")
    with pytest.raises(ValueError, match="kind must be one of nav, drift, costs, frontier"):
        plots.plot_comparison(stocks20, "weights")


def test_plot_comparison_names_results_by_policy(stocks20: dict[str, rb.BacktestResult]) -> None:
    fig = plots.plot_comparison(list(stocks20.values()), "costs")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["monthly", "5% band"]
    fig = plots.plot_comparison(stocks20, "frontier")
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["5% band", "monthly"]
    assert fig.axes[0].get_legend() is None  # no families: the labels say it all


@dataclass
class _Stub:
    """Only the public attributes the plots promise to read."""

    policy: str
    index: pd.DatetimeIndex
    tickers: pd.Index
    nav: pd.Series
    drift: pd.Series
    weights: pd.DataFrame
    costs: pd.DataFrame

    def summary(self) -> pd.Series:
        return pd.Series({"cost_bps": 1.0, "tracking_error": 0.01})


def test_results_are_duck_typed() -> None:
    index = pd.date_range("2020-01-31", periods=24, freq="ME")
    tickers = pd.Index(["a", "b"])
    weights = pd.DataFrame({"a": np.linspace(0.5, 0.6, 24), "b": np.linspace(0.5, 0.4, 24)}, index)
    stub = _Stub(
        policy="stub",
        index=index,
        tickers=tickers,
        nav=pd.Series(np.linspace(100.0, 130.0, 24), index),
        drift=pd.Series(np.linspace(0.0, 0.1, 24), index),
        weights=weights,
        costs=pd.DataFrame({"spread": np.full(24, 1e-4), "impact": 0.0}, index),
    )
    for kind in ("nav", "drift", "weights", "costs"):
        ax = plots.plot_backtest(stub, kind).axes[0]
        assert ax.get_title().startswith("stub: ")
    ax = plots.plot_backtest(stub, "costs").axes[0]
    assert [line.get_label() for line in ax.lines] == ["spread"]  # one component: no total
    ax = plots.plot_comparison([stub], "frontier").axes[0]
    assert [t.get_text() for t in ax.texts] == ["stub"]
    assert ax.get_yscale() == ax.get_xscale() == "linear"


def test_figures_show_in_ipython_without_pyplot_and_pickle(
    stocks20: dict[str, rb.BacktestResult],
) -> None:
    """A notebook user who never imported pyplot sees the chart, not '<Figure size ...>'."""
    fig = plots.plot_backtest(stocks20["monthly"], "nav")
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    formatters = pytest.importorskip("IPython.core.formatters")
    shown = formatters.DisplayFormatter().format(fig)[0]
    assert shown["image/png"] == png
    again = pickle.loads(pickle.dumps(fig))
    assert type(again) is type(fig)
    np.testing.assert_allclose(again.axes[0].lines[0].get_ydata(), stocks20["monthly"].nav)
