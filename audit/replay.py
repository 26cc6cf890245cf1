"""Replay: a subject's history from the audit log alone (a tender's, or any kind an area claims), its state
recomputed from the events and compared with the live database.  Areas declare how to fold their events
(``core.area.Area.replayers``), each replayer naming the subject kind it folds; the application keeps them
(``Actions.replayers``), so audit imports no area."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from audit.rules import TENDER_KIND, subject_key
from audit.service import events_for, to_entry

Fold = Callable[[Iterable[Mapping[str, Any]], datetime], dict[str, Any]]
Snapshot = Callable[[Session, Any, datetime], dict[str, Any] | None]  # (session, the subject's id as given, now)
Diff = Callable[[Mapping[str, Any], Mapping[str, Any] | None], list[tuple[str, Any, Any]]]


@dataclass(frozen=True)
class Replayer:
    """How one part of a subject's state is recomputed: ``fold`` over the entry documents filed under the
    subject, ``snapshot`` of the live tables (None: not in the database), ``diff`` of the two.  ``kind``: the
    subject kind it folds (claimed by some area, ``core.area.check_areas``)."""

    fold: Fold
    snapshot: Snapshot
    diff: Diff
    kind: str


@dataclass
class Replay:
    kind: str
    subject_id: str
    timeline: list[dict[str, Any]]
    replayed: dict[str, Any] = field(default_factory=dict)
    live: dict[str, Any] | None = None
    mismatches: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.mismatches

    @property
    def tender_id(self) -> int | None:
        return int(self.subject_id) if self.kind == TENDER_KIND else None


def replay_subject(session: Session, kind: str, subject_id: Any, now: datetime, *,
                   replayers: Mapping[str, Replayer]) -> Replay:
    """The entries filed under ``(kind, subject_id)`` folded by every replayer of that kind and compared with
    the live state its snapshot reads (``subject_id`` is handed to the snapshots as given)."""
    kind, key = subject_key(kind, subject_id)
    docs = [to_entry(row).document() for row in events_for(session, subject=(kind, key))]
    result = Replay(kind=kind, subject_id=key, timeline=docs)
    for replayer in replayers.values():
        if replayer.kind != kind:
            continue
        replayed = replayer.fold(docs, now)
        live = replayer.snapshot(session, subject_id, now)
        result.replayed.update(replayed)
        result.live = {**(result.live or {}), **live} if live is not None else result.live
        result.mismatches.extend(replayer.diff(replayed, live))
    return result


def replay_tender(session: Session, tender_id: int, now: datetime, *, replayers: Mapping[str, Replayer]) -> Replay:
    """A tender's replay (``replay_subject(session, "tender", tender_id, ...)``)."""
    return replay_subject(session, TENDER_KIND, tender_id, now, replayers=replayers)
