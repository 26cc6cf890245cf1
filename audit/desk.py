"""What the audit log gives the desks (``/desk``): the latest entries of some actions, for a panel that shows
what changed lately with a link to each entry."""
from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditEntry


@dataclass(frozen=True)
class Recent:
    """One entry as a desk shows it: its sequence number (the audit log's page of it), time, action, actor and
    role, object and payload."""

    seq: int
    at: Any
    action: str
    actor: str
    role: str
    object_type: str
    object_id: str
    payload: dict[str, Any]


def recent_entries(session: Session, *, actions: Collection[str], limit: int = 10) -> list[Recent]:
    """The ``limit`` latest entries of ``actions``, the latest first (one query, on the action's index).  The
    caller shows them only to readers who may read them in full (supervisors)."""
    if not actions:
        return []
    rows = session.scalars(select(AuditEntry).where(AuditEntry.action.in_(sorted(actions)))
                           .order_by(AuditEntry.seq.desc()).limit(limit))
    return [Recent(r.seq, r.at, r.action, r.actor, r.role, r.object_type, r.object_id, json.loads(r.payload or "{}"))
            for r in rows]
