"""A bid package is for one tender, one lot and one bidder (its bid.json's ``tender``, ``lot`` and
``bidder.credit_code``).  Sealed on the platform, a package for another is refused before anything is stored
or superseded; sealed by the bidder, the bid page makes the bidder confirm the tender and lot, and the opening
records a package for another tender, lot or bidder as the bidder's failure (电子招标投标办法 art. 31)."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from core import rules as core_rules
from core.db import unit_of_work
from accounts.models import Organisation
from tender import bidpackage, opening, sealing, service
from tender.models import Bid, BidUpload, KeyShare, OpeningKey
from tender.inputs import LotInput
from tests.conftest import PASSWORD
from tests.integration.tender.test_web_sealing import (Body, bid_count, csrf_token, flashes, package_body, post,
                                                stored_files)

pytestmark = pytest.mark.skipif(shutil.which("age") is None, reason="the age tool is not installed")

OTHER_TENDER = "SB-2026-00022"
OTHER_COMPANY = core_rules.make_credit_code("91350200999999999")


def pack(tmp_path: Path, name: str, *, tender: str, lot: int, credit_code: str, bidder_name: str = "某公司",
         price: str = "980000.00") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "投标函.pdf").write_bytes(b"%PDF-1.4 " + name.encode())
    out = tmp_path / f"{name}.zip"
    bidpackage.pack(folder, tender=tender, lot=lot, bidder_name=bidder_name, credit_code=credit_code,
                    price=price, duration_days=180, validity_days=90, output=out)
    return out


@pytest.fixture
def web(csrf_app):
    return csrf_app, csrf_app.test_client(), csrf_app.extensions["sunbid"]


@pytest.fixture
def two_lots(make, session, clock, web):
    """A published tender of two lots and a logged-in bidder who obtained its documents."""
    _app, client, _platform = web
    t, agency = make.tender(publish=True, lots=(LotInput("一标段", Decimal("500000")),
                                                LotInput("二标段", Decimal("500000"))))
    bidder = make.bidder_of(t)
    page = client.get("/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": bidder.name, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return t, agency, bidder, session.get(Organisation, bidder.organisation_id)


def current_bids(session, t) -> list[tuple[int, str]]:
    session.expire_all()
    return sorted((b.lot, b.sha256) for b in session.scalars(select(Bid).where(Bid.tender_id == t.id,
                                                                                Bid.status == "current")))


def submit(client, t, package, *, lot: int, lang: str = "en"):
    body = package_body(csrf_token(client, t.id), package, lot=lot)
    resp = post(client, t.id, body, query_string={"lang": lang})
    return flashes(resp.get_data(as_text=True), "danger"), flashes(resp.get_data(as_text=True), "success")


# ---------------------------------------------------------------- sealed on the platform: refused at once


def test_a_package_for_another_tender_and_company_is_refused_and_the_valid_bid_stays(web, two_lots, session,
                                                                                      settings, tmp_path):
    _app, client, _platform = web
    t, _agency, _bidder, org = two_lots
    good = pack(tmp_path, "good", tender=t.project_code, lot=1, credit_code=org.credit_code, bidder_name=org.name)
    refused, ok = submit(client, t, good, lot=1)
    assert refused == "" and "sealed to the opening key" in ok
    before, files = current_bids(session, t), stored_files(settings.data_dir)
    assert len(before) == 1

    stranger = pack(tmp_path, "stranger", tender=OTHER_TENDER, lot=1, credit_code=OTHER_COMPANY,
                    bidder_name="另一家公司")
    refused, ok = submit(client, t, stranger, lot=1)
    assert ok == "" and "not for this bid" in refused
    assert OTHER_TENDER in refused and OTHER_COMPANY in refused and t.project_code in refused
    assert current_bids(session, t) == before and bid_count(session) == 1  # nothing superseded
    assert stored_files(settings.data_dir) == files  # and no sealed file kept
    refused, _ok = submit(client, t, stranger, lot=1, lang="zh_CN")  # the message in Chinese too
    assert "投标文件包" in refused and OTHER_TENDER in refused
    # only the company is another: refused all the same
    other_company = pack(tmp_path, "company", tender=t.project_code, lot=1, credit_code=OTHER_COMPANY)
    refused, _ok = submit(client, t, other_company, lot=1)
    assert "not for this bid" in refused and current_bids(session, t) == before


def test_a_lot_1_package_submitted_as_lot_2_is_refused(web, two_lots, session, settings, tmp_path):
    _app, client, _platform = web
    t, _agency, _bidder, org = two_lots
    lot2 = pack(tmp_path, "lot2", tender=t.project_code, lot=2, credit_code=org.credit_code)
    lot1 = pack(tmp_path, "lot1", tender=t.project_code, lot=1, credit_code=org.credit_code)
    assert submit(client, t, lot2, lot=2)[0] == ""
    before, files = current_bids(session, t), stored_files(settings.data_dir)
    assert [lot for lot, _ in before] == [2]
    refused, ok = submit(client, t, lot1, lot=2)
    assert ok == "" and "lot 1" in refused and "lot 2" in refused
    assert current_bids(session, t) == before and stored_files(settings.data_dir) == files
    assert submit(client, t, lot1, lot=1)[0] == ""  # where it belongs, it is accepted
    assert [lot for lot, _ in current_bids(session, t)] == [1, 2]


def _zip_streamed(path: Path, members: list[tuple[str, bytes]], method: int) -> None:
    """A ZIP written to a stream that cannot seek, as macOS's and Windows' tools and ``zip -`` write: every
    entry's sizes in a data descriptor after its data."""

    class Unseekable(io.RawIOBase):
        def __init__(self, f):
            self.f = f

        def writable(self):
            return True

        def write(self, b):
            return self.f.write(b)

    with path.open("wb") as f, zipfile.ZipFile(Unseekable(f), "w", method) as zf:
        for name, data in members:
            zf.writestr(name, data)


def test_packages_written_with_data_descriptors_are_read_as_they_pass(web, two_lots, session, tmp_path):
    _app, client, _platform = web
    t, _agency, _bidder, org = two_lots
    made = pack(tmp_path, "src", tender=t.project_code, lot=1, credit_code=org.credit_code)
    with zipfile.ZipFile(made) as zf:
        members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    members = members[1:] + members[:1]  # bid.json last, after the documents
    for method in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        for lot, refused_expected in ((1, False), (2, True)):
            streamed = tmp_path / f"streamed-{method}-{lot}.zip"
            _zip_streamed(streamed, members, method)
            assert bidpackage.validate_package(streamed).lot == 1
            refused, _ok = submit(client, t, streamed, lot=lot)
            assert ("not for this bid" in refused) is refused_expected, refused
    bzip2 = tmp_path / "bzip2.zip"  # bzip2 entries of unknown length before bid.json: the walk cannot go on
    _zip_streamed(bzip2, members, zipfile.ZIP_BZIP2)
    refused, _ok = submit(client, t, bzip2, lot=1)
    assert "cannot find bid.json" in refused
    no_form = tmp_path / "no-form.zip"
    with zipfile.ZipFile(no_form, "w") as zf:
        zf.writestr("投标函.pdf", b"%PDF-1.4")
    assert "no bid.json" in submit(client, t, no_form, lot=1)[0]


# ---------------------------------------------------------------- sealed by the bidder: confirmed on the page


def _sealed(tmp_path: Path, package: Path, recipient: str) -> Path:
    out = package.with_suffix(".age")
    subprocess.run(["age", "-r", recipient, "-o", str(out), str(package)], check=True)
    return out


def test_a_sealed_file_needs_the_tender_code_and_lot_confirmed(web, two_lots, session, settings, tmp_path):
    _app, client, _platform = web
    t, _agency, _bidder, org = two_lots
    package = pack(tmp_path, "p", tender=t.project_code, lot=2, credit_code=org.credit_code)
    sealed_file = _sealed(tmp_path, package, session.get(OpeningKey, t.id).recipient)
    page = client.get(f"/tenders/{t.id}").get_data(as_text=True)
    assert 'name="confirm_tender"' in page and 'name="confirm_lot"' in page
    files = stored_files(settings.data_dir)
    for confirm in (None, ("", 2), (OTHER_TENDER, 2), (t.project_code.lower(), 2), (t.project_code, 1),
                    (t.project_code, "２")):
        parts = [("csrf_token", csrf_token(client, t.id)), ("mode", "sealed"), ("lot", 2)]
        if confirm is not None:
            parts += [("confirm_tender", confirm[0]), ("confirm_lot", confirm[1])]
        resp = post(client, t.id, Body([*parts, ("file", "bid.age", sealed_file)]))
        assert "Confirm what your sealed file is for" in flashes(resp.get_data(as_text=True), "danger"), confirm
    assert bid_count(session) == 0 and stored_files(settings.data_dir) == files
    resp = post(client, t.id, package_body(csrf_token(client, t.id), sealed_file, mode="sealed", lot=2,
                                           confirm=(f" {t.project_code} ", 2)))
    assert "Bid received" in flashes(resp.get_data(as_text=True), "success")
    assert [lot for lot, _ in current_bids(session, t)] == [2]


def test_the_bid_pages_resumable_upload_needs_the_confirmation_too(web, two_lots, session):
    from tests.integration.tender.test_bid_uploads import TUS
    from tests.integration.tender.test_web_uploads import WebTus, page_token

    _app, client, _platform = web
    t, _agency, _bidder, _org = two_lots
    tus = WebTus(client, page_token(client, t.id))
    for resp in (tus.create(t.id, 1000, lot=2, confirm=False),
                 client.post(f"/tenders/{t.id}/uploads?lot=2&confirm_tender={t.project_code}&confirm_lot=1",
                             headers={**tus.csrf, **TUS, "Upload-Length": "1000"})):
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "confirmation_mismatch"
    assert session.scalars(select(BidUpload)).all() == []
    assert tus.create(t.id, 1000, lot=2).status_code == 201


# ---------------------------------------------------------------- sealed by the bidder: checked at the opening


def test_sealed_packages_for_another_tender_or_lot_fail_at_the_opening_as_the_bidders_fault(
        app, client, make, session, clock, tmp_path):
    from core.actor import Actor
    from accounts.models import User

    t, agency = make.tender(publish=True, lots=(LotInput("一标段", Decimal("500000")),
                                                LotInput("二标段", Decimal("500000"))))
    keys = make.custodians()
    recipient = session.get(OpeningKey, t.id).recipient
    cases = []  # (what bid.json says, the lot it is submitted as)
    for i in range(3):
        cases.append((dict(tender=t.project_code, lot=1), 1))  # three valid bids for lot 1
    cases.append((dict(tender=OTHER_TENDER, lot=1, other_company=True), 1))  # another tender and company
    cases.append((dict(tender=t.project_code, lot=1), 2))  # a lot-1 package as lot 2
    sent = []
    for i, (says, lot) in enumerate(cases):
        bidder = make.bidder_of(t)
        org = session.get(Organisation, bidder.organisation_id)
        package = pack(tmp_path, f"b{i}", tender=says["tender"], lot=says["lot"],
                       credit_code=OTHER_COMPANY if says.get("other_company") else org.credit_code,
                       price=f"{980000 + i}.00")
        sealed_file = _sealed(tmp_path, package, recipient)
        auth = make.api_token(bidder)
        resp = client.post(f"/api/v1/tenders/{t.id}/bids?lot={lot}", data=sealed_file.read_bytes(),
                           headers={**auth, "Content-Type": "application/octet-stream"})
        assert resp.status_code == 201, resp.get_json()  # the platform cannot read a sealed file
        sent.append(resp.get_json()["id"])
    clock.set(t.deadline)
    for row in list(session.scalars(select(KeyShare).where(KeyShare.tender_id == t.id)))[:2]:
        user = session.get(User, row.custodian_id)
        with unit_of_work(session):
            opening.submit_share(session, actor=Actor(user.id, user.username, user.role, user.organisation_id,
                                                      "127.0.0.1"), tender_id=t.id,
                                 share=sealing.open_share(row.sealed, identity=keys[user.username]),
                                 now=clock.now())
    with unit_of_work(session):
        results = opening.open_bids(session, actor=agency, tender_id=t.id, now=clock.now(),
                                    blobs=app.extensions["sunbid"].blobs)
    from tender.models import Bid

    public = dict(session.execute(select(Bid.id, Bid.public_id).where(Bid.tender_id == t.id)).all())
    by_bid = {public[r.bid_id]: r for r in results}  # the API names bids by their public id
    assert [by_bid[b].status for b in sent] == ["valid"] * 3 + ["failed"] * 2  # the others keep opening
    for b in sent[3:]:
        assert by_bid[b].reason == "wrong_package" and by_bid[b].failure_kind == "withdrawal_after_deadline"
        assert by_bid[b].price_fen is None
    assert service.status(session.get(type(t), t.id), clock.now()).value == "opened"
    entries = {e.object_id: json.loads(e.payload)
               for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "bid.opened"))}
    assert entries[sent[3]]["declared"]["differs"] == ["tender", "bidder"]
    assert entries[sent[4]]["declared"]["differs"] == ["lot"]
    page = client.get(f"/tenders/{t.id}/opening").get_data(as_text=True)  # in the public opening record
    assert page.count("package for another tender, lot or bidder") == 2
