"""One operation, one transaction (the caller's), one audit event, filed under the area's own subject."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.service import record
from core.actor import Actor
from tests.example_area.models import Note

KIND = "example"
"""The audit subject kind the area owns: a notebook, by its number."""


def add_note(session: Session, *, actor: Actor, text: str, now: datetime, book: int = 1) -> Note:
    note = Note(book=book, text=text, created_at=now)
    session.add(note)
    session.flush()
    record(session, actor=actor, action="example.noted", object_type="example_note", object_id=note.id, now=now,
           payload={"text": text}, subject=(KIND, book))
    return note


def snapshot(session: Session, book: Any, now: datetime) -> dict[str, Any] | None:
    """A notebook as the database has it (None when it has no note), in the shape ``replay.fold`` gives."""
    texts = list(session.scalars(select(Note.text).where(Note.book == int(book)).order_by(Note.id)))
    return {"notes": texts} if texts else None
