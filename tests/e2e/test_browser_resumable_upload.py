"""A bidder uploads a ~20 MB file sealed with the real age from a real browser, in resumable pieces (tus through
static/js/bid-upload.js): a PATCH that breaks mid-upload is retried by itself from the server's offset, and after
a failed upload a reload and the same file chosen again continue the same upload."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, serving, standalone

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("age") is None, reason="the age tool is not installed")]

CHUNK = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory):
    """A real server with a published tender and two bidders who obtained its documents."""
    from tender.models import OpeningKey

    app, s, _clock, make = standalone(tmp_path_factory.mktemp("live-uploads"))
    t, _agency = make.tender(publish=True)
    bidders = [make.bidder_of(t), make.bidder_of(t)]
    facts = dict(tender_id=t.id, recipient=s.get(OpeningKey, t.id).recipient)
    s.close()  # SQLite: no transaction may stay open while the server writes
    with serving(app) as url:
        yield dict(url=url, app=app, bidders=bidders, **facts)


def sealed_file(tmp_path: Path, recipient: str, size: int) -> Path:
    """``size`` random bytes sealed with the real age to the tender's recipient."""
    plain = tmp_path / "bid.zip"
    plain.write_bytes(os.urandom(size))
    out = tmp_path / "bid.age"
    subprocess.run(["age", "-r", recipient, "-o", str(out), str(plain)], check=True)
    return out


def log_in(page, live: str, username: str) -> None:
    page.goto(f"{live}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector('[data-testid="whoami"]')


def choose_sealed_file(page, live: str, tender_id: int, path: Path, **data: str) -> None:
    """The tender's bid form, the "file I sealed myself" choice and ``path``; ``data`` sets the form's
    data attributes (the piece size, the retry delays)."""
    page.goto(f"{live}/tenders/{tender_id}#bid")
    page.wait_for_function("() => window.tus && window.tus.isSupported")
    for name, value in {"chunkSize": str(CHUNK), **data}.items():
        page.eval_on_selector("#bid-form", "(form, [k, v]) => { form.dataset[k] = v; }", [name, value])
    page.check("#bid-mode-sealed")
    page.fill("#bid-confirm-tender", page.inner_text(".breadcrumb-item.active code"))  # what the bidder confirms
    page.set_input_files("#bid-file", str(path))


def stored_bid(server, user_id: int):
    from tender.models import Bid, BidUpload

    with server["app"].extensions["sunbid"].sessions() as s:
        uploads = s.scalars(select(BidUpload).where(BidUpload.user_id == user_id)).all()
        bids = s.scalars(select(Bid).join(BidUpload, BidUpload.bid_id == Bid.id)
                         .where(BidUpload.user_id == user_id)).all()
        return uploads, bids


def keep_screenshot(page, request, name: str) -> None:
    artifacts = request.config.rootpath / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / name), full_page=True)


def test_a_broken_connection_mid_upload_resumes_by_itself(page, upload_server, tmp_path, request):
    live, tender_id = upload_server["url"], upload_server["tender_id"]
    bidder = upload_server["bidders"][0]
    path = sealed_file(tmp_path, upload_server["recipient"], 20 * 1024 * 1024)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    seen: list[tuple[str, str | None]] = []  # (method, Upload-Offset) of the requests to the upload

    def break_second_patch(route):
        req = route.request
        seen.append((req.method, req.headers.get("upload-offset")))
        if req.method == "PATCH" and sum(1 for m, _ in seen if m == "PATCH") == 2:
            route.abort()  # the connection "breaks" while the second piece is on its way
            return
        route.continue_()

    try:
        page.set_viewport_size({"width": 1280, "height": 900})
        log_in(page, live, bidder.name)
        choose_sealed_file(page, live, tender_id, path)
        page.route(lambda url: "/uploads/" in url and not url.endswith("/done"), break_second_patch)
        page.click('[data-testid="submit-bid"]')
        page.wait_for_selector('[data-testid="upload-progress"]:not([hidden])')
        page.wait_for_selector(".alert-success", timeout=120_000)
        assert page.url.endswith(f"/tenders/{tender_id}#bid")
        assert digest in page.inner_text(".alert-success")
        assert page.locator('[data-testid="my-bid"]').count() == 1
    except BaseException:
        keep_screenshot(page, request, "resumable-upload-failure.png")
        raise

    patches = [offset for method, offset in seen if method == "PATCH"]
    assert patches[:2] == ["0", str(CHUNK)]  # the second one was cut off
    after = seen[seen.index(("PATCH", str(CHUNK))) + 1:]
    assert after[0] == ("HEAD", None)  # where does the server stand? …
    assert after[1] == ("PATCH", str(CHUNK))  # … and on from there
    size = path.stat().st_size
    assert len(patches) == -(-size // CHUNK) + 1  # every piece once, and the broken one again

    uploads, bids = stored_bid(upload_server, bidder.user_id)
    assert len(uploads) == 1 and uploads[0].status == "complete"
    assert len(bids) == 1 and bids[0].sha256 == digest and bids[0].size == size
    blob = upload_server["app"].extensions["sunbid"].blobs.path(digest)
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == digest


def test_after_a_failed_upload_the_same_file_continues_after_a_reload(page, upload_server, tmp_path, request):
    live, tender_id = upload_server["url"], upload_server["tender_id"]
    bidder = upload_server["bidders"][1]
    path = sealed_file(tmp_path, upload_server["recipient"], 10 * 1024 * 1024)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    patches = 0

    def network_down_after_the_first_piece(route):
        nonlocal patches
        if route.request.method == "PATCH":
            patches += 1
            if patches > 1:
                route.abort()
                return
        route.continue_()

    try:
        page.set_viewport_size({"width": 1280, "height": 900})
        log_in(page, live, bidder.name)
        page.set_viewport_size({"width": 390, "height": 844})  # then a phone
        choose_sealed_file(page, live, tender_id, path, retryDelays="[]")  # give up at the first failure
        page.route(lambda url: "/uploads/" in url, network_down_after_the_first_piece)
        page.click('[data-testid="submit-bid"]')
        error = page.wait_for_selector('[data-testid="upload-error"]:not([hidden])', timeout=60_000)
        assert "connection to the platform was lost" in error.inner_text()
        assert page.is_enabled('[data-testid="submit-bid"]')
        uploads, bids = stored_bid(upload_server, bidder.user_id)
        assert [(u.status, u.upload_offset) for u in uploads] == [("open", CHUNK)] and bids == []

        page.unroute_all()
        requests: list[tuple[str, str, str | None]] = []
        page.on("request", lambda r: requests.append((r.method, r.url, r.headers.get("upload-offset"))))
        page.reload()
        choose_sealed_file(page, live, tender_id, path)  # the same file again
        page.click('[data-testid="submit-bid"]')
        page.wait_for_selector(".alert-success", timeout=120_000)
        assert digest in page.inner_text(".alert-success")
    except BaseException:
        keep_screenshot(page, request, "resumable-upload-reload-failure.png")
        raise

    tus_requests = [(m, o) for m, u, o in requests if "/uploads" in u and not u.endswith("/done")]
    assert ("POST", None) not in tus_requests  # no new upload: the browser remembered this one
    assert tus_requests[:2] == [("HEAD", None), ("PATCH", str(CHUNK))]
    uploads, bids = stored_bid(upload_server, bidder.user_id)
    assert len(uploads) == 1 and uploads[0].status == "complete"
    assert len(bids) == 1 and bids[0].sha256 == digest
    blob = upload_server["app"].extensions["sunbid"].blobs.path(digest)
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == digest


def test_a_sealed_file_is_not_sent_without_the_tender_and_lot_confirmed(page, upload_server, tmp_path, request):
    live, tender_id = upload_server["url"], upload_server["tender_id"]
    bidder = upload_server["bidders"][1]
    path = sealed_file(tmp_path, upload_server["recipient"], 100_000)
    before = stored_bid(upload_server, bidder.user_id)
    try:
        log_in(page, live, bidder.name)
        choose_sealed_file(page, live, tender_id, path)
        page.fill("#bid-confirm-tender", "SB-2026-00022")  # the code of another tender
        page.click('[data-testid="submit-bid"]')
        error = page.wait_for_selector('[data-testid="upload-error"]:not([hidden])', timeout=60_000)
        assert "Confirm what your sealed file is for" in error.inner_text()
    except BaseException:
        keep_screenshot(page, request, "sealed-confirmation-failure.png")
        raise
    after = stored_bid(upload_server, bidder.user_id)  # no upload begun, no bid
    assert [u.id for u in after[0]] == [u.id for u in before[0]] and len(after[1]) == len(before[1])
