"""The documents a tender requires in every bid: listed by the agency when it drafts and edits the tender, shown on
the notice page and in the API, recorded in the tender's audit events, replayed; the bid form asks for each."""
from __future__ import annotations

import io

from audit.replay import replay_tender
from audit.service import events_for
from tender.area import AREA as TENDER
from tender.models import Tender
from tests.conftest import login, pdf_bytes
from tests.integration.tender.test_tender_flow import form_for

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


def test_the_opening_record_notes_a_bid_without_a_required_document(client, app, make, session, clock, tmp_path):
    """Sealed, the platform cannot see what a bid holds: at the opening a valid bid without a file for a required
    document stays valid (the evaluation judges it) and the record says which document it lacks."""
    from datetime import timedelta

    import pyrage
    from sqlalchemy import select

    from accounts.models import Organisation, User
    from core.actor import Actor
    from core.db import unit_of_work
    from tender import bidpackage, bids, opening, sealing
    from tender.inputs import RequiredDocumentInput
    from tender.models import Bid, KeyShare, OpeningKey

    required = (RequiredDocumentInput("投标函", ("pdf",), 10), RequiredDocumentInput("技术方案", ("pdf",), 10))
    t, agency = make.tender(publish=True, required_documents=required)
    keys = make.custodians()
    recipient = pyrage.x25519.Recipient.from_str(session.get(OpeningKey, t.id).recipient)
    platform = app.extensions["sunbid"]
    made = {}
    for name, folders in (("complete", ["投标函", "技术方案"]), ("partial", ["投标函"])):
        bidder = make.bidder_of(t)
        org = session.get(Organisation, bidder.organisation_id)
        folder = tmp_path / name
        for sub in folders:
            (folder / sub).mkdir(parents=True)
            (folder / sub / "a.pdf").write_bytes(b"%PDF-1.4 " + sub.encode())
        out = tmp_path / f"{name}.zip"
        bidpackage.pack(folder, tender=t.project_code, lot=1, bidder_name=org.name, credit_code=org.credit_code,
                        price="1000.00", duration_days=30, validity_days=90, output=out)
        stored = bids.store_sealed(io.BytesIO(pyrage.encrypt(out.read_bytes(), [recipient])), blobs=platform.blobs,
                                   limit=10**7)
        with unit_of_work(session):
            made[name] = bids.submit_bid(session, actor=bidder, tender_id=t.id, lot=1, stored=stored,
                                         now=clock.now(), signer=platform.signer).id
    clock.set(t.deadline)
    for row in list(session.scalars(select(KeyShare).where(KeyShare.tender_id == t.id)))[:2]:
        user = session.get(User, row.custodian_id)
        with unit_of_work(session):
            opening.submit_share(session, actor=Actor(user.id, user.username, user.role, user.organisation_id,
                                                      "127.0.0.1"), tender_id=t.id, now=clock.now(),
                                 share=sealing.open_share(row.sealed, identity=keys[user.username]))
    with unit_of_work(session):
        results = {r.bid_id: r for r in opening.open_bids(session, actor=agency, tender_id=t.id, now=clock.now(),
                                                          blobs=platform.blobs)}
    assert results[made["complete"]].status == results[made["partial"]].status == "valid"
    public = {made[k]: session.scalar(select(Bid.public_id).where(Bid.id == made[k])) for k in made}
    opened = {e.object_id: e.payload for e in events_for(session, tender_id=t.id) if e.action == "bid.opened"}
    import json

    def missing(bid_id):
        p = opened[public[bid_id]]
        return (json.loads(p) if isinstance(p, str) else p)["missing_documents"]

    assert missing(made["complete"]) == [] and missing(made["partial"]) == ["技术方案"]
    clock.advance(timedelta(minutes=1))
    page = client.get(f"/tenders/{t.id}/opening").get_data(as_text=True)
    assert page.count('data-testid="missing-documents"') == 1 and "No file for the required: 技术方案" in page
    from core.pdf import pdf_text

    pdf = client.get(f"/tenders/{t.id}/opening.pdf")
    assert pdf.status_code == 200 and "No file for the required: 技术方案" in pdf_text(pdf.data).replace("\n", " ")
