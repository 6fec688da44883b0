"""The command line never shows a traceback: every bad option or file is a one-line error, and
a refused command writes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rebalancing.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    index = pd.bdate_range("2022-01-03", periods=300)
    rng = np.random.default_rng(1)
    returns = pd.DataFrame(rng.normal(0.0004, 0.01, (300, 3)), index=index, columns=list("ABC"))
    paths = {
        "returns": root / "returns.csv",
        "target": root / "target.csv",
        "text": root / "notes.txt",
        "empty": root / "empty.csv",
        "no_dates": root / "no_dates.csv",
        "bad_toml": root / "bad.toml",
        "unknown_toml": root / "unknown.toml",
        "flows_text": root / "flows.csv",
        "target_text": root / "target_text.csv",
        "prices_zero": root / "prices.csv",
    }
    returns.to_csv(paths["returns"])
    pd.Series({"A": 0.4, "B": 0.3, "C": 0.3}, name="weight").rename_axis("ticker").to_csv(
        paths["target"]
    )
    paths["text"].write_text("not a table\x00\x01")
    paths["empty"].write_text("")
    pd.DataFrame({"x": ["a", "b"], "A": [0.1, 0.2]}).to_csv(paths["no_dates"], index=False)
    paths["bad_toml"].write_text("[policies.x\ntype = ")
    paths["unknown_toml"].write_text('[policies.x]\ntype = "sometimes"\n')
    pd.Series({"2022-02-01": "lots"}, name="amount").rename_axis("date").to_csv(paths["flows_text"])
    pd.Series({"A": "half", "B": 0.3, "C": 0.3}, name="weight").rename_axis("ticker").to_csv(
        paths["target_text"]
    )
    prices = (1 + returns).cumprod() * 100
    prices.iloc[5, 0] = 0.0
    prices.to_csv(paths["prices_zero"])
    return paths


BAD_BACKTESTS = {
    "missing returns file": ["--returns", "{root}/nope.csv"],
    "returns is a folder": ["--returns", "{root}"],
    "returns is text": ["--returns", "{text}"],
    "returns is empty": ["--returns", "{empty}"],
    "returns without dates": ["--returns", "{no_dates}"],
    "prices with a zero": ["--returns", "{prices_zero}", "--prices"],
    "target with text": ["--target", "{target_text}"],
    "target is empty": ["--target", "{empty}"],
    "unknown policy": ["--policy", "sometimes"],
    "band in percent": ["--policy", "band:5"],
    "negative band": ["--policy", "band:-0.1"],
    "lambda text": ["--policy", "cost-aware:x"],
    "lambda zero": ["--policy", "cost-aware:0"],
    "broken toml": ["--policies", "{bad_toml}"],
    "unknown toml type": ["--policies", "{unknown_toml}"],
    "cost text": ["--cost-bps", "ten"],
    "cost negative": ["--cost-bps", "-1"],
    "cost nan": ["--cost-bps", "nan"],
    "tax one rate": ["--tax", "0.3"],
    "tax text": ["--tax", "high,low"],
    "tax above one": ["--tax", "1.5,0.2"],
    "nav negative": ["--initial-nav", "-5"],
    "nav nan": ["--initial-nav", "nan"],
    "nav inf": ["--initial-nav", "inf"],
    "flow text": ["--flow", "lots"],
    "flow nan": ["--flow", "nan"],
    "huge withdrawal": ["--flow", "-1e12"],
    "flows file with text": ["--flows", "{flows_text}"],
    "flow and flows": ["--flow", "1", "--flows", "{flows_text}"],
    "flow-to unknown": ["--flow-to", "sideways"],
    "out is a file": ["--out", "{text}"],
}


def _args(template: list[str], files: dict[str, Path]) -> list[str]:
    names = {k: str(v) for k, v in files.items()} | {"root": str(files["returns"].parent)}
    return [part.format(**names) for part in template]


@pytest.mark.parametrize("case", sorted(BAD_BACKTESTS))
def test_bad_backtest_options_are_one_line_errors(case: str, files: dict[str, Path]) -> None:
    base = {"--returns": "{returns}", "--target": "{target}", "--policy": "monthly"}
    extra = BAD_BACKTESTS[case]
    args = ["backtest"]
    for option, value in base.items():
        if option not in extra:
            args += [option, value]
    args += extra
    before = sorted(p.name for p in files["returns"].parent.iterdir())
    result = CliRunner().invoke(main, _args(args, files))
    assert result.exit_code in (1, 2), (case, result.output)
    assert isinstance(result.exception, SystemExit), (case, repr(result.exception))
    assert "Traceback" not in result.output
    assert "Error" in result.output
    assert sorted(p.name for p in files["returns"].parent.iterdir()) == before  # nothing written


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--cost-bps", "-3"],
        ["demo", "--cost-bps", "500"],
        ["example", "--lam", "nan"],
        ["nonsense"],
        ["backtest"],
    ],
)
def test_other_bad_commands_are_one_line_errors(args: list[str], tmp_path: Path) -> None:
    if args[0] == "demo":
        args = [*args, "--out", str(tmp_path / "out"), "--no-plots"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert not (tmp_path / "out").exists()
