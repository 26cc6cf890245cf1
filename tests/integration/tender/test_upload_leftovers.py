"""What uploads leave behind and how much they may take: abandoned resumable uploads go promptly (tus
``Upload-Expires``), a bid refused after its bytes were stored leaves no blob (unless a record names the same
bytes), each bidder and each tender has a storage quota, and a PATCH cut short keeps what reached the disk."""
from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import io
import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.db import unit_of_work
from tender import uploads
from tender.models import Bid, BidUpload
from tests.integration.tender.test_bid_uploads import (OCTETS, TUS, ClockMovingStream, Tus, by_public_id, count, events,
                                                open_tender, part_file, seal, token_for)
from tests.integration.tender.test_web_sealing import Body, csrf_token, flashes, post

__all__ = ["open_tender"]  # the fixture, imported for the tests below

MiB = 1024 * 1024


def blobs_of(app) -> set[str]:
    return {sha for sha, _path in app.extensions["sunbid"].blobs.stored()}


def limit(app, **changes) -> None:
    platform = app.extensions["sunbid"]
    platform.settings = dataclasses.replace(platform.settings, **changes)


# ---------------------------------------------------------------- abandoned uploads


def test_an_upload_left_idle_is_abandoned_and_says_when(client, app, open_tender, session, clock):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient, 4000)
    created = tus.create(t.id, len(body))
    assert parsedate_to_datetime(created.headers["Upload-Expires"]) == clock.now() + timedelta(minutes=15)
    url = urlpath(created)
    clock.advance(timedelta(minutes=10))
    first = tus.patch(url, 0, body[:1000])
    assert first.status_code == 204  # 10 minutes idle: still open, and the expiry moves on
    assert parsedate_to_datetime(first.headers["Upload-Expires"]) == clock.now() + timedelta(minutes=15)
    assert parsedate_to_datetime(tus.head(url).headers["Upload-Expires"]) == clock.now() + timedelta(minutes=15)
    clock.advance(timedelta(minutes=15))
    gone = tus.head(url)
    assert gone.status_code == 410 and "Upload-Expires" not in gone.headers
    assert client.get(url, headers=auth).json["status"] == "abandoned"
    late = tus.patch(url, 1000, body[1000:])
    assert late.status_code == 410 and late.json["error"]["code"] == "upload_abandoned"
    assert "15 minutes" in late.json["error"]["message"]
    assert not part_file(app, url).exists() and count(session, Bid) == 0
    [closed] = events(session, "bid.upload_closed")
    assert json.loads(closed.payload)["status"] == "abandoned"
    again = tus.patch(url, 1000, body[1000:])  # closed now, for good
    assert again.status_code == 410 and again.json["error"]["code"] == "upload_closed"


def test_the_idle_time_is_a_setting(client, app, open_tender, clock):
    t, bidder, auth, recipient = open_tender
    limit(app, upload_idle_minutes=2)
    tus = Tus(client, auth)
    created = tus.create(t.id, 100)
    assert parsedate_to_datetime(created.headers["Upload-Expires"]) == clock.now() + timedelta(minutes=2)
    clock.advance(timedelta(minutes=2))
    assert tus.head(urlpath(created)).status_code == 410


def test_the_expiry_is_never_after_the_deadline(client, app, open_tender, clock):
    t, bidder, auth, recipient = open_tender
    clock.set(t.deadline - timedelta(minutes=3))
    created = Tus(client, auth).create(t.id, 100)
    assert parsedate_to_datetime(created.headers["Upload-Expires"]) == t.deadline


def test_the_sweep_removes_abandoned_uploads_but_not_one_being_written(client, app, open_tender, make, session,
                                                                      clock):
    t, bidder, auth, recipient = open_tender
    body = seal(recipient, 4000)
    busy = Tus(client, auth)
    busy_url = busy.new(t.id, len(body))
    idle = Tus(client, token_for(session, clock, make.bidder_of(t)))
    idle_url = idle.new(t.id, len(body))
    busy.patch(busy_url, 0, body[:700])
    idle.patch(idle_url, 0, body[:500])
    fresh_url = busy.new(t.id, len(body), lot=1)  # replaces busy_url's upload… so start that one again
    busy_url = fresh_url
    busy.patch(busy_url, 0, body[:700])
    data_dir = app.extensions["sunbid"].settings.data_dir
    clock.advance(timedelta(minutes=14))
    with unit_of_work(session):  # not idle for 15 minutes yet: nothing goes
        assert uploads.clean_parts(session, data_dir=data_dir, now=clock.now()) == 0
    clock.advance(timedelta(minutes=2))
    with open(part_file(app, busy_url), "rb") as held:  # a PATCH is writing to this one right now
        fcntl.flock(held, fcntl.LOCK_EX)
        with unit_of_work(session):
            deleted = uploads.clean_parts(session, data_dir=data_dir, now=clock.now())
    assert deleted == 1 and not part_file(app, idle_url).exists() and part_file(app, busy_url).exists()
    session.expire_all()
    assert session.get(BidUpload, idle_url.rsplit("/", 1)[1]).status == "abandoned"
    assert session.get(BidUpload, busy_url.rsplit("/", 1)[1]).status == "open"
    [closed] = [e for e in events(session, "bid.upload_closed") if e.actor == "maintenance"]
    assert json.loads(closed.payload)["reason"] == "upload_abandoned"
    with unit_of_work(session):  # the lock is gone: the next run takes it
        assert uploads.clean_parts(session, data_dir=data_dir, now=clock.now()) == 1
    assert not part_file(app, busy_url).exists()


def urlpath(resp) -> str:
    from urllib.parse import urlsplit

    assert resp.status_code == 201, resp.json
    return urlsplit(resp.headers["Location"]).path


# ---------------------------------------------------------------- refused bids leave no blob


def test_a_direct_bid_refused_after_it_arrived_leaves_no_blob(client, app, open_tender, session, clock):
    t, bidder, auth, recipient = open_tender
    body = seal(recipient, 5000)
    before = blobs_of(app)
    clock.set(t.deadline - timedelta(seconds=2))
    stream = ClockMovingStream(body, clock, t.deadline)  # its last byte arrives at the deadline
    resp = client.post(f"/api/v1/tenders/{t.id}/bids", input_stream=stream,
                       headers={**auth, "Content-Type": "application/octet-stream",
                                "Content-Length": str(len(body))})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "deadline_passed"
    assert count(session, Bid) == 0 and blobs_of(app) == before


def sealed_form(token: str, t, sealed: bytes, *, lot_after: int | None = None) -> Body:
    parts = [("csrf_token", token), ("mode", "sealed"), ("lot", 1), ("confirm_tender", t.project_code),
             ("confirm_lot", "1"), ("file", "bid.age", sealed)]
    if lot_after is not None:
        parts.append(("lot", lot_after))
    return Body(parts)


@pytest.fixture
def web_bidder(csrf_app, make, session, clock):
    from tender.models import OpeningKey
    from tests.conftest import PASSWORD

    client = csrf_app.test_client()
    t, _agency = make.tender(publish=True)
    bidder = make.bidder_of(t)
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    assert client.post("/login", data={"username": bidder.name, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return csrf_app, client, t, session.get(OpeningKey, t.id).recipient


def test_a_form_bid_refused_for_its_lot_leaves_no_blob_and_shared_bytes_stay(web_bidder, session):
    app, client, t, recipient = web_bidder
    sealed = seal(recipient, 3000, seed=b"form")
    before = blobs_of(app)
    page = post(client, t.id, sealed_form(csrf_token(client, t.id), t, sealed, lot_after=2)).get_data(as_text=True)
    assert "Choose the lot before the file" in flashes(page, "danger")
    assert count(session, Bid) == 0 and blobs_of(app) == before  # nothing names it: gone at once
    page = post(client, t.id, sealed_form(csrf_token(client, t.id), t, sealed)).get_data(as_text=True)
    assert "Bid received" in flashes(page, "success")
    sha = hashlib.sha256(sealed).hexdigest()
    assert blobs_of(app) == before | {sha}
    # The same bytes again, refused: the blob is the current bid's, and stays.
    page = post(client, t.id, sealed_form(csrf_token(client, t.id), t, sealed, lot_after=2)).get_data(as_text=True)
    assert "Choose the lot before the file" in flashes(page, "danger")
    assert blobs_of(app) == before | {sha}
    assert app.extensions["sunbid"].blobs.open(sha).read() == sealed


def test_a_blob_stored_again_by_another_request_is_not_the_first_ones_to_delete(app, session):
    from core.blobs import BlobStore

    store: BlobStore = app.extensions["sunbid"].blobs
    first = store.put_stream(io.BytesIO(b"the same sealed bytes"), limit=MiB)
    second = store.put_stream(io.BytesIO(b"the same sealed bytes"), limit=MiB)
    assert first.created is not None and second.created is None  # the second found it there
    assert not store.remove_created(first)  # renewed by the second store: the first may not remove it
    assert store.exists(first.sha256)
    third = store.put_stream(io.BytesIO(b"other bytes"), limit=MiB)
    assert store.remove_created(third) and not store.exists(third.sha256)


# ---------------------------------------------------------------- quotas


def test_creation_over_the_bidders_quota_is_413_with_the_limit_in_mb(client, app, make, session, clock):
    t, auth, _recipient = two_lots(make, session, clock)
    limit(app, bidder_quota_mb=1, tender_quota_mb=10)
    tus = Tus(client, auth)
    first = tus.new(t.id, 600_000, lot=1)
    over = tus.create(t.id, 600_000, lot=2)  # the open upload counts: 1.2 MB in all
    assert over.status_code == 413 and over.json["error"]["code"] == "quota_exceeded"
    message = over.json["error"]["message"]
    assert "at most 1 MB" in message and "0.6 MB are in use" in message
    zh = client.post(f"/api/v1/tenders/{t.id}/uploads?lot=2&lang=zh_CN",
                     headers={**auth, **TUS, "Upload-Length": "600000", "Accept-Language": "zh-CN"})
    assert zh.status_code == 413 and "1 MB" in zh.json["error"]["message"]
    assert re.search(r"[\u4e00-\u9fff]", zh.json["error"]["message"])
    assert tus.create(t.id, 600_000, lot=1).status_code == 201  # replacing the first upload: it no longer counts
    assert client.get(first, headers=auth).json["status"] == "replaced"


def two_lots(make, session, clock):
    from decimal import Decimal

    from tender.models import OpeningKey
    from tender.inputs import LotInput

    t, _agency = make.tender(publish=True, lots=(LotInput("一标段", Decimal("500000")),
                                                 LotInput("二标段", Decimal("500000"))))
    return t, token_for(session, clock, make.bidder_of(t)), session.get(OpeningKey, t.id).recipient


def test_bids_received_count_against_the_quota(client, app, open_tender, session):
    t, bidder, auth, recipient = open_tender
    limit(app, bidder_quota_mb=1, tender_quota_mb=10)
    small = seal(recipient, 400_000, seed=b"a")
    post = {"headers": {**auth, "Content-Type": "application/octet-stream"}}
    assert client.post(f"/api/v1/tenders/{t.id}/bids", data=small, **post).status_code == 201
    assert client.post(f"/api/v1/tenders/{t.id}/bids", data=small, **post).status_code == 201  # supersedes
    third = client.post(f"/api/v1/tenders/{t.id}/bids", data=small, **post)  # the superseded one is kept too
    assert third.status_code == 413 and third.json["error"]["code"] == "quota_exceeded"
    refused = Tus(client, auth).create(t.id, 400_000)
    assert refused.status_code == 413 and "0.8 MB are in use" in refused.json["error"]["message"]
    assert count(session, Bid) == 2


def test_the_last_byte_is_judged_against_the_quota_again(client, app, make, session, clock):
    t, auth, recipient = two_lots(make, session, clock)
    tus = Tus(client, auth)
    body = seal(recipient, 600_000)
    one, two = tus.new(t.id, len(body), lot=1), tus.new(t.id, len(body), lot=2)  # both fit 4 GB
    limit(app, bidder_quota_mb=1, tender_quota_mb=10)  # now lowered: the other upload's bytes count
    last = tus.patch(two, 0, body)
    assert last.status_code == 413 and last.json["error"]["code"] == "quota_exceeded"
    assert count(session, Bid) == 0 and not part_file(app, two).exists()
    assert client.get(two, headers=auth).json["status"] == "refused"
    assert client.delete(one, headers={**auth, **TUS}).status_code == 204  # the other one given up…
    again = tus.new(t.id, len(body), lot=2)  # …the bid fits
    assert tus.patch(again, 0, body).headers["Sunbid-Bid-Id"]


def test_a_direct_bid_over_the_quota_is_refused_and_nothing_stays(client, app, open_tender, session):
    t, bidder, auth, recipient = open_tender
    limit(app, bidder_quota_mb=1, tender_quota_mb=10)
    before = blobs_of(app)
    big = seal(recipient, 1_100_000)
    resp = client.post(f"/api/v1/tenders/{t.id}/bids", data=big,
                       headers={**auth, "Content-Type": "application/octet-stream"})
    assert resp.status_code == 413 and resp.json["error"]["code"] == "quota_exceeded"
    assert "at most 1 MB" in resp.json["error"]["message"]
    assert blobs_of(app) == before and count(session, Bid) == 0


def test_the_tenders_quota_counts_every_bidder(client, app, open_tender, make, session, clock):
    t, bidder, auth, recipient = open_tender
    limit(app, bidder_quota_mb=1, tender_quota_mb=1)
    Tus(client, auth).new(t.id, 600_000)
    other = Tus(client, token_for(session, clock, make.bidder_of(t)))
    over = other.create(t.id, 600_000)
    assert over.status_code == 413 and over.json["error"]["code"] == "tender_quota_exceeded"
    assert "at most 1 MB of bids from all bidders" in over.json["error"]["message"]
    assert other.create(t.id, 400_000).status_code == 201


def test_the_bid_form_over_the_quota_says_so(web_bidder, session):
    app, client, t, recipient = web_bidder
    limit(app, bidder_quota_mb=1, tender_quota_mb=10)
    before = blobs_of(app)
    sealed = seal(recipient, 1_100_000, seed=b"big")
    page = post(client, t.id, sealed_form(csrf_token(client, t.id), t, sealed)).get_data(as_text=True)
    assert "at most 1 MB of bids for this tender" in flashes(page, "danger")
    assert blobs_of(app) == before and count(session, Bid) == 0


# ---------------------------------------------------------------- a PATCH cut short


class Dying(io.BytesIO):
    """A request body whose reader dies after ``cut`` bytes (the worker told to exit in the middle, as gunicorn
    does to a worker past its timeout)."""

    def __init__(self, data: bytes, cut: int, error: BaseException):
        super().__init__(data)
        self.cut, self.error = cut, error

    def readinto(self, b) -> int:
        left = self.cut - self.tell()
        if left <= 0:
            raise self.error
        return super().readinto(memoryview(b)[:min(left, 10_000)])

    def read(self, size: int = -1) -> bytes:
        buf = bytearray(10_000 if size is None or size < 0 else min(size, 10_000))
        return bytes(buf[:self.readinto(buf)])


@pytest.mark.parametrize("error", [SystemExit(1), RuntimeError("a bug in the middle of the request")],
                         ids=["worker-exit", "error"])
def test_a_patch_that_dies_midway_keeps_the_bytes_that_reached_the_disk(client, app, open_tender, session, error):
    t, bidder, auth, recipient = open_tender
    tus = Tus(client, auth)
    body = seal(recipient, 200_000)
    url = tus.new(t.id, len(body))
    cut = 123_456
    try:
        resp = client.patch(url, input_stream=Dying(body, cut, error), content_length=len(body),
                            headers={**auth, **TUS, "Content-Type": OCTETS, "Upload-Offset": "0"})
    except BaseException as exc:  # the worker's exit goes through the test client
        assert exc is error
    else:
        assert resp.status_code == 500
    head = tus.head(url)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(cut)
    assert part_file(app, url).read_bytes() == body[:cut]
    done = tus.patch(url, cut, body[cut:])
    assert done.status_code == 204
    assert by_public_id(session, done.headers["Sunbid-Bid-Id"]).sha256 == hashlib.sha256(body).hexdigest()


class Watched(io.BytesIO):
    """A request body that looks at the recorded offset (another session, as a restarted server would) as it
    is read."""

    def __init__(self, data: bytes, look):
        super().__init__(data)
        self.look, self.seen = look, []

    def readinto(self, b) -> int:
        n = super().readinto(memoryview(b)[:16_384])
        self.seen.append((self.tell(), self.look()))
        return n

    def read(self, size: int = -1) -> bytes:
        buf = bytearray(16_384 if size is None or size < 0 else min(size, 16_384))
        return bytes(buf[:self.readinto(buf)])


def test_a_long_patch_records_its_offset_as_it_goes(client, app, open_tender, session, monkeypatch):
    """Were the server killed outright during a long PATCH, what was synced and recorded before survives: the
    offset moves every ``SYNC_EVERY`` bytes, not only at the end."""
    t, bidder, auth, recipient = open_tender
    monkeypatch.setattr(uploads, "SYNC_EVERY", 64 * 1024)
    tus = Tus(client, auth)
    body = seal(recipient, 300_000)
    url = tus.new(t.id, len(body) + 1)  # one byte short: the PATCH does not finish the upload
    upload_id = url.rsplit("/", 1)[1]

    def recorded() -> int:
        session.expire_all()
        return session.get(BidUpload, upload_id).upload_offset

    stream = Watched(body, recorded)
    resp = client.patch(url, input_stream=stream, content_length=len(body),
                        headers={**auth, **TUS, "Content-Type": OCTETS, "Upload-Offset": "0"})
    assert resp.status_code == 204 and resp.headers["Upload-Offset"] == str(len(body))
    midway = [offset for read, offset in stream.seen if read < len(body)]
    assert max(midway) >= len(body) - 64 * 1024 - 16_384  # recorded while bytes were still arriving
    assert all(offset % (16_384) == 0 and offset <= read for read, offset in stream.seen)


def test_the_clean_uploads_command_removes_abandoned_uploads(tmp_path, monkeypatch):
    from sunbid.cli import main
    from tests.conftest import standalone

    data = tmp_path / "data"
    data.mkdir()
    # Made three hours ago (the command reads the real clock); the bidder obtains the documents two hours on.
    _app, s, clock_, make_ = standalone(data, start=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3))
    t, _agency = make_.tender(publish=True)
    bidder = make_.bidder_of(t)
    with unit_of_work(s):
        up, _ = uploads.create_upload(s, actor=bidder, tender_id=t.id, lot=1, length=100, limit=MiB,
                                      now=clock_.now())
    upload_id = up.id
    s.close()
    part = uploads.part_path(data, upload_id)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"half a bid")
    monkeypatch.setenv("SUNBID_DATABASE_URL", f"sqlite:///{data / 'live.db'}")
    monkeypatch.setenv("SUNBID_DATA_DIR", str(data))
    result = CliRunner().invoke(main, ["bid", "clean-uploads"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 part file(s)" in result.output and not part.exists()
    with _app.extensions["sunbid"].sessions() as s2:
        assert s2.scalar(select(BidUpload.status).where(BidUpload.id == upload_id)) == "abandoned"


def test_a_resumable_upload_finishing_with_bytes_the_collector_found_keeps_them(app, session, clock, tmp_path):
    """The collector found an unreferenced blob; before it deletes it, an upload ends with the same bytes (the
    store takes them by a hard link, and finds them there already): the blob is renewed and stays."""
    import os
    import time as time_

    from core.actor import Actor
    from sunbid.maintenance import collect_blobs

    store = app.extensions["sunbid"].blobs
    orphan = store.put_stream(io.BytesIO(b"bytes refused once, then sent again"), limit=MiB)
    old = time_.time() - 2 * 86400
    os.utime(store.path(orphan.sha256), (old, old))
    with unit_of_work(session):
        found = collect_blobs(session, store=store, actor=Actor.system("maintenance"), now=clock.now())
    assert found.blobs == [orphan.sha256]
    part = tmp_path / "upload.part"
    part.write_bytes(b"bytes refused once, then sent again")
    store.adopt(part, orphan.sha256)
    assert found.delete() == 0 and store.exists(orphan.sha256)
