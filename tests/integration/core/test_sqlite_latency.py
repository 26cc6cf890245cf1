"""The embedded default (SQLite, one process, threads) answers form posts at once: no request waits on a lock
held by its own process, and a checkpoint that cannot be signed now is left for a later request."""
from __future__ import annotations

import re
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from tests.conftest import PASSWORD, serving, standalone
from tests.integration.tender.test_tender_flow import form_for


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as resp:
            return resp.read().decode()

    def post(self, path: str, data: dict, token_page: str) -> tuple[float, int, str]:
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', self.get(token_page)).group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}).encode()
        start = time.monotonic()
        with self.opener.open(self.base + path, data=body, timeout=30) as resp:
            text = resp.read().decode()
            return time.monotonic() - start, resp.status, text


def test_form_posts_and_token_creation_are_fast_on_sqlite(tmp_path):
    app, session, clock, make = standalone(tmp_path, checkpoint_every=1)  # a checkpoint is due after every post
    make.user("agency", username="agent")
    make.custodians()
    session.close()
    with serving(app) as base:
        b = Browser(base)
        took, status, _ = b.post("/login", {"username": "agent", "password": PASSWORD}, "/login")
        assert status == 200 and took < 1.0, took
        took, status, page = b.post("/account", {"tk-name": "ci"}, "/account")
        assert status == 200 and "sb_" in page
        assert took < 1.0, f"creating a token took {took:.1f} s"
        for i in range(3):
            took, status, _ = b.post("/agency/tenders/new", form_for(clock, title=f"道路改造工程 {i}"),
                                     "/agency/tenders/new")
            assert status == 200 and took < 1.0, f"saving a draft took {took:.1f} s"
    # ordinary writes sign no checkpoint (only public milestones do; scheduled ones are signed when read),
    # so no checkpoint's time tells what kind of act came before it
    from audit.service import latest_checkpoint

    with app.extensions["sunbid"].sessions() as s:
        assert latest_checkpoint(s) is None
