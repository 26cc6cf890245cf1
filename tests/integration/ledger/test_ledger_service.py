"""The ledger on the database: entries with their balances in one transaction, one audit event per operation,
idempotency, immutability, and the same refund run by eight concurrent workers posting exactly once."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from audit.models import AuditEntry
from core.actor import Actor
from core.db import make_engine, make_sessionmaker, unit_of_work
from core.migrate import upgrade
from core.roles import Role
from ledger import rules, service
from ledger.models import ImmutableEntry, LedgerEntry, LedgerPosting
from tests.conftest import T0

BANK = rules.bank_account("6222021234567890")
OPERATOR = Actor(user_id=None, name="ops", role=Role.ADMIN)
SUPERVISOR = Actor(user_id=None, name="sup", role=Role.SUPERVISOR)


def _audit(session, action: str) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def _collect(session, tender: int, bidder: int, fen: int, key: str | None = None) -> None:
    service.apply(session, rules.collection(key or f"c:{tender}:{bidder}:{fen}", bank=BANK, tender_id=tender,
                                            bidder_id=bidder, amount_fen=fen), now=T0)


def test_refund_is_pending_then_posted_once_with_one_event_each(session):
    _collect(session, 7, 3, 50_000)
    _collect(session, 7, 4, 50_000)
    entry, made = service.start_refund(session, actor=OPERATOR, tender_id=7, bidder_id=3, bank=BANK, now=T0,
                                       interest_fen=125, reason="withdrawn before the deadline")
    assert made and entry.postings[0].amount_fen == 50_000
    dep = service.balance(session, rules.deposit_account(7, 3))
    assert (dep.signed, dep.debits_pending) == (-50_000, 50_000)
    again, made = service.start_refund(session, actor=OPERATOR, tender_id=7, bidder_id=3, bank=BANK, now=T0)
    assert not made and again.digest_fields() == entry.digest_fields()
    assert service.confirm_refund(session, actor=OPERATOR, tender_id=7, bidder_id=3, now=T0) is True
    assert service.confirm_refund(session, actor=OPERATOR, tender_id=7, bidder_id=3, now=T0) is False
    assert service.balance(session, rules.deposit_account(7, 3)).signed == 0
    assert service.balance(session, rules.INTEREST).signed == 125
    assert service.balance(session, BANK).signed == 100_000 - 50_125
    assert (_audit(session, "ledger.refund_started"), _audit(session, "ledger.refund_confirmed")) == (1, 1)
    with pytest.raises(rules.TransferAlreadySettled):
        service.void_refund(session, actor=OPERATOR, tender_id=7, bidder_id=3, now=T0, reason="bounced")
    tb = service.trial_balance(session)
    assert set(tb["totals"].values()) == {0}


def test_bad_settlements_are_refused(session):
    with pytest.raises(service.NothingToRefund):  # refund of an unpaid deposit
        service.start_refund(session, actor=OPERATOR, tender_id=8, bidder_id=1, bank=BANK, now=T0)
    with pytest.raises(rules.NotPending):  # a bounce for a payment never exported
        service.void_refund(session, actor=OPERATOR, tender_id=8, bidder_id=1, now=T0, reason="bounced")
    _collect(session, 8, 1, 1_000)
    with pytest.raises(service.LedgerForbidden):  # a forfeit without a supervisor's approval
        service.forfeit_deposit(session, actor=OPERATOR, tender_id=8, bidder_id=1, reason="no bond", now=T0)
    with pytest.raises(service.ReasonRequired):
        service.forfeit_deposit(session, actor=SUPERVISOR, tender_id=8, bidder_id=1, reason="  ", now=T0)
    with pytest.raises(service.LedgerForbidden):
        service.start_refund(session, actor=Actor(1, "b", Role.BIDDER), tender_id=8, bidder_id=1, bank=BANK, now=T0)
    assert service.forfeit_deposit(session, actor=SUPERVISOR, tender_id=8, bidder_id=1, reason="refused to sign",
                                   now=T0)
    with pytest.raises(rules.IdempotencyConflict):  # a double forfeit
        service.forfeit_deposit(session, actor=SUPERVISOR, tender_id=8, bidder_id=1, reason="again", now=T0)
    with pytest.raises(rules.IdempotencyConflict):  # and no refund after it
        service.start_refund(session, actor=OPERATOR, tender_id=8, bidder_id=1, bank=BANK, now=T0)
    assert service.balance(session, rules.FORFEITED).signed == -1_000
    assert _audit(session, "ledger.deposit_forfeited") == 1


def test_a_bounced_refund_is_voided_and_can_be_reversed_only_when_posted(session):
    _collect(session, 9, 1, 2_000)
    service.start_refund(session, actor=OPERATOR, tender_id=9, bidder_id=1, bank=BANK, now=T0)
    assert service.void_refund(session, actor=OPERATOR, tender_id=9, bidder_id=1, now=T0, reason="account closed")
    assert service.balance(session, rules.deposit_account(9, 1)) == rules.Balance(0, 2_000, 0, 0)
    with pytest.raises(rules.NotReversible):
        service.reverse_entry(session, actor=OPERATOR, key=rules.settlement_key(9, 1), reason="x", now=T0)
    service.reverse_entry(session, actor=OPERATOR, key="c:9:1:2000", reason="booked in error", now=T0)
    assert service.balance(session, BANK).signed == 0
    with pytest.raises(rules.AlreadyReversed):
        service.reverse_entry(session, actor=OPERATOR, key="c:9:1:2000", reason="again", now=T0)
    assert _audit(session, "ledger.entry_reversed") == 1 and _audit(session, "ledger.refund_voided") == 1


def test_keys_are_idempotent_and_entries_immutable(session):
    _collect(session, 10, 1, 300, key="same")
    _collect(session, 10, 1, 300, key="same")
    assert service.balance(session, BANK).signed == 300
    with pytest.raises(rules.IdempotencyConflict):
        _collect(session, 10, 1, 301, key="same")
    row = session.scalar(select(LedgerEntry).where(LedgerEntry.key == "same"))
    row.reason = "changed"
    with pytest.raises(ImmutableEntry):
        session.flush()
    session.rollback()
    posting = session.scalars(select(LedgerPosting)).first()
    if posting is not None:
        session.delete(posting)
        with pytest.raises(ImmutableEntry):
            session.flush()


def test_the_same_refund_from_eight_workers_posts_exactly_once(scratch_url):
    upgrade(scratch_url)
    engine = make_engine(scratch_url, pool_size=10) if not scratch_url.startswith("sqlite") else make_engine(scratch_url)
    sessions = make_sessionmaker(engine)
    try:
        with unit_of_work(sessions()) as s:
            _collect(s, 11, 5, 80_000)
            _collect(s, 11, 6, 80_000)
        barrier = threading.Barrier(8)
        results: list[object] = []

        def worker() -> None:
            barrier.wait()
            try:
                with unit_of_work(sessions()) as s:
                    _e, made = service.start_refund(s, actor=OPERATOR, tender_id=11, bidder_id=5, bank=BANK,
                                                    now=T0, interest_fen=40)
                    made2 = service.confirm_refund(s, actor=OPERATOR, tender_id=11, bidder_id=5, now=T0)
                results.append((made, made2))
            except Exception as exc:  # noqa: BLE001 - reported below
                results.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not [r for r in results if isinstance(r, Exception)], results
        assert sorted(results) == [(False, False)] * 7 + [(True, True)]
        with sessions() as s:
            assert service.balance(s, rules.deposit_account(11, 5)) == rules.Balance(80_000, 80_000, 0, 0)
            assert service.balance(s, BANK).signed == 160_000 - 80_040
            assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 4
            assert (_audit(s, "ledger.refund_started"), _audit(s, "ledger.refund_confirmed")) == (1, 1)
            assert set(service.trial_balance(s)["totals"].values()) == {0}
    finally:
        engine.dispose()
