"""Sealed-bid use cases: submit (store ciphertext only, sign a receipt), supersede, withdraw.

The upload is streamed into the blob store first (``store_sealed``: age header checked on the first
bytes, size-limited, hashed while written, never decrypted); then ``submit_bid`` records it in one
transaction at the time the upload completed, so the deadline is judged on arrival.
"""
from __future__ import annotations

from datetime import datetime
from collections.abc import Sequence
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import merkle, notes, proofs
from audit.rules import canonical, iso
from audit.service import issue_checkpoint, record, to_entry
from core.actor import Actor
from core.blobs import BlobStore, StoredBlob, names_blob
from core.errors import N_, InvalidInput, NotFound, PermissionDenied
from core.roles import Role
from accounts.models import Organisation
from tender import policy, rules, sealing
from tender.models import Bid, BidUpload, OpeningKey, Tender, new_public_id
from tender.receipts import sign_receipt
from tender.downloads import has_downloaded
from tender.service import facts

HEAD = 64 * 1024


class EmptyBid(InvalidInput):
    code = "empty_bid"
    default_message = N_("The bid file is empty.")


def _bidder(actor: Actor) -> None:
    if actor.role != Role.BIDDER or actor.organisation_id is None:
        raise PermissionDenied(N_("Only bidders submit bids."))


def _published(session: Session, tender_id: int, *, lock: bool = False) -> Tender:
    stmt = select(Tender).where(Tender.id == tender_id)
    if lock:
        stmt = stmt.with_for_update()
    t = session.scalar(stmt)
    if t is None or t.published_at is None:
        raise NotFound()
    return t


def check_submission(session: Session, *, actor: Actor, tender_id: int, now: datetime) -> None:
    """The checks that can be made before the upload starts (so nobody uploads in vain)."""
    _bidder(actor)
    t = _published(session, tender_id)
    rules.check_can_submit(facts(t), now, has_documents=has_downloaded(
        session, organisation_id=actor.organisation_id, tender_id=t.id))


def store_sealed(stream: BinaryIO, *, blobs: BlobStore, limit: int) -> StoredBlob:
    """Stream an uploaded sealed bid into the blob store; only a valid age v1 file with an X25519 stanza."""

    def check(head: bytes) -> None:
        if not head:
            raise EmptyBid(field="file")
        sealing.check_age_header(head)

    return blobs.put_stream(stream, limit=limit, check_head=check, head_size=HEAD)


MODES = ("sealed", "package")
"""How the bid form takes a bid: a file the bidder ``sealed``, or the bid ``package`` sealed on the platform."""


def sealing_recipients(session: Session, *, tender_id: int, mode: str, self_recipient: str = "") -> list[str]:
    """The age recipients the platform seals a bid package to: the tender's opening key, and the bidder's own
    recipient when given (so the bidder can open the sealed copy too).  ``[]`` for a file the bidder sealed."""
    if mode not in MODES:
        raise InvalidInput(N_("Choose how to submit: a bid package to be sealed here, or a file you sealed "
                              "yourself."), field="mode")
    if mode == "sealed":
        return []
    key = session.get(OpeningKey, tender_id)
    if key is None:
        raise InvalidInput(N_("This tender has no opening key to seal bids to."), field="mode")
    return [key.recipient, *_own_recipient(self_recipient, key.recipient)]


def _own_recipient(text: str, tender_recipient: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    try:
        own = sealing.normalize_recipient(text)
    except sealing.InvalidRecipient:
        raise sealing.InvalidRecipient(N_("Your own age recipient is not valid: it is the public key that "
                                          "age-keygen prints, starting with age1."), field="self_recipient") from None
    return [] if own == sealing.normalize_recipient(tender_recipient) else [own]


def _check_lot(t: Tender, lot: int) -> None:
    if not 1 <= lot <= max(len(t.lots), 1):
        raise InvalidInput(N_("This tender has no lot %(lot)s."), field="lot", lot=lot)


def package_binding(session: Session, *, actor: Actor, tender_id: int, lot: int) -> rules.PackageBinding:
    """What a bid package submitted by ``actor`` to this tender and lot must say it is for (its bid.json)."""
    _bidder(actor)
    t = _published(session, tender_id)
    _check_lot(t, lot)
    org = session.get(Organisation, actor.organisation_id)
    return rules.PackageBinding(tender=t.project_code, lot=lot, credit_code=org.credit_code or "")


def check_confirmation(session: Session, *, actor: Actor, tender_id: int, lot: int, confirm_tender: str | None,
                       confirm_lot: str | None) -> None:
    """The bid page's confirmation for a file the bidder sealed (which the platform cannot read): the tender's
    project code and the lot, typed by the bidder (``rules.check_sealed_confirmation``)."""
    expected = package_binding(session, actor=actor, tender_id=tender_id, lot=lot)
    rules.check_sealed_confirmation(expected.tender, lot, confirm_tender=confirm_tender, confirm_lot=confirm_lot)


def usage(session: Session, *, tender_id: int, organisation_id: int, but_uploads: tuple[str, ...] = ()) -> rules.Usage:
    """The bytes counted against the tender's quota (``rules.Quota``): every bid received, whatever its status
    now, and the declared length of every upload still open (bar ``but_uploads``)."""

    def total(column, *where) -> int:
        return int(session.scalar(select(func.coalesce(func.sum(column), 0)).where(*where)) or 0)

    uploads = [BidUpload.tender_id == tender_id, BidUpload.status == "open"]
    if but_uploads:
        uploads.append(BidUpload.id.not_in(but_uploads))
    return rules.Usage(
        bidder=total(Bid.size, Bid.tender_id == tender_id, Bid.organisation_id == organisation_id)
        + total(BidUpload.upload_length, *uploads, BidUpload.organisation_id == organisation_id),
        tender=total(Bid.size, Bid.tender_id == tender_id) + total(BidUpload.upload_length, *uploads))


def room(session: Session, *, actor: Actor, tender_id: int, quota: rules.Quota) -> int:
    """How many bytes of a bid of ``actor`` still fit in the tender's quota (for a body whose size is known only
    once it has arrived)."""
    return rules.quota_room(quota, usage(session, tender_id=tender_id, organisation_id=actor.organisation_id))


def check_quota(session: Session, *, actor: Actor, tender_id: int, size: int, quota: rules.Quota | None,
                but_uploads: tuple[str, ...] = ()) -> None:
    if quota is not None:
        rules.check_quota(quota, usage(session, tender_id=tender_id, organisation_id=actor.organisation_id,
                                       but_uploads=but_uploads), size)


def discard_refused(session: Session, *, blobs: BlobStore, stored: StoredBlob, columns: Sequence[Any]) -> bool:
    """After a refusal: delete the blob a refused bid's bytes went to, unless something else uses it.  Only a
    blob this request created (``stored.created``: a content-addressed store may have held the same bytes
    already, for someone else) and still the same file, and only when no record names it.  Returns whether it
    was deleted; anything left is the collector's (``sunbid blobs gc``).  ``columns``: every column that names
    blobs, as the areas declare them."""
    if stored.created is None:
        return False
    if names_blob(session, stored.sha256, columns):
        return False
    return blobs.remove_created(stored)


def submit_bid(session: Session, *, actor: Actor, tender_id: int, lot: int, stored: StoredBlob, now: datetime,
               signer: notes.Signer, declared: rules.PackageBinding | None = None,
               quota: rules.Quota | None = None, upload_id: str | None = None) -> Bid:
    """Record a stored sealed bid received at ``now``; earlier current bids of this bidder for this lot are
    superseded, not deleted.  The tender row is locked, so concurrent submissions end with one current bid.
    ``declared``: what the package says it is for, when the platform read it (sealed here); a package for
    another tender, lot or bidder is refused before anything is superseded.  ``quota``: the tender's storage
    quota, judged with this bid counted (``upload_id``: the resumable upload it comes from, which counted
    already)."""
    _bidder(actor)
    t = _published(session, tender_id, lock=True)
    rules.check_can_submit(facts(t), now, has_documents=has_downloaded(
        session, organisation_id=actor.organisation_id, tender_id=t.id))
    _check_lot(t, lot)
    if declared is not None:
        org = session.get(Organisation, actor.organisation_id)
        rules.check_package_binding(declared, rules.PackageBinding(tender=t.project_code, lot=lot,
                                                                   credit_code=org.credit_code or ""))
    check_quota(session, actor=actor, tender_id=t.id, size=stored.size, quota=quota,
                but_uploads=(upload_id,) if upload_id else ())
    earlier = session.scalars(select(Bid).where(Bid.tender_id == t.id, Bid.organisation_id == actor.organisation_id,
                                                Bid.lot == lot, Bid.status == "current")).all()
    for old in earlier:
        old.status, old.superseded_at = "superseded", now
    org = session.get(Organisation, actor.organisation_id)
    bid = Bid(public_id=new_public_id(), tender_id=t.id, lot=lot, organisation_id=org.id, user_id=actor.user_id,
              sha256=stored.sha256, size=stored.size, received_at=now, status="current")
    session.add(bid)
    session.flush()
    entry = record(session, actor=actor, action="bid.submitted", object_type="bid", object_id=bid.public_id,
                   now=now, tender_id=t.id, payload={"tender": t.project_code, "lot": lot, "bidder": org.credit_code,
                                                     "sha256": stored.sha256, "size": stored.size,
                                                     "supersedes": [b.public_id for b in earlier]})
    bid.audit_seq = entry.seq
    bid.receipt = _receipt(session, entry, signer=signer, now=now, fields={
        "bid_id": bid.public_id, "tender_id": t.id, "tender": t.project_code, "lot": lot, "bidder": org.credit_code,
        "bidder_name": org.name, "sha256": stored.sha256, "size": stored.size, "received_at": iso(now),
        "audit_seq": entry.seq, "audit_hash": entry.hash})
    return bid


def _receipt(session: Session, entry, *, signer: notes.Signer, now: datetime,
             fields: dict) -> str:
    """The signed receipt, complete at once: a checkpoint covering its audit entry is signed here, in the
    submission's transaction, and the receipt carries the entry (with its salt) and its c2sp.org/tlog-proof
    against that checkpoint (docs/sealed-bids.md, "Receipts").  That checkpoint is given to this bidder only,
    not listed publicly, so the public checkpoints do not count the bids (docs/audit.md)."""
    checkpoint = issue_checkpoint(session, signer=signer, origin=signer.name, now=now, reason="receipt", last=entry,
                                  listed=False)
    index, leaf = entry.seq - 1, bytes.fromhex(entry.leaf_hash)
    document = to_entry(entry).document()
    if (merkle.leaf_hash(canonical(document)) != leaf
            or not merkle.verify_inclusion(leaf, index, checkpoint.size, list(entry.path), entry.root)):
        raise RuntimeError(f"audit entry {entry.seq}: its proof does not hold against the tree just signed")
    proof = proofs.TlogProof(index=index, hashes=entry.path, checkpoint=checkpoint.note).encode()
    return sign_receipt(fields, signer, entry=document, proof=proof)


def own_bid(session: Session, *, actor: Actor, bid_id: str) -> Bid:
    """The caller's own bid by its public id; ``NotFound`` for anyone else's, exactly as for one that does not
    exist (same status, same body), so a probe learns nothing."""
    bid = session.scalar(select(Bid).where(Bid.public_id == str(bid_id)[:64]))
    if bid is None or not policy.owns_bid(actor, bid):
        raise NotFound()
    return bid


def withdraw_bid(session: Session, *, actor: Actor, bid_id: str, now: datetime) -> Bid:
    bid = own_bid(session, actor=actor, bid_id=bid_id)
    t = _published(session, bid.tender_id, lock=True)
    rules.check_can_withdraw(facts(t), now)
    if bid.status != "current":
        raise InvalidInput(N_("Only the current bid can be withdrawn."), field="bid")
    bid.status, bid.withdrawn_at = "withdrawn", now
    record(session, actor=actor, action="bid.withdrawn", object_type="bid", object_id=bid.public_id,
           now=now, tender_id=t.id, payload={"lot": bid.lot, "sha256": bid.sha256})
    return bid


def own_bids(session: Session, *, actor: Actor, tender_id: int) -> list[Bid]:
    if actor.role != Role.BIDDER:
        return []
    return list(session.scalars(select(Bid).where(Bid.tender_id == tender_id,
                                                  Bid.organisation_id == actor.organisation_id)
                                .order_by(Bid.id.desc())))
