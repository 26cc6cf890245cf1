"""The desk (/desk), role by role, with data made through the services: each role finds its work there, in
English and in Chinese, and sees nothing that is not its own (a bidder nothing of another bidder, a custodian
only its own shares).  The desk's queries do not grow with the number of tenders."""
from __future__ import annotations

import re
import shutil
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from core.area import Area, AreaConflict, DeskPanel, check_areas
from core.db import unit_of_work
from core.roles import Role
from tests.conftest import login

pytestmark = pytest.mark.skipif(shutil.which("age") is None, reason="the age binary is not installed")


# ---------------------------------------------------------------- making things through the services

def bid(app, session, clock, t, bidder, tmp_path, price: str = "950000.00"):
    """``bidder`` (who obtained the documents) submits a real bid package sealed to the tender's opening key."""
    from accounts.models import Organisation
    from tender import bidpackage, bids, sealing
    from tender.models import OpeningKey

    org = session.get(Organisation, bidder.organisation_id)
    folder = tmp_path / f"bid-{bidder.user_id}-{t.id}-{price}"
    folder.mkdir()
    (folder / "投标函.pdf").write_bytes(b"%PDF-1.4 " + org.name.encode())
    package, sealed = folder.with_suffix(".zip"), folder.with_suffix(".age")
    bidpackage.pack(folder, tender=t.project_code, lot=1, bidder_name=org.name, credit_code=org.credit_code,
                    price=price, duration_days=180, validity_days=90, output=package)
    sealing.seal_file(package, sealed, [session.get(OpeningKey, t.id).recipient])
    platform = app.extensions["sunbid"]
    with sealed.open("rb") as f:
        stored = bids.store_sealed(f, blobs=platform.blobs, limit=10**8)
    with unit_of_work(session):
        return bids.submit_bid(session, actor=bidder, tender_id=t.id, lot=1, stored=stored, now=clock.now(),
                               signer=platform.signer)


def download(session, clock, t, who) -> None:
    from tender import downloads

    with unit_of_work(session):
        downloads.download_document(session, actor=who, tender_id=t.id, document_id=t.documents[0].id,
                                    now=clock.now())


def custodian_actor(session, username: str):
    from accounts.models import User
    from core.actor import Actor

    user = session.scalar(sa.select(User).where(User.username == username))
    return Actor(user.id, user.username, user.role, user.organisation_id, "127.0.0.1")


def own_share_text(session, make, t, username: str) -> str:
    from tender import sealing
    from tender.models import KeyShare

    who = custodian_actor(session, username)
    row = session.scalar(sa.select(KeyShare).where(KeyShare.tender_id == t.id, KeyShare.custodian_id == who.user_id))
    return sealing.open_share(row.sealed, identity=make.custodians()[username])


def open_tender(app, session, clock, make, t, agency) -> None:
    """At the deadline two custodians present their shares and the agency opens the bids."""
    from tender import opening

    clock.set(t.deadline)
    for username in list(make.custodians())[:2]:
        with unit_of_work(session):
            opening.submit_share(session, actor=custodian_actor(session, username), tender_id=t.id,
                                 share=own_share_text(session, make, t, username), now=clock.now())
    with unit_of_work(session):
        opening.open_bids(session, actor=agency, tender_id=t.id, now=clock.now(), blobs=app.extensions["sunbid"].blobs)


def desk(app, username: str, lang: str = "en") -> str:
    c = app.test_client()
    assert login(c, username).status_code == 302
    resp = c.get(f"/desk?lang={lang}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def panel(html: str, key: str) -> str:
    """The HTML of one panel of the desk page."""
    start = html.index(f'data-panel="{key}"')
    end = html.find('data-testid="panel"', start)
    return html[start:end if end != -1 else len(html)]


class _Text(HTMLParser):
    """The visible text of <main>, without <code> (codes and hashes are data, not words)."""

    def __init__(self):
        super().__init__()
        self.depth, self.code, self.parts = 0, 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.depth += 1
        if tag == "code":
            self.code += 1

    def handle_endtag(self, tag):
        if tag == "main":
            self.depth -= 1
        if tag == "code":
            self.code -= 1

    def handle_data(self, data):
        if self.depth and not self.code:
            self.parts.append(data)


def main_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


RAW_CODES = ("draft", "published", "closed", "opened", "failed", "cancelled", "current", "superseded", "withdrawn",
             "valid", "admin", "agency", "bidder", "expert", "custodian", "supervisor")
ALLOWED_LATIN = {"SHA", "PDF", "age"}  # names of formats and tools, kept in Chinese too


def assert_all_chinese(session, html: str) -> None:
    """The Chinese desk shows no English word of its own and no raw code: once the names people and
    organisations were given are taken out, no Latin word of three letters or more is left in <main>."""
    from accounts.models import Organisation, User

    text = main_text(html)
    data = [*session.scalars(sa.select(User.username)), *session.scalars(sa.select(User.display_name)),
            *session.scalars(sa.select(Organisation.name))]
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    words = {w for w in re.findall(r"[A-Za-z][A-Za-z_]{2,}", text)} - ALLOWED_LATIN
    assert not words, (words, text)
    assert not [c for c in RAW_CODES if re.search(rf"\b{c}\b", text)], text


# ---------------------------------------------------------------- bidders

@pytest.fixture
def bidding(app, make, session, clock, tmp_path):
    """Two bidders on one tender (the first has bid twice: one superseded), the first also on a second tender
    whose documents it obtained without bidding."""
    t1, agency = make.tender(publish=True, title="东湖区滨江路道路改造工程")
    t2, _ = make.tender(agency, publish=True, title="西山区第三中学教学楼新建工程",
                        deadline=clock.now() + timedelta(days=30))
    a, b = make.bidder_of(t1), make.bidder_of(t1)
    download(session, clock, t2, a)
    first = bid(app, session, clock, t1, a, tmp_path, "990000.00")
    second = bid(app, session, clock, t1, a, tmp_path, "980000.00")
    other = bid(app, session, clock, t1, b, tmp_path, "970000.00")
    return t1, t2, agency, a, b, first, second, other


def test_a_bidder_sees_its_own_tenders_by_deadline_and_bids_and_nothing_of_the_other(app, session, bidding, clock):
    t1, t2, agency, a, b, first, second, other = bidding
    html = desk(app, a.name)
    tenders = panel(html, "tender.bidder_tenders")
    assert tenders.index(t1.title) < tenders.index(f'data-tender="{t2.id}"')  # the soonest deadline first
    assert f"/bids/{second.public_id}/receipt.json" in tenders and "No bid yet" in tenders
    assert "Bidding open" in tenders and " left" in tenders
    left = re.findall(r'data-testid="time-left">([^<]+)<', tenders)
    assert left[0] == f"{(t1.deadline - clock.now()).days} d {(t1.deadline - clock.now()).seconds // 3600} h left"
    bids = panel(html, "tender.bidder_bids")
    assert bids.count('data-testid="desk-bid"') == 2
    assert 'data-status="superseded"' in bids and 'data-status="current"' in bids
    assert "Superseded" in bids and f"/bids/{first.public_id}/receipt.json" in bids
    assert "None of your bids has been opened yet." in panel(html, "tender.bidder_results")
    from accounts.models import Organisation

    b_org = session.get(Organisation, b.organisation_id)
    for secret in (other.public_id, other.sha256[:16], b_org.name, b.name):
        assert secret not in html
    b_html = desk(app, b.name)
    assert other.public_id in b_html and second.public_id not in b_html and first.public_id not in b_html
    assert t2.title not in b_html  # b never obtained its documents
    assert 'data-testid="desk-bid"' in b_html and b_html.count('data-testid="desk-bid"') == 1


def test_a_bidder_without_tenders_has_empty_panels(app, make):
    who = make.user("bidder")
    html = desk(app, who.name)
    assert html.count('data-testid="empty"') == 3
    assert "Your company has not obtained the documents of any tender yet." in html


def test_after_the_opening_a_bidder_sees_its_own_line_of_the_record(app, make, session, clock, tmp_path):
    t, agency = make.tender(publish=True)
    bidders = [make.bidder_of(t) for _ in range(3)]
    for who, price in zip(bidders, ("912345.67", "923456.78", "934567.89")):
        bid(app, session, clock, t, who, tmp_path, price)
    open_tender(app, session, clock, make, t, agency)
    html = desk(app, bidders[0].name)
    results = panel(html, "tender.bidder_results")
    assert "912,345.67" in results and "Valid" in results and f"/tenders/{t.id}/opening" in results
    assert "923,456.78" not in html and "934,567.89" not in html
    tenders = panel(html, "tender.bidder_tenders")
    assert 'data-status="opened"' in tenders and " left" not in tenders
    assert_all_chinese(session, desk(app, bidders[0].name, "zh_CN"))


# ---------------------------------------------------------------- agencies

@pytest.fixture
def agency_world(app, make, session, clock):
    """An agency with a draft, a tender with an unanswered question, and one whose opening is overdue."""
    from tender import publication

    overdue, agency = make.tender(publish=True, title="东湖区第一标段道路工程")
    asked, _ = make.tender(agency, publish=True, title="西山区学校改造工程", deadline=clock.now() + timedelta(days=40))
    draft, _ = make.tender(agency, title="南港区污水管网工程")
    bidder = make.bidder_of(asked)
    with unit_of_work(session):
        publication.ask_question(session, actor=bidder, tender_id=asked.id, text="是否允许联合体投标？",
                                 now=clock.now())
    clock.set(overdue.deadline + timedelta(days=2, hours=1))
    return agency, overdue, asked, draft


def test_an_agency_sees_its_tenders_by_stage_and_what_is_due(app, make, session, agency_world):
    agency, overdue, asked, draft = agency_world
    html = desk(app, agency.name)
    due = panel(html, "tender.agency_due")
    assert re.search(r'data-testid="unanswered-count">1<', due)
    assert f"/tenders/{asked.id}#questions" in due and "1 question waiting" in due
    assert f"/tenders/{overdue.id}/opening" in due and "Deadline passed 2 days ago, not opened" in due
    stages = panel(html, "tender.agency_stages")
    counts = dict(re.findall(r'data-stage="(\w+)">.*?data-testid="stage-count">(\d+)<', stages, re.S))
    assert counts == {"draft": "1", "published": "1", "closed": "1"}
    assert draft.title in stages and "/agency/tenders?status=closed" in stages
    other = desk(app, make.user("agency").name)
    for title in (overdue.title, asked.title, draft.title):
        assert title not in other
    assert "No question is waiting for an answer." in other and "No opening is due." in other
    assert_all_chinese(session, desk(app, agency.name, "zh_CN"))


# ---------------------------------------------------------------- custodians

def test_a_custodian_sees_its_key_and_the_openings_that_need_its_share(app, make, session, clock):
    from tender import opening
    from tender.models import KeyShare

    past, agency = make.tender(publish=True, title="高新区智慧路灯工程")
    coming, _ = make.tender(agency, publish=True, title="北岸区绿化养护服务", deadline=clock.now() + timedelta(days=30))
    username = next(iter(make.custodians()))
    me = custodian_actor(session, username)
    clock.set(past.deadline + timedelta(minutes=5))
    html = desk(app, username)
    needed = panel(html, "tender.custodian_openings")
    mine = session.scalar(sa.select(KeyShare).where(KeyShare.tender_id == past.id, KeyShare.custodian_id == me.user_id))
    assert f'data-tender="{past.id}"' in needed and f"Share {mine.position}" in needed
    assert f"/tenders/{past.id}/opening#share" in needed and 'data-testid="present"' in needed
    assert coming.title in needed and " left" in needed
    others = session.scalars(sa.select(KeyShare.position).where(KeyShare.tender_id == past.id,
                                                                KeyShare.custodian_id != me.user_id)).all()
    for position in others:
        assert f"Share {position}" not in html  # only its own share
    key = panel(html, "tender.custodian_key")
    from tender.custodians import recipient_of
    from tender.custody_rules import recipient_fingerprint

    assert recipient_fingerprint(recipient_of(session, me.user_id)) in key and "Registered" in key
    assert "You hold 2 key shares." in key
    with unit_of_work(session):
        opening.submit_share(session, actor=me, tender_id=past.id, share=own_share_text(session, make, past, username),
                             now=clock.now())
    html = desk(app, username)
    assert 'data-testid="presented"' in html and 'data-testid="present"' not in html
    assert_all_chinese(session, desk(app, username, "zh_CN"))


def test_a_custodian_without_a_key_is_asked_to_register_one(app, make, session):
    who = make.user("custodian")
    html = desk(app, who.name)
    assert 'data-testid="key-unregistered"' in html and "/account#custody" in html
    assert "No opening needs your share now." in html and "You hold 0 key shares." in html
    assert_all_chinese(session, desk(app, who.name, "zh_CN"))


# ---------------------------------------------------------------- supervisors, experts, administrators

def test_a_supervisor_sees_overdue_openings_and_recent_custodian_changes(app, make, session, clock):
    from accounts import service as accounts
    from audit.models import AuditEntry

    t, _agency = make.tender(publish=True, title="滨海新区体育中心改造工程")
    make.user("custodian", approve=False)
    leaving = custodian_actor(session, next(iter(make.custodians())))
    with unit_of_work(session):
        accounts.request_role_change(session, actor=make.user("admin"), user_id=leaving.user_id, change="remove",
                                     reason="调任", now=clock.now())
    clock.set(t.deadline + timedelta(days=3))
    html = desk(app, make.supervisor().name)
    overdue = panel(html, "tender.overdue_openings")
    assert f'data-tender="{t.id}"' in overdue and "Deadline passed 3 days ago, not opened" in overdue
    changes = panel(html, "accounts.key_changes")
    registered = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.age_recipient_registered")
                                .order_by(AuditEntry.seq.desc()).limit(1))
    requested = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "role.requested"))
    assert f'href="/audit/log/{registered.seq}"' in changes and "Age key registered by proof" in changes
    assert f'href="/audit/log/{requested.seq}"' in changes and "Role change requested" in changes
    assert changes.index(f">#{requested.seq}<") < changes.index(f">#{registered.seq}<")  # the latest first
    assert "2 role requests wait for your decision." in changes
    assert_all_chinese(session, desk(app, make.supervisor().name, "zh_CN"))


def test_an_expert_has_an_honest_empty_panel(app, make, session):
    who = make.user("expert")
    html = desk(app, who.name)
    assert "No assignments yet." in html and who.name in panel(html, "accounts.expert")
    assert html.count('data-testid="panel"') == 1
    assert_all_chinese(session, desk(app, who.name, "zh_CN"))


def test_an_administrator_sees_pending_requests_and_recent_accounts(app, make, session):
    admin = make.user("admin")
    waiting = make.user("custodian", approve=False)
    html = desk(app, admin.name)
    accounts = panel(html, "accounts.admin")
    assert 'href="/role-requests"' in accounts and re.search(r'data-testid="pending-requests">1<', accounts)
    assert f"/admin/users/{waiting.user_id}" in accounts and "1 role request waits for a supervisor." in accounts
    assert_all_chinese(session, desk(app, admin.name, "zh_CN"))


# ---------------------------------------------------------------- the seam

def test_the_menu_leads_to_the_desk_and_signing_in_lands_there(app, make):
    who = make.user("bidder")
    c = app.test_client()
    assert "My desk" not in c.get("/").get_data(as_text=True)
    resp = login(c, who.name)
    assert resp.headers["Location"] == "/desk"
    assert 'href="/desk"' in c.get("/").get_data(as_text=True)
    assert "我的工作台" in c.get("/?lang=zh_CN").get_data(as_text=True)
    c2 = app.test_client()
    assert login(c2, who.name).headers["Location"] == "/desk"
    c3 = app.test_client()
    resp = c3.post("/login?next=/tenders", data={"username": who.name, "password": "Correct-Horse-42"})
    assert resp.headers["Location"] == "/tenders"
    anonymous = app.test_client().get("/desk")
    assert anonymous.status_code == 302 and "/login?next=/desk" in anonymous.headers["Location"]


def test_panels_are_shown_by_role_in_position_order_and_keys_are_unique(app):
    from sunbid.areas import AREAS

    desk_panels = app.extensions["sunbid"].desk
    assert [p.position for p in desk_panels] == sorted(p.position for p in desk_panels)
    keys = [p.key for a in AREAS for p in a.desk]
    assert len(keys) == len(set(keys))
    for role in (Role.BIDDER, Role.AGENCY, Role.CUSTODIAN, Role.SUPERVISOR, Role.EXPERT, Role.ADMIN):
        assert any(p.shown_to(role) for p in desk_panels), role
    assert not any(p.shown_to(None) for p in desk_panels)

    def build(session, actor, now):
        return {}

    one = DeskPanel("same.key", "One", frozenset({Role.BIDDER}), 1, build, "x.html")
    with pytest.raises(AreaConflict, match="desk panel same.key"):
        check_areas([Area(name="one", desk=(one,)), Area(name="two", desk=(one,))])
    with pytest.raises(TypeError):
        DeskPanel("typo", "Typo", frozenset({"bidder "}), 1, build, "x.html")


def test_a_panel_another_area_adds_is_shown_to_its_role(settings, clock, connection, make):
    from sunbid.app import create_app
    from sunbid.areas import AREAS

    def build(session, actor, now):
        return {"who": actor.name}

    extra = Area(name="extra", desk=(DeskPanel("extra.hello", "Extra panel", frozenset({Role.EXPERT}), 1, build,
                                               "error.html"),))
    app = create_app(settings, clock=clock, bind=connection, areas=[*AREAS, extra],
                     session_options={"join_transaction_mode": "create_savepoint"})
    app.config["WTF_CSRF_ENABLED"] = False
    who = make.user("expert")
    html = desk(app, who.name)
    keys = re.findall(r'data-panel="([\w.]+)"', html)
    assert keys == ["extra.hello", "accounts.expert"]
    assert "Extra panel" in html


# ---------------------------------------------------------------- bounded queries

def _queries(app, connection, username: str) -> int:
    count = []

    def seen(*_args):
        count.append(1)

    c = app.test_client()
    assert login(c, username).status_code == 302
    sa.event.listen(connection, "before_cursor_execute", seen)
    try:
        assert c.get("/desk").status_code == 200
    finally:
        sa.event.remove(connection, "before_cursor_execute", seen)
    return len(count)


def test_the_desks_queries_do_not_grow_with_the_tenders(app, make, session, clock, connection, tmp_path):
    agency = make.user("agency")
    bidder = make.user("bidder")
    custodian = next(iter(make.custodians()))
    supervisor = make.supervisor()

    def more(n: int) -> None:
        from tender import publication

        for _ in range(n):
            t, _ = make.tender(agency, publish=True)
            if clock.now() < t.download_start:
                clock.advance(timedelta(hours=2))
            download(session, clock, t, bidder)
            bid(app, session, clock, t, bidder, tmp_path)
            asker = make.user("bidder")
            download(session, clock, t, asker)
            with unit_of_work(session):
                publication.ask_question(session, actor=asker, tender_id=t.id, text="问题", now=clock.now())

    more(2)
    before = {who: _queries(app, connection, who) for who in (agency.name, bidder.name, custodian, supervisor.name)}
    more(5)
    after = {who: _queries(app, connection, who) for who in (agency.name, bidder.name, custodian, supervisor.name)}
    assert after == before, (before, after)
