"""The platform clock.  Every rule gets ``now`` from here, never from ``datetime.now``.

Tests and the sandbox replace it: ``FrozenClock`` stands still until moved.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from threading import Lock


class Clock:
    """Wall clock in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that only moves when told to (tests, replays)."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)
        self._lock = Lock()

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._at += delta
            return self._at


def as_utc(value: datetime | None) -> datetime | None:
    """Database drivers may hand back naive datetimes (SQLite): they are UTC by convention."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
