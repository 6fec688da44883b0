r"""Tax-loss harvesting into substitutes, and swapping back (docs/tax_rules.md §7).

:func:`harvest` sells lots standing at a loss and buys a *substitute* (a security the caller
declares similar but not substantially identical) with the proceeds; :func:`swap_back` returns
to the primary once buying it no longer washes the harvested loss. Both return the trades and
either apply them to the ledger (``apply=True``, all in one transaction) or leave the ledger
untouched (``apply=False``: the trades are simulated on a copy to report their consequences).

Harvest decision, per lot, on its **wash-adjusted** basis :math:`b` and market value
:math:`v = q\,p`, with :math:`\ell = b - v`:

.. math::  \text{harvest} \iff \ell > 0,\quad \ell \ge \text{min\_loss\_usd},\quad
           \ell / b \ge \text{min\_loss\_pct}

(both thresholds inclusive, compared exactly in ``Decimal`` as :math:`\ell \ge
\text{min\_loss\_pct}\cdot b`; a lot with no loss is never harvested, even with zero
thresholds). Lots are evaluated as they stand for a sale on ``date`` (the previous close's
bases; see :mod:`rebalancing.tax.wash`).

Documented choices
------------------
* **Recent lots** — shares of the harvested group acquired within the last 30 days (on
  ``date − 30`` … ``date``) that have not already absorbed a loss would wash the harvest.
  ``recent="sell"`` (default) sells those in the harvested account in the same harvest (shares
  sold the same day are never replacements), whatever their own gain or loss;
  ``recent="report"`` keeps them and lists them in ``would_wash``. Recent lots in *other*
  accounts (another taxable account, an IRA) cannot be sold by this harvest and are always
  reported in ``would_wash``; ``disallowed`` says how much of the harvested loss they wash.
* **Substitute** — for each sold ticker, the first entry of ``substitutes[ticker]`` (a ticker or
  a list, in order of preference) that is not blocked on ``date``, counting the blocks this
  harvest creates; a group with several tickers falls back to the other tickers' lists. It is
  bought with the sale's proceeds, in shares rounded down to :data:`SHARE_QUANTUM` (or whole
  shares with ``whole_shares=True``); what is left is reported as ``cash``, as are the proceeds
  of a ticker without an unblocked substitute. A substitute substantially identical to the
  ticker it replaces is a ``ValueError``. The bought lots record the ticker they stand in for
  (the original primary when a substitute itself is harvested), which :func:`swap_back` uses.
* **Blocks** — the harvested group is blocked through ``date + 30`` (see
  :meth:`Ledger.can_buy`); reinvestments and deposits during a block are redirected by the
  ledger to the substitute recorded here.
* **Swap back is worth it** when realizing the substitute lots costs no more than the caller
  accepts: :func:`swap_back` sells the substitute lots of a primary (all of them, in that
  account) and buys the primary iff the primary is no longer blocked (from the harvest's
  ``sale date + 31``) and the lots' total unrealized gain on wash-adjusted basis is at most
  ``max_gain_usd`` (default 0: only at a net loss or flat, so swapping back never creates a
  taxable gain unless allowed).
* **Dates and inputs** — trades are planned on the ledger's latest trade date or later (an
  earlier date would need the lots as they stood then): ``ValueError`` otherwise. ``prices``
  must cover every ticker held in the accounts considered and every substitute or primary
  bought; a missing price, or a price of 0 for a ticker to be bought, is a ``ValueError``
  naming it, never a silent skip. ``min_loss_pct`` is a fraction in [0, 1]; at 1 only
  worthless lots (:math:`\ell = b`) are harvested. Entries of
  ``substitutes`` are checked when they are used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

import pandas as pd

from rebalancing.tax._inputs import CONTEXT, ZERO, as_date, as_name, as_nonnegative, tidy
from rebalancing.tax.ledger import SHARE_QUANTUM, Block, Ledger, Sale
from rebalancing.tax.lots import Lot, SubstituteLots
from rebalancing.typing import Amount, DateLike

__all__ = ["HarvestResult", "Trade", "WouldWash", "harvest", "swap_back"]

_TRADE_COLUMNS = [
    "date",
    "account",
    "side",
    "ticker",
    "shares",
    "price",
    "amount",
    "reason",
    "primary",
    "substitute",
    "lots",
]


@dataclass(frozen=True)
class Trade:
    """One order of a harvest or swap back.

    ``reason`` is ``"harvest"`` (a sale with at least one harvested lot), ``"recent"`` (recent
    lots sold so they cannot wash the harvest), ``"substitute"`` (the purchase of a substitute)
    or ``"swap_back"``. Sells name their lots (``(lot_id, shares)``, applied as ``spec_id``).
    """

    date: dt.date
    account: str
    side: str
    ticker: str
    shares: Decimal
    price: Decimal
    reason: str
    lots: tuple[tuple[str, Decimal], ...] = ()
    primary: str | None = None
    substitute: str | None = None

    @property
    def amount(self) -> Decimal:
        """``shares × price``."""
        return self.shares * self.price


@dataclass(frozen=True)
class WouldWash:
    """An unsold lot acquired within 30 days before the harvest: it can wash the loss."""

    account: str
    lot_id: str
    ticker: str
    shares: Decimal
    acquired: dt.date
    reason: str


@dataclass(frozen=True)
class HarvestResult:
    """What a :func:`harvest` or :func:`swap_back` did (or would do).

    Attributes
    ----------
    trades : tuple of Trade
        Sells first, then buys, in a deterministic order.
    blocks : tuple of Block
        Blocks the sells create (a loss sale blocks its group through ``date + 30``).
    would_wash : tuple of WouldWash
        Lots kept that were acquired within 30 days (see the module notes).
    skipped : tuple of (str, str)
        ``(ticker, reason)`` for what was not done (no substitute, blocked, gain too large).
    harvested_loss : Decimal
        :math:`\\sum \\ell` over the harvested lots (0 for a swap back).
    realized_gain : Decimal
        Gain (negative: loss) of all the sells, before wash-sale adjustments.
    disallowed : Decimal
        Loss of these sells disallowed by wash sales, as settled at the close of ``date`` with
        the ledger as it stands (later purchases can still wash more).
    cash : Decimal
        Proceeds not reinvested (share rounding, no unblocked substitute).
    applied : bool
        Whether the trades were recorded in the ledger.
    """

    date: dt.date
    trades: tuple[Trade, ...]
    blocks: tuple[Block, ...]
    would_wash: tuple[WouldWash, ...]
    skipped: tuple[tuple[str, str], ...]
    harvested_loss: Decimal
    realized_gain: Decimal
    disallowed: Decimal
    cash: Decimal
    applied: bool
    sales: tuple[int, ...] = field(default=(), repr=False)

    def trades_frame(self) -> pd.DataFrame:
        """The trades as a DataFrame (one row per order)."""
        rows = [
            (
                t.date,
                t.account,
                t.side,
                t.ticker,
                t.shares,
                t.price,
                t.amount,
                t.reason,
                t.primary,
                t.substitute,
                dict(t.lots) if t.lots else None,
            )
            for t in self.trades
        ]
        return pd.DataFrame(rows, columns=_TRADE_COLUMNS)


class _Prices:
    """Validated Decimal prices looked up once per call."""

    def __init__(self, prices: Any) -> None:
        if not isinstance(prices, Mapping | pd.Series):
            raise TypeError(
                f"prices must be a mapping or a pandas Series of ticker → price, "
                f"got {type(prices).__name__}"
            )
        self._prices = prices
        self._cache: dict[str, Decimal] = {}
        self._floats: dict[str, float] = {}

    def __call__(self, ticker: str) -> Decimal:
        value = self._cache.get(ticker)
        if value is None:
            try:
                raw = self._prices[ticker]
            except (KeyError, IndexError):
                raise ValueError(f"prices: no price for {ticker!r}") from None
            value = as_nonnegative(raw, f"prices[{ticker!r}]")
            self._cache[ticker] = value
        return value

    def as_float(self, ticker: str) -> float:
        value = self._floats.get(ticker)
        if value is None:
            value = float(self(ticker))
            self._floats[ticker] = value
        return value


def _accounts(ledger: Ledger, account: Any) -> list[str]:
    kinds = ledger.accounts
    if account is None:
        return [name for name, kind in kinds.items() if kind == "taxable"]
    names = [account] if isinstance(account, str) else list(account)
    result = []
    for name in names:
        name = as_name(name, "account")
        if name not in kinds:
            ledger.account_name(name)  # the ledger's error, listing its accounts
        if kinds[name] != "taxable":
            raise ValueError(
                f"account: {name!r} is a {kinds[name]} account; losses are only harvested in "
                "taxable accounts"
            )
        if name not in result:
            result.append(name)
    return result


class _Substitutes:
    """``ticker → substitutes in order of preference``, each entry checked when first used."""

    def __init__(self, substitutes: Any) -> None:
        if not isinstance(substitutes, Mapping):
            raise TypeError(
                "substitutes must be a mapping ticker → substitute(s), "
                f"got {type(substitutes).__name__}"
            )
        self._raw = substitutes
        self._cache: dict[str, tuple[str, ...]] = {}

    def get(self, ticker: str) -> tuple[str, ...]:
        found = self._cache.get(ticker)
        if found is None:
            subs = self._raw.get(ticker, ())
            name = f"substitutes[{ticker!r}]"
            if isinstance(subs, str):
                subs = (subs,)
            elif not isinstance(subs, Iterable):
                raise TypeError(f"{name} must be a ticker or a list of tickers, got {subs!r}")
            found = tuple(as_name(sub, name) for sub in subs)
            self._cache[ticker] = found
        return found


def _trade_date(ledger: Ledger, date: Any) -> dt.date:
    day = as_date(date, "date")
    latest = ledger.latest_date
    if latest is not None and day < latest:
        raise ValueError(
            f"date: trades are planned on the ledger's latest trade date or later; got {day}, "
            f"but events up to {latest} are recorded"
        )
    return day


def _purchase_price(price: _Prices, ticker: str, role: str) -> Decimal:
    """The price of a ticker to be bought: 0 would buy infinitely many shares (or, as it once
    did, silently none), so it is refused before anything is recorded."""
    value = price(ticker)
    if value <= 0:
        raise ValueError(
            f"prices[{ticker!r}]: {role} {ticker} would be bought at a price of {value}; "
            "a purchase needs a positive price"
        )
    return value


def _key(ledger: Ledger, ticker: str) -> str:
    """The name of ``ticker``'s group of substantially identical tickers (its first ticker)."""
    return min(ledger.substantially_identical(ticker))


def _quantum(whole_shares: bool) -> Decimal:
    if not isinstance(whole_shares, bool):
        raise TypeError(f"whole_shares must be a bool, got {type(whole_shares).__name__}")
    return Decimal(1) if whole_shares else SHARE_QUANTUM


def _sell_order(
    day: dt.date, account: str, ticker: str, lots: Sequence[Lot], price: Decimal, reason: str
) -> Trade:
    return Trade(
        date=day,
        account=account,
        side="sell",
        ticker=ticker,
        shares=sum((lot.shares for lot in lots), ZERO),
        price=price,
        reason=reason,
        lots=tuple((lot.lot_id, lot.shares) for lot in lots),
    )


def harvest(
    ledger: Ledger,
    prices: Mapping[str, Any] | pd.Series,
    date: DateLike,
    substitutes: Mapping[str, str | Sequence[str]],
    *,
    min_loss_usd: Amount = 0,
    min_loss_pct: Amount = 0,
    account: str | Sequence[str] | None = None,
    recent: str = "sell",
    whole_shares: bool = False,
    apply: bool = False,
) -> HarvestResult:
    r"""Harvest the losing lots of taxable ``account`` on ``date`` into substitutes.

    Parameters
    ----------
    ledger : Ledger
    prices : mapping or pandas.Series
        Price per share (``Decimal``/``int``/``str``) of every ticker held in the harvested
        accounts and of the substitutes bought.
    date : datetime.date or ISO string
        Trade date of the harvest.
    substitutes : mapping
        ``ticker → substitute`` or ``ticker → [substitute, fallback, ...]``.
    min_loss_usd, min_loss_pct : Decimal-like, optional
        Inclusive thresholds on the lot's loss :math:`\ell` and on :math:`\ell / b`
        (a fraction: ``"0.05"`` is 5 %). Default 0 (any loss).
    account : str, sequence of str or None
        The taxable account(s) to harvest; ``None`` (default) for every taxable account of the
        ledger.
    recent : {"sell", "report"}
        What to do with unsold lots acquired within 30 days (module notes).
    whole_shares : bool
        Buy substitutes in whole shares (default: to :data:`SHARE_QUANTUM`).
    apply : bool
        Record the trades in ``ledger`` (one transaction) or only return them.

    Returns
    -------
    HarvestResult

    Examples
    --------
    >>> from decimal import Decimal as D
    >>> from rebalancing import tax
    >>> ledger = tax.Ledger({"brokerage": "taxable"})
    >>> _ = ledger.buy("2024-01-02", "VOO", 100, D("450"))
    >>> plan = tax.harvest(
    ...     ledger, {"VOO": D("400"), "IVV": D("440")}, "2024-08-05",
    ...     substitutes={"VOO": ["IVV"]}, whole_shares=True,
    ... )
    >>> plan.trades_frame()[["side", "ticker", "shares", "reason"]]
       side ticker shares      reason
    0  sell    VOO    100     harvest
    1   buy    IVV     90  substitute
    """
    with localcontext(CONTEXT):
        day = _trade_date(ledger, date)
        min_usd = as_nonnegative(min_loss_usd, "min_loss_usd")
        min_pct = as_nonnegative(min_loss_pct, "min_loss_pct")
        if min_pct > 1:
            raise ValueError(f"min_loss_pct is a fraction in [0, 1], got {min_loss_pct!r}")
        if recent not in ("sell", "report"):
            raise ValueError(f"recent must be 'sell' or 'report', got {recent!r}")
        accounts = _accounts(ledger, account)
        subs = _Substitutes(substitutes)
        quantum = _quantum(whole_shares)
        price = _Prices(prices)
        chosen, harvested_loss = _losing_lots(ledger, day, accounts, price, min_usd, min_pct)
        sells, reasons, would_wash = _sell_plan(ledger, chosen, day, recent)
        trades, skipped, realized_gain, cash = _orders(
            ledger, sells, reasons, subs, price, day, quantum, {key for _, key in chosen}
        )
        return _execute(
            ledger, day, trades, would_wash, skipped, harvested_loss, realized_gain, cash, apply
        )


def _losing_lots(
    ledger: Ledger,
    day: dt.date,
    accounts: list[str],
    price: _Prices,
    min_usd: Decimal,
    min_pct: Decimal,
) -> tuple[dict[tuple[str, str], list[Lot]], Decimal]:
    """Lots passing both thresholds, per ``(account, group key)``, and their total loss."""
    chosen: dict[tuple[str, str], list[Lot]] = {}
    total = ZERO
    # With min_pct = 1 only worthless lots pass (ℓ = b): no float pre-filter then.
    slack = (1.0 - float(min_pct)) * (1 + 1e-9)
    wanted = set(accounts)
    for held in ledger.holdings(day):
        key = held.tickers[0]  # the group's first ticker names it
        single = len(held.tickers) == 1
        limit: float | None = None
        for acct, top in held.max_cost_per_share().items():
            if acct not in wanted:
                continue
            if single and slack > 0:
                # The exact test is below; this float pre-filter only skips accounts where no
                # lot can pass: a loss needs p < b/q, the percentage test p ≤ (b/q)(1 − pct).
                if limit is None:
                    limit = price.as_float(key) / slack
                if top < limit:
                    continue
            for lot in held.lots(acct):
                loss = lot.basis - lot.shares * price(lot.ticker)
                if loss > 0 and loss >= min_usd and loss >= min_pct * lot.basis:
                    chosen.setdefault((acct, key), []).append(lot)
                    total += loss
    return chosen, total


def _sell_plan(
    ledger: Ledger, chosen: dict[tuple[str, str], list[Lot]], day: dt.date, recent: str
) -> tuple[dict[tuple[str, str], list[Lot]], dict[tuple[str, str], str], list[WouldWash]]:
    """Lots to sell per ``(account, ticker)`` with the orders' reasons, and the would-wash list."""
    sells: dict[tuple[str, str], list[Lot]] = {}
    reasons: dict[tuple[str, str], str] = {}
    would_wash: list[WouldWash] = []
    for (acct, key), harvested in sorted(chosen.items()):
        for lot in harvested:
            sells.setdefault((acct, lot.ticker), []).append(lot)
            reasons[(acct, lot.ticker)] = "harvest"
        taken = {lot.lot_id for lot in harvested}
        for lot in ledger.recent_purchases(key, day, account=acct):
            if lot.lot_id in taken:
                continue
            if recent == "sell":
                sells.setdefault((acct, lot.ticker), []).append(lot)
                reasons.setdefault((acct, lot.ticker), "recent")
            else:
                would_wash.append(
                    WouldWash(
                        acct,
                        lot.lot_id,
                        lot.ticker,
                        lot.shares,
                        lot.original,
                        "acquired within 30 days, kept (recent='report')",
                    )
                )
    sold = {(acct, lot.lot_id) for (acct, _), lots in sells.items() for lot in lots}
    for key in sorted({key for _, key in chosen}):
        for lot in ledger.recent_purchases(key, day):  # all accounts, in account order
            acct = lot.account
            if (acct, key) in chosen or (acct, lot.lot_id) in sold:
                continue
            would_wash.append(
                WouldWash(
                    acct,
                    lot.lot_id,
                    lot.ticker,
                    lot.shares,
                    lot.original,
                    f"acquired within 30 days in account {acct!r}",
                )
            )
    return sells, reasons, would_wash


def _orders(
    ledger: Ledger,
    sells: dict[tuple[str, str], list[Lot]],
    reasons: dict[tuple[str, str], str],
    subs: _Substitutes,
    price: _Prices,
    day: dt.date,
    quantum: Decimal,
    harvested: set[str],
) -> tuple[list[Trade], list[tuple[str, str]], Decimal, Decimal]:
    """Sell orders, then substitute purchases; also what was skipped, the gain and the cash."""
    trades: list[Trade] = []
    buys: dict[tuple[str, str, str | None], Decimal] = {}
    skipped: list[tuple[str, str]] = []
    cash = ZERO
    realized_gain = ZERO
    for (acct, ticker), unsorted in sorted(sells.items()):
        lots = sorted(unsorted, key=lambda lot: (lot.original, lot.origin, lot.part))
        p = price(ticker)
        sub = _pick_substitute(ledger, subs, ticker, _key(ledger, ticker), day, harvested)
        order = replace(
            _sell_order(day, acct, ticker, lots, p, reasons[(acct, ticker)]), substitute=sub
        )
        trades.append(order)
        realized_gain += order.amount - sum((lot.basis for lot in lots), ZERO)
        if sub is None:
            skipped.append((ticker, "no substitute that is not blocked"))
            cash += order.amount
            continue
        for lot in lots:
            root = lot.primary if lot.primary is not None else lot.ticker
            primary = None if _key(ledger, root) == _key(ledger, sub) else root
            where = (acct, sub, primary)
            buys[where] = buys.get(where, ZERO) + lot.shares * p
    for (acct, sub, primary), amount in sorted(buys.items(), key=lambda kv: kv[0][:2]):
        p = _purchase_price(price, sub, "the substitute")
        shares = tidy((amount / p).quantize(quantum, rounding=ROUND_DOWN))
        cash += amount - shares * p
        if shares > 0:
            trades.append(Trade(day, acct, "buy", sub, shares, p, "substitute", primary=primary))
    return trades, skipped, realized_gain, cash


def _pick_substitute(
    ledger: Ledger,
    subs: _Substitutes,
    ticker: str,
    key: str,
    day: dt.date,
    harvested: set[str],
) -> str | None:
    options = list(subs.get(ticker))
    for other in sorted(ledger.substantially_identical(ticker)):
        if other != ticker:
            options.extend(subs.get(other))
    for sub in options:
        sub_key = _key(ledger, sub)
        if sub_key == key:
            raise ValueError(
                f"substitutes: {sub} is substantially identical to {ticker}, so it cannot "
                "replace it"
            )
        if sub_key not in harvested and ledger.block(sub, day) is None:
            return sub
    return None


def _execute(
    ledger: Ledger,
    day: dt.date,
    trades: list[Trade],
    would_wash: list[WouldWash],
    skipped: list[tuple[str, str]],
    harvested_loss: Decimal,
    realized_gain: Decimal,
    cash: Decimal,
    apply: bool,
) -> HarvestResult:
    """Record ``trades`` in ``ledger`` (or a scratch copy) and summarize the outcome."""
    if not isinstance(apply, bool):
        raise TypeError(f"apply must be a bool, got {type(apply).__name__}")
    target = ledger if apply else ledger.copy()
    sales: list[Sale] = []
    blocks: list[Block] = []
    disallowed = ZERO
    if trades:
        with target.transaction():
            for t in trades:
                if t.side == "sell":
                    sale = target.sell(
                        day,
                        t.ticker,
                        t.shares,
                        t.price,
                        "spec_id",
                        t.lots,
                        t.account,
                        tag=t.reason,
                        substitute=t.substitute,
                    )
                    sales.append(sale)
                else:
                    target.buy(
                        day,
                        t.ticker,
                        t.shares,
                        t.price,
                        t.account,
                        tag=t.reason,
                        primary=t.primary,
                    )
        disallowed = sum((piece.disallowed for piece in target.sale_pieces(sales)), ZERO)
        for key in sorted({_key(target, t.ticker) for t in trades if t.side == "sell"}):
            block = target.block(key, day)
            if block is not None and block.sale_date == day:
                blocks.append(block)
    return HarvestResult(
        date=day,
        trades=tuple(trades),
        blocks=tuple(blocks),
        would_wash=tuple(would_wash),
        skipped=tuple(skipped),
        harvested_loss=harvested_loss,
        realized_gain=realized_gain,
        disallowed=disallowed,
        cash=cash,
        applied=apply and bool(trades),
        sales=tuple(sale.seq for sale in sales),
    )


def swap_back(
    ledger: Ledger,
    prices: Mapping[str, Any] | pd.Series,
    date: DateLike,
    *,
    max_gain_usd: Amount = 0,
    account: str | Sequence[str] | None = None,
    whole_shares: bool = False,
    apply: bool = False,
) -> HarvestResult:
    """Sell substitute lots and buy their primary back, where that is allowed and worth it.

    For every primary with open substitute lots (lots bought by :func:`harvest` or redirected
    cash flows) in the taxable ``account``: swap back iff the primary is not blocked on
    ``date`` (from the harvest's sale date + 31 days) and the substitute lots' total unrealized
    gain on wash-adjusted basis is at most ``max_gain_usd`` (module notes). All the primary's
    substitute lots in that account are sold (``spec_id``) and the proceeds buy the primary,
    rounded down to :data:`SHARE_QUANTUM` (or whole shares); the rest is ``cash``.

    Parameters are as for :func:`harvest`; ``prices`` must cover the substitutes and primaries.

    Examples
    --------
    >>> from decimal import Decimal as D
    >>> from rebalancing import tax
    >>> ledger = tax.Ledger({"brokerage": "taxable"})
    >>> _ = ledger.buy("2024-01-02", "VOO", 100, D("450"))
    >>> _ = tax.harvest(
    ...     ledger, {"VOO": D("400"), "IVV": D("440")}, "2024-08-05",
    ...     substitutes={"VOO": ["IVV"]}, whole_shares=True, apply=True,
    ... )
    >>> prices = {"VOO": D("405"), "IVV": D("440")}
    >>> back = tax.swap_back(ledger, prices, "2024-09-09", whole_shares=True)
    >>> back.trades_frame()[["side", "ticker", "shares", "reason"]]
       side ticker shares     reason
    0  sell    IVV     90  swap_back
    1   buy    VOO     97  swap_back
    """
    with localcontext(CONTEXT):
        day = _trade_date(ledger, date)
        max_gain = as_nonnegative(max_gain_usd, "max_gain_usd")
        accounts = _accounts(ledger, account)
        quantum = _quantum(whole_shares)
        price = _Prices(prices)
        wanted = set(accounts)
        by_primary: dict[tuple[str, str], list[SubstituteLots]] = {}
        for held in ledger.holdings(day):
            for where, found in held.substitute_lots().items():
                if where[0] in wanted:
                    by_primary.setdefault(where, []).append(found)
        trades: list[Trade] = []
        buys: list[Trade] = []
        skipped: list[tuple[str, str]] = []
        realized_gain = ZERO
        cash = ZERO
        blocked: dict[str, Block | None] = {}
        max_gain_float = float(max_gain)
        floats = price.as_float
        for where in sorted(by_primary):
            acct, primary = where
            if primary not in blocked:
                blocked[primary] = ledger.block(primary, day)
            block = blocked[primary]
            if block is not None:
                skipped.append((primary, f"blocked through {block.until}"))
                continue
            parts = by_primary[where]
            # A float estimate first; the exact Decimal test only when it is not clearly above
            # the limit (float error is ~1e-16 relative, the margin 1e-9).
            estimate = 0.0
            scale = 1.0
            for part in parts:
                estimate -= part.basis
                scale += abs(part.basis)
                for ticker, count in part.shares.items():
                    estimate += count * floats(ticker)
            if estimate - max_gain_float > 1e-9 * scale:
                skipped.append((primary, f"substitute gain of about {estimate:.2f}"))
                continue
            lots = [lot for part in parts for lot in part.lots]
            gain = ZERO
            for lot in lots:
                gain += lot.shares * price(lot.ticker) - lot.basis
            if gain > max_gain:
                skipped.append((primary, f"substitute gain {gain} exceeds max_gain_usd"))
                continue
            proceeds = ZERO
            per_ticker: dict[str, list[Lot]] = {}
            for lot in lots:
                per_ticker.setdefault(lot.ticker, []).append(lot)
            for ticker, ticker_lots in sorted(per_ticker.items()):
                ticker_lots.sort(key=lambda lot: (lot.original, lot.origin, lot.part))
                order = _sell_order(day, acct, ticker, ticker_lots, price(ticker), "swap_back")
                trades.append(order)
                proceeds += order.amount
            realized_gain += gain
            p = _purchase_price(price, primary, "the primary")
            shares = tidy((proceeds / p).quantize(quantum, rounding=ROUND_DOWN))
            cash += proceeds - shares * p
            if shares > 0:
                buys.append(Trade(day, acct, "buy", primary, shares, p, "swap_back"))
        return _execute(ledger, day, trades + buys, [], skipped, ZERO, realized_gain, cash, apply)
