"""At a phone's width (390 × 844 CSS pixels) no page scrolls sideways: the main pages of a seeded demo
platform, signed in as the people who use them, in both languages, in headless Chromium."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from core.clock import FrozenClock
from core.config import Settings

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 390, 844


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    from sunbid.app import create_app
    from sunbid.demo import context_for, seed
    from core.migrate import upgrade
    from tender.models import Tender

    data = tmp_path_factory.mktemp("phone")
    url = f"sqlite:///{data / 'demo.db'}"
    upgrade(url)
    clock = FrozenClock(datetime(2026, 11, 22, 2, 0, tzinfo=UTC))
    app = create_app(Settings(database_url=url, data_dir=data, testing=True), clock=clock)
    platform = app.extensions["sunbid"]
    with platform.sessions() as s:
        seed(s, clock.now(), context_for(platform))
        tenders = {t.id: t for t in s.scalars(select(Tender))}
        tender_id = max(tenders, key=lambda i: len(tenders[i].title))  # the longest title
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", tender_id
    server.shutdown()


PAGES = {
    None: ["/", "/tenders", "/tenders/{tender}", "/login"],
    "admin": ["/account", "/admin/users", "/admin/organisations", "/admin/users/{admin}"],
    "supervisor1": ["/audit/log", "/audit/log/1", "/role-requests"],
    "agency1": ["/agency/tenders", "/tenders/{tender}"],
    "custodian1": ["/account", "/custodian/shares"],
    "bidder1": ["/account"],
}


def _sign_in(page, base, username):
    from accounts.demo import DEMO_PASSWORD

    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector('[data-testid="whoami"]', state="attached")  # in the collapsed menu


def _overflow(page) -> dict:
    """The page's scroll width and the elements whose right edge passes the viewport (to say what overflows)."""
    return page.evaluate("""() => {
        const w = document.documentElement.clientWidth;
        const wide = [];
        for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.right > w + 0.5 && !el.closest('.table-responsive')) {
                wide.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '')
                          + ' ' + Math.round(r.right));
            }
        }
        return {scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 8)};
    }""")


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_no_main_page_scrolls_sideways_at_390_pixels(browser, demo_server, lang, request):
    base, tender_id = demo_server
    failures = {}
    for who, paths in PAGES.items():
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        page = context.new_page()
        page.goto(f"{base}/lang/{lang}")
        if who:
            _sign_in(page, base, who)
        admin_id = None
        if who == "admin":
            page.goto(f"{base}/admin/users?q=admin&role=admin")
            admin_id = page.get_attribute('a[href^="/admin/users/"]', "href").rsplit("/", 1)[1]
        for path in paths:
            url = base + path.format(tender=tender_id, admin=admin_id)
            resp = page.goto(url)
            assert resp.status == 200, url
            found = _overflow(page)
            if found["scroll"] > WIDTH:
                failures[f"{who}:{path}"] = found
        if failures:
            artifacts = request.config.rootpath / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / f"phone-width-{lang}-{who}.png"), full_page=True)
        context.close()
    assert not failures, failures
