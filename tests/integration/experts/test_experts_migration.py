"""Migration 0014 adds the expert pool's tables and takes them away again (SQLite, and PostgreSQL when the tests
have one)."""
from __future__ import annotations

import sqlalchemy as sa

from core.migrate import downgrade, upgrade
from tests.integration.sunbid.test_migrations import _differences

TABLES = {"experts_profile", "experts_specialty", "experts_employment", "experts_relation", "experts_unavailable",
          "experts_penalty"}


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_0014_goes_up_and_down(scratch_url):
    upgrade(scratch_url, "0012")
    assert not TABLES & _tables(scratch_url)
    upgrade(scratch_url, "0014")
    assert TABLES <= _tables(scratch_url)
    engine = sa.create_engine(scratch_url)
    try:
        with engine.begin() as conn:  # the HMAC column is unique: a duplicate national ID cannot be stored
            conn.execute(sa.text("INSERT INTO core_organisation (id, kind, name, region, contact, created_at) "
                                 "VALUES (1, 'employer', 'o', '', '', '2026-01-01 00:00:00')"))
            for i in (1, 2):
                conn.execute(sa.text(
                    "INSERT INTO core_user (id, username, display_name, email, password_hash, role, organisation_id, "
                    "active, must_change_password, created_at) VALUES (:i, :u, 'x', '', 'x', 'expert', 1, true, "
                    "false, '2026-01-01 00:00:00')"), {"i": i, "u": f"e{i}"})
            insert = sa.text(
                "INSERT INTO experts_profile (user_id, number, full_name, national_id_hmac, national_id_masked, phone, "
                "email, region, status, status_reason, created_at, updated_at) VALUES (:u, :u, 'x', :h, 'm', '', '', "
                "'310101', 'active', '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
            conn.execute(insert, {"u": 1, "h": "a" * 64})
        try:
            with engine.begin() as conn:
                conn.execute(insert, {"u": 2, "h": "a" * 64})
            raise AssertionError("a duplicate national ID HMAC was stored")
        except sa.exc.IntegrityError:
            pass
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM experts_profile"))
            conn.execute(sa.text("DELETE FROM core_user"))
            conn.execute(sa.text("DELETE FROM core_organisation"))
    finally:
        engine.dispose()
    downgrade(scratch_url, "0012")
    assert not TABLES & _tables(scratch_url)
    upgrade(scratch_url)
    assert _differences(scratch_url) == []
