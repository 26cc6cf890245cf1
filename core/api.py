"""Core JSON API: who am I (token check), and the API's OpenAPI description."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from core.web import acting_user, permission, public

bp = Blueprint("core_api", __name__, url_prefix="/api/v1")


@bp.get("/me")
@permission()
def me():
    user = acting_user()
    return jsonify(username=user.username, display_name=user.display_name, role=user.role,
                   organisation={"id": user.organisation.id, "name": user.organisation.name,
                                 "credit_code": user.organisation.credit_code})


@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 description of /api/v1, put together from the areas' tables (``core.openapi``)."""
    from core.openapi import document

    ext = current_app.extensions
    if "sunbid_openapi_document" not in ext:
        ext["sunbid_openapi_document"] = document(ext["sunbid_openapi"])
    return jsonify(ext["sunbid_openapi_document"])
