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


# ---------------------------------------------------------------- 人民币大写

CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
CAPITAL_LIMIT = Decimal(10) ** 16
"""capital_yuan writes amounts below 10^16 yuan (亿 of 亿 is not used in amounts)."""


def _capital_group(n: int) -> str:
    """0 < n < 10^4 with 仟佰拾: one 零 for a run of zeros between digits, none for the zeros at either end."""
    out, started, zero = [], False, False
    for digit, unit in zip(f"{n:04d}", ("仟", "佰", "拾", "")):
        if digit == "0":
            zero = started
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(CAPITAL_DIGITS[int(digit)] + unit)
        started = True
    return "".join(out)


def _capital_whole(n: int) -> str:
    """0 < n < 10^16: 亿 over 万 over groups of four digits; a lower part whose leading places are empty is
    joined with one 零 (壹亿零伍佰万, 壹拾万零伍佰), a part whose leading place is filled without (壹拾万柒仟)."""
    for unit, name in ((10**8, "亿"), (10**4, "万")):
        if n >= unit:
            high, low = divmod(n, unit)
            out = _capital_whole(high) + name
            if low:
                out += ("零" if low < unit // 10 else "") + _capital_whole(low)
            return out
    return _capital_group(n)


def capital_yuan(amount: Decimal) -> str:
    """An amount in Chinese capital numerals, as a bid letter or a cheque states it (人民币大写, without the words
    人民币 before it): ``Decimal("12345678.90")`` → ``壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角整``.

    The rules of the People's Bank of China for writing amounts (支付结算办法, 附件一), with one choice where
    they allow two:

    - 壹拾 for a ten, never 拾 alone (壹拾元整, 壹拾万元整);
    - one 零 for a run of zeros between digits (陆仟零柒元), also across 万 and 亿 when the lower part's leading
      places are empty (壹拾万零伍佰元整, 壹亿零壹元整); none when its leading place is filled (壹拾万柒仟元整);
    - 零 after 元 when the units of yuan are 0 and there are 角 (壹仟陆佰捌拾元零叁角贰分, the form the rules
      list first), and when 角 is 0 and there are 分 (叁佰贰拾伍元零肆分);
    - 整 after 元 or 角 when there are no 分 (壹仟肆佰零玖元伍角整), none after 分;
    - less than one yuan without 元 (伍角整, 捌分); zero is 零元整.

    ``InvalidAmount`` for a negative amount, a fraction of a fen, not a number, or 10^16 yuan and more.
    ``static/js/bid-seal.js`` (``capitalYuan``) writes the same, and a browser test compares the two."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0 or amount >= CAPITAL_LIMIT:
        raise InvalidAmount()
    fen = to_fen(amount)
    if fen == 0:
        return "零元整"
    yuan, rest = divmod(fen, 100)
    jiao, fen_digit = divmod(rest, 10)
    out = _capital_whole(yuan) + "元" if yuan else ""
    if jiao:
        out += ("零" if yuan and yuan % 10 == 0 else "") + CAPITAL_DIGITS[jiao] + "角"
    elif fen_digit and yuan:
        out += "零"
    return out + (CAPITAL_DIGITS[fen_digit] + "分" if fen_digit else "整")


# ---------------------------------------------------------------- machine amounts and currencies

CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
"""An ISO 4217 alphabetic currency code."""
_MACHINE_AMOUNT = re.compile(r"([+-]?)(\d{1,16})(?:\.(\d{1,2}))?", re.ASCII)


def check_currency(code: str, *, field: str = "currency") -> str:
    """An ISO 4217 alphabetic code (``CNY``, ``USD``): three capital ASCII letters, else ``InvalidAmount``."""
    if not isinstance(code, str) or CURRENCY.fullmatch(code) is None:
        raise InvalidAmount(N_("The currency must be a three-letter ISO 4217 code, e.g. CNY."), field=field)
    return code


def parse_amount_fen(text: str, *, field: str = "amount") -> int:
    """An amount written by a machine (a bank statement, a payment file): ``1234.5``, ``-12.30``, ``100`` in
    yuan (or the currency's main unit) with a dot and at most two decimals, no grouping → signed integer fen.
    Anything else is ``InvalidAmount``; a third decimal is an error, never rounded away."""
    m = _MACHINE_AMOUNT.fullmatch((text or "").strip())
    if m is None:
        raise InvalidAmount(N_("The amount must be a number with at most two decimals, e.g. 1234.50."), field=field)
    sign, whole, decimals = m.groups()
    fen = int(whole) * 100 + int((decimals or "0").ljust(2, "0"))
    return -fen if sign == "-" else fen
