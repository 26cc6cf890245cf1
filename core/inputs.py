"""Where request input enters the application, checked once for every route.

- ``<id:name>`` in a route: a database id, ASCII digits within the database integer range; anything
  else does not match the route (404), so no view or query ever sees ``99999999999999999999`` or ``²``.
- ``int_arg``: a whole number from the query string, with bounds, refused with a 400 that names it.
- ``check_text``: no text that reaches the application (query string, form fields, URL parts) may hold a
  NUL character, which PostgreSQL cannot store and no person types; refused with a 400 before any view runs.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, request
from werkzeug.routing import BaseConverter, ValidationError

from core.errors import N_, InvalidInput
from core.rules import MAX_ID, whole_number

PAGE_MAX = 100_000
"""The largest page number asked of any list (beyond it, a 400 rather than a huge offset)."""


class IdConverter(BaseConverter):
    """``<id:tender_id>``: 0 … 2^31 − 1 (core.rules.MAX_ID) written in ASCII digits."""

    regex = r"[0-9]{1,10}"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class NulInText(InvalidInput):
    code = "nul_in_text"
    default_message = N_("The request contains a NUL character, which no text may contain.")


def int_arg(name: str, default: int | None = None, *, minimum: int = 0, maximum: int = MAX_ID) -> int:
    """The query parameter ``name`` as a whole number within ``minimum``..``maximum`` (400 otherwise);
    absent or empty gives ``default`` (refused when there is none)."""
    return whole_number(request.args.get(name), field=name, minimum=minimum, maximum=maximum, default=default)


def page_arg(name: str = "page") -> int:
    return int_arg(name, 1, minimum=1, maximum=PAGE_MAX)


def check_text(values: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
    """Refuse (NulInText) names or values holding a NUL character."""
    items = values.items(multi=True) if hasattr(values, "getlist") else (  # type: ignore[union-attr]
        values.items() if isinstance(values, Mapping) else values)
    for key, value in items:
        if "\x00" in str(key) or (isinstance(value, str) and "\x00" in value):
            raise NulInText(field=str(key).replace("\x00", ""))


def reads_body_itself(view):
    """Mark a view that parses its own (streamed) body: the global text check leaves its form alone, and the
    view checks the fields it reads with ``check_text``."""
    view._reads_body_itself = True
    return view


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _guard() -> None:
    from flask import current_app

    check_text(request.args)
    check_text((request.view_args or {}).items())
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in _FORMS:
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        if not getattr(view, "_reads_body_itself", False):
            check_text(request.form)
            check_text((k, f.filename or "") for k, f in request.files.items(multi=True))


def init_app(app: Flask) -> None:
    """Register the id converter (before any blueprint adds its routes) and the text guard (first of the
    request's checks)."""
    app.url_map.converters["id"] = IdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, _guard)
