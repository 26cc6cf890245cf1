"""How the audit screens name the tender area's actions, objects and replayed fields, and show their
values (registered with audit.labels by sunbid.app)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.money import format_fen

ACTIONS = {
    "tender.created": _l("Tender drafted"),
    "tender.updated": _l("Draft tender edited"),
    "tender.published": _l("Tender published"),
    "tender.amended": _l("Tender amended"),
    "tender.cancelled": _l("Tender cancelled"),
    "document.added": _l("Document added"),
    "document.removed": _l("Document removed"),
    "document.downloaded": _l("Document downloaded"),
    "question.asked": _l("Question asked"),
    "question.answered": _l("Question answered"),
    "bid.upload_created": _l("Bid upload started"),
    "bid.upload_terminated": _l("Bid upload abandoned"),
    "bid.upload_closed": _l("Bid upload finished"),
    "bid.submitted": _l("Sealed bid submitted"),
    "bid.withdrawn": _l("Bid withdrawn"),
    "bid.opened": _l("Bid opened"),
    "opening.share_presented": _l("Key share presented"),
    "opening.completed": _l("Opening completed"),
    "opening.confirmed": _l("Opening record confirmed"),
    "opening.objection": _l("Objection to the opening"),
    "opening.objection_answered": _l("Objection to the opening answered"),
    "opening.record_issued": _l("Opening record issued (signed PDF)"),
    "user.age_recipient_challenged": _l("Age key challenge issued"),
    "user.age_recipient_registered": _l("Age key registered by proof"),
    "user.age_recipient_proof_failed": _l("Age key proof failed"),
    "user.age_recipient_set": _l("Age key of a user set"),
}
OBJECTS = {"tender": _l("Tender"), "document": _l("Document"), "question": _l("Question"), "bid": _l("Bid"),
           "bid_upload": _l("Bid upload")}
FIELDS = {
    "project_code": _l("Project code"), "title": _l("Title"), "estimated_price_fen": _l("Estimated price"),
    "deposit_fen": _l("Bid deposit"), "download_start": _l("Documents available from"),
    "download_end": _l("Documents available until"), "deadline": _l("Bid deadline = opening"),
    "published_at": _l("Published"), "cancelled_at": _l("Cancelled"), "opened_at": _l("Opened"),
    "failed_at": _l("Failed (too few bids)"), "documents": _l("Documents (SHA-256)"),
    "amendments": _l("Amendments"), "questions": _l("Questions"), "answered": _l("Answered questions"),
    "downloads": _l("Downloads"), "opening": _l("Opening results"), "bids": _l("Bids"), "status": _l("Status"),
}


def status_label(value: str) -> str:
    return str({"draft": _l("Draft"), "published": _l("Bidding open"), "closed": _l("Closed, awaiting opening"),
                "opened": _l("Opened"), "failed": _l("Failed (too few bids)"),
                "cancelled": _l("Cancelled")}.get(value, value))


def bid_status_label(value: str) -> str:
    """A bid's state (current, superseded, withdrawn) or an opening result's (valid, failed), translated."""
    return str({"current": _l("Current"), "superseded": _l("Superseded"), "withdrawn": _l("Withdrawn"),
                "valid": _l("Valid"), "failed": _l("Failed")}.get(value, value))


def failure_reason(value: str) -> str:
    return str({"no_matching_key": _l("sealed to a wrong key"), "corrupt": _l("damaged file"),
                "manifest_mismatch": _l("files do not match the manifest"),
                "malformed_package": _l("malformed bid package"),
                "wrong_package": _l("package for another tender, lot or bidder"),
                "unreadable": _l("unreadable bid package")}.get(value, value))


def _bids(value: Any) -> str:
    """{bid id: "status sha256"} as in tender.replay and tender.portal.snapshot."""
    lines = []
    for bid, text in (value or {}).items():
        state, _sep, digest = str(text).partition(" ")
        lines.append(_("Bid %(id)s: %(status)s, %(hash)s", id=bid, status=bid_status_label(state), hash=digest))
    return "\n".join(lines) or "—"


def _opening(value: Any) -> str:
    """{bid id: "status [reason] price_fen"} as in tender.replay and tender.portal.snapshot."""
    lines = []
    for bid, text in (value or {}).items():
        words = str(text).split()
        state, price = words[0] if words else "", words[-1] if len(words) > 1 else "None"
        reason = words[1] if len(words) > 2 else ""
        shown = format_fen(int(price)) if price.lstrip("-").isdigit() else "—"
        status = bid_status_label(state) + (f" ({failure_reason(reason)})" if reason else "")
        lines.append(_("Bid %(id)s: %(status)s, %(price)s", id=bid, status=status, price=shown))
    return "\n".join(lines) or "—"


PRESENTERS = {"status": status_label, "bids": _bids, "opening": _opening,
              "documents": lambda v: "\n".join(v) if v else "—"}


def find_tender(session, code: str) -> int | None:
    from tender.models import Tender

    return session.scalar(select(Tender.id).where(Tender.project_code == code.strip().upper()))
