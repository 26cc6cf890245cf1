"""Resumable uploads of sealed bids: the tus 1.0.0 core protocol with its ``creation``, ``expiration`` and
``termination`` extensions (https://tus.io/protocols/resumable-upload), kept small.  docs/sealed-bids.md, "Resumable
uploads", is the user's description; this is how it works inside.

An upload is a ``BidUpload`` row plus a part file ``<data dir>/uploads/<id>.part``.

Creation (POST)
    makes the row after the same checks as a direct submission (a bidder, the tender open for bids, the
    documents obtained, a lot of the tender) and two of its own: the declared ``Upload-Length`` is not 0 and
    not over the bid size limit, and it fits the tender's storage quota (``rules.check_quota``: the bidder's
    bids and open uploads, and everyone's).  It is an audit event (``bid.upload_created``).  An open upload of the same
    user for the same tender and lot is replaced (closed, its part file deleted): one transfer per bid.

Appending (PATCH)
    1. a short transaction finds the upload (404 unless it is the caller's own);
    2. an exclusive ``flock`` on the part file keeps a second PATCH of the same upload out (423 at once) for
       as long as bytes are written, without holding a database transaction (on SQLite: the whole
       database's write lock) open across a network transfer.  The operating system drops the lock when
       the process dies, so a crashed server never leaves an upload locked;
    3. a short transaction locks the row and checks it is open, the deadline has not passed (else the
       upload is closed as expired and its bytes deleted), it was not left idle for ``idle`` (else it is
       closed as abandoned, likewise) and ``Upload-Offset`` is the recorded offset (409 otherwise);
    4. the part file is cut back to the recorded offset (bytes written after it by a request that died
       before recording them are not trusted) and the body is appended in 64 KiB pieces as it arrives,
       never more than ``Upload-Length`` in all;
    5. the file is synced and a short transaction (row lock again) records the new offset: every
       ``SYNC_EVERY`` bytes, and at the end — also when the connection broke or the request died in the
       middle, so whatever reached the disk is kept (tus lets the server keep the received prefix).
    When the offset reaches the length, the upload is *finished*: the moment the last byte arrived is the
    bid's receipt time; the first bytes must be an age v1 header with an X25519 stanza, the file is hashed
    and ``bids.submit_bid`` records the bid in the same way as the direct endpoint (deadline judged at that
    moment, supersede, signed receipt, ``bid.submitted`` event), moving the part file into the blob store
    in the same transaction.  A refusal closes the upload (``refused`` or ``expired``) and deletes its
    bytes: an upload not finished before the deadline can never become a bid.

Termination (DELETE) closes an open upload and deletes its part file.  An open upload says when it expires
(``expires``: idle time after its last byte, at the latest the deadline); ``clean_parts`` (``sunbid bid
clean-uploads``) closes the abandoned and expired ones and removes the part files no upload can use.

No audit event per chunk: the log gets the creation and, at the end, the submission.
"""
from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import ClientDisconnected

from audit.service import record
from core.actor import Actor
from core.blobs import BlobStore, FileTooLarge, StoredBlob
from core.errors import N_, Conflict, DomainError, InvalidInput, InvalidTransition, NotFound
from tender import bids, rules, sealing
from tender.models import Bid, BidUpload, Tender
from tender.service import facts

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,expiration,termination"
CONTENT_TYPE = "application/offset+octet-stream"
CHUNK = 1024 * 1024
PIECE = 64 * 1024
"""Bytes read from the request at a time: each piece is on disk before the next is awaited."""
SYNC_EVERY = 8 * 1024 * 1024
"""A long PATCH is synced to disk and its offset recorded every this many bytes, so a server that dies in the
middle of it (killed, out of power) loses at most the bytes since the last such point."""
IDLE = timedelta(minutes=15)
"""An open upload no byte reached for this long is abandoned (``SUNBID_UPLOAD_IDLE_MINUTES``)."""

OPEN, COMPLETE, REFUSED, EXPIRED, TERMINATED, REPLACED, ABANDONED = (
    "open", "complete", "refused", "expired", "terminated", "replaced", "abandoned")

Transaction = Callable[[], AbstractContextManager[Session]]


# ---------------------------------------------------------------- errors


class TusVersionUnsupported(DomainError):
    code = "tus_version_unsupported"
    status = 412
    default_message = N_("Resumable uploads speak tus 1.0.0: send the header Tus-Resumable: 1.0.0.")


class BadUploadHeader(InvalidInput):
    code = "bad_upload_header"
    default_message = N_("The %(header)s header must be a whole number of bytes.")


class DeferredLengthUnsupported(InvalidInput):
    code = "deferred_length_unsupported"
    default_message = N_("Declare the size of the bid with Upload-Length; a deferred length is not supported.")


class BadUploadMetadata(InvalidInput):
    code = "bad_upload_metadata"
    default_message = N_("The Upload-Metadata header must be comma-separated pairs of a key and a base64 value, "
                         "each key once, at most %(limit)s bytes in all.")


class WrongContentType(DomainError):
    code = "wrong_content_type"
    status = 415
    default_message = N_("Send the bytes of an upload as application/offset+octet-stream.")


class UploadOffsetMismatch(Conflict):
    code = "upload_offset_mismatch"
    default_message = N_("The upload has received %(offset)s bytes, not %(given)s: ask for its offset (HEAD) "
                         "and continue from there.")


class UploadBusy(DomainError):
    code = "upload_busy"
    status = 423
    default_message = N_("Another transfer to this upload is in progress; try again in a moment.")


class UploadOverflow(FileTooLarge):
    code = "upload_overflow"
    default_message = N_("The data goes beyond the declared Upload-Length of %(length)s bytes.")


class UploadInterrupted(InvalidInput):
    code = "upload_interrupted"
    default_message = N_("The connection broke after %(offset)s bytes of the upload; they are kept: "
                         "continue from there.")


class UploadClosed(DomainError):
    code = "upload_closed"
    status = 410
    default_message = N_("This upload is closed and takes no more data; start a new upload.")


class UploadExpired(UploadClosed):
    code = "upload_expired"
    default_message = N_("The bid deadline passed before this upload was finished: it can no longer become a bid.")


class UploadAbandoned(UploadClosed):
    code = "upload_abandoned"
    default_message = N_("No byte reached this upload for %(minutes)s minutes: it was abandoned and the bytes "
                         "received were deleted. Start a new upload.")


class UploadFinished(Conflict):
    code = "upload_finished"
    default_message = N_("This upload has already become bid %(bid_id)s; to take it back, withdraw the bid.")


class UploadLost(DomainError):
    code = "upload_lost"
    status = 410
    default_message = N_("The bytes received for this upload were lost on the server; start a new upload.")


CLOSED_MESSAGES = {
    TERMINATED: N_("This upload was terminated; start a new upload."),
    REPLACED: N_("A newer upload of this bid replaced this one."),
    REFUSED: N_("This upload was refused when its last byte arrived; start a new upload with a valid sealed bid."),
}


def check_tus_version(value: str | None) -> None:
    if (value or "").strip() != TUS_VERSION:
        raise TusVersionUnsupported()


def parse_size(value: str | None, header: str) -> int:
    """A non-negative whole number of bytes from a header (digits only, as tus requires)."""
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise BadUploadHeader(field=header, header=header)
    return int(text)


METADATA_LIMIT = 4096


def parse_metadata(value: str | None) -> str:
    """``Upload-Metadata`` as tus 1.0.0 defines it, checked and returned as sent ("" when absent): one or more
    comma-separated pairs, each a key (not empty, printable ASCII without spaces or commas; each key once) and,
    after a space, its value in base64 (which may be absent).  Sunbid keeps it only to echo it."""
    if value is None:
        return ""
    text = value.strip()
    if not text or len(text) > METADATA_LIMIT or not text.isascii():
        raise BadUploadMetadata(field="Upload-Metadata", limit=METADATA_LIMIT)
    keys = set()
    for pair in text.split(","):
        key, _sep, encoded = pair.strip().partition(" ")
        if (not key or not key.isprintable() or key in keys or " " in encoded
                or not _is_base64(encoded)):
            raise BadUploadMetadata(field="Upload-Metadata", limit=METADATA_LIMIT)
        keys.add(key)
    return text


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


# ---------------------------------------------------------------- part files


def folder(data_dir: Path) -> Path:
    return Path(data_dir) / "uploads"


def part_path(data_dir: Path, upload_id: str) -> Path:
    if not upload_id or any(not (c.isascii() and (c.isalnum() or c in "-_")) for c in upload_id):
        raise NotFound()
    return folder(data_dir) / f"{upload_id}.part"


def discard_part(data_dir: Path, upload_id: str) -> None:
    try:
        part_path(data_dir, upload_id).unlink()
    except FileNotFoundError:
        pass


def _new_part(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


# ---------------------------------------------------------------- the use cases


def own_upload(session: Session, *, actor: Actor, upload_id: str, lock: bool = False) -> BidUpload:
    """The caller's own upload; ``NotFound`` for anyone else's, as for a missing one."""
    stmt = select(BidUpload).where(BidUpload.id == upload_id)
    if lock:
        stmt = stmt.with_for_update()
    up = session.scalar(stmt.execution_options(populate_existing=True))
    if up is None or actor.user_id is None or up.user_id != actor.user_id:
        raise NotFound()
    return up


def deadline_passed(session: Session, up: BidUpload, now: datetime) -> bool:
    """The upload's tender takes no more bids: past its deadline (closed, opened, failed) or cancelled."""
    t = session.get(Tender, up.tender_id)
    return rules.derive_status(facts(t), now) is not rules.Status.PUBLISHED


def state(session: Session, up: BidUpload, now: datetime, idle: timedelta = IDLE) -> str:
    """The upload's status as seen now: an open upload whose tender's deadline has passed is ``expired``, one
    left untouched for ``idle`` is ``abandoned``."""
    if up.status == OPEN and deadline_passed(session, up, now):
        return EXPIRED
    if up.status == OPEN and rules.is_abandoned(up.updated_at, idle, now):
        return ABANDONED
    return up.status


def expires(session: Session, up: BidUpload, idle: timedelta = IDLE) -> datetime | None:
    """When an open upload stops taking data unless more arrives (tus ``Upload-Expires``): when it would be
    abandoned, or at the bid deadline if that is sooner.  None for a closed one."""
    if up.status != OPEN:
        return None
    return min(rules.upload_expires(up.updated_at, idle), session.get(Tender, up.tender_id).deadline)


def check_resumable(session: Session, up: BidUpload, now: datetime, idle: timedelta = IDLE) -> None:
    """Refuse (410) an upload that takes no more data, seen now; a finished one is fine (its offset is its
    length)."""
    if up.status == COMPLETE:
        return
    seen = state(session, up, now, idle)
    if seen == EXPIRED:
        raise UploadExpired()
    if seen == ABANDONED:
        raise UploadAbandoned(minutes=_minutes(idle))
    require_open(up)


def _minutes(idle: timedelta) -> int:
    return max(1, int(idle.total_seconds() // 60))


def require_open(up: BidUpload) -> None:
    """Refuse an upload whose stored status is not ``open``: 409 for a finished one, 410 for a closed one."""
    if up.status == OPEN:
        return
    if up.status == COMPLETE:
        raise UploadFinished(bid_id=up.bid.public_id)
    if up.status == EXPIRED:
        raise UploadExpired()
    if up.status == ABANDONED:
        raise UploadClosed(N_("No byte reached this upload for too long: it was abandoned and the bytes received "
                              "were deleted. Start a new upload."))
    raise UploadClosed(CLOSED_MESSAGES.get(up.status))


def create_upload(session: Session, *, actor: Actor, tender_id: int, lot: int, length: int, limit: int,
                  now: datetime, metadata: str = "", quota: rules.Quota | None = None) -> tuple[BidUpload, list[str]]:
    """A new upload of ``length`` bytes (with its ``Upload-Metadata``, checked by :func:`parse_metadata`);
    returns it and the ids of the open uploads it replaces, whose part files the caller deletes after the
    commit.  ``quota``: the declared length must fit in the tender's storage quota (the uploads it replaces
    no longer count)."""
    bids.check_submission(session, actor=actor, tender_id=tender_id, now=now)
    t = session.get(Tender, tender_id)
    if not 1 <= lot <= max(len(t.lots), 1):
        raise InvalidInput(N_("This tender has no lot %(lot)s."), field="lot", lot=lot)
    if length == 0:
        raise bids.EmptyBid(field="file")
    if length > limit:
        raise FileTooLarge(field="file", limit_mb=limit // (1024 * 1024))
    replaced = session.scalars(select(BidUpload).where(
        BidUpload.user_id == actor.user_id, BidUpload.tender_id == t.id, BidUpload.lot == lot,
        BidUpload.status == OPEN).with_for_update()).all()
    bids.check_quota(session, actor=actor, tender_id=t.id, size=length, quota=quota,
                     but_uploads=tuple(old.id for old in replaced))
    for old in replaced:
        old.status, old.updated_at = REPLACED, now
    up = BidUpload(id=secrets.token_urlsafe(32), tender_id=t.id, lot=lot, organisation_id=actor.organisation_id,
                   user_id=actor.user_id, upload_length=length, upload_offset=0, upload_metadata=metadata,
                   created_at=now, updated_at=now, status=OPEN, refusal="")
    session.add(up)
    session.flush()
    record(session, actor=actor, action="bid.upload_created", object_type="bid_upload", object_id=up.id, now=now,
           tender_id=t.id, payload={"upload": up.id, "length": length, "tender_id": t.id, "lot": lot,
                                    "replaces": [old.id for old in replaced]})
    return up, [old.id for old in replaced]


def terminate_upload(session: Session, *, actor: Actor, upload_id: str, now: datetime) -> BidUpload:
    """tus termination: an open upload is closed for good (the caller deletes its part file after the
    commit); ending an already closed one again is harmless; a finished one is a bid, withdrawn otherwise."""
    up = own_upload(session, actor=actor, upload_id=upload_id, lock=True)
    if up.status == COMPLETE:
        raise UploadFinished(bid_id=up.bid.public_id)
    if up.status == OPEN:
        up.status, up.updated_at = TERMINATED, now
        record(session, actor=actor, action="bid.upload_terminated", object_type="bid_upload", object_id=up.id,
               now=now, tender_id=up.tender_id, payload={"upload": up.id, "received": up.upload_offset,
                                                         "length": up.upload_length})
    return up


def _close(session: Session, up: BidUpload, exc: DomainError, now: datetime, actor: Actor) -> None:
    if isinstance(exc, UploadAbandoned):
        up.status = ABANDONED
    elif isinstance(exc, (rules.DeadlinePassed, UploadExpired)):
        up.status = EXPIRED
    else:
        up.status = REFUSED
    up.refusal, up.updated_at = exc.code[:64], now
    record(session, actor=actor, action="bid.upload_closed", object_type="bid_upload", object_id=up.id, now=now,
           tender_id=up.tender_id, payload={"upload": up.id, "status": up.status, "reason": up.refusal,
                                            "received": up.upload_offset, "length": up.upload_length})


def _close_after(tx: Transaction, *, actor: Actor, upload_id: str, exc: DomainError, now: datetime,
                 data_dir: Path) -> None:
    """Close an upload that ``exc`` refused (its own transaction, as the failed one rolled back)."""
    with tx() as s:
        up = own_upload(s, actor=actor, upload_id=upload_id, lock=True)
        if up.status == OPEN:
            _close(s, up, exc, now, actor)
    discard_part(data_dir, upload_id)


@dataclass(frozen=True)
class Appended:
    offset: int
    length: int
    bid: Bid | None = None
    """The bid the upload became, when this request brought its last byte."""
    expires: datetime | None = None
    """When the upload, not finished yet, is abandoned unless more arrives (tus ``Upload-Expires``)."""


def append(tx: Transaction, *, actor: Actor, upload_id: str, offset: int, stream: BinaryIO,
           content_length: int | None, clock: Callable[[], datetime], data_dir: Path, blobs: BlobStore,
           signer, idle: timedelta = IDLE, quota: rules.Quota | None = None) -> Appended:
    """tus PATCH: append ``stream`` at ``offset``; see the module's description for the steps.  ``clock`` is
    read when the request starts (the deadline) and again when its last byte has arrived."""
    with tx() as s:
        up = own_upload(s, actor=actor, upload_id=upload_id)
        require_open(up)
        recorded = up.upload_offset
    path = part_path(data_dir, upload_id)
    if recorded == 0:
        _new_part(path)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        with tx() as s:  # finished or closed in the meantime, or else the bytes are gone
            require_open(own_upload(s, actor=actor, upload_id=upload_id))
        _close_after(tx, actor=actor, upload_id=upload_id, exc=UploadLost(), now=clock(), data_dir=data_dir)
        raise UploadLost() from None
    with os.fdopen(fd, "r+b") as part:
        try:
            fcntl.flock(part, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadBusy() from None
        return _append_locked(tx, part, actor=actor, upload_id=upload_id, offset=offset, stream=stream,
                              content_length=content_length, clock=clock, data_dir=data_dir, blobs=blobs,
                              signer=signer, idle=idle, quota=quota)


def _append_locked(tx: Transaction, part: BinaryIO, *, actor: Actor, upload_id: str, offset: int, stream: BinaryIO,
                   content_length: int | None, clock: Callable[[], datetime], data_dir: Path, blobs: BlobStore,
                   signer, idle: timedelta, quota: rules.Quota | None) -> Appended:
    start = clock()
    refused: DomainError | None = None
    with tx() as s:
        up = own_upload(s, actor=actor, upload_id=upload_id, lock=True)
        try:
            require_open(up)
        except (UploadClosed, UploadExpired):  # closed since the first look: no part file of its own
            discard_part(data_dir, upload_id)
            raise
        length = up.upload_length
        try:
            bids.check_submission(s, actor=actor, tender_id=up.tender_id, now=start)
        except InvalidTransition as exc:  # past the deadline (DeadlinePassed), or the tender cancelled
            refused = exc
        else:
            if rules.is_abandoned(up.updated_at, idle, start):
                refused = UploadAbandoned(minutes=_minutes(idle))
        if refused is None:
            if offset != up.upload_offset:
                raise UploadOffsetMismatch(offset=up.upload_offset, given=offset)
            if os.fstat(part.fileno()).st_size < offset:
                refused = UploadLost()
        if refused is not None:
            _close(s, up, refused, start, actor)  # committed: this upload can never become a bid
    if refused is not None:
        discard_part(data_dir, upload_id)
        raise refused
    room = length - offset
    if content_length is not None and content_length > room:
        raise UploadOverflow(length=length)

    part.truncate(offset)  # bytes past the recorded offset were never confirmed: not trusted
    part.seek(offset)
    received, recorded, interrupted = 0, 0, False

    def keep(at: datetime) -> None:
        """Sync what this request wrote so far and record it: a resumed upload continues after it."""
        nonlocal recorded
        part.flush()
        os.fsync(part.fileno())  # on disk before the offset that vouches for it is recorded
        with tx() as s:
            up = own_upload(s, actor=actor, upload_id=upload_id, lock=True)
            require_open(up)  # terminated or replaced meanwhile: its bytes are discarded
            if up.upload_offset != offset + recorded:
                raise UploadOffsetMismatch(offset=up.upload_offset, given=offset + recorded)
            up.upload_offset, up.updated_at = offset + received, at
        recorded = received

    try:
        while True:
            try:
                piece = stream.read(min(PIECE, room - received + 1))  # one byte more than room tells an overflow
            except (OSError, ValueError, ClientDisconnected):
                interrupted = True
                break
            if not piece:
                break
            if received + len(piece) > room:
                part.truncate(offset + recorded)
                received = recorded
                raise UploadOverflow(length=length)
            part.write(piece)
            received += len(piece)
            if received - recorded >= SYNC_EVERY:
                keep(clock())
    except BaseException:
        # Anything else that ends the request here (the worker told to stop, a timeout, a bug): what reached the
        # disk is kept all the same, as far as it can be; the answer is the failure's.
        if received > recorded:
            try:
                keep(clock())
            except Exception:  # noqa: BLE001 - the first failure is the one to report
                pass
        raise
    arrived = clock()  # when the last byte of this request arrived
    if received > recorded:
        keep(arrived)
    if interrupted:
        raise UploadInterrupted(offset=offset + received)
    if offset + received < length:
        with tx() as s:
            until = expires(s, own_upload(s, actor=actor, upload_id=upload_id), idle)
        return Appended(offset + received, length, expires=until)
    bid = _finish(tx, part, actor=actor, upload_id=upload_id, length=length, received_at=arrived,
                  data_dir=data_dir, blobs=blobs, signer=signer, quota=quota)
    return Appended(length, length, bid)


def _finish(tx: Transaction, part: BinaryIO, *, actor: Actor, upload_id: str, length: int, received_at: datetime,
            data_dir: Path, blobs: BlobStore, signer, quota: rules.Quota | None = None) -> Bid:
    """The last byte has arrived (at ``received_at``): the upload becomes a bid, or is refused for good."""
    path = part_path(data_dir, upload_id)
    try:
        part.seek(0)
        sealing.check_age_header(part.read(bids.HEAD), size=length)
        part.seek(0)
        digest, size = hashlib.sha256(), 0
        while chunk := part.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
        if size != length:
            raise UploadLost()
        stored = StoredBlob(digest.hexdigest(), size)
        with tx() as s:
            up = own_upload(s, actor=actor, upload_id=upload_id, lock=True)
            require_open(up)
            bid = bids.submit_bid(s, actor=actor, tender_id=up.tender_id, lot=up.lot, stored=stored,
                                  now=received_at, signer=signer, quota=quota, upload_id=up.id)
            up.status, up.bid_id, up.updated_at = COMPLETE, bid.id, received_at
            s.flush()
            blobs.adopt(path, stored.sha256)  # last: a refusal above leaves nothing in the store
        discard_part(data_dir, upload_id)  # committed: the blob store holds it now (a failed commit keeps both)
        return bid
    except (UploadClosed, UploadFinished):
        raise  # closed by its owner meanwhile: nothing more to do
    except DomainError as exc:
        _close_after(tx, actor=actor, upload_id=upload_id, exc=exc, now=received_at, data_dir=data_dir)
        raise


def describe(session: Session, up: BidUpload, now: datetime, idle: timedelta = IDLE) -> dict:
    """The JSON an owner gets for ``GET`` on the upload: its progress, and the bid with its receipt at the end."""
    out = {"id": up.id, "tender_id": up.tender_id, "lot": up.lot, "length": up.upload_length,
           "offset": up.upload_offset, "status": state(session, up, now, idle), "refusal": up.refusal or None,
           "created_at": up.created_at.isoformat(), "updated_at": up.updated_at.isoformat(), "bid": None}
    if up.bid_id is not None:
        bid = session.get(Bid, up.bid_id)
        out["bid"] = {"id": bid.public_id, "lot": bid.lot, "sha256": bid.sha256, "size": bid.size, "status": bid.status,
                      "received_at": bid.received_at.isoformat(), "receipt": json.loads(bid.receipt)}
    return out


def clean_parts(session: Session, *, data_dir: Path, now: datetime, idle: timedelta = IDLE) -> int:
    """Close the open uploads no one can use any more (their deadline has passed: ``expired``; no byte reached
    them for ``idle``: ``abandoned``), each with its audit event, and delete the part files of closed uploads
    and of no upload at all.  A part file a PATCH is writing to (its lock held) is left for the next run.
    Returns how many files were deleted; the caller commits."""
    system = Actor.system("maintenance")
    for up in session.scalars(select(BidUpload).where(BidUpload.status == OPEN).order_by(BidUpload.id)
                              .with_for_update()).all():
        if deadline_passed(session, up, now):
            _close(session, up, rules.DeadlinePassed(), now, system)
        elif rules.is_abandoned(up.updated_at, idle, now) and not _busy(part_path(data_dir, up.id)):
            _close(session, up, UploadAbandoned(minutes=_minutes(idle)), now, system)
    base = folder(data_dir)
    if not base.is_dir():
        return 0
    deleted = 0
    for path in sorted(base.glob("*.part")):
        upload_id = path.name[:-len(".part")]
        up = session.get(BidUpload, upload_id)
        if up is not None and up.status == OPEN:
            continue
        if _busy(path):
            continue
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            pass
    return deleted


def _busy(path: Path) -> bool:
    """A PATCH holds the part file's lock: bytes are arriving now."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False
