"""Shared fixtures: databases (SQLite always, PostgreSQL when SUNBID_TEST_DATABASE_URL is set),
an app bound to a rolled-back outer transaction, a frozen clock, and the one-line factories of tests/factories/ (``make``)."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

# Property tests check results, not speed: on a loaded machine (two cores shared with a browser and a
# database) a first example can take longer than hypothesis' default 200 ms deadline, which fails the test
# for nothing.  Examples stay as many as the default; only the wall-clock deadline is lifted.
settings.register_profile("sunbid", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("sunbid")

from core.clock import FrozenClock
from core.config import Settings
from core.db import make_engine
from tests.factories import PASSWORD, Factory, pdf_bytes  # noqa: F401 (re-exported for the tests)

PG_ENV = "SUNBID_TEST_DATABASE_URL"
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


@pytest.fixture(params=backends())
def scratch_url(request, tmp_path):
    """An empty database of its own, to migrate or to commit to from several workers (never the shared,
    rolled-back one): a SQLite file, or a schema of its own in the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    base, schema = _pg_url(), "migration_scratch"
    engine = make_engine(base)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    finally:
        engine.dispose()


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
