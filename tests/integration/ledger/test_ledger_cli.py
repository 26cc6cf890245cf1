"""``sunbid ledger import`` and ``sunbid ledger trial-balance [--json]``."""
from __future__ import annotations

import json
from datetime import timedelta

from ledger import rules
from ledger.cli import ledger_group
from tests.unit.ledger.test_ledger_statements import csv_bytes, row


def test_import_then_trial_balance(app, make, tmp_path):
    t, _agency = make.tender(publish=True)
    bidder = make.user("bidder")
    on_time = (t.deadline - timedelta(days=1)).isoformat()
    statement = tmp_path / "s.csv"
    statement.write_bytes(csv_bytes(row("E1", when=on_time, remittance=rules.payment_reference(t.id, bidder.organisation_id)),
                                    row("E2", "12.34", when=on_time, remittance="?")))
    runner = app.test_cli_runner()
    first = runner.invoke(ledger_group, ["import", str(statement)])
    assert first.exit_code == 0, first.output
    assert "2 lines (matched 1, unmatched 1)" in first.output and "Booking statement lines" in first.output
    again = runner.invoke(ledger_group, ["import", str(statement)])
    assert again.exit_code == 0 and "nothing changed" in again.output

    result = runner.invoke(ledger_group, ["trial-balance", "--json"])
    assert result.exit_code == 0, result.output
    tb = json.loads(result.output)
    assert set(tb) == {"accounts", "totals"} and tb["totals"] == {"CNY": 0}
    assert {(a["code"], a["currency"], a["balance_fen"]) for a in tb["accounts"]} == {
        (rules.bank_account("6222021234567890"), "CNY", 2_001_234),
        (rules.deposit_account(t.id, bidder.organisation_id), "CNY", -2_000_000),
        (rules.UNMATCHED, "CNY", -1_234)}
    assert all(set(a) == {"code", "name", "currency", "balance_fen"} for a in tb["accounts"])
    text = runner.invoke(ledger_group, ["trial-balance"])
    assert "¥20,012.34" in text.output and "total" in text.output and "¥0.00" in text.output


def test_a_malformed_statement_is_reported_by_line(app, tmp_path):
    statement = tmp_path / "bad.csv"
    statement.write_bytes(csv_bytes(row("E1"), row("E2", "abc")))
    result = app.test_cli_runner().invoke(ledger_group, ["import", str(statement)])
    assert result.exit_code != 0
    assert "line 3: amount 'abc'" in result.output and "not imported, 1 problems" in result.output
