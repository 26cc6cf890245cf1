"""``sunbid experts verify-draw --log-url``: the checkpoint's signature and the commitments' inclusion proofs,
checked against a live platform's audit log."""
from __future__ import annotations

import json

from click.testing import CliRunner

from audit import notes
from audit import service as audit_service
from audit.models import AuditEntry
from core.actor import Actor
from core.db import unit_of_work
from experts.draw import LogEvidence, Pick, build_document, check_against_log, commitment_of
from sqlalchemy import select
from sunbid.cli import main
from tests.conftest import serving, standalone

SECRET, VALUE = bytes(range(1, 33)), bytes([0xAA] * 32)


def _log_with_commitments(app, session, clock):
    """Two entries recording the platform's and a supervisor's commitment, among others, and a checkpoint."""
    platform = app.extensions["sunbid"]
    indexes = []
    with unit_of_work(session):
        for value in (None, SECRET, None, VALUE):
            payload = {"expert": "E000001"} if value is None else {"commitment": commitment_of(value).hex()}
            appended = audit_service.record(session, actor=Actor.system(), action="experts.contact_updated",
                                            object_type="experts_profile", object_id="E000001", now=clock.now(),
                                            payload=payload, subject=("expert", "E000001"))
            if value is not None:
                indexes.append(appended.seq - 1)
        cp = audit_service.issue_checkpoint(session, signer=platform.signer, origin=platform.settings.log_origin,
                                            now=clock.now(), reason="test")
        note = cp.note
    return indexes, note


def _document(indexes, note):
    return build_document(request={"specialties": [{"code": "works", "count": 1}]}, secret=SECRET,
                          contributions=[("supervisor1", VALUE)], commitment_indexes=indexes, checkpoint_note=note,
                          eligible={"works": ["E000001", "E000002"]}, excluded=[],
                          drawn=[])


def test_verify_draw_against_a_live_log(tmp_path):
    app, session, clock, _make = standalone(tmp_path)
    indexes, note = _log_with_commitments(app, session, clock)
    assert indexes == [1, 3]
    doc = _document(indexes, note)
    doc["drawn"] = [{"expert": doc["ranking"]["works"][0], "specialty": "works", "rank": 1, "status": "confirmed"}]
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    session.close()
    with serving(app) as base:
        ok = CliRunner().invoke(main, ["experts", "verify-draw", str(path), "--log-url", base])
        assert ok.exit_code == 0, ok.output
        assert "signed by the log's key and the 2 commitments are in its tree" in ok.output
        assert "not disclosed yet" in ok.output  # the entries are for supervisors: inclusion only

        forged = dict(doc, checkpoint=dict(doc["checkpoint"]))
        other = notes.Signer(notes.Checkpoint.parse(note.split("\n\n")[0] + "\n").origin, bytes(32))
        forged["checkpoint"]["note"] = note.split("\n\n")[0] + "\n\n" + notes.sign_note(
            note.split("\n\n")[0] + "\n", other).split("\n\n")[1]
        path.write_text(json.dumps(forged), encoding="utf-8")
        bad = CliRunner().invoke(main, ["experts", "verify-draw", str(path), "--log-url", base])
        assert bad.exit_code == 1 and "'checkpoint' against the log" in bad.output

        gone = CliRunner().invoke(main, ["experts", "verify-draw", str(path), "--log-url", base + "/nowhere"])
        assert gone.exit_code == 2 and "refused" in gone.output


def test_entry_content_is_checked_once_disclosed(tmp_path):
    app, session, clock, _make = standalone(tmp_path)
    indexes, note = _log_with_commitments(app, session, clock)
    doc = _document(indexes, note)
    vkey = app.extensions["sunbid"].signer.vkey()
    size = doc["checkpoint"]["size"]

    def evidence(index_map):
        out = []
        for doc_index, log_index in index_map:
            leaf, path, _root = audit_service.inclusion(session, log_index, size)
            row = session.scalar(select(AuditEntry).where(AuditEntry.seq == log_index + 1))
            out.append(LogEvidence(doc_index, leaf, path, audit_service.to_entry(row).document()))
        return out

    assert check_against_log(doc, log_vkey=vkey, evidence=evidence([(1, 1), (3, 3)])) == (None, [])
    mismatch, _ = check_against_log(doc, log_vkey=vkey, evidence=evidence([(1, 1), (3, 2)]))
    assert mismatch.field == "commitment_indexes"  # the proof is of another leaf
    swapped = dict(doc, commitment_indexes=[1, 2])
    mismatch, _ = check_against_log(swapped, log_vkey=vkey, evidence=evidence([(1, 1), (2, 2)]))
    assert mismatch.field == "commitment_indexes" and "does not record the commitment" in mismatch.detail
