"""The bid form of a tender and lot, packed and sealed in the bidder's own browser, and the bidder's own page of
the tender (tender.bidform): its documents, its bids and receipts, withdrawal, its opening result."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import format_datetime

from core.roles import Role
from core.static_assets import static_integrity
from core.rules import whole_number
from core.web import actor, db, now, permission, platform
from tender import bidform, rules
from tender.labels import bid_status_label, failure_reason
from tender.views.common import bp


@bp.get("/tenders/<id:tender_id>/my-bid")
@permission(Role.BIDDER)
def bid_form(tender_id: int):
    """The bidder's page of a published tender: the bid form for the lot chosen (``?lot=N``) while bids are
    taken, the bids with their receipts, and after the opening the bidder's own results."""
    lot = whole_number(request.args.get("lot"), field="lot", minimum=1, maximum=rules.MAX_LOTS, default=1)
    view = bidform.bid_form(db(), actor=actor(), tender_id=tender_id, lot=lot, now=now())
    limit_mb = platform().settings.bid_limit_mb
    return render_template("tender/bid_form.html", view=view, tender=view.tender, now=now(), limit_mb=limit_mb,
                           deadline=format_datetime(view.tender.deadline, "yyyy-MM-dd HH:mm"),
                           bid_status=bid_status_label, failure_reason=failure_reason,
                           age_integrity=static_integrity("vendor/age-encryption/age.min.js"),
                           tus_integrity=static_integrity("vendor/tus-js-client/tus.min.js"))
