"""Command line.

* ``rebalancing demo`` — the main job on the embedded real data: compares rebalancing policies
  on (a) a 60/40 US stock/bond portfolio since 1926 (monthly data) and (b) an equal-weight
  portfolio of 20 US stocks, 1990–2022 (daily data), (c) the latter after tax; prints the
  tables, writes the plots.
* ``rebalancing backtest`` — the same comparison on your own returns (or prices) and target.
* ``rebalancing example`` — one certified cost-aware rebalance of an 8-asset portfolio, beside
  the textbook scipy function.
"""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import click
import numpy as np
import pandas as pd

from rebalancing import datasets
from rebalancing._version import __version__
from rebalancing.backtest import BacktestResult, backtests, summary_table
from rebalancing.costs import LinearCost
from rebalancing.plots import available as plotting_available
from rebalancing.plots import save_plots
from rebalancing.policies import Calendar, CostAware, Never, Policy, Threshold, policies_from_toml
from rebalancing.reference import objective, textbook_optimal_rebalance
from rebalancing.solver import solve
from rebalancing.tax.after_tax import TaxPolicy, after_tax_table

__all__ = ["example_portfolio", "format_after_tax", "format_table", "main", "parse_policy"]


# --- tables --------------------------------------------------------------------------------------


def format_table(table: pd.DataFrame) -> str:
    """A summary table (see :meth:`BacktestResult.summary`) in readable units."""
    shown = pd.DataFrame(index=table.index)
    shown["turnover %/yr"] = table["turnover"] * 100
    shown["cost bp/yr"] = table["cost_bps"]
    shown["TE %/yr"] = table["tracking_error"] * 100
    shown["rebalances"] = table["rebalances"]
    shown["return %/yr"] = table["return"] * 100
    shown["vs target bp/yr"] = table["excess_return"] * 1e4
    shown["vol %/yr"] = table["volatility"] * 100
    shown["max DD %"] = table["max_drawdown"] * 100
    formats = {
        "turnover %/yr": "{:8.1f}",
        "cost bp/yr": "{:8.2f}",
        "TE %/yr": "{:7.3f}",
        "rebalances": "{:6d}",
        "return %/yr": "{:7.2f}",
        "vs target bp/yr": "{:+8.1f}",
        "vol %/yr": "{:6.2f}",
        "max DD %": "{:7.1f}",
    }
    for col, fmt in formats.items():
        shown[col] = [fmt.format(v) for v in shown[col]]
    text: str = shown.to_string()
    return text


def format_after_tax(table: pd.DataFrame) -> str:
    """The after-tax columns of a summary table in readable units."""
    shown = pd.DataFrame(index=table.index)
    shown["return %/yr"] = table["return"] * 100
    shown["after tax %/yr"] = table["after_tax_return"] * 100
    shown["if liquidated %/yr"] = table["after_tax_return_liquidated"] * 100
    shown["tax paid bp/yr"] = table["tax_paid_bps"]
    shown["ST gains ×V0"] = table["realized_short"]
    shown["LT gains ×V0"] = table["realized_long"]
    shown["losses ×V0"] = table["harvested_losses"]
    shown["washed ×V0"] = table["wash_disallowed"]
    text: str = shown.to_string(float_format=lambda x: f"{x:9.2f}")
    return text


def _run_with_progress(
    returns: pd.DataFrame,
    target: Any,
    policies: Mapping[str, Policy],
    costs: Any,
    label: str,
    **options: Any,
) -> dict[str, BacktestResult]:
    with click.progressbar(
        length=len(policies), label=label, show_pos=True, item_show_func=lambda s: s
    ) as bar:

        def step(name: str) -> None:
            bar.update(1, name)

        results = backtests(returns, target, policies, costs, progress=step, **options)
    return results


# --- the demo ------------------------------------------------------------------------------------


def stock_bond_policies() -> dict[str, Policy]:
    """Part (a): calendars with 0/1/5/10 % bands, and never rebalancing."""
    policies: dict[str, Policy] = {"never": Never()}
    for freq in ("monthly", "quarterly", "annual"):
        policies[freq] = Calendar(freq)
        for band in (0.01, 0.05, 0.10):
            policy = Threshold(band, check=freq)
            policies[policy.name] = policy
    return policies


COST_AWARE_LAMBDAS: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def stock_policies(lams: Sequence[float] = COST_AWARE_LAMBDAS) -> dict[str, Policy]:
    """Part (b): calendars daily to quarterly, 1 % and 5 % bands, cost-aware over λ."""
    policies: dict[str, Policy] = {
        f: Calendar(f) for f in ("daily", "weekly", "monthly", "quarterly")
    }
    for band in (0.01, 0.05):
        threshold = Threshold(band)
        policies[threshold.name] = threshold
    for lam in lams:
        optimizer = CostAware(lam)
        policies[optimizer.name] = optimizer
    return policies


def equal_cost_comparison(
    table: pd.DataFrame, calendars: Sequence[str], sweep: Sequence[str]
) -> pd.DataFrame:
    """Tracking error of the cost-aware policy at each calendar policy's cost, interpolated
    linearly in log-cost between neighbouring λ of the sweep (NaN outside the swept range)."""
    swept = table.loc[list(sweep)].sort_values("cost_bps")
    log_cost = np.log(swept["cost_bps"].to_numpy())
    te = swept["tracking_error"].to_numpy()
    rows = []
    for name in calendars:
        cost = float(cast(float, table.loc[name, "cost_bps"]))
        inside = log_cost[0] <= np.log(cost) <= log_cost[-1]
        matched = float(np.interp(np.log(cost), log_cost, te)) if inside else np.nan
        rows.append(
            {
                "policy": name,
                "cost bp/yr": cost,
                "TE %/yr": 100 * float(cast(float, table.loc[name, "tracking_error"])),
                "cost-aware TE at equal cost %/yr": 100 * matched,
            }
        )
    matched_table: pd.DataFrame = pd.DataFrame(rows).set_index("policy")
    return matched_table


class _Group(click.Group):
    """Bad input found by the library (ValueError, TypeError: their messages name the argument)
    is reported as a click error, never as a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ValueError, TypeError) as err:
            raise click.ClickException(str(err)) from err


@contextlib.contextmanager
def _output_folder(path: Path | None, option: str = "--out") -> Iterator[None]:
    """Creates ``path`` before any work, so that an unwritable folder is found before a long run,
    and removes what it created if the run fails: a refused command leaves no folder behind."""
    if path is None:
        yield
        return
    created = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".rebalancing-write-test"
        probe.touch()
        probe.unlink()
    except OSError as err:
        _remove_empty(created)
        reason = err.strerror or str(err)
        raise click.BadParameter(f"cannot write to {path}: {reason}", param_hint=option) from None
    try:
        yield
    except BaseException:
        _remove_empty(created)
        raise


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()


@click.group(cls=_Group)
@click.version_option(__version__, package_name="rebalancing", prog_name="rebalancing")
def main() -> None:
    """Portfolio rebalancing with a certified C++ core."""


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("rebalancing-demo"),
    show_default=True,
    help="Folder for the plots and the tables (CSV).",
)
@click.option(
    "--cost-bps",
    type=float,
    default=10.0,
    show_default=True,
    help="Part (a): cost per unit of weight traded, in bp.",
)
@click.option("--no-plots", is_flag=True, help="Skip the plots.")
def demo(out: Path, cost_bps: float, no_plots: bool) -> None:
    """The main job: compare rebalancing policies on the embedded real data."""
    start = time.perf_counter()
    pd.set_option("display.width", 160)
    with _output_folder(out):
        _demo(out, cost_bps, no_plots, start)


def _demo(out: Path, cost_bps: float, no_plots: bool, start: float) -> None:
    notes: list[str] = []

    # (a) 60/40 stocks/bonds since 1926.
    monthly = datasets.load_stocks_bonds_bills()[["stocks", "bonds"]]
    target = pd.Series({"stocks": 0.6, "bonds": 0.4})
    costs_a = LinearCost(half_spread_bps=cost_bps)
    policies_a = stock_bond_policies()
    click.echo(
        f"(a) 60/40 US stocks/bonds, monthly returns {monthly.index[0]:%b %Y} – "
        f"{monthly.index[-1]:%b %Y}, {cost_bps:g} bp per unit traded"
    )
    results_a = _run_with_progress(monthly, target, policies_a, costs_a, "    backtests")
    table_a = summary_table(results_a)
    click.echo(format_table(table_a))
    table_a.to_csv(out / "stocks_bonds.csv")
    notes += [n for r in results_a.values() for n in r.notes]

    # (b) equal-weight 20 stocks, daily.
    daily = datasets.sp500_20_returns()
    n = daily.shape[1]
    target_b = pd.Series(1.0 / n, index=daily.columns)
    costs_b = LinearCost(commission_bps=1.0, half_spread_bps=5.0)
    policies_b = stock_policies()
    click.echo(
        f"\n(b) equal-weight {n} US stocks, daily returns {daily.index[0]:%Y-%m-%d} – "
        f"{daily.index[-1]:%Y-%m-%d}, 1 bp commission + 5 bp half-spread; cost-aware: "
        "Ledoit–Wolf risk from the last 252 days, solved every day"
    )
    results_b = _run_with_progress(daily, target_b, policies_b, costs_b, "    backtests")
    table_b = summary_table(results_b)
    click.echo(format_table(table_b))
    table_b.to_csv(out / "stocks20.csv")
    notes += [n for r in results_b.values() for n in r.notes]

    calendars = ["daily", "weekly", "monthly", "quarterly"]
    sweep = [name for name in policies_b if name.startswith("cost-aware")]
    bands = ["1% band", "5% band"]
    click.echo(
        "\n(b) Does the cost-aware policy track better than a calendar policy of equal cost?"
    )
    matched = equal_cost_comparison(table_b, calendars + bands, sweep)
    click.echo(matched.to_string(float_format=lambda x: f"{x:9.3f}"))
    verdicts = [
        f"{name}: {'yes' if row.iloc[2] < row.iloc[1] else 'no'}"
        for name, row in matched.iterrows()
        if np.isfinite(row.iloc[2])
    ]
    click.echo("    lower tracking error at equal cost — " + "; ".join(verdicts))
    click.echo(
        "    (NaN: that cost is outside the λ sweep. Rows are measured, nothing is assumed.)"
    )

    # (c) the same stocks in a taxable account.
    tax_policy = TaxPolicy(short_term_rate=0.37, long_term_rate=0.20, method="hifo")
    click.echo(
        "\n(c) The 20 stocks in a taxable account: every trade replayed in the tax-lot ledger "
        "(HIFO, wash sales), 37 % short- / 20 % long-term, each year's tax paid the next April"
    )
    taxed = backtests(
        daily,
        target_b,
        {name: policies_b[name] for name in ("monthly", "quarterly", "1% band", "5% band")}
        | {"never": Never()},
        costs_b,
    )
    table_c = after_tax_table(taxed, tax_policy)
    click.echo(format_after_tax(table_c))
    table_c.to_csv(out / "stocks20_after_tax.csv")

    if not no_plots:
        if not plotting_available():
            notes.append("matplotlib is not installed: no plots (pip install 'rebalancing[plot]')")
        else:
            paths = save_plots(
                results_a,
                table_a,
                out,
                "stocks_bonds",
                families={
                    "calendar": ["monthly", "quarterly", "annual"],
                    "monthly + band": [f"monthly {b}% band" for b in (1, 5, 10)],
                    "quarterly + band": [f"quarterly {b}% band" for b in (1, 5, 10)],
                    "annual + band": [f"annual {b}% band" for b in (1, 5, 10)],
                },
                drift_policies=["never", "annual", "quarterly 5% band"],
                resample="YE",
            )
            paths += save_plots(
                results_b,
                table_b,
                out,
                "stocks20",
                families={"calendar": calendars, "band": bands, "cost-aware (λ sweep)": sweep},
                drift_policies=["monthly", "quarterly", "5% band", "cost-aware λ=1"],
                # Quarterly maxima: four lines of monthly maxima over 33 years were a tangle.
                resample="QE",
            )
            click.echo("\nPlots: " + ", ".join(str(p) for p in paths))
    click.echo(
        f"Tables: {out / 'stocks_bonds.csv'}, {out / 'stocks20.csv'}, "
        f"{out / 'stocks20_after_tax.csv'}"
    )
    for note in dict.fromkeys(notes):
        click.echo(f"Note: {note}")
    click.echo(
        "Definitions: turnover = one-way (½Σ|trade|) per year; TE = annualized std of the "
        "gross return minus the costless constant-mix target's; see rebalancing.backtest."
    )
    click.echo(f"Done in {time.perf_counter() - start:.1f} s.")


# --- backtests on the user's files ---------------------------------------------------------------

_POLICY_SPEC = re.compile(
    r"^(?P<kind>never|daily|weekly|monthly|quarterly|annual|band|cost-aware)"
    r"(?::(?P<value>[0-9.eE+-]+))?(?:@(?P<freq>daily|weekly|monthly|quarterly|annual))?$"
)


def parse_policy(spec: str) -> Policy:
    """A policy from a short spec: ``never``, ``monthly`` (any frequency), ``band:0.05``
    (checked daily), ``band:0.05@monthly``, ``cost-aware:10`` or ``cost-aware:10@weekly``."""
    match = _POLICY_SPEC.match(spec.strip())
    if match is None:
        raise click.BadParameter(
            f"{spec!r}: expected never, daily|weekly|monthly|quarterly|annual, band:B[@FREQ] or "
            "cost-aware:LAMBDA[@FREQ]",
            param_hint="--policy",
        )
    kind, value, freq = match["kind"], match["value"], match["freq"] or "daily"
    if kind in ("band", "cost-aware"):
        if value is None:
            raise click.BadParameter(f"{spec!r}: {kind} needs a value, e.g. {kind}:0.05")
        try:
            number = float(value)
            return (
                Threshold(number, check=freq) if kind == "band" else CostAware(number, check=freq)
            )
        except ValueError as err:
            raise click.BadParameter(f"{spec!r}: {err}", param_hint="--policy") from err
    if value is not None or match["freq"] is not None:
        raise click.BadParameter(f"{spec!r}: {kind} takes no value", param_hint="--policy")
    return Never() if kind == "never" else Calendar(kind)


def _read_table(path: Path, what: str) -> pd.DataFrame:
    try:
        if path.suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, index_col=0)
    except (OSError, ValueError, ImportError) as err:
        raise click.BadParameter(f"cannot read {path}: {err}", param_hint=what) from err
    return frame


def _dates(index: pd.Index) -> pd.DatetimeIndex:
    """The first column of a file as dates. pandas warns when it cannot infer one format and
    parses cell by cell; a column that is not dates then fails with its own clear error."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Could not infer format", category=UserWarning)
        return pd.DatetimeIndex(pd.to_datetime(index))


def _read_returns(path: Path, prices: bool) -> pd.DataFrame:
    frame = _read_table(path, "--returns")
    try:
        frame.index = _dates(frame.index)
    except (ValueError, TypeError) as err:
        raise click.BadParameter(
            f"{path}: the first column must hold dates ({err})", param_hint="--returns"
        ) from err
    frame = _numbers(frame.sort_index(), path, "--returns")
    if prices:
        frame = frame.pct_change(fill_method=None).iloc[1:]
    return frame


def _row_name(label: Any) -> str:
    return str(label.date()) if isinstance(label, pd.Timestamp) else str(label)


def _numbers(frame: pd.DataFrame, path: Path, option: str) -> pd.DataFrame:
    """Every cell as a float; a cell that is not a number is named by column and row."""
    numbers: pd.DataFrame = frame.apply(pd.to_numeric, errors="coerce").astype(float)
    bad = numbers.isna().to_numpy() & frame.notna().to_numpy()
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise click.BadParameter(
            f"{path}: {frame.iloc[row, col]!r} in column {frame.columns[col]!r}, row "
            f"{_row_name(frame.index[row])} is not a number",
            param_hint=option,
        )
    return numbers


def _read_target(path: Path) -> pd.Series:
    frame = _read_table(path, "--target")
    if frame.shape[1] != 1:
        raise click.BadParameter(
            f"{path}: expected two columns, ticker and weight", param_hint="--target"
        )
    return _numbers(frame, path, "--target").iloc[:, 0]


def _read_flows(path: Path) -> pd.Series:
    frame = _read_table(path, "--flows")
    try:
        if frame.shape[1] != 1:
            raise ValueError("expected two columns, date and amount")
        flows = _numbers(frame, path, "--flows").iloc[:, 0]
        flows.index = _dates(flows.index)
    except (ValueError, TypeError) as err:
        raise click.BadParameter(f"{path}: {err}", param_hint="--flows") from err
    return flows


@main.command("backtest")
@click.option(
    "--returns",
    "returns_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV or parquet: dates × tickers of simple returns (or prices with --prices).",
)
@click.option("--prices", is_flag=True, help="The --returns file holds prices, not returns.")
@click.option(
    "--target",
    "target_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV or parquet with two columns: ticker, weight.",
)
@click.option(
    "--policy",
    "specs",
    multiple=True,
    help="never | daily..annual | band:B[@FREQ] | cost-aware:LAMBDA[@FREQ]; repeat for several.",
)
@click.option(
    "--policies",
    "toml_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A TOML file of named policies ([policies.NAME] tables).",
)
@click.option(
    "--cost-bps", type=float, default=0.0, show_default=True, help="Cost per unit traded."
)
@click.option(
    "--tax",
    "tax_rates",
    default=None,
    metavar="SHORT,LONG",
    help="Tax rates on short- and long-term gains (e.g. 0.37,0.20): adds after-tax figures.",
)
@click.option(
    "--initial-nav", type=float, default=1e6, show_default=True, help="Starting value (currency)."
)
@click.option(
    "--flow",
    "flow_amount",
    type=float,
    default=None,
    help="A cash flow at the end of every period (currency; negative: a withdrawal).",
)
@click.option(
    "--flows",
    "flows_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV or parquet with two columns, date and amount: cash flows on those dates.",
)
@click.option(
    "--flow-to",
    type=click.Choice(["underweight", "pro_rata"]),
    default="underweight",
    show_default=True,
    help="Invest flows towards the target (one-sided) or in proportion to the weights.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the table (CSV) and the plots to this folder.",
)
def backtest_command(
    returns_path: Path,
    prices: bool,
    target_path: Path,
    specs: tuple[str, ...],
    toml_path: Path | None,
    cost_bps: float,
    tax_rates: str | None,
    initial_nav: float,
    flow_amount: float | None,
    flows_path: Path | None,
    flow_to: str,
    out: Path | None,
) -> None:
    """Compare policies on your own data (the same engine and figures as the demo)."""
    if flow_amount is not None and flows_path is not None:
        raise click.UsageError("give --flow or --flows, not both")
    flows: Any = flow_amount if flows_path is None else _read_flows(flows_path)
    tax = None
    if tax_rates is not None:
        try:
            short, long = (float(x) for x in tax_rates.split(","))
            tax = TaxPolicy(short_term_rate=short, long_term_rate=long)
        except ValueError as err:
            raise click.BadParameter(
                f"{tax_rates!r}: expected two rates in [0, 1) such as 0.37,0.20 ({err})",
                param_hint="--tax",
            ) from err
    policies: dict[str, Policy] = {}
    for spec in specs:
        policy = parse_policy(spec)
        policies[policy.name] = policy
    if toml_path is not None:
        try:
            policies.update(policies_from_toml(toml_path))
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--policies") from err
    if not policies:
        raise click.UsageError("give at least one --policy or a --policies file")
    if cost_bps < 0:
        raise click.BadParameter("must be >= 0", param_hint="--cost-bps")
    with _output_folder(out):
        _backtest_command(
            returns_path,
            prices,
            target_path,
            policies,
            cost_bps,
            tax,
            initial_nav,
            flows,
            flow_to,
            out,
        )


def _backtest_command(
    returns_path: Path,
    prices: bool,
    target_path: Path,
    policies: dict[str, Policy],
    cost_bps: float,
    tax: TaxPolicy | None,
    initial_nav: float,
    flows: Any,
    flow_to: str,
    out: Path | None,
) -> None:
    returns = _read_returns(returns_path, prices)
    target = _read_target(target_path)
    try:
        results = _run_with_progress(
            returns,
            target,
            policies,
            LinearCost(half_spread_bps=cost_bps),
            "backtests",
            initial_nav=initial_nav,
            flows=flows,
            flow_to=flow_to,
        )
        table = summary_table(results) if tax is None else after_tax_table(results, tax)
    except (ValueError, TypeError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(format_table(table))
    if tax is not None:
        click.echo("\nAfter tax:")
        click.echo(format_after_tax(table))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "summary.csv")
        if plotting_available():
            save_plots(results, table, out, "backtest")
        else:
            click.echo("matplotlib is not installed: no plots (pip install 'rebalancing[plot]')")
        click.echo(f"Wrote {out}")
    for note in dict.fromkeys(n for r in results.values() for n in r.notes):
        click.echo(f"Note: {note}")


# --- a single rebalance --------------------------------------------------------------------------


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


@main.command()
@click.option(
    "--lam",
    "lams",
    multiple=True,
    type=click.FloatRange(min=0.0),
    default=(1.0, 10.0, 100.0),
    show_default=True,
    help="Risk aversion λ; repeat for several.",
)
def example(lams: tuple[float, ...]) -> None:
    """One certified rebalance of a drifted 8-asset portfolio at several risk aversions."""
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
