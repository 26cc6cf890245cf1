"""The tender area's panels on the desk (``/desk``): a bidder's tenders by deadline, its bids and its opening
results; an agency's tenders by stage and what is due; a custodian's key and the openings that need its share;
the openings overdue, for supervisors.

Each ``build(session, actor, now)`` reads a bounded number of rows in a fixed number of queries, whatever the
number of tenders, and shows an actor only what is its own: a bidder its organisation's bids and nothing of any
other bidder (not even how many there are), a custodian its own shares.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Session

from core.actor import Actor
from core.area import DeskPanel
from core.roles import Role
from tender import custodians, policy, portal, rules
from tender.custody_rules import recipient_fingerprint
from tender.labels import bid_status_label, failure_reason
from tender.models import Bid, Download, KeyShare, Lot, OpeningResult, OpeningShare, Question, Tender
from tender.service import status

UPCOMING = 20
"""A bidder's tenders still open for bids, shown soonest deadline first."""
RECENT = 10
"""Of a bidder's tenders past their deadline, the latest shown; also the bids and opening results shown."""
BIDS = 30
PER_STAGE = 5
"""The tenders listed under each stage of an agency's desk (the stage's count says how many there are)."""
DUE = 10
SOON = 5


def time_left(deadline: datetime, now: datetime) -> str | None:
    """What is left until ``deadline``, in days and hours (or hours and minutes under a day); None once passed."""
    left = deadline - now
    if left <= timedelta(0):
        return None
    minutes = int(left.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)s d %(hours)s h", days=days, hours=hours)
    return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)


def _lot_counts(session: Session, tender_ids: list[int]) -> dict[int, int]:
    if not tender_ids:
        return {}
    return dict(session.execute(select(Lot.tender_id, func.count()).where(Lot.tender_id.in_(tender_ids))
                                .group_by(Lot.tender_id)).all())


# ---------------------------------------------------------------- bidders

@dataclass
class BidderTender:
    tender: Tender
    state: rules.Status
    left: str | None
    lots: int
    bids: list[Bid] = field(default_factory=list)  # the organisation's current bids, one per lot
    results: dict[int, OpeningResult] = field(default_factory=dict)  # by bid id, after the opening


def _taking_part(organisation_id: int):
    """The tenders whose documents the organisation obtained or on which it bid."""
    return or_(Tender.id.in_(select(Download.tender_id).where(Download.organisation_id == organisation_id)),
               Tender.id.in_(select(Bid.tender_id).where(Bid.organisation_id == organisation_id)))


def bidder_tenders(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """The tenders the actor's organisation takes part in: those open for bids, soonest deadline first, then the
    latest past their deadline, each with its state, the time left and the organisation's current bids."""
    if actor.role != Role.BIDDER or actor.organisation_id is None:
        return {"rows": []}
    mine = _taking_part(actor.organisation_id)
    open_now = list(session.scalars(select(Tender).where(mine, portal.status_clause("published", now))
                                    .order_by(Tender.deadline.asc(), Tender.id.asc()).limit(UPCOMING)))
    ended = or_(*(portal.status_clause(stage, now) for stage in ("closed", "opened", "failed", "cancelled")))
    past = list(session.scalars(select(Tender).where(mine, Tender.published_at.is_not(None), ended)
                                .order_by(Tender.deadline.desc(), Tender.id.desc()).limit(RECENT)))
    tenders = open_now + past
    ids = [t.id for t in tenders]
    lots = _lot_counts(session, ids)
    rows = {t.id: BidderTender(t, status(t, now), time_left(t.deadline, now), lots.get(t.id, 1)) for t in tenders}
    if ids:
        current = [b for b in session.scalars(select(Bid).where(Bid.organisation_id == actor.organisation_id,
                                                                 Bid.tender_id.in_(ids), Bid.status == "current")
                                              .order_by(Bid.lot, Bid.id))
                   if policy.owns_bid(actor, b)]
        for bid in current:
            rows[bid.tender_id].bids.append(bid)
        if current:
            for result in session.scalars(select(OpeningResult).where(
                    OpeningResult.bid_id.in_([b.id for b in current]))):
                rows[result.tender_id].results[result.bid_id] = result
    return {"rows": [rows[i] for i in ids]}


def bidder_bids(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """The organisation's bids, the latest first: current, superseded and withdrawn, each with its receipt."""
    if actor.role != Role.BIDDER or actor.organisation_id is None:
        return {"rows": []}
    rows = [(bid, tender) for bid, tender in session.execute(
        select(Bid, Tender).join(Tender, Tender.id == Bid.tender_id)
        .where(Bid.organisation_id == actor.organisation_id)
        .order_by(Bid.received_at.desc(), Bid.id.desc()).limit(BIDS)) if policy.owns_bid(actor, bid)]
    return {"rows": rows, "bid_status": bid_status_label,
            "withdrawable": {b.id for b, t in rows if b.status == "current"
                             and status(t, now) is rules.Status.PUBLISHED}}


def bidder_results(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """The lines of the opening records that are the organisation's own bids, the latest opening first."""
    if actor.role != Role.BIDDER or actor.organisation_id is None:
        return {"rows": []}
    rows = session.execute(
        select(OpeningResult, Tender).join(Bid, Bid.id == OpeningResult.bid_id)
        .join(Tender, Tender.id == OpeningResult.tender_id)
        .where(Bid.organisation_id == actor.organisation_id, Tender.opened_at.is_not(None), Tender.opened_at <= now)
        .order_by(Tender.opened_at.desc(), OpeningResult.lot).limit(RECENT)).all()
    return {"rows": rows, "bid_status": bid_status_label, "failure_reason": failure_reason}


# ---------------------------------------------------------------- agencies

STAGES = ("draft", "published", "closed", "opened", "failed", "cancelled")
_STAGE_ORDER = {
    "draft": (Tender.created_at.desc(),), "published": (Tender.deadline.asc(),), "closed": (Tender.deadline.asc(),),
    "opened": (Tender.opened_at.desc(),), "failed": (Tender.failed_at.desc(),),
    "cancelled": (Tender.cancelled_at.desc(),),
}


def agency_stages(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """The agency's tenders by stage: how many in each, and the first few of each."""
    if actor.role != Role.AGENCY or actor.organisation_id is None:
        return {"stages": [], "total": 0}
    own = Tender.agency_id == actor.organisation_id
    clauses = {stage: portal.status_clause(stage, now) for stage in STAGES}
    counts = session.execute(select(*[func.coalesce(func.sum(case((clause, 1), else_=0)), 0)
                                      for clause in clauses.values()]).where(own)).one()
    stages = []
    for stage, count in zip(STAGES, counts):
        items = list(session.scalars(select(Tender).where(own, clauses[stage])
                                     .order_by(*_STAGE_ORDER[stage], Tender.id.desc()).limit(PER_STAGE))) if count else []
        stages.append({"stage": stage, "count": int(count), "tenders": items})
    return {"stages": stages, "total": sum(s["count"] for s in stages)}


def agency_due(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """What the agency has to do: questions to answer, and openings due now or overdue."""
    if actor.role != Role.AGENCY or actor.organisation_id is None:
        return {"questions": [], "unanswered": 0, "openings": []}
    own = Tender.agency_id == actor.organisation_id
    waiting = (select(Tender, func.count(Question.id).label("n"))
               .join(Question, Question.tender_id == Tender.id)
               .where(own, Question.answer.is_(None), Tender.cancelled_at.is_(None))
               .group_by(Tender.id).order_by(func.min(Question.asked_at), Tender.id).limit(DUE))
    questions = [(t, n) for t, n in session.execute(waiting) if policy.owns_tender(actor, t)]
    unanswered = session.scalar(select(func.count(Question.id)).join(Tender, Tender.id == Question.tender_id)
                                .where(own, Question.answer.is_(None), Tender.cancelled_at.is_(None))) or 0
    openings = [(t, portal.days_unopened(t, now)) for t in session.scalars(
        select(Tender).where(own, portal.status_clause("closed", now))
        .order_by(Tender.deadline.asc(), Tender.id.asc()).limit(DUE)) if policy.owns_tender(actor, t)]
    return {"questions": questions, "unanswered": unanswered, "openings": openings}


# ---------------------------------------------------------------- custodians

@dataclass(frozen=True)
class KeyState:
    """A custodian's registered age recipient (None when none is) and its fingerprint, and whether a registration
    challenge waits for its answer."""

    recipient: str | None
    challenge_open: bool

    @property
    def registered(self) -> bool:
        return self.recipient is not None

    @property
    def fingerprint(self) -> str | None:
        return recipient_fingerprint(self.recipient) if self.recipient else None


def _custodian_key_state(session: Session, actor: Actor, now: datetime) -> KeyState:
    """The one place the desk reads a custodian's key registration (tender.custodians)."""
    challenge = custodians.open_recipient_challenge(session, actor=actor, now=now)
    return KeyState(custodians.recipient_of(session, actor.user_id), challenge is not None)


def custodian_key(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """The custodian's key registration, how many shares the custodian holds and how many of them are sealed to
    another key than the one registered now."""
    if actor.role != Role.CUSTODIAN or actor.user_id is None:
        return {"key": KeyState(None, False), "shares": 0, "other_key": 0}
    key = _custodian_key_state(session, actor, now)
    other = or_(KeyShare.recipient.is_(None), KeyShare.recipient != key.recipient) if key.recipient else sa_true()
    shares, other_key = session.execute(
        select(func.count(), func.coalesce(func.sum(case((other, 1), else_=0)), 0))
        .where(KeyShare.custodian_id == actor.user_id)).one()
    return {"key": key, "shares": int(shares), "other_key": int(other_key)}


def custodian_openings(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """The openings that need the custodian's share now (deadline passed, not opened), whether it was presented,
    and the next deadlines of tenders whose shares the custodian holds."""
    if actor.role != Role.CUSTODIAN or actor.user_id is None:
        return {"needed": [], "soon": []}
    mine = KeyShare.custodian_id == actor.user_id
    due = [(share, t) for share, t in session.execute(
        select(KeyShare, Tender).join(Tender, Tender.id == KeyShare.tender_id)
        .where(mine, portal.status_clause("closed", now)).order_by(Tender.deadline.asc(), Tender.id).limit(DUE))
        if policy.holds_share(actor, share)]
    presented = set(session.scalars(select(OpeningShare.tender_id).where(
        OpeningShare.custodian_id == actor.user_id, OpeningShare.tender_id.in_([t.id for _s, t in due])))) if due else set()
    soon = [(share, t, time_left(t.deadline, now)) for share, t in session.execute(
        select(KeyShare, Tender).join(Tender, Tender.id == KeyShare.tender_id)
        .where(mine, portal.status_clause("published", now)).order_by(Tender.deadline.asc(), Tender.id).limit(SOON))
        if policy.holds_share(actor, share)]
    return {"needed": [(share, t, t.id in presented) for share, t in due], "soon": soon}


# ---------------------------------------------------------------- supervisors

def overdue(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """Tenders still awaiting their opening a day or more after the deadline, the oldest first."""
    return {"rows": [(t, portal.days_unopened(t, now)) for t in portal.overdue_openings(session, actor=actor, now=now)]}


BIDDER, AGENCY, CUSTODIAN = frozenset({Role.BIDDER}), frozenset({Role.AGENCY}), frozenset({Role.CUSTODIAN})

PANELS: tuple[DeskPanel, ...] = (
    DeskPanel("tender.bidder_tenders", _l("My tenders by deadline"), BIDDER, 10, bidder_tenders,
              "tender/desk_bidder_tenders.html"),
    DeskPanel("tender.bidder_bids", _l("My bids"), BIDDER, 20, bidder_bids, "tender/desk_bidder_bids.html"),
    DeskPanel("tender.bidder_results", _l("My opening results"), BIDDER, 30, bidder_results,
              "tender/desk_bidder_results.html"),
    DeskPanel("tender.agency_due", _l("What is due"), AGENCY, 10, agency_due, "tender/desk_agency_due.html"),
    DeskPanel("tender.agency_stages", _l("My tenders by stage"), AGENCY, 20, agency_stages,
              "tender/desk_agency_stages.html"),
    DeskPanel("tender.custodian_openings", _l("Openings that need my share"), CUSTODIAN, 10, custodian_openings,
              "tender/desk_custodian_openings.html"),
    DeskPanel("tender.custodian_key", _l("My key registration"), CUSTODIAN, 20, custodian_key,
              "tender/desk_custodian_key.html"),
    DeskPanel("tender.overdue_openings", _l("Openings overdue"), frozenset({Role.SUPERVISOR}), 10, overdue,
              "tender/desk_overdue.html"),
)
"""The tender area's desk panels (``Area.desk``)."""
