"""The migrations build exactly the schema the models describe, and go down and up again (on SQLite, and on
PostgreSQL when the tests have one)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import audit.models  # noqa: F401
import accounts.models  # noqa: F401
import tender.models  # noqa: F401
from core.db import Base, UTCDateTime, make_engine
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


def test_migrated_schema_matches_the_models(scratch_url):
    upgrade(scratch_url)
    assert _differences(scratch_url) == []


def test_every_migration_goes_down_and_up_again(scratch_url):
    url = scratch_url
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


def _entries_before_subjects(conn) -> list[str]:
    """Two real entries as a log at revision 0010 holds them (one filed under tender 12, one under none), with
    the head and tree they make; their hashes."""
    import json
    from datetime import UTC, datetime

    from audit import merkle
    from audit.rules import GENESIS, Entry

    rows = sa.table("audit_entry", *(sa.column(c) for c in (
        "seq", "actor_id", "actor", "role", "address", "action", "object_type", "object_id", "tender_id", "payload",
        "prev_hash", "hash", "leaf_hash", "salt")), sa.column("at", UTCDateTime()))
    prev, frontier, hashes = GENESIS, [], []
    for seq, (action, object_type, object_id, tender_id) in enumerate(
            [("tender.published", "tender", "12", 12), ("user.created", "user", "3", None)], start=1):
        entry = Entry(seq=seq, at=datetime(2026, 3, 2, 1, seq, tzinfo=UTC), actor_id=None, actor="system",
                      role="system", address="-", action=action, object_type=object_type, object_id=object_id,
                      payload={"n": seq}, prev_hash=prev, salt=f"{seq:064x}")
        leaf = merkle.leaf_hash(entry.encode())
        conn.execute(rows.insert().values(seq=seq, at=entry.at, actor_id=None, actor="system", role="system",
                                          address="-", action=action, object_type=object_type, object_id=object_id,
                                          tender_id=tender_id, payload=json.dumps(entry.payload), prev_hash=prev,
                                          hash=entry.hash(), leaf_hash=leaf.hex(), salt=entry.salt))
        frontier, completed = merkle.range_append(frontier, seq - 1, leaf)
        for start, size, value in completed:
            conn.execute(sa.text("INSERT INTO audit_node (start, size, hash) VALUES (:a, :b, :h)"),
                         {"a": start, "b": size, "h": value.hex()})
        prev = entry.hash()
        hashes.append(prev)
    conn.execute(sa.text("UPDATE audit_head SET seq = 2, hash = :h, frontier = :f WHERE id = 1"),
                 {"h": prev, "f": ",".join(h.hex() for h in frontier)})
    return hashes


def test_entries_filed_under_a_tender_become_tender_subjects_and_back(scratch_url):
    """Migration 0011: tender_id 12 becomes subject ('tender', '12'), no entry's hash changes, the append
    (audit_append() on PostgreSQL) files new entries under any subject; the downgrade gives tenders their id back."""
    from sqlalchemy.orm import Session

    from audit.models import AuditEntry
    from audit.service import events_for, record, verify
    from core.actor import Actor
    from core.db import unit_of_work
    from tests.conftest import T0

    upgrade(scratch_url, "0010")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            hashes = _entries_before_subjects(conn)
        upgrade(scratch_url)
        assert _differences(scratch_url) == []
        with Session(engine) as s:
            rows = s.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq)).all()
            assert [(r.subject_kind, r.subject_id, r.tender_id) for r in rows] == [("tender", "12", 12),
                                                                                    (None, None, None)]
            assert [r.hash for r in rows] == hashes and verify(s) == 2
            with unit_of_work(s):
                record(s, actor=Actor.system(), action="example.noted", object_type="example_note", object_id=1,
                       now=T0, subject=("example", 7))
            with unit_of_work(s):
                record(s, actor=Actor.system(), action="tender.amended", object_type="tender", object_id=12,
                       now=T0, tender_id=12)
            assert verify(s) == 4
            assert [e.seq for e in events_for(s, tender_id=12)] == [1, 4]
            assert [e.seq for e in events_for(s, subject=("example", "7"))] == [3]
        downgrade(scratch_url, "0010")
        with engine.connect() as conn:
            back = conn.execute(sa.text("SELECT seq, tender_id FROM audit_entry ORDER BY seq")).all()
        assert [tuple(r) for r in back] == [(1, 12), (2, None), (3, None), (4, 12)]  # other kinds lose their subject
        upgrade(scratch_url)
        assert _differences(scratch_url) == []
        with Session(engine) as s:
            assert verify(s) == 4 and [e.seq for e in events_for(s, tender_id=12)] == [1, 4]
    finally:
        engine.dispose()


def test_custodians_recipients_and_challenges_move_to_the_tender_area_and_back(scratch_url):
    """Migration 0012: core_user.age_recipient becomes tender_custodian_key (registered at the time of the
    custodian's latest registration entry, else the account's creation), core_recipient_challenge becomes
    tender_recipient_challenge with its ids (new ones follow them); the downgrade puts both back."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.orm import Session

    from core.db import unit_of_work
    from tender.models import CustodianKey, RecipientChallenge

    made = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    registered = made + timedelta(days=1)
    first, second = ("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
                     "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg")
    users = sa.table("core_user", *(sa.column(c) for c in (
        "id", "username", "display_name", "password_hash", "role", "organisation_id", "active", "age_recipient",
        "email", "must_change_password")), sa.column("created_at", UTCDateTime()),
        sa.column("role_approved_at", UTCDateTime()))
    challenges = sa.table("core_recipient_challenge", *(sa.column(c) for c in (
        "id", "user_id", "recipient", "answer_sha256", "sealed")), *(sa.column(c, UTCDateTime()) for c in (
        "created_at", "expires_at", "used_at")))
    entries = sa.table("audit_entry", *(sa.column(c) for c in (
        "seq", "actor_id", "actor", "role", "address", "action", "object_type", "object_id", "payload",
        "prev_hash", "hash", "leaf_hash", "salt")), sa.column("at", UTCDateTime()))
    upgrade(scratch_url, "0011")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.table("core_organisation", *(sa.column(c) for c in (
                "id", "kind", "name", "region", "contact")), sa.column("created_at", UTCDateTime())).insert()
                .values(id=1, kind="platform", name="Centre", region="", contact="", created_at=made))
            for i, (role, recipient) in enumerate([("custodian", first), ("custodian", second), ("bidder", None)],
                                                  start=1):
                conn.execute(users.insert().values(id=i, username=f"u{i}", display_name=f"U{i}", password_hash="x",
                                                   role=role, organisation_id=1, active=True, age_recipient=recipient,
                                                   email="", must_change_password=False, created_at=made,
                                                   role_approved_at=made))
            conn.execute(entries.insert().values(seq=1, at=registered, actor_id=1, actor="u1", role="custodian",
                                                 address="-", action="user.age_recipient_registered",
                                                 object_type="user", object_id="1", payload="{}", prev_hash="0" * 64,
                                                 hash="1" * 64, leaf_hash="2" * 64, salt="3" * 64))
            conn.execute(challenges.insert().values(id=7, user_id=1, recipient=first, answer_sha256="a" * 64,
                                                    sealed=b"sealed", created_at=made,
                                                    expires_at=made + timedelta(minutes=30), used_at=registered))
        upgrade(scratch_url)
        assert _differences(scratch_url) == []
        with Session(engine) as s:
            keys = s.scalars(sa.select(CustodianKey).order_by(CustodianKey.user_id)).all()
            assert [(k.user_id, k.recipient, k.registered_at) for k in keys] == [(1, first, registered),
                                                                                 (2, second, made)]
            old = s.get(RecipientChallenge, 7)
            assert (old.user_id, old.recipient, old.answer_sha256, old.sealed, old.used_at) == (
                1, first, "a" * 64, b"sealed", registered)
            with unit_of_work(s):
                new = RecipientChallenge(user_id=2, recipient=second, answer_sha256="b" * 64, sealed=b"new",
                                         created_at=registered, expires_at=registered + timedelta(minutes=30))
                s.add(new)
                s.flush()
                assert new.id == 8  # after the ids it kept
        downgrade(scratch_url, "0011")
        with engine.connect() as conn:
            back = conn.execute(sa.text("SELECT id, age_recipient FROM core_user ORDER BY id")).all()
            assert [tuple(r) for r in back] == [(1, first), (2, second), (3, None)]
            kept = conn.execute(sa.text("SELECT id, user_id, recipient FROM core_recipient_challenge ORDER BY id")).all()
            assert [tuple(r) for r in kept] == [(7, 1, first), (8, 2, second)]
        upgrade(scratch_url)
        assert _differences(scratch_url) == []
        with Session(engine) as s:
            assert [(k.user_id, k.recipient) for k in s.scalars(sa.select(CustodianKey)
                                                                  .order_by(CustodianKey.user_id))] == [(1, first),
                                                                                                         (2, second)]
            assert s.scalar(sa.select(sa.func.count()).select_from(RecipientChallenge)) == 2
    finally:
        engine.dispose()


def test_a_platform_with_data_goes_down_to_nothing_and_up_again(tmp_path):
    """What ``sunbid demo --reset`` does to a seeded SQLite database: every migration's downgrade runs over rows
    that point at each other (a tender of an agency user of an organisation, custodians' keys), where SQLite's
    table rebuilds must not trip on foreign keys; afterwards the schema is whole again and empty."""
    from tests.conftest import standalone

    app, session, _clock, make = standalone(tmp_path)
    make.tender(publish=True)
    session.close()
    url = app.extensions["sunbid"].settings.database_url
    app.extensions["sunbid"].engine.dispose()
    downgrade(url, "base")
    engine = make_engine(url)
    try:
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(url)
    assert _differences(url) == []


def test_a_migration_that_leaves_a_dangling_foreign_key_is_undone(tmp_path):
    """With enforcement off during a SQLite migration, the check at its end keeps rows pointing at nothing out:
    a (test-only) migration after the head that deletes an organisation its user still names fails, and the
    database stays as it was before it."""
    import shutil

    from alembic import command
    from alembic.script import ScriptDirectory

    from core.migrate import MIGRATIONS, alembic_config, current

    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    url = f"sqlite:///{tmp_path / 'm.db'}"
    cfg = alembic_config(url)
    cfg.set_main_option("script_location", str(scripts))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    (scripts / "versions" / "9999_orphan.py").write_text(
        f'revision = "9999"\ndown_revision = "{head}"\nfrom alembic import op\n\n\n'
        'def upgrade():\n    op.execute("DELETE FROM core_organisation")\n\n\ndef downgrade():\n    pass\n')
    command.upgrade(cfg, head)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO core_organisation (id, kind, name, region, contact, created_at) "
                                 "VALUES (1, 'bidder', 'Org', '', '', '2026-03-02 01:00:00')")
            conn.exec_driver_sql("INSERT INTO core_user (id, username, display_name, email, password_hash, role, "
                                 "organisation_id, active, must_change_password, created_at) VALUES "
                                 "(1, 'u', 'U', '', 'x', 'bidder', 1, 1, 0, '2026-03-02 01:00:00')")
        with pytest.raises(RuntimeError, match="points nowhere"):
            command.upgrade(cfg, "9999")
        assert current(url) == head
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM core_organisation").scalar() == 1
    finally:
        engine.dispose()


def test_existing_tenders_require_no_documents_and_keep_their_rows_down_and_up(scratch_url):
    """Migration 0013: tender_required_document; a tender made before it requires none, one listed after it goes
    with the downgrade while the tender stays."""
    from datetime import UTC, datetime

    from sqlalchemy.orm import Session

    from core.db import unit_of_work
    from tender.models import RequiredDocument, Tender

    made = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    upgrade(scratch_url, "0012")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.table("core_organisation", *(sa.column(c) for c in (
                "id", "kind", "name", "region", "contact")), sa.column("created_at", UTCDateTime())).insert()
                .values(id=1, kind="agency", name="Agency", region="", contact="", created_at=made))
            conn.execute(sa.table("core_user", *(sa.column(c) for c in (
                "id", "username", "display_name", "password_hash", "role", "organisation_id", "active", "email",
                "must_change_password")), sa.column("created_at", UTCDateTime())).insert().values(
                id=1, username="a", display_name="A", password_hash="x", role="agency", organisation_id=1,
                active=True, email="", must_change_password=False, created_at=made))
            conn.execute(sa.table("tender_tender", *(sa.column(c) for c in (
                "id", "project_code", "title", "regime", "category", "region", "description", "qualification",
                "evaluation_method", "currency", "estimated_price_fen", "deposit_fen", "agency_id", "created_by",
                "cancel_reason", "settings", "version")), *(sa.column(c, UTCDateTime()) for c in (
                "created_at", "download_start", "download_end", "deadline"))).insert().values(
                id=5, project_code="SB-OLD-1", title="Old", regime="works", category="works", region="R",
                description="", qualification="", evaluation_method="comprehensive", currency="CNY",
                estimated_price_fen=100, deposit_fen=0, agency_id=1, created_by=1, cancel_reason="", settings="{}",
                version=1, created_at=made, download_start=made, download_end=made, deadline=made))
        upgrade(scratch_url)
        assert _differences(scratch_url) == []
        with Session(engine) as s:
            t = s.get(Tender, 5)
            assert t.title == "Old" and t.required_documents == []
            with unit_of_work(s):
                t.required_docs.append(RequiredDocument(position=1, name="投标函", types="pdf,docx", max_mb=10))
        with Session(engine) as s:
            assert s.get(Tender, 5).required_documents == [{"name": "投标函", "types": ["pdf", "docx"], "max_mb": 10}]
        downgrade(scratch_url, "0012")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id, title FROM tender_tender")).all() == [(5, "Old")]
            assert "tender_required_document" not in sa.inspect(conn).get_table_names()
        upgrade(scratch_url)
        with Session(engine) as s:
            assert s.get(Tender, 5).required_documents == []
    finally:
        engine.dispose()
