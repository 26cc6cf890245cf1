"""Labels of the accounts' audit actions and objects for the audit screens (registered by accounts.area)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "organisation.created": _l("Organisation created"),
    "organisation.updated": _l("Organisation edited"),
    "user.created": _l("User created"),
    "user.updated": _l("User edited"),
    "user.role_changed": _l("Role of a user changed"),
    "user.password_reset": _l("Password reset by an administrator"),
    "user.activated": _l("User activated"),
    "user.deactivated": _l("User deactivated"),
    "user.password_changed": _l("Password changed"),
    "user.logged_in": _l("Signed in"),
    "user.logged_out": _l("Signed out"),
    "role.requested": _l("Role change requested"),
    "role.approved": _l("Role change approved"),
    "role.refused": _l("Role change refused"),
    "user.login_failed": _l("Sign-in failed"),
    "api_token.created": _l("API token created"),
    "api_token.revoked": _l("API token revoked"),
}
OBJECTS = {"organisation": _l("Organisation"), "user": _l("User"), "api_token": _l("API token")}
