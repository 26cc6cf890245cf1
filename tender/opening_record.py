"""The opening record (开标记录) as a trading centre files it: the facts of the tender and of the opening,
the table of bids, who presented the key shares, the bidders' confirmations and objections.

Reading it changes nothing, but for its PDF (``issue_record_pdf``): signed and kept once per content.  What the tables keep comes from them; what only the audit log keeps (the key-share
presentations — the shares themselves are deleted once the bids are opened — and each bid's declared
validity) comes from the log's own entries, so the record and the log cannot tell different stories.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit.models import AuditEntry
from accounts.models import Organisation, User
from tender.models import Bid, OpeningObjection, OpeningResult, Tender


@dataclass
class Presentation:
    at: datetime
    position: int
    custodian: str  # display name
    username: str


@dataclass
class Response:
    at: datetime
    bidder: str
    kind: str  # confirmed | objection
    text: str
    answer: str | None
    answered_at: datetime | None


@dataclass
class RecordSheet:
    tender: Tender
    centre: str | None
    agency: Organisation
    results: list[OpeningResult]
    validity: dict[int, int | None]  # bid id → declared validity in days
    missing: dict[int, list[str]] = field(default_factory=dict)  # bid id → required documents it holds no file for
    presentations: list[Presentation] = field(default_factory=list)
    opened_at: datetime | None = None
    opened_by: str | None = None  # display name of the agency staff who ran the opening
    outcome: str | None = None  # opened | failed
    shares_used: list[int] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)


def _entries(session: Session, tender_id: int, *actions: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.tender_id == tender_id,
                                                         AuditEntry.action.in_(actions)).order_by(AuditEntry.seq)))


def record_sheet(session: Session, tender: Tender, results: list[OpeningResult]) -> RecordSheet:
    users: dict[int, User] = {}

    def user(user_id: int | None) -> User | None:
        if user_id is None:
            return None
        if user_id not in users:
            users[user_id] = session.get(User, user_id)
        return users[user_id]

    centre = session.scalar(select(Organisation.name).where(Organisation.kind == "platform")
                            .order_by(Organisation.id).limit(1))
    sheet = RecordSheet(tender=tender, centre=centre, agency=session.get(Organisation, tender.agency_id),
                        results=results, validity={})
    # bid.opened names the bid by its public id (older logs: by its number)
    bid_ids = dict(session.execute(select(Bid.public_id, Bid.id).where(Bid.tender_id == tender.id)).all())
    for e in _entries(session, tender.id, "opening.share_presented", "bid.opened", "opening.completed"):
        payload: dict[str, Any] = json.loads(e.payload)
        if e.action == "opening.share_presented":
            who = user(e.actor_id)
            sheet.presentations.append(Presentation(at=e.at, position=payload.get("position"), username=e.actor,
                                                    custodian=who.display_name if who else e.actor))
        elif e.action == "bid.opened":
            bid_id = bid_ids.get(e.object_id)
            if bid_id is None and e.object_id.isdigit():
                bid_id = int(e.object_id)
            if bid_id is not None:
                sheet.validity[bid_id] = payload.get("validity_days")
                if payload.get("missing_documents"):
                    sheet.missing[bid_id] = list(payload["missing_documents"])
        else:
            who = user(e.actor_id)
            sheet.opened_at, sheet.outcome = e.at, payload.get("outcome")
            sheet.opened_by = who.display_name if who else e.actor
            sheet.shares_used = list(payload.get("shares_used") or [])
    if sheet.opened_at is None:
        sheet.opened_at = tender.opened_at or tender.failed_at
    names = {r.credit_code: r.bidder_name for r in results}
    for row in session.scalars(select(OpeningObjection).where(OpeningObjection.tender_id == tender.id)
                               .order_by(OpeningObjection.id)):
        org = session.get(Organisation, row.organisation_id)
        bidder = names.get(org.credit_code or "", org.name) if org else ""
        sheet.responses.append(Response(at=row.raised_at, bidder=bidder, kind=row.kind, text=row.text,
                                        answer=row.answer, answered_at=row.answered_at))
    return sheet


RECORD_KIND = "opening_record"


def issue_record_pdf(session: Session, *, actor, tender: Tender, page: Callable[[datetime | None], str],
                     to_pdf: Callable[[str], bytes], settings, blobs, now: datetime, reason: str) -> bytes:
    """The opening record as a PDF signed by the platform (``audit.documents``): ``page(issued_at)`` is its
    printed HTML, ``page(None)`` the same less the time of issue, which identifies its content.  Issued once per
    content, with the audit action ``opening.record_issued`` (the PDF's SHA-256 and size) in the same
    transaction; later requests for it get the same bytes.  A second request racing the first gets the
    document the first one kept."""
    from audit.service import record
    from audit import documents

    subject = ("tender", tender.id)
    source = documents.source_of(page(None))
    for attempt in (1, 2):
        try:
            with session.begin_nested():
                issued = documents.issue(session, kind=RECORD_KIND, subject=subject, source=source,
                                         render=lambda: to_pdf(page(now)), reason=reason, settings=settings,
                                         blobs=blobs, now=now)
                if issued.new:
                    record(session, actor=actor, action="opening.record_issued", object_type="document",
                           object_id=issued.document.id, now=now, tender_id=tender.id, payload=issued.payload())
            return issued.pdf
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
