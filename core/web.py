"""Request-time helpers shared by every area's views and API: the per-request database
session, the transaction wrapper, the acting user, the permission decorators and the request body
(read by ``core.bodyreader``).

Every route states its permission with ``@permission(...)`` (or ``@public``); a test walks
the URL map and fails on any route without one.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, same_origin, validate_csrf
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from wtforms.validators import ValidationError

from core.actor import Actor
from core.bodyreader import LengthBody, gunicorn_body
from core.db import unit_of_work
from core.errors import DomainError
from core.roles import Role, roles_of

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"
LOGGED_IN = "logged_in"


def platform():
    return current_app.extensions["sunbid"]


def db() -> Session:
    if "db_session" not in g:
        g.db_session = platform().sessions()
    return g.db_session


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def transaction():
    """One request, one transaction: commit on success, roll back on any error."""
    return unit_of_work(db())


def now() -> datetime:
    return platform().clock.now()


def client_address() -> str:
    # Behind a reverse proxy, configure ProxyFix (see docs/deploy.md) so this is the client's address.
    return (request.remote_addr or "-")[:64]


def api_user():
    return g.get("api_user")


def acting_user():
    if request.path.startswith("/api/"):
        return api_user()  # the API trusts bearer tokens only, so it needs no CSRF protection
    return current_user if current_user.is_authenticated else None


def actor() -> Actor:
    user = acting_user()
    if user is None:
        return Actor.anonymous(client_address())
    return Actor(user_id=user.id, name=user.username, role=user.role,
                 organisation_id=user.organisation_id, address=client_address())


def _mark(fn: Callable[..., Any], roles: tuple[str, ...]) -> None:
    fn._permission = roles  # type: ignore[attr-defined]


def public(fn: F) -> F:
    """Readable by anyone, no login."""
    _mark(fn, (PUBLIC,))
    return fn


MAY_PRECEDE_NEW_PASSWORD = frozenset({"core.account", "core.logout"})
"""The pages a user whose password an administrator reset may open before choosing a new one."""


def permission(*roles: Role | Iterable[Role]) -> Callable[[F], F]:
    """Logged-in users with one of ``roles`` (``Role`` values or groups of them from ``core.roles``; none:
    any logged-in user).  Anything else — a plain string, a misspelt name — is refused here, when the
    route is declared, so a typo fails at import instead of locking the route."""
    roles = roles_of(*roles)

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = acting_user()
            if user is None:
                if request.path.startswith("/api/"):
                    abort(401)
                return redirect(url_for("core.login", next=request.full_path.rstrip("?")))
            if roles and user.role not in roles:
                abort(403)
            if (getattr(user, "must_change_password", False) and not request.path.startswith("/api/")
                    and request.endpoint not in MAY_PRECEDE_NEW_PASSWORD):
                flash(_("An administrator reset your password: choose a new one before you go on."), "warning")
                return redirect(url_for("core.account", _anchor="password"))
            return fn(*args, **kwargs)

        _mark(wrapper, roles or (LOGGED_IN,))
        return wrapper  # type: ignore[return-value]

    return deco


def idle_db() -> None:
    """End the request session's transaction — the login's or the API token's lookup — before a long read
    of the body: on SQLite any transaction holds the database's write lock (BEGIN IMMEDIATE), on PostgreSQL
    it would sit idle in transaction while the bytes arrive."""
    session = g.get("db_session")
    if session is not None and session.in_transaction():
        session.commit()


def request_body() -> Any:
    """The request's body as a stream with ``read(n)``, within the request's size limit (413 beyond); the
    request's database transaction is ended first (``idle_db``)."""
    idle_db()
    length = request.content_length
    if length is not None and request.max_content_length is not None and length > request.max_content_length:
        raise RequestEntityTooLarge()
    fast = gunicorn_body(request.environ, length) if length is not None else None
    if fast is not None:
        return fast
    if length is None:
        return request.stream  # chunked: Werkzeug knows where it ends
    if request.environ.get("wsgi.input_terminated"):
        # The server ends the input itself (gunicorn over TLS, say): Werkzeug's stream then takes an early end
        # for the end of the body, so a body cut short would pass for a whole one; counted here, it cannot.
        return LengthBody(request.stream, length)
    return LengthBody(request.environ["wsgi.input"], length)


# ---------------------------------------------------------------- errors, the same for every area

def wants_json() -> bool:
    """The API answers in JSON, the pages with the error page."""
    return request.path.startswith("/api/")


def _http_message(exc: HTTPException, code: int) -> str:
    messages = {
        400: gettext("The request could not be understood."),
        401: gettext("Please log in."),
        403: gettext("You do not have permission to see this page."),
        404: gettext("The page or object was not found."),
        405: gettext("This method is not allowed here."),
        413: gettext("The upload is larger than the limit of %(mb)s MB.",  # this route's limit (bids have theirs)
                     mb=(request.max_content_length or 0) // (1024 * 1024)
                     or platform().settings.upload_limit_mb),
        429: gettext("Too many requests from your address. Wait a minute and try again."),
    }
    return messages.get(code, exc.description or "")


def error_body(exc: BaseException) -> tuple[dict[str, Any], int]:
    """``({"code", "message"[, "field", ...]}, status)`` for any error a request can end in: a domain error
    (``core.i18n.error_dict``), a refused CSRF token, an HTTP error, or a bug (500, logged)."""
    from core.i18n import error_dict

    if isinstance(exc, DomainError):
        return error_dict(exc), exc.status
    if isinstance(exc, CSRFError):
        return {"code": "csrf", "message": gettext(
            "The form expired or was sent without its security token. Reload the page and try again.")}, 400
    if isinstance(exc, HTTPException):
        code = exc.code or 500
        return {"code": exc.name.lower().replace(" ", "_"), "message": _http_message(exc, code)}, code
    current_app.logger.exception("unexpected error")
    return {"code": "internal_error",
            "message": gettext("Something went wrong on our side. The operation was not saved.")}, 500


def render_error(exc: BaseException, *, as_json: bool | None = None) -> Any:
    """The one error answer: ``{"error": {...}}`` in JSON (under /api/, or where ``as_json``), else the error
    page with the same message."""
    body, status = error_body(exc)
    if wants_json() if as_json is None else as_json:
        return jsonify(error=body), status
    return render_template("error.html", status=status, message=body["message"]), status


def register_error_handlers(target: Any, *, as_json: bool | None = None) -> None:
    """Answer every error of an app or a blueprint with ``render_error`` (``as_json=True`` for a blueprint
    that speaks only JSON, such as the browser's tus uploads)."""
    handler = functools.partial(render_error, as_json=as_json)
    for kind in (DomainError, CSRFError, HTTPException, Exception):
        target.register_error_handler(kind, handler)


# ---------------------------------------------------------------- CSRF for a view that reads its own body

def check_form_csrf(fields: dict[str, str]) -> None:
    """For a form whose body the view streams itself (exempt from Flask-WTF's global check, which would
    parse the whole body first): the same token check, with the same settings and the same error.

    Over TLS (the request's, or an https ``SUNBID_BASE_URL`` behind a proxy that terminates it) the
    request must also come from the platform's own pages: its ``Origin`` (or, without one, its
    ``Referer``) must be the configured base URL's origin when there is one, else the request's host."""
    config = current_app.config
    if not config.get("WTF_CSRF_ENABLED", True) or not config.get("WTF_CSRF_CHECK_DEFAULT", True):
        return
    name = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    token = fields.get(name) or next((v for k, v in fields.items() if k.endswith(name) and v), None)
    for header in config.get("WTF_CSRF_HEADERS", ()):
        token = token or request.headers.get(header)
    try:
        validate_csrf(token)
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from None
    settings = platform().settings
    if (request.is_secure or settings.behind_tls) and config.get("WTF_CSRF_SSL_STRICT", True):
        source = request.headers.get("Origin") or request.referrer
        if not source or source == "null":
            raise CSRFError("The referrer header is missing.")
        expected = (settings.base_url or f"https://{request.host}") + "/"
        if not same_origin(source, expected):
            raise CSRFError("The referrer does not match the host.")
    g.csrf_valid = True
