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
    from sunbid.cli import main

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
    from sunbid.cli import main

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
                            "object_id, subject_kind, subject_id, payload, prev_hash, hash, leaf_hash) SELECT 6, at, "
                            "actor_id, actor, role, address, 'test.forged', object_type, object_id, subject_kind, "
                            "subject_id, payload, prev_hash, '" + "ab" * 32 + "', leaf_hash FROM audit_entry "
                            "WHERE seq = 5"))
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


# ---------------------------------------------------------------- versions and public exports

def test_a_log_of_entries_from_before_the_salt_and_after_verifies(app, session, clock, monkeypatch):
    """Entries written before format version 2 (no salt) keep verifying as they are, followed by salted ones:
    in the database's chain check, and in exports of both modes."""
    import secrets as real

    import audit.service as audit_service
    from audit.models import AuditEntry
    from sqlalchemy import select

    platform = app.extensions["sunbid"]

    class Unsalted:
        @staticmethod
        def token_hex(_n):
            return None  # what an append wrote before version 2

    monkeypatch.setattr(audit_service, "secrets", Unsalted)
    for i in range(5):
        with unit_of_work(session):
            service.record(session, actor=WHO, action="tender.published", object_type="tender", object_id=i,
                           now=clock.now(), payload={"i": i})
    monkeypatch.setattr(audit_service, "secrets", real)
    for i in range(5, 9):
        with unit_of_work(session):
            service.record(session, actor=WHO, action="tender.published", object_type="tender", object_id=i,
                           now=clock.now(), payload={"i": i})
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [r.salt is None for r in rows] == [True] * 5 + [False] * 4
    assert service.verify(session) == 9
    for mode in ("supervisor", "public"):
        lines = export(app, "--mode", mode)
        docs = [json.loads(line)["entry"] for line in lines if '"entry"' in line]
        assert ["v" in d for d in docs] == [False] * 5 + [True] * 4  # tender.published is public at once
        assert verify_export(lines, platform.signer.vkey()).entries == 9


@pytest.fixture
def mixed(app, session, clock):
    """A log of 12 entries alternating a public action and one nobody registered (for supervisors only), with a
    public checkpoint at 6 and one signed for a single receipt at 9."""
    platform = app.extensions["sunbid"]
    secret = Actor(user_id=41, name="rival-bidder", role="bidder", address="10.9.9.9")
    for i in range(12):
        with unit_of_work(session):
            if i % 2 == 0:
                service.record(session, actor=WHO, action="tender.published", object_type="tender", object_id=i,
                               now=clock.now() + timedelta(seconds=i), payload={"i": i})
            else:
                service.record(session, actor=secret, action="test.secret", object_type="thing", object_id=i,
                               now=clock.now() + timedelta(seconds=i), payload={"hidden": f"value-{i}"})
        if i + 1 in (6, 9):
            with unit_of_work(session):
                service.issue_checkpoint(session, signer=platform.signer, origin=platform.settings.log_origin,
                                         now=clock.now(), reason="test", listed=i + 1 == 6)
    return platform


def test_a_public_export_withholds_what_is_not_disclosed_and_still_verifies(app, mixed, session, tmp_path):
    from audit.models import AuditCheckpoint
    from sqlalchemy import select

    vkey = mixed.signer.vkey()
    lines = export(app, "--mode", "public")
    header = json.loads(lines[0])
    assert header["scope"] == "public" and header["tree_size"] == 12
    items = [json.loads(line) for line in lines if '"index"' in line]
    assert [("entry" in i) for i in items] == [True, False] * 6
    for i in items:
        if "entry" in i:
            assert i.keys() == {"index", "entry", "hash", "leaf_hash"} and i["entry"]["v"] == 2
        else:
            assert i.keys() == {"index", "leaf_hash"}
    text_out = "\n".join(lines)
    assert "test.secret" not in text_out and "rival-bidder" not in text_out and "value-" not in text_out
    assert "10.9.9.9" not in text_out
    unlisted = session.scalar(select(AuditCheckpoint.note).where(AuditCheckpoint.listed.is_(False)))
    assert unlisted and json.dumps({"checkpoint": unlisted}, ensure_ascii=False) not in lines
    assert json.dumps({"checkpoint": unlisted}, ensure_ascii=False) in export(app, "--mode", "supervisor")

    report = verify_export(lines, vkey)
    assert report.entries == 12 and report.withheld == 6 and report.tree_size == 12
    assert report.root.hex() == verify_export(export(app, "--mode", "supervisor"), vkey).root.hex()
    # the command line says OK too
    (tmp_path / "public.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "platform.pub").write_text(vkey + "\n")
    from sunbid.cli import main

    out = CliRunner().invoke(main, ["audit", "verify", str(tmp_path / "public.jsonl"), "--key",
                                    str(tmp_path / "platform.pub")])
    assert out.exit_code == 0 and out.output.startswith("OK: 12 entries verified"), out.output


def test_tampering_with_a_public_export_is_named(app, mixed):
    vkey = mixed.signer.vkey()
    lines = export(app, "--mode", "public")
    at = _entry_lines(lines)
    withheld_line = json.loads(lines[at[3]])
    changed = list(lines)
    changed[at[3]] = json.dumps({**withheld_line, "leaf_hash": "00" * 32})
    assert "signed root for size 6 does not match" in diagnose(changed, vkey)
    edited = list(lines)
    edited[at[4]] = edited[at[4]].replace('"i": 4', '"i": 5')
    assert "entry 4" in diagnose(edited, vkey) and "does not match its hash" in diagnose(edited, vkey)
    dropped = lines[:at[3]] + lines[at[3] + 1:]  # a withheld line removed
    assert "expected sequence 4, found 5: an entry is missing" in diagnose(dropped, vkey)
    dropped = lines[:at[2]] + lines[at[2] + 1:]  # a disclosed one removed
    assert "expected index 2, found 3" in diagnose(dropped, vkey)
    unsalted = list(lines)
    doc = json.loads(lines[at[2]])
    del doc["entry"]["v"]
    unsalted[at[2]] = json.dumps(doc)
    assert "a salt in an entry without a format version" in diagnose(unsalted, vkey)
    bad_leaf = list(lines)
    bad_leaf[at[1]] = json.dumps({**json.loads(lines[at[1]]), "leaf_hash": "XY"})
    assert "leaf hash is not 32 bytes" in diagnose(bad_leaf, vkey)
    # a withheld line is only allowed in a public export
    full = [lines[0].replace('"scope": "public"', '"scope": "full"')] + lines[1:]
    assert "entry line without 'entry'" in diagnose(full, vkey)


def test_a_public_tender_export_neither_shows_nor_counts_what_is_withheld(app, mixed):
    lines = export(app, "--mode", "public", "--tender", "0")  # no tender 0 exists: nothing is disclosed by deadline
    header = json.loads(lines[0])
    assert header["entries"] == 0 and not _entry_lines(lines)
    assert verify_export(lines, mixed.signer.vkey()).entries == 0


def test_the_checkpoint_command_keeps_the_schedule(app, mixed, clock, session):
    from sunbid.cli import main

    def run() -> str:
        with app.app_context():
            result = CliRunner().invoke(main, ["audit", "checkpoint"], obj=_script_info(app),
                                        catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "Signed a checkpoint at tree size 12" in run()  # a key act (a publication) since the last one
    assert "No checkpoint due" in run()
    with unit_of_work(session):
        service.record(session, actor=WHO, action="test.secret", object_type="thing", object_id=99,
                       now=clock.now())
    assert "No checkpoint due" in run()  # one entry since, 300 s not yet passed
    clock.advance(timedelta(seconds=301))
    assert "Signed a checkpoint at tree size 13" in run()
    assert "No checkpoint due" in run()
