"""Export the log, verify it offline with only the public key, and name the first tampered entry."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from audit import service
from audit.verify import Tampered, verify_export
from core.actor import Actor
from core.db import unit_of_work

WHO = Actor(user_id=None, name="clerk", role="system", address="10.0.0.1")


@pytest.fixture
def log(app, session, clock):
    """A log of 30 entries with checkpoints at 10 and 30, exported; returns (lines, vkey)."""
    platform = app.extensions["sunbid"]
    for i in range(30):
        with unit_of_work(session):
            service.record(session, actor=WHO, action="test.event", object_type="thing", object_id=i,
                           now=clock.now() + timedelta(seconds=i), payload={"i": i, "名": "值"}, tender_id=i % 3)
        if i + 1 in (10, 30):
            with unit_of_work(session):
                service.issue_checkpoint(session, signer=platform.signer, origin=platform.settings.log_origin,
                                         now=clock.now(), reason="test")
    return platform


def export(app, *extra: str) -> list[str]:
    """A supervisor's export (everything), unless ``extra`` asks for another mode."""
    from core.cli import main

    if "--mode" not in extra:
        extra = ("--mode", "supervisor", *extra)
    runner = CliRunner()
    with app.app_context():
        result = runner.invoke(main, ["audit", "export", "-o", "-", *extra], catch_exceptions=False,
                               obj=_script_info(app))
    assert result.exit_code == 0, result.output
    return [line for line in result.stdout.splitlines() if line.startswith("{")]


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def diagnose(lines: list[str], vkey: str, **kw) -> str:
    with pytest.raises(Tampered) as exc:
        verify_export(lines, vkey, **kw)
    return str(exc.value)


def test_clean_export_verifies_offline(app, log, tmp_path):
    lines = export(app)
    vkey = log.signer.vkey()
    report = verify_export(lines, vkey)
    assert report.entries == 30 and report.tree_size == 30 and report.checkpoints == 2
    (tmp_path / "log.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "platform.pub").write_text(vkey + "\n")
    from core.cli import main

    out = CliRunner().invoke(main, ["audit", "verify", str(tmp_path / "log.jsonl"), "--key",
                                    str(tmp_path / "platform.pub")])
    assert out.exit_code == 0 and out.output.startswith("OK: 30 entries verified")


def _entry_lines(lines):
    return [i for i, line in enumerate(lines) if '"index"' in line]


def test_edits_in_the_export_are_named(app, log):
    lines, vkey = export(app), log.signer.vkey()
    at = _entry_lines(lines)
    edited = list(lines)
    edited[at[7]] = edited[at[7]].replace('"i": 7', '"i": 8')
    assert "entry 7" in diagnose(edited, vkey) and "does not match its hash" in diagnose(edited, vkey)
    deleted = lines[:at[12]] + lines[at[12] + 1:]
    assert "expected sequence 13, found 14" in diagnose(deleted, vkey)
    swapped = list(lines)
    swapped[at[3]], swapped[at[4]] = swapped[at[4]], swapped[at[3]]
    assert "expected sequence 4, found 5" in diagnose(swapped, vkey)
    inserted = lines[:at[5]] + [lines[at[5]]] + lines[at[5]:]
    assert "expected sequence 7, found 6" in diagnose(inserted, vkey)
    truncated = lines[:at[20]]
    assert "truncated" in diagnose(truncated, vkey)


def test_rewritten_history_fails_the_signed_checkpoint(app, log, session, connection):
    """An operator with database access edits an entry and re-hashes the whole chain after it: the chain
    is consistent again, but the checkpoint signed before no longer matches."""
    from audit.models import AuditEntry
    from sqlalchemy import select

    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    prev = rows[3].prev_hash
    from audit import merkle

    for r in rows[3:]:
        entry = service.to_entry(r)
        if r.seq == 4:
            entry = type(entry)(**{**entry.__dict__, "payload": {"i": 999, "名": "值"}})
        entry = type(entry)(**{**entry.__dict__, "prev_hash": prev})
        digest = entry.hash()
        connection.execute(text("UPDATE audit_entry SET payload=:p, prev_hash=:ph, hash=:h, leaf_hash=:l "
                                "WHERE seq=:s"), {"p": json.dumps(entry.payload, ensure_ascii=False), "ph": prev,
                                                  "h": digest, "l": merkle.leaf_hash(entry.encode()).hex(),
                                                  "s": r.seq})
        prev = digest
    session.expire_all()
    message = diagnose(export(app), log.signer.vkey())
    assert "signed root for size 10 does not match" in message


def test_foreign_key_and_bad_signature_are_refused(app, log):
    from audit import notes

    lines = export(app)
    _skey, other = notes.generate_signer(log.settings.log_origin)
    assert "checkpoint signature check failed" in diagnose(lines, other)
    forged = [line.replace("— ", "— x", 1) if '"checkpoint"' in line else line for line in lines]
    assert "checkpoint" in diagnose(forged, log.signer.vkey())


def test_tender_export_carries_inclusion_proofs(app, log):
    lines = export(app, "--tender", "1")
    report = verify_export(lines, log.signer.vkey())
    assert report.entries == 10 and report.tree_size == 30
    at = _entry_lines(lines)
    lines[at[2]] = lines[at[2]].replace('"index": ', '"index": 1', 1)
    assert "entry" in diagnose(lines, log.signer.vkey())


def test_external_checkpoint_must_agree(app, log, client):
    kept = client.get("/audit/checkpoint").get_data(as_text=True)
    lines = export(app)
    assert verify_export(lines, log.signer.vkey(), external_checkpoint=kept).external_checkpoint == 30


def _shift(connection, start: int, delta: int) -> None:
    """Move sequence numbers ≥ start by delta (in two steps, so the primary key never collides)."""
    connection.execute(text("UPDATE audit_entry SET seq = seq + 100000 WHERE seq >= :s"), {"s": start})
    connection.execute(text("UPDATE audit_entry SET seq = seq - 100000 + :d WHERE seq >= :s"),
                       {"s": start + 100000, "d": delta})


def test_rows_deleted_inserted_or_reordered_in_the_database_are_named(app, log, session, connection):
    vkey = log.signer.vkey()
    savepoint = connection.begin_nested()
    connection.execute(text("DELETE FROM audit_entry WHERE seq = 13"))
    session.expire_all()
    assert "entry 13" in diagnose(export(app), vkey) and "expected sequence 13, found 14" in diagnose(export(app), vkey)
    savepoint.rollback()

    savepoint = connection.begin_nested()  # a forged entry slipped in at seq 6, later ones renumbered
    _shift(connection, 6, 1)
    connection.execute(text("INSERT INTO audit_entry (seq, at, actor_id, actor, role, address, action, object_type, "
                            "object_id, tender_id, payload, prev_hash, hash, leaf_hash) SELECT 6, at, actor_id, actor, "
                            "role, address, 'test.forged', object_type, object_id, tender_id, payload, prev_hash, "
                            "'" + "ab" * 32 + "', leaf_hash FROM audit_entry WHERE seq = 5"))
    session.expire_all()
    message = diagnose(export(app), vkey)
    assert message.startswith("entry 5 ") and "does not match its hash" in message
    savepoint.rollback()

    savepoint = connection.begin_nested()  # two entries swapped
    connection.execute(text("UPDATE audit_entry SET seq = 1000 WHERE seq = 8"))
    connection.execute(text("UPDATE audit_entry SET seq = 8 WHERE seq = 9"))
    connection.execute(text("UPDATE audit_entry SET seq = 9 WHERE seq = 1000"))
    session.expire_all()
    message = diagnose(export(app), vkey)
    assert message.startswith("entry 7 ") and "does not match its hash" in message
    savepoint.rollback()
