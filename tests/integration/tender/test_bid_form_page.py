"""The bidder's page of a tender (``/tenders/<id>/my-bid``): the bid form packed and sealed in the browser, what
it is given (the tender's code, the lot, the bidder's company, the opening key to seal to), the bidder's own bids
only, and withdrawal from it."""
from __future__ import annotations

import io
import re

from sqlalchemy import select

from core.db import unit_of_work
from core.static_assets import static_integrity
from tender import bids
from tender.models import Bid, OpeningKey
from tests.conftest import login


def _bid(session, app, clock, t, who) -> Bid:
    """A bid of ``who``: a few bytes sealed with age to the tender's opening key."""
    import pyrage

    blobs = app.extensions["sunbid"].blobs
    recipient = pyrage.x25519.Recipient.from_str(session.get(OpeningKey, t.id).recipient)
    sealed = pyrage.encrypt(b"a bid", [recipient])
    stored = bids.store_sealed(io.BytesIO(sealed), blobs=blobs, limit=10**7)
    with unit_of_work(session):
        return bids.submit_bid(session, actor=who, tender_id=t.id, lot=1, stored=stored, now=clock.now(),
                               signer=app.extensions["sunbid"].signer)


def test_the_page_gives_the_form_what_it_packs_and_seals_to(client, make, session, app, clock):
    t, _agency = make.tender(publish=True)
    bidder, other = make.bidder_of(t), make.bidder_of(t)
    from accounts.models import Organisation

    org = session.get(Organisation, bidder.organisation_id)
    mine, theirs = _bid(session, app, clock, t, bidder), _bid(session, app, clock, t, other)
    login(client, bidder.name)
    page = client.get(f"/tenders/{t.id}/my-bid").get_data(as_text=True)
    assert f'data-tender="{t.project_code}"' in page and f'data-credit-code="{org.credit_code}"' in page
    assert session.get(OpeningKey, t.id).recipient in page  # data-recipients
    assert static_integrity("vendor/age-encryption/age.min.js") in page
    assert "never receives your unsealed bid" in page
    assert page.count('data-testid="own-bid"') == 1 and mine.sha256[:16] in page and theirs.sha256[:16] not in page
    assert re.search(r'<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>', page) is None  # no inline script

    # withdrawn from this page, back to it
    resp = client.post(f"/bids/{mine.public_id}/withdraw", data={"back": "form"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/tenders/{t.id}/my-bid#my-bids")
    session.expire_all()
    assert session.scalar(select(Bid.status).where(Bid.id == mine.id)) == "withdrawn"


def test_a_draft_or_unknown_lot_is_not_a_bid_form(client, make, session):
    draft, _agency = make.tender()
    t, _agency2 = make.tender(publish=True)
    bidder = make.bidder_of(t)
    login(client, bidder.name)
    assert client.get(f"/tenders/{draft.id}/my-bid").status_code == 404
    assert client.get(f"/tenders/{t.id}/my-bid?lot=7").status_code == 400
    assert client.get(f"/tenders/{t.id}/my-bid?lot=x").status_code == 400
    page = client.get(f"/tenders/{t.id}/my-bid?lang=zh_CN").get_data(as_text=True)
    assert "在浏览器中加密并提交" in page


def test_the_desk_and_the_tender_page_link_to_it(client, make, session, app, clock):
    t, _agency = make.tender(publish=True)
    bidder = make.bidder_of(t)
    login(client, bidder.name)
    assert f"/tenders/{t.id}/my-bid" in client.get(f"/tenders/{t.id}").get_data(as_text=True)
    assert f"/tenders/{t.id}/my-bid" in client.get("/desk").get_data(as_text=True)
