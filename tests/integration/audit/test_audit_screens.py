"""The audit screens speak the user's language: translated actions, roles and objects, yuan, the platform's
time zone, no "None"; the log's filters take project codes and exact user names; verifying is quick."""
from __future__ import annotations

import ast
import html
import io
import re
import shutil
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from audit import labels
from audit.models import AuditEntry
from core.db import unit_of_work
from core.pdf import pdf_text
from tender import opening
from tests.conftest import login
from tests.integration.tender.test_opening import _present_and_open, ceremony  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[3]
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)*\.[a-z]+(?:_[a-z]+)*\b")  # bid.submitted, opening.share_presented


def recorded_actions() -> set[str]:
    """Every action code the code passes to audit.service.record (constants, both arms of an if)."""
    found: set[str] = set()
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in ("tests", "benchmarks", ".venv", "migrations"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "record":
                for kw in node.keywords:
                    if kw.arg == "action":
                        found |= {c.value for c in ast.walk(kw.value)
                                  if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return found


def test_every_recorded_action_has_a_label_in_both_languages(app):
    actions = recorded_actions()
    assert {"bid.submitted", "opening.confirmed", "user.deactivated", "witness.registered"} <= actions
    missing = sorted(actions - set(app.extensions["sunbid"].labels.actions))
    assert not missing, f"actions without a label in audit.labels: {missing}"
    for locale in ("en", "zh_CN"):
        with app.test_request_context(f"/?lang={locale}"):
            shown = {a: labels.action_label(a) for a in actions}
            assert all(label and label != a for a, label in shown.items())
            if locale == "zh_CN":
                untranslated = [a for a, label in shown.items() if not re.search(r"[\u4e00-\u9fff]", label)]
                assert not untranslated, f"no Chinese label for {untranslated}"
            assert len(set(shown.values())) == len(shown)  # no two actions read alike


def visible_text(page: str) -> str:
    """The text a reader sees: no tags, no attribute values, no scripts or styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
def opened(ceremony, session, clock, app, make):  # noqa: F811
    """A tender opened with two key shares, one bidder's confirmation, and a supervisor "sup"."""
    if shutil.which("age") is None:
        pytest.skip("the age binary is not installed")
    from core.actor import Actor
    from accounts.models import User
    from tender.models import Bid

    t, agency, shares = ceremony
    _present_and_open(session, clock, app, t, agency, shares)
    clock.advance(timedelta(minutes=2))
    u = session.get(User, session.query(Bid.user_id).filter(Bid.tender_id == t.id).first()[0])
    with unit_of_work(session):
        opening.respond(session, actor=Actor(u.id, u.username, u.role, u.organisation_id), tender_id=t.id,
                        objection="", now=clock.now())
    make.user("supervisor", username="sup")
    return t


def test_the_chinese_log_and_replay_speak_chinese(opened, client, session):
    t = opened
    login(client, "sup")
    for url in ("/audit/log?lang=zh_CN", f"/audit/log?lang=zh_CN&tender={t.project_code}",
                f"/audit/tenders/{t.id}/replay?lang=zh_CN"):
        page = client.get(url)
        assert page.status_code == 200
        text = visible_text(page.get_data(as_text=True))
        assert "None" not in text, url
        assert not CODE.findall(text), (url, sorted(set(CODE.findall(text))))
    for url in ("/audit/log?lang=en", f"/audit/tenders/{t.id}/replay?lang=en"):
        text = visible_text(client.get(url).get_data(as_text=True))
        assert "None" not in text and not CODE.findall(text), url
    log = visible_text(client.get(f"/audit/log?lang=zh_CN&tender={t.project_code}").get_data(as_text=True))
    assert "已提交密封投标文件" in log and "投标人" in log and "招标项目" in log
    replay = visible_text(client.get(f"/audit/tenders/{t.id}/replay?lang=zh_CN").get_data(as_text=True))
    assert "¥980,000.00" in replay and "¥965,500.50" in replay  # the opening's prices in yuan, not fen
    assert "96550050" not in replay
    deadline = t.deadline.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert deadline in replay and t.deadline.strftime("%Y-%m-%dT%H:%M") not in replay  # platform zone, not UTC ISO
    assert "密钥份额已提交" in replay and "开标记录已确认" in replay


def test_the_log_filters_by_project_code_and_exact_user_name(opened, client, session, make):
    t = opened
    other, _agency = make.tender(publish=True)
    for n in (1, 10, 11):
        make.user("bidder", username=f"bidderx{n}")
        login(client.application.test_client(), f"bidderx{n}")  # each signs in: an entry with its name
    login(client, "sup")
    page = client.get(f"/audit/log?tender={t.project_code}").get_data(as_text=True)
    assert f"/audit/tenders/{t.id}/replay" in page and f"/audit/tenders/{other.id}/replay" not in page
    assert client.get(f"/audit/log?tender={t.project_code.lower()}").get_data(as_text=True).count(
        f"/audit/tenders/{t.id}/replay") >= 5
    unknown = client.get("/audit/log?tender=SB-1999-99999").get_data(as_text=True)
    assert "No tender has the project code or number SB-1999-99999" in unknown
    assert "No entries match these filters" in unknown
    seqs = {name: session.scalar(select(AuditEntry.seq).where(AuditEntry.actor == name))
            for name in ("bidderx1", "bidderx10", "bidderx11")}
    assert None not in seqs.values()
    page = client.get("/audit/log?actor=bidderx1").get_data(as_text=True)
    assert f'href="/audit/log/{seqs["bidderx1"]}"' in page
    assert f'href="/audit/log/{seqs["bidderx10"]}"' not in page and f'href="/audit/log/{seqs["bidderx11"]}"' not in page
    assert client.get("/audit/log?actor=bidderx").get_data(as_text=True).count('href="/audit/log/') == 0


def test_replay_pdf_wraps_its_hashes_and_reads_in_chinese(opened, client, session):
    from tender.models import Bid

    t = opened
    login(client, "sup")
    pdf = client.get(f"/audit/tenders/{t.id}/replay.pdf?lang=zh_CN")
    assert pdf.mimetype == "application/pdf"
    from audit import signing

    assert signing.validate(pdf.data, client.get("/audit/certificate").data).ok  # signed by the platform
    reader = PdfReader(io.BytesIO(pdf.data))  # the page's geometry below
    text = pdf_text(pdf.data)
    assert "None" not in text and not CODE.findall(text)
    joined = re.sub(r"\s", "", text)  # cells wrap where they must
    assert "已提交密封投标文件" in joined and "¥980,000.00" in joined
    digests = [d for (d,) in session.query(Bid.sha256).filter(Bid.tender_id == t.id)]
    for digest in digests:
        assert digest in joined  # each hash is there in full, not cut off
        assert not any(digest in line for line in text.splitlines())  # and broken over lines to fit its cell
    width = float(reader.pages[0].mediabox.width)
    pieces = []

    def visitor(piece, cm, tm, font, size):
        if piece.strip():
            scale = (tm[0] * cm[0]) or 1
            pieces.append((tm[4] * cm[0] + cm[4], len(piece.strip()) * size * abs(scale) * 0.5, piece))

    for page in reader.pages:
        page.extract_text(visitor_text=visitor)
    assert pieces
    overflowing = [p for x, w, p in pieces if x + w > width]
    assert not overflowing  # nothing runs beyond the page's right edge


def test_verifying_the_whole_chain_is_quick_on_the_embedded_database(tmp_path, clock):
    """Thousands of entries verify in about the time the offline verifier takes, through the page."""
    from audit.service import record
    from accounts import service
    from core.actor import Actor
    from sunbid.app import create_app
    from core.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'log.db'}"
    upgrade(url)
    app = create_app({"SUNBID_DATABASE_URL": url, "SUNBID_DATA_DIR": str(tmp_path / "data"),
                      "SUNBID_CHECKPOINT_EVERY": "1"}, clock=clock)
    platform = app.extensions["sunbid"]
    system = Actor.system()
    with platform.sessions() as s:
        with unit_of_work(s):
            org = service.create_organisation(s, actor=system, kind="platform", name="Centre", now=clock.now())
            service.create_user(s, actor=system, username="sup", display_name="Sup", password="Correct-horse-9",
                                role="supervisor", organisation_id=org.id, now=clock.now())
        for batch in range(6):
            with unit_of_work(s):
                for i in range(500):
                    record(s, actor=system, action="tender.amended", object_type="tender", object_id=i,
                           now=clock.now(), payload={"i": i, "batch": batch})
    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.post("/login", data={"username": "sup", "password": "Correct-horse-9"}).status_code == 302
    started = time.perf_counter()
    page = client.get("/audit/log?verify=1&lang=en")
    took = time.perf_counter() - started
    assert page.status_code == 200
    assert "The whole hash chain verifies: 3003 entries." in page.get_data(as_text=True)
    assert took < 5, f"verifying 3,003 entries took {took:.1f} s"
    platform.engine.dispose()
