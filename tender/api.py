"""Public tender API: ``GET /api/v1/tenders`` and ``GET /api/v1/tenders/<id>``."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from core.web import actor, db, now, public
from tender import service

bp = Blueprint("tender_api", __name__, url_prefix="/api/v1")


@bp.get("/tenders")
@public
def tenders():
    t = now()
    args = request.args
    per_page = min(max(args.get("per_page", 20, type=int) or 20, 1), 100)
    result = service.search_public(db(), now=t, q=args.get("q", ""), category=args.get("category", ""),
                                   region=args.get("region", ""), status_filter=args.get("status", ""),
                                   page=max(args.get("page", 1, type=int) or 1, 1), per_page=per_page)
    return jsonify(
        items=[{**service.public_dict(x, t), "url": url_for("tender_api.tender", tender_id=x.id, _external=True)}
               for x in result.items],
        page=result.page, per_page=result.per_page, total=result.total, pages=result.pages)


@bp.get("/tenders/<int:tender_id>")
@public
def tender(tender_id: int):
    t = now()
    found = service.get_tender(db(), actor(), tender_id)
    return jsonify(service.public_dict(found, t, detail=True))
