"""What the audit screens call things: a translated label for every recorded action, role and object
type, and how a replayed field is named and shown.  Audit imports no area: each area registers its own
labels (``Area.labels``) on the app's ``Labels`` when the app is made, next to its replay handler.

tests/integration/audit/test_audit_screens.py checks that every action the code records has a label in
English and in Chinese.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from core.roles import Role


class Labels:
    """The labels of one application: each area registers its own (``Area.labels``) when the app is made."""

    def __init__(self) -> None:
        self.actions: dict[str, Any] = {}  # action code → lazy-translated label
        self.objects: dict[str, Any] = {}  # object type → lazy-translated label
        self.roles: dict[str, Any] = {}  # actor role → lazy-translated label
        self.fields: dict[str, Any] = {}  # a replayed state's field → lazy-translated label
        self.presenters: dict[str, Callable[[Any], str]] = {}  # a replayed field → how its value reads for people
        self.tender_finders: list[Callable[[Any, str], int | None]] = []  # (session, project code) → tender id

    def register_actions(self, labels: Mapping[str, Any]) -> None:
        self.actions.update(labels)

    def register_objects(self, labels: Mapping[str, Any]) -> None:
        self.objects.update(labels)

    def register_roles(self, labels: Mapping[str, Any]) -> None:
        self.roles.update(labels)

    def register_fields(self, labels: Mapping[str, Any],
                        presenters: Mapping[str, Callable[[Any], str]] | None = None) -> None:
        self.fields.update(labels)
        self.presenters.update(presenters or {})

    def register_tender_finder(self, find: Callable[[Any, str], int | None]) -> None:
        """How the log's tender filter turns a project code (SB-2026-00001) into the tender's id."""
        if find not in self.tender_finders:
            self.tender_finders.append(find)


def register_own(labels: Labels) -> None:
    """The audit area's own labels."""
    labels.register_actions({
        "witness.registered": _l("Witness registered"),
        "checkpoint.cosigned": _l("Checkpoint cosigned by a witness"),
    })
    labels.register_objects({"witness": _l("Witness"), "checkpoint": _l("Checkpoint")})
    labels.register_roles({Role.SYSTEM: _l("The platform"), "public": _l("Public"), "witness": _l("Witness")})


_OWN = Labels()
register_own(_OWN)


def current() -> Labels:
    """The labels of the running app; outside one, the audit area's own."""
    from flask import current_app, has_app_context

    if has_app_context():
        platform = current_app.extensions.get("sunbid")
        if platform is not None and getattr(platform, "labels", None) is not None:
            return platform.labels
    return _OWN


def find_tender(session, code: str) -> int | None:
    for find in current().tender_finders:
        found = find(session, code)
        if found is not None:
            return found
    return None


def action_label(code: str) -> str:
    label = current().actions.get(code)
    return str(label) if label is not None else code


def object_label(kind: str) -> str:
    label = current().objects.get(kind)
    return str(label) if label is not None else kind


def role_label(role: str) -> str:
    label = current().roles.get(role)
    return str(label) if label is not None else role


def field_label(name: str) -> str:
    label = current().fields.get(name)
    return str(label) if label is not None else name


_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def ordered_fields(names) -> list[str]:
    """Replayed fields in the order their areas registered them (the rest after, by name)."""
    order = {name: i for i, name in enumerate(current().fields)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def show_value(name: str, value: Any) -> str:
    """A replayed field's value as people read it: the area's presenter when it registered one, else
    money in yuan for ``*_fen``, UTC timestamps in the platform's zone, "—" for nothing."""
    from flask_babel import format_datetime
    from flask_babel import gettext as _

    from core.i18n import parse_iso
    from core.money import format_fen

    presenters = current().presenters
    if name in presenters:
        return presenters[name](value)
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int) and name.endswith("_fen"):
        return format_fen(value)
    if isinstance(value, str) and _ISO_UTC.match(value):
        return format_datetime(parse_iso(value), "yyyy-MM-dd HH:mm:ss")
    if isinstance(value, Mapping):
        return "\n".join(f"{k}: {show_value('', v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return "\n".join(show_value("", v) for v in value)
    return str(value)
