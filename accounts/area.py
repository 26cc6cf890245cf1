"""The accounts area as the composition root sees it.

Its tables and blueprints keep the prefix ``core`` they had before accounts left core (``core_user``,
``core.login``, ``core_api.create_token``): renaming them would change every endpoint name and the schema
for nothing a user sees, so the area declares ``prefix="core"``.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from accounts.actions import ACTIONS
from accounts import demo
from accounts.api import bp as api_bp
from accounts.cli import create_admin, create_supervisor
from accounts.desk import PANELS as DESK
from accounts.openapi import PATHS
from accounts.views import bp as views_bp
from core.area import Area, NavEntry
from core.roles import ADMINS, SUPERVISING


def _setup(app) -> None:
    from accounts.hooks import hooks_of

    hooks_of(app)  # what the areas above add to the accounts (accounts.hooks), on this app and its sessions


def _labels(audit_labels) -> None:
    from accounts import labels
    from accounts.forms import ROLE_LABELS

    audit_labels.register_roles(ROLE_LABELS)
    audit_labels.register_actions(labels.ACTIONS)
    audit_labels.register_objects(labels.OBJECTS)


AREA = Area(
    name="accounts",
    prefix="core",
    blueprints=(views_bp, api_bp),
    api_blueprints=(api_bp,),
    commands=(create_admin, create_supervisor),
    models="accounts.models",
    actions=ACTIONS,
    demo=demo.plan,
    demo_summary=demo.summary,
    nav=(NavEntry("core.role_requests", _l("Role requests"), 40, SUPERVISING),
         NavEntry("core.admin_organisations", _l("Organisations"), 60, ADMINS),
         NavEntry("core.admin_users", _l("Users"), 61, ADMINS)),
    desk=DESK,
    pure=("accounts.rules",),
    openapi=PATHS,
    labels=_labels,
    setup=_setup,
)
