"""One operation, one transaction (the caller's), one audit event."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from audit.service import record
from core.actor import Actor
from tests.example_area.models import Note


def add_note(session: Session, *, actor: Actor, text: str, now: datetime) -> Note:
    note = Note(text=text, created_at=now)
    session.add(note)
    session.flush()
    record(session, actor=actor, action="example.noted", object_type="example_note", object_id=note.id, now=now,
           payload={"text": text})
    return note
