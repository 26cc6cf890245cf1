"""Tender use cases: draft, publish, amend, cancel, documents, downloads, questions.

Each public function is one business operation: it checks the actor and the object,
calls the pure rules in tender.rules with an explicit ``now``, changes rows and appends
its audit event in the caller's transaction.  Queries that depend on who is asking
(drafts, downloaders, askers) apply the object-level checks here, not only in views.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from audit.service import record
from core import money
from core.actor import Actor
from core.blobs import BlobStore
from core.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied
from accounts.models import Organisation
from core.roles import SUPERVISING
from core.rules import bounded_time, whole_number
from tender import policy, rules
from tender.models import (Amendment, Bid, Document, Download, KeyShare, Lot, OpeningKey, OpeningResult, Question,
                           Tender)

REGIMES = ("works", "procurement")
CATEGORIES = ("works", "goods", "services")
METHODS = ("comprehensive", "lowest_price")
PROJECT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,39}$")


@dataclass(frozen=True)
class LotInput:
    name: str
    estimated_price: Decimal


@dataclass(frozen=True)
class TenderInput:
    title: str
    regime: str
    category: str
    region: str
    estimated_price: Decimal
    deposit: Decimal
    download_start: datetime
    download_end: datetime
    deadline: datetime
    project_code: str = ""
    description: str = ""
    qualification: str = ""
    evaluation_method: str = "comprehensive"
    lots: tuple[LotInput, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)  # overrides of the legal defaults


SETTING_FIELDS = ("min_issue_days", "min_download_days", "amendment_notice_days", "deposit_cap_percent", "min_bids")


def _text(data: Mapping[str, Any], name: str, *, max_len: int, required: bool = True) -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        raise InvalidInput(N_("This field is required."), field=name)
    if len(value) > max_len:
        raise InvalidInput(N_("At most %(n)s characters."), field=name, n=max_len)
    return value


def _choice(data: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = str(data.get(name) or "").strip()
    if value not in choices:
        raise InvalidInput(N_("Choose one of the offered values."), field=name)
    return value


def _when(data: Mapping[str, Any], name: str, tz: ZoneInfo) -> datetime:
    raw = data.get(name)
    if isinstance(raw, datetime):
        value = raw
    else:
        text = str(raw or "").strip()
        if not text:
            raise InvalidInput(N_("This field is required."), field=name)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(N_("Not a valid date and time (expected YYYY-MM-DD HH:MM)."), field=name) from None
    return bounded_time(value if value.tzinfo else value.replace(tzinfo=tz), field=name)


def parse_tender_input(data: Mapping[str, Any], *, tz: ZoneInfo) -> TenderInput:
    """Turn form fields or API JSON into a TenderInput; every refusal names its field.

    Lots come as ``lots`` (list of {name, estimated_price}) or form rows ``lot_name_N``/``lot_price_N``.
    With lots and no estimated price, the estimate is their sum.
    """
    lots: list[LotInput] = []
    raw_lots = data.get("lots")
    if isinstance(raw_lots, list):
        rows = [(str(r.get("name") or ""), str(r.get("estimated_price") or "")) for r in raw_lots
                if isinstance(r, Mapping)]
    else:
        rows = [(str(data.get(f"lot_name_{i}") or ""), str(data.get(f"lot_price_{i}") or "")) for i in range(1, rules.MAX_LOTS + 1)]
    for i, (name, price) in enumerate(rows, start=1):
        if not name.strip() and not price.strip():
            continue
        if not name.strip():
            raise InvalidInput(N_("Each lot needs a name."), field=f"lot_name_{i}")
        if len(name.strip()) > 200:
            raise InvalidInput(N_("At most %(n)s characters."), field=f"lot_name_{i}", n=200)
        lots.append(LotInput(name.strip(), money.parse_money(price, field=f"lot_price_{i}")))
    if len(lots) > rules.MAX_LOTS:
        raise InvalidInput(N_("A tender has at most %(n)s lots."), field="lots", n=rules.MAX_LOTS)
    estimate_text = str(data.get("estimated_price") or "").strip()
    if not estimate_text and lots:
        estimate = sum((lot.estimated_price for lot in lots), Decimal("0"))
    else:
        estimate = money.parse_money(estimate_text, field="estimated_price")
    deposit_text = str(data.get("deposit") or "0").strip()
    overrides: dict[str, Any] = {}
    for name in SETTING_FIELDS:
        text = str(data.get(name) if data.get(name) is not None else "").strip()
        if not text:
            continue
        if name != "deposit_cap_percent":
            overrides[name] = whole_number(text, field=name, maximum=rules.MAX_PERIOD_DAYS)
            continue
        try:
            overrides[name] = Decimal(text)
        except (ValueError, ArithmeticError):
            raise InvalidInput(N_("Enter a number."), field=name) from None
        if not overrides[name].is_finite():
            raise InvalidInput(N_("Enter a number."), field=name)
    return TenderInput(
        title=_text(data, "title", max_len=200),
        project_code=_text(data, "project_code", max_len=40, required=False),
        regime=_choice(data, "regime", REGIMES),
        category=_choice(data, "category", CATEGORIES),
        region=_text(data, "region", max_len=100),
        description=_text(data, "description", max_len=20000, required=False),
        qualification=_text(data, "qualification", max_len=20000, required=False),
        evaluation_method=_choice({"m": data.get("evaluation_method") or "comprehensive"}, "m", METHODS),
        estimated_price=estimate,
        deposit=money.parse_money(deposit_text, field="deposit"),
        download_start=_when(data, "download_start", tz),
        download_end=_when(data, "download_end", tz),
        deadline=_when(data, "deadline", tz),
        lots=tuple(lots),
        settings=overrides,
    )


# ---------------------------------------------------------------- helpers

def facts(t: Tender) -> rules.TenderFacts:
    return rules.TenderFacts(published_at=t.published_at, cancelled_at=t.cancelled_at, deadline=t.deadline,
                             download_start=t.download_start, download_end=t.download_end,
                             opened_at=t.opened_at, failed_at=t.failed_at)


def status(t: Tender, now: datetime) -> rules.Status:
    return rules.derive_status(facts(t), now)


def days_unopened(t: Tender, now: datetime) -> int | None:
    """Days since the deadline of a tender that should have been opened by now (rules.days_unopened_past_deadline)."""
    return rules.days_unopened_past_deadline(facts(t), now)


def overdue_openings(session: Session, *, actor: Actor, now: datetime, limit: int = 10) -> list[Tender]:
    """Tenders awaiting their opening a day or more after the deadline, the oldest first: every one for a
    supervisor, the agency's own for agency staff, none for anyone else."""
    if actor.role not in SUPERVISING and actor.role != "agency":
        return []
    page = search_public(session, now=now, status_filter="closed", order="deadline", per_page=limit,
                         deadline_before=now - rules.OPENING_OVERDUE_AFTER,
                         agency_id=actor.organisation_id if actor.role == "agency" else None)
    return page.items


def settings_of(t: Tender) -> rules.RuleSettings:
    return rules.settings_from_dict(json.loads(t.settings or "{}"))


def get_tender(session: Session, actor: Actor, tender_id: int, *, for_update: bool = False) -> Tender:
    """A tender the actor may see: drafts only by their agency and supervisors; otherwise 404."""
    stmt = select(Tender).where(Tender.id == tender_id)
    if for_update:
        stmt = stmt.with_for_update()
    t = session.scalar(stmt)
    if t is None or not policy.may_see_tender(actor, t):
        raise NotFound()
    return t


def _owned(session: Session, actor: Actor, tender_id: int) -> Tender:
    """A tender the actor's agency runs, locked for the change; anyone else gets 404."""
    t = session.scalar(select(Tender).where(Tender.id == tender_id).with_for_update())
    if t is None or not policy.owns_tender(actor, t):
        raise NotFound()
    return t


def _apply(t: Tender, data: TenderInput, settings: rules.RuleSettings) -> None:
    rules.check_deposit(estimate=data.estimated_price, deposit=data.deposit, settings=settings)
    if data.lots and sum((lot.estimated_price for lot in data.lots), Decimal(0)) != data.estimated_price:
        raise InvalidInput(N_("The lots' estimated prices must add up to the tender's estimated price."),
                           field="estimated_price")
    rules.check_draft_schedule(rules.Schedule(data.download_start, data.download_end, data.deadline))
    t.title, t.regime, t.category, t.region = data.title, data.regime, data.category, data.region
    t.description, t.qualification, t.evaluation_method = data.description, data.qualification, data.evaluation_method
    t.estimated_price_fen = money.to_fen(data.estimated_price)
    t.deposit_fen = money.to_fen(data.deposit)
    t.download_start, t.download_end, t.deadline = data.download_start, data.download_end, data.deadline
    lots = data.lots or (LotInput(data.title, data.estimated_price),)
    # In place, by number: lot N stays row N (clearing and re-adding in one flush would insert the new
    # rows before deleting the old ones and hit the unique (tender_id, number)).
    for i, lot in enumerate(lots, start=1):
        if i <= len(t.lots):
            row = t.lots[i - 1]
            row.number, row.name, row.estimated_price_fen = i, lot.name, money.to_fen(lot.estimated_price)
        else:
            t.lots.append(Lot(number=i, name=lot.name, estimated_price_fen=money.to_fen(lot.estimated_price)))
    del t.lots[len(lots):]


def _next_project_code(session: Session, now: datetime) -> str:
    n = (session.scalar(select(func.count()).select_from(Tender)) or 0) + 1
    while True:
        code = f"SB-{now.year}-{n:05d}"
        if not session.scalar(select(func.count()).where(Tender.project_code == code)):
            return code
        n += 1


def _summary(t: Tender) -> dict[str, Any]:
    return {"project_code": t.project_code, "title": t.title, "estimated_price_fen": t.estimated_price_fen,
            "deposit_fen": t.deposit_fen, "download_start": t.download_start, "download_end": t.download_end,
            "deadline": t.deadline, "lots": [[lot.number, lot.name, lot.estimated_price_fen] for lot in t.lots]}


# ---------------------------------------------------------------- operations

def create_tender(session: Session, *, actor: Actor, data: TenderInput, now: datetime,
                  accelerator: int = 1) -> Tender:
    if actor.role != "agency" or actor.organisation_id is None:
        raise PermissionDenied()
    settings = rules.settings_from_dict({**data.settings, "accelerator": accelerator})
    code = data.project_code or _next_project_code(session, now)
    if not PROJECT_CODE.match(code):
        raise InvalidInput(N_("Project codes are 3–40 letters, digits, dots, dashes or underscores."),
                           field="project_code")
    if session.scalar(select(func.count()).where(Tender.project_code == code)):
        raise Conflict(N_("A tender with this project code already exists."), field="project_code")
    t = Tender(project_code=code, agency_id=actor.organisation_id, created_by=actor.user_id, created_at=now,
               settings=json.dumps(rules.settings_to_dict(settings)), currency="CNY", version=1)
    _apply(t, data, settings)
    session.add(t)
    session.flush()
    record(session, actor=actor, action="tender.created", object_type="tender", object_id=t.id, now=now,
           tender_id=t.id, payload=_summary(t))
    return t


def update_tender(session: Session, *, actor: Actor, tender_id: int, data: TenderInput, now: datetime) -> Tender:
    t = _owned(session, actor, tender_id)
    rules.check_can_edit(facts(t), now)
    settings = rules.settings_from_dict({**data.settings, "accelerator": settings_of(t).accelerator})
    t.settings = json.dumps(rules.settings_to_dict(settings))
    if data.project_code and data.project_code != t.project_code:
        raise InvalidInput(N_("The project code cannot be changed."), field="project_code")
    _apply(t, data, settings)
    t.version += 1
    session.flush()
    record(session, actor=actor, action="tender.updated", object_type="tender", object_id=t.id, now=now,
           tender_id=t.id, payload=_summary(t))
    return t


def publish_tender(session: Session, *, actor: Actor, tender_id: int, now: datetime) -> Tender:
    t = _owned(session, actor, tender_id)
    rules.check_can_publish(facts(t), now)
    if not t.documents:
        raise InvalidInput(N_("Upload the tender documents before publishing."), field="documents")
    settings = settings_of(t)
    rules.check_deposit(estimate=money.from_fen(t.estimated_price_fen), deposit=money.from_fen(t.deposit_fen),
                        settings=settings)
    rules.check_schedule(rules.Schedule(t.download_start, t.download_end, t.deadline), now=now, settings=settings)
    if t.download_start < now:
        t.download_start = now
    t.published_at = now
    key = _make_opening_key(session, t, settings, now)
    record(session, actor=actor, action="tender.published", object_type="tender", object_id=t.id, now=now,
           tender_id=t.id, payload={**_summary(t), "documents": [[d.filename, d.sha256] for d in t.documents],
                                    "settings": rules.settings_to_dict(settings),
                                    "departures_from_defaults": rules.departures_from_defaults(settings),
                                    "opening_key": key})
    return t


def _make_opening_key(session: Session, t: Tender, settings: rules.RuleSettings, now: datetime) -> dict[str, Any]:
    """Make the tender's opening key, split it k-of-n among custodians, seal each share to its custodian's own
    age recipient, keep the public recipient and forget the identity (电子招标投标办法 art. 27).

    Custodians are the active ones whose role a supervisor approved, chosen one per organisation in turn.
    Before anything is sealed: each custodian's recipient must be the one their proven registration logged,
    verified in the audit chain (``accounts.service.verified_registration``), so a recipient written only into the
    database is refused, never used; and no organisation may hold k of the n shares
    (``rules.check_custodian_spread``).  The notice and its audit entry name each custodian and the fingerprint of their recipient."""
    from core import rules as core_rules
    from accounts.models import User
    from accounts.service import verified_registration
    from tender import sealing

    k, n = settings.opening_threshold, settings.opening_custodians
    candidates = session.scalars(select(User).where(User.role == "custodian", User.active.is_(True),
                                                    User.role_approved_at.is_not(None),
                                                    User.age_recipient.is_not(None)).order_by(User.id)).all()
    by_id = {u.id: u for u in candidates}
    custodians = [by_id[i] for i in rules.choose_custodians([(u.id, u.organisation_id) for u in candidates], n)]
    if len(custodians) < n:
        raise InvalidInput(N_("Publication needs %(n)s key custodians with a registered age recipient; "
                              "%(have)s are available."), field="custodians", n=n, have=len(custodians))
    registrations = [verified_registration(session, u) for u in custodians]
    rules.check_custodian_spread([(u.organisation_id, u.organisation.name) for u in custodians], k=k)
    key = sealing.new_opening_key()
    recipient = key.recipient
    shares = sealing.split_identity(key.identity, k=k, n=n, tender_ref=t.project_code)
    del key  # from here on the identity exists only as shares, each sealed to one custodian
    sealed, named = [], []
    for position, (custodian, share, seq) in enumerate(zip(custodians, shares, registrations, strict=True), start=1):
        blob = sealing.seal_share(share, recipient=custodian.age_recipient)
        digest = hashlib.sha256(blob).hexdigest()
        session.add(KeyShare(tender_id=t.id, custodian_id=custodian.id, position=position, sealed=blob,
                             sealed_sha256=digest, recipient=custodian.age_recipient, registration_seq=seq))
        sealed.append([position, custodian.username, digest])
        named.append({"position": position, "custodian_id": custodian.id, "name": custodian.display_name,
                      "organisation": custodian.organisation.name,
                      "recipient_fingerprint": core_rules.recipient_fingerprint(custodian.age_recipient),
                      "registration_seq": seq})
    del shares
    session.add(OpeningKey(tender_id=t.id, recipient=recipient, threshold=k, shares=n, created_at=now))
    return {"recipient": recipient, "threshold": k, "shares": sealed, "custodians": named}


def key_custodians(session: Session, tender_id: int) -> list[dict[str, Any]]:
    """Who holds the shares of a tender's opening key, for its public notice: position, custodian's name and
    organisation, and the fingerprint of the recipient the share was sealed to (``core.rules.recipient_fingerprint``)."""
    from core import rules as core_rules
    from accounts.models import User

    rows = session.execute(select(KeyShare, User).join(User, User.id == KeyShare.custodian_id)
                           .where(KeyShare.tender_id == tender_id).order_by(KeyShare.position)).all()
    return [{"position": share.position, "name": user.display_name, "organisation": user.organisation.name,
             "recipient_fingerprint": core_rules.recipient_fingerprint(share.recipient) if share.recipient else None}
            for share, user in rows]


def shares_held_by(session: Session, *, actor: Actor) -> list[tuple[KeyShare, Tender]]:
    """A custodian's own key shares, newest tender first, each with the recipient it was sealed to."""
    if actor.role != "custodian" or actor.user_id is None:
        raise NotFound()
    return [(share, tender) for share, tender in session.execute(
        select(KeyShare, Tender).join(Tender, Tender.id == KeyShare.tender_id)
        .where(KeyShare.custodian_id == actor.user_id).order_by(Tender.published_at.desc(), Tender.id.desc()))]


def amend_tender(session: Session, *, actor: Actor, tender_id: int, text: str, now: datetime,
                 requested_deadline: datetime | None = None,
                 document: tuple[str, BinaryIO, BlobStore, int] | None = None) -> Amendment:
    """Publish a clarification/amendment; a deadline closer than the notice period moves out
    (招标投标法 art. 23, 实施条例 art. 21).  The download window is extended with it."""
    t = _owned(session, actor, tender_id)
    rules.check_can_amend(facts(t), now)
    text = _text({"text": text}, "text", max_len=20000)
    settings = settings_of(t)
    new_deadline = rules.amended_deadline(now=now, deadline=t.deadline, requested_deadline=requested_deadline,
                                          settings=settings)
    number = len(t.amendments) + 1
    amendment = Amendment(tender_id=t.id, number=number, text=text, published_at=now, old_deadline=t.deadline,
                          new_deadline=new_deadline, created_by=actor.user_id)
    t.amendments.append(amendment)  # through the relationship, so a long-lived session sees it too
    session.flush()
    doc = None
    if document is not None:
        filename, stream, blobs, limit = document
        doc = _store_document(session, actor=actor, t=t, filename=filename, stream=stream, blobs=blobs,
                              limit=limit, now=now, amendment_id=amendment.id)
    t.download_end = min(t.download_end + (new_deadline - t.deadline), new_deadline)  # the window moves with it
    t.deadline = new_deadline
    t.version += 1
    session.flush()
    record(session, actor=actor, action="tender.amended", object_type="tender", object_id=t.id, now=now,
           tender_id=t.id, payload={"number": number, "text": text, "old_deadline": amendment.old_deadline,
                                    "new_deadline": new_deadline, "download_end": t.download_end,
                                    "document": [doc.filename, doc.sha256] if doc else None})
    return amendment


def cancel_tender(session: Session, *, actor: Actor, tender_id: int, reason: str, now: datetime) -> Tender:
    t = _owned(session, actor, tender_id)
    rules.check_can_cancel(facts(t), now)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(N_("Give the reason for cancelling."), field="reason")
    t.cancelled_at, t.cancel_reason = now, reason[:2000]
    record(session, actor=actor, action="tender.cancelled", object_type="tender", object_id=t.id, now=now,
           tender_id=t.id, payload={"reason": t.cancel_reason})
    return t


def _store_document(session: Session, *, actor: Actor, t: Tender, filename: str, stream: BinaryIO,
                    blobs: BlobStore, limit: int, now: datetime, amendment_id: int | None = None) -> Document:
    name = rules.safe_filename(filename or "")
    mime: dict[str, str] = {}

    def check(head: bytes) -> None:
        mime["type"] = rules.check_document(name, head)

    stored = blobs.put_stream(stream, limit=limit, check_head=check)
    doc = Document(tender_id=t.id, amendment_id=amendment_id, filename=name, content_type=mime["type"],
                   sha256=stored.sha256, size=stored.size, uploaded_at=now, uploaded_by=actor.user_id)
    t.documents.append(doc)
    session.flush()
    return doc


def add_document(session: Session, *, actor: Actor, tender_id: int, filename: str, stream: BinaryIO,
                 blobs: BlobStore, limit: int, now: datetime) -> Document:
    """Attach a file to a draft (PDF, ZIP, DOCX; streamed to the blob store, size-limited).
    After publication files come only with an amendment."""
    t = _owned(session, actor, tender_id)
    rules.check_can_edit(facts(t), now)
    doc = _store_document(session, actor=actor, t=t, filename=filename, stream=stream, blobs=blobs, limit=limit,
                          now=now)
    record(session, actor=actor, action="document.added", object_type="document", object_id=doc.id, now=now,
           tender_id=t.id, payload={"filename": doc.filename, "sha256": doc.sha256, "size": doc.size})
    return doc


def remove_document(session: Session, *, actor: Actor, tender_id: int, document_id: int, now: datetime) -> None:
    t = _owned(session, actor, tender_id)
    rules.check_can_edit(facts(t), now)
    doc = session.get(Document, document_id)
    if doc is None or doc.tender_id != t.id:
        raise NotFound()
    t.documents.remove(doc)
    session.delete(doc)
    record(session, actor=actor, action="document.removed", object_type="document", object_id=document_id,
           now=now, tender_id=t.id, payload={"filename": doc.filename, "sha256": doc.sha256})


def download_document(session: Session, *, actor: Actor, tender_id: int, document_id: int,
                      now: datetime) -> Document:
    """Hand out a document.  Any logged-in bidder may download within the window, no sign-up
    (电子招标投标办法 art. 20); each bidder download is recorded.  The owning agency and
    supervisors may read their files at any time without being counted."""
    t = get_tender(session, actor, tender_id)
    doc = session.get(Document, document_id)
    if doc is None or doc.tender_id != t.id:
        raise NotFound()
    if actor.role == "bidder":
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


def ask_question(session: Session, *, actor: Actor, tender_id: int, text: str, now: datetime) -> Question:
    if actor.role != "bidder":
        raise PermissionDenied(N_("Only bidders can ask questions."))
    t = get_tender(session, actor, tender_id)
    rules.check_can_ask(facts(t), now)
    text = _text({"text": text}, "text", max_len=5000)
    q = Question(tender_id=t.id, asker_org_id=actor.organisation_id, asker_user_id=actor.user_id, text=text,
                 asked_at=now)
    t.questions.append(q)
    session.flush()
    record(session, actor=actor, action="question.asked", object_type="question", object_id=q.id, now=now,
           tender_id=t.id, payload={"text": text})
    return q


def answer_question(session: Session, *, actor: Actor, tender_id: int, question_id: int, answer: str,
                    now: datetime) -> Question:
    t = _owned(session, actor, tender_id)
    rules.check_can_answer(facts(t), now)
    q = session.get(Question, question_id)
    if q is None or q.tender_id != t.id:
        raise NotFound()
    if q.answer is not None:
        raise Conflict(N_("This question has already been answered."))
    answer = _text({"answer": answer}, "answer", max_len=20000)
    q.answer, q.answered_at, q.answered_by = answer, now, actor.user_id
    record(session, actor=actor, action="question.answered", object_type="question", object_id=q.id, now=now,
           tender_id=t.id, payload={"answer": answer})
    return q


# ---------------------------------------------------------------- public queries

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
        "amendments": len(t.amendments), "questions": len(t.questions),
        "answered": sum(1 for q in t.questions if q.answer is not None),
        "downloads": session.scalar(select(func.count()).where(Download.tender_id == t.id)) or 0,
        "bids": {b.public_id: f"{b.status} {b.sha256}" for b in session.scalars(
            select(Bid).where(Bid.tender_id == t.id).order_by(Bid.public_id))},
    }


def opening_key_dict(t: Tender) -> dict[str, Any] | None:
    from sqlalchemy.orm import object_session

    session = object_session(t)
    key = session.get(OpeningKey, t.id)
    return {"recipient": key.recipient, "threshold": key.threshold, "shares": key.shares,
            "custodians": key_custodians(session, t.id)} if key else None


def sealed_share_for(session: Session, *, actor: Actor, tender_id: int) -> KeyShare:
    """A custodian's own sealed share (the age file only that custodian's identity opens); anyone else: 404."""
    share = session.scalar(select(KeyShare).where(KeyShare.tender_id == tender_id,
                                                  KeyShare.custodian_id == actor.user_id))
    if share is None or not policy.holds_share(actor, share):
        raise NotFound()
    return share
