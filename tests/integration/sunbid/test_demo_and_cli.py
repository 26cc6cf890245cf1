"""The demo seeds a whole city platform through the services; the CLI refuses unsafe production settings."""
from __future__ import annotations

import random
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from audit.models import AuditEntry
from audit.service import verify
from core import rules
from core.area import Area, AreaConflict
from core.demo import DemoStep, DemoStepFailed, DemoWorld
from sunbid.demo import is_seeded, plan, run_steps, seed, summaries, terminal_locale
from accounts.models import Organisation, User
from tender import portal, publication, service
from tender.models import OpeningResult, Tender


def test_demo_seeds_every_state_once(app, session):
    from sunbid.demo import context_for

    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    counts = seed(session, now, context_for(app.extensions["sunbid"]))
    assert counts["tenders"] >= 20 and counts["users"] >= 200
    orgs = Counter(k for (k,) in session.execute(select(Organisation.kind)))
    assert orgs["agency"] >= 3 and orgs["bidder"] >= 30
    for code in session.scalars(select(Organisation.credit_code).where(Organisation.credit_code.is_not(None))):
        assert rules.validate_credit_code(code) == code
    assert session.scalar(select(func.count()).where(User.role == "expert")) >= 200
    states = Counter(service.status(t, now).value for t in session.scalars(select(Tender)))
    assert set(states) == {"draft", "published", "closed", "opened", "cancelled"}, states
    # one tender went through the opening ceremony: the summary counts tenders and bids apart
    assert counts["tenders opened"] == states["opened"] == 1
    assert counts["bids opened"] == session.scalar(select(func.count()).select_from(OpeningResult)) >= 3
    assert "opened" not in counts
    assert is_seeded(session)
    assert seed(session, now, context_for(app.extensions["sunbid"])) == {}  # idempotent
    assert counts["bids"] >= 20
    assert verify(session) == session.scalar(select(func.count()).select_from(AuditEntry))
    times = list(session.scalars(select(AuditEntry.at).order_by(AuditEntry.seq)))
    assert times == sorted(times)  # seeded in time order: the log reads like real history
    # the demo's log exports and verifies offline, with a checkpoint at each publication
    from audit.models import AuditCheckpoint
    from audit.verify import verify_export
    from tests.integration.audit.test_audit_export import export

    reasons = Counter(session.scalars(select(AuditCheckpoint.reason)))
    assert reasons["tender.published"] >= 18
    report = verify_export(export(app), app.extensions["sunbid"].signer.vkey())
    assert report.entries == report.tree_size and report.checkpoints >= 18


def test_a_failing_step_is_rolled_back_alone_and_stops_the_demo_naming_it(session, clock):
    """Each step is a transaction of its own: the steps before a failing one are kept, its own writes are
    rolled back, and none after it runs."""
    from accounts import service as accounts
    from core.actor import Actor

    ran = []

    def organisation(name: str, fail: bool = False):
        def run(s, world, at):
            ran.append(name)
            accounts.create_organisation(s, actor=Actor.system("demo-seed"), kind="employer", name=name, now=at)
            s.flush()
            if fail:
                raise RuntimeError("the services refused")
        return run

    now = clock.now()

    def demo(world):
        return [DemoStep(now, "trial", "second organisation", organisation("第二机构", fail=True)),
                DemoStep(now, "trial", "third organisation", organisation("第三机构"))]

    def earlier(world):
        return [DemoStep(now - timedelta(hours=1), "before", "first organisation", organisation("第一机构"))]

    world = DemoWorld(now=now, rng=random.Random(1))
    steps = plan(world, [Area(name="trial", demo=demo), Area(name="before", demo=earlier)])
    assert [s.label for s in steps] == ["before: first organisation", "trial: second organisation",
                                        "trial: third organisation"]
    with pytest.raises(DemoStepFailed, match="'trial: second organisation' at .*RuntimeError: the services refused"):
        run_steps(session, world, steps, after_op=lambda s, when: None)
    assert ran == ["第一机构", "第二机构"]
    names = set(session.scalars(select(Organisation.name)))
    assert "第一机构" in names and "第二机构" not in names


def test_a_step_must_name_the_area_that_contributes_it(clock):
    def demo(world):
        return [DemoStep(clock.now(), "tender", "a step in another's name", lambda s, w, at: None)]

    with pytest.raises(AreaConflict, match="another's name"):
        plan(DemoWorld(now=clock.now(), rng=random.Random(1)), [Area(name="trial", demo=demo)])


def test_each_area_sums_up_what_it_made_in_both_languages(app):
    from sunbid.areas import AREAS

    world = DemoWorld(now=datetime(2026, 11, 22, 2, 0, tzinfo=UTC), rng=random.Random(1))
    world.counts.update({"organisations": 48, "users": 244, "tenders": 24, "downloads": 129, "questions": 1,
                         "amendments": 2, "bids": 56, "tenders opened": 1, "bids opened": 3, "experts": 200})
    with app.app_context():
        assert summaries(world, AREAS, "en") == [
            "48 organisations and 244 users",
            "24 tenders, 129 document downloads, 1 question, 2 amendments, 56 sealed bids; "
            "1 tender opened (3 bids opened)",
            "200 expert profiles"]
        assert summaries(world, AREAS, "zh_CN") == [
            "48 个机构、244 个用户",
            "24 个招标项目、129 次招标文件下载、1 个问题、2 份澄清/修改公告、56 份密封投标文件；已开标 1 个项目（开启 3 份投标文件）",
            "200 份专家档案"]
    assert terminal_locale({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert terminal_locale({"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"
    assert terminal_locale({}) == "en"


def test_an_area_planned_after_the_tenders_leaves_their_bids_as_they_were():
    """The bids draw their prices while they run, from a generator the tender plan set aside: an area planned
    later may draw from the demo's numbers without changing them."""
    from accounts import demo as accounts_demo
    from tender import demo as tender_demo

    def bid_draws(later_draws: int) -> list[float]:
        world = DemoWorld(now=datetime(2026, 11, 22, 2, 0, tzinfo=UTC), rng=random.Random(2026))
        accounts_demo.plan(world)
        steps = tender_demo.plan(world)
        for _ in range(later_draws):  # what an area planned after the tenders would draw
            world.rng.random()
        [bid_rng] = {id(r): r for r in (s.run.keywords.get("rng") for s in steps) if r is not None}.values()
        return [bid_rng.random() for _ in range(3)]

    assert bid_draws(0) == bid_draws(50)


def test_status_sql_matches_the_rule(app, session, make, clock):
    agency = make.user("agency")
    make.tender(agency)
    published, _ = make.tender(agency, publish=True)
    make.tender(agency, publish=True, deadline=clock.now() + timedelta(days=20, hours=1, minutes=1))
    cancelled, _ = make.tender(agency, publish=True)
    from core.db import unit_of_work

    with unit_of_work(session):
        publication.cancel_tender(session, actor=agency, tender_id=cancelled.id, reason="x", now=clock.now())
    for offset in (timedelta(0), timedelta(days=20, hours=1, minutes=1), timedelta(days=21), timedelta(days=40)):
        now = clock.now() + offset
        for state in ("draft", "published", "closed", "cancelled"):
            by_sql = {t.id for t in session.scalars(select(Tender).where(portal.status_clause(state, now)))}
            by_rule = {t.id for t in session.scalars(select(Tender)) if service.status(t, now).value == state}
            assert by_sql == by_rule, (state, offset)


def test_serve_refuses_the_development_secret(monkeypatch):
    from sunbid.cli import main

    monkeypatch.delenv("SUNBID_SECRET_KEY", raising=False)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0 and "SUNBID_SECRET_KEY" in result.output
    monkeypatch.setenv("SUNBID_SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("SUNBID_SANDBOX", "1")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0 and "andbox" in result.output


def test_db_upgrade_command(tmp_path, monkeypatch):
    from sunbid.cli import main
    from core.migrate import current

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SUNBID_DATABASE_URL", url)
    monkeypatch.setenv("SUNBID_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert current(url) is not None


def test_create_admin_command(tmp_path, monkeypatch):
    from sunbid.cli import main
    from core.db import make_engine, make_sessionmaker

    url = f"sqlite:///{tmp_path / 'admin.db'}"
    monkeypatch.setenv("SUNBID_DATABASE_URL", url)
    monkeypatch.setenv("SUNBID_DATA_DIR", str(tmp_path))
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    args = ["create-admin", "--username", "root", "--name", "管理员", "--centre", "滨海市公共资源交易中心"]
    weak = CliRunner().invoke(main, [*args, "--password", "short"])
    assert weak.exit_code != 0 and "10 characters" in weak.output
    ok = CliRunner().invoke(main, [*args, "--password", "Strong-Admin-2026"])
    assert ok.exit_code == 0, ok.output
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        user = s.scalar(select(User).where(User.username == "root"))
        assert user.role == "admin" and user.organisation.kind == "platform"
        assert verify(s) == 2
    engine.dispose()


def test_the_home_page_promises_only_what_exists(client):
    """No expert draw yet: the home page does not promise one, in either language."""
    en = client.get("/?lang=en").get_data(as_text=True)
    zh = client.get("/?lang=zh_CN").get_data(as_text=True)
    assert "sealed bids" in en and "密封投标" in zh
    assert "expert" not in en.lower() and "专家" not in zh


def test_create_supervisor_command_makes_a_first_supervisor_who_is_approved(tmp_path, monkeypatch):
    from sunbid.cli import main
    from core.db import make_engine, make_sessionmaker

    url = f"sqlite:///{tmp_path / 'sup.db'}"
    monkeypatch.setenv("SUNBID_DATABASE_URL", url)
    monkeypatch.setenv("SUNBID_DATA_DIR", str(tmp_path))
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    centre = "滨海市公共资源交易中心"
    assert CliRunner().invoke(main, ["create-admin", "--username", "root", "--name", "管理员", "--centre", centre,
                                     "--password", "Strong-Admin-2026"]).exit_code == 0
    missing = CliRunner().invoke(main, ["create-supervisor", "--username", "sup", "--name", "监督员",
                                        "--organisation", "nowhere", "--password", "Watchful-Eye-2026"])
    assert missing.exit_code != 0 and "nowhere" in missing.output
    ok = CliRunner().invoke(main, ["create-supervisor", "--username", "sup", "--name", "监督员",
                                   "--organisation", centre, "--password", "Watchful-Eye-2026"])
    assert ok.exit_code == 0, ok.output
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        user = s.scalar(select(User).where(User.username == "sup"))
        assert user.role == "supervisor" and user.active and user.role_approved_at is not None
    engine.dispose()
