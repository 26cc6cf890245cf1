"""Shared fixtures: databases (SQLite always, PostgreSQL when SUNBID_TEST_DATABASE_URL is set),
an app bound to a rolled-back outer transaction, a frozen clock, and one-line factories."""
from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

# Property tests check results, not speed: on a loaded machine (two cores shared with a browser and a
# database) a first example can take longer than hypothesis' default 200 ms deadline, which fails the test
# for nothing.  Examples stay as many as the default; only the wall-clock deadline is lifted.
settings.register_profile("sunbid", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("sunbid")

from core.actor import Actor
from core.clock import FrozenClock
from core.config import Settings
from core.db import make_engine, unit_of_work

PG_ENV = "SUNBID_TEST_DATABASE_URL"
PASSWORD = "Correct-Horse-42"
ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Beijing, a Monday


def pytest_report_header(config):
    return f"PostgreSQL tests: {'ON (' + os.environ[PG_ENV] + ')' if os.environ.get(PG_ENV) else 'off'}"


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


def _pg_url() -> str:
    url = os.environ[PG_ENV]
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)


@pytest.fixture(scope="session")
def engines(tmp_path_factory):
    """One migrated engine per backend for the whole run."""

    made: dict[str, sa.engine.Engine] = {}
    yield made
    for engine in made.values():
        engine.dispose()


def _engine_for(backend: str, engines: dict, tmp_path_factory) -> sa.engine.Engine:
    from core.migrate import upgrade

    if backend in engines:
        return engines[backend]
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = _pg_url()
        engine = make_engine(url)
        try:
            with engine.begin() as conn:  # a clean schema for this run (the database is for tests only)
                conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        except sa.exc.OperationalError as exc:  # set but unreachable: fail, never skip
            pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {exc}")
        engine.dispose()
    upgrade(url)
    engines[backend] = make_engine(url)
    return engines[backend]


@pytest.fixture(params=backends())
def backend(request) -> str:
    return request.param


@pytest.fixture
def engine(backend, engines, tmp_path_factory):
    return _engine_for(backend, engines, tmp_path_factory)


@pytest.fixture
def connection(engine):
    conn = engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def settings(tmp_path) -> Settings:
    # English by default so assertions read plainly; Chinese is asked for explicitly (?lang=zh_CN).
    return Settings(database_url="sqlite://", data_dir=tmp_path / "data", testing=True, upload_limit_mb=2,
                    default_locale="en")


@pytest.fixture
def app(settings, clock, connection):
    from sunbid.app import create_app

    app = create_app(settings, clock=clock, bind=connection,
                     session_options={"join_transaction_mode": "create_savepoint"})
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def csrf_app(settings, clock, connection):
    """The app with CSRF checks on, as in production."""
    from sunbid.app import create_app

    return create_app(settings, clock=clock, bind=connection,
                      session_options={"join_transaction_mode": "create_savepoint"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    s = app.extensions["sunbid"].sessions()
    yield s
    s.close()


def pdf_bytes(text: str = "Sunbid test document") -> bytes:
    body = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n"
            b"4 0 obj<</Length " + str(len(body)).encode() + b">>stream\n" + body + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


@dataclass
class Factory:
    """One-line builders for organisations, users and tenders (made through the services)."""

    app: object
    session: object
    clock: FrozenClock
    n: int = 0
    custodian_keys: dict | None = None  # username → age identity, for the custodians made by custodians()
    approver: Actor | None = None  # the supervisor who approves the custodians made here

    def _next(self) -> int:
        self.n += 1
        return self.n

    def org(self, kind: str = "bidder", name: str | None = None):
        from accounts import service
        from core import rules

        i = self._next()
        code = rules.make_credit_code(f"91350200{i:09d}") if kind in ("agency", "bidder") else None
        with unit_of_work(self.session):
            return service.create_organisation(self.session, actor=Actor.system(), kind=kind,
                                               name=name or f"{kind} org {i}", credit_code=code,
                                               now=self.clock.now())

    def user(self, role: str = "bidder", org=None, username: str | None = None, approve: bool = True) -> Actor:
        """A user made by the system actor; a custodian is then approved by a supervisor (unless ``approve`` is
        false), since a custodian's role never takes effect without one."""
        from accounts import service

        kind = {"agency": "agency", "bidder": "bidder", "expert": "employer"}.get(role, "platform")
        org = org or self.org(kind)
        i = self._next()
        with unit_of_work(self.session):
            u = service.create_user(self.session, actor=Actor.system(), username=username or f"{role}{i}",
                                    display_name=f"{role.title()} {i}", password=PASSWORD, role=role,
                                    organisation_id=org.id, now=self.clock.now())
        who = Actor(user_id=u.id, name=u.username, role=u.role, organisation_id=u.organisation_id,
                    address="127.0.0.1")
        if role == "custodian" and approve:
            self.approve(who)
        return who

    def supervisor(self) -> Actor:
        """The supervisor who approves this factory's custodians (made once)."""
        if self.approver is None:
            self.approver = self.user("supervisor")
        return self.approver

    def approve(self, who: Actor) -> None:
        """A supervisor approves the custodian role ``who`` was created with (the account becomes active)."""
        from accounts import service
        from accounts.models import RoleRequest

        supervisor = self.supervisor()
        with unit_of_work(self.session):
            request = self.session.scalar(sa.select(RoleRequest).where(RoleRequest.user_id == who.user_id,
                                                                       RoleRequest.decision.is_(None)))
            service.decide_role_change(self.session, actor=supervisor, request_id=request.id, approve=True,
                                       now=self.clock.now())

    def register_recipient(self, who: Actor, identity: str) -> None:
        """``who`` (an approved custodian) registers the recipient of ``identity`` by answering the challenge
        sealed to it, decrypted with the real ``age -d``."""
        import subprocess
        import tempfile

        import pyrage

        from tender import custodians

        recipient = str(pyrage.x25519.Identity.from_str(identity).to_public())
        with unit_of_work(self.session):
            challenge = custodians.issue_recipient_challenge(self.session, actor=who, recipient=recipient,
                                                             now=self.clock.now())
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as key:
            key.write(identity + "\n")
            key.flush()
            answer = subprocess.run(["age", "-d", "-i", key.name], input=challenge.sealed, capture_output=True,
                                    check=True).stdout.decode()
        with unit_of_work(self.session):
            result = custodians.register_age_recipient(self.session, actor=who, challenge_id=challenge.id,
                                                       answer=answer, now=self.clock.now())
        assert result.error is None, result.error

    def custodians(self, count: int = 3) -> dict:
        """Key custodians with their own age keys (made once), each of another organisation, approved by a
        supervisor and registered by the proof; returns username → identity."""
        import pyrage

        if self.custodian_keys is None:
            self.custodian_keys = {}
            for c in range(count):
                home = self.org("platform", name="Trading centre" if c == 0 else f"Custodian office {c}")
                who = self.user("custodian", org=home)
                identity = str(pyrage.x25519.Identity.generate())
                self.register_recipient(who, identity)
                self.custodian_keys[who.name] = identity
        return self.custodian_keys

    def tender_input(self, **overrides):
        from tender.inputs import TenderInput

        now = self.clock.now()
        values = dict(title="滨海市东湖区道路改造工程", regime="works", category="works", region="东湖区",
                      estimated_price=Decimal("1000000.00"), deposit=Decimal("20000.00"),
                      download_start=now + timedelta(hours=1), download_end=now + timedelta(days=7),
                      deadline=now + timedelta(days=21))
        values.update(overrides)
        return TenderInput(**values)

    def tender(self, agency: Actor | None = None, *, publish: bool = False, documents: int = 1, **overrides):
        from tender import publication

        agency = agency or self.user("agency")
        self.custodians()  # publication (here or over HTTP later) seals key shares to them
        blobs = self.app.extensions["sunbid"].blobs
        with unit_of_work(self.session):
            t = publication.create_tender(self.session, actor=agency, data=self.tender_input(**overrides),
                                          now=self.clock.now())
        for d in range(documents):
            with unit_of_work(self.session):
                publication.add_document(self.session, actor=agency, tender_id=t.id, filename=f"doc{d}.pdf",
                                         stream=io.BytesIO(pdf_bytes(f"doc {t.id} {d}")), blobs=blobs,
                                         limit=10**7, now=self.clock.now())
        if publish:
            with unit_of_work(self.session):
                publication.publish_tender(self.session, actor=agency, tender_id=t.id, now=self.clock.now())
        return t, agency

    def bidder_of(self, t) -> Actor:
        """A bidder who obtained the tender's documents, once their download period has begun (the clock
        moves 2 hours on when it has not)."""
        from tender import downloads

        bidder = self.user("bidder")
        if self.clock.now() < t.download_start:
            self.clock.advance(timedelta(hours=2))
        with unit_of_work(self.session):
            downloads.download_document(self.session, actor=bidder, tender_id=t.id, document_id=t.documents[0].id,
                                        now=self.clock.now())
        return bidder

    def api_token(self, who: Actor, name: str = "tests") -> dict[str, str]:
        """The Authorization header of a new API token of ``who``."""
        from accounts import service

        with unit_of_work(self.session):
            _row, token = service.create_api_token(self.session, actor=who, name=name, now=self.clock.now())
        return {"Authorization": f"Bearer {token}"}


def standalone(data_dir, start: datetime = T0, **settings):
    """An app of its own — migrated SQLite file and data dir under ``data_dir``, clock frozen at ``start`` — with
    a session and a Factory on it: what a live server in a thread needs (close the session before serving, as
    on SQLite an open transaction holds the write lock)."""
    from sunbid.app import create_app
    from core.migrate import upgrade

    url = f"sqlite:///{data_dir / 'live.db'}"
    upgrade(url)
    clock = FrozenClock(start)
    app = create_app(Settings(database_url=url, data_dir=data_dir, testing=True, default_locale="en", **settings),
                     clock=clock)
    session = app.extensions["sunbid"].sessions()
    return app, session, clock, Factory(app, session, clock)


@contextlib.contextmanager
def serving(app):
    """``app`` served for real (werkzeug, threaded) on a free local port; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(app: str, env: dict[str, str] | None = None, worker: str = "gthread"):
    """``app`` (``module:name``) served by a real gunicorn, one worker of class ``worker`` with two threads, on a
    free local port; yields the port.  ``env`` is added to this process's environment."""
    import subprocess
    import sys
    import tempfile
    import time

    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-k", worker, "--threads", "2",
                                 "--keep-alive", "30", "--timeout", "120", "-b", f"127.0.0.1:{port}", app],
                                cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    proc.wait()
                    log.seek(0)
                    raise RuntimeError(log.read().decode(errors="replace")) from None
                time.sleep(0.1)
        try:
            yield port
        finally:
            proc.terminate()
            proc.wait(10)


@pytest.fixture
def make(app, session, clock) -> Factory:
    return Factory(app, session, clock)


def login(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password}, follow_redirects=False)


def empty_database(session) -> None:
    """Empty every table of a real (committed-to) test database, as a fresh migration leaves it."""
    from core.db import Base

    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    session.execute(sa.text(f"TRUNCATE {tables} CASCADE"))
    session.execute(sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
