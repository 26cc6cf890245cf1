"""A tender's state recomputed from its audit events alone (pure).

``fold(entries, now)`` replays the entry documents (audit.rules.Entry.document()) of one tender
in order and returns the same shape as tender.portal.snapshot reads from the live tables; a
supervisor diffs the two.  Each later area adds its events here as it lands.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from audit.rules import iso as audit_iso
from tender.rules import TenderFacts, derive_status


def iso(value: datetime | None) -> str | None:
    return audit_iso(value) if value is not None else None


def _when(text: str | None) -> datetime | None:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) if text else None


SUMMARY_KEYS = ("project_code", "title", "estimated_price_fen", "deposit_fen", "download_start", "download_end",
                "deadline")


def fold(entries: Iterable[Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    state: dict[str, Any] = {k: None for k in SUMMARY_KEYS}
    state.update(published_at=None, cancelled_at=None, opened_at=None, failed_at=None, documents=set(),
                 amendments=0, questions=0, answered=0, downloads=0, opening={},
                 required_documents=[])
    bids: dict[str, list[str]] = {}  # bid public id → [status, ciphertext sha256]
    for e in entries:
        action, p, at = e["action"], e["payload"], e["time"]
        if action in ("tender.created", "tender.updated"):
            state.update({k: p.get(k) for k in SUMMARY_KEYS})
            state["required_documents"] = p.get("required_documents") or []
        elif action == "tender.published":
            state.update({k: p.get(k) for k in SUMMARY_KEYS})
            state["required_documents"] = p.get("required_documents") or []
            state["published_at"] = at
        elif action == "tender.amended":
            state["amendments"] += 1
            state["deadline"] = p.get("new_deadline")
            state["download_end"] = p.get("download_end", state["download_end"])
            if p.get("document"):
                state["documents"].add(p["document"][1])
        elif action == "tender.cancelled":
            state["cancelled_at"] = at
        elif action == "document.added":
            state["documents"].add(p["sha256"])
        elif action == "document.removed":
            state["documents"].discard(p["sha256"])
        elif action == "document.downloaded":
            state["downloads"] += 1
        elif action == "question.asked":
            state["questions"] += 1
        elif action == "question.answered":
            state["answered"] += 1
        elif action == "bid.submitted":
            for old in p.get("supersedes", []):
                bids[str(old)][0] = "superseded"
            bids[e["object"]["id"]] = ["current", p["sha256"]]
        elif action == "bid.withdrawn":
            bids[e["object"]["id"]][0] = "withdrawn"
        elif action == "bid.opened":
            state["opening"][e["object"]["id"]] = f"{p['status']} {p.get('reason') or ''} {p.get('price_fen')}".strip()
        elif action == "opening.completed":
            state["opened_at" if p.get("outcome") == "opened" else "failed_at"] = at
    facts = TenderFacts(published_at=_when(state["published_at"]), cancelled_at=_when(state["cancelled_at"]),
                        deadline=_when(state["deadline"]), download_start=_when(state["download_start"]),
                        download_end=_when(state["download_end"]), opened_at=_when(state["opened_at"]),
                        failed_at=_when(state["failed_at"]))
    state["status"] = derive_status(facts, now).value
    state["documents"] = sorted(state["documents"])
    state["bids"] = {k: f"{v[0]} {v[1]}" for k, v in sorted(bids.items())}
    return state


def diff(replayed: Mapping[str, Any], live: Mapping[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """(field, from the log, in the database) for every field that differs."""
    if live is None:
        return [("tender", "in the log", "missing from the database")]
    return [(k, replayed.get(k), live.get(k)) for k in sorted(set(replayed) | set(live))
            if replayed.get(k) != live.get(k)]
