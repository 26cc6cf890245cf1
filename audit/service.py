"""Appending to the audit log, inside the caller's transaction.

``record`` is called by every area's services in the same session as the change it
records, so a change without its event cannot commit.  The single ``audit_head`` row is
locked (SELECT … FOR UPDATE on PostgreSQL; SQLite serialises writers) so sequence numbers
are gapless and follow commit order.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditEntry, AuditHead
from audit.rules import GENESIS, Entry, jsonable, verify_chain
from core.actor import Actor


def record(session: Session, *, actor: Actor, action: str, object_type: str, object_id: Any,
           now: datetime, payload: Mapping[str, Any] | None = None,
           tender_id: int | None = None) -> AuditEntry:
    session.flush()  # the change being recorded must be valid before it is logged
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    entry = Entry(seq=head.seq + 1, at=now, actor_id=actor.user_id, actor=actor.name, role=actor.role,
                  address=actor.address, action=action, object_type=object_type, object_id=str(object_id),
                  payload=dict(payload or {}), prev_hash=head.hash)
    digest = entry.hash()
    row = AuditEntry(seq=entry.seq, at=now, actor_id=actor.user_id, actor=actor.name, role=actor.role,
                     address=actor.address, action=action, object_type=object_type,
                     object_id=str(object_id), tender_id=tender_id,
                     payload=json.dumps(jsonable(entry.payload), ensure_ascii=False, sort_keys=True),
                     prev_hash=head.hash, hash=digest)
    head.seq, head.hash = entry.seq, digest
    session.add(row)
    session.flush()
    return row


def to_entry(row: AuditEntry) -> Entry:
    return Entry(seq=row.seq, at=row.at, actor_id=row.actor_id, actor=row.actor, role=row.role,
                 address=row.address, action=row.action, object_type=row.object_type,
                 object_id=row.object_id, payload=json.loads(row.payload), prev_hash=row.prev_hash)


def iter_entries(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.execute(select(AuditEntry).where(AuditEntry.seq > last)
                               .order_by(AuditEntry.seq).limit(batch)).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(session: Session) -> int:
    """Recompute the whole chain from the database; raise audit.rules.ChainBroken on tampering."""
    return verify_chain((to_entry(r), r.hash) for r in iter_entries(session))


def events_for(session: Session, *, tender_id: int) -> list[AuditEntry]:
    return list(session.execute(select(AuditEntry).where(AuditEntry.tender_id == tender_id)
                                .order_by(AuditEntry.seq)).scalars())
