"""The ledger's demo: the deposits of the bids of every tender past its deadline, received on one bank
statement an hour before the deadline (each bidder from an account of its own), with one receipt that names
no deposit; then the refunds of bids withdrawn before the deadline, started the day after it."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actor import Actor
from core.demo import DemoStep, DemoWorld
from ledger import rules, service
from ledger.statements import CSV_COLUMNS

AREA = "ledger"
BANK_NUMBER = "6222021234567890"


def plan(world: DemoWorld) -> list[DemoStep]:
    steps = []
    past = [t for t in world.tenders.values() if t.state in ("closed", "opened") and t.deadline is not None]
    for n, tender in enumerate(past):
        steps.append(DemoStep(tender.deadline - timedelta(minutes=30), AREA, f"deposits of {tender.key}",
                              partial(_statement, key=tender.key, unmatched=n == 0)))
        steps.append(DemoStep(tender.deadline + timedelta(days=1), AREA, f"refunds of withdrawals of {tender.key}",
                              partial(_refunds, key=tender.key)))
    return steps


def _cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _statement(session: Session, world: DemoWorld, at: datetime, *, key: str, unmatched: bool) -> None:
    from tender.models import Bid, Tender

    tender = session.get(Tender, world.tender_id(key))
    if not tender.deposit_fen:
        return
    bidders = sorted(set(session.scalars(select(Bid.organisation_id).where(Bid.tender_id == tender.id,
                                                                            Bid.received_at <= at))))
    booked = (tender.deadline - timedelta(hours=1)).isoformat()
    amount = f"{tender.deposit_fen // 100}.{tender.deposit_fen % 100:02d}"
    rows = [",".join(CSV_COLUMNS)]
    for org in bidders:
        rows.append(",".join([f"DEMO-{key}", BANK_NUMBER, f"{key}-{org}", booked, amount, "CNY",
                              f"62170000{org:08d}", _cell(f"bidder {org}"),
                              _cell(f"投标保证金 {rules.payment_reference(tender.id, org)}")]))
    if unmatched:
        rows.append(",".join([f"DEMO-{key}", BANK_NUMBER, f"{key}-unmatched", booked, "1234.56", "CNY",
                              "6217000099999999", _cell("unknown payer"), _cell("货款")]))
    if len(rows) == 1:
        return
    service.import_statement(session, actor=Actor.system("demo bank statement"),
                             data=("\n".join(rows) + "\n").encode(), now=at)
    world.counts["deposits"] += len(bidders)


def _refunds(session: Session, world: DemoWorld, at: datetime, *, key: str) -> None:
    tender_id = world.tender_id(key)
    for due in service.refunds_due(session):
        if due.tender_id != tender_id:
            continue
        bank = service.paying_bank(session, due.tender_id, due.bidder_id)
        service.start_refund(session, actor=Actor.system("demo refunds"), tender_id=due.tender_id,
                             bidder_id=due.bidder_id, bank=bank, now=at, reason=due.reason)
        world.counts["deposit refunds"] += 1
