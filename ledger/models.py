"""The ledger's tables (docs/ledger.md): accounts, entries and their postings, balances kept in the same
transaction as the postings, and the imported bank statements with their lines.

Entries and postings are never changed once written (a correction is a reversal): an update or a delete of
one through the ORM raises ``ImmutableEntry``."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class ImmutableEntry(RuntimeError):
    """A ledger entry or posting was about to be changed or deleted."""


class LedgerAccount(Base):
    __tablename__ = "ledger_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    tender_id: Mapped[int | None] = mapped_column(Integer, index=True)
    bidder_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the bidder organisation


class LedgerBalance(Base):
    """An account's balance in one currency: posted and pending debits and credits, in fen."""

    __tablename__ = "ledger_balance"

    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerEntry(Base):
    """A journal entry.  ``key`` is its idempotency key; ``pending_key`` (a posting or voiding of a pending
    entry) and ``reverses`` are unique, so a pending entry settles once and an entry is reversed once."""

    __tablename__ = "ledger_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    phase: Mapped[str] = mapped_column(String(8))
    pending_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    reverses: Mapped[str | None] = mapped_column(String(128), unique=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    statement_line_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_statement_line.id"), index=True)


class LedgerPosting(Base):
    __tablename__ = "ledger_posting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    side: Mapped[str] = mapped_column(String(1))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


class LedgerStatement(Base):
    """An imported bank statement: its bank's reference (unique per bank account) and the file's digest."""

    __tablename__ = "ledger_statement"
    __table_args__ = (UniqueConstraint("bank_account", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_account: Mapped[str] = mapped_column(String(34))
    reference: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lines: Mapped[int] = mapped_column(Integer)


class LedgerStatementLine(Base):
    """One credit line of a statement, by the bank's entry reference (unique per bank account, so a line
    that comes again in another statement is not booked twice)."""

    __tablename__ = "ledger_statement_line"
    __table_args__ = (UniqueConstraint("bank_account", "entry_reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("ledger_statement.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    bank_account: Mapped[str] = mapped_column(String(34))
    entry_reference: Mapped[str] = mapped_column(String(64))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payer_account: Mapped[str] = mapped_column(String(64), default="")
    payer_name: Mapped[str] = mapped_column(String(140), default="")
    remittance: Mapped[str] = mapped_column(String(500), default="")
    outcome: Mapped[str] = mapped_column(String(16))  # matched, late, unmatched, partial, over


@event.listens_for(LedgerEntry, "before_update")
@event.listens_for(LedgerEntry, "before_delete")
@event.listens_for(LedgerPosting, "before_update")
@event.listens_for(LedgerPosting, "before_delete")
def _immutable(_mapper, _connection, target) -> None:
    raise ImmutableEntry(f"ledger entries never change: {type(target).__name__} {target.id}")
