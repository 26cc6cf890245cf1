"""Nothing a page, feed or API answer shows of an open tender changes with how many bid or who: the same tender
rendered with no bidders, and with three that obtained the documents and bid, gives the same answers (bodies,
headers, number of database queries; per-request tokens set aside) to the public, rival bidders, custodians,
administrators, the opening page before the opening, and the agency desk but for its download count."""
from __future__ import annotations

import re
from datetime import timedelta

import pyrage
import pytest
from sqlalchemy import event

from tender.models import OpeningKey
from tests.conftest import login

TOKENS = [re.compile(r'(name="csrf_token" value=")[^"]*(")'), re.compile(r'(nonce=")[^"]*(")'),
          re.compile(r'(<meta name="csrf-token" content=")[^"]*(")')]


def normalised(body: str) -> str:
    """``body`` with the per-request tokens (CSRF, CSP nonces) blanked out."""
    for pattern in TOKENS:
        body = pattern.sub(r"\1…\2", body)
    return body


COUNT = re.compile(r'(data-testid="download-count">[^<:]*: )\d+')


def sealed(recipient: str, seed: bytes) -> bytes:
    return pyrage.encrypt(b"PK\x03\x04 " + seed * 40, [pyrage.x25519.Recipient.from_str(recipient)])


class Viewer:
    """One logged-in (or anonymous) browser or API client, counting the SQL statements each answer costs."""

    def __init__(self, app, engine, username: str | None = None, auth: dict | None = None):
        self.client, self.engine, self.auth = app.test_client(), engine, auth or {}
        if username:
            assert login(self.client, username).status_code == 302

    def answer(self, method: str, path: str) -> tuple[int, str, int]:
        statements = []

        def counted(*_args):
            statements.append(1)

        event.listen(self.engine, "before_cursor_execute", counted)
        try:
            resp = self.client.open(path, method=method, headers=self.auth)
        finally:
            event.remove(self.engine, "before_cursor_execute", counted)
        headers = "\n".join(f"{k}: {v}" for k, v in sorted(resp.headers.items())
                            if k not in ("Set-Cookie", "Vary", "Date", "Content-Length"))
        return resp.status_code, normalised(resp.get_data().decode("utf-8", "replace")) + "\n" + headers, len(statements)


@pytest.fixture
def open_tender(app, make, session, clock, connection):
    t, agency = make.tender(publish=True)
    rival = make.user("bidder")  # a bidder who has not obtained the documents
    admin, supervisor = make.user("admin"), make.user("supervisor")
    custodian = next(iter(make.custodians()))
    engine = connection.engine
    viewers = {"anonymous": Viewer(app, engine), "rival": Viewer(app, engine, rival.name),
               "rival-api": Viewer(app, engine, auth=make.api_token(rival)), "agency": Viewer(app, engine, agency.name),
               "admin": Viewer(app, engine, admin.name), "custodian": Viewer(app, engine, custodian),
               "supervisor": Viewer(app, engine, supervisor.name)}
    return t, viewers


def pages(t) -> dict[str, list[tuple[str, str]]]:
    public = [("GET", "/"), ("GET", "/tenders"), ("GET", f"/tenders?q={t.project_code}"),
              ("GET", "/tenders?status=published"), ("GET", "/tenders/feed.atom"), ("GET", f"/tenders/{t.id}"),
              ("GET", f"/tenders/{t.id}/opening"), ("GET", f"/tenders/{t.id}/opening.pdf"),
              ("GET", "/api/v1/tenders"), ("GET", f"/api/v1/tenders/{t.id}"),
              ("OPTIONS", f"/api/v1/tenders/{t.id}/uploads")]
    return {
        "anonymous": public,
        "rival": [*public, ("GET", f"/tenders/{t.id}/key-share.age")],
        "rival-api": [("GET", f"/api/v1/tenders/{t.id}"), ("GET", f"/api/v1/tenders/{t.id}/bids"),
                      ("GET", "/api/v1/bids/1/receipt"), ("GET", "/api/v1/bids/2/receipt"),
                      ("POST", "/api/v1/bids/1/withdraw")],
        "agency": [("GET", "/agency/tenders"), ("GET", f"/tenders/{t.id}"), ("GET", f"/tenders/{t.id}/opening")],
        "admin": [("GET", f"/tenders/{t.id}"), ("GET", f"/tenders/{t.id}/opening"),
                  ("GET", f"/audit/tenders/{t.id}/replay"), ("GET", f"/audit/tenders/{t.id}/replay.pdf")],
        "custodian": [("GET", f"/tenders/{t.id}"), ("GET", f"/tenders/{t.id}/opening")],
    }


def everything(t, viewers) -> dict:
    return {(who, method, path): viewers[who].answer(method, path)
            for who, asked in pages(t).items() for method, path in asked}


def test_an_open_tender_looks_the_same_with_no_bidders_and_with_three(open_tender, make, session, clock, app):
    t, viewers = open_tender
    recipient = session.get(OpeningKey, t.id).recipient
    clock.advance(timedelta(hours=2))  # the documents are available from now on
    everything(t, viewers)  # warm-up: a token's last use is written at its first use of the minute
    before = everything(t, viewers)
    supervisor_before = viewers["supervisor"].answer("GET", f"/tenders/{t.id}")

    for i in range(3):  # three bidders obtain the documents and bid, one of them twice
        bidder = make.bidder_of(t)
        auth = make.api_token(bidder)
        for attempt in range(2 if i == 0 else 1):
            resp = viewers["anonymous"].client.post(f"/api/v1/tenders/{t.id}/bids", headers=auth,
                                                    data=sealed(recipient, b"%d/%d" % (i, attempt)))
            assert resp.status_code == 201, resp.json
    after = everything(t, viewers)

    changed = [key for key in before if before[key] != after[key]]
    agency_page = ("agency", "GET", f"/tenders/{t.id}")
    assert agency_page in changed  # the agency desk counts the downloads (art. 21 allows the count) ...
    status, body_before, queries_before = before[agency_page]
    _status, body_after, queries_after = after[agency_page]
    assert "obtained the documents: 0" in body_before and "obtained the documents: 3" in body_after
    assert COUNT.sub(r"\1N", body_before) == COUNT.sub(r"\1N", body_after)  # ... and nothing else
    assert queries_before == queries_after
    assert [key for key in changed if key != agency_page] == []
    # The check can fail: a supervisor sees who obtained the documents.
    assert viewers["supervisor"].answer("GET", f"/tenders/{t.id}")[1] != supervisor_before[1]
