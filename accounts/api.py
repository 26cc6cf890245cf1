"""The accounts' JSON API: who am I (token check), the caller's API tokens, and the API's OpenAPI description."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select

from accounts import service
from core.errors import N_, InvalidInput
from accounts.models import ApiToken
from core.web import acting_user, actor, db, now, permission, public, transaction

bp = Blueprint("core_api", __name__, url_prefix="/api/v1")


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _token_dict(token: ApiToken) -> dict:
    return {"id": token.id, "name": token.name, "prefix": token.prefix, "created_at": _time(token.created_at),
            "expires_at": _time(token.expires_at), "last_used_at": _time(token.last_used_at),
            "revoked_at": _time(token.revoked_at)}


@bp.get("/me")
@permission()
def me():
    user = acting_user()
    return jsonify(username=user.username, display_name=user.display_name, role=user.role,
                   organisation={"id": user.organisation.id, "name": user.organisation.name,
                                 "credit_code": user.organisation.credit_code})


@bp.get("/tokens")
@permission()
def tokens():
    """The caller's tokens: when each expires and was last used (within a minute)."""
    rows = db().scalars(select(ApiToken).where(ApiToken.user_id == acting_user().id).order_by(ApiToken.id.desc()))
    return jsonify(items=[_token_dict(t) for t in rows])


@bp.post("/tokens")
@permission()
def create_token():
    """A new token of the caller: ``{"name": ..., "expires_in_days": 1..365}`` (default 90); it never
    outlives the token that made it.  The plaintext is in this answer only."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(N_("Send a JSON object."))
    days = body.get("expires_in_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise InvalidInput(N_("A token is valid for 1 to %(max)s days."), field="expires_in_days", max=365)
    name = body.get("name")
    with transaction() as s:
        token, plaintext = service.create_api_token(s, actor=actor(), name=name if isinstance(name, str) else "",
                                                    days=days, not_after=g.api_token.expires_at, now=now())
        out = {**_token_dict(token), "token": plaintext}
    return jsonify(out), 201


@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 description of /api/v1, put together from the areas' tables (``core.openapi``)."""
    from core.openapi import document

    ext = current_app.extensions
    if "sunbid_openapi_document" not in ext:
        ext["sunbid_openapi_document"] = document(ext["sunbid_openapi"])
    return jsonify(ext["sunbid_openapi_document"])
