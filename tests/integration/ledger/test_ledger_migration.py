"""Migration 0015 makes the ledger's tables as the models describe them, and goes down and up again."""
from __future__ import annotations

import sqlalchemy as sa

import ledger.models  # noqa: F401
from core.migrate import downgrade, upgrade
from tests.integration.sunbid.test_migrations import _differences

TABLES = {"ledger_account", "ledger_balance", "ledger_entry", "ledger_posting", "ledger_statement",
          "ledger_statement_line"}


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {t for t in sa.inspect(engine).get_table_names() if t.startswith("ledger_")}
    finally:
        engine.dispose()


def test_ledger_migration_goes_down_and_up(scratch_url):
    upgrade(scratch_url)
    assert _tables(scratch_url) == TABLES and _differences(scratch_url) == []
    downgrade(scratch_url, "0012")
    assert _tables(scratch_url) == set()
    assert any(d[0] == "add_table" and d[1].name == "ledger_entry" for d in _differences(scratch_url))
    upgrade(scratch_url)
    assert _tables(scratch_url) == TABLES and _differences(scratch_url) == []
