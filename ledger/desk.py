"""The ledger's panel on a bidder's desk: its organisation's deposits, tender by tender, with the payment
reference to quote (also for the tenders whose documents it obtained, before it paid), what was received and
the refund's state.  Four queries whatever the number of tenders,
and only the organisation's own sub-accounts."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actor import Actor
from core.area import DeskPanel
from core.roles import Role
from ledger import rules
from ledger.models import LedgerAccount, LedgerBalance, LedgerEntry

SHOWN = 20
"""The deposits shown, the latest tender first."""

STATES = {"held": _l("Held"), "refunding": _l("Refund sent to the bank"), "refunded": _l("Refunded"),
          "bounced": _l("Refund bounced, held again"), "forfeited": _l("Forfeited"), "none": _l("Nothing received")}


def deposit_state(balance: rules.Balance, settlement: str | None, settled: str | None) -> str:
    """held, refunding, refunded, bounced, forfeited or none, from the balance and the settlement entries."""
    if settlement == "forfeit":
        return "forfeited"
    if settlement == "refund":
        return {"post": "refunded", "void": "bounced"}.get(settled or "", "refunding")
    return "held" if balance.credits_posted - balance.debits_posted > 0 else "none"


def deposits(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    if actor.role != Role.BIDDER or actor.organisation_id is None:
        return {"rows": []}
    from tender.models import Download, Tender

    accounts = session.execute(
        select(LedgerAccount.tender_id, LedgerBalance, Tender.title, Tender.project_code, Tender.deposit_fen)
        .join(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
        .join(Tender, Tender.id == LedgerAccount.tender_id)
        .where(LedgerAccount.kind == rules.Kind.DEPOSIT.value, LedgerAccount.bidder_id == actor.organisation_id)
        .order_by(LedgerAccount.tender_id.desc()).limit(SHOWN)).all()
    keys = [rules.settlement_key(tid, actor.organisation_id) for tid, *_ in accounts]
    entries = session.execute(select(LedgerEntry.key, LedgerEntry.kind, LedgerEntry.pending_key)
                              .where((LedgerEntry.key.in_(keys)) | (LedgerEntry.pending_key.in_(keys)))).all() \
        if keys else []
    kind_of = {key: kind for key, kind, pending in entries if pending is None}
    settled = {pending: "post" if kind == "confirm" else "void" for _k, kind, pending in entries if pending}
    rows = []
    for tid, bal, title, code, due_fen in accounts:
        b = rules.Balance(bal.debits_posted, bal.credits_posted, bal.debits_pending, bal.credits_pending)
        key = rules.settlement_key(tid, actor.organisation_id)
        rows.append({"tender_id": tid, "title": title, "project_code": code, "due_fen": due_fen,
                     "currency": bal.currency, "received_fen": b.credits_posted,
                     "held_fen": b.credits_posted - b.debits_posted,
                     "reference": rules.payment_reference(tid, actor.organisation_id),
                     "state": deposit_state(b, kind_of.get(key), settled.get(key))})
    have = {r["tender_id"] for r in rows}
    to_pay = session.execute(  # tenders whose documents it obtained, asking a deposit, open for bids
        select(Tender.id, Tender.title, Tender.project_code, Tender.deposit_fen)
        .where(Tender.id.in_(select(Download.tender_id).where(Download.organisation_id == actor.organisation_id)),
               Tender.deposit_fen > 0, Tender.deadline > now, Tender.published_at.is_not(None))
        .order_by(Tender.deadline).limit(SHOWN)).all()
    rows += [{"tender_id": tid, "title": title, "project_code": code, "due_fen": due_fen, "currency": "CNY",
              "received_fen": 0, "held_fen": 0, "reference": rules.payment_reference(tid, actor.organisation_id),
              "state": "none"} for tid, title, code, due_fen in to_pay if tid not in have]
    return {"rows": rows, "state_label": lambda s: str(STATES.get(s, s))}


PANELS: tuple[DeskPanel, ...] = (
    DeskPanel("ledger.deposits", _l("My deposits"), frozenset({Role.BIDDER}), 25, deposits,
              "ledger/desk_deposits.html"),
)
