"""Replay: a tender's history from the audit log alone, its state recomputed from the events and
compared with the live database.  Areas declare how to fold their events (``core.area.Area.replayers``);
the application keeps them (``Actions.replayers``), so audit imports no area."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from audit.service import events_for, to_entry

Fold = Callable[[Iterable[Mapping[str, Any]], datetime], dict[str, Any]]
Snapshot = Callable[[Session, int, datetime], dict[str, Any] | None]
Diff = Callable[[Mapping[str, Any], Mapping[str, Any] | None], list[tuple[str, Any, Any]]]


@dataclass(frozen=True)
class Replayer:
    fold: Fold
    snapshot: Snapshot
    diff: Diff


@dataclass
class Replay:
    tender_id: int
    timeline: list[dict[str, Any]]
    replayed: dict[str, Any] = field(default_factory=dict)
    live: dict[str, Any] | None = None
    mismatches: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.mismatches


def replay_tender(session: Session, tender_id: int, now: datetime, *, replayers: Mapping[str, Replayer]) -> Replay:
    docs = [to_entry(row).document() for row in events_for(session, tender_id=tender_id)]
    result = Replay(tender_id=tender_id, timeline=docs)
    for replayer in replayers.values():
        replayed = replayer.fold(docs, now)
        live = replayer.snapshot(session, tender_id, now)
        result.replayed.update(replayed)
        result.live = {**(result.live or {}), **live} if live is not None else result.live
        result.mismatches.extend(replayer.diff(replayed, live))
    return result
