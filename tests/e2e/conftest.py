"""A real Sunbid server on a free local port (own SQLite file and data dir), a seeded demo platform served the
same way, and headless Debian Chromium; phone-width helpers (sign in as a demo user, what sticks out)."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from werkzeug.serving import make_server

from core.actor import Actor
from core.clock import FrozenClock
from core.config import Settings
from core.db import unit_of_work
from tests.conftest import PASSWORD

WIDTH, HEIGHT = 390, 844
"""A phone's viewport in CSS pixels."""
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    from accounts import service
    from sunbid.app import create_app
    from core.migrate import upgrade

    data = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{data / 'live.db'}"
    upgrade(url)
    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    app = create_app(Settings(database_url=url, data_dir=data, testing=True), clock=clock)
    with app.app_context():
        s = app.extensions["sunbid"].sessions()
        with unit_of_work(s):
            from core import rules

            org = service.create_organisation(s, actor=Actor.system(), kind="agency", name="滨海市建设工程招标代理有限公司",
                                              credit_code=rules.make_credit_code("91350200MA2Y00001"), now=clock.now())
            service.create_user(s, actor=Actor.system(), username="agent", display_name="王芳", password=PASSWORD,
                                role="agency", organisation_id=org.id, now=clock.now())
            import pyrage

            from accounts.demo import _actor
            from tender.demo import enrol_custodian

            supervisor = _actor(service.create_user(s, actor=Actor.system(), username="overseer",
                                                    display_name="监督员", password=PASSWORD, role="supervisor",
                                                    organisation_id=service.create_organisation(
                                                        s, actor=Actor.system(), kind="platform", name="监督处",
                                                        now=clock.now()).id, now=clock.now()))
        for i in range(3):  # publication seals the opening key's shares to three custodians of three offices
            with unit_of_work(s):
                office = service.create_organisation(s, actor=Actor.system(), kind="platform",
                                                     name=f"交易中心{i}", now=clock.now())
                u = service.create_user(s, actor=Actor.system(), username=f"keeper{i}", display_name=f"保管人{i}",
                                        password=PASSWORD, role="custodian", organisation_id=office.id,
                                        now=clock.now())
            enrol_custodian(s, custodian=_actor(u), identity=str(pyrage.x25519.Identity.generate()),
                            supervisor=supervisor, now=clock.now())
        s.close()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo platform (``sunbid demo``'s data, its clock frozen) served on a free port: (base URL, the id of
    the tender with the longest title, the app)."""
    from sqlalchemy import select

    from sunbid.app import create_app
    from sunbid.demo import context_for, seed
    from core.migrate import upgrade
    from tender.models import Tender

    data = tmp_path_factory.mktemp("demo")
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
    yield f"http://127.0.0.1:{server.server_port}", tender_id, app
    server.shutdown()


def sign_in(page, base, username):
    """Sign in as a demo user, with the demo's password."""
    from accounts.demo import DEMO_PASSWORD

    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector('[data-testid="whoami"]', state="attached")  # in the collapsed menu


def overflow(page) -> dict:
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


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _no_content_security_policy_violation(request):
    """Every browser test fails if the page broke the Content-Security-Policy (an inline script or handler)."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    yield
    assert not refused, refused
