"""The opening page's script, now a static file under the Content-Security-Policy, still follows the ceremony:
while the bids are not yet opened the page reloads itself, unless someone is typing an objection."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import serving, standalone

pytestmark = [pytest.mark.e2e]


def test_a_closed_tenders_opening_page_reloads_itself_without_inline_script(page, tmp_path):
    app, s, clock, make = standalone(tmp_path)
    t, _agency = make.tender(publish=True)
    clock.advance(t.deadline - clock.now() + timedelta(minutes=1))  # past the deadline: closed, not yet opened
    s.close()
    with serving(app) as url:
        loads: list[str] = []
        page.on("load", lambda _p: loads.append("load"))
        resp = page.goto(f"{url}/tenders/{t.id}/opening")
        assert "script-src 'self'" in resp.headers["content-security-policy"]
        assert page.locator("script:not([src])").count() == 0
        page.wait_for_timeout(11_500)
        assert len(loads) >= 2  # reloaded by static/js/opening.js
