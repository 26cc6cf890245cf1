"""The demo's deposits: every bid of a tender past its deadline has its deposit, traceable from a statement
line to the bidder's sub-account; one receipt stays unmatched; the ledger balances."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from ledger import rules, service
from ledger.models import LedgerAccount, LedgerEntry, LedgerStatementLine
from sunbid.demo import seed
from tender.models import Bid, Tender


def test_the_demo_books_the_deposits_of_the_bids(app, session):
    from sunbid.demo import context_for

    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    counts = seed(session, now, context_for(app.extensions["sunbid"]))
    assert counts["deposits"] >= 3
    lines = session.execute(select(LedgerStatementLine.outcome, LedgerStatementLine.remittance)).all()
    assert sum(1 for o, _r in lines if o == "matched") == counts["deposits"]
    assert [o for o, r in lines if o != "matched"] == ["unmatched"]
    past = session.execute(select(Bid.tender_id, Bid.organisation_id).join(Tender, Tender.id == Bid.tender_id)
                           .where(Tender.deadline <= now, Tender.deposit_fen > 0)).all()
    for tender_id, org in set(past):
        code = rules.deposit_account(tender_id, org)
        account = session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
        assert account is not None, code
        tender = session.get(Tender, tender_id)
        assert service.balance(session, code).credits_posted == tender.deposit_fen
        reference = rules.payment_reference(tender_id, org)  # the statement line that paid it, and its entry
        line = session.scalar(select(LedgerStatementLine).where(LedgerStatementLine.remittance.contains(reference)))
        entry = session.scalar(select(LedgerEntry).where(LedgerEntry.statement_line_id == line.id))
        assert line.outcome == "matched" and entry.kind == "collection"
        assert service.deposit_checks(session, tender_id)[org].ok
    assert set(service.trial_balance(session)["totals"].values()) == {0}
