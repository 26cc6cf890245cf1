"""An agency corrects its draft: lots, dates and documents, over HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from tender.models import Document, Lot, Tender
from tests.conftest import login, pdf_bytes
from tests.integration.tender.test_tender_flow import _local, form_for


def _lots(session, tender_id):
    session.expire_all()
    return [(lot.number, lot.name, lot.estimated_price_fen)
            for lot in session.scalars(select(Lot).where(Lot.tender_id == tender_id).order_by(Lot.number))]


def test_editing_a_draft_changes_its_lots_dates_and_documents(client, make, clock, session):
    make.user("agency", username="agent")
    login(client, "agent")
    data = form_for(clock, estimated_price="", deposit="1", lot_name_1="一标段", lot_price_1="100", lot_name_2="二标段",
                    lot_price_2="200")
    resp = client.post("/agency/tenders/new", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    tender_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    assert _lots(session, tender_id) == [(1, "一标段", 10000), (2, "二标段", 20000)]

    # the same lots renamed and repriced, a third added, the deadline moved
    later = clock.now() + timedelta(days=30)
    edit = dict(data, lot_name_1="一标段（改）", lot_price_1="150", lot_price_2="250", lot_name_3="三标段",
                lot_price_3="50", deadline=_local(later))
    resp = client.post(f"/agency/tenders/{tender_id}/edit", data=edit)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert _lots(session, tender_id) == [(1, "一标段（改）", 15000), (2, "二标段", 25000), (3, "三标段", 5000)]
    t = session.get(Tender, tender_id)
    assert t.deadline == later.replace(second=0, microsecond=0) and t.estimated_price_fen == 45000 and t.version == 2

    # lots removed: back to one lot named after the tender
    edit = {k: v for k, v in edit.items() if not k.startswith("lot_")}
    edit["estimated_price"] = "999"
    resp = client.post(f"/agency/tenders/{tender_id}/edit", data=edit)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert _lots(session, tender_id) == [(1, edit["title"], 99900)]

    # and a saved edit can be edited again, unchanged
    assert client.post(f"/agency/tenders/{tender_id}/edit", data=edit).status_code == 302

    # documents: one added, one removed
    for name in ("a.pdf", "b.pdf"):
        resp = client.post(f"/agency/tenders/{tender_id}/documents",
                           data={"file": (io.BytesIO(pdf_bytes(name)), name)}, content_type="multipart/form-data")
        assert resp.status_code == 302
    docs = session.scalars(select(Document).where(Document.tender_id == tender_id).order_by(Document.id)).all()
    assert [d.filename for d in docs] == ["a.pdf", "b.pdf"]
    resp = client.post(f"/agency/tenders/{tender_id}/documents/{docs[0].id}/delete")
    assert resp.status_code == 302
    session.expire_all()
    assert [d.filename for d in session.scalars(select(Document).where(Document.tender_id == tender_id))] == ["b.pdf"]
