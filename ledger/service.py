"""The ledger's services: entries applied to the tables with their balances in the caller's transaction, and
the operations on deposits, each one audit event (docs/ledger.md).

``apply`` is the one writer of entries.  It takes the balance rows of every account the entry touches with
``SELECT … FOR UPDATE`` in one fixed order (account id, currency), then looks the idempotency key up again, so
that concurrent submissions of one entry (the same refund run by eight workers) wait for each other and the
later ones find it made: on PostgreSQL as on SQLite (whose writers are serialised by ``BEGIN IMMEDIATE``).
The unique keys of ``ledger_entry`` (``key``, ``pending_key``, ``reverses``) stand behind it."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from audit.service import record
from core.actor import Actor
from core.errors import N_, DomainError, InvalidInput
from core.roles import Role
from ledger import rules, statements
from ledger.models import (LedgerAccount, LedgerBalance, LedgerEntry, LedgerPosting, LedgerStatement,
                           LedgerStatementLine)

KIND = "ledger"
"""The audit subject kind of the ledger: a deposit (its sub-account's code), a statement, an entry."""

OPERATORS = frozenset({Role.ADMIN, Role.SYSTEM})
"""Who runs collection and refunds: the platform's operators and its scheduled jobs."""


class LedgerForbidden(DomainError):
    code = "ledger_forbidden"
    status = 403
    default_message = N_("You may not do this in the ledger.")


class NothingToRefund(rules.LedgerError):
    code = "nothing_to_refund"
    default_message = N_("Bidder %(bidder)s has no deposit to settle for tender %(tender)s.")


class ReasonRequired(InvalidInput):
    code = "reason_required"
    default_message = N_("Give the reason for the decision.")


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def ensure_accounts(session: Session, codes: Iterable[str]) -> dict[str, int]:
    """The ids of the accounts with these codes, made when missing (concurrently safe)."""
    wanted = sorted(set(codes))
    parsed = [rules.parse_account(code) for code in wanted]
    insert = _insert(session)
    session.execute(insert(LedgerAccount).values([
        {"code": a.code, "kind": a.kind.value, "tender_id": a.tender_id, "bidder_id": a.bidder_id} for a in parsed
    ]).on_conflict_do_nothing(index_elements=["code"]))
    return dict(session.execute(select(LedgerAccount.code, LedgerAccount.id).where(LedgerAccount.code.in_(wanted))).all())


def _lock_balances(session: Session, keys: Iterable[rules.BalanceKey]) -> tuple[dict[rules.BalanceKey, LedgerBalance],
                                                                                  dict[str, int]]:
    keys = sorted(set(keys))
    ids = ensure_accounts(session, [code for code, _ in keys])
    pairs = sorted({(ids[code], currency) for code, currency in keys})
    insert = _insert(session)
    session.execute(insert(LedgerBalance).values([
        {"account_id": aid, "currency": cur, "debits_posted": 0, "credits_posted": 0, "debits_pending": 0,
         "credits_pending": 0} for aid, cur in pairs]).on_conflict_do_nothing(index_elements=["account_id", "currency"]))
    rows = session.scalars(select(LedgerBalance).where(tuple_(LedgerBalance.account_id, LedgerBalance.currency).in_(pairs))
                           .order_by(LedgerBalance.account_id, LedgerBalance.currency)
                           .with_for_update().execution_options(populate_existing=True)).all()
    code_of = {aid: code for code, aid in ids.items()}
    return {(code_of[row.account_id], row.currency): row for row in rows}, ids


def _as_rule(session: Session, row: LedgerEntry) -> rules.Entry:
    postings = session.execute(select(LedgerAccount.code, LedgerPosting.side, LedgerPosting.amount_fen,
                                      LedgerPosting.currency)
                               .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
                               .where(LedgerPosting.entry_id == row.id).order_by(LedgerPosting.id)).all()
    return rules.Entry(key=row.key, kind=row.kind, postings=tuple(rules.Posting(*p) for p in postings),
                       phase=rules.Phase(row.phase), pending_key=row.pending_key, reverses=row.reverses,
                       reason=row.reason)


def find_entry(session: Session, key: str) -> rules.Entry | None:
    row = session.scalar(select(LedgerEntry).where(LedgerEntry.key == key))
    return _as_rule(session, row) if row is not None else None


def _same_or_conflict(session: Session, row: LedgerEntry, entry: rules.Entry) -> tuple[LedgerEntry, bool]:
    if _as_rule(session, row).digest_fields() != entry.digest_fields():
        raise rules.IdempotencyConflict(key=entry.key)
    return row, False


def apply(session: Session, entry: rules.Entry, *, now: datetime,
          statement_line_id: int | None = None) -> tuple[LedgerEntry, bool]:
    """Write one entry and its balances (True), or find it already written (False); refuse it by the rules."""
    rules.check_entry(entry)
    existing = session.scalar(select(LedgerEntry).where(LedgerEntry.key == entry.key))
    if existing is not None:
        return _same_or_conflict(session, existing, entry)
    linked_key = entry.pending_key or entry.reverses
    linked = find_entry(session, linked_key) if linked_key else None
    legs = linked.postings if entry.phase in (rules.Phase.POST, rules.Phase.VOID) and linked else entry.postings
    if not legs:
        raise rules.NotPending(key=entry.pending_key)
    balances, ids = _lock_balances(session, [(p.account, p.currency) for p in legs])
    existing = session.scalar(select(LedgerEntry).where(LedgerEntry.key == entry.key)
                              .execution_options(populate_existing=True))
    if existing is not None:  # made by another transaction while this one waited for the locks
        return _same_or_conflict(session, existing, entry)
    settled = entry.pending_key is not None and session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.pending_key == entry.pending_key)) is not None
    reversed_already = entry.reverses is not None and session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.reverses == entry.reverses)) is not None
    pending = rules.check_links(entry, linked, settled=settled, reversed_already=reversed_already)
    current = {k: rules.Balance(b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending)
               for k, b in balances.items()}
    for bkey, new in rules.apply_moves(current, entry, pending).items():
        row = balances[bkey]
        row.debits_posted, row.credits_posted = new.debits_posted, new.credits_posted
        row.debits_pending, row.credits_pending = new.debits_pending, new.credits_pending
    row = LedgerEntry(key=entry.key, kind=entry.kind, phase=entry.phase.value, pending_key=entry.pending_key,
                      reverses=entry.reverses, reason=entry.reason, created_at=now,
                      statement_line_id=statement_line_id)
    session.add(row)
    session.flush()
    session.add_all(LedgerPosting(entry_id=row.id, account_id=ids[p.account], side=p.side, amount_fen=p.amount_fen,
                                  currency=p.currency) for p in entry.postings)
    session.flush()
    return row, True


def entry_payload(entry: rules.Entry) -> dict[str, Any]:
    """An entry as its audit event carries it: enough to recompute every balance from the log alone."""
    return {"key": entry.key, "kind": entry.kind, "phase": entry.phase.value, "pending_key": entry.pending_key,
            "reverses": entry.reverses, "reason": entry.reason,
            "postings": [[p.account, p.side, p.amount_fen, p.currency] for p in entry.postings]}


def _require(actor: Actor, roles: frozenset[Role]) -> None:
    if actor.role not in roles:
        raise LedgerForbidden()


# ---------------------------------------------------------------- reading


def balance(session: Session, code: str, currency: str = "CNY") -> rules.Balance:
    row = session.execute(select(LedgerBalance).join(LedgerAccount, LedgerAccount.id == LedgerBalance.account_id)
                          .where(LedgerAccount.code == code, LedgerBalance.currency == currency)).scalar()
    return rules.Balance(row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending) if row \
        else rules.Balance()


def trial_balance(session: Session) -> dict:
    rows = session.execute(select(LedgerAccount.code, LedgerBalance.currency,
                                  LedgerBalance.debits_posted - LedgerBalance.credits_posted)
                           .join(LedgerAccount, LedgerAccount.id == LedgerBalance.account_id)).all()
    return rules.trial_balance({(code, cur): int(signed) for code, cur, signed in rows})


# ---------------------------------------------------------------- deposit operations


def _deposit_held(session: Session, tender_id: int, bidder_id: int, currency: str) -> int:
    bal = balance(session, rules.deposit_account(tender_id, bidder_id), currency)
    return bal.credits_posted - bal.debits_posted


def start_refund(session: Session, *, actor: Actor, tender_id: int, bidder_id: int, bank: str, now: datetime,
                 interest_fen: int = 0, currency: str = "CNY", reason: str = "") -> tuple[rules.Entry, bool]:
    """Refund the whole deposit a bidder holds for a tender (with interest), pending until the bank confirms.
    The same refund again does nothing (False); a deposit already refunded or forfeited is refused."""
    _require(actor, OPERATORS)
    key = rules.settlement_key(tender_id, bidder_id)
    known = find_entry(session, key)
    if known is not None:
        if known.kind != "refund":
            raise rules.IdempotencyConflict(key=key)
        return known, False
    held = _deposit_held(session, tender_id, bidder_id, currency)
    if held <= 0:
        raise NothingToRefund(tender=tender_id, bidder=bidder_id)
    entry = rules.refund(bank=bank, tender_id=tender_id, bidder_id=bidder_id, amount_fen=held,
                         interest_fen=interest_fen, currency=currency, reason=reason)
    _row, made = apply(session, entry, now=now)
    if made:
        record(session, actor=actor, action="ledger.refund_started", object_type="ledger_entry", object_id=entry.key,
               now=now, payload=entry_payload(entry), subject=(KIND, rules.deposit_account(tender_id, bidder_id)))
    return (entry if made else find_entry(session, key)), made


def _settle_refund(session: Session, *, actor: Actor, tender_id: int, bidder_id: int, now: datetime, post: bool,
                   reason: str = "") -> bool:
    _require(actor, OPERATORS)
    pending_key = rules.settlement_key(tender_id, bidder_id)
    entry = rules.confirm(pending_key) if post else rules.void(pending_key, reason=reason)
    _row, made = apply(session, entry, now=now)
    if made:
        record(session, actor=actor, action="ledger.refund_confirmed" if post else "ledger.refund_voided",
               object_type="ledger_entry", object_id=entry.key, now=now, payload=entry_payload(entry),
               subject=(KIND, rules.deposit_account(tender_id, bidder_id)))
    return made


def confirm_refund(session: Session, *, actor: Actor, tender_id: int, bidder_id: int, now: datetime) -> bool:
    """The bank paid the refund: the pending entry is posted (once)."""
    return _settle_refund(session, actor=actor, tender_id=tender_id, bidder_id=bidder_id, now=now, post=True)


def void_refund(session: Session, *, actor: Actor, tender_id: int, bidder_id: int, now: datetime,
                reason: str) -> bool:
    """The refund bounced: the pending entry is voided (once), the deposit is held again."""
    if not (reason or "").strip():
        raise ReasonRequired(field="reason")
    return _settle_refund(session, actor=actor, tender_id=tender_id, bidder_id=bidder_id, now=now, post=False,
                          reason=reason.strip())


def forfeit_deposit(session: Session, *, actor: Actor, tender_id: int, bidder_id: int, reason: str,
                    now: datetime, currency: str = "CNY") -> bool:
    """Forfeit a bidder's deposit: a supervisor's approved decision with its reason, at most once."""
    _require(actor, frozenset({Role.SUPERVISOR}))
    if not (reason or "").strip():
        raise ReasonRequired(field="reason")
    key = rules.settlement_key(tender_id, bidder_id)
    known = find_entry(session, key)
    if known is not None:
        raise rules.IdempotencyConflict(key=key)  # already refunded or forfeited
    held = _deposit_held(session, tender_id, bidder_id, currency)
    if held <= 0:
        raise NothingToRefund(tender=tender_id, bidder=bidder_id)
    entry = rules.forfeit(tender_id=tender_id, bidder_id=bidder_id, amount_fen=held, currency=currency,
                          reason=reason.strip())
    apply(session, entry, now=now)
    record(session, actor=actor, action="ledger.deposit_forfeited", object_type="ledger_entry", object_id=entry.key,
           now=now, payload=entry_payload(entry), subject=(KIND, rules.deposit_account(tender_id, bidder_id)))
    return True


def reverse_entry(session: Session, *, actor: Actor, key: str, reason: str, now: datetime) -> rules.Entry:
    """Correct a posted entry by its reversal (once), with the reason."""
    _require(actor, OPERATORS)
    if not (reason or "").strip():
        raise ReasonRequired(field="reason")
    original = find_entry(session, key)
    if original is None:
        raise rules.NotReversible(key=key)
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.reverses == key)) is not None:
        raise rules.AlreadyReversed(key=key)
    correction = rules.reversal_of(original, f"reverse:{key}"[:128], reason.strip())
    apply(session, correction, now=now)
    record(session, actor=actor, action="ledger.entry_reversed", object_type="ledger_entry",
           object_id=correction.key, now=now, payload=entry_payload(correction), subject=(KIND, key[:64]))
    return correction


# ---------------------------------------------------------------- bank statements


class StatementConflict(rules.LedgerError):
    code = "statement_conflict"
    default_message = N_("Another statement %(reference)s of this bank account was already imported.")


@dataclass(frozen=True)
class Imported:
    statement_id: int
    made: bool  # False: this very statement was imported before, nothing changed
    counts: dict[str, int]


def _dues(session: Session, keys: set[tuple[int, int]]) -> dict[tuple[int, int], rules.Due]:
    """The deposit each (tender, bidder) reference names, for published tenders and existing bidders."""
    from accounts.models import Organisation
    from tender.models import Tender

    tenders = {tid: (fen, deadline) for tid, fen, deadline in session.execute(
        select(Tender.id, Tender.deposit_fen, Tender.deadline)
        .where(Tender.id.in_(sorted({t for t, _ in keys})), Tender.published_at.is_not(None)))}
    bidders = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(sorted({b for _, b in keys})))))
    return {(t, b): rules.Due(tenders[t][0], "CNY", tenders[t][1]) for t, b in keys if t in tenders and b in bidders}


def import_statement(session: Session, *, actor: Actor, data: bytes, now: datetime, zone: str = "Asia/Shanghai",
                     progress: Callable[[int], None] | None = None) -> Imported:
    """Book every credit line of a bank statement (CSV or camt.053): the bank debited and the matching bidder's
    sub-account credited, or the unmatched receipts.  Read whole first (``MalformedStatement`` names every
    problem by line, nothing is booked); the same statement again changes nothing, and a line whose entry
    reference was booked before (in another statement) is not booked again.  One audit event."""
    _require(actor, OPERATORS)
    stmt = statements.read_statement(data, zone=zone)
    known = session.scalar(select(LedgerStatement).where(LedgerStatement.bank_account == stmt.bank_account,
                                                         LedgerStatement.reference == stmt.reference))
    if known is not None:
        if known.sha256 != stmt.sha256:
            raise StatementConflict(reference=stmt.reference)
        return Imported(known.id, False, {})
    row = LedgerStatement(bank_account=stmt.bank_account, reference=stmt.reference, format=stmt.format,
                          sha256=stmt.sha256, imported_at=now, lines=len(stmt.lines))
    session.add(row)
    session.flush()
    booked_before = set(session.scalars(select(LedgerStatementLine.entry_reference).where(
        LedgerStatementLine.bank_account == stmt.bank_account,
        LedgerStatementLine.entry_reference.in_([line.entry_reference for line in stmt.lines]))))
    refs = {line.line_no: rules.read_reference(line.remittance) for line in stmt.lines}
    dues = _dues(session, {r for r in refs.values() if r is not None})
    counts: dict[str, int] = {"already": 0, "debit_lines": stmt.debit_lines}
    entries = []
    for done, line in enumerate(stmt.lines, 1):
        if line.entry_reference in booked_before:
            counts["already"] += 1
        else:
            ref = refs[line.line_no]
            due = dues.get(ref) if ref else None
            if due is not None:
                bal = balance(session, rules.deposit_account(*ref), due.currency)
                due = rules.Due(due.deposit_fen, due.currency, due.deadline, bal.credits_posted - bal.debits_posted)
            outcome = rules.classify(amount_fen=line.amount_fen, currency=line.currency, booked_at=line.booked_at,
                                     due=due)
            line_row = LedgerStatementLine(statement_id=row.id, line_no=line.line_no, bank_account=stmt.bank_account,
                                           entry_reference=line.entry_reference, booked_at=line.booked_at,
                                           amount_fen=line.amount_fen, currency=line.currency,
                                           payer_account=line.payer_account, payer_name=line.payer_name,
                                           remittance=line.remittance, outcome=outcome.value)
            session.add(line_row)
            session.flush()
            key = f"stmt:{stmt.bank_account.split('.', 1)[1]}:{line.entry_reference}"[:128]
            if outcome is rules.Outcome.MATCHED:
                entry = rules.collection(key, bank=stmt.bank_account, tender_id=ref[0], bidder_id=ref[1],
                                         amount_fen=line.amount_fen, currency=line.currency)
            else:
                entry = rules.unmatched_receipt(key, bank=stmt.bank_account, amount_fen=line.amount_fen,
                                                currency=line.currency, reason=outcome.value)
            apply(session, entry, now=now, statement_line_id=line_row.id)
            entries.append(entry_payload(entry))
            counts[outcome.value] = counts.get(outcome.value, 0) + 1
        if progress is not None:
            progress(done)
    record(session, actor=actor, action="ledger.statement_imported", object_type="ledger_statement", object_id=row.id,
           now=now, payload={"bank_account": stmt.bank_account, "reference": stmt.reference, "format": stmt.format,
                             "sha256": stmt.sha256, "counts": counts, "entries": entries},
           subject=(KIND, f"statement:{row.id}"))
    return Imported(row.id, True, counts)


# ---------------------------------------------------------------- refunds due


@dataclass(frozen=True)
class RefundDue:
    tender_id: int
    bidder_id: int
    held_fen: int
    currency: str
    due_by: datetime
    reason: str  # "withdrawn": the bidder withdrew before the deadline


def refunds_due(session: Session) -> list[RefundDue]:
    """The deposits to refund that are not refunded yet: those of bidders whose bids for a tender were all
    withdrawn before its deadline (due 5 days after the last withdrawal, 实施条例 art. 35)."""
    from tender.models import Bid, Tender

    held = session.execute(
        select(LedgerAccount.tender_id, LedgerAccount.bidder_id, LedgerBalance.currency,
               LedgerBalance.credits_posted - LedgerBalance.debits_posted - LedgerBalance.debits_pending)
        .join(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
        .where(LedgerAccount.kind == rules.Kind.DEPOSIT.value,
               LedgerBalance.credits_posted - LedgerBalance.debits_posted - LedgerBalance.debits_pending > 0)).all()
    if not held:
        return []
    settled = set(session.scalars(select(LedgerEntry.key).where(LedgerEntry.key.in_(
        [rules.settlement_key(t, b) for t, b, _c, _h in held]))))
    pairs = {(t, b) for t, b, _c, _h in held}
    bids = session.execute(select(Bid.tender_id, Bid.organisation_id, Bid.status, Bid.withdrawn_at, Tender.deadline)
                           .join(Tender, Tender.id == Bid.tender_id)
                           .where(Bid.tender_id.in_(sorted({t for t, _ in pairs})))).all()
    withdrawn: dict[tuple[int, int], datetime] = {}
    active: set[tuple[int, int]] = set()
    for tid, org, status, withdrawn_at, deadline in bids:
        if (tid, org) not in pairs:
            continue
        if status == "withdrawn" and withdrawn_at is not None and withdrawn_at < deadline:
            withdrawn[(tid, org)] = max(withdrawn.get((tid, org), withdrawn_at), withdrawn_at)
        elif status == "current":
            active.add((tid, org))
    out = [RefundDue(t, b, int(h), c, rules.withdrawal_refund_due(withdrawn[(t, b)]), "withdrawn")
           for t, b, c, h in held
           if (t, b) in withdrawn and (t, b) not in active and rules.settlement_key(t, b) not in settled]
    return sorted(out, key=lambda r: (r.due_by, r.tender_id, r.bidder_id))


def paying_bank(session: Session, tender_id: int, bidder_id: int) -> str | None:
    """The platform's bank account that received the bidder's deposit (the refund goes out from it)."""
    deposit = rules.deposit_account(tender_id, bidder_id)
    credited = (select(LedgerPosting.entry_id).join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
                .where(LedgerAccount.code == deposit, LedgerPosting.side == rules.CREDIT))
    return session.scalar(select(LedgerAccount.code).join(LedgerPosting, LedgerPosting.account_id == LedgerAccount.id)
                          .where(LedgerPosting.entry_id.in_(credited), LedgerAccount.kind == rules.Kind.BANK.value,
                                 LedgerPosting.side == rules.DEBIT).order_by(LedgerPosting.id).limit(1))


# ---------------------------------------------------------------- for the opening and for supervision


@dataclass(frozen=True)
class DepositCheck:
    required_fen: int
    received_fen: int  # received on the bidder's sub-account before the deadline, from statement lines
    ok: bool  # no deposit required, or all of it received in time


def deposit_checks(session: Session, tender_id: int) -> dict[int, DepositCheck]:
    """For each bidder with a deposit sub-account for the tender, whether its deposit was in on time: the
    credits from statement lines booked before the deadline cover the deposit (what the opening asks).
    A bidder absent from the answer paid nothing."""
    from tender.models import Tender

    tender = session.get(Tender, tender_id)
    if tender is None:
        return {}
    rows = session.execute(
        select(LedgerAccount.bidder_id, func.coalesce(func.sum(LedgerPosting.amount_fen), 0))
        .join(LedgerPosting, LedgerPosting.account_id == LedgerAccount.id)
        .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
        .join(LedgerStatementLine, LedgerStatementLine.id == LedgerEntry.statement_line_id)
        .where(LedgerAccount.kind == rules.Kind.DEPOSIT.value, LedgerAccount.tender_id == tender_id,
               LedgerPosting.side == rules.CREDIT, LedgerStatementLine.booked_at < tender.deadline)
        .group_by(LedgerAccount.bidder_id)).all()
    required = int(tender.deposit_fen or 0)
    return {int(b): DepositCheck(required, int(fen), int(fen) >= required) for b, fen in rows}


def shared_payer_accounts(session: Session, tender_id: int) -> dict[str, list[int]]:
    """Payer bank accounts from which the deposits of more than one bidder of a tender were paid (a sign of
    collusion to report to supervision, 实施条例 art. 40): payer account -> the bidders."""
    rows = session.execute(
        select(LedgerStatementLine.payer_account, LedgerAccount.bidder_id)
        .join(LedgerEntry, LedgerEntry.statement_line_id == LedgerStatementLine.id)
        .join(LedgerPosting, LedgerPosting.entry_id == LedgerEntry.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .where(LedgerAccount.kind == rules.Kind.DEPOSIT.value, LedgerAccount.tender_id == tender_id,
               LedgerStatementLine.payer_account != "").distinct()).all()
    by_payer: dict[str, set[int]] = {}
    for payer, bidder in rows:
        by_payer.setdefault(payer, set()).add(int(bidder))
    return {payer: sorted(bidders) for payer, bidders in sorted(by_payer.items()) if len(bidders) > 1}
