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

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from core.actor import Actor
from core.bodyreader import LengthBody, gunicorn_body
from core.db import unit_of_work
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
