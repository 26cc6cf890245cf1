"""Resumable bid uploads (tus 1.0.0): the protocol through the Flask test client on every backend, and
`sunbid bid submit` against a real server behind a TCP proxy that breaks the connection mid-upload."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pyrage
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from audit.models import AuditEntry
from accounts import service as accounts
from core.db import unit_of_work
from accounts.models import Organisation
from tender import downloads, uploads
from tender.models import Bid, BidUpload, OpeningKey
from tender.receipts import verify_receipt
from tests.conftest import T0


def by_public_id(session, public_id: str) -> Bid:
    bid = session.scalar(select(Bid).where(Bid.public_id == public_id))
    assert bid is not None, public_id
    return bid


ROOT = Path(__file__).resolve().parents[3]
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


def seal(recipient: str, size: int = 3000, seed: bytes = b"bid") -> bytes:
    """A real age file (X25519) of about ``size`` bytes of plaintext."""
    plain = (hashlib.sha256(seed).digest() * (size // 32 + 1))[:size]
    return pyrage.encrypt(plain, [pyrage.x25519.Recipient.from_str(recipient)])


def token_for(session, clock, who) -> dict:
    with unit_of_work(session):
        _row, token = accounts.create_api_token(session, actor=who, name="uploads", now=clock.now())
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def open_tender(make, session, clock):
    """A published tender, a bidder who obtained the documents, its API token and the tender's recipient."""
    t, _agency = make.tender(publish=True)
    bidder = make.bidder_of(t)
    return t, bidder, token_for(session, clock, bidder), session.get(OpeningKey, t.id).recipient


class Tus:
    """A tus client over Flask's test client."""

    def __init__(self, client, auth: dict):
        self.client, self.auth = client, auth

    def create(self, tender_id: int, length: int, lot: int | None = None, **headers):
        query = "" if lot is None else f"?lot={lot}"
        return self.client.post(f"/api/v1/tenders/{tender_id}/uploads{query}",
                                headers={**self.auth, **TUS, "Upload-Length": str(length), **headers})

    def new(self, tender_id: int, length: int, **kw) -> str:
        resp = self.create(tender_id, length, **kw)
        assert resp.status_code == 201, resp.json
        return urlsplit(resp.headers["Location"]).path

    def head(self, url: str):
        return self.client.head(url, headers={**self.auth, **TUS})

    def patch(self, url: str, offset: int, data: bytes, **headers):
        return self.client.patch(url, data=data, headers={**self.auth, **TUS, "Content-Type": OCTETS,
                                                          "Upload-Offset": str(offset), **headers})

    def send(self, url: str, data: bytes, pieces: int = 3):
        """The whole file in ``pieces`` PATCH requests; the last answer."""
        step = -(-len(data) // pieces)
        resp = None
        for offset in range(0, len(data), step):
            resp = self.patch(url, offset, data[offset:offset + step])
            assert resp.status_code == 204, resp.json
            assert resp.headers["Upload-Offset"] == str(min(offset + step, len(data)))
        return resp


def part_file(app, url: str) -> Path:
    return uploads.part_path(app.extensions["sunbid"].settings.data_dir, url.rsplit("/", 1)[1])


def events(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- the protocol


def test_options_announce_version_extensions_and_size_without_login(client, open_tender):
    t, *_ = open_tender
    for url in (f"/api/v1/tenders/{t.id}/uploads", "/api/v1/uploads/anything"):
        resp = client.options(url)
        assert resp.status_code == 204
        assert resp.headers["Tus-Resumable"] == "1.0.0" and resp.headers["Tus-Version"] == "1.0.0"
        assert resp.headers["Tus-Extension"] == "creation,expiration,termination"
        assert resp.headers["Tus-Max-Size"] == str(1024 * 1024 * 1024)


def test_upload_in_chunks_becomes_a_bid_with_its_receipt(client, app, open_tender, session, clock):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient, 5000)
    created = tus.create(t.id, len(body))
    assert created.status_code == 201 and created.headers["Tus-Resumable"] == "1.0.0"
    url = urlsplit(created.headers["Location"]).path
    assert re.fullmatch(r"/api/v1/uploads/[A-Za-z0-9_-]{43}", url)  # 256 random bits, unguessable

    head = tus.head(url)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(body)) and head.headers["Cache-Control"] == "no-store"
    assert head.headers["Tus-Resumable"] == "1.0.0"

    clock.advance(timedelta(minutes=5))
    first = tus.patch(url, 0, body[:1000])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "1000"
    assert "Sunbid-Bid-Id" not in first.headers and first.headers["Tus-Resumable"] == "1.0.0"
    assert tus.head(url).headers["Upload-Offset"] == "1000"
    assert part_file(app, url).read_bytes() == body[:1000]  # written as it arrives, in the data dir
    assert count(session, Bid) == 0
    assert tus.patch(url, 1000, body[1000:3000]).headers["Upload-Offset"] == "3000"
    clock.advance(timedelta(seconds=7))
    last = tus.patch(url, 3000, body[3000:])
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(body))
    bid_id = last.headers["Sunbid-Bid-Id"]

    info = client.get(url, headers=auth).json
    assert info["status"] == "complete" and info["offset"] == info["length"] == len(body)
    bid = info["bid"]
    assert bid["id"] == bid_id and bid["status"] == "current"
    assert bid["sha256"] == hashlib.sha256(body).hexdigest() and bid["size"] == len(body)
    assert bid["received_at"] == clock.now().isoformat()  # received when the last byte arrived
    receipt = client.get(f"/api/v1/bids/{bid_id}/receipt", headers=auth).get_data(as_text=True)
    assert verify_receipt(receipt, app.extensions["sunbid"].signer.vkey())["sha256"] == bid["sha256"]
    assert bid["receipt"] == json.loads(receipt)
    assert app.extensions["sunbid"].blobs.path(bid["sha256"]).read_bytes() == body
    assert not part_file(app, url).exists()
    done = tus.head(url)  # a finished upload still answers: its offset is its length
    assert done.status_code == 200 and done.headers["Upload-Offset"] == str(len(body))
    again = tus.patch(url, len(body), b"")  # e.g. a client that lost the answer to its last PATCH
    assert again.status_code == 409 and again.json["error"]["code"] == "upload_finished"

    created_events = events(session, "bid.upload_created")
    assert len(created_events) == 1
    e = created_events[0]
    upload_id = url.rsplit("/", 1)[1]
    assert json.loads(e.payload) == {"upload": upload_id, "length": len(body), "tender_id": t.id, "lot": 1,
                                     "replaces": []}
    assert (e.object_type, e.object_id, e.tender_id, e.actor_id) == ("bid_upload", upload_id, t.id, bidder.user_id)
    submitted = events(session, "bid.submitted")
    assert len(submitted) == 1 and json.loads(submitted[0].payload)["sha256"] == bid["sha256"]
    # one event at the creation and one at the submission, none per chunk
    later = session.scalars(select(AuditEntry.action).where(AuditEntry.seq > e.seq)).all()
    assert later == ["bid.submitted"]


def test_wrong_offset_is_a_conflict_and_changes_nothing(client, app, open_tender, session):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient)
    url = tus.new(t.id, len(body))
    assert tus.patch(url, 0, body[:100]).status_code == 204
    for wrong in (0, 50, 101):
        resp = tus.patch(url, wrong, body[wrong:wrong + 10])
        assert resp.status_code == 409 and resp.json["error"]["code"] == "upload_offset_mismatch"
        assert resp.headers["Tus-Resumable"] == "1.0.0"
    assert tus.head(url).headers["Upload-Offset"] == "100"
    assert part_file(app, url).read_bytes() == body[:100]
    assert tus.patch(url, 100, body[100:]).headers.get("Sunbid-Bid-Id")


def test_only_the_creator_may_touch_an_upload(client, make, open_tender, session, clock):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient)
    url = tus.new(t.id, len(body))
    assert tus.patch(url, 0, body[:10]).status_code == 204
    other = make.user("bidder")  # another company, even one that obtained the documents
    with unit_of_work(session):
        downloads.download_document(session, actor=other, tender_id=t.id, document_id=t.documents[0].id,
                                    now=clock.now())
    colleague = make.user("bidder", org=session.get(Organisation, bidder.organisation_id))  # same company
    for intruder in (token_for(session, clock, other), token_for(session, clock, colleague)):
        spy = Tus(client, intruder)
        assert spy.head(url).status_code == 404
        assert client.get(url, headers=intruder).status_code == 404
        assert spy.patch(url, 10, body[10:]).status_code == 404
        assert client.delete(url, headers={**intruder, **TUS}).status_code == 404
    assert client.head(url, headers=TUS).status_code == 401  # no token
    agency_auth = token_for(session, clock, make.user("agency"))
    assert Tus(client, agency_auth).head(url).status_code == 403
    assert Tus(client, agency_auth).create(t.id, 10).status_code == 403
    assert tus.head(url).headers["Upload-Offset"] == "10"  # untouched by all of them
    assert tus.head("/api/v1/uploads/not-an-upload").status_code == 404


def test_protocol_headers_are_checked(client, open_tender):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient)
    no_version = client.post(f"/api/v1/tenders/{t.id}/uploads", headers={**auth, "Upload-Length": "10"})
    assert no_version.status_code == 412 and no_version.headers["Tus-Version"] == "1.0.0"
    assert no_version.json["error"]["code"] == "tus_version_unsupported"
    assert tus.create(t.id, 10, **{"Tus-Resumable": "0.2.2"}).status_code == 412
    missing = client.post(f"/api/v1/tenders/{t.id}/uploads", headers={**auth, **TUS})
    assert missing.status_code == 400 and missing.json["error"]["code"] == "bad_upload_header"
    for bad in ("-5", "1e3", "ten", "", "１２"):
        assert tus.create(t.id, 0, **{"Upload-Length": bad}).json["error"]["code"] == "bad_upload_header"
    deferred = client.post(f"/api/v1/tenders/{t.id}/uploads",
                           headers={**auth, **TUS, "Upload-Defer-Length": "1"})
    assert deferred.status_code == 400 and deferred.json["error"]["code"] == "deferred_length_unsupported"
    assert tus.create(t.id, 10, lot="x").json["error"]["code"] == "invalid_number"

    url = tus.new(t.id, len(body))
    wrong_type = tus.patch(url, 0, body[:10], **{"Content-Type": "application/octet-stream"})
    assert wrong_type.status_code == 415 and wrong_type.json["error"]["code"] == "wrong_content_type"
    assert tus.patch(url, 0, body[:10], **{"Tus-Resumable": ""}).status_code == 412
    assert tus.patch(url, 0, body[:10], **{"Upload-Offset": "abc"}).status_code == 400
    assert client.head(url, headers=auth).status_code == 412
    assert tus.head(url).headers["Upload-Offset"] == "0"


def test_creation_is_refused_like_a_direct_submission(client, make, open_tender, session, clock):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)

    def code(resp, status):
        assert resp.status_code == status, resp.json
        assert resp.headers["Tus-Resumable"] == "1.0.0"
        return resp.json["error"]["code"]

    assert code(tus.create(t.id, 0), 400) == "empty_bid"
    assert code(tus.create(t.id, 1024 * 1024 * 1024 + 1), 413) == "file_too_large"
    assert tus.create(t.id, 1024 * 1024 * 1024).status_code == 201  # exactly the limit is fine
    assert code(tus.create(t.id, 10, lot=9), 400) == "invalid_input"
    newcomer = make.user("bidder")
    assert code(Tus(client, token_for(session, clock, newcomer)).create(t.id, 10), 409) == "documents_not_obtained"
    draft, _agency = make.tender()
    assert code(tus.create(draft.id, 10), 404) == "not_found"
    before = count(session, BidUpload)
    clock.set(t.deadline - timedelta(milliseconds=1))
    assert tus.create(t.id, 10).status_code == 201
    clock.set(t.deadline)
    assert code(tus.create(t.id, 10), 409) == "deadline_passed"
    assert count(session, BidUpload) == before + 1
    assert len(events(session, "bid.upload_created")) == before + 1  # refusals leave no row and no event


@pytest.mark.parametrize("late_by_ms", [-1, 0])
def test_the_deadline_is_judged_on_the_last_byte_to_the_millisecond(client, app, open_tender, session, clock,
                                                                     late_by_ms):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient)
    clock.set(t.deadline - timedelta(minutes=10))  # within the idle time of the upload (not abandoned)
    url = tus.new(t.id, len(body))
    assert tus.patch(url, 0, body[:500]).status_code == 204
    clock.set(t.deadline + timedelta(milliseconds=late_by_ms))
    last = tus.patch(url, 500, body[500:])
    if late_by_ms < 0:
        assert last.status_code == 204
        bid = by_public_id(session, last.headers["Sunbid-Bid-Id"])
        assert bid.received_at == t.deadline - timedelta(milliseconds=1) and bid.status == "current"
        return
    assert last.status_code == 409 and last.json["error"]["code"] == "deadline_passed"
    assert count(session, Bid) == 0 and events(session, "bid.submitted") == []
    assert not part_file(app, url).exists()  # its bytes are gone: it can never become a bid
    gone = tus.head(url)
    assert gone.status_code == 410
    info = client.get(url, headers=auth).json
    assert (info["status"], info["refusal"], info["bid"]) == ("expired", "deadline_passed", None)
    again = tus.patch(url, 500, body[500:])
    assert again.status_code == 410 and again.json["error"]["code"] == "upload_expired"


class ClockMovingStream(io.BytesIO):
    """A request body whose last bytes arrive at ``at``: the clock moves when they are read."""

    def __init__(self, data: bytes, clock, at: datetime):
        super().__init__(data)
        self.size, self.clock, self.at = len(data), clock, at

    def readinto(self, b) -> int:
        n = super().readinto(memoryview(b)[:100])
        if self.tell() == self.size:
            self.clock.set(self.at)
        return n

    def read(self, size: int = -1) -> bytes:
        buf = bytearray(100 if size is None or size < 0 else min(size, 100))
        return bytes(buf[:self.readinto(buf)])


def test_a_chunk_begun_before_the_deadline_but_finished_after_it_is_late(client, app, open_tender, session, clock):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient)
    clock.set(t.deadline - timedelta(minutes=1))
    url = tus.new(t.id, len(body))
    clock.set(t.deadline - timedelta(seconds=2))  # the request starts in time…
    stream = ClockMovingStream(body, clock, t.deadline)  # …and its last byte arrives at the deadline
    resp = client.patch(url, input_stream=stream, headers={**auth, **TUS, "Content-Type": OCTETS,
                                                           "Upload-Offset": "0", "Content-Length": str(len(body))})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "deadline_passed"
    assert count(session, Bid) == 0 and client.get(url, headers=auth).json["status"] == "expired"
    assert not part_file(app, url).exists()


def test_data_beyond_the_declared_length_is_refused(client, app, open_tender, session):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient)
    url = tus.new(t.id, len(body))
    assert tus.patch(url, 0, body[:100]).status_code == 204
    over = tus.patch(url, 100, body[100:] + b"x")
    assert over.status_code == 413 and over.json["error"]["code"] == "upload_overflow"

    class Unsized:  # a body without Content-Length (chunked transfer): the excess is found while reading
        def __init__(self, data):
            self.f = io.BytesIO(data)

        def read(self, n=-1):
            return self.f.read(n)

    chunked = client.patch(url, data=b"", environ_overrides={"wsgi.input": Unsized(body[100:] + b"extra"),
                                                             "wsgi.input_terminated": True},
                           headers={**auth, **TUS, "Content-Type": OCTETS, "Upload-Offset": "100",
                                    "Transfer-Encoding": "chunked"})
    assert chunked.status_code == 413 and chunked.json["error"]["code"] == "upload_overflow"
    assert tus.head(url).headers["Upload-Offset"] == "100"
    assert part_file(app, url).read_bytes() == body[:100]
    assert count(session, Bid) == 0
    assert tus.patch(url, 100, body[100:]).headers["Sunbid-Bid-Id"]


def test_content_that_is_not_age_is_refused_when_the_last_byte_arrives(client, app, open_tender, session):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    fake = b"%PDF-1.4 a plain, unsealed bid " * 100
    url = tus.new(t.id, len(fake))
    tus.patch(url, 0, fake[:1000])
    resp = tus.patch(url, 1000, fake[1000:])
    assert resp.status_code == 400 and resp.json["error"]["code"] == "not_age_file"
    info = client.get(url, headers=auth).json
    assert (info["status"], info["refusal"], info["bid"]) == ("refused", "not_age_file", None)
    assert count(session, Bid) == 0 and not part_file(app, url).exists()
    blobs = app.extensions["sunbid"].blobs
    assert not blobs.exists(hashlib.sha256(fake).hexdigest())
    assert tus.head(url).status_code == 410


def test_an_upload_supersedes_an_earlier_bid(client, open_tender, session):
    t, bidder, auth, recipient = open_tender
    first = client.post(f"/api/v1/tenders/{t.id}/bids", data=seal(recipient, seed=b"v1"), headers=auth).json
    tus = Tus(client, auth)
    body = seal(recipient, seed=b"v2")
    url = tus.new(t.id, len(body))
    second = tus.send(url, body).headers["Sunbid-Bid-Id"]
    statuses = {b["id"]: b["status"] for b in client.get(f"/api/v1/tenders/{t.id}/bids", headers=auth).json["items"]}
    assert statuses == {first["id"]: "superseded", second: "current"}
    assert json.loads(events(session, "bid.submitted")[-1].payload)["supersedes"] == [first["id"]]


def test_an_upload_for_the_second_lot(client, make, session, clock):
    from decimal import Decimal

    from tender.inputs import LotInput

    t, _agency = make.tender(publish=True, lots=(LotInput("一标段", Decimal("500000")),
                                                 LotInput("二标段", Decimal("500000"))))
    bidder = make.user("bidder")
    clock.advance(timedelta(hours=2))
    with unit_of_work(session):
        downloads.download_document(session, actor=bidder, tender_id=t.id, document_id=t.documents[0].id,
                                    now=clock.now())
    tus = Tus(client, token_for(session, clock, bidder))
    body = seal(session.get(OpeningKey, t.id).recipient)
    assert tus.create(t.id, len(body), lot=3).status_code == 400
    one, two = tus.new(t.id, len(body), lot=1), tus.new(t.id, len(body), lot=2)  # one open upload per lot
    assert client.get(one, headers=tus.auth).json["status"] == "open"
    bid = by_public_id(session, tus.send(two, body).headers["Sunbid-Bid-Id"])
    assert bid.lot == 2 and client.get(two, headers=tus.auth).json["lot"] == 2


def test_a_broken_connection_keeps_what_arrived(client, app, open_tender, session):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient, 4000)
    url = tus.new(t.id, len(body))
    # The client announced the rest of the file but the connection broke after 1500 bytes.
    cut = client.patch(url, input_stream=io.BytesIO(body[:1500]),
                       environ_overrides={"CONTENT_LENGTH": str(len(body))},
                       headers={**auth, **TUS, "Content-Type": OCTETS, "Upload-Offset": "0"})
    assert cut.status_code == 400 and cut.json["error"]["code"] == "upload_interrupted"
    head = tus.head(url)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "1500"
    assert part_file(app, url).read_bytes() == body[:1500]
    done = tus.patch(url, 1500, body[1500:])
    assert by_public_id(session, done.headers["Sunbid-Bid-Id"]).sha256 == hashlib.sha256(body).hexdigest()


def test_a_bid_whose_transaction_fails_at_the_end_can_still_be_finished(client, app, open_tender, session,
                                                                           monkeypatch):
    """The last byte arrived but recording the bid failed (say, the database went away as it committed): the
    bytes are still there, and an empty PATCH at the end finishes the upload."""
    from core.blobs import BlobStore

    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient, 4000)
    url = tus.new(t.id, len(body))
    real_adopt = BlobStore.adopt

    def adopt_then_fail(self, path, sha256):
        real_adopt(self, path, sha256)
        raise RuntimeError("the database connection was lost")

    monkeypatch.setattr(BlobStore, "adopt", adopt_then_fail)
    assert tus.patch(url, 0, body).status_code == 500
    monkeypatch.setattr(BlobStore, "adopt", real_adopt)
    assert count(session, Bid) == 0 and part_file(app, url).read_bytes() == body
    assert tus.head(url).headers["Upload-Offset"] == str(len(body))
    done = tus.patch(url, len(body), b"")
    assert done.status_code == 204
    assert by_public_id(session, done.headers["Sunbid-Bid-Id"]).sha256 == hashlib.sha256(body).hexdigest()
    assert not part_file(app, url).exists()


def test_bytes_written_but_never_recorded_are_not_trusted(client, app, open_tender, session):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient)
    url = tus.new(t.id, len(body))
    tus.patch(url, 0, body[:300])
    with open(part_file(app, url), "ab") as f:  # as if a server died after writing, before recording
        f.write(b"garbage that was never confirmed")
    assert tus.head(url).headers["Upload-Offset"] == "300"
    done = tus.patch(url, 300, body[300:])
    assert by_public_id(session, done.headers["Sunbid-Bid-Id"]).sha256 == hashlib.sha256(body).hexdigest()


def test_termination_and_replacement_delete_the_part_files(client, app, open_tender, session, clock):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient)
    doomed = tus.new(t.id, len(body))
    tus.patch(doomed, 0, body[:200])
    assert part_file(app, doomed).exists()
    gone = client.delete(doomed, headers={**auth, **TUS})
    assert gone.status_code == 204 and gone.headers["Tus-Resumable"] == "1.0.0"
    assert not part_file(app, doomed).exists()
    assert tus.head(doomed).status_code == 410
    assert client.get(doomed, headers=auth).json["status"] == "terminated"
    assert tus.patch(doomed, 200, body[200:]).status_code == 410
    assert client.delete(doomed, headers={**auth, **TUS}).status_code == 204  # again: harmless
    [ended] = events(session, "bid.upload_terminated")  # once, not for the harmless repeat
    assert json.loads(ended.payload) == {"upload": doomed.rsplit("/", 1)[1], "received": 200, "length": len(body)}

    old = tus.new(t.id, len(body))
    tus.patch(old, 0, body[:200])
    newer = tus.new(t.id, len(body))  # the same bidder starts over for the same lot
    assert json.loads(events(session, "bid.upload_created")[-1].payload)["replaces"] == [old.rsplit("/", 1)[1]]
    assert not part_file(app, old).exists()
    assert client.get(old, headers=auth).json["status"] == "replaced"
    refused = tus.patch(old, 200, body[200:])
    assert refused.status_code == 410 and refused.json["error"]["code"] == "upload_closed"
    finished = tus.send(newer, body)
    assert finished.headers["Sunbid-Bid-Id"]
    kept = client.delete(newer, headers={**auth, **TUS})  # a finished upload is a bid: withdraw that instead
    assert kept.status_code == 409 and kept.json["error"]["code"] == "upload_finished"
    assert by_public_id(session, finished.headers["Sunbid-Bid-Id"]).status == "current"


def test_leftover_part_files_are_cleaned_after_the_deadline(client, app, open_tender, session, clock):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient)
    url = tus.new(t.id, len(body))
    tus.patch(url, 0, body[:200])
    data_dir = app.extensions["sunbid"].settings.data_dir
    stray = uploads.folder(data_dir) / "no-such-upload.part"
    stray.write_bytes(b"left by a crash")
    with unit_of_work(session):
        assert uploads.clean_parts(session, data_dir=data_dir, now=clock.now()) == 1  # the open one stays
    assert part_file(app, url).exists() and not stray.exists()
    clock.set(t.deadline)
    assert tus.head(url).status_code == 410  # never finished, never touched since: expired all the same
    assert client.get(url, headers=auth).json["status"] == "expired"
    with unit_of_work(session):
        assert uploads.clean_parts(session, data_dir=data_dir, now=clock.now()) == 1
    assert not part_file(app, url).exists()
    assert session.get(BidUpload, url.rsplit("/", 1)[1]).status == "expired"
    [closed] = events(session, "bid.upload_closed")  # closed by the clean-up: an audit event all the same
    assert json.loads(closed.payload)["reason"] == "deadline_passed" and closed.actor == "maintenance"


def test_an_upload_to_a_cancelled_tender_is_closed_and_its_bytes_deleted(client, app, make, session, clock):
    from tender import publication

    t, agency = make.tender(publish=True)
    bidder = make.bidder_of(t)
    auth = make.api_token(bidder)
    tus = Tus(client, auth)
    body = seal(session.get(OpeningKey, t.id).recipient)
    url = tus.new(t.id, len(body))
    tus.patch(url, 0, body[:200])
    with unit_of_work(session):
        publication.cancel_tender(session, actor=agency, tender_id=t.id, reason="项目取消", now=clock.now())
    assert tus.head(url).status_code == 410  # takes no more data, though the deadline is far
    refused = tus.patch(url, 200, body[200:])
    assert refused.status_code == 409 and refused.json["error"]["code"] == "invalid_transition"
    assert not part_file(app, url).exists()
    assert client.get(url, headers=auth).json["status"] == "refused"
    assert count(session, Bid) == 0


# ---------------------------------------------------------------- tus 1.0.0 MUSTs: Upload-Metadata, method override


def test_head_echoes_the_upload_metadata_given_at_creation(client, open_tender, session):
    t, _bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient)
    metadata = "filename YmlkLmFnZQ==,is_confidential,note 5oqV5qCH"  # a key with no value, UTF-8 in base64
    url = tus.new(t.id, len(body), **{"Upload-Metadata": metadata})
    head = tus.head(url)
    assert head.status_code == 200 and head.headers["Upload-Metadata"] == metadata and head.get_data() == b""
    assert client.get(url, headers=auth).headers["Upload-Metadata"] == metadata
    assert tus.patch(url, 0, body).status_code == 204
    assert tus.head(url).headers["Upload-Metadata"] == metadata  # a finished upload still says so
    bare = tus.new(t.id, len(body))
    assert "Upload-Metadata" not in tus.head(bare).headers  # none given, none sent


@pytest.mark.parametrize("metadata", ["", "filename", "filename not*base64", "a YQ==,a Yg==", "a YQ==,,b Yg==", ",YQ==",
                                      "filename  YQ==", "filename YQ== YQ==", "k YQ==," + "x" * 5000, "名 YQ=="])
def test_malformed_upload_metadata_is_refused(client, open_tender, session, metadata):
    t, _bidder, auth, _recipient = open_tender
    if metadata == "filename":  # a key alone is fine: its value may be empty
        assert Tus(client, auth).create(t.id, 100, **{"Upload-Metadata": metadata}).status_code == 201
        return
    resp = Tus(client, auth).create(t.id, 100, **{"Upload-Metadata": metadata})
    assert resp.status_code == 400 and resp.json["error"]["code"] == "bad_upload_metadata", resp.json
    assert count(session, BidUpload) == 0


def test_x_http_method_override_is_the_method(client, app, open_tender, session):
    t, _bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient, 5000)
    url = tus.new(t.id, len(body), **{"Upload-Metadata": "filename YmlkLmFnZQ=="})

    def post(override: str, data: bytes = b"", **headers):
        return client.post(url, data=data, headers={**auth, **TUS, "X-HTTP-Method-Override": override, **headers})

    head = post("HEAD")
    assert head.status_code == 200 and head.get_data() == b""
    assert (head.headers["Upload-Offset"], head.headers["Upload-Metadata"]) == ("0", "filename YmlkLmFnZQ==")
    first = post("PATCH", body[:2000], **{"Content-Type": OCTETS, "Upload-Offset": "0"})
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "2000"
    assert part_file(app, url).read_bytes() == body[:2000]
    assert post("patch", body[2000:3000], **{"Content-Type": OCTETS, "Upload-Offset": "2000"}).status_code == 204
    assert tus.head(url).headers["Upload-Offset"] == "3000"
    # The actual method is ignored: a GET that says PATCH appends, a PATCH that says HEAD only looks.
    looked = tus.patch(url, 3000, body[3000:], **{"X-HTTP-Method-Override": "HEAD"})
    assert looked.status_code == 200 and looked.headers["Upload-Offset"] == "3000"
    assert part_file(app, url).read_bytes() == body[:3000]
    last = client.get(url, data=body[3000:], headers={**auth, **TUS, "X-HTTP-Method-Override": "PATCH",
                                                      "Content-Type": OCTETS, "Upload-Offset": "3000"})
    assert last.status_code == 204 and last.headers["Sunbid-Bid-Id"]
    assert by_public_id(session, last.headers["Sunbid-Bid-Id"]).sha256 == hashlib.sha256(body).hexdigest()

    other = tus.new(t.id, len(body))
    ended = client.post(other, headers={**auth, **TUS, "X-HTTP-Method-Override": "DELETE"})
    assert ended.status_code == 204 and ended.headers["Tus-Resumable"] == "1.0.0"
    assert session.get(BidUpload, other.rsplit("/", 1)[1]).status == "terminated"
    assert client.post(other, headers={**auth, **TUS}).status_code == 405  # a plain POST is no tus request
    assert client.post(other, headers={**auth, **TUS, "X-HTTP-Method-Override": "PUT"}).status_code == 405
    options = client.post(f"/api/v1/tenders/{t.id}/uploads", headers={**auth, "X-HTTP-Method-Override": "OPTIONS"})
    assert options.status_code == 204 and options.headers["Tus-Version"] == "1.0.0"
    assert count(session, BidUpload) == 2
    # no login: the same 401 as the method itself gets
    assert client.post(url, headers={**TUS, "X-HTTP-Method-Override": "HEAD"}).status_code == 401


# ---------------------------------------------------------------- a real server, a breaking network


class Proxy:
    """A TCP proxy in front of the live server.  ``cut_after``: once clients have sent that many bytes in all
    (each request is a connection of its own), the connection carrying that byte is cut there, both sides
    closed.  ``stall_after``: it is held still instead, until ``release()``.  It happens once.  Records what
    the server answered and how many bytes each connection carried."""

    def __init__(self, upstream_port: int, *, cut_after: int | None = None, stall_after: int | None = None):
        self.upstream_port = upstream_port
        self.limit, self.stall = cut_after or stall_after, stall_after is not None
        self.cuts, self.total, self.sent, self.answers = 0, 0, [], bytearray()
        self.stalled, self._release = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self.listener.close()
        self._release.set()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=self._answers, args=(upstream, client), daemon=True).start()
        carried = 0
        try:
            while data := client.recv(65536):
                with self._lock:
                    hit = self.limit is not None and self.total + len(data) >= self.limit
                    allowed = self.limit - self.total if hit else len(data)
                    if hit:
                        self.limit = None
                    self.total += allowed
                upstream.sendall(data[:allowed])
                carried += allowed
                if hit:
                    if self.stall:
                        self.stalled.set()
                        self._release.wait(60)
                    self.cuts += 1
                    break
        except OSError:
            pass
        finally:
            self.sent.append(carried)
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def _answers(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while data := upstream.recv(65536):
                with self._lock:
                    self.answers += data
                client.sendall(data)
        except OSError:
            pass

    def offsets(self) -> list[int]:
        return [int(x) for x in re.findall(rb"Upload-Offset: (\d+)", bytes(self.answers))]


@pytest.fixture(scope="module", params=["werkzeug", "gunicorn"])
def live(request, tmp_path_factory):
    """A real Sunbid server (own SQLite file and data dir) with a published tender and a bidder's token: Werkzeug's
    in a thread of this process (clock frozen), or gunicorn as in production (the real clock; the tender was
    made three hours ago), which reads request bodies its own way (``core.bodyreader.SocketBody``)."""
    from tests.conftest import gunicorn, serving, standalone

    data = tmp_path_factory.mktemp(f"live-uploads-{request.param}")
    start = T0 if request.param == "werkzeug" else datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    app, session, clock, make = standalone(data, start=start)
    t, _agency = make.tender(publish=True)
    bidder = make.bidder_of(t)
    auth = token_for(session, clock, bidder)
    recipient = session.get(OpeningKey, t.id).recipient
    session.close()  # on SQLite an open transaction holds the write lock: the server must not wait for it
    settings = app.extensions["sunbid"].settings
    if request.param == "werkzeug":
        server = serving(app)
    else:
        server = gunicorn("core.wsgi:app", {"SUNBID_DATABASE_URL": settings.database_url,
                                            "SUNBID_DATA_DIR": str(data), "SUNBID_SECRET_KEY": secrets.token_urlsafe(48),
                                            "SUNBID_DEFAULT_LOCALE": "en"})
    with server as where:
        port = int(str(where).rsplit(":", 1)[-1])
        yield {"app": app, "port": port, "tender": t.id, "token": auth["Authorization"][7:],
               "recipient": recipient, "data": data}


def big_bid(live, tmp_path, name: str, mib: float = 3.5) -> tuple[Path, bytes]:
    plain = tmp_path / f"{name}.zip"
    plain.write_bytes(os.urandom(int(mib * 1024 * 1024)))
    out = tmp_path / f"{name}.age"
    pyrage.encrypt_file(str(plain), str(out), [pyrage.x25519.Recipient.from_str(live["recipient"])])
    return out, out.read_bytes()


def submit_args(live, base: str, bid: Path, *extra: str) -> list[str]:
    return ["bid", "submit", "--url", base, "--token", live["token"], "--tender", str(live["tender"]),
            "--chunk-mb", "1", "--retry-wait", "0.2", *extra, str(bid)]


def read(live, fn):
    """``fn(session)`` in a short session of the live server's database (closed at once, never holding a lock)."""
    with live["app"].extensions["sunbid"].sessions() as s:
        return fn(s)


def uploads_of(live) -> list[BidUpload]:
    return read(live, lambda s: list(s.scalars(select(BidUpload).where(BidUpload.tender_id == live["tender"]))))


def bid_of(live, bid_id: int) -> Bid:
    return read(live, lambda s: s.get(Bid, bid_id))


def offset_of(live, upload_id: str) -> int:
    return read(live, lambda s: s.get(BidUpload, upload_id).upload_offset)


def test_a_sealed_bid_posted_in_one_request_is_stored_byte_for_byte(live, tmp_path):
    import http.client

    _bid, data = big_bid(live, tmp_path, "whole", mib=5.3)
    conn = http.client.HTTPConnection("127.0.0.1", live["port"], timeout=60)
    conn.request("POST", f"/api/v1/tenders/{live['tender']}/bids", body=data,
                 headers={"Authorization": f"Bearer {live['token']}", "Content-Type": "application/octet-stream"})
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    assert resp.status == 201, answer
    sha = hashlib.sha256(data).hexdigest()
    assert answer["sha256"] == sha and answer["size"] == len(data)
    assert live["app"].extensions["sunbid"].blobs.path(sha).read_bytes() == data
    # a bid that is not an age file is refused with its reason, the rest of its body unread
    conn.request("POST", f"/api/v1/tenders/{live['tender']}/bids", body=b"PK\x03\x04" + os.urandom(200_000),
                 headers={"Authorization": f"Bearer {live['token']}", "Content-Type": "application/octet-stream"})
    resp = conn.getresponse()
    refused = json.loads(resp.read())
    assert resp.status == 400 and refused["error"]["code"] == "not_age_file", refused
    conn.close()


def test_submit_command_resumes_after_the_connection_breaks(live, tmp_path):
    from sunbid.cli import main

    bid, data = big_bid(live, tmp_path, "resume")
    sha = hashlib.sha256(data).hexdigest()
    before = {u.id for u in uploads_of(live)}
    proxy = Proxy(live["port"], cut_after=1_600_000)  # inside the second 1 MiB chunk
    try:
        out = CliRunner().invoke(main, submit_args(live, proxy.url, bid))
    finally:
        proxy.close()
    assert out.exit_code == 0, out.output
    assert proxy.cuts == 1 and "retrying" in out.output
    # The server kept the part of the chunk that arrived before the break, and the client went on from there.
    assert any(o % (1024 * 1024) for o in proxy.offsets()), proxy.offsets()
    new = [u for u in uploads_of(live) if u.id not in before]
    assert len(new) == 1 and new[0].status == "complete"  # resumed, never restarted
    bid_row = bid_of(live, new[0].bid_id)
    assert bid_row.sha256 == sha and bid_row.size == len(data)
    assert re.search(rf"^Bid {re.escape(bid_row.public_id)} received at ", out.output, re.M)
    assert live["app"].extensions["sunbid"].blobs.path(sha).read_bytes() == data
    assert not (tmp_path / "resume.age.upload.json").exists()
    receipt = tmp_path / "resume.age.receipt.json"
    key = tmp_path / "platform.pub"
    key.write_text(live["app"].extensions["sunbid"].signer.vkey())
    checked = CliRunner().invoke(main, ["receipt", "verify", str(receipt), "--key", str(key), "--file", str(bid)])
    assert checked.exit_code == 0 and checked.output.startswith(f"OK: bid {bid_row.public_id} "), checked.output


def wait_until_idle(live, upload_id: str, seconds: float = 10) -> None:
    """Until no request holds the upload's part file (the server takes its lock for as long as it writes)."""
    import fcntl

    deadline = time.monotonic() + seconds
    with uploads.part_path(live["data"], upload_id).open("rb") as part:
        while True:
            try:
                fcntl.flock(part, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                assert time.monotonic() < deadline, "the server never finished the broken request"
                time.sleep(0.05)
            else:
                fcntl.flock(part, fcntl.LOCK_UN)
                return


def test_running_the_command_again_after_a_crash_resumes_from_the_state_file(live, tmp_path):
    from sunbid.cli import main

    bid, data = big_bid(live, tmp_path, "crash")
    sha = hashlib.sha256(data).hexdigest()
    before = {u.id for u in uploads_of(live)}
    proxy = Proxy(live["port"], stall_after=2_300_000)  # the network hangs inside the third chunk…
    env = {**os.environ, "SUNBID_DATA_DIR": str(tmp_path / "client-instance"), "SUNBID_API_TOKEN": live["token"]}
    args = [a for a in submit_args(live, proxy.url, bid) if a not in ("--token", live["token"])]
    run = subprocess.Popen([sys.executable, "-c", "from sunbid.cli import main; main()", *args], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proxy.stalled.wait(60), "the upload never reached the stall"
        run.kill()  # …and the command dies (power cut, Ctrl-C, closed laptop)
        run.wait(10)
        proxy.release()  # the stalled connection ends: the server sees it break
        state = json.loads((tmp_path / "crash.age.upload.json").read_text())
        assert state["sha256"] == sha and state["size"] == len(data) and "token" not in json.dumps(state).lower()
        upload_id = state["url"].rsplit("/", 1)[1]
        wait_until_idle(live, upload_id)  # the server has finished with the broken request (and recorded it)
        kept = offset_of(live, upload_id)
        assert kept >= 2 * 1024 * 1024, "the server did not record what it received"
        first_run = len(proxy.sent)
        out = CliRunner().invoke(main, submit_args(live, proxy.url, bid))  # the same command again
    finally:
        proxy.close()
    assert out.exit_code == 0, out.output
    assert "Continued the upload begun by an earlier run." in out.output
    new = [u for u in uploads_of(live) if u.id not in before]
    assert [u.id for u in new] == [upload_id] and new[0].status == "complete"
    assert sum(proxy.sent[first_run:]) < len(data) - kept + 64 * 1024  # only the rest was sent again
    assert bid_of(live, new[0].bid_id).sha256 == sha
    assert not (tmp_path / "crash.age.upload.json").exists() and (tmp_path / "crash.age.receipt.json").exists()


def test_two_transfers_to_one_upload_never_interleave(live, tmp_path):
    """While one PATCH is streaming, a second one on the same upload is turned away (423) at once."""
    import http.client

    bid, data = big_bid(live, tmp_path, "race", mib=0.5)
    auth = {"Authorization": f"Bearer {live['token']}", **TUS}
    conn = http.client.HTTPConnection("127.0.0.1", live["port"], timeout=30)
    conn.request("POST", f"/api/v1/tenders/{live['tender']}/uploads", headers={**auth, "Upload-Length": str(len(data))})
    resp = conn.getresponse()
    resp.read()
    url = urlsplit(resp.headers["Location"]).path
    conn.close()
    part = uploads.part_path(live["data"], url.rsplit("/", 1)[1])

    slow = http.client.HTTPConnection("127.0.0.1", live["port"], timeout=30)
    slow.putrequest("PATCH", url)
    for k, v in {**auth, "Content-Type": OCTETS, "Upload-Offset": "0", "Content-Length": str(len(data))}.items():
        slow.putheader(k, v)
    slow.endheaders()
    slow.send(data[:100_000])
    deadline = time.monotonic() + 10
    while not part.exists() or part.stat().st_size == 0:  # the first transfer is writing
        assert time.monotonic() < deadline
        time.sleep(0.02)

    rival = http.client.HTTPConnection("127.0.0.1", live["port"], timeout=30)
    rival.request("PATCH", url, body=b"X" * 1000,
                  headers={**auth, "Content-Type": OCTETS, "Upload-Offset": "0"})
    answer = rival.getresponse()
    assert answer.status == 423 and json.loads(answer.read())["error"]["code"] == "upload_busy"
    rival.close()

    slow.send(data[100_000:])
    finished = slow.getresponse()
    assert finished.status == 204 and finished.headers["Sunbid-Bid-Id"]
    slow.close()
    row = read(live, lambda s: by_public_id(s, finished.headers["Sunbid-Bid-Id"]))
    assert row.sha256 == hashlib.sha256(data).hexdigest()  # not a byte of the rival's in it


def test_submit_command_refuses_an_unsealed_file_before_sending_anything(tmp_path):
    from sunbid.cli import main

    plain = tmp_path / "bid.zip"
    plain.write_bytes(b"PK\x03\x04 not sealed")
    out = CliRunner().invoke(main, ["bid", "submit", "--url", "http://127.0.0.1:9", "--token", "x", "--tender", "1",
                                    str(plain)])
    assert out.exit_code == 1 and "not an age-encrypted file" in out.output, out.output
    assert not (tmp_path / "bid.zip.upload.json").exists()
