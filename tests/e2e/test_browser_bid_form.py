"""A bidder with only a browser bids: the bid form packs the bid, seals it on the bidder's own machine and sends
the sealed file in resumable pieces; the opening then reads the bid with its price.  The sealed file opens with
the real ``age -d`` and holds the package ``sunbid bid pack`` makes from the same inputs.  Bad input is refused
before sealing, the deadline passing while the page is open is refused cleanly, a broken connection resumes,
two tabs end with one current bid, and a browser without the needed APIs is pointed to the fallback."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import zipfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import unit_of_work
from tests.conftest import PASSWORD, ROOT, serving, standalone

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("age") is None, reason="the age tool is not installed")]

CHUNK = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real server with a published tender (its documents obtained by the bidders made with ``make``)."""
    yield from _serve(tmp_path_factory.mktemp("live-bid-form"))


@pytest.fixture(scope="module")
def opening_server(tmp_path_factory):
    """Another, for the test that opens its tender."""
    yield from _serve(tmp_path_factory.mktemp("live-bid-form-opening"))


def _serve(data_dir):
    from tender.models import OpeningKey

    app, s, clock, make = standalone(data_dir)
    t, agency = make.tender(publish=True, **_required())
    keys = make.custodians()
    facts = dict(tender_id=t.id, project_code=t.project_code, recipient=s.get(OpeningKey, t.id).recipient,
                 deadline=t.deadline)
    with serving(app) as url:
        yield dict(url=url, app=app, session=s, clock=clock, make=make, agency=agency, keys=keys, **facts)


def _required() -> dict:
    """The tender's required documents: a bid letter (pdf, 1 MB) and a technical proposal (pdf or docx, 2 MB)."""
    from tender.inputs import RequiredDocumentInput

    return {"required_documents": (RequiredDocumentInput("投标函", ("pdf",), 1),
                                   RequiredDocumentInput("技术方案", ("pdf", "docx"), 2))}


def _bidder(server):
    """A new bidder who obtained the documents (the server's session closed again: SQLite's write lock)."""
    from accounts.models import Organisation

    s = server["session"]
    t = s.get(__import__("tender.models", fromlist=["Tender"]).Tender, server["tender_id"])
    bidder = server["make"].bidder_of(t)
    org = s.get(Organisation, bidder.organisation_id)
    out = dict(actor=bidder, name=org.name, credit_code=org.credit_code)
    s.close()
    return out


def log_in(page, live: str, username: str) -> None:
    page.goto(f"{live}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector('[data-testid="whoami"]', state="attached")


def bid_files(root: Path) -> dict[str, Path]:
    """The bidder's files: {name in the package: path}; required documents in a folder named after them."""
    files = {"投标函/投标函.pdf": b"%PDF-1.4 bid letter\n" * 50, "技术方案/施工方案.pdf": os.urandom(200_000),
             "报价明细.xlsx": os.urandom(30_000), "资质/营业执照.jpg": os.urandom(50_000)}
    out = {}
    for name, content in files.items():
        path = root / "chosen" / name.replace("/", "_")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        out[name] = path
    return out


def fill_form(page, server, files: dict[str, Path], *, price="1234567.80", duration="365",
              validity="90") -> dict[str, Path]:
    """The bid form filled in, each file of ``files`` under a required document named as its folder, the others
    as other files; returns {name in the package the page builds: path}."""
    page.goto(f"{server['url']}/tenders/{server['tender_id']}/my-bid")
    page.wait_for_selector('[data-testid="browser-bid-form"]')
    page.eval_on_selector("#bid-browser-form", "(f, size) => { f.dataset.chunkSize = size; }", str(CHUNK))
    page.fill("#bid-price", price)
    page.fill("#bid-duration", duration)
    page.fill("#bid-validity", validity)
    required = page.locator('[data-testid="required-doc"]')
    others, packaged = dict(files), {}
    for i in range(required.count()):
        name = required.nth(i).get_attribute("data-required-doc")
        chosen = [n for n in others if n.startswith(name + "/")]
        if chosen:
            path = others.pop(chosen[0])
            required.nth(i).set_input_files(str(path))
            packaged[f"{name}/{path.name}"] = path
    page.set_input_files("#bid-other", [str(p) for p in others.values()])
    packaged.update({p.name: p for p in others.values()})
    return packaged


def receipt(page, timeout=120_000) -> dict:
    page.wait_for_selector('[data-testid="browser-receipt"]:not([hidden]), [data-testid="form-error"]:not([hidden])',
                           timeout=timeout)
    assert page.is_hidden('[data-testid="form-error"]'), page.inner_text('[data-testid="form-error"]')
    box = page.locator('[data-testid="browser-receipt"]')
    return dict(bid=box.get_attribute("data-bid-id"), text=box.inner_text(),
                package=box.locator('[data-field="package"]').inner_text(),
                sealed=box.locator('[data-field="sealed"]').inner_text())


def save(page, field: str, target: Path) -> bytes:
    with page.expect_download() as info:
        page.click(f'[data-testid="browser-receipt"] [data-field="{field}"]')
    info.value.save_as(str(target))
    return target.read_bytes()


def python_pack(server, bidder, files: dict[str, Path], folder: Path, output: Path, price="1234567.80") -> None:
    """``sunbid bid pack`` on a folder holding the same files under the same names."""
    from tender import bidpackage

    for name, path in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / name)
    bidpackage.pack(folder, tender=server["project_code"], lot=1, bidder_name=bidder["name"],
                    credit_code=bidder["credit_code"], price=price, duration_days=365, validity_days=90,
                    output=output)


def members(data: bytes) -> list[tuple]:
    with zipfile.ZipFile(io.BytesIO(data), metadata_encoding="utf-8") as zf:
        return [(i.filename, i.compress_type, i.date_time, i.create_system, i.create_version, i.extract_version,
                 i.flag_bits, i.external_attr, i.CRC, i.file_size, zf.read(i)) for i in zf.infolist()]


def opening_key(server, tmp_path: Path) -> Path:
    """The tender's opening identity rebuilt from two custodians' shares, as a key file for ``age -d``."""
    from accounts.models import User
    from tender import sealing
    from tender.models import KeyShare

    with server["app"].extensions["sunbid"].sessions() as s:
        shares = [sealing.open_share(row.sealed, identity=server["keys"][s.get(User, row.custodian_id).username])
                  for row in s.scalars(select(KeyShare).where(KeyShare.tender_id == server["tender_id"]))]
    path = tmp_path / "key.txt"
    path.write_text(sealing.combine_shares(shares[:2], recipient=server["recipient"]) + "\n")
    return path


def keep_screenshot(page, request, name: str) -> None:
    artifacts = request.config.rootpath / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / name), full_page=True)


def docs_screenshot(page, name: str) -> None:
    if os.environ.get("SUNBID_SCREENSHOTS") == "docs":
        page.screenshot(path=str(ROOT / "docs" / "screenshots" / name), full_page=True)


# ---------------------------------------------------------------- the bid, in the browser alone

def test_a_bidder_bids_with_the_browser_alone_and_age_opens_it(page, server, tmp_path, request):
    from jsonschema import Draft202012Validator

    from tender import bidpackage
    from tender.models import Bid

    bidder = _bidder(server)
    files = bid_files(tmp_path)
    try:
        page.set_viewport_size({"width": 1280, "height": 900})
        log_in(page, server["url"], bidder["actor"].name)
        page.goto(f"{server['url']}/tenders/{server['tender_id']}")
        page.click('[data-testid="browser-bid-link"] a')  # from the tender page
        page.wait_for_selector('[data-testid="browser-bid-form"]')
        assert page.inner_text('[data-testid="form-tender"]') == server["project_code"]
        assert page.inner_text('[data-testid="form-bidder"]') == bidder["name"]
        assert "never receives" in page.inner_text('[data-testid="no-plaintext"]')
        packaged = fill_form(page, server, files)
        assert page.inner_text('[data-testid="capital"]') == "人民币 壹佰贰拾叁万肆仟伍佰陆拾柒元捌角整"
        docs_screenshot(page, "bid-form.png")
        page.click('[data-testid="seal-and-submit"]')
        got = receipt(page)
        docs_screenshot(page, "bid-form-receipt.png")
        package = save(page, "save-package", tmp_path / "browser.zip")
        sealed = save(page, "save-sealed", tmp_path / "browser.age")
    except BaseException:
        keep_screenshot(page, request, "bid-form-failure.png")
        raise

    assert got["package"] == hashlib.sha256(package).hexdigest()
    assert got["sealed"] == hashlib.sha256(sealed).hexdigest()
    platform = server["app"].extensions["sunbid"]
    with platform.sessions() as s:
        bid = s.scalars(select(Bid).where(Bid.tender_id == server["tender_id"],
                                          Bid.organisation_id == bidder["actor"].organisation_id)).one()
        assert (bid.public_id, bid.status, bid.sha256) == (got["bid"], "current", got["sealed"])
    assert platform.blobs.path(bid.sha256).read_bytes() == sealed  # what the platform keeps is the sealed file
    assert package not in platform.blobs.path(bid.sha256).read_bytes()

    opened = subprocess.run(["age", "-d", "-i", str(opening_key(server, tmp_path)), str(tmp_path / "browser.age")],
                            check=True, capture_output=True).stdout
    assert opened == package
    python_zip = tmp_path / "python.zip"
    python_pack(server, bidder, packaged, tmp_path / "folder", python_zip)
    assert members(opened) == members(python_zip.read_bytes())  # member by member, then every byte
    assert opened == python_zip.read_bytes()
    with zipfile.ZipFile(io.BytesIO(opened)) as zf:
        form = json.loads(zf.read("bid.json"))
    schema = json.loads((ROOT / "docs" / "bid-package.schema.json").read_text(encoding="utf-8"))
    assert not list(Draft202012Validator(schema).iter_errors(form))
    assert bidpackage.validate_package(tmp_path / "browser.zip").price == Decimal("1234567.80")

    assert "Bid received at 2026-03-02 " in got["text"] and "(Asia/Shanghai)" in got["text"]  # the platform's zone
    assert page.locator('[data-testid="own-bid"][data-status="current"]').count() == 1  # the list shows it at once
    # the bidder's own page: the bid with its receipt
    page.goto(f"{server['url']}/tenders/{server['tender_id']}/my-bid")
    assert page.locator('[data-testid="own-bid"][data-status="current"]').count() == 1
    assert page.locator('[data-testid="own-download"]').count() >= 1


# ---------------------------------------------------------------- bad input, refused before sealing

@pytest.mark.parametrize("price, says", [
    ("abc", "not a number"), ("-5", "negative"), ("0", "more than zero"), ("12.345", "two decimal places"),
])
def test_a_bad_price_is_refused_before_sealing(page, server, tmp_path, price, says):
    bidder = _bidder(server)
    log_in(page, server["url"], bidder["actor"].name)
    fill_form(page, server, bid_files(tmp_path), price=price)
    assert says in page.inner_text('[data-testid="capital"]')  # said while typing
    page.click('[data-testid="seal-and-submit"]')
    assert says in page.inner_text('[data-testid="form-error"]')
    assert page.is_hidden('[data-testid="upload-progress"]')  # nothing packed, sealed or sent


def test_bad_days_are_refused(page, server, tmp_path):
    bidder = _bidder(server)
    log_in(page, server["url"], bidder["actor"].name)
    fill_form(page, server, bid_files(tmp_path), duration="0", validity="abc")
    page.click('[data-testid="seal-and-submit"]')
    error = page.inner_text('[data-testid="form-error"]')
    assert "duration" in error and "validity" in error


@pytest.mark.parametrize("case", ["missing", "too_big", "wrong_type"])
def test_a_missing_too_big_or_refused_document_is_said_before_sealing(page, server, tmp_path, case):
    bidder = _bidder(server)
    log_in(page, server["url"], bidder["actor"].name)
    files = bid_files(tmp_path)
    if case == "missing":
        del files["投标函/投标函.pdf"]
    elif case == "too_big":
        files["投标函/投标函.pdf"].write_bytes(os.urandom(1024 * 1024 + 1))  # the limit is 1 MB
    else:
        files["技术方案/施工方案.exe"] = files.pop("技术方案/施工方案.pdf").rename(tmp_path / "chosen" / "施工方案.exe")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.method) if "/uploads" in r.url else None)
    fill_form(page, server, files)
    page.click('[data-testid="seal-and-submit"]')
    error = page.inner_text('[data-testid="form-error"]')
    assert {"missing": "Choose the file for “投标函”", "too_big": "larger than its limit of 1 MB",
            "wrong_type": "not of an accepted type (pdf, docx)"}[case] in error
    assert page.is_hidden('[data-testid="upload-progress"]') and requests == []  # nothing packed, sealed or sent


def test_the_deadline_passing_while_the_page_is_open_is_refused_cleanly(page, server, tmp_path):
    from tender.models import Bid, BidUpload

    bidder = _bidder(server)
    log_in(page, server["url"], bidder["actor"].name)
    fill_form(page, server, bid_files(tmp_path))
    clock = server["clock"]
    before = clock.now()
    page.route("**/uploads/*", lambda route: (clock.set(server["deadline"]) if route.request.method == "PATCH"
                                               else None, route.continue_()))
    try:
        page.click('[data-testid="seal-and-submit"]')
        page.wait_for_selector('[data-testid="form-error"]:not([hidden])', timeout=60_000)
        error = page.inner_text('[data-testid="form-error"]')
    finally:
        clock.set(before)
    deadline = server["deadline"].astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert deadline.strftime("%Y-%m-%d %H:%M") in error and "Asia/Shanghai" in error and "kept nothing" in error
    with server["app"].extensions["sunbid"].sessions() as s:
        assert not s.scalars(select(Bid).where(Bid.organisation_id == bidder["actor"].organisation_id)).all()
        ups = s.scalars(select(BidUpload).where(BidUpload.user_id == bidder["actor"].user_id)).all()
        assert ups and all(u.status != "open" and u.bid_id is None for u in ups)
    parts = list((server["app"].extensions["sunbid"].settings.data_dir / "uploads").glob("*.part"))
    assert not [p for p in parts if p.name[:-5] in {u.id for u in ups}]  # nothing half-stored


def test_a_broken_connection_mid_upload_resumes(page, server, tmp_path):
    from tender.models import Bid

    bidder = _bidder(server)
    log_in(page, server["url"], bidder["actor"].name)
    files = bid_files(tmp_path)
    big = tmp_path / "chosen" / "大文件.pdf"
    big.write_bytes(os.urandom(3 * CHUNK))
    files["大文件.pdf"] = big
    fill_form(page, server, files)
    page.eval_on_selector("#bid-browser-form", "(f) => { f.dataset.retryDelays = '[0, 200, 500]'; }")
    seen: list[tuple[str, str | None]] = []

    def break_second_patch(route):
        req = route.request
        seen.append((req.method, req.headers.get("upload-offset")))
        if req.method == "PATCH" and sum(1 for m, _ in seen if m == "PATCH") == 2:
            route.abort()
            return
        route.continue_()

    page.route("**/uploads/*", break_second_patch)
    page.click('[data-testid="seal-and-submit"]')
    got = receipt(page)
    patches = [offset for method, offset in seen if method == "PATCH"]
    assert patches[:2] == ["0", str(CHUNK)]
    after = seen[seen.index(("PATCH", str(CHUNK))) + 1:]
    assert after[0] == ("HEAD", None) and after[1] == ("PATCH", str(CHUNK))  # on from where the server stood
    with server["app"].extensions["sunbid"].sessions() as s:
        bid = s.scalars(select(Bid).where(Bid.organisation_id == bidder["actor"].organisation_id)).one()
    assert bid.sha256 == got["sealed"]


@pytest.mark.xfail(reason="known bug: two tabs of one bidder sealing at once can collide in the browser's private file system (one tab reports 'A file could not be read'); the server still keeps one current bid", strict=False)
def test_two_tabs_submitting_at_once_leave_one_current_bid(page, server, tmp_path):
    from tender.models import Bid

    bidder = _bidder(server)
    log_in(page, server["url"], bidder["actor"].name)
    other = page.context.new_page()
    files = bid_files(tmp_path)
    fill_form(page, server, files, price="1000.00")
    fill_form(other, server, files, price="2000.00")
    other.eval_on_selector("#bid-browser-form", "(f) => f.requestSubmit()")
    page.eval_on_selector("#bid-browser-form", "(f) => f.requestSubmit()")
    # Either both finish (the later supersedes the earlier), or the upload that started first is told, clearly,
    # that the newer one replaced it before it was complete: one current bid in both cases.
    outcomes = []
    for tab in (page, other):
        tab.wait_for_selector('[data-testid="browser-receipt"]:not([hidden]), [data-testid="form-error"]:not([hidden])',
                              timeout=120_000)
        if tab.is_hidden('[data-testid="form-error"]'):
            outcomes.append(("receipt", tab.locator('[data-testid="browser-receipt"]').get_attribute("data-bid-id")))
        else:
            outcomes.append(("error", tab.inner_text('[data-testid="form-error"]')))
    receipts = [o for kind, o in outcomes if kind == "receipt"]
    errors = [o for kind, o in outcomes if kind == "error"]
    assert receipts and len(set(receipts)) == len(receipts)
    assert all("newer upload" in e or "较新" in e or "新的上传" in e for e in errors), errors
    with server["app"].extensions["sunbid"].sessions() as s:
        rows = s.scalars(select(Bid).where(Bid.organisation_id == bidder["actor"].organisation_id)).all()
    statuses = sorted(b.status for b in rows)
    assert statuses.count("current") == 1 and set(statuses) <= {"current", "superseded"}
    assert len(rows) == len(receipts)
    other.close()


def test_withdraw_and_replace_from_the_same_page(page, server, tmp_path):
    from tender.models import Bid

    bidder = _bidder(server)
    log_in(page, server["url"], bidder["actor"].name)
    files = bid_files(tmp_path)
    fill_form(page, server, files, price="3000.00")
    page.click('[data-testid="seal-and-submit"]')
    receipt(page)
    fill_form(page, server, files, price="2999.00")  # a replacement supersedes it
    page.click('[data-testid="seal-and-submit"]')
    replaced = receipt(page)
    page.goto(f"{server['url']}/tenders/{server['tender_id']}/my-bid")
    assert page.locator('[data-testid="own-bid"][data-status="superseded"]').count() == 1
    page.click('[data-testid="own-bid"][data-status="current"] [data-testid="withdraw"]')
    page.wait_for_selector(".alert-success")
    assert "/my-bid" in page.url
    assert page.locator('[data-testid="own-bid"][data-status="withdrawn"]').count() == 1
    with server["app"].extensions["sunbid"].sessions() as s:
        rows = {b.public_id: b.status for b in s.scalars(
            select(Bid).where(Bid.organisation_id == bidder["actor"].organisation_id))}
    assert rows[replaced["bid"]] == "withdrawn" and sorted(rows.values()) == ["superseded", "withdrawn"]


def test_a_browser_without_the_needed_apis_is_pointed_to_the_fallback(page, server):
    bidder = _bidder(server)
    log_in(page, server["url"], bidder["actor"].name)
    page.add_init_script("delete FileSystemFileHandle.prototype.createWritable;")
    page.goto(f"{server['url']}/tenders/{server['tender_id']}/my-bid")
    page.wait_for_selector('[data-testid="missing-features"]:not([hidden])')
    assert "opfs" in page.inner_text('[data-testid="missing-features"]')
    assert page.is_disabled('[data-testid="seal-and-submit"]')
    page.click('[data-testid="fallback-link"]')
    page.wait_for_selector("#bid-mode-package")  # the tender page's form, sealed on the platform


# ---------------------------------------------------------------- the opening reads the browser's bid

def test_the_opening_reads_the_browser_bid_with_its_price(page, opening_server, tmp_path):
    from accounts.models import User
    from core.actor import Actor
    from tender import opening, sealing
    from tender.models import Bid, KeyShare

    server = opening_server

    bidder = _bidder(server)
    log_in(page, server["url"], bidder["actor"].name)
    fill_form(page, server, bid_files(tmp_path), price="987654.32")
    page.click('[data-testid="seal-and-submit"]')
    got = receipt(page)

    s, clock, app = server["session"], server["clock"], server["app"]
    clock.set(server["deadline"])
    for row in list(s.scalars(select(KeyShare).where(KeyShare.tender_id == server["tender_id"])))[:2]:
        user = s.get(User, row.custodian_id)
        with unit_of_work(s):
            opening.submit_share(s, actor=Actor(user.id, user.username, user.role, user.organisation_id, "127.0.0.1"),
                                 tender_id=server["tender_id"], now=clock.now(),
                                 share=sealing.open_share(row.sealed, identity=server["keys"][user.username]))
    with unit_of_work(s):
        results = opening.open_bids(s, actor=server["agency"], tender_id=server["tender_id"], now=clock.now(),
                                    blobs=app.extensions["sunbid"].blobs)
    bid_id = s.scalar(select(Bid.id).where(Bid.public_id == got["bid"]))
    mine = [r for r in results if r.bid_id == bid_id]
    assert mine and mine[0].status == "valid" and mine[0].price_fen == 98765432 and mine[0].duration_days == 365
    s.close()
    clock.advance(timedelta(minutes=5))
    page.goto(f"{server['url']}/tenders/{server['tender_id']}/my-bid")
    assert page.locator('[data-testid="closed"]').count() == 1
    assert "987,654.32" in page.inner_text('[data-testid="own-bid"][data-status="current"] [data-testid="own-result"]')
