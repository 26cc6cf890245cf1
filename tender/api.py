"""Public tender API: ``GET /api/v1/tenders`` and ``GET /api/v1/tenders/<id>``."""
from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request, url_for

from core.blobs import FileTooLarge
from core.inputs import int_arg, page_arg
from core.roles import Role
from core.web import actor, db, now, permission, public
from tender import portal, service, tus
from tender.views.bidding import bid_receipt
from tender.rules import MAX_LOTS as LOT_MAX

bp = Blueprint("tender_api", __name__, url_prefix="/api/v1")


@bp.get("/tenders")
@public
def tenders():
    t = now()
    args = request.args
    per_page = int_arg("per_page", 20, minimum=1, maximum=100)
    result = portal.search_public(db(), now=t, q=args.get("q", ""), category=args.get("category", ""),
                                  region=args.get("region", ""), status_filter=args.get("status", ""),
                                  page=page_arg(), per_page=per_page)
    return jsonify(
        items=[{**portal.public_dict(x, t), "url": url_for("tender_api.tender", tender_id=x.id, _external=True)}
               for x in result.items],
        page=result.page, per_page=result.per_page, total=result.total, pages=result.pages)


@bp.get("/tenders/<id:tender_id>")
@public
def tender(tender_id: int):
    t = now()
    found = service.get_tender(db(), actor(), tender_id)
    return jsonify(portal.public_dict(found, t, detail=True))


@bp.post("/tenders/<id:tender_id>/bids")
@permission(Role.BIDDER)
def submit_bid(tender_id: int):
    """Body: the sealed bid (an age file), streamed to the blob store; ``?lot=N`` (default 1)."""
    from flask import request

    from core.web import platform, request_body, transaction
    from tender import bids

    lot = int_arg("lot", 1, minimum=1, maximum=LOT_MAX)
    limit = platform().settings.bid_limit_mb * 1024 * 1024
    request.max_content_length = limit
    with transaction() as s:  # refuse early (deadline, documents) before anything is uploaded
        bids.check_submission(s, actor=actor(), tender_id=tender_id, now=now())
    room, over_quota = tus.store_limit(tender_id, limit)
    try:
        stored = bids.store_sealed(request_body(), blobs=platform().blobs, limit=room)
    except FileTooLarge:
        over_quota()
        raise
    try:
        with transaction() as s:
            bid = bids.submit_bid(s, actor=actor(), tender_id=tender_id, lot=lot, stored=stored, now=now(),
                                  signer=platform().signer, quota=tus.quota())
            body = {"id": bid.public_id, "lot": bid.lot, "sha256": bid.sha256, "size": bid.size,
                    "status": bid.status, "received_at": bid.received_at.isoformat(),
                    "receipt": json.loads(bid.receipt)}
    except BaseException:
        tus.discard_refused(stored)  # refused after it was stored (the deadline passed meanwhile, the quota)
        raise
    return jsonify(body), 201


@bp.get("/tenders/<id:tender_id>/bids")
@permission(Role.BIDDER)
def my_bids(tender_id: int):
    from tender import bids

    rows = bids.own_bids(db(), actor=actor(), tender_id=tender_id)
    return jsonify(items=[{"id": b.public_id, "lot": b.lot, "sha256": b.sha256, "size": b.size, "status": b.status,
                           "received_at": b.received_at.isoformat()} for b in rows])


# The receipt's download is the bid pages' own view (tender.views.bidding.bid_receipt) under the API's URL: the
# bearer token stands for the session there, and an error is answered in JSON.
bp.add_url_rule("/bids/<bid_id>/receipt", endpoint="receipt", view_func=bid_receipt, methods=["GET"])


@bp.post("/bids/<bid_id>/withdraw")
@permission(Role.BIDDER)
def withdraw(bid_id: str):
    from core.web import transaction
    from tender import bids

    with transaction() as s:
        bid = bids.withdraw_bid(s, actor=actor(), bid_id=bid_id, now=now())
        body = {"id": bid.public_id, "status": bid.status}
    return jsonify(body)


# ---------------------------------------------------------------- resumable uploads (tus 1.0.0)
#
# The request handling is tender/tus.py, shared with the bid form's browser uploads (tender/views/bidding.py); the
# work is tender/uploads.py.  Here the caller is the owner of the bearer token.
#
#   OPTIONS /api/v1/tenders/<id>/uploads     what the server speaks (public)
#   POST    /api/v1/tenders/<id>/uploads     create (Upload-Length) → 201, Location
#   HEAD    /api/v1/uploads/<upload id>      Upload-Offset, Upload-Length
#   PATCH   /api/v1/uploads/<upload id>      append at Upload-Offset → 204, Upload-Offset (+ Sunbid-Bid-Id at the end)
#   DELETE  /api/v1/uploads/<upload id>      terminate → 204
#   GET     /api/v1/uploads/<upload id>      JSON: progress, status, and the bid with its receipt once finished

TUS_ENDPOINTS = frozenset(f"tender_api.{name}" for name in tus.ENDPOINTS)


@bp.after_request
def _tus_headers(resp: Response) -> Response:
    if request.endpoint in TUS_ENDPOINTS:
        tus.add_headers(resp)
    return resp


tus.add_routes(bp, status_endpoint="tender_api.upload_status")
