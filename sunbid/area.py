"""The composition root as an area: the blob collector's audit action (``sunbid blobs gc``) and the desk
(``/desk``, ``sunbid.desk``), where every signed-in user finds the panels the areas declare for their role."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from audit.disclosure import Action
from audit.rules import Disclosure
from core.area import Area, NavEntry
from core.roles import USER_ROLES
from sunbid.desk import bp as desk_bp


def _labels(labels) -> None:
    labels.register_actions({"blobs.collected": _l("Unreferenced files removed")})
    labels.register_objects({"blob_store": _l("File store")})


AREA = Area(
    name="sunbid",
    blueprints=(desk_bp,),
    actions=(Action("blobs.collected", Disclosure.SUPERVISORS),),
    nav=(NavEntry("sunbid.desk", _l("My desk"), 5, frozenset(USER_ROLES)),),
    labels=_labels,
)
