"""Every role's desk in headless Chromium at a phone's width (390 × 844), in both languages, on the demo
platform: signing in lands there, the panels show, nothing scrolls sideways, the menu leads back to it and the
page breaks no Content-Security-Policy rule.  Each desk is kept as a screenshot (test-artifacts/desk/, and
docs/screenshots/desk-<role>-<lang>.png for the user guide when SUNBID_SCREENSHOTS=docs)."""
from __future__ import annotations

import os

import pytest

from tests.e2e.conftest import HEIGHT, WIDTH, overflow, sign_in

pytestmark = pytest.mark.e2e

TALLEST = 1400
"""A screenshot keeps at most this many pixels of the page's height (the top of the desk)."""


def people(app) -> dict[str, str]:
    """One demo user per role; the bidder whose company has an opening result and the most bids."""
    from sqlalchemy import func, select

    from accounts.models import User
    from core.roles import Role
    from tender.models import Bid, OpeningResult

    with app.extensions["sunbid"].sessions() as s:
        opened = select(Bid.organisation_id).join(OpeningResult, OpeningResult.bid_id == Bid.id)
        busiest = s.scalar(select(Bid.organisation_id).where(Bid.organisation_id.in_(opened))
                           .group_by(Bid.organisation_id).order_by(func.count().desc(), Bid.organisation_id)
                           .limit(1))
        bidder = s.scalar(select(User.username).where(User.organisation_id == busiest, User.role == Role.BIDDER)
                          .order_by(User.id).limit(1))
    return {"bidder": bidder, "agency": "agency1", "custodian": "custodian1", "supervisor": "supervisor1",
            "expert": "expert001", "admin": "admin"}


def keep(request, shot: bytes, name: str) -> None:
    """A small PNG of the screenshot (its top ``TALLEST`` pixels, 128 colours) in test-artifacts/desk/ and, when
    asked, in docs/screenshots/."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(shot))
    image = image.crop((0, 0, image.width, min(image.height, TALLEST))).convert("RGB")
    small = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    targets = [request.config.rootpath / "test-artifacts" / "desk"]
    if os.environ.get("SUNBID_SCREENSHOTS") == "docs":
        targets.append(request.config.rootpath / "docs" / "screenshots")
    for folder in targets:
        folder.mkdir(parents=True, exist_ok=True)
        small.save(folder / name, optimize=True)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_role_finds_its_desk_at_390_pixels(browser, demo_server, lang, request):
    base, _tender_id, app = demo_server
    failures = {}
    for role, username in people(app).items():
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        page = context.new_page()
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{base}/lang/{lang}")
        sign_in(page, base, username)
        assert page.url == f"{base}/desk", (role, page.url)
        assert page.locator('[data-testid="panel"]').count() >= 1, role
        heading = page.inner_text("main h1")
        assert heading == ("我的工作台" if lang == "zh_CN" else "My desk"), (role, heading)
        found = overflow(page)
        if found["scroll"] > WIDTH:
            failures[role] = found
        keep(request, page.screenshot(full_page=True), f"desk-{role}-{lang}.png")
        page.goto(f"{base}/tenders")
        page.click(".navbar-toggler")
        page.click('nav a[href="/desk"]')
        page.wait_for_url(f"{base}/desk")
        assert not refused, (role, refused)
        context.close()
    assert not failures, failures
