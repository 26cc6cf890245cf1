"""Request-time helpers shared by every area's views and API: the per-request database
session, the transaction wrapper, the acting user, and the permission decorators.

Every route states its permission with ``@permission(...)`` (or ``@public``); a test walks
the URL map and fails on any route without one.
"""
from __future__ import annotations

import functools
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from core.actor import Actor
from core.db import unit_of_work

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


def permission(*roles: str) -> Callable[[F], F]:
    """Logged-in users with one of ``roles`` (no roles: any logged-in user)."""

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


class _Body:
    """A request body of known length read straight from the WSGI input.  Werkzeug's ``request.stream``
    copies each piece twice more on its way (into a fresh buffer, then into bytes); for bodies of
    hundreds of MB that is most of the cost.  Never reads past Content-Length; a body that ends early
    (the client went away) raises ``ClientDisconnected`` as Werkzeug's stream does."""

    def __init__(self, raw: Any, length: int):
        self.raw, self.remaining = raw, length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        want = self.remaining if size is None or size < 0 else min(size, self.remaining)
        if want == 0:
            return b""
        data = self.raw.read(want)
        if not data:
            raise ClientDisconnected()
        self.remaining -= len(data)
        return data


class _SocketBody:
    """A request body of known length served by gunicorn, read from the client's socket with ``recv_into``:
    each byte is copied once, from the kernel into the chunk handed out.  Gunicorn's ``wsgi.input`` passes
    every piece through several in-memory buffers on its way, about six copies of each byte, the largest
    cost of ingesting a bid of hundreds of MB.

    ``head`` holds the body bytes gunicorn had already read along with the headers; they are handed out
    first.  The body's gunicorn reader is kept told how much of the body is still in the socket, so after
    the response gunicorn skips exactly what the application left unread and a kept-alive connection stays
    in step with the next request."""

    def __init__(self, sock: Any, body: Any, head: bytes, length: int):
        self.sock, self.body, self.reader, self.head = sock, body, body.reader, head
        self.remaining = length  # not yet handed out
        self.reader.length = length - len(head)  # still in the socket

    def read(self, size: int = -1) -> bytes | bytearray:
        if self.remaining <= 0:
            return b""
        want = self.remaining if size is None or size < 0 else min(size, self.remaining)
        if want == 0:
            return b""
        if self.head:
            data, self.head = self.head[:want], self.head[want:]
            self.remaining -= len(data)
            return data
        chunk = bytearray(want)
        view, got = memoryview(chunk), 0
        try:
            while got < want:
                n = self.sock.recv_into(view[got:])
                if not n:
                    break
                got += n
                self.reader.length -= n
        except OSError as exc:  # reset by the client: as Werkzeug's stream says it, and gunicorn keeps nothing
            self.body.failed = True
            raise ClientDisconnected() from exc
        finally:
            view.release()
        if not got:
            self.body.failed = True
            raise ClientDisconnected()
        self.remaining -= got
        if got < want:  # the client went away mid-chunk: what came is handed out, the next read raises
            del chunk[got:]
        return chunk


def _gunicorn_body(environ: dict, length: int) -> _SocketBody | None:
    """The fast reader for a body of known length on gunicorn, when its input is in the state this relies
    on: a ``LengthReader`` over the client socket that nothing has read from yet.  ``None`` otherwise (another
    server, a chunked body, an SSL socket, another gunicorn version), and the WSGI input is used."""
    sock, raw = environ.get("gunicorn.socket"), environ.get("wsgi.input")
    try:
        from gunicorn.http.body import Body, LengthReader
        from gunicorn.http.unreader import SocketUnreader
    except ImportError:
        return None
    reader = getattr(raw, "reader", None)
    unreader = getattr(reader, "unreader", None)
    if not (type(raw) is Body and type(reader) is LengthReader and type(unreader) is SocketUnreader):
        return None
    buf = getattr(raw, "buf", None)
    if (getattr(unreader, "sock", None) is not sock or type(sock) is not socket.socket
            or getattr(reader, "length", None) != length or buf is None or buf.tell() != 0
            or not hasattr(unreader, "take_buffered") or not hasattr(unreader, "unread")):
        return None
    buffered = unreader.take_buffered()
    head, rest = buffered[:length], buffered[length:]
    if rest:  # a pipelined next request: gunicorn reads it after this one
        unreader.unread(rest)
    return _SocketBody(sock, raw, head, length)


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
    fast = _gunicorn_body(request.environ, length) if length is not None else None
    if fast is not None:
        return fast
    if length is None:
        return request.stream  # chunked: Werkzeug knows where it ends
    if request.environ.get("wsgi.input_terminated"):
        # The server ends the input itself (gunicorn over TLS, say): Werkzeug's stream then takes an early end
        # for the end of the body, so a body cut short would pass for a whole one; counted here, it cannot.
        return _Body(request.stream, length)
    return _Body(request.environ["wsgi.input"], length)
