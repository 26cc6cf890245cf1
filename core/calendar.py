"""Working days (工作日) in mainland China: the holiday calendar and arithmetic on it.

Pure module: no Flask, no database, no clock.  The statutes count some periods in working days
(deposit refunds, complaint handling); every area that counts them uses this module.
"""
from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


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
