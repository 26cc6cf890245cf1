"""Rules every area needs: aware UTC times, whole numbers and times as they arrive from outside, and the
unified social credit code (working days are in ``core.calendar``, money in ``core.money``, roles in
``core.roles``; the accounts' own rules are in ``accounts.rules``).

Pure module: no Flask, no database, no clock.  Every time is an argument and every
datetime is timezone-aware UTC.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime, timezone

from core.errors import N_, InvalidInput


def require_aware(value: datetime, field: str) -> datetime:
    """Refuse a naive datetime: the platform stores and compares UTC instants only."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(N_("The time %(value)s has no time zone."), field=field, value=value)
    return value


def format_utc(value: datetime) -> str:
    """A time for an error message parameter (messages are formatted without a locale)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------------------
# 统一社会信用代码 (unified social credit code), GB 32100-2015
# ---------------------------------------------------------------------------

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of GB 32100-2015 (I, O, S, V and Z are never used); value = index."""

CREDIT_CODE_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
"""Weights of positions 1..17: 3^(i-1) mod 31 (GB 32100-2015, 5.2 and annex B)."""


class InvalidCreditCode(InvalidInput):
    code = "invalid_credit_code"
    default_message = N_("The unified social credit code is not valid.")


def _credit_chars(text: str, length: int) -> str:
    text = unicodedata.normalize("NFKC", text).strip().upper()
    if len(text) != length:
        raise InvalidCreditCode(
            N_("The unified social credit code must have %(expected)s characters; %(length)s were given."),
            field="credit_code", expected=length, length=len(text),
        )
    bad = "".join(sorted({c for c in text if c not in CREDIT_CODE_ALPHABET}))
    if bad:
        raise InvalidCreditCode(
            N_("The unified social credit code contains characters that are never used in it: %(chars)s "
               "(only digits and capital letters other than I, O, S, V and Z)."),
            field="credit_code", chars=bad,
        )
    return text


def credit_code_check_char(first17: str) -> str:
    """Check character of a credit code body (GB 32100-2015 annex B):
    C18 = (31 - sum(value_i * weight_i) mod 31) mod 31, mapped back to the alphabet."""
    body = _credit_chars(first17, 17)
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(body, CREDIT_CODE_WEIGHTS))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def make_credit_code(first17: str) -> str:
    """A valid 18-character code from a 17-character body (demo and test data)."""
    body = _credit_chars(first17, 17)
    return body + credit_code_check_char(body)


def validate_credit_code(code: str) -> str:
    """Validate a 统一社会信用代码 (GB 32100-2015) and return it normalised
    (surrounding whitespace removed, full-width characters folded, upper case)."""
    code = _credit_chars(code, 18)
    if credit_code_check_char(code[:17]) != code[17]:
        raise InvalidCreditCode(
            N_("The unified social credit code %(code)s is not valid: its check character does not match. "
               "Please copy it again from the business licence."),
            field="credit_code", code=code,
        )
    return code


# ---------------------------------------------------------------------------
# Numbers and times as they arrive from outside (URLs, query strings, forms)
# ---------------------------------------------------------------------------

MAX_ID = 2**31 - 1
"""The largest id every backend's integer columns hold (PostgreSQL INTEGER; SQLite's go further)."""

EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)
"""The times a person may type: a tender's dates fall in this century, and arithmetic on them
(periods of days added, time zones applied) never leaves what a datetime can hold."""


class InvalidNumber(InvalidInput):
    code = "invalid_number"
    default_message = N_("%(name)s must be a whole number from %(min)s to %(max)s.")


def whole_number(text: str | None, *, field: str, minimum: int = 0, maximum: int = MAX_ID,
                 default: int | None = None) -> int:
    """A whole number typed in a URL or a form: ASCII digits only (``²``, ``٣`` and ``1e3`` are not
    numbers here), no sign, within ``minimum``..``maximum``.  Empty or absent gives ``default``
    (refused when there is none)."""
    raw = (text or "").strip()
    if not raw and default is not None:
        return default
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > len(str(maximum)) \
            or not minimum <= int(raw) <= maximum:
        raise InvalidNumber(field=field, name=field, min=minimum, max=maximum)
    return int(raw)


class TimeOutOfRange(InvalidInput):
    code = "time_out_of_range"
    default_message = N_("Enter a date from 2000 to 2099.")


def bounded_time(value: datetime, *, field: str) -> datetime:
    """An aware datetime within EARLIEST..LATEST, else a refusal naming the field."""
    require_aware(value, field)
    try:
        inside = EARLIEST <= value.astimezone(timezone.utc) < LATEST
    except OverflowError:
        inside = False
    if not inside:
        raise TimeOutOfRange(field=field)
    return value
