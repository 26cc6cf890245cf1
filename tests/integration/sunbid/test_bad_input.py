"""Bad input gets a clear answer and loses nothing."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tender.models import Document, Tender
from tests.conftest import login, pdf_bytes
from tests.integration.tender.test_tender_flow import form_for


def _tender_count(session):
    return session.scalar(select(func.count()).select_from(Tender))


@pytest.mark.parametrize("field,value,fragment", [
    ("deposit", "400000", "2 %"),                       # over 2 % of 12,345,678.90
    ("estimated_price", "-5", "negative"),
    ("estimated_price", "abc", "number"),
    ("deposit", "12.345", "decimal"),
    ("download_start", "2026-13-40T99:99", "valid date"),
    ("title", "", "required"),
])
def test_tender_form_refusals_keep_what_was_typed(client, make, clock, session, field, value, fragment):
    make.user("agency", username="agent")
    login(client, "agent")
    data = form_for(clock, **{field: value})
    resp = client.post("/agency/tenders/new", data=data)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert fragment.lower() in body.lower(), body[:3000]
    assert "滨江路道路改造工程施工" in body or field == "title"  # nothing typed is lost
    assert _tender_count(session) == 0


def test_past_and_too_early_deadline_refused_at_publication(client, make, clock, session):
    t, agency = make.tender(deadline=clock.now() + timedelta(days=19, hours=23))
    login(client, agency.name)
    body = client.post(f"/agency/tenders/{t.id}/publish", follow_redirects=True).get_data(as_text=True)
    assert "art. 24" in body
    t2, _ = make.tender(agency, download_start=clock.now() - timedelta(days=30),
                        download_end=clock.now() - timedelta(days=20), deadline=clock.now() - timedelta(days=1))
    body = client.post(f"/agency/tenders/{t2.id}/publish", follow_redirects=True).get_data(as_text=True)
    assert "past" in body.lower()
    session.expire_all()
    assert session.get(Tender, t.id).published_at is None and session.get(Tender, t2.id).published_at is None


def test_wrong_type_and_empty_uploads_are_refused_and_leave_nothing(client, make, app, session):
    t, agency = make.tender(documents=0)
    login(client, agency.name)
    blobs_dir = app.extensions["sunbid"].blobs.root
    before = sorted(p.name for p in blobs_dir.rglob("*") if p.is_file()) if blobs_dir.exists() else []
    for name, content in [("evil.exe", b"MZ\x90\x00"), ("fake.pdf", b"<html>not a pdf"), ("empty.pdf", b"")]:
        resp = client.post(f"/agency/tenders/{t.id}/documents", data={"file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data", follow_redirects=True)
        assert resp.status_code == 200
        assert "alert-danger" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Document)) == 0
    after = sorted(p.name for p in blobs_dir.rglob("*") if p.is_file()) if blobs_dir.exists() else []
    assert after == before


def test_oversize_upload_is_413_and_leaves_nothing(client, make, app, session):
    t, agency = make.tender(documents=0)
    login(client, agency.name)
    big = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)  # the test app's limit is 2 MB
    resp = client.post(f"/agency/tenders/{t.id}/documents", data={"file": (io.BytesIO(big), "big.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 413
    assert "MB" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Document)) == 0
    # just under the request limit but over the file limit: refused by the streaming blob store
    medium = b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024 + 10)
    resp = client.post(f"/agency/tenders/{t.id}/documents", data={"file": (io.BytesIO(medium), "m.pdf")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "larger than the limit" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Document)) == 0
    tmp = app.extensions["sunbid"].blobs.tmp
    assert not tmp.exists() or not any(tmp.iterdir())


SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_html_in_every_text_field_is_escaped(client, make, clock, session):
    make.user("agency", username="agent")
    make.custodians()  # publication seals the opening key's shares to them
    login(client, "agent")
    data = form_for(clock, title=SCRIPT, region=SCRIPT, description=SCRIPT, qualification=SCRIPT,
                    lot_name_1=SCRIPT, lot_price_1="12345678.90")
    resp = client.post("/agency/tenders/new", data=data)
    assert resp.status_code == 302
    tid = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    client.post(f"/agency/tenders/{tid}/documents", data={"file": (io.BytesIO(pdf_bytes()), "<img src=x onerror=alert(1)>招标.pdf")},
                content_type="multipart/form-data")
    client.post(f"/agency/tenders/{tid}/publish")
    for url in (f"/tenders/{tid}", "/tenders", "/", "/agency/tenders"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body, url
        assert "&lt;script&gt;" in body, url
    feed = client.get("/tenders/feed.atom").get_data(as_text=True)
    assert "<script>" not in feed


def test_other_organisations_objects_are_404(client, make, clock):
    t, owner = make.tender()
    published, _ = make.tender(owner, publish=True)
    intruder = make.user("agency")
    login(client, intruder.name)
    assert client.get(f"/tenders/{t.id}").status_code == 404  # someone else's draft: no existence leak
    assert client.get(f"/agency/tenders/{t.id}/edit").status_code == 404
    assert client.post(f"/agency/tenders/{t.id}/publish").status_code == 404
    assert client.post(f"/agency/tenders/{published.id}/cancel", data={"reason": "x"}).status_code == 404
    assert client.post(f"/agency/tenders/{published.id}/amend", data={"text": "x"}).status_code == 404
    assert client.get("/tenders/999999").status_code == 404
    assert client.get("/api/v1/tenders/999999").json["error"]["code"] == "not_found"


def test_missing_csrf_token_is_refused(csrf_app, make):
    make.user("agency", username="agent")
    c = csrf_app.test_client()
    resp = c.post("/login", data={"username": "agent", "password": "Correct-Horse-42"})
    assert resp.status_code == 400
    assert "security token" in resp.get_data(as_text=True)


def test_bad_values_on_the_api_are_4xx_json(client):
    for query, name in [("page=-3", "page"), ("page=abc", "page"), ("per_page=100000", "per_page"),
                        ("page=%C2%B2", "page"), ("page=99999999999999999999", "page"), ("per_page=0", "per_page")]:
        resp = client.get(f"/api/v1/tenders?{query}")
        assert resp.status_code == 400 and resp.json["error"]["code"] == "invalid_number", query
        assert resp.json["error"]["field"] == name and name in resp.json["error"]["message"]
    assert client.get("/api/v1/tenders?page=2&per_page=100").status_code == 200
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found"
    assert client.post("/api/v1/tenders").status_code == 405


def _alerts(body: str) -> str:
    import re

    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)<', body, re.S))


def test_times_in_refusals_are_in_the_platform_zone(client, make, clock, session):
    """A refusal that names a time writes it as every page does, in Asia/Shanghai, in both languages."""
    t, agency = make.tender(deadline=clock.now() + timedelta(days=19))  # 20 days are needed
    login(client, agency.name)
    earliest = "2026-03-22 10:00"  # 20 days after the documents' 2026-03-02 02:00 UTC, read in Beijing time
    for lang in ("en", "zh_CN"):
        alerts = _alerts(client.post(f"/agency/tenders/{t.id}/publish?lang={lang}",
                                     follow_redirects=True).get_data(as_text=True))
        assert earliest in alerts and "UTC" not in alerts, alerts
    assert "招标投标法" in alerts
