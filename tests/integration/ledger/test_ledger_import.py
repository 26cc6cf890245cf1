"""Bank statements imported into the ledger: each line booked to the bidder's sub-account or the unmatched
receipts, once; a malformed file books nothing; one audit event per import."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from audit.models import AuditEntry
from core.actor import Actor
from core.roles import Role
from ledger import rules, service
from ledger.models import LedgerEntry, LedgerStatement, LedgerStatementLine
from ledger.statements import MalformedStatement
from tests.unit.ledger.test_ledger_statements import camt, csv_bytes, row

OPERATOR = Actor(user_id=None, name="ops", role=Role.ADMIN)
BANK = rules.bank_account("6222021234567890")


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def deposit(make, clock):
    """A published tender (deposit ¥20,000.00, deadline in 21 days) and two bidders' payment references."""
    t, _agency = make.tender(publish=True)
    a, b = make.user("bidder"), make.user("bidder")
    return t, a.organisation_id, b.organisation_id


def test_statement_lines_are_booked_once(session, deposit, clock):
    t, a, b = deposit
    ref_a, ref_b = rules.payment_reference(t.id, a), rules.payment_reference(t.id, b)
    on_time = (t.deadline - timedelta(days=2)).isoformat()
    late = (t.deadline + timedelta(minutes=1)).isoformat()
    data = csv_bytes(row("E1", "20000.00", when=on_time, remittance=f"deposit {ref_a}"),
                     row("E2", "20000.00", when=on_time, remittance=f"again {ref_a}"),  # over: paid already
                     row("E3", "19999.99", when=on_time, remittance=ref_b),  # partial
                     row("E4", "20000.00", when=late, remittance=ref_b),  # late
                     row("E5", "20000.00", currency="USD", when=on_time, remittance=ref_b),  # wrong currency
                     row("E6", "88.00", when=on_time, remittance="no reference at all"),
                     row("E7", "20000.00", when=on_time, remittance=rules.payment_reference(99_999, a)))
    result = service.import_statement(session, actor=OPERATOR, data=data, now=clock.now())
    assert result.made and result.counts == {"already": 0, "debit_lines": 0, "matched": 1, "over": 1, "partial": 1,
                                             "late": 1, "currency": 1, "unmatched": 2}
    assert service.balance(session, rules.deposit_account(t.id, a)).signed == -2_000_000
    assert service.balance(session, rules.deposit_account(t.id, b)).signed == 0
    assert service.balance(session, rules.UNMATCHED).signed == -(2_000_000 + 1_999_999 + 2_000_000 + 8_800 + 2_000_000)
    assert service.balance(session, rules.UNMATCHED, "USD").signed == -2_000_000
    assert service.trial_balance(session)["totals"] == {"CNY": 0, "USD": 0}
    events = session.scalars(select(AuditEntry).where(AuditEntry.action == "ledger.statement_imported")).all()
    assert len(events) == 1 and len(json.loads(events[0].payload)["entries"]) == 7
    before = (_count(session, LedgerEntry), _count(session, AuditEntry))

    again = service.import_statement(session, actor=OPERATOR, data=data, now=clock.now())
    assert not again.made and (_count(session, LedgerEntry), _count(session, AuditEntry)) == before

    with pytest.raises(service.StatementConflict):  # other content under the same statement reference
        service.import_statement(session, actor=OPERATOR, data=csv_bytes(row("E9", when=on_time)), now=clock.now())
    overlap = service.import_statement(  # the next statement repeats a line already booked
        session, actor=OPERATOR, now=clock.now(),
        data=csv_bytes(row("E1", "20000.00", when=on_time, remittance=ref_a, statement="S2"),
                       row("E8", "20000.00", when=on_time, remittance=ref_b, statement="S2")))
    assert overlap.counts["already"] == 1 and overlap.counts["matched"] == 1  # the part payment stays unmatched
    assert service.balance(session, rules.deposit_account(t.id, a)).signed == -2_000_000
    assert service.balance(session, rules.deposit_account(t.id, b)).signed == -2_000_000


def test_a_malformed_statement_books_nothing(session, deposit, clock):
    t, a, _b = deposit
    data = csv_bytes(row("E1", remittance=rules.payment_reference(t.id, a)), row("E2", "-1.00"))
    with pytest.raises(MalformedStatement) as caught:
        service.import_statement(session, actor=OPERATOR, data=data, now=clock.now())
    assert caught.value.problems[0][0] == 3
    assert (_count(session, LedgerStatement), _count(session, LedgerStatementLine), _count(session, LedgerEntry)) == \
        (0, 0, 0)
    with pytest.raises(service.LedgerForbidden):
        service.import_statement(session, actor=Actor(1, "b", Role.BIDDER), data=data, now=clock.now())


def test_a_camt053_statement_imports(session, deposit, clock):
    t, a, _b = deposit
    data = camt(reference=rules.payment_reference(t.id, a))
    # the sample is booked on 2026-03-10, before the tender's deadline (2026-03-23)
    result = service.import_statement(session, actor=OPERATOR, data=data, now=clock.now())
    assert result.counts == {"already": 0, "debit_lines": 1, "matched": 1, "unmatched": 1}
    assert service.balance(session, rules.deposit_account(t.id, a)).signed == -2_000_000
    assert service.balance(session, BANK).signed == 2_000_000 + 123_456
    assert not service.import_statement(session, actor=OPERATOR, data=data, now=clock.now()).made


def test_the_opening_asks_whose_deposit_was_in_on_time_and_shared_payers_show(session, make, clock):
    t, _agency = make.tender(publish=True)
    on_time, late = make.user("bidder"), make.user("bidder")
    third = make.user("bidder")
    before = (t.deadline - timedelta(days=1)).isoformat()
    after = (t.deadline + timedelta(hours=1)).isoformat()

    def line(ref, who, when, payer):
        return (f"S9,6222021234567890,{ref},{when},20000.00,CNY,{payer},x,"
                f"{rules.payment_reference(t.id, who.organisation_id)}")

    service.import_statement(session, actor=OPERATOR, now=clock.now(), data=csv_bytes(
        line("A", on_time, before, "6217000000000001"), line("B", late, after, "6217000000000002"),
        line("C", third, before, "6217000000000001")))
    checks = service.deposit_checks(session, t.id)
    assert checks == {on_time.organisation_id: service.DepositCheck(2_000_000, 2_000_000, True),
                      third.organisation_id: service.DepositCheck(2_000_000, 2_000_000, True)}
    assert late.organisation_id not in checks  # its late payment went to the unmatched receipts
    assert service.shared_payer_accounts(session, t.id) == {
        "6217000000000001": sorted([on_time.organisation_id, third.organisation_id])}
