"""Drift and band checks against plain numpy and the textbook threshold function."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rebalancing as rb
from _problems import examples


def textbook_threshold_rebalance(current_weights, target_weights, threshold=0.05):  # type: ignore[no-untyped-def]
    """The textbook function, exactly as users write it."""
    drift = current_weights - target_weights
    if np.max(np.abs(drift)) > threshold:
        return target_weights - current_weights
    return None


def numpy_check(cur, tgt, abs_band=None, rel_band=None, group_ids=None, n_groups=0):  # type: ignore[no-untyped-def]
    """The band semantics of check_drift, written plainly with numpy (rows = portfolios)."""
    cur = np.atleast_2d(cur)
    tgt = np.broadcast_to(tgt, cur.shape)
    band = np.full(cur.shape, np.inf)
    if abs_band is not None:
        band = np.minimum(band, abs_band)
    if rel_band is not None:
        band = np.minimum(band, rel_band * np.abs(tgt))
    a = np.abs(cur - tgt)
    excess = a - band
    group = None
    if group_ids is not None:
        group = np.stack(
            [np.bincount(group_ids, cur[r] - tgt[r], n_groups) for r in range(len(cur))]
        )
    return a.max(axis=1), excess.max(axis=1), (excess > 0).sum(axis=1), excess > 0, group


def _weights(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    """m portfolios of n weights summing to one, with some exact zeros."""
    w = rng.dirichlet(np.ones(n), size=m)
    zero = rng.random((m, n)) < 0.1
    zero[:, 0] = False
    w[zero] = 0.0
    return w / w.sum(axis=1, keepdims=True)


@st.composite
def drift_cases(draw: st.DrawFn, max_n: int = 300) -> dict:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    m = draw(st.integers(1, 8))
    n = draw(st.integers(1, max_n))
    cur = _weights(rng, m, n)
    shared = draw(st.booleans())
    tgt = _weights(rng, 1, n)[0] if shared else _weights(rng, m, n)
    kind = draw(st.sampled_from(["abs", "rel", "hybrid", "per_asset", "groups", "all"]))
    kwargs: dict = {}
    if kind in ("abs", "hybrid", "all"):
        kwargs["abs_band"] = float(draw(st.sampled_from([0.0, 0.01, 0.05, 0.2])))
    if kind in ("rel", "hybrid", "all"):
        kwargs["rel_band"] = float(draw(st.sampled_from([0.0, 0.1, 0.25, 1.0])))
    if kind in ("per_asset", "all"):
        kwargs["bands"] = rng.uniform(0.0, 0.05, size=n)
    if kind in ("groups", "all"):
        g = int(draw(st.integers(1, 5)))
        kwargs["groups"] = rng.integers(0, g, size=n)
        kwargs["group_bands"] = float(draw(st.sampled_from([0.0, 0.02, 0.1])))
    # Put some drifts exactly on the band: the test is strict, so they must not breach.
    # (asset 1 gives up the difference, so every portfolio still sums to one).
    if "abs_band" in kwargs and n > 1:
        on_band = np.broadcast_to(tgt, cur.shape)[:, 0] + kwargs["abs_band"]
        cur[:, 1] -= on_band - cur[:, 0]
        cur[:, 0] = on_band
    return {"cur": cur if m > 1 or draw(st.booleans()) else cur[0], "tgt": tgt, "kwargs": kwargs}


@settings(max_examples=examples(3))
@given(drift_cases())
def test_check_drift_agrees_with_numpy(case: dict) -> None:
    cur, tgt, kw = case["cur"], case["tgt"], case["kwargs"]
    if cur.ndim == 1 and tgt.ndim == 2:
        tgt = tgt[0]
    report = rb.check_drift(cur, tgt, **kw)
    abs_band = kw.get("abs_band")
    if "bands" in kw:
        abs_band = kw["bands"] if abs_band is None else np.minimum(abs_band, kw["bands"])
    groups = kw.get("groups")
    n_groups = 0 if groups is None else int(np.unique(groups).size)
    ids = None if groups is None else np.unique(groups, return_inverse=True)[1]
    max_drift, max_excess, count, mask, group = numpy_check(
        cur, tgt, abs_band, kw.get("rel_band"), ids, n_groups
    )
    single = cur.ndim == 1
    got = lambda x: np.atleast_1d(np.asarray(x))  # noqa: E731
    np.testing.assert_array_equal(got(report.max_drift), max_drift)
    np.testing.assert_array_equal(got(report.max_excess), max_excess)
    np.testing.assert_array_equal(got(report.n_breaches), count)
    np.testing.assert_array_equal(np.atleast_2d(report.asset_breach), mask)
    breach = count > 0
    if group is not None:
        # One chunk (n <= 65536): group sums in index order, exactly as bincount.
        np.testing.assert_array_equal(np.atleast_2d(report.group_drift), group)
        group_breach = np.abs(group) > kw["group_bands"]
        np.testing.assert_array_equal(np.atleast_2d(report.group_breach), group_breach)
        breach = breach | group_breach.any(axis=1)
    np.testing.assert_array_equal(got(report.breach), breach)
    if single:
        assert isinstance(report.breach, bool)
        np.testing.assert_array_equal(report.breached_assets, np.flatnonzero(mask[0]))


@settings(max_examples=examples(3))
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 50),
    threshold=st.sampled_from([0.0, 0.01, 0.05, 0.1]),
    on_threshold=st.booleans(),
)
def test_threshold_rebalance_matches_textbook(
    seed: int, n: int, threshold: float, on_threshold: bool
) -> None:
    rng = np.random.default_rng(seed)
    cur, tgt = _weights(rng, 2, n)
    if on_threshold:
        # The largest drift equal to the threshold (as computed: no rebalance), the weights still
        # summing to one (the drifts, summing to zero, are scaled).
        drift = cur - tgt
        if np.abs(drift).max() > 0:
            drift *= threshold / np.abs(drift).max()
        cur = tgt + drift
    expected = textbook_threshold_rebalance(cur, tgt, threshold)
    got = rb.threshold_rebalance(cur, tgt, threshold)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        np.testing.assert_array_equal(got, expected)


def test_threshold_rebalance_exactly_at_threshold() -> None:
    cur = np.array([0.30, 0.70])
    tgt = np.array([0.25, 0.75])
    at = float(np.max(np.abs(cur - tgt)))  # the drift as computed: 0.04999999999999999
    assert rb.threshold_rebalance(cur, tgt, at) is None
    assert textbook_threshold_rebalance(cur, tgt, at) is None
    below = np.nextafter(at, 0.0)
    np.testing.assert_array_equal(rb.threshold_rebalance(cur, tgt, below), tgt - cur)


def test_threshold_rebalance_pandas() -> None:
    cur = pd.Series({"SPY": 0.7, "AGG": 0.3})
    tgt = pd.Series({"AGG": 0.4, "SPY": 0.6})  # other order: aligned by ticker
    trades = rb.threshold_rebalance(cur, tgt, 0.05)
    assert isinstance(trades, pd.Series)
    assert list(trades.index) == ["SPY", "AGG"]
    np.testing.assert_allclose(trades.to_numpy(), [-0.1, 0.1], atol=1e-15)
    assert rb.threshold_rebalance(cur, tgt, 0.2) is None
    with pytest.raises(ValueError, match="batch"):
        rb.threshold_rebalance(np.ones((2, 2)) / 2, np.ones(2) / 2)


@pytest.mark.parametrize("shape", [(1, 200_000), (3, 70_000), (500, 40)])
def test_results_are_bitwise_identical_for_any_thread_count(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    m, n = shape
    cur = _weights(rng, m, n)
    tgt = _weights(rng, m, n)
    kwargs = {
        "abs_band": 1e-5,
        "rel_band": rng.uniform(0, 1, n),
        "groups": rng.integers(0, 7, n),
        "group_bands": 1e-3,
    }
    reports = [rb.check_drift(cur, tgt, n_threads=t, **kwargs) for t in (1, 2, 3, 8)]
    first = reports[0]
    for other in reports[1:]:
        for name in ("_max_drift", "_max_excess", "_n_breaches", "_group_drift"):
            a, b = getattr(first, name), getattr(other, name)
            assert a.tobytes() == b.tobytes(), name
    # Across chunks of 65536 assets the group sums are merged chunk by chunk: equal to the
    # sequential sum up to rounding.
    ids = np.unique(kwargs["groups"], return_inverse=True)[1]
    expected = np.stack([np.bincount(ids, cur[r] - tgt[r], 7) for r in range(m)])
    np.testing.assert_allclose(first._group_drift, expected, rtol=0, atol=1e-13)


def test_batch_of_one_equals_single() -> None:
    rng = np.random.default_rng(3)
    cur, tgt = _weights(rng, 2, 30)
    single = rb.check_drift(cur, tgt, abs_band=0.01)
    batch = rb.check_drift(cur[np.newaxis], tgt, abs_band=0.01)
    assert single.max_drift == batch.max_drift[0]
    assert single.n_breaches == batch.n_breaches[0]
    np.testing.assert_array_equal(single.breached_assets, batch.breached_assets[0])


# --- pandas --------------------------------------------------------------------------------------


def test_dataframe_in_labelled_report_out() -> None:
    tickers = ["SPY", "EFA", "AGG", "GLD"]
    cur = pd.DataFrame(
        [[0.50, 0.20, 0.25, 0.05], [0.40, 0.20, 0.30, 0.10]],
        index=["acct1", "acct2"],
        columns=tickers,
    )
    tgt = pd.Series({"AGG": 0.30, "GLD": 0.10, "SPY": 0.40, "EFA": 0.20})
    groups = {"SPY": "equity", "EFA": "equity", "AGG": "bonds", "GLD": "real"}
    report = rb.check_drift(
        cur,
        tgt,
        abs_band=0.05,
        rel_band=0.25,
        groups=groups,
        group_bands={"equity": 0.05, "bonds": 0.05, "real": 0.02},
    )
    assert list(report.breach.index) == ["acct1", "acct2"]
    assert report.breach.to_dict() == {"acct1": True, "acct2": False}
    # acct1: SPY +0.10 > min(0.05, 0.25 * 0.40) = 0.05, GLD -0.05 > min(0.05, 0.025).
    assert list(report.breached_assets[0]) == ["SPY", "GLD"]
    assert len(report.breached_assets[1]) == 0
    assert report.group_drift.loc["acct1", "equity"] == pytest.approx(0.10)
    assert bool(report.group_breach.loc["acct1", "real"]) is True
    summary = report.summary()
    assert list(summary.index) == ["acct1", "acct2"]
    assert summary.loc["acct1", "n_breaches"] == 2
    trades = report.trades("target")
    assert isinstance(trades, pd.DataFrame)
    np.testing.assert_allclose(trades.loc["acct1"].to_numpy(), (tgt[tickers] - cur.loc["acct1"]))
    assert (trades.loc["acct2"] == 0).all()


def test_misaligned_labels_are_errors() -> None:
    cur = pd.Series({"A": 0.5, "B": 0.5})
    with pytest.raises(ValueError, match="target tickers do not match"):
        rb.check_drift(cur, pd.Series({"A": 0.5, "C": 0.5}), abs_band=0.05)
    with pytest.raises(ValueError, match="bands tickers do not match"):
        rb.check_drift(cur, cur, bands=pd.Series({"A": 0.1, "Z": 0.1}))
    with pytest.raises(ValueError, match="target has ticker labels"):
        rb.check_drift(cur.to_numpy(), cur, abs_band=0.05)
    accounts = pd.DataFrame([[0.5, 0.5]], index=["x"], columns=["A", "B"])
    other = pd.DataFrame([[0.5, 0.5]], index=["y"], columns=["A", "B"])
    with pytest.raises(ValueError, match="target accounts do not match"):
        rb.check_drift(accounts, other, abs_band=0.05)


# --- band trades ---------------------------------------------------------------------------------


@settings(max_examples=examples(2))
@given(drift_cases(max_n=60), st.sampled_from(["target", "edge", "inner"]))
def test_band_trades_restore_the_bands(case: dict, to: str) -> None:
    cur, tgt, kw = np.atleast_2d(case["cur"]), case["tgt"], case["kwargs"]
    report = rb.check_drift(cur, tgt, **kw)
    trades = np.atleast_2d(rb.band_trades(report, to=to, inner=0.5))  # type: ignore[arg-type]
    breach = np.atleast_1d(report.breach)
    assert np.all(trades[~breach] == 0.0)
    np.testing.assert_allclose(trades.sum(axis=1), 0.0, atol=1e-14)
    after = cur + trades
    tgt2 = np.broadcast_to(tgt, cur.shape)
    if to == "target":
        np.testing.assert_allclose(after[breach], tgt2[breach], atol=1e-15)
        return
    fraction = 1.0 if to == "edge" else 0.5
    mask = np.atleast_2d(report.asset_breach)
    band = np.atleast_2d(report.band)
    d_before, d_after = cur - tgt2, after - tgt2
    # Moved assets land on the (inner) band, or inside it when a group move scaled them down.
    assert np.all(np.abs(d_after[mask]) <= fraction * band[mask] + 1e-15)
    assert np.all(d_after[mask] * np.sign(d_before[mask]) >= -1e-15)  # never past the target
    if "groups" not in kw:
        # The residual goes to unmoved assets towards target first: an unmoved asset may end up
        # further from target only when those opposing the residual cannot absorb all of it.
        unmoved = ~mask & breach[:, np.newaxis]
        worse = unmoved & (np.abs(d_after) > np.abs(d_before) + 1e-15)
        for r in np.flatnonzero(worse.any(axis=1)):
            residual = -trades[r][mask[r]].sum()
            opposing = unmoved[r] & (np.sign(d_before[r]) * np.sign(residual) < 0)
            assert abs(residual) >= np.abs(d_before[r][opposing]).sum() - 1e-15
    else:
        ids = np.unique(kw["groups"], return_inverse=True)[1]
        group_breach = np.atleast_2d(report.group_breach)
        for r in np.flatnonzero(breach):
            for g in np.flatnonzero(group_breach[r]):
                members = ids == g
                assert abs(d_after[r][members].sum()) <= fraction * kw["group_bands"] + 1e-14


def test_band_trades_to_edge_by_hand() -> None:
    cur = np.array([0.50, 0.30, 0.20])
    tgt = np.array([0.40, 0.30, 0.30])
    report = rb.check_drift(cur, tgt, abs_band=0.05)
    # Asset 0 (+0.10) moves to +0.05, asset 2 (-0.10) to -0.05: the residual is zero.
    np.testing.assert_allclose(rb.band_trades(report, "edge"), [-0.05, 0.0, 0.05], atol=1e-15)
    # Inner band at half width: to +0.025 and -0.025.
    np.testing.assert_allclose(
        rb.band_trades(report, "inner", inner=0.5), [-0.075, 0.0, 0.075], atol=1e-15
    )
    # Only asset 0 breaches: its sale of 0.05 is bought back by the underweight asset 2.
    report = rb.check_drift(
        np.array([0.50, 0.30, 0.20]), np.array([0.40, 0.30, 0.30]), bands=[0.05, 0.05, 0.2]
    )
    np.testing.assert_allclose(rb.band_trades(report, "edge"), [-0.05, 0.0, 0.05], atol=1e-15)


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"current": [0.5, np.nan], "abs_band": 0.1}, "current must be finite"),
        ({"target": [0.5, np.inf], "abs_band": 0.1}, "target must be finite"),
        ({"target": [0.5, 0.3, 0.2], "abs_band": 0.1}, "target must have shape"),
        ({"current": [], "target": [], "abs_band": 0.1}, "must not be empty"),
        ({"current": np.zeros((2, 0)), "target": [], "abs_band": 0.1}, "must not be empty"),
        ({"abs_band": -0.1}, "abs_band must be >= 0"),
        ({"rel_band": [0.1, -0.2]}, "rel_band must be >= 0"),
        ({"bands": [0.1, 0.2, 0.3]}, "bands must be a scalar or have length 2"),
        ({"abs_band": np.nan}, "abs_band must be finite"),
        ({}, "at least one band rule"),
        ({"groups": [0, 1]}, "groups and group_bands must be given together"),
        ({"groups": [0], "group_bands": 0.1}, "one entry per asset"),
        ({"groups": [0, None], "group_bands": 0.1}, "asset 1 has none"),
        ({"groups": ["a", "b"], "group_bands": {"a": 0.1}}, "no band for group"),
        ({"groups": [0, 1], "group_bands": -1.0}, "group_bands must be >= 0"),
        ({"current": [["a", "b"]], "abs_band": 0.1}, "real numbers"),
        ({"current": np.ones((1, 1, 2)), "abs_band": 0.1}, "current must be"),
        ({"abs_band": 0.1, "n_threads": -1}, "n_threads"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict, match: str) -> None:
    args = {"current": [0.5, 0.5], "target": [0.4, 0.6]}
    args.update(kwargs)
    current, target = args.pop("current"), args.pop("target")
    with pytest.raises((ValueError, TypeError), match=match):
        rb.check_drift(current, target, **args)


def test_groups_by_ticker_must_cover_every_asset() -> None:
    cur = pd.Series({"A": 0.5, "B": 0.3, "C": 0.2})
    with pytest.raises(ValueError, match=r"missing \['C'\]"):
        rb.check_drift(cur, cur, groups={"A": "x", "B": "y"}, group_bands=0.1)


def test_bad_band_trade_arguments() -> None:
    report = rb.check_drift([0.5, 0.5], [0.4, 0.6], abs_band=0.05)
    with pytest.raises(ValueError, match="to must be"):
        rb.band_trades(report, to="halfway")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="inner must be"):
        rb.band_trades(report, to="inner", inner=1.5)
    with pytest.raises(ValueError, match="threshold must be finite"):
        rb.threshold_rebalance([0.5, 0.5], [0.4, 0.6], -0.1)


@pytest.mark.parametrize("position", [0, 5, 17, 998, 999])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["current", "target"])
def test_non_finite_anywhere_is_found(position: int, bad: float, where: str) -> None:
    # Long enough for the vector bodies of the kernel, not only its scalar tail.
    cur = np.full((2, 1000), 1e-3)
    tgt = np.full(1000, 1e-3)
    if where == "current":
        cur[1, position] = bad
    else:
        tgt[position] = bad
    with pytest.raises(ValueError, match=f"{where} must be finite"):
        rb.check_drift(cur, tgt, abs_band=0.05)


def test_huge_finite_weights_are_not_mistaken_for_inf() -> None:
    # |d| = 1e308 on four assets: finite, although a running sum of them overflows (the weights
    # still sum to 1: the +-1e308 cancel).
    cur = np.array([1e308, -1e308, 1e308, -1e308, 1.0])
    tgt = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    report = rb.check_drift(cur, tgt, abs_band=0.05)
    assert report.max_drift == 1e308
    assert report.n_breaches == 4


@pytest.mark.parametrize(
    ("current", "target", "match"),
    [
        ([0.5, np.nan], [0.5, 0.5], "current_weights must be finite"),
        ([0.5, 0.5], [np.inf, 0.5], "target_weights must be finite"),
        ([0.5, 0.5], [0.3, 0.3, 0.4], "target_weights must have shape"),
        ([], [], "must not be empty"),
        ([["x", "y"]], [0.5, 0.5], "real numbers"),
    ],
)
def test_threshold_rebalance_bad_input(current: object, target: object, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        rb.threshold_rebalance(current, target)


def test_threshold_rebalance_accepts_lists_and_integers() -> None:
    np.testing.assert_allclose(rb.threshold_rebalance([1, 0], [0.5, 0.5]), [-0.5, 0.5])
    assert rb.threshold_rebalance([0.5, 0.5], [0.5, 0.5], 0) is None


# --- band trades clear every breach (property) ---------------------------------------------------

#: Slack for floating-point rounding, with a band of 0 only: recomputing w' - w* from w' = w + t
#: rounds, so a drift moved to 0 can read an ulp or so off; a group sums up to 40 of them.
ROUNDING = 1e-14


@st.composite
def band_cases(draw: st.DrawFn) -> dict:
    """Random weights, targets, asset and relative bands, groups and group bands (scalar or per
    group), with drifts that put assets and groups on both sides of their bands."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    m = draw(st.integers(1, 4))
    n = draw(st.integers(1, 40))
    cur = _weights(rng, m, n)
    tgt = _weights(rng, 1, n)[0] if draw(st.booleans()) else _weights(rng, m, n)
    kwargs: dict = {}
    if draw(st.booleans()):
        kwargs["abs_band"] = draw(st.sampled_from([0.0, 0.005, 0.02, 0.05, 0.2, 1.0]))
    if draw(st.booleans()):
        kwargs["rel_band"] = rng.uniform(0.0, 1.0, n) if draw(st.booleans()) else 0.25
    if draw(st.booleans()) or not kwargs:
        n_groups = draw(st.integers(1, 6))
        kwargs["groups"] = rng.integers(0, n_groups, n)
        present = np.unique(kwargs["groups"])
        if draw(st.booleans()):
            kwargs["group_bands"] = draw(st.sampled_from([0.0, 0.002, 0.01, 0.05, 0.3]))
        else:
            kwargs["group_bands"] = {int(g): float(rng.uniform(0.0, 0.1)) for g in present}
    return {"cur": cur, "tgt": tgt, "kwargs": kwargs, "inner": draw(st.floats(0.0, 1.0))}


def _assert_band_trades_clear_every_breach(case: dict, to: str) -> None:
    cur, tgt, kw = case["cur"], case["tgt"], case["kwargs"]
    report = rb.check_drift(cur, tgt, **kw)
    trades = np.atleast_2d(rb.band_trades(report, to=to, inner=case["inner"]))  # type: ignore[arg-type]
    after = cur + trades
    # Σw unchanged (the trades sum to zero).
    np.testing.assert_allclose(trades.sum(axis=1), 0.0, rtol=0, atol=1e-14)
    # Every weight moves towards its target and never past it, so weights in [0, 1] stay there.
    tgt2 = np.broadcast_to(tgt, cur.shape)
    low, high = np.minimum(cur, tgt2), np.maximum(cur, tgt2)
    assert np.all(after >= low - 1e-15) and np.all(after <= high + 1e-15)
    assert np.all(after >= -1e-15) and np.all(after <= 1 + 1e-15)
    again = rb.check_drift(after, tgt, **kw)
    group_bands = report.group_bands if report.group_bands is not None else np.ones(1)
    if np.all(np.atleast_2d(report.band) > 1e-12) and np.all(group_bands > 1e-12):
        # check_drift (strictly |d| > b) reports no breach at all: the moves land a rounding
        # margin inside the bands.
        assert not np.any(again.breach)
    else:
        # A band of 0 cannot be met through rounding (w + (w* - w) need not be w*): up to it.
        assert np.all(np.atleast_1d(again.max_excess) <= ROUNDING)
        if "groups" in kw:
            assert np.all(np.atleast_2d(again.group_excess) <= ROUNDING)


@settings(max_examples=examples(10))
@given(band_cases(), st.sampled_from(["target", "edge", "inner"]))
def test_band_trades_clear_every_breach(case: dict, to: str) -> None:
    _assert_band_trades_clear_every_breach(case, to)


# --- weights and bands that are not fractions, dicts, booleans ----------------------------------


def _drift_check(current: object, target: object, **kwargs: object) -> object:
    return rb.check_drift(current, target, **({"abs_band": 0.05} | kwargs))


@pytest.mark.parametrize("run", [_drift_check, rb.threshold_rebalance])
@pytest.mark.parametrize("which", ["current", "target"])
def test_weights_must_sum_to_one(run: Any, which: str) -> None:
    name = which if run is _drift_check else f"{which}_weights"
    good, bad = [0.5, 0.5], [0.5, 0.6]
    args = (bad, good) if which == "current" else (good, bad)
    with pytest.raises(ValueError, match=rf"^{name} must sum to 1 \(within 1e-06\), got 1\.1$"):
        run(*args)
    # Within the tolerance is accepted, as in solve.
    run([0.5, 0.5 + 5e-7], [0.5, 0.5 - 5e-7])


@pytest.mark.parametrize("run", [_drift_check, rb.threshold_rebalance])
@pytest.mark.parametrize("which", ["current", "target"])
def test_weights_in_percent_are_an_error_that_says_so(run: Any, which: str) -> None:
    name = which if run is _drift_check else f"{which}_weights"
    args = ([25.0, 75.0], [0.4, 0.6]) if which == "current" else ([0.4, 0.6], [40, 60])
    message = (
        rf"^{name} sums to 100: weights are fractions of the portfolio \(0\.25 = 25 %\), "
        r"not percent$"
    )
    with pytest.raises(ValueError, match=message):
        run(*args)


def test_each_account_must_sum_to_one() -> None:
    accounts = pd.DataFrame([[0.5, 0.5], [0.7, 0.4]], index=["acct1", "acct2"], columns=["A", "B"])
    with pytest.raises(ValueError, match=r"current must sum to 1 .*got 1\.1.*'acct2'"):
        rb.check_drift(accounts, pd.Series({"A": 0.5, "B": 0.5}), abs_band=0.05)
    with pytest.raises(ValueError, match=r"target must sum to 1 .*got 0\.9.*row 1"):
        rb.check_drift(np.full((2, 2), 0.5), [[0.5, 0.5], [0.5, 0.4]], abs_band=0.05)
    with pytest.raises(ValueError, match=r"current sums to 100: .*not percent.*row 0"):
        rb.check_drift(np.array([[50.0, 50.0], [0.5, 0.5]]), [0.5, 0.5], abs_band=0.05)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"abs_band": 5}, "abs_band"),
        ({"abs_band": [0.05, 5.0]}, "abs_band"),
        ({"rel_band": 25}, "rel_band"),
        ({"bands": {"A": 0.05, "B": 10}}, "bands"),
        ({"groups": ["x", "y"], "group_bands": 5}, "group_bands"),
        ({"groups": ["x", "y"], "group_bands": {"x": 0.05, "y": 2}}, "group_bands"),
    ],
)
def test_bands_in_percent_are_an_error_that_says_so(kwargs: dict, name: str) -> None:
    cur = pd.Series({"A": 0.5, "B": 0.5})
    with pytest.raises(ValueError, match=rf"^{name} .*fractions.*0\.05 = 5 %"):
        rb.check_drift(cur, cur, **kwargs)
    # 1 (100 %) is the widest band there is, and accepted.
    widest = {k: v if k == "groups" else 1.0 for k, v in kwargs.items()}
    assert not rb.check_drift(cur, cur, **widest).breach


def test_threshold_in_percent_is_an_error_that_says_so() -> None:
    with pytest.raises(ValueError, match=r"^threshold .*fractions.*0\.05 = 5 %"):
        rb.threshold_rebalance([0.5, 0.5], [0.4, 0.6], 5)
    assert rb.threshold_rebalance([0.5, 0.5], [0.4, 0.6], 1.0) is None


def test_a_dict_of_weights_by_ticker_is_a_series() -> None:
    # What PyPortfolioOpt's clean_weights() returns: a dict ticker -> weight (an OrderedDict).
    cleaned = OrderedDict([("SPY", 0.6), ("AGG", 0.4)])
    target = {"AGG": 0.5, "SPY": 0.5}  # another order: aligned by ticker
    as_series = rb.check_drift(pd.Series(cleaned), pd.Series(target), abs_band=0.05)
    for current, tgt in (
        (cleaned, target),
        (cleaned, pd.Series(target)),
        (pd.Series(cleaned), target),
    ):
        report = rb.check_drift(current, tgt, abs_band=0.05)
        pd.testing.assert_series_equal(report.drift, as_series.drift)
        trades = report.trades("target")
        pd.testing.assert_series_equal(trades, pd.Series({"SPY": -0.1, "AGG": 0.1}, name="trade"))
    trades = rb.threshold_rebalance(cleaned, target, 0.05)
    assert isinstance(trades, pd.Series)
    pd.testing.assert_series_equal(trades, pd.Series({"SPY": -0.1, "AGG": 0.1}, name="trade"))
    with pytest.raises(ValueError, match="target tickers do not match"):
        rb.check_drift(cleaned, {"SPY": 0.5, "GLD": 0.5}, abs_band=0.05)
    with pytest.raises(ValueError, match="current_weights must not be empty"):
        rb.threshold_rebalance({}, {})


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: rb.check_drift([True, False], [0.5, 0.5], abs_band=0.05), "current"),
        (
            lambda: rb.check_drift({"A": True, "B": False}, {"A": 0.5, "B": 0.5}, abs_band=0.05),
            "current",
        ),
        (lambda: rb.check_drift([0.5, 0.5], [True, False], abs_band=0.05), "target"),
        (lambda: rb.check_drift([0.5, 0.5], [0.5, 0.5], abs_band=True), "abs_band"),
        (lambda: rb.check_drift([0.5, 0.5], [0.5, 0.5], rel_band=[True, True]), "rel_band"),
        (
            lambda: rb.check_drift(
                {"A": 0.5, "B": 0.5}, {"A": 0.5, "B": 0.5}, bands={"A": True, "B": 0.1}
            ),
            "bands",
        ),
        (
            lambda: rb.check_drift(
                [0.5, 0.5], [0.5, 0.5], groups=["x", "y"], group_bands={"x": True, "y": 0.1}
            ),
            "group_bands",
        ),
        (
            lambda: rb.check_drift([0.5, 0.5], [0.5, 0.5], groups=[0, 1], group_bands=True),
            "group_bands",
        ),
        (lambda: rb.threshold_rebalance([True, False], [0.5, 0.5]), "current_weights"),
        (lambda: rb.threshold_rebalance([0.5, 0.5], [0.5, 0.5], True), "threshold"),
        (
            lambda: rb.band_trades(
                rb.check_drift([0.6, 0.4], [0.5, 0.5], abs_band=0.05), "inner", inner=True
            ),
            "inner",
        ),
    ],
)
def test_booleans_are_not_numbers(call: Any, name: str) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"^{name} "):
        call()


def test_band_trades_needs_a_report() -> None:
    with pytest.raises(TypeError, match="report must be a DriftReport"):
        rb.band_trades([0.5, 0.5])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"abs_band": 5}, r"^abs_band must be at most 1: bands are fractions \(0\.05 = 5 %\)"),
        ({"rel_band": 25}, r"^rel_band must be at most 1"),
        ({"abs_band": 0.05, "group_bands": 10, "groups": [0]}, r"^group_bands must be at most 1"),
        ({"abs_band": True}, r"^abs_band must be a number or one per asset"),
        ({"abs_band": -0.1}, r"^abs_band must be >= 0"),
        ({"abs_band": 0.05, "to": "inner", "inner": True}, r"^inner must be a real number"),
    ],
)
def test_threshold_policy_checks_its_bands_when_made(kwargs: dict, match: str) -> None:
    # At construction, not at the first backtest: so that the CLI's `--policy band:5` and a TOML
    # file's policy are rejected as such, before any work.
    with pytest.raises((ValueError, TypeError), match=match):
        rb.Threshold(**kwargs)


def test_cli_band_in_percent_is_a_bad_policy() -> None:
    click = pytest.importorskip("click")
    from rebalancing.cli import parse_policy

    with pytest.raises(click.BadParameter, match=r"'band:5': abs_band must be at most 1"):
        parse_policy("band:5")
    assert parse_policy("band:0.05").name == "5% band"


def test_sum_to_one_at_the_tolerance_as_numpy_sums() -> None:
    # The kernel's sums screen the rows; a row near the tolerance is settled by numpy's sum, the
    # check solve makes: 1 + 0.9e-6 passes and 1 + 1.1e-6 fails, on long rows (the vector body)
    # and short ones, for check_drift and threshold_rebalance alike.
    for n in (3, 100_000):
        base = np.full(n, 1.0 / n)
        for excess, ok in ((0.9e-6, True), (1.1e-6, False), (-0.9e-6, True), (-1.1e-6, False)):
            off = base.copy()
            off[0] += excess
            assert abs(off.sum() - 1.0 - excess) < 1e-12
            batch = np.stack([base, off])
            if ok:
                rb.check_drift(batch, base, abs_band=0.05)
                rb.check_drift(base, off, abs_band=0.05)
                rb.threshold_rebalance(off, base)
            else:
                with pytest.raises(ValueError, match=r"current must sum to 1 .*\(row 1\)"):
                    rb.check_drift(batch, base, abs_band=0.05)
                with pytest.raises(ValueError, match=r"^target must sum to 1"):
                    rb.check_drift(base, off, abs_band=0.05)
                with pytest.raises(ValueError, match=r"^current_weights must sum to 1"):
                    rb.threshold_rebalance(off, base)


def test_rounded_weights_are_told_to_renormalize() -> None:
    # clean_weights() rounds to 5 decimals (and drops weights under 1e-4): thirds sum to 0.99999,
    # outside solve's 1e-6. The error keeps solve's wording and says what to do.
    cleaned = {"A": 0.33333, "B": 0.33333, "C": 0.33333}
    message = r"^target must sum to 1 \(within 1e-06\), got 0\.99999: .*divide"
    with pytest.raises(ValueError, match=message):
        rb.check_drift({"A": 0.4, "B": 0.3, "C": 0.3}, cleaned, abs_band=0.05)
    total = sum(cleaned.values())
    renormalized = {k: v / total for k, v in cleaned.items()}
    assert not rb.check_drift({"A": 0.4, "B": 0.3, "C": 0.3}, renormalized, abs_band=0.1).breach
