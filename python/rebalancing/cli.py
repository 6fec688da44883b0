"""Command line: ``rebalancing demo`` runs the worked example.

The demo is a short worked rebalance of a drifted multi-asset portfolio: it shows the trades the
certified solver chooses at several risk aversions and puts them beside the textbook scipy
function. (A backtest on the embedded real data replaces it as the main job later.)
"""

from __future__ import annotations

import time

import click
import numpy as np
import pandas as pd

from rebalancing.reference import objective, textbook_optimal_rebalance
from rebalancing.solver import solve

__all__ = ["demo", "example_portfolio", "main"]


def example_portfolio() -> tuple[pd.Series, pd.Series, pd.DataFrame, pd.Series]:
    """An illustrative 8-asset portfolio: current and target weights, covariance, costs.

    The volatilities and correlations are round, plausible long-run figures for broad asset
    classes, chosen for illustration (not estimated from data). Costs are one-way, per unit of
    weight traded (0.0005 = 5 bp).
    """
    tickers = [
        "US equity",
        "Intl equity",
        "EM equity",
        "US bonds",
        "TIPS",
        "Credit",
        "REITs",
        "Gold",
    ]
    vol = np.array([0.16, 0.17, 0.22, 0.05, 0.06, 0.08, 0.20, 0.15])
    corr = np.array(
        [
            [1.00, 0.85, 0.75, 0.10, 0.15, 0.45, 0.70, 0.05],
            [0.85, 1.00, 0.80, 0.10, 0.15, 0.45, 0.65, 0.10],
            [0.75, 0.80, 1.00, 0.05, 0.15, 0.45, 0.60, 0.20],
            [0.10, 0.10, 0.05, 1.00, 0.70, 0.75, 0.20, 0.25],
            [0.15, 0.15, 0.15, 0.70, 1.00, 0.55, 0.25, 0.40],
            [0.45, 0.45, 0.45, 0.75, 0.55, 1.00, 0.45, 0.15],
            [0.70, 0.65, 0.60, 0.20, 0.25, 0.45, 1.00, 0.10],
            [0.05, 0.10, 0.20, 0.25, 0.40, 0.15, 0.10, 1.00],
        ]
    )
    cov = pd.DataFrame(corr * np.outer(vol, vol), tickers, tickers)
    target = pd.Series([0.30, 0.15, 0.05, 0.25, 0.05, 0.10, 0.05, 0.05], tickers)
    # One quarter of returns: equities rallied, bonds fell, gold flat.
    quarter = np.array([0.09, 0.05, 0.12, -0.03, -0.01, 0.00, 0.06, 0.00])
    current = target * (1 + quarter)
    current /= current.sum()
    costs = pd.Series([0.0005, 0.0008, 0.0015, 0.0005, 0.0008, 0.0010, 0.0010, 0.0008], tickers)
    return current, target, cov, costs


@click.group()
def main() -> None:
    """Portfolio rebalancing with a certified C++ core."""


@main.command()
@click.option(
    "--lam",
    "lams",
    multiple=True,
    type=float,
    default=(1.0, 10.0, 100.0),
    show_default=True,
    help="Risk aversion λ; repeat for several.",
)
def demo(lams: tuple[float, ...]) -> None:
    """A worked example: rebalance a drifted 8-asset portfolio at several risk aversions."""
    current, target, cov, costs = example_portfolio()
    pd.set_option("display.width", 120)
    click.echo("Cost-aware rebalancing:  minimize λ (w − w*)ᵀ Σ (w − w*) + Σ cᵢ |wᵢ − w⁰ᵢ|")
    click.echo("                         subject to Σ w = 1, 0 ≤ w ≤ 1\n")
    table = pd.DataFrame(
        {"current": current, "target": target, "drift": current - target, "cost (bp)": costs * 1e4}
    )
    click.echo(table.to_string(float_format=lambda x: f"{x:8.4f}"))
    rows = []
    trades = {}
    for lam in lams:
        res = solve(current, target, cov, costs, lam)
        start = time.perf_counter()
        naive = textbook_optimal_rebalance(
            current.to_numpy(), target.to_numpy(), cov.to_numpy(), costs.to_numpy(), lam
        )
        naive_time = time.perf_counter() - start
        naive_obj = objective(
            naive, current.to_numpy(), target.to_numpy(), cov.to_numpy(), costs.to_numpy(), lam
        )
        trades[f"λ={lam:g}"] = res.trades
        rows.append(
            {
                "λ": lam,
                "status": res.status,
                "objective": res.objective,
                "certified gap": res.gap,
                "turnover": float(np.abs(res.trades).sum()) / 2,
                "time (ms)": res.solve_time * 1e3,
                "textbook objective": naive_obj,
                "textbook time (ms)": naive_time * 1e3,
            }
        )
    click.echo("\nTrades (weight, + buy / − sell):")
    click.echo(pd.DataFrame(trades).to_string(float_format=lambda x: f"{x:+9.5f}"))
    click.echo("\nSolutions:")
    click.echo(pd.DataFrame(rows).set_index("λ").to_string(float_format=lambda x: f"{x:.6g}"))
    click.echo(
        "\nA small λ tolerates drift to save costs; a large λ trades back close to target. "
        "'certified gap' bounds how far each objective can be above the true optimum."
    )
