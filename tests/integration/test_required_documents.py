"""The documents a tender requires in every bid: listed by the agency when it drafts and edits the tender, shown on
the notice page and in the API, recorded in the tender's audit events, replayed; the bid form asks for each."""
from __future__ import annotations

import io

from audit.replay import replay_tender
from audit.service import events_for
from tender.area import AREA as TENDER
from tender.models import Tender
from tests.conftest import login, pdf_bytes
from tests.integration.test_tender_flow import form_for

ROWS = {"req_name_1": "投标函", "req_types_1": "pdf", "req_mb_1": "10",
        "req_name_2": "资格证明文件", "req_types_2": "pdf, zip", "req_mb_2": "50"}


def test_listed_when_drafting_and_editing_shown_recorded_and_replayed(client, make, clock, session):
    make.user("agency", username="agent")
    make.custodians()
    login(client, "agent")
    resp = client.post("/agency/tenders/new", data=form_for(clock, **ROWS))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    tender_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    t = session.get(Tender, tender_id)
    assert t.required_documents == [{"name": "投标函", "types": ["pdf"], "max_mb": 10},
                                    {"name": "资格证明文件", "types": ["pdf", "zip"], "max_mb": 50}]
    form = client.get(f"/agency/tenders/{tender_id}/edit").get_data(as_text=True)
    assert 'value="资格证明文件"' in form and 'value="pdf, zip"' in form  # the edit form shows them again

    edited = {**ROWS, "req_name_2": "技术方案", "req_types_2": "pdf,docx", "req_mb_2": "100"}
    assert client.post(f"/agency/tenders/{tender_id}/edit", data=form_for(clock, **edited)).status_code == 302
    client.post(f"/agency/tenders/{tender_id}/documents", data={"file": (io.BytesIO(pdf_bytes()), "招标文件.pdf")},
                content_type="multipart/form-data")
    client.post(f"/agency/tenders/{tender_id}/publish")
    session.expire_all()
    expected = [{"name": "投标函", "types": ["pdf"], "max_mb": 10},
                {"name": "技术方案", "types": ["pdf", "docx"], "max_mb": 100}]
    assert session.get(Tender, tender_id).required_documents == expected

    anon = client.application.test_client()
    page = anon.get(f"/tenders/{tender_id}").get_data(as_text=True)
    assert "技术方案" in page and "pdf, docx" in page and "资格证明文件" not in page
    assert anon.get(f"/api/v1/tenders/{tender_id}").json["required_documents"] == expected
    payloads = {e.action: e.payload for e in events_for(session, tender_id=tender_id)}
    import json

    def listed(p):
        return (json.loads(p) if isinstance(p, str) else p)["required_documents"]

    assert listed(payloads["tender.updated"]) == listed(payloads["tender.published"]) == [
        ["投标函", ["pdf"], 10], ["技术方案", ["pdf", "docx"], 100]]
    result = replay_tender(session, tender_id, clock.now(), replayers=TENDER.replayers)
    assert result.consistent, result.mismatches
    assert result.replayed["required_documents"] == [["投标函", ["pdf"], 10], ["技术方案", ["pdf", "docx"], 100]]


def test_a_bad_row_is_refused_on_the_form_naming_it(client, make, clock):
    make.user("agency", username="agent")
    login(client, "agent")
    resp = client.post("/agency/tenders/new", data=form_for(clock, req_name_1="投标函", req_types_1="exe",
                                                            req_mb_1="10"))
    assert resp.status_code == 400
    assert "Not a file type a tender can ask for: exe" in resp.get_data(as_text=True)


def test_a_tender_without_them_requires_none_and_its_bid_form_asks_for_none(client, make, session):
    t, _agency = make.tender(publish=True)
    assert t.required_documents == []
    bidder = make.bidder_of(t)
    login(client, bidder.name)
    assert 'data-testid="no-required-documents"' in client.get(f"/tenders/{t.id}").get_data(as_text=True)
    assert 'data-required-doc=' not in client.get(f"/tenders/{t.id}/my-bid").get_data(as_text=True)


def test_the_bid_form_asks_for_each_with_its_types_and_limit(client, make, session):
    from tender.inputs import RequiredDocumentInput

    t, _agency = make.tender(publish=True, required_documents=(RequiredDocumentInput("投标函", ("pdf",), 10),))
    bidder = make.bidder_of(t)
    login(client, bidder.name)
    page = client.get(f"/tenders/{t.id}/my-bid").get_data(as_text=True)
    assert 'data-required-doc="投标函"' in page and 'data-types="pdf"' in page and 'data-max-mb="10"' in page
    assert 'accept=".pdf"' in page
