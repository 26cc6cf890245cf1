"""The audit area as the composition root sees it."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from audit.api import bp as api_bp
from audit.api import text_bp
from audit.cli import audit_group
from audit.disclosure import AUDIT_ACTIONS
from audit.labels import register_own
from audit.openapi import PATHS
from audit.views import bp as views_bp
from core.area import Area, NavEntry
from core.roles import SUPERVISING


def _setup(app) -> None:
    from audit import witness_push

    witness_push.install(app.extensions["sunbid"])  # checkpoints pushed to SUNBID_WITNESSES after commit


AREA = Area(
    name="audit",
    blueprints=(views_bp, api_bp, text_bp),
    api_blueprints=(api_bp,),
    commands=(audit_group,),
    models="audit.models",
    blob_columns=("IssuedDocument.sha256",),
    actions=AUDIT_ACTIONS,
    nav=(NavEntry("audit.log", _l("Audit log"), 30, SUPERVISING),),
    pure=("audit.rules", "audit.merkle", "audit.notes", "audit.proofs"),
    openapi=PATHS,
    labels=register_own,
    setup=_setup,
)
