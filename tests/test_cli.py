"""The command line: the demo on the embedded data, backtests on user files, policy specs and
TOML files, and the plots."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import rebalancing as rb
from rebalancing import datasets
from rebalancing.cli import main, parse_policy


def test_demo_runs_on_the_embedded_data(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "(a) 60/40 US stocks/bonds, monthly returns Jul 1926" in out
    assert "(b) equal-weight 20 US stocks" in out
    assert "lower tracking error at equal cost" in out
    assert "(c) The 20 stocks in a taxable account" in out
    after_tax = pd.read_csv(tmp_path / "stocks20_after_tax.csv", index_col=0)
    assert list(after_tax.index) == ["monthly", "quarterly", "1% band", "5% band", "never"]
    assert after_tax.loc["never", "tax_paid_bps"] == 0
    assert (after_tax["after_tax_return"] <= after_tax["return"] + 1e-12).all()
    for row in ("never", "annual 10% band", "quarterly", "5% band", "cost-aware λ=1 "):
        assert row in out
    stocks_bonds = pd.read_csv(tmp_path / "stocks_bonds.csv", index_col=0)
    assert len(stocks_bonds) == 13
    assert stocks_bonds.loc["never", "turnover"] == 0
    stocks20 = pd.read_csv(tmp_path / "stocks20.csv", index_col=0)
    # Measured, not assumed: the table holds what a direct backtest gives.
    direct = rb.backtest(
        datasets.sp500_20_returns(),
        np.full(20, 0.05),
        rb.Calendar("monthly"),
        rb.LinearCost(commission_bps=1, half_spread_bps=5),
    ).summary()
    assert stocks20.loc["monthly", "cost_bps"] == pytest.approx(direct["cost_bps"], rel=1e-9)
    assert stocks20.loc["monthly", "tracking_error"] == pytest.approx(
        direct["tracking_error"], rel=1e-9
    )
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == sorted(
        f"{part}_{kind}.png"
        for part in ("stocks_bonds", "stocks20")
        for kind in ("drift", "cost", "frontier")
    )
    assert all((tmp_path / p).stat().st_size > 10_000 for p in pngs)


@pytest.fixture
def user_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    prices = datasets.load_sp500_20().iloc[:800, :5]
    prices_path = tmp_path / "prices.csv"
    prices.to_csv(prices_path)
    returns_path = tmp_path / "returns.parquet"
    prices.pct_change().iloc[1:].to_parquet(returns_path)
    target_path = tmp_path / "target.csv"
    pd.Series(0.2, index=prices.columns, name="weight").rename_axis("ticker").to_csv(target_path)
    return prices_path, returns_path, target_path


def test_backtest_command_on_user_files(user_files, tmp_path: Path) -> None:
    prices_path, returns_path, target_path = user_files
    toml = tmp_path / "policies.toml"
    toml.write_text('[policies."edge 3%"]\ntype = "threshold"\nabs_band = 0.03\nto = "edge"\n')
    args = ["backtest", "--target", str(target_path), "--cost-bps", "5"]
    args += ["--policy", "monthly", "--policy", "band:0.05", "--policy", "cost-aware:10@weekly"]
    result = CliRunner().invoke(
        main,
        [
            *args,
            "--returns",
            str(returns_path),
            "--policies",
            str(toml),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "o" / "summary.csv", index_col=0)
    assert list(table.index) == ["monthly", "5% band", "weekly cost-aware λ=10", "edge 3%"]
    returns = pd.read_parquet(returns_path)
    direct = rb.backtest(returns, np.full(5, 0.2), rb.Threshold(0.05), costs=0.0005).summary()
    assert table.loc["5% band", "turnover"] == pytest.approx(direct["turnover"], rel=1e-12)
    assert (tmp_path / "o" / "backtest_frontier.png").exists()
    # Prices in, returns computed: the same figures.
    from_prices = CliRunner().invoke(main, [*args, "--returns", str(prices_path), "--prices"])
    assert from_prices.exit_code == 0, from_prices.output
    row = next(line for line in from_prices.output.splitlines() if line.startswith("5% band"))
    assert f"{100 * direct['turnover']:.1f}" in row


def test_backtest_command_with_tax(user_files) -> None:
    _, returns_path, target_path = user_files
    args = ["backtest", "--returns", str(returns_path), "--target", str(target_path)]
    result = CliRunner().invoke(main, [*args, "--policy", "quarterly", "--tax", "0.37,0.20"])
    assert result.exit_code == 0, result.output
    assert "After tax:" in result.output and "tax paid bp/yr" in result.output
    result = CliRunner().invoke(main, [*args, "--policy", "quarterly", "--tax", "0.37"])
    assert result.exit_code == 2 and "--tax" in result.output
    result = CliRunner().invoke(main, [*args, "--policy", "quarterly", "--tax", "1.5,0.2"])
    assert result.exit_code == 2 and "short_term_rate" in result.output


def test_backtest_command_with_cash_flows(user_files, tmp_path: Path) -> None:
    _, returns_path, target_path = user_files
    returns = pd.read_parquet(returns_path)
    args = ["backtest", "--returns", str(returns_path), "--target", str(target_path)]
    args += ["--policy", "band:0.03", "--initial-nav", "100000", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(main, [*args, "--flow", "500"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "o" / "summary.csv", index_col=0)
    direct = rb.backtest(
        returns, np.full(5, 0.2), rb.Threshold(0.03), initial_nav=1e5, flows=500.0
    ).summary()
    assert table.loc["3% band", "turnover"] == pytest.approx(direct["turnover"], rel=1e-12)
    flows = pd.Series([2e4, -3e4], index=returns.index[[100, 400]], name="amount")
    flows_path = tmp_path / "flows.csv"
    flows.rename_axis("date").to_csv(flows_path)
    result = CliRunner().invoke(main, [*args, "--flows", str(flows_path), "--flow-to", "pro_rata"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "o" / "summary.csv", index_col=0)
    direct = rb.backtest(
        returns,
        np.full(5, 0.2),
        rb.Threshold(0.03),
        initial_nav=1e5,
        flows=flows,
        flow_to="pro_rata",
    ).summary()
    assert table.loc["3% band", "return"] == pytest.approx(direct["return"], rel=1e-12)
    both = CliRunner().invoke(main, [*args, "--flow", "1", "--flows", str(flows_path)])
    assert both.exit_code == 2 and "not both" in both.output


def test_backtest_command_errors_name_the_problem(user_files, tmp_path: Path) -> None:
    _, returns_path, target_path = user_files
    base = ["backtest", "--returns", str(returns_path), "--target", str(target_path)]
    result = CliRunner().invoke(main, [*base, "--policy", "fortnightly"])
    assert result.exit_code == 2 and "expected never" in result.output
    result = CliRunner().invoke(main, base)
    assert result.exit_code == 2 and "at least one --policy" in result.output
    wrong = tmp_path / "wrong.csv"
    pd.Series({"AAPL": 0.5, "ZZZZ": 0.5}, name="weight").to_csv(wrong)
    result = CliRunner().invoke(
        main,
        ["backtest", "--returns", str(returns_path), "--target", str(wrong), "--policy", "monthly"],
    )
    assert (
        result.exit_code == 1
        and "target tickers do not match the returns' columns" in result.output
    )
    result = CliRunner().invoke(main, [*base, "--policy", "band:0.05", "--cost-bps", "-1"])
    assert result.exit_code == 2 and "--cost-bps" in result.output


def _no_traceback(result) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.exception
    assert "Traceback" not in result.output


def test_a_text_cell_in_the_returns_is_named(user_files, tmp_path: Path) -> None:
    _, returns_path, target_path = user_files
    frame = pd.read_parquet(returns_path).astype(object)
    frame.iloc[3, 1] = "n/a?"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad)
    result = CliRunner().invoke(
        main,
        ["backtest", "--returns", str(bad), "--target", str(target_path), "--policy", "monthly"],
    )
    _no_traceback(result)
    column, row = frame.columns[1], pd.Timestamp(frame.index[3]).date()
    assert result.exit_code == 2
    assert f"'n/a?' in column '{column}', row {row} is not a number" in result.output


def test_an_unwritable_out_is_found_before_the_run_and_nothing_is_left(
    user_files, tmp_path: Path
) -> None:
    _, returns_path, target_path = user_files
    base = ["backtest", "--returns", str(returns_path), "--target", str(target_path)]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(main, [*base, "--policy", "monthly", "--out", str(blocker / "x")])
    _no_traceback(result)
    assert result.exit_code == 2 and "cannot write to" in result.output
    assert "backtests" not in result.output  # refused before any backtest ran
    # A run refused after the folder was made leaves no folder behind.
    percent = tmp_path / "percent.csv"
    pd.read_csv(target_path, index_col=0).mul(100).to_csv(percent)
    out = tmp_path / "new" / "deeper"
    result = CliRunner().invoke(
        main,
        [*base[:3], "--target", str(percent), "--policy", "monthly", "--out", str(out)],
    )
    _no_traceback(result)
    assert result.exit_code == 1 and "not percent" in result.output
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(("lam", "code"), [("-1", 2), ("abc", 2), ("inf", 1)])
def test_a_bad_lambda_in_the_example_is_a_clear_error(lam: str, code: int) -> None:
    result = CliRunner().invoke(main, ["example", "--lam", lam])
    _no_traceback(result)
    assert result.exit_code == code and "lam" in result.output.lower()


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("never", "never"),
        ("quarterly", "quarterly"),
        ("band:0.05", "5% band"),
        ("band:0.01@monthly", "monthly 1% band"),
        ("cost-aware:3", "cost-aware λ=3"),
        ("cost-aware:3@weekly", "weekly cost-aware λ=3"),
    ],
)
def test_parse_policy(spec: str, name: str) -> None:
    assert parse_policy(spec).name == name


def test_policies_from_toml() -> None:
    policies = rb.policies_from_toml(
        """
[policies.hold]
type = "never"

[policies."monthly 5/25"]
type = "threshold"
abs_band = 0.05
rel_band = 0.25
check = "monthly"
to = "inner"
inner = 0.5

[policies.optimal]
type = "cost-aware"
lam = 10.0
risk = "sample"
window = 60
"""
    )
    assert list(policies) == ["hold", "monthly 5/25", "optimal"]
    assert isinstance(policies["monthly 5/25"], rb.Threshold)
    assert policies["monthly 5/25"].name == "monthly 5%/25% band to 0.5×band"
    assert policies["optimal"].name == "cost-aware λ=10"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[policies.a]\ntype = "sometimes"\n', "policy type must be one of"),
        ('[policies.a]\ntype = "calendar"\nfrequency = "monthly"\n', re.escape("[policies.a]")),
        ('[policies.a]\ntype = "threshold"\nabs_band = 0.05\nto = "middle"\n', "to must be"),
        ("[other]\nx = 1\n", "expected \\[policies.<name>\\] tables"),
        ("[policies.a\n", "policies TOML"),
    ],
)
def test_policies_from_toml_errors(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rb.policies_from_toml(text)


def test_frontier_leaves_a_far_outlier_off_the_chart() -> None:
    from rebalancing.plots import plot_frontier

    table = pd.DataFrame(
        {"cost_bps": [0.0, 2.0, 1.0], "tracking_error": [0.05, 0.001, 0.004]},
        index=["never", "monthly", "quarterly"],
    )
    fig = plot_frontier(table, {"calendar": ["monthly", "quarterly"]})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "calendar"
    assert labels[1].startswith("never: 0.00 bp/yr, TE 5.00%")
    assert [t.get_text() for t in ax.texts] == ["monthly", "quarterly"]


def test_demo_without_matplotlib_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rebalancing.plots

    def missing() -> None:
        raise ImportError("plots need matplotlib: pip install 'rebalancing[plot]'")

    monkeypatch.setattr(rebalancing.plots, "_figure_class", missing)
    import rebalancing.cli

    original = rebalancing.cli.stock_policies
    monkeypatch.setattr(rebalancing.cli, "stock_policies", lambda: original(lams=(0.3, 1.0)))
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "matplotlib is not installed: no plots" in result.output
    assert not list(tmp_path.glob("*.png"))
