"""The opening ceremony (开标): custodians present their key shares after the deadline; with k of them
the platform rebuilds the opening identity in memory only, decrypts every current bid, checks its
package against its manifest, reads the bid form, forgets the identity and writes the opening record.

Each act is an audit event: every share presented (never its text), each bid's result, the completion.
"""
from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.service import record
from core.actor import Actor
from core.blobs import BlobStore
from core.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied
from core.roles import Role
from accounts.models import Organisation
from tender import policy, rules, sealing, unseal
from tender.models import Bid, KeyShare, OpeningKey, OpeningObjection, OpeningResult, OpeningShare, Tender
from tender.service import facts, settings_of


def _tender(session: Session, tender_id: int) -> Tender:
    t = session.scalar(select(Tender).where(Tender.id == tender_id).with_for_update())
    if t is None or t.published_at is None:
        raise NotFound()
    return t


def submit_share(session: Session, *, actor: Actor, tender_id: int, share: str, now: datetime) -> OpeningShare:
    """A custodian presents its share (after the deadline only; only its own, once)."""
    if actor.role != Role.CUSTODIAN:
        raise PermissionDenied(N_("Only the tender's key custodians present key shares."))
    t = _tender(session, tender_id)
    held = session.scalar(select(KeyShare).where(KeyShare.tender_id == t.id, KeyShare.custodian_id == actor.user_id))
    if held is None:
        raise PermissionDenied(N_("You hold no key share of this tender."))
    rules.check_can_open(facts(t), now)
    info = sealing.parse_share(share)
    if info.tender_ref != t.project_code or info.index != held.position:
        raise InvalidInput(N_("This is not the share you hold for this tender (share %(p)s of %(ref)s)."),
                           field="share", p=held.position, ref=t.project_code)
    existing = session.scalar(select(OpeningShare).where(OpeningShare.tender_id == t.id,
                                                         OpeningShare.custodian_id == actor.user_id))
    if existing is not None and existing.share == info.text:
        raise Conflict(N_("You have already presented this share."), field="share")
    if existing is None:
        existing = OpeningShare(tender_id=t.id, custodian_id=actor.user_id, position=held.position,
                                share=info.text, submitted_at=now)
        session.add(existing)
    else:  # a corrected share replaces the earlier one
        existing.share, existing.submitted_at = info.text, now
    session.flush()
    record(session, actor=actor, action="opening.share_presented", object_type="tender", object_id=t.id, now=now,
           tender_id=t.id, payload={"position": held.position})
    return existing


def presented(session: Session, tender_id: int) -> list[OpeningShare]:
    return list(session.scalars(select(OpeningShare).where(OpeningShare.tender_id == tender_id)
                                .order_by(OpeningShare.position)))


def open_bids(session: Session, *, actor: Actor, tender_id: int, now: datetime, blobs: BlobStore,
              workdir: Path | None = None, workers: int | None = None) -> list[OpeningResult]:
    """Open every current bid of a closed tender with k presented shares (the tender's agency runs it).
    ``workers``: processes that decrypt (default: one per core when there is much to open; see tender.unseal).
    ``workdir``: where openings keep their work files (default ``<data dir>/opening-work``; this tender's own
    directory in it is locked for the opening, see ``unseal.work_area``).

    One transaction: an opening interrupted midway (the server killed) leaves no result and no audit entry, the
    presented shares stay, and the next run starts it again from the beginning (the log shows it once)."""
    t = _tender(session, tender_id)
    if not policy.owns_tender(actor, t):
        raise NotFound()
    rules.check_can_open(facts(t), now)
    key = session.get(OpeningKey, t.id)
    shares = presented(session, t.id)
    identity = sealing.combine_shares([s.share for s in shares], recipient=key.recipient, tender_ref=t.project_code)
    results: list[OpeningResult] = []
    try:
        current = session.scalars(select(Bid).where(Bid.tender_id == t.id, Bid.status == "current")
                                  .order_by(Bid.received_at, Bid.id)).all()
        root = workdir if workdir is not None else unseal.work_root(blobs.root.parent)
        with unseal.work_area(root, t.id) as tmp:
            sealed = [os.fspath(blobs.path(bid.sha256)) for bid in current]
            with contextlib.closing(unseal.open_all(sealed, identity, tmp, workers=workers)) as found:
                for bid, unsealed in zip(current, found, strict=True):
                    results.append(_record_one(session, actor=actor, t=t, bid=bid, unsealed=unsealed, now=now))
    finally:
        del identity  # the rebuilt identity never leaves this function (and its pool workers, which end here)
    valid = sum(1 for r in results if r.status == "valid")
    outcome = rules.opening_outcome(valid, settings_of(t))
    if outcome is rules.Status.OPENED:
        t.opened_at = now
    else:
        t.failed_at = now
    for s in shares:
        session.delete(s)
    record(session, actor=actor, action="opening.completed", object_type="tender", object_id=t.id, now=now,
           tender_id=t.id, payload={"outcome": outcome.value, "bids": len(results), "valid": valid,
                                    "min_bids": settings_of(t).min_bids,
                                    "shares_used": [s.position for s in shares]})
    return results


def _record_one(session: Session, *, actor: Actor, t: Tender, bid: Bid, unsealed: unseal.Unsealed,
                now: datetime) -> OpeningResult:
    org = session.get(Organisation, bid.organisation_id)
    result = OpeningResult(bid_id=bid.id, tender_id=t.id, lot=bid.lot, bidder_name=org.name,
                           credit_code=org.credit_code or "", status=unsealed.status, reason=unsealed.reason or "",
                           ciphertext_sha256=bid.sha256, plaintext_sha256=unsealed.plaintext_sha256 or "")
    wrong: tuple[str, ...] = ()
    if unsealed.status == "valid":
        declared = rules.PackageBinding(tender=unsealed.tender or "", lot=unsealed.lot or 0,
                                        credit_code=unsealed.credit_code or "")
        wrong = rules.binding_mismatch(declared, rules.PackageBinding(tender=t.project_code, lot=bid.lot,
                                                                      credit_code=org.credit_code or ""))
        if wrong:  # a package for another tender, lot or bidder: the bidder's failure (art. 31)
            result.status, result.reason = "failed", "wrong_package"
        else:
            result.price_fen, result.duration_days = unsealed.price_fen, unsealed.duration_days
    if result.status == "failed":
        result.failure_kind = rules.decryption_failure_kind(result.reason)
    session.add(result)
    session.flush()
    payload = {"status": result.status, "reason": result.reason, "failure_kind": result.failure_kind,
               "price_fen": result.price_fen, "duration_days": result.duration_days,
               "validity_days": unsealed.validity_days if result.price_fen is not None else None,
               "ciphertext_sha256": bid.sha256, "plaintext_sha256": result.plaintext_sha256}
    if unsealed.status == "valid" and not wrong and t.required_documents:
        # noted in the record for the evaluation: the opening itself does not judge the bid's content
        payload["missing_documents"] = rules.missing_documents([d["name"] for d in t.required_documents],
                                                               unsealed.files)
    if wrong:
        payload["declared"] = {"tender": unsealed.tender, "lot": unsealed.lot, "bidder": unsealed.credit_code,
                               "differs": list(wrong)}
    record(session, actor=actor, action="bid.opened", object_type="bid", object_id=bid.public_id, now=now, tender_id=t.id,
           payload=payload)
    return result


def opening_record(session: Session, tender_id: int) -> list[OpeningResult]:
    return list(session.scalars(select(OpeningResult).where(OpeningResult.tender_id == tender_id)
                                .order_by(OpeningResult.bid_id)))


def respond(session: Session, *, actor: Actor, tender_id: int, objection: str, now: datetime) -> OpeningObjection:
    """A bidder whose bid was opened confirms the record (empty text) or objects, on the spot."""
    if actor.role != Role.BIDDER:
        raise PermissionDenied(N_("Only bidders confirm the opening record or object to it."))
    t = _tender(session, tender_id)
    rules.check_can_object(facts(t), now, settings_of(t))
    if not session.scalar(select(Bid.id).where(Bid.tender_id == t.id, Bid.organisation_id == actor.organisation_id)
                          .limit(1)):
        raise PermissionDenied(N_("Only bidders who submitted a bid confirm the opening record or object to it."))
    text = (objection or "").strip()[:5000]
    row = OpeningObjection(tender_id=t.id, organisation_id=actor.organisation_id, user_id=actor.user_id,
                           kind="objection" if text else "confirmed", text=text, raised_at=now)
    session.add(row)
    session.flush()
    record(session, actor=actor, action="opening.objection" if text else "opening.confirmed", object_type="tender",
           object_id=t.id, now=now, tender_id=t.id, payload={"text": text} if text else {})
    return row


def answer_objection(session: Session, *, actor: Actor, tender_id: int, objection_id: int, answer: str,
                     now: datetime) -> OpeningObjection:
    t = _tender(session, tender_id)
    if not policy.owns_tender(actor, t):
        raise NotFound()
    row = session.get(OpeningObjection, objection_id)
    if row is None or row.tender_id != t.id or row.kind != "objection":
        raise NotFound()
    if row.answer is not None:
        raise Conflict(N_("This objection has already been answered."))
    text = (answer or "").strip()
    if not text:
        raise InvalidInput(N_("This field is required."), field="answer")
    row.answer, row.answered_at = text[:5000], now
    record(session, actor=actor, action="opening.objection_answered", object_type="tender", object_id=t.id, now=now,
           tender_id=t.id, payload={"objection": row.id, "answer": row.answer})
    return row


def responses(session: Session, tender_id: int) -> list[OpeningObjection]:
    return list(session.scalars(select(OpeningObjection).where(OpeningObjection.tender_id == tender_id)
                                .order_by(OpeningObjection.id)))
