"""A bidder uploads a bid package in a real browser; the server seals it, and the real age opens it."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, serving, standalone

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("age") is None, reason="the age tool is not installed")]


@pytest.fixture(scope="module")
def bid_server(tmp_path_factory):
    """A real server with a published tender and a bidder who obtained its documents."""
    from accounts.models import Organisation
    from tender.models import OpeningKey

    app, s, _clock, make = standalone(tmp_path_factory.mktemp("live-bids"))
    t, _agency = make.tender(publish=True)
    bidder = make.bidder_of(t)
    org = s.get(Organisation, bidder.organisation_id)
    facts = dict(tender_id=t.id, project_code=t.project_code, recipient=s.get(OpeningKey, t.id).recipient,
                 org_name=org.name, credit_code=org.credit_code, keys=make.custodians())
    s.close()  # SQLite: no transaction may stay open while the server writes
    with serving(app) as url:
        yield dict(url=url, app=app, bidder=bidder, **facts)


def test_bidder_uploads_a_package_sealed_on_the_server(page, bid_server, tmp_path, request):
    from accounts.models import User
    from tender import bidpackage, sealing
    from tender.models import Bid, KeyShare

    live, tender_id, recipient = bid_server["url"], bid_server["tender_id"], bid_server["recipient"]
    folder = tmp_path / "bid"
    folder.mkdir()
    (folder / "投标函.pdf").write_bytes(b"%PDF-1.4 browser bid")
    package = tmp_path / "bid.zip"
    bidpackage.pack(folder, tender=bid_server["project_code"], lot=1, bidder_name=bid_server["org_name"],
                    credit_code=bid_server["credit_code"], price="1234567.80", duration_days=365, validity_days=90,
                    output=package)
    try:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live}/login")
        page.fill("#username", bid_server["bidder"].name)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector('[data-testid="whoami"]')
        page.goto(f"{live}/tenders/{tender_id}#bid")
        assert page.inner_text('[data-testid="bid-recipient"]') == recipient
        assert page.is_checked("#bid-mode-package")
        page.set_input_files("#bid-file", str(package))
        page.screenshot(path=str(tmp_path / "form.png"), full_page=True)
        page.click('[data-testid="submit-bid"]')
        page.wait_for_selector(".alert-success")
        assert "sealed to the opening key" in page.inner_text(".alert-success")
        assert page.locator('[data-testid="my-bid"]').count() == 1
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.goto(f"{live}/tenders/{tender_id}#bid")
        assert page.is_visible("#bid-mode-sealed") and page.is_visible('[data-testid="submit-bid"]')
    except BaseException:
        artifacts = request.config.rootpath / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / "bid-sealing-failure.png"), full_page=True)
        raise

    platform = bid_server["app"].extensions["sunbid"]
    with platform.sessions() as s:
        bid = s.scalars(select(Bid).where(Bid.tender_id == tender_id)).one()
        keys = bid_server["keys"]
        shares = [sealing.open_share(row.sealed, identity=keys[s.get(User, row.custodian_id).username])
                  for row in s.scalars(select(KeyShare).where(KeyShare.tender_id == tender_id))]
    (tmp_path / "key.txt").write_text(sealing.combine_shares(shares[:2], recipient=recipient) + "\n")
    opened = subprocess.run(["age", "-d", "-i", str(tmp_path / "key.txt"), str(platform.blobs.path(bid.sha256))],
                            check=True, capture_output=True).stdout
    assert opened == package.read_bytes()
