"""Domain errors shared by every area.

Pure module: no Flask, no database.  A domain error carries a message template
(English source text, translated at render time by the error handler) and its
parameters, a stable ``code`` and the HTTP status it maps to.
"""
from __future__ import annotations

from datetime import datetime, timezone


def N_(message: str) -> str:
    """Mark a string for translation without translating it (used in pure modules)."""
    return message


class DomainError(Exception):
    """Base of every business-rule refusal.  Never a bug: a 4xx with a clear message."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str | None = None, /, *, field: str | None = None, **params: object):
        self.message = message or self.default_message
        self.field = field
        self.params = params
        super().__init__(self.message % _formatted(params, _utc) if params else self.message)

    default_message = N_("The request was refused.")

    def to_dict(self, translate=lambda s: s, format_time=None) -> dict:
        """Code, translated message and field.  Times among the parameters are aware datetimes, written by
        ``format_time`` (the web layer's writes them in the platform's time zone; without one, in UTC)."""
        text = translate(self.message)
        try:
            text = text % _formatted(self.params, format_time or _utc) if self.params else text
        except (KeyError, ValueError, TypeError):
            pass
        out = {"code": self.code, "message": text}
        if self.field:
            out["field"] = self.field
        return out


def _utc(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _formatted(params: dict, format_time) -> dict:
    return {k: format_time(v) if isinstance(v, datetime) else v for k, v in params.items()}


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 400
    default_message = N_("The input is not valid.")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = N_("Not found.")


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_message = N_("You do not have permission to do this.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = N_("The request conflicts with the current state.")


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = N_("This action is not allowed in the current state.")


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429
    default_message = N_("Too many attempts. Try again later.")
