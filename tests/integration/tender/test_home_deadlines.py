"""The home page's "closing soon" panel lists the soonest deadlines; tenders still unopened well after their
deadline are flagged for supervisors and agency staff, on the lists and on the tender page."""
from __future__ import annotations

import re
from datetime import timedelta

from tender import portal, rules
from tests.conftest import login


def _closing_soon(page: str) -> list[str]:
    panel = page.split("Closing soon", 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="/tenders/(\d+)"', panel)


def test_closing_soon_lists_the_soonest_deadlines(client, make, clock):
    agency = make.user("agency")
    made = [make.tender(agency, publish=True, title=f"工程 {i}", deadline=clock.now() + timedelta(days=21 + i))[0]
            for i in range(8)]  # the first published closes first
    clock.advance(timedelta(hours=1))
    closed_early = made[0]
    ids = _closing_soon(client.get("/?lang=en").get_data(as_text=True))
    assert ids == [str(t.id) for t in made[:6]]
    clock.advance(timedelta(days=21, minutes=1))  # the first deadline passed: it leaves the panel
    ids = _closing_soon(client.get("/?lang=en").get_data(as_text=True))
    assert str(closed_early.id) not in ids and ids[0] == str(made[1].id)


def test_tenders_unopened_long_after_the_deadline_are_flagged(client, make, clock, session):
    t, agency = make.tender(publish=True)
    other, _ = make.tender(publish=True)  # another agency's
    supervisor = make.user("supervisor")
    clock.advance(timedelta(days=21, hours=20))  # 20 h past the deadline: not yet flagged
    assert portal.days_unopened(t, clock.now()) is None
    login(client, supervisor.name)
    assert 'data-testid="overdue-openings"' not in client.get("/").get_data(as_text=True)
    clock.advance(timedelta(days=3))
    assert portal.days_unopened(t, clock.now()) == 3
    home = client.get("/?lang=en").get_data(as_text=True)
    panel = home.split('data-testid="overdue-openings"', 1)[1].split("</section>", 1)[0]
    assert f"/tenders/{t.id}" in panel and f"/tenders/{other.id}" in panel and "3 days ago, not opened" in panel
    page = client.get(f"/tenders/{t.id}?lang=zh_CN").get_data(as_text=True)
    assert 'data-testid="unopened"' in page and "3" in page.split('data-testid="unopened"', 1)[1][:200]
    client.post("/logout")
    login(client, agency.name)
    mine = client.get("/agency/tenders?lang=en").get_data(as_text=True)
    assert "Deadline passed 3 days ago, not opened" in mine
    panel = client.get("/").get_data(as_text=True).split('data-testid="overdue-openings"', 1)[1].split("</section>")[0]
    assert f"/tenders/{t.id}" in panel and f"/tenders/{other.id}" not in panel  # only the agency's own
    client.post("/logout")
    assert 'data-testid="overdue-openings"' not in client.get("/").get_data(as_text=True)  # not for the public


def test_days_unopened_rule():
    from datetime import UTC, datetime

    now = datetime(2026, 3, 30, tzinfo=UTC)
    base = rules.TenderFacts(published_at=now - timedelta(days=30), cancelled_at=None, deadline=now - timedelta(days=5),
                             download_start=None, download_end=None, opened_at=None, failed_at=None)
    assert rules.days_unopened_past_deadline(base, now) == 5
    from dataclasses import replace

    assert rules.days_unopened_past_deadline(replace(base, opened_at=now - timedelta(days=4)), now) is None
    assert rules.days_unopened_past_deadline(replace(base, cancelled_at=now - timedelta(days=1)), now) is None
    assert rules.days_unopened_past_deadline(replace(base, deadline=now - timedelta(hours=23)), now) is None
    assert rules.days_unopened_past_deadline(replace(base, deadline=now - timedelta(hours=24)), now) == 1
