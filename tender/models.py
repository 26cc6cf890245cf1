"""Tenders, lots, documents, amendments, downloads, questions, the opening key and its shares, key custodians'
own age recipients and their registration challenges.

Money is stored as integer fen (``*_fen``) with a currency; status is never stored:
it is derived from these facts and the clock (tender.rules.derive_status).
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime


class Tender(Base):
    __tablename__ = "tender_tender"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    regime: Mapped[str] = mapped_column(String(16))  # works | procurement
    category: Mapped[str] = mapped_column(String(16), index=True)  # works | goods | services
    region: Mapped[str] = mapped_column(String(100), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    qualification: Mapped[str] = mapped_column(Text, default="")
    evaluation_method: Mapped[str] = mapped_column(String(32), default="comprehensive")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    estimated_price_fen: Mapped[int] = mapped_column(BigInteger)
    deposit_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    agency_id: Mapped[int] = mapped_column(ForeignKey("core_organisation.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("core_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    download_start: Mapped[datetime] = mapped_column(UTCDateTime())
    download_end: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # 开标 completed
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # 流标
    settings: Mapped[str] = mapped_column(Text, default="{}")  # JSON of tender.rules.RuleSettings
    version: Mapped[int] = mapped_column(Integer, default=1)

    lots: Mapped[list["Lot"]] = relationship(order_by="Lot.number", cascade="all, delete-orphan")
    documents: Mapped[list["Document"]] = relationship(order_by="Document.id")
    amendments: Mapped[list["Amendment"]] = relationship(order_by="Amendment.number")
    questions: Mapped[list["Question"]] = relationship(order_by="Question.id")
    required_docs: Mapped[list["RequiredDocument"]] = relationship(order_by="RequiredDocument.position",
                                                                   cascade="all, delete-orphan")

    @property
    def required_documents(self) -> list[dict]:
        """The documents every bid must hold: [{name, types (a list), max_mb}], in the order listed."""
        return [{"name": d.name, "types": d.types.split(","), "max_mb": d.max_mb} for d in self.required_docs]


class RequiredDocument(Base):
    """A document the tender requires in every bid (投标函, 资格证明文件, 技术方案, …): the bid form asks for a
    file of one of its types (extensions, comma-separated) up to its size limit, packed as ``<name>/<file>``."""

    __tablename__ = "tender_required_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    types: Mapped[str] = mapped_column(String(200))
    max_mb: Mapped[int] = mapped_column(Integer)


class Lot(Base):
    __tablename__ = "tender_lot"
    __table_args__ = (UniqueConstraint("tender_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    estimated_price_fen: Mapped[int] = mapped_column(BigInteger)


class Amendment(Base):
    """A clarification or amendment (澄清、修改), published to everyone."""

    __tablename__ = "tender_amendment"
    __table_args__ = (UniqueConstraint("tender_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    old_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    new_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int] = mapped_column(ForeignKey("core_user.id"))


class Document(Base):
    """A file of the tender documents; its bytes live in the blob store under ``sha256``."""

    __tablename__ = "tender_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id"), index=True)
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("tender_amendment.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("core_user.id"))


class Download(Base):
    """Who obtained the documents (电子招标投标办法 art. 20–21): hidden from agency staff until the deadline."""

    __tablename__ = "tender_download"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("tender_document.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("core_organisation.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Question(Base):
    """A bidder's question; the asker is never shown to the public or the agency."""

    __tablename__ = "tender_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id"), index=True)
    asker_org_id: Mapped[int] = mapped_column(ForeignKey("core_organisation.id"))
    asker_user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"))
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))


class OpeningKey(Base):
    """The public half of a tender's opening key (an age X25519 recipient).  The identity itself is
    never stored: it exists only split k-of-n among the custodians' sealed shares."""

    __tablename__ = "tender_opening_key"

    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id"), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(100))
    threshold: Mapped[int] = mapped_column(Integer)
    shares: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KeyShare(Base):
    """One custodian's share of a tender's opening identity, sealed (age) to that custodian's own recipient."""

    __tablename__ = "tender_key_share"
    __table_args__ = (UniqueConstraint("tender_id", "position"), UniqueConstraint("tender_id", "custodian_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id"), index=True)
    custodian_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_sha256: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str | None] = mapped_column(String(100))  # the custodian's recipient it was sealed to
    registration_seq: Mapped[int | None] = mapped_column(Integer)  # the audit entry that registered it


class CustodianKey(Base):
    """A key custodian's own age recipient, registered by the custodian's proof (``tender.custodians``): new
    tenders' key shares are sealed to it.  One per custodian; gone when the custodian role is removed."""

    __tablename__ = "tender_custodian_key"

    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), primary_key=True, autoincrement=False)
    recipient: Mapped[str] = mapped_column(String(100))  # age1…, canonical
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecipientChallenge(Base):
    """A random challenge sealed (age) to the recipient a custodian wants to register; only the SHA-256 of its
    plaintext is kept.  Single use: any answer, right or wrong, uses it up; it expires."""

    __tablename__ = "tender_recipient_challenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(100))
    answer_sha256: Mapped[str] = mapped_column(String(64))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)  # the armored age file handed to the custodian
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def new_public_id() -> str:
    """An opaque id for what a bidder or the public sees: 128 random bits, URL-safe base64 (22 characters).
    Not a counter and not derived from one, so it tells nothing of how many came before."""
    return secrets.token_urlsafe(16)


class Bid(Base):
    """A sealed bid: only the age ciphertext is stored (in the blob store, by its SHA-256).  The last
    submission before the deadline counts; earlier ones are kept, marked superseded.

    ``id`` is internal (keys, joins, ordering) and never leaves the platform; URLs, API answers, receipts
    and the audit log name a bid by ``public_id``."""

    __tablename__ = "tender_bid"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, index=True, default=new_public_id)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id"), index=True)
    lot: Mapped[int] = mapped_column(Integer, default=1)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("core_organisation.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="current")  # current | superseded | withdrawn
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)
    receipt: Mapped[str] = mapped_column(Text, default="")  # the signed receipt (JSON)


class OpeningShare(Base):
    """A key share a custodian presented after the deadline; deleted once the bids are opened."""

    __tablename__ = "tender_opening_share"
    __table_args__ = (UniqueConstraint("tender_id", "custodian_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id"), index=True)
    custodian_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"))
    position: Mapped[int] = mapped_column(Integer)
    share: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OpeningResult(Base):
    """One line of the opening record (开标记录): what each current bid turned out to be."""

    __tablename__ = "tender_opening_result"

    bid_id: Mapped[int] = mapped_column(ForeignKey("tender_bid.id"), primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id"), index=True)
    lot: Mapped[int] = mapped_column(Integer)
    bidder_name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(16))  # valid | failed
    reason: Mapped[str] = mapped_column(String(64), default="")
    failure_kind: Mapped[str] = mapped_column(String(32), default="")
    price_fen: Mapped[int | None] = mapped_column(BigInteger)
    duration_days: Mapped[int | None] = mapped_column(Integer)
    ciphertext_sha256: Mapped[str] = mapped_column(String(64))
    plaintext_sha256: Mapped[str] = mapped_column(String(64), default="")


class OpeningObjection(Base):
    """A bidder's confirmation of the opening record (text empty) or its objection, and the agency's answer."""

    __tablename__ = "tender_opening_objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("core_organisation.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"))
    kind: Mapped[str] = mapped_column(String(16))  # confirmed | objection
    text: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BidUpload(Base):
    """A resumable upload of a sealed bid (tus 1.0.0, tender/uploads.py).  The bytes received so far live in a
    part file under the data dir (``uploads/<id>.part``); ``upload_offset`` is how many of them are safely
    written.  When the last byte arrives the upload becomes a ``Bid`` (``bid_id``), exactly as a direct
    submission would.  The id is a random, unguessable token, and only the user who created the upload may
    touch it."""

    __tablename__ = "tender_bid_upload"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender_tender.id"), index=True)
    lot: Mapped[int] = mapped_column(Integer, default=1)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("core_organisation.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), index=True)
    upload_length: Mapped[int] = mapped_column(BigInteger)  # Upload-Length, declared at creation
    upload_offset: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes received and written
    upload_metadata: Mapped[str] = mapped_column(Text, default="")  # Upload-Metadata as given at creation
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # open | complete (became bid_id) | refused | expired (deadline) | terminated (by its owner) | replaced
    status: Mapped[str] = mapped_column(String(16), default="open")
    refusal: Mapped[str] = mapped_column(String(64), default="")  # the error code that closed it, if any
    bid_id: Mapped[int | None] = mapped_column(ForeignKey("tender_bid.id"))
    bid: Mapped[Bid | None] = relationship()

