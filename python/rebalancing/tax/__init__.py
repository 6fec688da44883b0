"""Tax lots, wash sales, lot relief, a durable SQLite ledger, Form 8949 and loss harvesting.

US rules as written in docs/tax_rules.md (holding period §1, wash sales §2–5, lot relief
§6, harvesting convention §7), with exact ``Decimal`` arithmetic:

* :class:`Ledger` — accounts (taxable, IRA, Roth), buys, reinvestments, deposits, sales by
  ``fifo``/``lifo``/``hifo``/``spec_id``/``tax_optimal``; open lots with wash-adjusted basis and
  dates, realized sales, wash-sale matches, blocks, Form 8949; ``Ledger.create(path, ...)`` and
  ``Ledger.open(path)`` persist to SQLite, one transaction per operation; read-only queries
  (``open_lots``, ``recent_purchases``, ``holdings``, ``sale_pieces``) return immutable
  :class:`Lot`/:class:`Piece` records;
* :func:`harvest` / :func:`swap_back` — tax-loss harvesting into substitutes and back;
* :func:`tax_aware_rebalance` — the certified solver with every lot's tax as a sell cost;
* :func:`after_tax` / :class:`TaxPolicy` — after-tax figures of a backtest;
* :func:`first_long_term_date`, :func:`is_long_term`, :func:`holding_term` — the holding period.
"""

from rebalancing.tax.after_tax import AfterTaxResult, TaxPolicy, after_tax, after_tax_table
from rebalancing.tax.harvesting import HarvestResult, Trade, WouldWash, harvest, swap_back
from rebalancing.tax.holding import first_long_term_date, holding_term, is_long_term
from rebalancing.tax.ledger import SHARE_QUANTUM, Acquisition, Block, Holdings, Ledger, Sale
from rebalancing.tax.lots import Lot, Piece
from rebalancing.tax.rebalancing import TaxAwareResult, tax_aware_rebalance
from rebalancing.tax.relief import METHODS
from rebalancing.tax.wash import replacement_date

__all__ = [
    "METHODS",
    "SHARE_QUANTUM",
    "Acquisition",
    "AfterTaxResult",
    "Block",
    "HarvestResult",
    "Holdings",
    "Ledger",
    "Lot",
    "Piece",
    "Sale",
    "TaxAwareResult",
    "TaxPolicy",
    "Trade",
    "WouldWash",
    "after_tax",
    "after_tax_table",
    "first_long_term_date",
    "harvest",
    "holding_term",
    "is_long_term",
    "replacement_date",
    "swap_back",
    "tax_aware_rebalance",
]
