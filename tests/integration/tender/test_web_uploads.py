"""Resumable bid uploads from the browser: the tus routes of the bid form (``/tenders/<id>/uploads``,
``/uploads/<upload id>``) with a login session and the CSRF token in the X-CSRFToken header, through the Flask
test client on every backend, with CSRF checks on as in production."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from accounts import service as accounts
from core.db import unit_of_work
from tender import downloads, uploads
from tender.models import Bid, BidUpload, OpeningKey
from tender.receipts import verify_receipt
from tests.conftest import PASSWORD
from tests.integration.tender.test_bid_uploads import OCTETS, TUS, seal


def login(client, username: str) -> None:
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302


def page_token(client, tender_id: int) -> str:
    """The CSRF token as the tender page gives it to the bid form (and so to its script)."""
    page = client.get(f"/tenders/{tender_id}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


class WebTus:
    """The requests static/js/bid-upload.js makes (through tus-js-client), over Flask's test client."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.csrf = {"X-CSRFToken": token} if token else {}

    def create(self, tender_id: int, length: int, lot: int | None = None, confirm: bool = True, **headers):
        """``confirm``: with the bid page's confirmation of the tender's project code and the lot."""
        query = {} if lot is None else {"lot": lot}
        if confirm:
            found = self.client.get(f"/api/v1/tenders/{tender_id}")
            code = found.get_json()["project_code"] if found.status_code == 200 else ""
            query.update(confirm_tender=code, confirm_lot=lot or 1)
        query = f"?{urlencode(query)}" if query else ""
        return self.client.post(f"/tenders/{tender_id}/uploads{query}",
                                headers={**self.csrf, **TUS, "Upload-Length": str(length), **headers})

    def new(self, tender_id: int, length: int, **kw) -> str:
        resp = self.create(tender_id, length, **kw)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return urlsplit(resp.headers["Location"]).path

    def head(self, url: str):
        return self.client.head(url, headers={**self.csrf, **TUS})

    def patch(self, url: str, offset: int, data: bytes, **headers):
        return self.client.patch(url, data=data, headers={**self.csrf, **TUS, "Content-Type": OCTETS,
                                                          "Upload-Offset": str(offset), **headers})

    def delete(self, url: str):
        return self.client.delete(url, headers={**self.csrf, **TUS})


@pytest.fixture
def web(csrf_app):
    return csrf_app, csrf_app.test_client(), csrf_app.extensions["sunbid"]


@pytest.fixture
def bidding(make, session, clock, web):
    """A published tender, a bidder who obtained its documents and is logged in (CSRF on), the tender's
    recipient, and a tus client that sends the page's CSRF token."""
    _app, client, _platform = web
    t, _agency = make.tender(publish=True)
    bidder = make.bidder_of(t)
    login(client, bidder.name)
    return t, bidder, session.get(OpeningKey, t.id).recipient, WebTus(client, page_token(client, t.id))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def error(resp) -> dict:
    assert resp.mimetype == "application/json", resp.get_data(as_text=True)[:200]
    return resp.json["error"]


# ---------------------------------------------------------------- the whole way


def test_a_browser_upload_in_pieces_becomes_a_bid_with_its_receipt(web, bidding, session, clock):
    app, client, platform = web
    t, bidder, recipient, tus = bidding
    body = seal(recipient, 300_000)
    created = tus.create(t.id, len(body))
    assert created.status_code == 201 and created.headers["Tus-Resumable"] == "1.0.0"
    url = urlsplit(created.headers["Location"]).path
    assert re.fullmatch(r"/uploads/[A-Za-z0-9_-]{43}", url)  # the web route, not the API's

    head = tus.head(url)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(body)) and head.headers["Cache-Control"] == "no-store"
    cuts = [0, 100_000, 200_000, len(body)]
    for start, end in zip(cuts[:-2], cuts[1:-1]):
        resp = tus.patch(url, start, body[start:end])
        assert resp.status_code == 204 and resp.headers["Upload-Offset"] == str(end)
        assert "Sunbid-Bid-Id" not in resp.headers
    assert tus.head(url).headers["Upload-Offset"] == "200000"
    clock.advance(timedelta(seconds=3))
    last = tus.patch(url, 200_000, body[200_000:])
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(body))
    bid_id = last.headers["Sunbid-Bid-Id"]

    info = client.get(url).json  # the receipt stays retrievable from the upload's address
    assert info["status"] == "complete" and info["offset"] == info["length"] == len(body)
    assert info["bid"]["id"] == bid_id and info["bid"]["status"] == "current"
    assert info["bid"]["sha256"] == hashlib.sha256(body).hexdigest() and info["bid"]["size"] == len(body)
    assert info["bid"]["received_at"] == clock.now().isoformat()
    fields = verify_receipt(json.dumps(info["bid"]["receipt"]), platform.signer.vkey())
    assert fields["bid_id"] == bid_id and fields["sha256"] == info["bid"]["sha256"]
    bid = session.scalars(select(Bid).where(Bid.public_id == bid_id)).one()
    assert (bid.tender_id, bid.lot, bid.organisation_id) == (t.id, 1, bidder.organisation_id)
    assert platform.blobs.path(bid.sha256).read_bytes() == body
    assert session.scalar(select(BidUpload.user_id).where(BidUpload.bid_id == bid.id)) == bidder.user_id

    done = client.get(f"{url}/done")  # where the script goes at the end
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/tenders/{t.id}#bid")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Bid received at" in page and bid.sha256 in page and 'data-testid="my-bid"' in page


def test_a_piece_larger_than_the_pages_upload_limit_is_taken(web, bidding, settings):
    """Flask-WTF's global check, had it run, would have opened the request stream with the pages' limit
    (2 MB here) before the route could raise it to the bid limit: the route checks the header itself."""
    _app, _client, platform = web
    t, _bidder, recipient, tus = bidding
    body = seal(recipient, 3 * 1024 * 1024 + 123)
    assert len(body) > settings.upload_limit_mb * 1024 * 1024 + 64 * 1024
    url = tus.new(t.id, len(body))
    resp = tus.patch(url, 0, body)  # the whole bid in one piece
    assert resp.status_code == 204, resp.get_data(as_text=True)
    assert platform.blobs.path(hashlib.sha256(body).hexdigest()).read_bytes() == body


def test_flask_wtf_would_not_read_a_tus_body_but_would_fix_its_size_limit(csrf_app):
    """Why the tus routes check their CSRF header themselves (see tender/views/bidding.py, _exempt_uploads)."""
    from flask import request
    from werkzeug.exceptions import RequestEntityTooLarge

    data = b"x" * 1000
    with csrf_app.test_request_context("/uploads/abc", method="PATCH", data=data, content_type=OCTETS):
        assert not request.form  # what the global check looks at: empty, the body untouched
        assert request.stream.read() == data
    big = csrf_app.config["MAX_CONTENT_LENGTH"] + 1
    with csrf_app.test_request_context("/uploads/abc", method="PATCH", data=b"x" * big, content_type=OCTETS):
        with pytest.raises(RequestEntityTooLarge):
            request.form  # the stream is opened with the pages' limit, before any view runs


def test_termination_from_the_browser(web, bidding, session):
    app, _client, platform = web
    t, _bidder, recipient, tus = bidding
    body = seal(recipient)
    url = tus.new(t.id, len(body))
    assert tus.patch(url, 0, body[:100]).status_code == 204
    part = uploads.part_path(platform.settings.data_dir, url.rsplit("/", 1)[1])
    assert part.exists()
    assert tus.delete(url).status_code == 204
    assert not part.exists()
    assert tus.head(url).status_code == 410
    assert tus.client.get(url).json["status"] == "terminated"


def test_options_need_no_login(web, bidding):
    _app, _client, _platform = web
    t, *_ = bidding
    anonymous = web[0].test_client()
    for url in (f"/tenders/{t.id}/uploads", "/uploads/anything"):
        resp = anonymous.options(url)
        assert resp.status_code == 204 and resp.headers["Tus-Version"] == "1.0.0"
        assert resp.headers["Tus-Extension"] == "creation,expiration,termination"
        assert resp.headers["Tus-Max-Size"] == str(1024 * 1024 * 1024)


# ---------------------------------------------------------------- CSRF, login, permission, object checks


def test_without_the_csrf_header_nothing_changes(web, bidding, session):
    app, client, platform = web
    t, _bidder, recipient, tus = bidding
    body = seal(recipient)
    bare, wrong = WebTus(client, None), WebTus(client, "not-a-token")
    for attempt in (bare, wrong):
        resp = attempt.create(t.id, len(body))
        assert resp.status_code == 400 and error(resp)["code"] == "csrf"
        assert resp.headers["Tus-Resumable"] == "1.0.0"
    assert count(session, BidUpload) == 0
    # the token as a form field does not count: these routes read only the header
    resp = client.post(f"/tenders/{t.id}/uploads", data={"csrf_token": tus.csrf["X-CSRFToken"]},
                       headers={**TUS, "Upload-Length": str(len(body))})
    assert resp.status_code == 400 and error(resp)["code"] == "csrf"
    assert count(session, BidUpload) == 0

    url = tus.new(t.id, len(body))
    assert tus.patch(url, 0, body[:100]).status_code == 204
    for attempt in (bare, wrong):
        resp = attempt.patch(url, 100, body[100:])
        assert resp.status_code == 400 and error(resp)["code"] == "csrf"
        resp = attempt.delete(url)
        assert resp.status_code == 400 and error(resp)["code"] == "csrf"
    # reading needs no token (HEAD and GET change nothing)
    assert bare.head(url).headers["Upload-Offset"] == "100"
    assert client.get(url).json["status"] == "open"
    part = uploads.part_path(platform.settings.data_dir, url.rsplit("/", 1)[1])
    assert part.read_bytes() == body[:100] and count(session, Bid) == 0
    assert tus.patch(url, 100, body[100:]).headers.get("Sunbid-Bid-Id")


def test_a_method_override_needs_the_csrf_header_as_the_method_does(web, bidding, session):
    _app, client, _platform = web
    t, _bidder, recipient, tus = bidding
    body = seal(recipient)
    url = tus.new(t.id, len(body))
    as_patch = {**TUS, "X-HTTP-Method-Override": "PATCH", "Content-Type": OCTETS, "Upload-Offset": "0"}
    for sent in ("POST", "GET", "HEAD"):  # whatever it is sent as, it is a PATCH
        resp = client.open(url, method=sent, data=body, headers=as_patch)
        assert resp.status_code == 400, resp.status_code
        if sent != "HEAD":
            assert error(resp)["code"] == "csrf"
    assert count(session, Bid) == 0
    done = client.post(url, data=body, headers={**as_patch, **tus.csrf})
    assert done.status_code == 204 and done.headers.get("Sunbid-Bid-Id")
    assert client.post(url, headers={**TUS, "X-HTTP-Method-Override": "HEAD"}).headers["Upload-Offset"] == str(len(body))


def test_not_logged_in_gets_401_and_an_api_token_does_not_count(web, bidding, session, clock):
    app, client, _platform = web
    t, bidder, recipient, tus = bidding
    body = seal(recipient)
    url = tus.new(t.id, len(body))
    anonymous = WebTus(app.test_client(), tus.csrf["X-CSRFToken"])
    with unit_of_work(session):
        _row, token = accounts.create_api_token(session, actor=bidder, name="web", now=clock.now())
    bearer = {"Authorization": f"Bearer {token}"}  # the API's credential: not one of the pages'
    for resp in (anonymous.create(t.id, len(body)), anonymous.create(t.id, len(body), **bearer),
                 anonymous.head(url), anonymous.patch(url, 0, body[:10]), anonymous.delete(url),
                 anonymous.client.get(url), anonymous.client.get(url, headers=bearer)):
        assert resp.status_code == 401
        if resp.request.method != "HEAD":
            assert error(resp) == {"code": "unauthorized", "message": "Please log in."}
    done = anonymous.client.get(f"{url}/done")  # a page: the login page, as for any other
    assert done.status_code == 302 and "/login" in done.headers["Location"]
    assert tus.head(url).headers["Upload-Offset"] == "0" and count(session, BidUpload) == 1
    # and the session does not open the API's routes
    assert client.head(f"/api/v1{url}", headers=TUS).status_code == 401


def test_only_bidders(web, bidding, make):
    app, _client, _platform = web
    t, _bidder, recipient, _tus = bidding
    agent = make.user("agency")
    client = app.test_client()
    login(client, agent.name)
    resp = WebTus(client, page_token(client, t.id)).create(t.id, 100)
    assert resp.status_code == 403 and error(resp)["code"] == "forbidden"


def test_only_the_creator_may_touch_an_upload(web, bidding, make, session, clock):
    from accounts.models import Organisation

    app, client, _platform = web
    t, bidder, recipient, tus = bidding
    body = seal(recipient)
    url = tus.new(t.id, len(body))
    assert tus.patch(url, 0, body[:10]).status_code == 204
    other = make.user("bidder")  # another company that obtained the documents
    colleague = make.user("bidder", org=session.get(Organisation, bidder.organisation_id))  # the same company
    for who in (other, colleague):
        with unit_of_work(session):
            downloads.download_document(session, actor=who, tender_id=t.id, document_id=t.documents[0].id,
                                        now=clock.now())
        them = app.test_client()
        login(them, who.name)
        theirs = WebTus(them, page_token(them, t.id))
        for resp in (theirs.head(url), theirs.patch(url, 10, body[10:]), theirs.delete(url), them.get(url),
                     them.get(f"{url}/done")):
            assert resp.status_code == 404
        assert error(them.get(url))["code"] == "not_found"
    assert tus.head(url).headers["Upload-Offset"] == "10"
    assert tus.patch(url, 10, body[10:]).headers.get("Sunbid-Bid-Id")


# ---------------------------------------------------------------- refusals the script shows


def test_refusals_are_json_messages(web, bidding, session, clock):
    app, client, platform = web
    t, _bidder, recipient, tus = bidding
    resp = tus.create(t.id, 0)
    assert resp.status_code == 400 and error(resp)["code"] == "empty_bid"
    resp = tus.create(t.id, 100, lot=7)
    assert resp.status_code == 400 and "no lot 7" in error(resp)["message"]

    junk = b"this is not an age file " * 100  # refused when its last byte arrives
    url = tus.new(t.id, len(junk))
    assert tus.patch(url, 0, junk[:1000]).status_code == 204
    resp = tus.patch(url, 1000, junk[1000:])
    assert resp.status_code == 400
    assert error(resp)["code"] == "not_age_file" and "age v1 header" in error(resp)["message"]
    assert client.get(url).json["status"] == "refused" and count(session, Bid) == 0
    page = client.get(client.get(f"{url}/done").headers["Location"]).get_data(as_text=True)
    assert "This upload was refused" in page

    body = seal(recipient)
    url = tus.new(t.id, len(body))
    resp = tus.patch(url, 5, body[5:])
    assert resp.status_code == 409 and error(resp)["code"] == "upload_offset_mismatch"
    resp = tus.patch(url, 0, body[:10], **{"Content-Type": "application/octet-stream"})
    assert resp.status_code == 415 and error(resp)["code"] == "wrong_content_type"
    resp = tus.create(t.id, len(body), **{"Tus-Resumable": "0.2.2"})
    assert resp.status_code == 412 and resp.headers["Tus-Version"] == "1.0.0"

    clock.advance(timedelta(days=30))  # past the deadline
    resp = tus.patch(url, 0, body)
    assert resp.status_code == 409 and error(resp)["code"] == "deadline_passed"
    assert tus.head(url).status_code == 410


def test_an_old_upload_of_a_withdrawn_bid_says_so(web, bidding, session):
    app, client, _platform = web
    t, _bidder, recipient, tus = bidding
    body = seal(recipient)
    url = tus.new(t.id, len(body))
    bid_id = tus.patch(url, 0, body).headers["Sunbid-Bid-Id"]
    token = tus.csrf["X-CSRFToken"]
    assert client.post(f"/bids/{bid_id}/withdraw", data={"csrf_token": token}).status_code == 302
    page = client.get(client.get(f"{url}/done").headers["Location"]).get_data(as_text=True)
    assert "no longer current" in page and "Bid received at" not in page


# ---------------------------------------------------------------- the page


def test_the_bid_form_offers_resumable_uploads_with_local_scripts(web, bidding):
    app, client, _platform = web
    t, *_ = bidding
    page = client.get(f"/tenders/{t.id}").get_data(as_text=True)
    form = re.search(r'<form [^>]*data-testid="bid-form"[^>]*>', page).group(0)
    assert f'data-tus-endpoint="/tenders/{t.id}/uploads"' in form
    assert f'action="/tenders/{t.id}/bids"' in form  # without JavaScript: the plain POST, as before
    assert re.search(r'data-chunk-size="\d+"', form)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert "/static/vendor/tus-js-client/tus.min.js" in scripts and "/static/js/bid-upload.js" in scripts
    assert all(src.startswith("/") and not src.startswith("//") for src in scripts)  # no CDN: closed networks
    for src in ("/static/vendor/tus-js-client/tus.min.js", "/static/js/bid-upload.js"):
        resp = client.get(src)
        assert resp.status_code == 200 and len(resp.data) > 1000
        resp.close()
    text = json.loads(re.search(r'<script type="application/json" id="bid-upload-text">(.*?)</script>',
                                page, re.S).group(1))
    assert "{done}" in text["progress"] and "{percent}%" in text["progress"] and "{status}" in text["failed"]
    assert "cannot resume" in page
