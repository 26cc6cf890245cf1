"""The PDFs the platform issues carry its PAdES signature (audit.signing), validated here with pyHanko's own
validator trusting the certificate served at /audit/certificate; each is issued once per content, its SHA-256
in the audit log, and read back as text."""
from __future__ import annotations

import hashlib
import json
import io
import os
import stat

import pytest
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import select

from audit import signing
from audit.models import AuditEntry, IssuedDocument
from core.pdf import pdf_text
from tests.integration.tender.test_opening import _present_and_open, ceremony  # noqa: F401 (a fixture)
from tests.integration.tender.test_opening_record import _respond


def status_of(pdf: bytes, trusted_pem: bytes | None):
    """pyHanko's own validator (through the same guard as the platform: it runs an asyncio loop of its own)."""
    return signing._outside_event_loop(_status_of, pdf, trusted_pem)


def _status_of(pdf: bytes, trusted_pem: bytes | None):
    (trusted,) = load_certs_from_pemder_data(trusted_pem) if trusted_pem else (None,)
    context = ValidationContext(trust_roots=[trusted] if trusted else [])
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    return validate_pdf_signature(signature, context)


def issued_entries(session, tender_id: int) -> list[dict]:
    rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "opening.record_issued",
                                                    AuditEntry.tender_id == tender_id).order_by(AuditEntry.seq))
    return [json.loads(row.payload) for row in rows]


def test_the_opening_record_is_signed_by_the_platform_and_its_hash_is_logged(ceremony, session, clock, app,  # noqa: F811
                                                                              client):
    t, agency, shares = ceremony
    _present_and_open(session, clock, app, t, agency, shares)
    resp = client.get(f"/tenders/{t.id}/opening.pdf?lang=zh_CN")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    pem = client.get("/audit/certificate").data
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----") and b"PRIVATE" not in pem
    status = status_of(resp.data, pem)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"
    assert "开标记录" in pdf_text(resp.data, joined=True)
    assert "/audit/certificate" in pdf_text(resp.data, joined=True)
    # the audit log holds the SHA-256 of exactly these bytes
    (payload,) = issued_entries(session, t.id)
    assert payload["sha256"] == hashlib.sha256(resp.data).hexdigest() and payload["size"] == len(resp.data)
    kept = session.scalar(select(IssuedDocument).where(IssuedDocument.sha256 == payload["sha256"]))
    assert kept is not None and app.extensions["sunbid"].blobs.exists(kept.sha256)


def test_a_signature_is_refused_by_another_trust_and_by_a_changed_byte(ceremony, session, clock, app,  # noqa: F811
                                                                         client, tmp_path):
    t, agency, shares = ceremony
    _present_and_open(session, clock, app, t, agency, shares)
    pdf = client.get(f"/tenders/{t.id}/opening.pdf?lang=en").data
    other = signing.load_or_create(tmp_path / "other.pem", "someone.else/audit")
    assert not status_of(pdf, other.certificate_pem).bottom_line  # signed, but not by the key this reader trusts
    assert not status_of(pdf, None).trusted
    at = pdf.index(b"Opening record") if b"Opening record" in pdf else len(pdf) // 3
    changed = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1:]
    assert not status_of(changed, client.get("/audit/certificate").data).intact


def test_each_content_is_issued_once_and_a_change_issues_a_new_document(ceremony, session, clock, app,  # noqa: F811
                                                                         client):
    t, agency, shares = ceremony
    _present_and_open(session, clock, app, t, agency, shares)
    first = client.get(f"/tenders/{t.id}/opening.pdf?lang=zh_CN").data
    clock.advance(__import__("datetime").timedelta(minutes=1))
    again = client.get(f"/tenders/{t.id}/opening.pdf?lang=zh_CN").data
    assert again == first and len(issued_entries(session, t.id)) == 1  # the same bytes, nothing logged
    english = client.get(f"/tenders/{t.id}/opening.pdf?lang=en").data
    assert english != first and len(issued_entries(session, t.id)) == 2  # one document per language
    _respond(session, clock, t, agency)  # a confirmation, an objection and its answer change the record
    changed = client.get(f"/tenders/{t.id}/opening.pdf?lang=zh_CN").data
    assert changed != first and "报价读错了" in pdf_text(changed, joined=True)
    assert "报价读错了" not in pdf_text(first, joined=True)
    hashes = [p["sha256"] for p in issued_entries(session, t.id)]
    assert hashes == [hashlib.sha256(d).hexdigest() for d in (first, english, changed)]


def test_no_record_no_document(make, client, session):
    t, _agency = make.tender(publish=True)
    assert client.get(f"/tenders/{t.id}/opening.pdf").status_code == 404
    assert session.scalar(select(IssuedDocument)) is None


def test_the_signing_key_is_made_once_private_and_kept_apart_from_the_certificate(app, client):
    settings = app.extensions["sunbid"].settings
    pem = client.get("/audit/certificate").data
    path = settings.pdf_key_file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert client.get("/audit/certificate").data == pem
    assert signing.load_or_create(path, settings.log_origin).certificate_pem == pem
    assert b"PRIVATE KEY" in path.read_bytes()


@pytest.mark.parametrize("content", [b"", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_a_key_file_without_a_key_is_refused_clearly(tmp_path, content):
    path = tmp_path / "broken.pem"
    path.write_bytes(content)
    with pytest.raises(RuntimeError, match="no private key"):
        signing.load_or_create(path, "x")


def test_the_blob_collector_keeps_every_issued_document(ceremony, session, clock, app, client):  # noqa: F811
    import time

    from core.actor import Actor
    from core.db import unit_of_work
    from sunbid.maintenance import collect_blobs

    t, agency, shares = ceremony
    _present_and_open(session, clock, app, t, agency, shares)
    pdf = client.get(f"/tenders/{t.id}/opening.pdf").data
    store = app.extensions["sunbid"].blobs
    path = store.path(hashlib.sha256(pdf).hexdigest())
    old = time.time() - 3 * 86400
    os.utime(path, (old, old))
    with unit_of_work(session):
        result = collect_blobs(session, store=store, actor=Actor.system("maintenance"), now=clock.now(), dry_run=True)
    assert hashlib.sha256(pdf).hexdigest() not in result.blobs and path.exists()


def test_sunbid_audit_verify_pdf_checks_the_signature_and_finds_the_entry(ceremony, session, clock, app, client,  # noqa: F811
                                                                            tmp_path):
    """What a bidder or a journalist runs on a downloaded record: the certificate from /audit/certificate, the
    public export and the verifier key, no database."""
    from click.testing import CliRunner

    from audit import service
    from core.db import unit_of_work
    from sunbid.cli import main
    from tests.integration.audit.test_audit_export import export

    t, agency, shares = ceremony
    _present_and_open(session, clock, app, t, agency, shares)
    pdf = client.get(f"/tenders/{t.id}/opening.pdf").data
    platform = app.extensions["sunbid"]
    with unit_of_work(session):
        service.issue_checkpoint(session, signer=platform.signer, origin=platform.settings.log_origin,
                                 now=clock.now(), reason="test")
    (tmp_path / "record.pdf").write_bytes(pdf)
    (tmp_path / "cert.pem").write_bytes(client.get("/audit/certificate").data)
    (tmp_path / "platform.pub").write_text(platform.signer.vkey() + "\n")
    (tmp_path / "log.jsonl").write_text("\n".join(export(app, "--mode", "public")) + "\n")
    args = ["audit", "verify-pdf", str(tmp_path / "record.pdf"), "--certificate", str(tmp_path / "cert.pem")]
    runner = CliRunner()
    ok = runner.invoke(main, [*args, "--log", str(tmp_path / "log.jsonl"), "--key", str(tmp_path / "platform.pub")])
    assert ok.exit_code == 0, ok.output
    assert hashlib.sha256(pdf).hexdigest() in ok.output and "(opening.record_issued)" in ok.output
    # one byte changed: refused, named
    (tmp_path / "changed.pdf").write_bytes(pdf[:2000] + bytes([pdf[2000] ^ 1]) + pdf[2001:])
    bad = runner.invoke(main, ["audit", "verify-pdf", str(tmp_path / "changed.pdf"), "--certificate",
                               str(tmp_path / "cert.pem")])
    assert bad.exit_code == 1 and "NOT VALID" in bad.output
    # another platform's certificate: refused
    other = signing.load_or_create(tmp_path / "other.pem", "elsewhere/audit")
    (tmp_path / "other-cert.pem").write_bytes(other.certificate_pem)
    wrong = runner.invoke(main, ["audit", "verify-pdf", str(tmp_path / "record.pdf"), "--certificate",
                                 str(tmp_path / "other-cert.pem")])
    assert wrong.exit_code == 1 and "not signed by the key of this certificate" in wrong.output
    # a valid signature whose document the log does not hold (a PDF signed, then its entry removed)
    lines = [line for line in (tmp_path / "log.jsonl").read_text().splitlines() if "opening.record_issued" not in line]
    (tmp_path / "cut.jsonl").write_text("\n".join(lines) + "\n")
    cut = runner.invoke(main, [*args, "--log", str(tmp_path / "cut.jsonl"), "--key", str(tmp_path / "platform.pub")])
    assert cut.exit_code == 1 and "TAMPERED" in cut.output
    usage = runner.invoke(main, [*args, "--log", str(tmp_path / "log.jsonl")])
    assert usage.exit_code == 2 and "--key" in usage.output
    # signed with the platform's key but never issued (no entry holds it): named as such
    from core.pdf import html_to_pdf

    stray = signing.sign_pdf(html_to_pdf("<p>never issued</p>"), signing.identity(platform.settings), reason="x")
    (tmp_path / "stray.pdf").write_bytes(stray)
    missing = runner.invoke(main, ["audit", "verify-pdf", str(tmp_path / "stray.pdf"), "--certificate",
                                   str(tmp_path / "cert.pem"), "--log", str(tmp_path / "log.jsonl"), "--key",
                                   str(tmp_path / "platform.pub")])
    assert missing.exit_code == 1 and "NOT IN THE LOG" in missing.output


def test_signing_works_where_an_event_loop_runs(tmp_path):
    """pyHanko runs its own asyncio loop; called from a thread whose loop is running (an async server, or the
    browser-driving tests in the same process) the signature is made all the same."""
    import asyncio

    from core.pdf import html_to_pdf

    who = signing.load_or_create(tmp_path / "k.pem", "loop/audit")
    pdf = html_to_pdf("<p>in a loop</p>")

    async def inside():
        return signing.sign_pdf(pdf, who, reason="test")

    import threading

    results = {}

    def in_a_thread_with_a_running_loop():  # a thread of its own, whatever loop this one may run
        results["signed"] = signed = asyncio.run(inside())
        results["ok"] = asyncio.run(_validated(signed, who.certificate_pem)).ok

    worker = threading.Thread(target=in_a_thread_with_a_running_loop)
    worker.start()
    worker.join(60)
    assert results.get("ok") is True


async def _validated(pdf, pem):
    return signing.validate(pdf, pem)
