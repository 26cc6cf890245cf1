"""The opening record PDF reads like the record a trading centre files: title, facts, bids, key shares,
confirmations and objections, signature lines — checked on a real opening, read back with pypdf."""
from __future__ import annotations

import io
import re
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import select

from core.actor import Actor
from core.db import unit_of_work
from accounts.models import Organisation, User
from core.pdf import pdf_text
from tender import opening
from tender.models import Bid, OpeningResult, Tender
from tests.integration.tender.test_opening import _present_and_open, ceremony  # noqa: F401 (a fixture)


def _respond(session, clock, t, agency):
    submitters = [session.get(User, b.user_id) for b in session.scalars(select(Bid).where(Bid.tender_id == t.id)
                                                                         .order_by(Bid.id))]
    first, second = (Actor(u.id, u.username, u.role, u.organisation_id) for u in submitters[:2])
    clock.advance(timedelta(minutes=1))
    with unit_of_work(session):
        opening.respond(session, actor=first, tender_id=t.id, objection="", now=clock.now())
    with unit_of_work(session):
        row = opening.respond(session, actor=second, tender_id=t.id, objection="报价读错了", now=clock.now())
    with unit_of_work(session):
        opening.answer_objection(session, actor=agency, tender_id=t.id, objection_id=row.id, answer="已复核，无误。",
                                 now=clock.now())
    return first, second


def test_the_opening_record_has_every_element_of_an_official_record(ceremony, session, clock, app, client):  # noqa: F811
    t, agency, shares = ceremony
    _present_and_open(session, clock, app, t, agency, shares)
    _respond(session, clock, t, agency)
    resp = client.get(f"/tenders/{t.id}/opening.pdf?lang=zh_CN")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.data))
    page = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # A4 landscape
    raw = pdf_text(resp.data)
    text = re.sub(r"\s+", "", raw)
    tender = session.get(Tender, t.id)
    centre = session.scalar(select(Organisation.name).where(Organisation.kind == "platform"))
    agency_name = session.get(Organisation, tender.agency_id).name
    local = tender.opened_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    required = {
        "title": "开标记录", "centre": re.sub(r"\s", "", centre), "agency": re.sub(r"\s", "", agency_name),
        "tendering party": "招标人/招标代理机构", "place": "开标地点", "opening time label": "开标时间",
        "opening time": local.strftime("%Y-%m-%d%H:%M:%S"), "budget label": "预算金额",
        "budget": f"¥{tender.estimated_price_fen / 100:,.2f}", "duration column": "工期（日历天）",
        "validity column": "投标有效期（天）", "plaintext column": "明文SHA-256", "shares": "密钥份额提交情况",
        "objections": "确认与异议", "objection": "报价读错了", "answer": "已复核，无误。", "confirmed": "已确认",
        "tendering party signature": "招标人（盖章）", "supervisor signature": "监标人", "recorder signature": "记录人",
        "price": "¥965,500.50", "wrong key": "加密至错误的公钥",
    }
    missing = {name: value for name, value in required.items() if value not in text}
    assert not missing, (missing, raw)
    for r in session.scalars(select(OpeningResult).where(OpeningResult.tender_id == t.id)):
        assert r.ciphertext_sha256 in text
        if r.status == "valid":
            assert r.plaintext_sha256 and r.plaintext_sha256 in text
    for user, _share, position in list(shares.values())[:2]:  # who presented which share
        assert re.sub(r"\s", "", user.display_name) in text and f"第{position}份" in text
    assert text.count("180") >= 3 and text.count("90") >= 3  # duration and validity of the three valid bids
    assert "None" not in raw
    headers = [w for w in raw.splitlines() if w.strip() in ("序", "号", "标", "段")]
    assert not headers  # no header cell wraps one character per line
