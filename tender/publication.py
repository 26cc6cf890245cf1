"""The agency's operations on its tenders: draft, edit, publish, amend, cancel, documents, and questions
(a bidder asks, the agency answers).

Each function is one business operation: it checks the actor and the object, calls the pure rules in
tender.rules with an explicit ``now``, changes rows and appends its audit event in the caller's transaction.
"""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.service import record
from core import money
from core.actor import Actor
from core.blobs import BlobStore
from core.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied
from core.roles import Role
from tender import rules
from tender.custody import make_opening_key
from tender.inputs import PROJECT_CODE, LotInput, TenderInput, text_field
from tender.models import Amendment, Document, Lot, Question, RequiredDocument, Tender
from tender.service import facts, get_tender, owned_tender, settings_of


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
    for i, doc in enumerate(data.required_documents, start=1):  # in place, as the lots
        if i <= len(t.required_docs):
            row = t.required_docs[i - 1]
            row.position, row.name, row.types, row.max_mb = i, doc.name, ",".join(doc.types), doc.max_mb
        else:
            t.required_docs.append(RequiredDocument(position=i, name=doc.name, types=",".join(doc.types),
                                                    max_mb=doc.max_mb))
    del t.required_docs[len(data.required_documents):]


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
            "deadline": t.deadline, "lots": [[lot.number, lot.name, lot.estimated_price_fen] for lot in t.lots],
            "required_documents": required_summary(t)}


def required_summary(t: Tender) -> list[list]:
    """The tender's required documents as its audit events record them: [[name, [types], max_mb], …]."""
    return [[d["name"], d["types"], d["max_mb"]] for d in t.required_documents]


def create_tender(session: Session, *, actor: Actor, data: TenderInput, now: datetime,
                  accelerator: int = 1) -> Tender:
    if actor.role != Role.AGENCY or actor.organisation_id is None:
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
    t = owned_tender(session, actor, tender_id)
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
    t = owned_tender(session, actor, tender_id)
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
    key = make_opening_key(session, t, settings, now)
    record(session, actor=actor, action="tender.published", object_type="tender", object_id=t.id, now=now,
           tender_id=t.id, payload={**_summary(t), "documents": [[d.filename, d.sha256] for d in t.documents],
                                    "settings": rules.settings_to_dict(settings),
                                    "departures_from_defaults": rules.departures_from_defaults(settings),
                                    "opening_key": key})
    return t


def amend_tender(session: Session, *, actor: Actor, tender_id: int, text: str, now: datetime,
                 requested_deadline: datetime | None = None,
                 document: tuple[str, BinaryIO, BlobStore, int] | None = None) -> Amendment:
    """Publish a clarification/amendment; a deadline closer than the notice period moves out
    (招标投标法 art. 23, 实施条例 art. 21).  The download window is extended with it."""
    t = owned_tender(session, actor, tender_id)
    rules.check_can_amend(facts(t), now)
    text = text_field({"text": text}, "text", max_len=20000)
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
    t = owned_tender(session, actor, tender_id)
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
    t = owned_tender(session, actor, tender_id)
    rules.check_can_edit(facts(t), now)
    doc = _store_document(session, actor=actor, t=t, filename=filename, stream=stream, blobs=blobs, limit=limit,
                          now=now)
    record(session, actor=actor, action="document.added", object_type="document", object_id=doc.id, now=now,
           tender_id=t.id, payload={"filename": doc.filename, "sha256": doc.sha256, "size": doc.size})
    return doc


def remove_document(session: Session, *, actor: Actor, tender_id: int, document_id: int, now: datetime) -> None:
    t = owned_tender(session, actor, tender_id)
    rules.check_can_edit(facts(t), now)
    doc = session.get(Document, document_id)
    if doc is None or doc.tender_id != t.id:
        raise NotFound()
    t.documents.remove(doc)
    session.delete(doc)
    record(session, actor=actor, action="document.removed", object_type="document", object_id=document_id,
           now=now, tender_id=t.id, payload={"filename": doc.filename, "sha256": doc.sha256})


def ask_question(session: Session, *, actor: Actor, tender_id: int, text: str, now: datetime) -> Question:
    if actor.role != Role.BIDDER:
        raise PermissionDenied(N_("Only bidders can ask questions."))
    t = get_tender(session, actor, tender_id)
    rules.check_can_ask(facts(t), now)
    text = text_field({"text": text}, "text", max_len=5000)
    q = Question(tender_id=t.id, asker_org_id=actor.organisation_id, asker_user_id=actor.user_id, text=text,
                 asked_at=now)
    t.questions.append(q)
    session.flush()
    record(session, actor=actor, action="question.asked", object_type="question", object_id=q.id, now=now,
           tender_id=t.id, payload={"text": text})
    return q


def answer_question(session: Session, *, actor: Actor, tender_id: int, question_id: int, answer: str,
                    now: datetime) -> Question:
    t = owned_tender(session, actor, tender_id)
    rules.check_can_answer(facts(t), now)
    q = session.get(Question, question_id)
    if q is None or q.tender_id != t.id:
        raise NotFound()
    if q.answer is not None:
        raise Conflict(N_("This question has already been answered."))
    answer = text_field({"answer": answer}, "answer", max_len=20000)
    q.answer, q.answered_at, q.answered_by = answer, now, actor.user_id
    record(session, actor=actor, action="question.answered", object_type="question", object_id=q.id, now=now,
           tender_id=t.id, payload={"answer": answer})
    return q
