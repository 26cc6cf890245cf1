"""Tender publication end to end through HTTP and services, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import func, select

from audit.models import AuditEntry
from audit.service import events_for, verify
from tender import portal, service
from tender.models import Download, Tender
from tests.conftest import login, pdf_bytes


def _local(dt):
    from zoneinfo import ZoneInfo

    return dt.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def form_for(clock, **overrides):
    now = clock.now()
    data = {"title": "滨海市东湖区滨江路道路改造工程施工", "regime": "works", "category": "works", "region": "东湖区",
            "estimated_price": "12,345,678.90", "deposit": "200000", "min_bids": "3",
            "download_start": _local(now + timedelta(hours=1)), "download_end": _local(now + timedelta(days=7)),
            "deadline": _local(now + timedelta(days=21)), "description": "道路改造", "qualification": "市政二级"}
    data.update(overrides)
    return data


def test_agency_creates_uploads_publishes_and_public_sees_it(client, make, clock, session):
    agency = make.user("agency", username="agent")
    make.custodians()  # publication seals the opening key's shares to them
    login(client, "agent")
    resp = client.post("/agency/tenders/new", data=form_for(clock))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    tender_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    # a draft is invisible to the public
    anon = client.application.test_client()
    assert anon.get(f"/tenders/{tender_id}").status_code == 404
    assert anon.get(f"/api/v1/tenders/{tender_id}").status_code == 404
    # publishing without documents is refused with a clear message
    resp = client.post(f"/agency/tenders/{tender_id}/publish", follow_redirects=True)
    assert "Upload the tender documents" in resp.get_data(as_text=True)
    resp = client.post(f"/agency/tenders/{tender_id}/documents",
                       data={"file": (io.BytesIO(pdf_bytes()), "招标文件.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    client.post(f"/agency/tenders/{tender_id}/publish")
    t = session.get(Tender, tender_id)
    session.refresh(t)
    assert t.published_at == clock.now()
    assert t.estimated_price_fen == 1234567890 and t.deposit_fen == 20000000
    page = anon.get(f"/tenders/{tender_id}?lang=zh_CN").get_data(as_text=True)
    assert "滨江路道路改造工程施工" in page and "¥12,345,678.90" in page
    listing = anon.get("/api/v1/tenders?status=published").json
    assert [x["id"] for x in listing["items"]] == [tender_id]
    assert listing["items"][0]["estimated_price"] == "12345678.90"
    actions = [e.action for e in events_for(session, tender_id=tender_id)]
    assert actions == ["tender.created", "document.added", "tender.published"]
    assert verify(session) == session.scalar(select(func.count()).select_from(AuditEntry))


def test_published_twice_gives_one_publication(client, make, clock, session):
    t, agency = make.tender()
    login(client, agency.name)
    client.post(f"/agency/tenders/{t.id}/publish")
    clock.advance(timedelta(seconds=1))
    resp = client.post(f"/agency/tenders/{t.id}/publish", follow_redirects=True)
    assert "already" in resp.get_data(as_text=True).lower()
    published = [e for e in events_for(session, tender_id=t.id) if e.action == "tender.published"]
    assert len(published) == 1


def test_lifecycle_follows_the_clock(make, clock, session):
    t, agency = make.tender(publish=True)
    assert service.status(t, clock.now()).value == "published"
    clock.set(t.deadline - timedelta(microseconds=1))
    assert service.status(t, clock.now()).value == "published"
    clock.set(t.deadline)
    assert service.status(t, clock.now()).value == "closed"  # closed at the deadline instant, no timer ran
    page = portal.search_public(session, now=clock.now(), status_filter="closed")
    assert [x.id for x in page.items] == [t.id]


def test_amendment_close_to_deadline_moves_it(client, make, clock, session):
    t, agency = make.tender(publish=True)
    old = t.deadline
    clock.set(old - timedelta(days=10))
    login(client, agency.name)
    client.post(f"/agency/tenders/{t.id}/amend", data={"text": "更正：工程量清单第3项"})
    session.expire_all()
    t = session.get(Tender, t.id)
    assert t.deadline == clock.now() + timedelta(days=15)  # 招标投标法 art. 23
    assert t.amendments[0].old_deadline == old and t.amendments[0].new_deadline == t.deadline


def test_download_recorded_and_names_hidden_from_agency_until_deadline(client, make, clock, session):
    t, agency = make.tender(publish=True)
    bidder = make.user("bidder")
    clock.advance(timedelta(hours=2))
    bc = client.application.test_client()
    login(bc, bidder.name)
    resp = bc.get(f"/tenders/{t.id}/documents/{t.documents[0].id}")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF-")
    assert session.scalar(select(func.count()).select_from(Download)) == 1
    bidder_org = session.get(__import__("accounts.models", fromlist=["Organisation"]).Organisation,
                             bidder.organisation_id).name
    ac = client.application.test_client()
    login(ac, agency.name)
    page = ac.get(f"/tenders/{t.id}").get_data(as_text=True)
    assert "Bidders who obtained the documents: 1" in page and bidder_org not in page
    clock.set(t.deadline)
    page = ac.get(f"/tenders/{t.id}").get_data(as_text=True)
    assert bidder_org in page  # after the deadline the agency sees who downloaded


def test_download_requires_login_but_no_signup(client, make, clock):
    t, _ = make.tender(publish=True)
    clock.advance(timedelta(hours=2))
    assert client.get(f"/tenders/{t.id}/documents/{t.documents[0].id}").status_code == 302  # to login
    other_bidder = make.user("bidder")
    login(client, other_bidder.name)
    assert client.get(f"/tenders/{t.id}/documents/{t.documents[0].id}").status_code == 200


def test_question_asker_hidden_answer_public(client, make, clock, session):
    t, agency = make.tender(publish=True)
    bidder = make.user("bidder")
    bc = client.application.test_client()
    login(bc, bidder.name)
    bc.post(f"/tenders/{t.id}/questions", data={"text": "是否允许联合体投标？"})
    ac = client.application.test_client()
    login(ac, agency.name)
    page = ac.get(f"/tenders/{t.id}").get_data(as_text=True)
    assert "是否允许联合体投标？" in page and bidder.name not in page
    qid = t.questions[0].id if t.questions else session.scalar(
        select(__import__("tender.models", fromlist=["Question"]).Question.id))
    ac.post(f"/agency/tenders/{t.id}/questions/{qid}/answer", data={"answer": "不允许。"})
    public = client.application.test_client().get(f"/api/v1/tenders/{t.id}").json
    assert public["questions"][0]["answer"] == "不允许。"
    assert set(public["questions"][0]) == {"id", "text", "asked_at", "answer", "answered_at"}  # no asker


def test_cancel_needs_a_reason_and_shows(client, make, session):
    t, agency = make.tender(publish=True)
    login(client, agency.name)
    resp = client.post(f"/agency/tenders/{t.id}/cancel", data={"reason": ""}, follow_redirects=True)
    assert "reason" in resp.get_data(as_text=True).lower()
    client.post(f"/agency/tenders/{t.id}/cancel", data={"reason": "预算调整"})
    page = client.application.test_client().get(f"/tenders/{t.id}").get_data(as_text=True)
    assert "预算调整" in page


def test_public_list_filters_pagination_and_feed(client, make, clock):
    agency = make.user("agency")
    for i in range(23):
        make.tender(agency, publish=True, title=f"项目{i:02d}", category=("works", "goods", "services")[i % 3],
                    region="西山区" if i % 2 else "东湖区")
    page1 = client.get("/api/v1/tenders?per_page=10").json
    assert page1["total"] == 23 and page1["pages"] == 3 and len(page1["items"]) == 10
    goods = client.get("/api/v1/tenders?category=goods&region=西山区").json
    assert goods["total"] == len([i for i in range(23) if i % 3 == 1 and i % 2])
    assert client.get("/api/v1/tenders?q=项目07").json["total"] == 1
    html = client.get("/tenders?page=2").get_data(as_text=True)  # 20 a page
    assert html.count('data-testid="tender-card"') == 3
    feed = client.get("/tenders/feed.atom")
    assert feed.mimetype == "application/atom+xml" and feed.data.count(b"<entry>") == 23
    import xml.dom.minidom

    xml.dom.minidom.parseString(feed.data)  # well-formed


def test_rule_settings_per_tender_and_departures_shown(client, make, clock, session):
    make.user("agency", username="agent")
    make.custodians()  # publication seals the opening key's shares to them
    login(client, "agent")
    now = clock.now()
    data = form_for(clock, min_issue_days="10", min_bids="2",
                    deadline=_local(now + timedelta(days=12)))  # legal only because of the setting
    resp = client.post("/agency/tenders/new", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    tid = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    client.post(f"/agency/tenders/{tid}/documents", data={"file": (io.BytesIO(pdf_bytes()), "a.pdf")},
                content_type="multipart/form-data")
    client.post(f"/agency/tenders/{tid}/publish")
    public = client.application.test_client().get(f"/api/v1/tenders/{tid}").json
    assert public["status"] == "published"
    assert public["rules"]["min_issue_days"] == 10 and public["rules"]["min_bids"] == 2
    assert public["rules"]["departures_from_defaults"] == ["min_issue_days", "min_bids"]
    page = client.application.test_client().get(f"/tenders/{tid}?lang=en").get_data(as_text=True)
    assert 'data-testid="departures"' in page and "minimum number of bids" in page
    published = [e for e in events_for(session, tender_id=tid) if e.action == "tender.published"][0]
    assert '"departures_from_defaults": ["min_issue_days", "min_bids"]' in published.payload
    bad = client.post("/agency/tenders/new", data=form_for(clock, min_bids="zero"))
    assert bad.status_code == 400 and "number" in bad.get_data(as_text=True).lower()
