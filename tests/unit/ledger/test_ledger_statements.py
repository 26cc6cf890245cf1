"""Bank statements read into lines, or refused whole with every problem by line number; no XML entity is
ever expanded; and a receipt classified against the deposit its reference names."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger import rules
from ledger.statements import CSV_COLUMNS, MalformedStatement, read_camt053, read_csv, read_statement

SAMPLE = Path(__file__).resolve().parents[2] / "vectors" / "ledger" / "camt053_sample.xml"
HEADER = ",".join(CSV_COLUMNS)


def csv_bytes(*rows: str) -> bytes:
    return ("\ufeff" + HEADER + "\n" + "\n".join(rows) + "\n").encode()


def row(ref="E1", amount="20000.00", currency="CNY", when="2026-03-10T10:00:00+08:00", remittance="x",
        account="6222021234567890", statement="S1") -> str:
    return f"{statement},{account},{ref},{when},{amount},{currency},6217000010001234,滨海建工,{remittance}"


def test_a_csv_statement_reads_into_lines():
    s = read_csv(csv_bytes(row(), row("E2", "5.1", when="2026-03-10 09:00")))
    assert (s.format, s.bank_account, s.reference) == ("csv", rules.bank_account("6222021234567890"), "S1")
    assert [(line.line_no, line.entry_reference, line.amount_fen) for line in s.lines] == [(2, "E1", 2_000_000),
                                                                                           (3, "E2", 510)]
    assert s.lines[1].booked_at == datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # no offset: Beijing time


def test_a_malformed_csv_is_refused_whole_with_line_numbers():
    data = csv_bytes(row(), row("E2", "0"), row("E3", "-5.00"), row("E4", "1.234"), row("E5", currency="cny"),
                     row("E6", when="yesterday"), row("E1"), row("E8", account="6222029999999999"), "S1,short")
    with pytest.raises(MalformedStatement) as caught:
        read_csv(data)
    lines = [line for line, _ in caught.value.problems]
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "line 3: amount 0 is not a positive amount" in caught.value.report()
    assert "also on line 2" in caught.value.report()
    with pytest.raises(MalformedStatement, match="lacks the columns"):
        read_csv(b"reference,amount\nx,1\n")
    with pytest.raises(MalformedStatement, match="no lines"):
        read_csv(csv_bytes())
    with pytest.raises(MalformedStatement, match="not UTF-8"):
        read_csv(HEADER.encode() + b"\n\xff\xfe\n")


def camt(amount="20000.00", reference="000000010000000299") -> bytes:
    return SAMPLE.read_bytes().replace(b"__AMOUNT__", amount.encode()).replace(b"__REFERENCE__", reference.encode())


def test_a_camt053_statement_reads_credits_and_counts_debits():
    s = read_statement(camt())
    assert (s.format, s.reference, s.debit_lines) == ("camt.053", "20260310-6222021234567890", 1)
    first, second = s.lines
    assert (first.entry_reference, first.amount_fen, first.currency, first.payer_name) == (
        "ICBC2026031000001", 2_000_000, "CNY", "滨海建工集团有限公司")
    assert first.booked_at == datetime(2026, 3, 10, 2, 15, tzinfo=UTC)
    assert first.remittance.endswith("000000010000000299") and first.payer_account == "6217000010001234"
    assert second.booked_at == datetime(2026, 3, 10, 15, 59, 59, tzinfo=UTC)  # a date alone: the end of the day
    assert first.line_no < second.line_no


def test_a_malformed_camt053_is_refused():
    with pytest.raises(MalformedStatement, match="not a positive amount"):
        read_camt053(camt(amount="0.00"))
    with pytest.raises(MalformedStatement, match="not well-formed"):
        read_camt053(camt()[:-30])
    with pytest.raises(MalformedStatement, match="not a camt.053.001.02"):
        read_camt053(camt().replace(b"camt.053.001.02", b"camt.053.001.08"))


def test_no_entity_is_ever_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
           '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>').encode()
    bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&b;</Document>')
    for data in (xxe, bomb):
        with pytest.raises(MalformedStatement, match="document type declaration") as caught:
            read_statement(data)
        assert "TOPSECRET" not in caught.value.report()


DEADLINE = datetime(2026, 3, 23, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("amount, currency, at, received, outcome", [
    (2000, "CNY", DEADLINE - timedelta(seconds=1), 0, rules.Outcome.MATCHED),
    (2000, "CNY", DEADLINE, 0, rules.Outcome.LATE),
    (1999, "CNY", DEADLINE - timedelta(days=1), 0, rules.Outcome.PARTIAL),
    (2001, "CNY", DEADLINE - timedelta(days=1), 0, rules.Outcome.OVER),
    (2000, "CNY", DEADLINE - timedelta(days=1), 2000, rules.Outcome.OVER),  # paid already
    (1000, "CNY", DEADLINE - timedelta(days=1), 1000, rules.Outcome.MATCHED),  # the rest of a part payment
    (2000, "USD", DEADLINE - timedelta(days=1), 0, rules.Outcome.CURRENCY),
])
def test_receipts_are_classified_against_the_deposit_due(amount, currency, at, received, outcome):
    due = rules.Due(2000, "CNY", DEADLINE, received)
    assert rules.classify(amount_fen=amount, currency=currency, booked_at=at, due=due) is outcome


def test_a_receipt_naming_no_deposit_is_unmatched():
    assert rules.classify(amount_fen=5, currency="CNY", booked_at=DEADLINE, due=None) is rules.Outcome.UNMATCHED
    assert rules.classify(amount_fen=5, currency="CNY", booked_at=DEADLINE,
                          due=rules.Due(0, "CNY", DEADLINE)) is rules.Outcome.UNMATCHED
