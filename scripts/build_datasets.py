"""Rebuild the datasets shipped in ``python/rebalancing/data/`` from their source packages.

Needs ``arch`` and ``skfolio`` installed (``pip install arch skfolio``); they are only needed
here, never at run time. The outputs are gzip-compressed CSV written with a fixed float format
and a zero gzip timestamp, so a rerun on the same sources gives byte-identical files.

    python scripts/build_datasets.py            # rebuild, print the checks, write the files
    python scripts/build_datasets.py --check    # rebuild in memory, fail if the files differ

Sources (see ``python/rebalancing/data/README.md``):

* ``arch/data/frenchdata/frenchdata.csv.gz``: Fama–French monthly factors in percent, ``Date``
  as an integer ``YYYYMM``. The files are read directly rather than through
  ``arch.data.frenchdata.load()``: that loader passes the integer column to
  ``pd.to_datetime``, which reads 192607 as nanoseconds after 1970-01-01, so its index is wrong.
* ``arch/data/default/default.csv.gz``: Moody's Aaa and Baa yields in percent, ``Date`` as
  ``M/D/YYYY`` on the first day of each month.
* ``skfolio/datasets/data/sp500_dataset.csv.gz``: daily prices of 20 stocks, ``Date`` as
  ``YYYY-MM-DD``, three decimals.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from rebalancing.datasets import (
    SP500_20_FILE,
    STOCKS_BONDS_BILLS_FILE,
    bond_returns_from_yields,
)

OUT_DIR = Path(__file__).resolve().parents[1] / "python" / "rebalancing" / "data"

# Monthly returns: stocks and bills are exact at 4 decimals (two-decimal percentages); bonds are
# computed, 1e-10 is far below any meaningful digit. Prices: skfolio ships three decimals.
RETURNS_FLOAT_FORMAT = "%.10f"
PRICES_FLOAT_FORMAT = "%.3f"


def _package_file(package: str, name: str) -> bytes:
    return (resources.files(package) / name).read_bytes()


def _read_source_csv(package: str, name: str) -> pd.DataFrame:
    raw = _package_file(package, name)
    return pd.read_csv(io.BytesIO(raw), compression="gzip", dtype={"Date": str})


def _month_gaps(index: pd.DatetimeIndex) -> list[str]:
    """Months missing between the first and the last date of a monthly index."""
    months = index.to_period("M")
    full = pd.period_range(months[0], months[-1], freq="M")
    return [str(p) for p in full.difference(months)]


def _month_end(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return (index + pd.offsets.MonthEnd(0)).normalize()


def build_stocks_bonds_bills() -> pd.DataFrame:
    french = _read_source_csv("arch.data.frenchdata", "frenchdata.csv.gz")
    french.index = pd.DatetimeIndex(pd.to_datetime(french.pop("Date"), format="%Y%m"))
    default = _read_source_csv("arch.data.default", "default.csv.gz")
    default.index = pd.DatetimeIndex(pd.to_datetime(default.pop("Date"), format="%m/%d/%Y"))

    for name, frame in (("French", french), ("Moody's yields", default)):
        days = sorted(set(frame.index.day))
        print(
            f"{name}: {len(frame)} months {frame.index[0]:%Y-%m} .. {frame.index[-1]:%Y-%m}, "
            f"day of month in source {days}, missing months {_month_gaps(frame.index) or 'none'}, "
            f"NaN {int(frame.isna().sum().sum())}"
        )
        if frame.index.has_duplicates or not frame.index.is_monotonic_increasing:
            raise SystemExit(f"{name}: dates are not increasing and unique")

    french.index = _month_end(french.index)
    default.index = _month_end(default.index)

    # Percent → decimals. French's values have two decimals, so stocks and bills are rounded to
    # 4 decimals to drop the binary noise of the division.
    stocks = ((french["Mkt-RF"] + french["RF"]) / 100.0).round(4)
    bills = (french["RF"] / 100.0).round(4)
    # Each bond return needs the yield of its month and of the month before: computing on the
    # full yield history and then intersecting keeps exactly those months.
    bonds = bond_returns_from_yields(default["AAA"] / 100.0)
    assert isinstance(bonds, pd.Series)

    out = pd.concat({"stocks": stocks, "bonds": bonds, "bills": bills}, axis=1, join="inner")
    out = out.loc["1926-07-01":].dropna()
    out.index.name = "date"
    gaps = _month_gaps(out.index)
    print(
        f"stocks/bonds/bills: {len(out)} months {out.index[0]:%Y-%m-%d} .. "
        f"{out.index[-1]:%Y-%m-%d}, missing months {gaps or 'none'}"
    )
    if gaps:
        raise SystemExit("the combined monthly series has gaps")
    return out


def build_sp500_20() -> pd.DataFrame:
    prices = _read_source_csv("skfolio.datasets.data", "sp500_dataset.csv.gz")
    prices.index = pd.DatetimeIndex(pd.to_datetime(prices.pop("Date"), format="%Y-%m-%d"))
    prices.index.name = "date"
    prices = prices.astype(np.float64)
    n_nan = int(prices.isna().sum().sum())
    print(
        f"sp500_20: {prices.shape[0]} days x {prices.shape[1]} tickers, "
        f"{prices.index[0]:%Y-%m-%d} .. {prices.index[-1]:%Y-%m-%d}, NaN {n_nan}"
        + (f" {prices.isna().sum()[prices.isna().any()].to_dict()}" if n_nan else "")
    )
    try:  # cross-check against skfolio's own loader
        from skfolio.datasets import load_sp500_dataset
    except ImportError:
        pass
    else:
        reference = load_sp500_dataset()
        if not np.array_equal(reference.to_numpy(), prices.to_numpy(), equal_nan=True):
            raise SystemExit("sp500_20: differs from skfolio.datasets.load_sp500_dataset()")
    return prices


def sanity_checks(monthly: pd.DataFrame, prices: pd.DataFrame) -> None:
    """Print the headline figures and stop if any is implausible."""
    years = len(monthly) / 12.0
    print(f"{'':8s} {'mean*12':>8s} {'geo/yr':>8s} {'vol':>8s} {'min':>8s} {'max':>8s}")
    for name, r in monthly.items():
        mean = 12.0 * r.mean()
        geo = (1.0 + r).prod() ** (1.0 / years) - 1.0
        vol = r.std() * np.sqrt(12.0)
        print(f"{name!s:8s} {mean:8.2%} {geo:8.2%} {vol:8.2%} {r.min():8.2%} {r.max():8.2%}")
    crash = (1.0 + monthly.loc["1929-09":"1932-06", "stocks"]).prod() - 1.0
    print(f"stocks 1929-09..1932-06 cumulative: {crash:.1%}")
    corr = monthly.corr()
    print(
        f"correlations: stocks/bonds {corr.loc['stocks', 'bonds']:.2f}, "
        f"bonds/bills {corr.loc['bonds', 'bills']:.2f}"
    )

    mean = 12.0 * monthly.mean()
    vol = monthly.std() * np.sqrt(12.0)
    checks = {
        "stocks mean 8..13 %/yr": 0.08 < mean["stocks"] < 0.13,
        "bonds mean 4..8 %/yr": 0.04 < mean["bonds"] < 0.08,
        "bills mean 2..5 %/yr": 0.02 < mean["bills"] < 0.05,
        "stocks vol 15..22 %": 0.15 < vol["stocks"] < 0.22,
        "bonds vol > 3 %, < stocks vol / 2": 0.03 < vol["bonds"] < 0.5 * vol["stocks"],
        "bills vol < 1.5 %": vol["bills"] < 0.015,
        "1929-32 crash below -70 %": crash < -0.70,
        "prices positive": bool((prices > 0).all().all()),
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise SystemExit(f"sanity checks failed: {failed}")
    print("sanity checks passed:", ", ".join(checks))


def to_csv_gz(frame: pd.DataFrame, float_format: str) -> bytes:
    text = frame.to_csv(float_format=float_format, date_format="%Y-%m-%d", lineterminator="\n")
    # mtime=0 and no file name in the header: the bytes depend on the data only.
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the files on disk, write nothing"
    )
    args = parser.parse_args(argv)

    monthly = build_stocks_bonds_bills()
    prices = build_sp500_20()
    sanity_checks(monthly, prices)

    outputs = {
        STOCKS_BONDS_BILLS_FILE: to_csv_gz(monthly, RETURNS_FLOAT_FORMAT),
        SP500_20_FILE: to_csv_gz(prices, PRICES_FLOAT_FORMAT),
    }
    status = 0
    for name, data in outputs.items():
        path = OUT_DIR / name
        if args.check:
            same = path.exists() and path.read_bytes() == data
            print(f"{path}: {'up to date' if same else 'DIFFERS'}")
            status |= 0 if same else 1
        else:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"wrote {path} ({len(data):,} bytes)")
    return status


if __name__ == "__main__":
    sys.exit(main())
