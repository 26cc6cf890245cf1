"""Alembic environment: every area's models share core.db.Base.metadata."""
import importlib

from alembic import context

from core.db import Base, make_engine
from sunbid.areas import AREAS

for area in AREAS:
    if area.models is not None:
        importlib.import_module(area.models)

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.attributes["database_url"])
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # SQLite changes a table by copying it to a new one and dropping the old (batch mode): with
                # foreign keys enforced, dropping a table other rows point to fails, or cascades.  Enforcement is
                # off for the migration (set on the driver's connection before any transaction begins, where
                # SQLite allows it), and a migration that leaves a row pointing nowhere that did not before is undone.
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # before any BEGIN
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=sqlite,
                              transactional_ddl=True)  # SQLite too: a migration that fails keeps nothing
            with context.begin_transaction():
                before = set(conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()) if sqlite else set()
                context.run_migrations()
                if sqlite:
                    broken = sorted(set(conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()) - before)
                    if broken:
                        raise RuntimeError(f"the migration left rows whose foreign key points nowhere: {broken[:5]}")
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `sunbid db upgrade`")
run_migrations_online()
