"""Platform-wide business rules: company identity, working days, passwords, login
throttling and roles.

Pure module: no Flask, no database, no clock.  Every time is an argument and every
datetime is timezone-aware UTC.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

import chinese_calendar

from core.errors import N_, InvalidInput, TooManyAttempts


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
# 工作日 (working days)
# ---------------------------------------------------------------------------

def is_working_day(d: date) -> bool:
    """True when ``d`` is a working day in mainland China, following the State Council's
    holiday and make-up-day notices (国务院办公厅关于部分节假日安排的通知) as maintained by the
    ``chinese_calendar`` package.

    For years the package does not cover (before 2004, or a year whose notice is not yet
    published/packaged) this falls back to Monday–Friday: official holidays of such years
    are unknown, so periods counted there may come out a few days short.
    """
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        return d.weekday() < 5


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start`` (``start`` itself is not counted; n=0 returns
    ``start``).  Used for periods the statutes count in 工作日, e.g. deposit refunds within
    5 working days (政府采购法实施条例 art. 33) and complaint handling (实施条例 art. 61)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    d = start
    while n:
        d += timedelta(days=1)
        n -= is_working_day(d)
    return d


def working_days_between(a: date, b: date) -> int:
    """Number of working days d with a < d <= b (negative when b < a), so that
    ``working_days_between(a, add_working_days(a, n)) == n``."""
    if b < a:
        return -working_days_between(b, a)
    return sum(is_working_day(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))


# ---------------------------------------------------------------------------
# Passwords and login throttling
# ---------------------------------------------------------------------------

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256
PASSPHRASE_LENGTH = 16
"""From this length a password needs no mix of character classes."""


class WeakPassword(InvalidInput):
    code = "weak_password"
    default_message = N_("The password is too weak.")


def check_password_strength(password: str, *, username: str = "") -> None:
    """Require 10..256 characters with at least 3 of the 4 classes (lower case, upper case,
    digit, other) unless the password has 16 characters or more, and no user name inside it
    (GB/T 22239-2019 8.1.4.1: identification and password complexity)."""
    n = len(password)
    if n < PASSWORD_MIN_LENGTH:
        raise WeakPassword(N_("The password must have at least %(min)s characters."),
                           field="password", min=PASSWORD_MIN_LENGTH)
    if n > PASSWORD_MAX_LENGTH:
        raise WeakPassword(N_("The password must have at most %(max)s characters."),
                           field="password", max=PASSWORD_MAX_LENGTH)
    classes = (any(c.islower() for c in password) + any(c.isupper() for c in password)
               + any(c.isdigit() for c in password) + any(not c.isalnum() for c in password))
    if classes < 3 and n < PASSPHRASE_LENGTH:
        raise WeakPassword(
            N_("The password must mix at least three of: lower-case letters, upper-case letters, digits "
               "and other characters, or be at least %(passphrase)s characters long."),
            field="password", passphrase=PASSPHRASE_LENGTH,
        )
    if len(username) >= 3 and username.casefold() in password.casefold():
        raise WeakPassword(N_("The password must not contain the user name."), field="password")


@dataclass(frozen=True)
class ThrottlePolicy:
    """Lock an account after repeated failed logins (GB/T 22239-2019 8.1.4.1 b: 登录失败处理)."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


class AccountLocked(TooManyAttempts):
    code = "account_locked"
    default_message = N_("Too many failed sign-ins. The account is locked until %(until)s.")


def check_login_allowed(*, locked_until: datetime | None, now: datetime) -> None:
    """Refuse a sign-in attempt while the account is locked."""
    if locked_until is not None and now < locked_until:
        raise AccountLocked(until=locked_until)


def register_failure(*, failures: int, now: datetime,
                     policy: ThrottlePolicy = ThrottlePolicy()) -> tuple[int, datetime | None]:
    """New (failure count, locked_until) after a failed sign-in: reaching
    ``policy.max_failures`` locks the account for ``policy.lockout`` and resets the count."""
    failures += 1
    if failures >= policy.max_failures:
        return 0, now + policy.lockout
    return failures, None


def register_success() -> tuple[int, None]:
    """(failure count, locked_until) after a successful sign-in."""
    return 0, None


# ---------------------------------------------------------------------------
# Roles and organisations
# ---------------------------------------------------------------------------

class Role(StrEnum):
    ADMIN = "admin"
    AGENCY = "agency"
    BIDDER = "bidder"
    EXPERT = "expert"
    CUSTODIAN = "custodian"
    SUPERVISOR = "supervisor"


class OrgKind(StrEnum):
    PLATFORM = "platform"
    AGENCY = "agency"
    BIDDER = "bidder"
    EMPLOYER = "employer"


ROLE_ORG_KINDS: dict[Role, set[OrgKind]] = {
    Role.ADMIN: {OrgKind.PLATFORM},
    Role.AGENCY: {OrgKind.AGENCY},
    Role.BIDDER: {OrgKind.BIDDER},
    Role.EXPERT: {OrgKind.EMPLOYER},
    Role.CUSTODIAN: {OrgKind.PLATFORM, OrgKind.AGENCY},
    Role.SUPERVISOR: {OrgKind.PLATFORM},
}
"""Which kind of organisation a user of each role belongs to."""


class RoleOrgMismatch(InvalidInput):
    code = "role_org_mismatch"
    default_message = N_("A user with this role cannot belong to this kind of organisation.")


def check_role_org(role: Role | str, org_kind: OrgKind | str) -> None:
    """Refuse a user whose role does not fit the kind of organisation it belongs to."""
    try:
        role, org_kind = Role(role), OrgKind(org_kind)
    except ValueError:
        raise InvalidInput(N_("Unknown role %(role)s or organisation kind %(org_kind)s."),
                           field="role", role=role, org_kind=org_kind) from None
    if org_kind not in ROLE_ORG_KINDS[role]:
        raise RoleOrgMismatch(
            N_("A user with the role %(role)s cannot belong to an organisation of kind %(org_kind)s."),
            field="role", role=str(role), org_kind=str(org_kind),
        )


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
