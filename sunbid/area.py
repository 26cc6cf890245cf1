"""What the composition root itself records: the blob collector's audit action (``sunbid blobs gc``)."""
from __future__ import annotations

from audit.disclosure import Action
from audit.rules import Disclosure
from core.area import Area


def _labels(labels) -> None:
    from flask_babel import lazy_gettext as _l

    labels.register_actions({"blobs.collected": _l("Unreferenced files removed")})
    labels.register_objects({"blob_store": _l("File store")})


AREA = Area(
    name="sunbid",
    actions=(Action("blobs.collected", Disclosure.SUPERVISORS),),
    labels=_labels,
)
