"""Agency staff log in, create and publish a tender in a real browser, and the public finds it in both languages."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, pdf_bytes

pytestmark = pytest.mark.e2e

TITLE = "滨海市东湖区凤凰河综合整治工程（一期）"


def test_agency_publishes_and_public_finds_it(page, live_server, tmp_path, request):
    shot = tmp_path / "failure.png"
    try:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server}/lang/zh_CN")
        page.goto(f"{live_server}/login")
        page.fill("#username", "agent")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector('[data-testid="whoami"]')
        page.goto(f"{live_server}/agency/tenders/new")
        page.fill("#f-title", TITLE)
        page.select_option("#f-category", "works")
        page.fill("#f-region", "东湖区")
        page.fill("#f-estimated_price", "36,800,000")
        page.fill("#f-deposit", "500000")
        page.fill("#f-download_start", "2026-03-02T10:00")
        page.fill("#f-download_end", "2026-03-10T17:00")
        page.fill("#f-deadline", "2026-03-25T09:30")
        page.click('[data-testid="save"]')
        page.wait_for_selector('[data-testid="upload"]')
        doc = tmp_path / "招标文件.pdf"
        doc.write_bytes(pdf_bytes("tender documents"))
        page.set_input_files("input[name=file]", str(doc))
        page.click('[data-testid="upload"]')
        page.wait_for_selector("text=招标文件.pdf")
        page.click('[data-testid="publish"]')
        page.wait_for_selector('.status-badge[data-status="published"]')
        assert "2026-03-25 09:30" in page.inner_text('[data-testid="deadline"]')

        public = page.context.browser.new_context()
        p2 = public.new_page()
        p2.goto(f"{live_server}/tenders?lang=zh_CN")
        assert TITLE in p2.inner_text("main")
        assert "投标中" in p2.inner_text("main")  # "Bidding open" in Chinese
        assert "Bidding open" not in p2.inner_text("main")
        p2.goto(f"{live_server}/lang/en?next=/tenders")
        assert TITLE in p2.inner_text("main")
        assert "Tenders" in p2.inner_text("h1")
        assert "Bidding open" in p2.inner_text("main")
        p2.set_viewport_size({"width": 390, "height": 844})  # a phone
        p2.goto(f"{live_server}/tenders")
        assert p2.is_visible("text=" + TITLE)
        public.close()
    except BaseException:
        page.screenshot(path=str(shot), full_page=True)
        artifacts = request.config.rootpath / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        (artifacts / "browser-journey-failure.png").write_bytes(shot.read_bytes())
        raise
