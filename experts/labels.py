"""How the audit screens name the experts area's actions and objects."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "experts.profile_created": _l("Expert profile created"),
    "experts.imported": _l("Experts imported"),
    "experts.suspended": _l("Expert suspended"),
    "experts.reinstated": _l("Expert reinstated"),
    "experts.contact_updated": _l("Expert contact details updated"),
}
OBJECTS = {"experts_profile": _l("Expert profile")}

STATUSES = {"active": _l("Active"), "suspended": _l("Suspended"), "retired": _l("Retired")}
