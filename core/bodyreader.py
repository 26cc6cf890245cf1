"""Request bodies of known length read without Werkzeug's extra copies.

``LengthBody`` reads straight from the WSGI input and never past Content-Length; ``SocketBody`` reads a
body gunicorn serves from the client's socket with ``recv_into``, each byte copied once.  ``core.web.
request_body`` picks one of them (or Werkzeug's stream for a chunked body).  No Flask here: only the WSGI
environ and the socket.
"""
from __future__ import annotations

import socket
from typing import Any

from werkzeug.exceptions import ClientDisconnected


class LengthBody:
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


class SocketBody:
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


def gunicorn_body(environ: dict, length: int) -> SocketBody | None:
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
    return SocketBody(sock, raw, head, length)
