"""A bidder's desk shows its own deposits with their payment references and states, nothing of another's."""
from __future__ import annotations

from datetime import timedelta

from core.actor import Actor
from core.roles import Role
from ledger import rules, service
from tests.integration.sunbid.test_desks import desk, panel
from tests.unit.ledger.test_ledger_statements import csv_bytes, row

OPERATOR = Actor(user_id=None, name="ops", role=Role.ADMIN)


def test_a_bidder_sees_its_deposits_and_references(app, make, session, clock):
    t, _agency = make.tender(publish=True)
    payer, other = make.bidder_of(t), make.bidder_of(t)
    on_time = (t.deadline - timedelta(days=3)).isoformat()
    service.import_statement(session, actor=OPERATOR, now=clock.now(), data=csv_bytes(
        row("E1", when=on_time, remittance=rules.payment_reference(t.id, payer.organisation_id))))
    session.commit()
    mine = panel(desk(app, payer.name), "ledger.deposits")
    assert 'data-state="held"' in mine and "¥20,000.00" in mine and "Held" in mine
    assert rules.payment_reference(t.id, payer.organisation_id) in mine
    assert rules.payment_reference(t.id, other.organisation_id) not in mine
    theirs = panel(desk(app, other.name), "ledger.deposits")  # obtained the documents, not paid yet
    assert 'data-state="none"' in theirs and rules.payment_reference(t.id, other.organisation_id) in theirs
    assert rules.payment_reference(t.id, payer.organisation_id) not in theirs
    service.start_refund(session, actor=OPERATOR, tender_id=t.id, bidder_id=payer.organisation_id,
                         bank=rules.bank_account("6222021234567890"), now=clock.now())
    session.commit()
    zh = panel(desk(app, payer.name, "zh_CN"), "ledger.deposits")
    assert 'data-state="refunding"' in zh and "我的保证金" in desk(app, payer.name, "zh_CN")


def test_a_bidder_without_deposits_has_an_empty_panel(app, make):
    who = make.user("bidder")
    assert 'data-testid="deposits-none"' in panel(desk(app, who.name), "ledger.deposits")
