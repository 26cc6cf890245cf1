"""Who may do what with one tender's objects: the object policies of the tender area as pure predicates.

Routes say which roles reach them (``core.web.permission``); these say whether this actor may act on this
tender, bid or key share.  Services refuse with them (mostly as 404, so a probe learns nothing) and views
compute with them what a page shows, so that a page never offers what the service would refuse.

Pure module: no Flask, no database, no clock.  The actor is anything with ``role``, ``user_id`` and
``organisation_id`` (``core.actor.Actor``); the objects are anything with the attributes named.
"""
from __future__ import annotations

from typing import Any, Protocol

from core.roles import SUPERVISING, Role


class Acting(Protocol):
    role: str
    user_id: int | None
    organisation_id: int | None


def owns_tender(actor: Acting, tender: Any) -> bool:
    """The agency that runs the tender (``tender.agency_id``), through any of its staff."""
    return actor.role == Role.AGENCY and actor.organisation_id is not None and actor.organisation_id == tender.agency_id


def may_see_tender(actor: Acting, tender: Any) -> bool:
    """A published tender is public; a draft (``published_at`` unset) only its agency's and supervisors'."""
    return tender.published_at is not None or owns_tender(actor, tender) or actor.role in SUPERVISING


def reads_documents_uncounted(actor: Acting, tender: Any) -> bool:
    """The owning agency and supervisors read a tender's documents at any time, without being counted as a
    download (bidders download within the window and are recorded)."""
    return owns_tender(actor, tender) or actor.role in SUPERVISING


def may_see_downloads(actor: Acting, tender: Any, *, names_visible: bool) -> bool:
    """Whether the actor learns anything of who downloaded the documents: the agency (counts before the
    deadline, names after: 电子招标投标办法 art. 21), supervisors always, administrators only once the names are
    visible; a bidder never learns of the others."""
    return (owns_tender(actor, tender) or actor.role == Role.SUPERVISOR
            or (actor.role == Role.ADMIN and names_visible))


def may_see_downloader_names(actor: Acting, tender: Any, *, names_visible: bool) -> bool:
    """Of those who see the downloads, who sees the bidders' names now: supervisors always, the others once
    ``names_visible`` (after the deadline)."""
    return may_see_downloads(actor, tender, names_visible=names_visible) and (
        actor.role in SUPERVISING or names_visible)


def holds_share(actor: Acting, share: Any) -> bool:
    """The key custodian a share of a tender's opening key was sealed to (``share.custodian_id``)."""
    return actor.role == Role.CUSTODIAN and actor.user_id is not None and share.custodian_id == actor.user_id


def owns_bid(actor: Acting, bid: Any) -> bool:
    """The bidder organisation that submitted the bid (``bid.organisation_id``), through any of its staff."""
    return actor.role == Role.BIDDER and actor.organisation_id is not None and bid.organisation_id == actor.organisation_id
