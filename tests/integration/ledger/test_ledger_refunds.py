"""Refund on withdrawal before the deadline: the deposit of a bidder whose bids were all withdrawn is due
5 days after the withdrawal, started once, from the bank account that received it."""
from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest

from core.actor import Actor
from core.roles import Role
from ledger import rules, service
from ledger.cli import ledger_group
from tender.models import OpeningKey
from tests.integration.tender.test_bids import sealed
from tests.unit.ledger.test_ledger_statements import csv_bytes, row

pytestmark = pytest.mark.skipif(shutil.which("age") is None, reason="the age binary is not installed")
OPERATOR = Actor(user_id=None, name="ops", role=Role.ADMIN)


def test_the_deposit_of_a_withdrawn_bid_is_due_and_refunded_once(app, client, make, session, clock, tmp_path):
    t, _agency = make.tender(publish=True)
    stays, leaves = make.bidder_of(t), make.bidder_of(t)
    recipient = session.get(OpeningKey, t.id).recipient
    bids = {}
    for who in (stays, leaves):
        auth = make.api_token(who)
        bids[who.name] = (client.post(f"/api/v1/tenders/{t.id}/bids", data=sealed(recipient, tmp_path),
                                      headers=auth).json["id"], auth)
    on_time = (t.deadline - timedelta(days=3)).isoformat()
    service.import_statement(session, actor=OPERATOR, now=clock.now(), data=csv_bytes(
        *[row(f"E{i}", when=on_time, remittance=rules.payment_reference(t.id, who.organisation_id))
          for i, who in enumerate((stays, leaves))]))
    session.commit()
    assert service.refunds_due(session) == []
    bid_id, auth = bids[leaves.name]
    assert client.post(f"/api/v1/bids/{bid_id}/withdraw", headers=auth).json["status"] == "withdrawn"
    due = service.refunds_due(session)
    assert [(d.tender_id, d.bidder_id, d.held_fen, d.reason) for d in due] == [
        (t.id, leaves.organisation_id, 2_000_000, "withdrawn")]
    assert due[0].due_by == clock.now() + timedelta(days=5)
    assert service.paying_bank(session, t.id, leaves.organisation_id) == rules.bank_account("6222021234567890")

    runner = app.test_cli_runner()
    out = runner.invoke(ledger_group, ["refunds", "--due", "--start", "--json"])
    assert out.exit_code == 0, out.output
    assert [r["state"] for r in json.loads(out.output)["refunds"]] == ["started"]
    assert runner.invoke(ledger_group, ["refunds", "--due"]).output.strip() == "No refund is due."
    dep = service.balance(session, rules.deposit_account(t.id, leaves.organisation_id))
    assert (dep.signed, dep.debits_pending) == (-2_000_000, 2_000_000)
    assert service.balance(session, rules.deposit_account(t.id, stays.organisation_id)).debits_pending == 0
