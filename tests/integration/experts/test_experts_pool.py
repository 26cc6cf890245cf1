"""The expert pool: profiles with protected national IDs, CSV import (all or nothing, a line-numbered report),
suspension and reinstatement, the expert's own page; every act one audit event."""
from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from audit.models import AuditEntry
from core.actor import Actor
from core.db import unit_of_work
from experts import service
from experts.models import ExpertProfile
from experts.rules import national_id_check_char
from tests.conftest import login

KEY = service.national_id_key("a test secret key for national ids 0123456789")
HEADER = "username,full_name,national_id,region,specialties,phone,email,employer,employed_since\n"


def nid(seq: int, born: str = "19700101") -> str:
    first17 = f"310101{born}{seq:03d}"
    return first17 + national_id_check_char(first17)


def entries(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def data(username: str, seq: int, **kw) -> service.ExpertInput:
    base = dict(username=username, full_name=f"Expert {seq}", national_id=nid(seq), region="310101",
                specialties=["works.civil.bridges"])
    return service.ExpertInput(**{**base, **kw})


def test_a_profile_keeps_the_national_id_only_as_hmac_and_mask(session, make, clock):
    who = make.user("expert")
    with unit_of_work(session):
        p = service.create_profile(session, actor=Actor.system(), data=data(who.name, 7), id_key=KEY,
                                   now=clock.now())
    assert p.pseudonym == "E000001"
    number = nid(7)
    assert p.national_id_masked == number[:3] + "*" * 11 + number[-4:]
    assert p.national_id_hmac == service.national_id_digest(KEY, number) != number
    row = session.execute(select(ExpertProfile.__table__)).one()
    assert number not in " ".join(str(v) for v in row)
    [entry] = entries(session, "experts.profile_created")
    assert entry.subject_kind == "expert" and entry.subject_id == "E000001"
    assert number not in entry.payload and "E000001" in entry.payload


def test_duplicate_national_id_and_second_profile_are_refused(session, make, clock):
    a, b = make.user("expert"), make.user("expert")
    with unit_of_work(session):
        service.create_profile(session, actor=Actor.system(), data=data(a.name, 1), id_key=KEY, now=clock.now())
    with pytest.raises(service.DuplicateNationalId):
        with unit_of_work(session):
            service.create_profile(session, actor=Actor.system(), data=data(b.name, 1), id_key=KEY, now=clock.now())
    with pytest.raises(service.ProfileExists):
        with unit_of_work(session):
            service.create_profile(session, actor=Actor.system(), data=data(a.name, 2), id_key=KEY, now=clock.now())
    bidder = make.user("bidder")
    with pytest.raises(service.NotAnExpert):
        with unit_of_work(session):
            service.create_profile(session, actor=Actor.system(), data=data(bidder.name, 3), id_key=KEY,
                                   now=clock.now())
    with pytest.raises(Exception):
        with unit_of_work(session):
            service.create_profile(session, actor=a, data=data(b.name, 4), id_key=KEY, now=clock.now())
    assert session.scalar(select(func.count()).select_from(ExpertProfile)) == 1


def test_import_is_all_or_nothing_with_a_line_numbered_report(session, make, clock):
    users = [make.user("expert") for _ in range(3)]
    bad = HEADER + "".join([
        f"{users[0].name},甲,{nid(1)},310101,works.civil.bridges;works.water,,,,\n",
        f"{users[1].name},乙,{nid(1)},310101,works.civil,,,,\n",        # line 3: same ID as line 2
        f"{users[2].name},丙,310101197001010010,310101,works,,,,\n",   # line 4: bad check character
        f"nobody,丁,{nid(4)},310101,works,,,,\n",                      # line 5: no such expert account
        f"{users[2].name},戊,{nid(5)},3101,goods.spaceships,,,,\n",     # line 6: bad region
        f"{users[2].name},己,{nid(6)},310101,goods.spaceships,,,,2020-13-01\n",  # line 7: bad date
    ])
    with pytest.raises(service.ImportRefused) as exc:
        with unit_of_work(session):
            service.import_experts(session, actor=Actor.system(), text=bad, id_key=KEY, now=clock.now())
    report = [(p.line, p.field) for p in exc.value.problems]
    assert report == [(3, "national_id"), (4, "national_id"), (5, "username"), (6, "region"),
                      (7, "employed_since")]
    assert session.scalar(select(func.count()).select_from(ExpertProfile)) == 0
    assert entries(session, "experts.imported") == []

    good = HEADER + "".join(f"{u.name},专家{i},{nid(10 + i)},310101,works.civil.bridges;services.legal,"
                            f"13800000000,e{i}@example.org,某设计院,2015-03-01\n" for i, u in enumerate(users))
    with unit_of_work(session):
        made = service.import_experts(session, actor=Actor.system(), text="\ufeff" + good, id_key=KEY,
                                      now=clock.now())
    assert [p.pseudonym for p in made] == ["E000001", "E000002", "E000003"]
    assert [s.code for s in made[0].specialties] == ["services.legal", "works.civil.bridges"]
    assert made[0].employments[0].start == date(2015, 3, 1)
    [entry] = entries(session, "experts.imported")
    with pytest.raises(service.ImportRefused) as again:  # a second import of the same file: every line refused
        with unit_of_work(session):
            service.import_experts(session, actor=Actor.system(), text=good, id_key=KEY, now=clock.now())
    assert [p.line for p in again.value.problems] == [2, 3, 4]


def test_suspend_and_reinstate_need_a_reason_and_are_audited(session, make, clock):
    who = make.user("expert")
    with unit_of_work(session):
        service.create_profile(session, actor=Actor.system(), data=data(who.name, 1), id_key=KEY, now=clock.now())
    with pytest.raises(service.ReasonRequired):
        with unit_of_work(session):
            service.suspend_expert(session, actor=Actor.system(), expert="E000001", reason=" ", until=None,
                                   now=clock.now())
    with pytest.raises(service.NotSuspended):
        with unit_of_work(session):
            service.reinstate_expert(session, actor=Actor.system(), expert="E000001", reason="ok", now=clock.now())
    with unit_of_work(session):
        p = service.suspend_expert(session, actor=Actor.system(), expert="E000001", reason="missed two evaluations",
                                   until=None, now=clock.now())
    assert p.status == "suspended"
    with unit_of_work(session):
        p = service.reinstate_expert(session, actor=Actor.system(), expert="E000001", reason="appeal granted",
                                     now=clock.now())
    assert p.status == "active" and p.status_reason == "appeal granted"
    assert len(entries(session, "experts.suspended")) == 1 and len(entries(session, "experts.reinstated")) == 1


def test_pages_own_profile_import_and_status(app, client, session, make, clock):
    who = make.user("expert")
    admin = make.user("admin")
    app_key = service.national_id_key(app.extensions["sunbid"].settings.secret_key)
    with unit_of_work(session):
        service.create_profile(session, actor=Actor.system(), data=data(who.name, 1), id_key=app_key,
                               now=clock.now())
    login(client, who.name)
    page = client.get("/experts/me").get_data(as_text=True)
    assert "E000001" in page and nid(1)[:3] + "***********" in page and nid(1) not in page
    assert "Works › Civil engineering › Bridges" in page
    assert client.post("/experts/me", data={"phone": "13900000000", "email": "me@example.org"}).status_code == 302
    assert "13900000000" in client.get("/experts/me").get_data(as_text=True)
    zh = client.get("/experts/me?lang=zh_CN").get_data(as_text=True)
    assert "工程 › 土木工程 › 桥梁" in zh
    client.post("/logout")

    login(client, admin.name)
    other = make.user("expert")
    csv_text = HEADER + f"{other.name},乙,{nid(1)},310101,works,,,,\n"
    answer = client.post("/experts/admin/import", data={"file": (io.BytesIO(csv_text.encode()), "pool.csv")},
                         content_type="multipart/form-data")
    assert answer.status_code == 400
    body = answer.get_data(as_text=True)
    assert 'data-testid="import-problems"' in body and "<td>2</td>" in body
    csv_text = HEADER + f"{other.name},乙,{nid(2)},310101,works,,,,\n"
    answer = client.post("/experts/admin/import", data={"file": (io.BytesIO(csv_text.encode()), "pool.csv")},
                         content_type="multipart/form-data")
    assert answer.status_code == 302
    assert "E000002" in client.get("/experts/admin").get_data(as_text=True)
    assert client.post("/experts/admin/2/status", data={"action": "suspend", "reason": "conduct"}).status_code == 302
    assert "Suspended" in client.get("/experts/admin/2").get_data(as_text=True)
    assert client.get("/experts/admin/99").status_code == 404
    assert client.post("/experts/admin/99/status", data={"action": "suspend", "reason": "x"}).status_code == 404


def test_the_demo_gives_every_demo_expert_a_profile(app, client, session):
    from datetime import UTC, datetime

    from accounts.demo import DEMO_PASSWORD
    from sunbid.demo import context_for, seed

    counts = seed(session, datetime(2026, 11, 22, 2, 0, tzinfo=UTC), context_for(app.extensions["sunbid"]))
    assert counts["experts"] == 200
    profiles = {p.pseudonym: p for p in session.scalars(select(ExpertProfile))}
    assert len(profiles) == 200
    assert profiles["E000002"].status == "suspended" and profiles["E000003"].status == "active"
    assert len({p.national_id_hmac for p in profiles.values()}) == 200
    assert all(p.specialties and p.employments and p.employments[0].organisation_id for p in profiles.values())
    for username, pseudonym in (("expert001", "E000001"), ("expert137", "E000137")):
        login(client, username, DEMO_PASSWORD)
        page = client.get("/experts/me").get_data(as_text=True)
        assert pseudonym in page, username
        client.post("/logout")


def _workbook(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_import_reports_sheet_rows_and_imports_whole(app, client, session, make, clock):
    a, b = make.user("expert"), make.user("expert")
    bad = _workbook([[a.name, "甲", nid(1), 310101, "works.civil", None, None, None, date(2015, 3, 1)],
                     [b.name, "乙", nid(2), "31", "works.civil", None, None, None, None]])
    with pytest.raises(service.ImportRefused) as exc:
        with unit_of_work(session):
            service.import_experts(session, actor=Actor.system(), xlsx=bad, id_key=KEY, now=clock.now())
    assert [(p.line, p.field) for p in exc.value.problems] == [(3, "region")]
    assert session.scalar(select(func.count()).select_from(ExpertProfile)) == 0
    with pytest.raises(service.ImportRefused) as exc:
        with unit_of_work(session):
            service.import_experts(session, actor=Actor.system(), xlsx=b"PK\x03\x04 not a workbook", id_key=KEY,
                                   now=clock.now())
    assert exc.value.problems[0].field == "file"

    admin = make.user("admin")
    login(client, admin.name)
    good = _workbook([[a.name, "甲", nid(1), 310101, "works.civil", 13800000000, None, None, date(2015, 3, 1)],
                      [b.name, "乙", nid(2), "310101", "goods.it;services.legal", None, None, None, None]])
    answer = client.post("/experts/admin/import", data={"file": (io.BytesIO(good), "pool.xlsx")},
                         content_type="multipart/form-data")
    assert answer.status_code == 302
    made = {p.pseudonym: p for p in session.scalars(select(ExpertProfile))}
    assert set(made) == {"E000001", "E000002"} and made["E000001"].phone == "13800000000"
    assert made["E000001"].employments == []  # no employer given


def test_the_pool_as_the_avoidance_rules_read_it(session, make, clock):
    from datetime import timedelta

    from experts.models import ExpertPenalty, ExpertRelation, ExpertUnavailable
    from experts.rules import DrawContext, screen

    bidder_org = make.org("bidder", name="某建设有限公司")
    users = [make.user("expert") for _ in range(4)]
    with unit_of_work(session):
        made = [service.create_profile(session, actor=Actor.system(),
                                       data=data(u.name, i, employer="某建设有限公司" if i == 0 else "",
                                                 employed_since=date(2020, 1, 1)),
                                       id_key=KEY, now=clock.now()) for i, u in enumerate(users)]
        session.add(ExpertRelation(profile_id=made[1].id, kind="organisation", organisation_id=bidder_org.id,
                                   description="配偶任职"))
        session.add(ExpertPenalty(profile_id=made[2].id, start=date(2020, 1, 1), end=None, reason="x",
                                  created_at=clock.now()))
        start = clock.now() + timedelta(days=3)
        session.add(ExpertUnavailable(profile_id=made[3].id, start=start - timedelta(hours=1),
                                      end=start + timedelta(hours=1)))
    assert made[0].employments[0].organisation_id == bidder_org.id  # the employer's name names an organisation
    ctx = DrawContext(evaluation_start=start, evaluation_end=start + timedelta(hours=4),
                      bidders=frozenset({bidder_org.id}))
    out = screen(service.pool_facts(session), ["works.civil"], ctx)
    assert out.eligible == {"works.civil": []}
    assert out.excluded == [{"expert": "E000001", "reasons": ["employed_by_bidder"]},
                            {"expert": "E000002", "reasons": ["related_to_bidder"]},
                            {"expert": "E000003", "reasons": ["penalised"]},
                            {"expert": "E000004", "reasons": ["unavailable"]}]
