"""Database engine, session factory and shared column types.

SQLite (the embedded default) runs in WAL mode with foreign keys on; PostgreSQL is
reached through ``postgresql+psycopg://``.  Times are stored in UTC; ``UTCDateTime``
hands back timezone-aware values on every backend.
"""
from __future__ import annotations

from datetime import UTC, datetime
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


SQLITE_BUSY_MS = 5000
"""How long a SQLite write waits for another thread's transaction before "database is locked".  Requests'
transactions last milliseconds (a long upload ends its transaction before reading the body, core.web.idle_db),
so this is reached only under a pile-up; no request waits on a transaction of its own (the after-request
checkpoint reuses the request's connection).  Work that may be left for later asks for a shorter wait with
the execution option ``sqlite_lock_wait_ms`` (see ``try_soon``)."""

LOCK_WAIT_OPTION = "sqlite_lock_wait_ms"


def _sqlite_setup(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs; let SQLAlchemy emit BEGIN
    # (the recipe from SQLAlchemy's SQLite dialect documentation).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        wait = conn.get_execution_options().get(LOCK_WAIT_OPTION)
        if wait is not None or conn.info.pop("lock_wait_changed", False):
            conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS if wait is None else int(wait)}")
            if wait is not None:
                conn.info["lock_wait_changed"] = True
        # IMMEDIATE: take the write lock when the transaction starts.  A deferred transaction that read
        # first and writes later fails at once with "database is locked" when another writer committed
        # in between (busy_timeout does not apply to that upgrade), so concurrent writers would error.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessionmaker(bind: Any, **kwargs: Any) -> sessionmaker[Session]:
    return sessionmaker(bind=bind, expire_on_commit=False, **kwargs)


def is_lock_timeout(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "database is busy": the write lock was not free in time."""
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, OperationalError) and any(
        word in str(exc.orig) for word in ("database is locked", "database is busy"))


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """One operation, one transaction: commit on success, roll back on any error."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
