"""Sealed-bid submission: ciphertext only, deadline to the millisecond, supersede, withdraw, signed receipts."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from accounts import service as accounts
from core.db import make_sessionmaker, unit_of_work
from tender import downloads
from tender.models import Bid, OpeningKey
from tender.receipts import BadReceipt, verify_receipt
from tests.conftest import login

pytestmark = pytest.mark.skipif(shutil.which("age") is None, reason="the age binary is not installed")


def sealed(recipient: str, tmp_path, content: bytes = b"PK\x03\x04 bid") -> bytes:
    src = tmp_path / "bid.zip"
    src.write_bytes(content)
    out = tmp_path / "bid.age"
    subprocess.run(["age", "-r", recipient, "-o", str(out), str(src)], check=True)
    return out.read_bytes()


@pytest.fixture
def open_tender(make, session, clock):
    """A published tender, a bidder who obtained the documents, and that bidder's API token."""
    t, _agency = make.tender(publish=True)
    bidder = make.bidder_of(t)
    return t, bidder, make.api_token(bidder), session.get(OpeningKey, t.id).recipient


def test_submit_over_the_api_with_a_verifiable_receipt(client, app, open_tender, session, tmp_path):
    t, bidder, auth, recipient = open_tender
    body = sealed(recipient, tmp_path)
    resp = client.post(f"/api/v1/tenders/{t.id}/bids", data=body, headers=auth)
    assert resp.status_code == 201, resp.json
    import hashlib

    assert resp.json["sha256"] == hashlib.sha256(body).hexdigest() and resp.json["size"] == len(body)
    vkey = app.extensions["sunbid"].signer.vkey()
    receipt = client.get(f"/api/v1/bids/{resp.json['id']}/receipt", headers=auth).get_data(as_text=True)
    fields = verify_receipt(receipt, vkey)
    assert fields["sha256"] == resp.json["sha256"] and fields["tender"] == t.project_code
    with pytest.raises(BadReceipt):
        verify_receipt(receipt.replace(resp.json["sha256"], "0" * 64), vkey)
    stored = app.extensions["sunbid"].blobs.path(resp.json["sha256"]).read_bytes()
    assert stored == body and b"PK\x03\x04 bid" not in stored  # only ciphertext is kept
    (tmp_path / "r.json").write_text(receipt)
    (tmp_path / "p.pub").write_text(vkey)
    (tmp_path / "b.age").write_bytes(body)
    from sunbid.cli import main

    out = CliRunner().invoke(main, ["receipt", "verify", str(tmp_path / "r.json"), "--key", str(tmp_path / "p.pub"),
                                    "--file", str(tmp_path / "b.age")])
    assert out.exit_code == 0 and out.output.startswith("OK: bid"), out.output


def test_later_submission_supersedes_and_withdrawal(client, open_tender, session, tmp_path):
    t, bidder, auth, recipient = open_tender
    first = client.post(f"/api/v1/tenders/{t.id}/bids", data=sealed(recipient, tmp_path, b"PK\x03\x04 v1"),
                        headers=auth).json
    second = client.post(f"/api/v1/tenders/{t.id}/bids", data=sealed(recipient, tmp_path, b"PK\x03\x04 v2"),
                         headers=auth).json
    statuses = {b["id"]: b["status"] for b in client.get(f"/api/v1/tenders/{t.id}/bids", headers=auth).json["items"]}
    assert statuses == {first["id"]: "superseded", second["id"]: "current"}
    assert client.post(f"/api/v1/bids/{first['id']}/withdraw", headers=auth).status_code == 400
    assert client.post(f"/api/v1/bids/{second['id']}/withdraw", headers=auth).json["status"] == "withdrawn"


def test_deadline_boundary_to_the_millisecond(client, open_tender, clock, tmp_path):
    t, bidder, auth, recipient = open_tender
    body = sealed(recipient, tmp_path)
    clock.set(t.deadline - timedelta(milliseconds=1))
    assert client.post(f"/api/v1/tenders/{t.id}/bids", data=body, headers=auth).status_code == 201
    clock.set(t.deadline)
    late = client.post(f"/api/v1/tenders/{t.id}/bids", data=body, headers=auth)
    assert late.status_code == 409 and late.json["error"]["code"] == "deadline_passed"


@pytest.mark.parametrize("payload,code", [
    (b"", "empty_bid"), (b"%PDF-1.4 not sealed", "not_age_file"),
    (b"age-encryption.org/v1\n-> X25519 abc\n", "not_age_file"),
])
def test_bad_files_are_refused_and_nothing_recorded(client, open_tender, session, payload, code):
    t, bidder, auth, recipient = open_tender
    resp = client.post(f"/api/v1/tenders/{t.id}/bids", data=payload, headers=auth)
    assert resp.status_code == 400 and resp.json["error"]["code"] == code
    assert session.scalar(select(func.count()).select_from(Bid)) == 0


def test_bidder_without_documents_and_other_bidders_objects(client, make, open_tender, session, clock, tmp_path):
    t, bidder, auth, recipient = open_tender
    other = make.user("bidder")
    with unit_of_work(session):
        _row, token = accounts.create_api_token(session, actor=other, name="x", now=clock.now())
    other_auth = {"Authorization": f"Bearer {token}"}
    refused = client.post(f"/api/v1/tenders/{t.id}/bids", data=sealed(recipient, tmp_path), headers=other_auth)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "documents_not_obtained"
    mine = client.post(f"/api/v1/tenders/{t.id}/bids", data=sealed(recipient, tmp_path), headers=auth).json
    assert client.get(f"/api/v1/bids/{mine['id']}/receipt", headers=other_auth).status_code == 404
    assert client.post(f"/api/v1/bids/{mine['id']}/withdraw", headers=other_auth).status_code == 404
    assert client.post(f"/api/v1/tenders/{t.id}/bids", data=b"x").status_code == 401  # no token


def test_web_form_upload(client, open_tender, tmp_path):
    t, bidder, auth, recipient = open_tender
    login(client, bidder.name)
    resp = client.post(f"/tenders/{t.id}/bids", data={"confirm_tender": t.project_code, "confirm_lot": "1",
                                                      "file": (io.BytesIO(sealed(recipient, tmp_path)), "bid.age")},
                       content_type="multipart/form-data", follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "Bid received" in page and 'data-testid="my-bid"' in page


def test_bid_seal_command_opens_with_the_real_age(tmp_path):
    import pyrage

    from sunbid.cli import main

    identity = pyrage.x25519.Identity.generate()
    (tmp_path / "bid.zip").write_bytes(b"PK\x03\x04 offline")
    (tmp_path / "key.txt").write_text(str(identity) + "\n")
    out = CliRunner().invoke(main, ["bid", "seal", str(tmp_path / "bid.zip"), "--tender-recipient",
                                    str(identity.to_public()), "-o", str(tmp_path / "bid.age")])
    assert out.exit_code == 0, out.output
    opened = subprocess.run(["age", "-d", "-i", str(tmp_path / "key.txt"), str(tmp_path / "bid.age")],
                            check=True, capture_output=True).stdout
    assert opened == b"PK\x03\x04 offline"


@pytest.mark.skipif(not os.environ.get("SUNBID_TEST_DATABASE_URL"), reason="needs PostgreSQL for real concurrency")
def test_concurrent_submissions_leave_one_current_bid(engines, tmp_path_factory, tmp_path):
    from datetime import UTC, datetime

    from core.blobs import BlobStore, StoredBlob
    from core.clock import FrozenClock
    from tender import bids
    from tests.conftest import Factory, _engine_for, empty_database

    engine = _engine_for("postgresql", engines, tmp_path_factory)
    sessions = make_sessionmaker(engine)
    now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    blobs = BlobStore(tmp_path)

    class _App:
        extensions = {"sunbid": type("P", (), {"blobs": blobs})()}

    with sessions() as s:
        with unit_of_work(s):
            empty_database(s)
        f = Factory(_App(), s, FrozenClock(now))
        t, _agency = f.tender(publish=True)
        bidder = f.user("bidder")
        with unit_of_work(s):
            downloads.download_document(s, actor=bidder, tender_id=t.id, document_id=t.documents[0].id,
                                        now=now + timedelta(hours=2))
        tender_id = t.id
    from audit import notes

    signer = notes.Signer.from_skey(notes.generate_signer("sunbid.localhost/audit")[0])
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def submit(i: int) -> None:
        with sessions() as s:
            barrier.wait()
            try:
                with unit_of_work(s):
                    bids.submit_bid(s, actor=bidder, tender_id=tender_id, lot=1, now=now + timedelta(hours=3),
                                    stored=StoredBlob(f"{i:064x}", 100), signer=signer)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    try:
        assert errors == []
        with sessions() as s:
            statuses = sorted(s.scalars(select(Bid.status).where(Bid.tender_id == tender_id)))
            assert statuses == ["current"] + ["superseded"] * 7
    finally:
        with sessions() as s, unit_of_work(s):
            empty_database(s)


def test_bid_pack_command_builds_a_valid_package(tmp_path):
    from sunbid.cli import main
    from tender import bidpackage

    folder = tmp_path / "files"
    (folder / "技术标").mkdir(parents=True)
    (folder / "投标函.pdf").write_bytes(b"%PDF-1.4 letter")
    (folder / "技术标" / "方案.pdf").write_bytes(b"%PDF-1.4 plan")
    out = CliRunner().invoke(main, ["bid", "pack", str(folder), "-o", str(tmp_path / "bid.zip"), "--tender",
                                    "SB-2026-00001", "--bidder-name", "滨海宏达建设工程有限公司", "--credit-code",
                                    "91350100M000100Y43", "--price", "1,234,567.80", "--duration-days", "180"])
    assert out.exit_code == 0, out.output
    form = bidpackage.validate_package(tmp_path / "bid.zip")
    assert str(form.price) == "1234567.80" and {f.name for f in form.files} == {"投标函.pdf", "技术标/方案.pdf"}
    bad = CliRunner().invoke(main, ["bid", "pack", str(folder), "-o", str(tmp_path / "b2.zip"), "--tender",
                                    "SB-2026-00001", "--bidder-name", "X", "--credit-code", "123", "--price", "1",
                                    "--duration-days", "1"])
    assert bad.exit_code != 0 and "credit code" in bad.output.lower()


def test_a_bid_over_the_bid_limit_is_413_naming_that_limit(settings, clock, connection, open_tender, session):
    import dataclasses

    from sunbid.app import create_app

    t, _bidder, auth, _recipient = open_tender
    app = create_app(dataclasses.replace(settings, bid_limit_mb=3), clock=clock, bind=connection,  # documents: 2 MB
                     session_options={"join_transaction_mode": "create_savepoint"})
    resp = app.test_client().post(f"/api/v1/tenders/{t.id}/bids", data=b"age-encryption.org/v1\n" + b"0" * (4 * 1024 * 1024),
                       headers={**auth, "Content-Type": "application/octet-stream"})
    assert resp.status_code == 413
    assert "limit of 3 MB" in resp.json["error"]["message"]
    assert session.scalar(select(func.count()).select_from(Bid)) == 0


def test_a_body_that_ends_before_its_length_stores_nothing(client, open_tender, session, tmp_path, app):
    """The client went away mid-upload: the bid is not received, and no truncated file is kept."""
    t, _bidder, auth, recipient = open_tender
    blobs = app.extensions["sunbid"].blobs
    before = sorted(p for p in blobs.root.rglob("*") if p.is_file())
    body = sealed(recipient, tmp_path, b"PK\x03\x04" + os.urandom(200_000))
    resp = client.post(f"/api/v1/tenders/{t.id}/bids", input_stream=io.BytesIO(body[:150_000]),
                       headers={**auth, "Content-Type": "application/octet-stream"},
                       environ_overrides={"CONTENT_LENGTH": str(len(body))})
    assert resp.status_code == 400
    assert session.scalar(select(func.count()).select_from(Bid)) == 0
    assert sorted(p for p in blobs.root.rglob("*") if p.is_file()) == before
