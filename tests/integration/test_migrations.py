"""The migrations build exactly the schema the models describe, and go down and up again."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import audit.models  # noqa: F401
import accounts.models  # noqa: F401
import tender.models  # noqa: F401
from core.db import Base, UTCDateTime
from core.migrate import downgrade, upgrade


def _differences(url: str) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "compare_type": lambda _c, _ic, _mc, inspected, meta: (
                    False if isinstance(meta, UTCDateTime) else None)})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert _differences(url) == []


def test_every_migration_goes_down_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "0001")
    assert any(d[0] == "add_column" and d[3].name == "frontier" for d in _differences(url))  # the check can fail
    upgrade(url)
    assert _differences(url) == []


def test_bids_made_before_public_ids_keep_their_number_as_public_id(tmp_path):
    """Migration 0005: their receipts and audit entries name them by it; new bids get random ids."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0003")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:  # (foreign keys are off on this plain connection: the rows stand alone)
            for i in (7, 12):
                conn.execute(sa.text(
                    "INSERT INTO tender_bid (id, tender_id, lot, organisation_id, user_id, sha256, size, received_at, "
                    "status, receipt) VALUES (:i, 1, 1, 1, 1, :h, 10, '2026-03-02 03:00:00', 'current', '')"),
                    {"i": i, "h": "0" * 64})
            conn.execute(sa.text("INSERT INTO tender_bid_upload (id, tender_id, lot, organisation_id, user_id, "
                                 "upload_length, upload_offset, created_at, updated_at, status, refusal, bid_id) "
                                 "VALUES ('u', 1, 1, 1, 1, 10, 10, '2026-03-02 03:00:00', '2026-03-02 03:00:00', "
                                 "'complete', '', 12)"))
        upgrade(url)  # with the foreign keys on, as every migration runs: no rebuild of a referenced table
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, public_id FROM tender_bid ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [(7, "7"), (12, "12")]
            meta = conn.execute(sa.text("SELECT count(*) FROM tender_bid_upload WHERE upload_metadata != ''")).scalar()
            assert meta == 0
    finally:
        engine.dispose()
    downgrade(url, "0003")
    upgrade(url)
    assert _differences(url) == []


def test_tokens_made_before_expiry_existed_expire_90_days_after_creation(tmp_path):
    from datetime import UTC, datetime, timedelta

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0003")
    engine = sa.create_engine(url)
    made = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO core_organisation (id, kind, name, region, contact, created_at) "
                                 "VALUES (1, 'platform', 'c', '', '', :t)"), {"t": made})
            conn.execute(sa.text("INSERT INTO core_user (id, username, display_name, password_hash, role, "
                                 "organisation_id, active, failed_logins, created_at) "
                                 "VALUES (1, 'u', 'U', 'x', 'admin', 1, 1, 2, :t)"), {"t": made})
            conn.execute(sa.text("INSERT INTO core_api_token (id, user_id, name, prefix, token_hash, created_at) "
                                 "VALUES (1, 1, 'old', 'sb_x', 'h', :t)"), {"t": made})
        upgrade(url)
        with engine.connect() as conn:
            expires = conn.execute(sa.select(sa.column("expires_at", UTCDateTime()))
                                   .select_from(sa.table("core_api_token"))).scalar_one()
        assert expires == made + timedelta(days=90)
    finally:
        engine.dispose()
