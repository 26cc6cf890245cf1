"""What every stage of a tender shares: the tender an actor may see or change, its facts, status and settings.

The stages have their own modules: ``tender.publication`` (the agency drafts, publishes, amends and cancels,
adds documents and answers questions), ``tender.downloads`` (the documents handed out, and who may know to
whom), ``tender.custody`` (the opening key and its custodians' shares), ``tender.bids`` and
``tender.uploads`` (bidding), ``tender.opening`` (the ceremony) and ``tender.portal`` (what the public
asks: lists, figures, the public form of a tender).  Each operation checks the actor and the object, calls
the pure rules in tender.rules with an explicit ``now``, changes rows and appends its audit event in the
caller's transaction.
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actor import Actor
from core.errors import NotFound
from tender import policy, rules
from tender.models import Tender


def facts(t: Tender) -> rules.TenderFacts:
    return rules.TenderFacts(published_at=t.published_at, cancelled_at=t.cancelled_at, deadline=t.deadline,
                             download_start=t.download_start, download_end=t.download_end,
                             opened_at=t.opened_at, failed_at=t.failed_at)


def status(t: Tender, now: datetime) -> rules.Status:
    return rules.derive_status(facts(t), now)


def settings_of(t: Tender) -> rules.RuleSettings:
    return rules.settings_from_dict(json.loads(t.settings or "{}"))


def get_tender(session: Session, actor: Actor, tender_id: int, *, for_update: bool = False) -> Tender:
    """A tender the actor may see: drafts only by their agency and supervisors; otherwise 404."""
    stmt = select(Tender).where(Tender.id == tender_id)
    if for_update:
        stmt = stmt.with_for_update()
    t = session.scalar(stmt)
    if t is None or not policy.may_see_tender(actor, t):
        raise NotFound()
    return t


def owned_tender(session: Session, actor: Actor, tender_id: int) -> Tender:
    """A tender the actor's agency runs, locked for the change; anyone else gets 404."""
    t = session.scalar(select(Tender).where(Tender.id == tender_id).with_for_update())
    if t is None or not policy.owns_tender(actor, t):
        raise NotFound()
    return t
