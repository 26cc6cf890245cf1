"""The bid form of a tender and lot, for a bidder who bids with a browser alone (templates/tender/bid_form.html,
static/js/bid-form.js): what the page needs to build the bid package, seal it on the bidder's own machine and
send the sealed file; and the bidder's own view of the tender (the documents it obtained, its bids with their
receipts, its opening results).

The platform never receives the package: the page packs it (``SunbidSeal.packBid``, the same bytes as
``sunbid bid pack``), seals it to the tender's opening key (``SunbidSeal.seal``, as ``bids.sealing_recipients``
names it for the server's own sealing) and uploads the sealed file through the resumable uploads
(``tender.uploads``), where the existing checks apply unchanged."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Organisation
from core.actor import Actor
from tender import bids, rules
from tender.models import Bid, Document, Download, OpeningKey, OpeningResult, Tender
from tender.service import status


@dataclass
class BidFormView:
    """What the bidder's page of one tender shows."""

    tender: Tender
    lot: int
    lots: list[int]
    organisation: Organisation
    state: rules.Status
    recipients: list[str]
    required: list[dict]
    downloads: list[tuple[Document, datetime]]
    bids: list[Bid]
    results: dict[int, OpeningResult] = field(default_factory=dict)

    @property
    def open_for_bids(self) -> bool:
        return self.state is rules.Status.PUBLISHED

    def current(self, lot: int) -> Bid | None:
        return next((b for b in self.bids if b.lot == lot and b.status == "current"), None)


def required_documents(t: Tender) -> list[dict]:
    """The documents the tender asks every bid for: [{name, types, max_mb}] (none for a tender that lists none)."""
    return [dict(d) for d in (getattr(t, "required_documents", None) or [])]


def bid_form(session: Session, *, actor: Actor, tender_id: int, lot: int, now: datetime) -> BidFormView:
    """The bidder's page of a published tender (``NotFound`` for a draft or no such tender, as for anyone else;
    an unknown lot is refused)."""
    binding = bids.package_binding(session, actor=actor, tender_id=tender_id, lot=lot)  # bidder, published, lot
    del binding
    t = session.get(Tender, tender_id)
    key = session.get(OpeningKey, t.id)
    org = session.get(Organisation, actor.organisation_id)
    downloads = session.execute(select(Document, Download.at).join(Download, Download.document_id == Document.id)
                                .where(Download.tender_id == t.id, Download.organisation_id == org.id)
                                .order_by(Download.at)).all()
    seen: dict[int, tuple[Document, datetime]] = {}
    for doc, at in downloads:
        seen.setdefault(doc.id, (doc, at))  # the first time each document was obtained
    mine = bids.own_bids(session, actor=actor, tender_id=t.id)
    results = {}
    if mine:
        results = {r.bid_id: r for r in session.scalars(select(OpeningResult).where(
            OpeningResult.bid_id.in_([b.id for b in mine])))}
    return BidFormView(tender=t, lot=lot, lots=[lt.number for lt in t.lots] or [1], organisation=org,
                       state=status(t, now), recipients=[key.recipient] if key is not None else [],
                       required=required_documents(t), downloads=list(seen.values()), bids=mine, results=results)
