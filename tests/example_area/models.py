"""The example area's one table, with the area's prefix.

A real area maps its tables on ``core.db.Base`` and adds them with an Alembic migration; this one, which
exists only in the tests, keeps them on a metadata of its own so the platform's schema (and the migration
check against it) never sees it; the test creates its table in its rolled-back transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class ExampleBase(DeclarativeBase):
    pass


class Note(ExampleBase):
    __tablename__ = "example_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    book: Mapped[int] = mapped_column(Integer, default=1)  # the notebook it is in: its audit subject
    text: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))  # a blob it names (kept by the collector)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
