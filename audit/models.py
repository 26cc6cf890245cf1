"""The audit log: one row per recorded act, chained by hash."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_entry"

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
    tender_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON (RFC 8785)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    leaf_hash: Mapped[str] = mapped_column(String(64))  # RFC 9162 leaf hash of the canonical entry
    # 32 random bytes (hex) hashed with the entry (format version 2); NULL for entries written before
    salt: Mapped[str | None] = mapped_column(String(64), nullable=True)


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
