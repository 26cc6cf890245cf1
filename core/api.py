"""Core JSON API: who am I (token check)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from core.web import acting_user, permission

bp = Blueprint("core_api", __name__, url_prefix="/api/v1")


@bp.get("/me")
@permission()
def me():
    user = acting_user()
    return jsonify(username=user.username, display_name=user.display_name, role=user.role,
                   organisation={"id": user.organisation.id, "name": user.organisation.name,
                                 "credit_code": user.organisation.credit_code})
