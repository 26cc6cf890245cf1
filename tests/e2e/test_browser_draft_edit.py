"""Agency staff correct a draft in a real browser: its lots, dates and documents are saved."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, pdf_bytes

pytestmark = pytest.mark.e2e

TITLE = "滨海市西湖区排水管网改造工程"


def test_agency_edits_a_draft(page, live_server, tmp_path, request):
    try:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server}/lang/en")
        page.goto(f"{live_server}/login")
        page.fill("#username", "agent")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector('[data-testid="whoami"]')
        page.goto(f"{live_server}/agency/tenders/new")
        page.fill("#f-title", TITLE)
        page.fill("#f-region", "西湖区")
        page.fill("#f-deposit", "1000")
        page.fill("#f-download_start", "2026-03-02T10:00")
        page.fill("#f-download_end", "2026-03-10T17:00")
        page.fill("#f-deadline", "2026-03-25T09:30")
        page.click("summary:has-text('Lots')")
        page.fill("#f-lot_name_1", "Lot A")
        page.fill("#f-lot_price_1", "300000")
        page.fill("#f-lot_name_2", "Lot B")
        page.fill("#f-lot_price_2", "200000")
        page.click('[data-testid="save"]')
        page.wait_for_selector('[data-testid="upload"]')
        for name in ("first.pdf", "second.pdf"):
            doc = tmp_path / name
            doc.write_bytes(pdf_bytes(name))
            page.set_input_files("input[name=file]", str(doc))
            page.click('[data-testid="upload"]')
            page.wait_for_selector(f"text={name}")

        # the correction: lot A renamed and repriced, a third lot, a later deadline, the first document removed
        page.click("text=Edit draft")
        page.wait_for_selector("#f-lot_name_1")
        assert page.input_value("#f-lot_name_2") == "Lot B"
        page.fill("#f-lot_name_1", "Lot A (roads)")
        page.fill("#f-lot_price_1", "350000")
        page.fill("#f-lot_name_3", "Lot C")
        page.fill("#f-lot_price_3", "50000")
        page.fill("#f-estimated_price", "")
        page.fill("#f-deadline", "2026-03-30T10:00")
        page.click('[data-testid="save"]')
        page.wait_for_selector("text=Draft saved.")
        lots = page.inner_text("main")
        assert "Lot A (roads)" in lots and "Lot B" in lots and "Lot C" in lots
        assert "600,000.00" in lots
        assert "2026-03-30 10:00" in page.inner_text('[data-testid="deadline"]')
        page.locator("#documents li", has_text="first.pdf").locator("button").click()
        page.wait_for_selector("text=second.pdf")
        assert "first.pdf" not in page.inner_text("#documents")

        # what was saved is what the form shows next time
        page.click("text=Edit draft")
        assert page.input_value("#f-lot_name_1") == "Lot A (roads)"
        assert page.input_value("#f-lot_price_3") == "50000.00"
        assert page.input_value("#f-deadline") == "2026-03-30T10:00"
    except BaseException:
        artifacts = request.config.rootpath / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / "draft-edit.png"), full_page=True)
        raise
