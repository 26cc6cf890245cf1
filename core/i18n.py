"""Languages (Simplified Chinese and English), time zone and money display."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, session
from flask_babel import format_datetime, get_locale

from core.config import LOCALES
from core.errors import N_, InvalidInput
from core.money import format_fen
from core.rules import bounded_time


def select_locale() -> str:
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LOCALES:
        return chosen
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    if best in ("zh", "zh_CN"):
        return "zh_CN"
    if best == "en":
        return "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_locale() -> str:
    """``zh_CN`` or ``en`` (Babel may spell the Chinese locale ``zh_Hans_CN``)."""
    loc = get_locale()
    return "en" if loc is not None and loc.language == "en" else "zh_CN"


def platform_tz() -> ZoneInfo:
    return ZoneInfo(current_app.extensions["sunbid"].settings.timezone)


def error_dict(exc) -> dict:
    """A domain error's code, message (translated, its times in the platform's zone) and field."""
    from flask_babel import gettext

    return exc.to_dict(gettext, lambda v: format_datetime(v, "yyyy-MM-dd HH:mm"))


def parse_local_datetime(text: str | None, *, field: str, tz: ZoneInfo) -> datetime:
    """A ``YYYY-MM-DDTHH:MM`` value typed in the platform time zone, as an aware datetime."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(N_("This field is required."), field=field)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(N_("Not a valid date and time (expected YYYY-MM-DD HH:MM)."), field=field) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return bounded_time(value, field=field)


def local_input(value: datetime | None) -> str:
    """An aware datetime as the value of a datetime-local input, in the platform time zone."""
    if value is None:
        return ""
    return value.astimezone(platform_tz()).strftime("%Y-%m-%dT%H:%M")


def parse_iso(text: str | None) -> datetime | None:
    """The UTC timestamps of audit entries (``2026-03-02T01:00:00.000000Z``) as aware datetimes."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["dt"] = lambda v, fmt="yyyy-MM-dd HH:mm": format_datetime(v, fmt) if v else ""
    app.jinja_env.filters["money"] = format_fen
    app.jinja_env.filters["local_input"] = local_input
    app.jinja_env.filters["isodt"] = lambda v, fmt="yyyy-MM-dd HH:mm:ss": format_datetime(parse_iso(v), fmt) if v else ""
