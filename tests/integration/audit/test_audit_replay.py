"""Supervisors browse the log, see an entry's inclusion proof, and replay a tender against the database."""
from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import text

from audit.replay import replay_tender
from tender.area import AREA as TENDER
from core.db import unit_of_work
from core.pdf import pdf_text
from tender import downloads, publication
from tests.conftest import login


def _busy_tender(make, session, clock):
    t, agency = make.tender(publish=True)
    bidder = make.user("bidder")
    clock.advance(timedelta(hours=2))
    with unit_of_work(session):
        downloads.download_document(session, actor=bidder, tender_id=t.id, document_id=t.documents[0].id,
                                    now=clock.now())
    with unit_of_work(session):
        q = publication.ask_question(session, actor=bidder, tender_id=t.id, text="问题？", now=clock.now())
    with unit_of_work(session):
        publication.answer_question(session, actor=agency, tender_id=t.id, question_id=q.id, answer="答复。",
                                    now=clock.now())
    clock.set(t.deadline - timedelta(days=3))
    with unit_of_work(session):
        publication.amend_tender(session, actor=agency, tender_id=t.id, text="修改", now=clock.now())
    return t


def test_replay_matches_then_shows_a_database_edit(make, session, clock, connection):
    t = _busy_tender(make, session, clock)
    result = replay_tender(session, t.id, clock.now(), replayers=TENDER.replayers)
    assert result.consistent, result.mismatches
    assert result.replayed["status"] == "published" and result.replayed["amendments"] == 1
    assert result.replayed["downloads"] == 1 and result.replayed["answered"] == 1
    connection.execute(text("UPDATE tender_tender SET deposit_fen = 1 WHERE id = :i"), {"i": t.id})
    session.expire_all()
    result = replay_tender(session, t.id, clock.now(), replayers=TENDER.replayers)
    assert [m[0] for m in result.mismatches] == ["deposit_fen"]


def test_supervisor_pages(client, make, session, clock):
    t = _busy_tender(make, session, clock)
    make.user("supervisor", username="sup")
    login(client, "sup")
    page = client.get(f"/audit/log?tender={t.id}").get_data(as_text=True)
    assert "Tender amended" in page and "Question asked" in page
    client.get("/audit/checkpoint")  # a checkpoint now covers everything
    page = client.get("/audit/log").get_data(as_text=True)
    assert "matches the stored tree" in page
    assert "whole hash chain verifies" in client.get("/audit/log?verify=1").get_data(as_text=True)
    entry = client.get("/audit/log/3").get_data(as_text=True)
    assert "Included in the signed checkpoint" in entry
    replay = client.get(f"/audit/tenders/{t.id}/replay").get_data(as_text=True)
    assert "matches the database" in replay
    pdf = client.get(f"/audit/tenders/{t.id}/replay.pdf")
    assert pdf.mimetype == "application/pdf"
    text_of_pdf = pdf_text(pdf.data)
    assert "Tender published" in text_of_pdf and "问题" not in text_of_pdf  # actions, not payload text


def test_replay_pages_are_for_supervisors_only(client, make, session, clock):
    t, agency = make.tender(publish=True)
    login(client, agency.name)
    assert client.get("/audit/log").status_code == 403
    assert client.get(f"/audit/tenders/{t.id}/replay").status_code == 403


def test_replay_command_and_pdf(app, make, session, clock, tmp_path):
    from sunbid.cli import main

    t = _busy_tender(make, session, clock)
    out = tmp_path / "replay.pdf"
    result = CliRunner().invoke(main, ["audit", "replay", "--tender", str(t.id), "--pdf", str(out)],
                                obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert "CONSISTENT" in result.output and "tender.published" in result.output
    assert "Tender amended" in pdf_text(str(out))


def test_replay_follows_bids(make, session, clock, app, tmp_path, connection):
    import shutil

    import pytest

    if shutil.which("age") is None:
        pytest.skip("age missing")
    from core.blobs import StoredBlob
    from tender import bids

    t, _agency = make.tender(publish=True)
    bidder = make.user("bidder")
    clock.advance(timedelta(hours=2))
    with unit_of_work(session):
        downloads.download_document(session, actor=bidder, tender_id=t.id, document_id=t.documents[0].id,
                                    now=clock.now())
    signer = app.extensions["sunbid"].signer
    for i in range(2):
        with unit_of_work(session):
            bids.submit_bid(session, actor=bidder, tender_id=t.id, lot=1, stored=StoredBlob(f"{i:064x}", 10),
                            now=clock.now(), signer=signer)
    result = replay_tender(session, t.id, clock.now(), replayers=TENDER.replayers)
    assert result.consistent, result.mismatches
    assert sorted(v.split()[0] for v in result.replayed["bids"].values()) == ["current", "superseded"]
    connection.execute(text("UPDATE tender_bid SET status = 'current'"))  # both "current": tampering
    session.expire_all()
    assert [m[0] for m in replay_tender(session, t.id, clock.now(), replayers=TENDER.replayers).mismatches] == ["bids"]
