"""The tender documents handed out: a bidder's download, counted and logged, and what an actor may know of
who downloaded (电子招标投标办法 arts. 20–21)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.models import Organisation
from audit.service import record
from core.actor import Actor
from core.errors import N_, NotFound, PermissionDenied
from core.roles import Role
from tender import policy, rules
from tender.models import Document, Download, Tender
from tender.service import facts, get_tender


def download_document(session: Session, *, actor: Actor, tender_id: int, document_id: int,
                      now: datetime) -> Document:
    """Hand out a document.  Any logged-in bidder may download within the window, no sign-up
    (电子招标投标办法 art. 20); each bidder download is recorded.  The owning agency and
    supervisors may read their files at any time without being counted."""
    t = get_tender(session, actor, tender_id)
    doc = session.get(Document, document_id)
    if doc is None or doc.tender_id != t.id:
        raise NotFound()
    if actor.role == Role.BIDDER:
        rules.check_can_download(facts(t), now)
        session.add(Download(tender_id=t.id, document_id=doc.id, organisation_id=actor.organisation_id,
                             user_id=actor.user_id, at=now))
        record(session, actor=actor, action="document.downloaded", object_type="document", object_id=doc.id,
               now=now, tender_id=t.id, payload={"sha256": doc.sha256})
    elif not policy.reads_documents_uncounted(actor, t):
        raise PermissionDenied(N_("Only bidders can download tender documents."))
    return doc


@dataclass
class DownloadView:
    """What an actor may know of the downloads: always the count; names only when allowed."""

    count: int
    organisations: list[tuple[str, str | None, datetime]] | None = field(default=None)


def downloads_for(session: Session, actor: Actor, t: Tender, now: datetime) -> DownloadView | None:
    """Agency staff see counts before the deadline and names after it (电子招标投标办法 art. 21); supervisors
    always see names; administrators see names after the deadline and nothing before it (running the
    platform is no reason to know who is bidding); a bidder learns nothing of the others."""
    visible = rules.downloaders_visible(facts(t), now)
    if not policy.may_see_downloads(actor, t, names_visible=visible):
        return None
    count = session.scalar(select(func.count(func.distinct(Download.organisation_id)))
                           .where(Download.tender_id == t.id)) or 0
    if policy.may_see_downloader_names(actor, t, names_visible=visible):
        rows = session.execute(
            select(Organisation.name, Organisation.credit_code, func.min(Download.at))
            .join(Organisation, Organisation.id == Download.organisation_id)
            .where(Download.tender_id == t.id).group_by(Organisation.id, Organisation.name, Organisation.credit_code)
            .order_by(func.min(Download.at))).all()
        return DownloadView(count, [(r[0], r[1], r[2]) for r in rows])
    return DownloadView(count)


def has_downloaded(session: Session, *, organisation_id: int, tender_id: int) -> bool:
    return bool(session.scalar(select(func.count()).where(Download.tender_id == tender_id,
                                                          Download.organisation_id == organisation_id)))
