"""The audit log: one row per recorded act, chained by hash."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, and_, case,
                        cast, false, not_, or_, true)
from sqlalchemy.ext.hybrid import Comparator, hybrid_property
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import ColumnElement, operators

from audit.rules import TENDER_KIND as TENDER
from core.db import Base, UTCDateTime


class _TenderIdComparator(Comparator[Any]):
    """``AuditEntry.tender_id == 42`` (and ``!=``, ``in_``, ``is_(None)``) as conditions on the subject columns,
    so a query by tender uses their index."""

    def __init__(self, kind: Any, subject_id: Any):
        self.kind, self.subject_id = kind, subject_id
        super().__init__(case((kind == TENDER, cast(subject_id, Integer))))

    def _id(self, value: Any) -> Any:
        return cast(value, String) if isinstance(value, ColumnElement) else str(int(value))

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        is_tender = self.kind == TENDER
        if op in (operators.eq, operators.is_) and other[0] is None:
            return or_(self.kind.is_(None), self.kind != TENDER)
        if op in (operators.ne, operators.is_not) and other[0] is None:
            return is_tender
        if op is operators.eq:
            return and_(is_tender, self.subject_id == self._id(other[0]))
        if op is operators.ne:
            return and_(is_tender, self.subject_id != self._id(other[0]))
        listed = isinstance(other[0], (list, tuple, set, frozenset))
        if op is operators.in_op and listed:
            values = [self._id(v) for v in other[0]]
            return and_(is_tender, self.subject_id.in_(values)) if values else false()
        if op is operators.not_in_op and listed:
            return and_(is_tender, not_(self.subject_id.in_([self._id(v) for v in other[0]])))
        return op(self.expression, *other, **kwargs)


class AuditEntry(Base):
    """An entry's hashed fields (``audit.rules.Entry``) and, outside the hashed bytes, the hashes, the salt
    and the entry's **subject**: the kind and id of the thing whose history it belongs to (``"tender"``,
    ``"42"``), an index for replay and for the per-subject filters, declared by the area that owns the kind
    (``core.area.Area.subject_kinds``).  Entries of no subject (an account, a witness) leave both NULL."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_subject", "subject_kind", "subject_id"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    subject_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # ids of any area, as text
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON (RFC 8785)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    leaf_hash: Mapped[str] = mapped_column(String(64))  # RFC 9162 leaf hash of the canonical entry
    # 32 random bytes (hex) hashed with the entry (format version 2); NULL for entries written before
    salt: Mapped[str | None] = mapped_column(String(64), nullable=True)

    @hybrid_property
    def tender_id(self) -> int | None:
        """The tender whose entry this is (subject kind ``tender``), None for any other subject or none."""
        return int(self.subject_id) if self.subject_kind == TENDER and self.subject_id is not None else None

    @tender_id.inplace.comparator
    @classmethod
    def _tender_id_comparator(cls) -> _TenderIdComparator:
        return _TenderIdComparator(cls.subject_kind, cls.subject_id)


class AuditHead(Base):
    """One row: the last sequence number and hash, and the tree's compact range.  Locked by each
    append so that sequence numbers are gapless and in commit order on every backend.

    ``frontier`` is the compact range of the tree of ``seq`` leaves: the hashes (hex, joined by
    commas, largest subtree first) of the perfect subtrees its size decomposes into.  With it an
    append reads nothing but this row to compute the subtrees the new leaf completes."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))
    frontier: Mapped[str | None] = mapped_column(Text, nullable=True)  # None: rebuilt from audit_node once


class AuditNode(Base):
    """The hash of a complete ("perfect") subtree of the RFC 9162 Merkle tree over the entries:
    leaves [start, start + size), size a power of two ≥ 2.  Stored once when it completes, so a
    proof or a root on a log of any size costs O(log n) reads."""

    __tablename__ = "audit_node"

    start: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                       autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                      autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint in a signed note) of the log at ``size`` entries."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    root: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(64))  # for supervisors only, never published
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # False: signed for one bidder's receipt and given to it only; not listed publicly (it would count bids)
    listed: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)


class AuditCosignature(Base):
    """A witness's cosignature (C2SP tlog-cosignature) of a checkpoint."""

    __tablename__ = "audit_cosignature"
    __table_args__ = (UniqueConstraint("checkpoint_id", "witness"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("audit_checkpoint.id"), index=True)
    witness: Mapped[str] = mapped_column(String(200))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    line: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditWitness(Base):
    """A registered witness: its cosignatures are accepted and shown next to the checkpoints."""

    __tablename__ = "audit_witness"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    vkey: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IssuedDocument(Base):
    """A signed PDF the platform issued (``audit.documents``): stored once per content, so every later request
    for the same document gets the very bytes whose SHA-256 the audit log holds."""

    __tablename__ = "audit_issued_document"
    __table_args__ = (UniqueConstraint("kind", "subject_kind", "subject_id", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. "opening_record"
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))  # SHA-256 of what was printed, less the time of issue
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of the signed PDF, a blob
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
