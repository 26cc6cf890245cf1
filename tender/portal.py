"""What the public asks of the tenders, and the pages' lists: search, regions, key figures, the public form of a
tender, the tenders awaiting their opening; and the live state the audit replay is compared with."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core import money
from core.actor import Actor
from core.roles import SUPERVISING, Role
from tender import rules
from tender.custody import opening_key_dict
from tender.inputs import CATEGORIES
from tender.models import Bid, Download, OpeningResult, Tender
from tender.service import facts, settings_of, status


def status_clause(value: str, now: datetime):
    """SQL twin of rules.derive_status, for filtering lists (tested against it)."""
    not_cancelled = or_(Tender.cancelled_at.is_(None), Tender.cancelled_at > now)
    published = and_(Tender.published_at.is_not(None), not_cancelled)
    failed = and_(Tender.failed_at.is_not(None), Tender.failed_at <= now)
    opened = and_(Tender.opened_at.is_not(None), Tender.opened_at <= now)
    not_ended = and_(or_(Tender.failed_at.is_(None), Tender.failed_at > now),
                     or_(Tender.opened_at.is_(None), Tender.opened_at > now))
    return {
        "draft": and_(or_(Tender.published_at.is_(None), Tender.published_at > now), not_cancelled),
        "published": and_(published, Tender.published_at <= now, not_ended, Tender.deadline > now),
        "closed": and_(published, Tender.published_at <= now, not_ended, Tender.deadline <= now),
        "opened": and_(published, Tender.published_at <= now, opened, or_(Tender.failed_at.is_(None),
                                                                          Tender.failed_at > now)),
        "failed": and_(published, Tender.published_at <= now, failed),
        "cancelled": and_(Tender.cancelled_at.is_not(None), Tender.cancelled_at <= now),
    }.get(value)


@dataclass(frozen=True)
class Page:
    items: list[Tender]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def search_public(session: Session, *, now: datetime, q: str = "", category: str = "", region: str = "",
                  status_filter: str = "", page: int = 1, per_page: int = 20,
                  agency_id: int | None = None, order: str = "published",
                  deadline_before: datetime | None = None) -> Page:
    """Published tenders for the public (drafts never; an agency's own drafts with ``agency_id``), the latest
    published first, or with ``order="deadline"`` the soonest deadline first; ``deadline_before`` keeps those
    whose deadline is earlier."""
    stmt = select(Tender)
    if agency_id is None:
        stmt = stmt.where(Tender.published_at.is_not(None))
    else:
        stmt = stmt.where(Tender.agency_id == agency_id)
    if q:
        like = f"%{q.strip()[:100]}%"
        stmt = stmt.where(or_(Tender.title.ilike(like), Tender.project_code.ilike(like),
                              Tender.description.ilike(like)))
    if category in CATEGORIES:
        stmt = stmt.where(Tender.category == category)
    if region:
        stmt = stmt.where(Tender.region == region[:100])
    clause = status_clause(status_filter, now)
    if clause is not None:
        stmt = stmt.where(clause)
    if deadline_before is not None:
        stmt = stmt.where(Tender.deadline < deadline_before)
    per_page = min(max(per_page, 1), 100)
    page = max(page, 1)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    by = ((Tender.deadline.asc(), Tender.id.asc()) if order == "deadline"
          else (Tender.published_at.desc().nulls_first(), Tender.id.desc()))
    items = session.scalars(stmt.order_by(*by)
                            .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), total, page, per_page)


def regions(session: Session) -> list[str]:
    return list(session.scalars(select(Tender.region).where(Tender.published_at.is_not(None))
                                .distinct().order_by(Tender.region)))


def key_figures(session: Session, now: datetime) -> dict[str, Any]:
    published = Tender.published_at.is_not(None)
    open_clause = status_clause("published", now)
    return {
        "published": session.scalar(select(func.count()).where(published)) or 0,
        "open": session.scalar(select(func.count()).where(open_clause)) or 0,
        "open_value_fen": session.scalar(select(func.coalesce(func.sum(Tender.estimated_price_fen), 0))
                                         .where(open_clause)) or 0,
        "agencies": session.scalar(select(func.count(func.distinct(Tender.agency_id))).where(published)) or 0,
    }


def public_dict(t: Tender, now: datetime, *, detail: bool = False) -> dict[str, Any]:
    """The public JSON form of a tender (never who downloaded or who asked)."""
    out: dict[str, Any] = {
        "id": t.id, "project_code": t.project_code, "title": t.title, "regime": t.regime,
        "category": t.category, "region": t.region, "status": status(t, now).value, "currency": t.currency,
        "estimated_price": str(money.from_fen(t.estimated_price_fen)),
        "deposit": str(money.from_fen(t.deposit_fen)),
        "published_at": t.published_at.isoformat() if t.published_at else None,
        "download_start": t.download_start.isoformat(), "download_end": t.download_end.isoformat(),
        "deadline": t.deadline.isoformat(),
        "cancelled_at": t.cancelled_at.isoformat() if t.cancelled_at else None,
    }
    if detail:
        out.update({
            "description": t.description, "qualification": t.qualification,
            "evaluation_method": t.evaluation_method, "cancel_reason": t.cancel_reason or None,
            "opening_key": opening_key_dict(t),
            "rules": {**rules.settings_to_dict(settings_of(t)),
                      "departures_from_defaults": rules.departures_from_defaults(settings_of(t))},
            "lots": [{"number": lot.number, "name": lot.name,
                      "estimated_price": str(money.from_fen(lot.estimated_price_fen))} for lot in t.lots],
            "documents": [{"id": d.id, "filename": d.filename, "content_type": d.content_type, "size": d.size,
                           "sha256": d.sha256} for d in t.documents],
            "required_documents": t.required_documents,
            "amendments": [{"number": a.number, "text": a.text, "published_at": a.published_at.isoformat(),
                            "old_deadline": a.old_deadline.isoformat(), "new_deadline": a.new_deadline.isoformat()}
                           for a in t.amendments],
            "questions": [{"id": q.id, "text": q.text, "asked_at": q.asked_at.isoformat(), "answer": q.answer,
                           "answered_at": q.answered_at.isoformat() if q.answered_at else None}
                          for q in t.questions if q.answer is not None],
        })
    return out


def snapshot(session: Session, tender_id: int, now: datetime) -> dict[str, Any] | None:
    """The live state of a tender in the shape tender.replay recomputes from the audit log alone."""
    t = session.get(Tender, tender_id)
    if t is None:
        return None
    from tender.replay import iso

    return {
        "project_code": t.project_code, "title": t.title, "estimated_price_fen": t.estimated_price_fen,
        "deposit_fen": t.deposit_fen, "download_start": iso(t.download_start), "download_end": iso(t.download_end),
        "deadline": iso(t.deadline), "published_at": iso(t.published_at), "cancelled_at": iso(t.cancelled_at),
        "opened_at": iso(t.opened_at), "failed_at": iso(t.failed_at),
        "opening": {public_id: f"{r.status} {r.reason or ''} {r.price_fen}".strip() for r, public_id in session.execute(
            select(OpeningResult, Bid.public_id).join(Bid, Bid.id == OpeningResult.bid_id)
            .where(OpeningResult.tender_id == t.id).order_by(Bid.public_id))},
        "status": status(t, now).value, "documents": sorted(d.sha256 for d in t.documents),
        "required_documents": [[d["name"], d["types"], d["max_mb"]] for d in t.required_documents],
        "amendments": len(t.amendments), "questions": len(t.questions),
        "answered": sum(1 for q in t.questions if q.answer is not None),
        "downloads": session.scalar(select(func.count()).where(Download.tender_id == t.id)) or 0,
        "bids": {b.public_id: f"{b.status} {b.sha256}" for b in session.scalars(
            select(Bid).where(Bid.tender_id == t.id).order_by(Bid.public_id))},
    }


def days_unopened(t: Tender, now: datetime) -> int | None:
    """Days since the deadline of a tender that should have been opened by now (rules.days_unopened_past_deadline)."""
    return rules.days_unopened_past_deadline(facts(t), now)


def overdue_openings(session: Session, *, actor: Actor, now: datetime, limit: int = 10) -> list[Tender]:
    """Tenders awaiting their opening a day or more after the deadline, the oldest first: every one for a
    supervisor, the agency's own for agency staff, none for anyone else."""
    if actor.role not in SUPERVISING and actor.role != Role.AGENCY:
        return []
    page = search_public(session, now=now, status_filter="closed", order="deadline", per_page=limit,
                         deadline_before=now - rules.OPENING_OVERDUE_AFTER,
                         agency_id=actor.organisation_id if actor.role == Role.AGENCY else None)
    return page.items
