"""What the audit screens call things: a translated label for every recorded action, role and object
type, and how a replayed field is named and shown.  Audit imports no area: each area registers its own
labels here (``register_actions`` …) from the composition root, next to its replay handler.

tests/integration/test_audit_screens.py checks that every action the code records has a label in
English and in Chinese.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

ACTION_LABELS: dict[str, Any] = {}  # action code → lazy-translated label
OBJECT_LABELS: dict[str, Any] = {}  # object type → lazy-translated label
ROLE_LABELS: dict[str, Any] = {}  # actor role → lazy-translated label
FIELD_LABELS: dict[str, Any] = {}  # a replayed state's field → lazy-translated label
PRESENTERS: dict[str, Callable[[Any], str]] = {}  # a replayed field → how its value reads for people
TENDER_FINDERS: list[Callable[[Any, str], int | None]] = []  # (session, project code) → tender id


def register_actions(labels: Mapping[str, Any]) -> None:
    ACTION_LABELS.update(labels)


def register_objects(labels: Mapping[str, Any]) -> None:
    OBJECT_LABELS.update(labels)


def register_roles(labels: Mapping[str, Any]) -> None:
    ROLE_LABELS.update(labels)


def register_fields(labels: Mapping[str, Any], presenters: Mapping[str, Callable[[Any], str]] | None = None) -> None:
    FIELD_LABELS.update(labels)
    PRESENTERS.update(presenters or {})


def register_tender_finder(find: Callable[[Any, str], int | None]) -> None:
    """How the log's tender filter turns a project code (SB-2026-00001) into the tender's id."""
    TENDER_FINDERS.append(find)


def find_tender(session, code: str) -> int | None:
    for find in TENDER_FINDERS:
        found = find(session, code)
        if found is not None:
            return found
    return None


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def object_label(kind: str) -> str:
    label = OBJECT_LABELS.get(kind)
    return str(label) if label is not None else kind


def role_label(role: str) -> str:
    label = ROLE_LABELS.get(role)
    return str(label) if label is not None else role


def field_label(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else name


register_actions({
    "witness.registered": _l("Witness registered"),
    "checkpoint.cosigned": _l("Checkpoint cosigned by a witness"),
})
register_objects({"witness": _l("Witness"), "checkpoint": _l("Checkpoint")})
register_roles({"system": _l("The platform"), "public": _l("Public"), "witness": _l("Witness")})


_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def ordered_fields(names) -> list[str]:
    """Replayed fields in the order their areas registered them (the rest after, by name)."""
    order = {name: i for i, name in enumerate(FIELD_LABELS)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def show_value(name: str, value: Any) -> str:
    """A replayed field's value as people read it: the area's presenter when it registered one, else
    money in yuan for ``*_fen``, UTC timestamps in the platform's zone, "—" for nothing."""
    from flask_babel import format_datetime
    from flask_babel import gettext as _

    from core.i18n import parse_iso
    from core.money import format_fen

    if name in PRESENTERS:
        return PRESENTERS[name](value)
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
