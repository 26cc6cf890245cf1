"""The bundled witness, served over HTTP: c2sp.org/tlog-witness ``POST <prefix>/add-checkpoint``.

Any log speaking the protocol can use it (Sunbid's, or any other it is told of), and Sunbid can use any
standard witness instead (litewitness, the public witness network).  ``sunbid audit witness-serve``
runs it; ``make_app`` is a WSGI application (gunicorn can serve ``make_app(...)`` as well).

The witness's record — for each log, the latest checkpoint it cosigned — is a SQLite file of its own
(the witness is another party than the platform, so not the platform's database).  Recording is a
compare-and-swap: the new checkpoint replaces the record only if the record is still the one the
request was checked against, so two concurrent requests cannot both advance from one old size (the
race the spec describes); the loser gets the 409 with the new size.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from werkzeug.wrappers import Request, Response

from audit import notes
from audit.witness import SIZE_CONTENT_TYPE, KnownLog, Record, WitnessError, check_request, origin_of_request, \
    parse_request

_SCHEMA = """CREATE TABLE IF NOT EXISTS witness_log (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL
)"""


class WitnessStore:
    """The witness's record in a SQLite file: one row per log origin."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        with self._connect() as db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def latest(self, origin: str) -> tuple[Record, str] | None:
        """The record for ``origin`` and its signed note, or None."""
        db = self._connect()
        try:
            row = db.execute("SELECT size, root, note FROM witness_log WHERE origin = ?", (origin,)).fetchone()
        finally:
            db.close()
        return (Record(int(row[0]), bytes(row[1])), row[2]) if row else None

    def swap(self, origin: str, expected: Record | None, new: notes.Checkpoint, note: str) -> bool:
        """Record ``new`` for ``origin`` if the record is still ``expected`` (None: no record); whether it did."""
        db = self._connect()
        try:
            if expected is None:
                cur = db.execute("INSERT INTO witness_log (origin, size, root, note) VALUES (?, ?, ?, ?) "
                                 "ON CONFLICT (origin) DO NOTHING", (origin, new.size, new.root, note))
            else:
                cur = db.execute("UPDATE witness_log SET size = ?, root = ?, note = ? "
                                 "WHERE origin = ? AND size = ? AND root = ?",
                                 (new.size, new.root, note, origin, expected.size, expected.root))
            return cur.rowcount == 1
        finally:
            db.close()


def add_checkpoint(body: bytes, *, logs: Mapping[str, KnownLog], store: WitnessStore,
                   signer: notes.WitnessSigner, timestamp: int) -> str:
    """Handle one ``add-checkpoint`` body: the cosignature line, or ``WitnessError``."""
    request = parse_request(body)
    origin = origin_of_request(request)
    held = store.latest(origin) if origin in logs else None
    record = held[0] if held else None
    cp = check_request(request, logs=logs, record=record)
    if not store.swap(origin, record, cp, request.note):
        now = store.latest(origin)
        raise WitnessError(409, "the record changed while this request was checked", size=now[0].size if now else 0)
    return notes.cosign(cp, signer, timestamp)


def make_app(*, signer: notes.WitnessSigner, logs: Iterable[KnownLog], store: WitnessStore, prefix: str = "",
             clock: Callable[[], float] = time.time):
    """The witness as a WSGI application: ``POST <prefix>/add-checkpoint`` only."""
    by_origin = {log.origin: log for log in logs}
    path = prefix.rstrip("/") + "/add-checkpoint"

    @Request.application
    def app(request: Request) -> Response:
        if request.path != path:
            return Response("not found\n", 404, content_type="text/plain; charset=utf-8")
        if request.method != "POST":
            return Response("use POST\n", 405, headers={"Allow": "POST"}, content_type="text/plain; charset=utf-8")
        if request.content_length is not None and request.content_length > 1024 * 1024:
            return Response("the request body is too large\n", 400, content_type="text/plain; charset=utf-8")
        body = request.get_data(cache=False)
        try:
            line = add_checkpoint(body, logs=by_origin, store=store, signer=signer, timestamp=int(clock()))
        except WitnessError as exc:
            if exc.status == 409 and exc.size is not None:
                return Response(f"{exc.size}\n", 409, content_type=SIZE_CONTENT_TYPE)
            return Response(exc.reason + "\n", exc.status, content_type="text/plain; charset=utf-8")
        return Response(line, 200, content_type="text/plain; charset=utf-8")

    return app
