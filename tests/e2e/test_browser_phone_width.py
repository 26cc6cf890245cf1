"""At a phone's width (390 × 844 CSS pixels) no page scrolls sideways: the main pages of a seeded demo
platform, signed in as the people who use them, in both languages, in headless Chromium."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import HEIGHT, WIDTH, overflow, sign_in

pytestmark = pytest.mark.e2e

PAGES = {
    None: ["/", "/tenders", "/tenders/{tender}", "/login"],
    "admin": ["/account", "/admin/users", "/admin/organisations", "/admin/users/{admin}"],
    "supervisor1": ["/audit/log", "/audit/log/1", "/role-requests"],
    "agency1": ["/agency/tenders", "/tenders/{tender}"],
    "custodian1": ["/account", "/custodian/shares"],
    "bidder1": ["/account"],
}


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_no_main_page_scrolls_sideways_at_390_pixels(browser, demo_server, lang, request):
    base, tender_id, _app = demo_server
    failures = {}
    for who, paths in PAGES.items():
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        page = context.new_page()
        page.goto(f"{base}/lang/{lang}")
        if who:
            sign_in(page, base, who)
        admin_id = None
        if who == "admin":
            page.goto(f"{base}/admin/users?q=admin&role=admin")
            admin_id = page.get_attribute('a[href^="/admin/users/"]', "href").rsplit("/", 1)[1]
        for path in paths:
            url = base + path.format(tender=tender_id, admin=admin_id)
            resp = page.goto(url)
            assert resp.status == 200, url
            found = overflow(page)
            if found["scroll"] > WIDTH:
                failures[f"{who}:{path}"] = found
        if failures:
            artifacts = request.config.rootpath / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / f"phone-width-{lang}-{who}.png"), full_page=True)
        context.close()
    assert not failures, failures
