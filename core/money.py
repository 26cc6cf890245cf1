"""Money: the one place for yuan and fen.

Amounts are ``Decimal`` yuan in Python and integer fen (分, 1/100 yuan) in the database (``*_fen``
columns).  Every conversion, every parse of a typed amount, every display and every rounding goes
through this module:

- ``parse_money``: what a person typed → yuan, exact to the fen (never rounded);
- ``to_fen`` / ``from_fen``: yuan ↔ fen, exactly (a fraction of a fen is an error, never rounded away);
- ``round_fen``: a computed amount rounded to the fen by the platform's rule, half up (四舍五入);
  ``floor_fen`` for a legal cap, which an amount may not exceed (rounded down);
- ``format_yuan`` / ``format_fen``: ``¥1,234,567.89`` for people.

Pure module: no Flask, no database, no clock; ``Decimal`` only, never ``float``.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from core.errors import N_, InvalidInput

CENT = Decimal("0.01")
"""One fen in yuan: every amount is quantized to it."""
MAX_YUAN = Decimal(10) ** 13
"""The largest amount a person may type (10^13 yuan: 10^15 fen still fits a BIGINT many times over)."""
ROUNDING = ROUND_HALF_UP
"""The platform's rounding rule for computed amounts: half a fen and more goes up (四舍五入)."""


class InvalidAmount(InvalidInput):
    code = "invalid_amount"
    default_message = N_("The amount is not valid.")


_MONEY = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?", re.ASCII)


def parse_money(text: str, *, field: str) -> Decimal:
    """An amount in yuan typed by a person: ``1234``, ``1,234.50``, ``¥1234``, full-width
    ``１２３``.  Refuses empty, non-numeric, negative, more than two decimals (fen) and more
    than 10^13 yuan.  Returns the amount quantized to the fen."""
    raw = unicodedata.normalize("NFKC", text or "").strip().removeprefix("¥").strip()
    if not raw:
        raise InvalidAmount(N_("Enter an amount."), field=field)
    m = _MONEY.fullmatch(raw)
    if m is None:
        raise InvalidAmount(N_("Enter the amount in yuan as a number, e.g. 1,234,567.89."), field=field)
    sign, whole, decimals = m.groups()
    value = Decimal(whole.replace(",", "") + "." + (decimals or "0"))
    if sign == "-" and value:
        raise InvalidAmount(N_("The amount cannot be negative."), field=field)
    if decimals and len(decimals) > 2:
        raise InvalidAmount(N_("An amount has at most two decimal places (fen)."), field=field)
    if value > MAX_YUAN:
        raise InvalidAmount(N_("The amount is too large (at most %(max)s)."), field=field, max=format_yuan(MAX_YUAN))
    return value.quantize(CENT)


def to_fen(amount: Decimal) -> int:
    """Yuan → integer fen, exactly; a fraction of a fen is an error, never rounded away."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount != amount.quantize(CENT):
        raise InvalidAmount(N_("An amount has at most two decimal places (fen)."))
    return int(amount.scaleb(2))


def from_fen(fen: int) -> Decimal:
    """Integer fen → yuan with exactly two decimals."""
    return Decimal(int(fen)).scaleb(-2).quantize(CENT)


def round_fen(amount: Decimal) -> Decimal:
    """A computed amount (a share, a percentage, a price derived from another) rounded to the fen by the
    platform's rule, ``ROUNDING`` (half up)."""
    return amount.quantize(CENT, rounding=ROUNDING)


def floor_fen(amount: Decimal) -> Decimal:
    """A computed cap rounded down to the fen, so that no amount at or under it exceeds the exact cap."""
    return amount.quantize(CENT, rounding=ROUND_DOWN)


def format_yuan(amount: Decimal) -> str:
    """``¥1,234,567.89`` (``-¥12.00`` when negative)."""
    q = round_fen(amount)
    return f"{'-' if q < 0 else ''}¥{abs(q):,}"


def format_fen(fen: int | None, currency: str = "CNY") -> str:
    """An amount stored in fen for people: ``¥1,234.50`` in yuan, ``USD 1,234.50`` in another currency
    (its code before the number), empty for none."""
    if fen is None:
        return ""
    if currency == "CNY":
        return format_yuan(from_fen(fen))
    amount = from_fen(fen)
    return f"{'-' if amount < 0 else ''}{currency} {abs(amount):,}"
