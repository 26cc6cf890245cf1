"""Demo tenders for ``sunbid demo``: every state that exists, made through the services in time order."""
from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.blobs import BlobStore
from core.db import unit_of_work
from core.money import from_fen, round_fen
from tender import downloads, inputs, publication, service

CITY = "滨海市"
DISTRICTS = ["东湖区", "西山区", "南港区", "北岸区", "高新区", "滨海新区"]
TITLES = {
    "works": ["{d}滨江路道路改造工程施工", "{d}第三中学教学楼新建工程", "{d}污水管网提升改造工程",
              "{d}凤凰河综合整治工程（一期）", "{d}保障性住房配套道路工程", "{d}体育中心室外运动场改造工程",
              "{d}老旧小区综合改造工程（二标段）", "{d}人民医院门诊楼装修工程"],
    "goods": ["{c}第一人民医院CT设备采购", "{d}中小学智慧教室设备采购", "{c}公安局执法记录仪采购",
              "{c}环卫作业车辆采购项目", "{d}政务服务中心办公家具采购", "{c}图书馆图书采购项目",
              "{c}疾控中心实验室设备采购", "{d}社区卫生服务中心医疗设备采购"],
    "services": ["{d}政府机关物业管理服务", "{c}城市道路清扫保洁服务", "{c}政务云平台运维服务",
                 "{d}绿化养护服务（2027年度）", "{c}公共资源交易中心安保服务", "{c}智慧交通系统运维服务",
                 "{d}食堂餐饮服务采购", "{c}财政资金绩效评价服务"],
}
PRICES = {"works": (5_000_000, 80_000_000), "goods": (500_000, 15_000_000), "services": (300_000, 6_000_000)}
QUESTIONS = ["投标保证金是否可以采用银行保函形式提交？", "资格要求中的类似业绩是否包括在建项目？",
             "工程量清单第3章第12项的单位是否有误？", "是否允许联合体投标？", "技术参数中的“不低于”是否允许正偏离？"]
ANSWERS = ["可以，保函须由国有商业银行出具，有效期不短于投标有效期。", "不包括，须为已竣工验收的项目。",
           "单位应为“m³”，以本答复为准。", "本项目不接受联合体投标。", "允许正偏离，评审时不额外加分。"]


def document_pdf(title: str, code: str, agency: str, body: str) -> bytes:
    """A real PDF of the tender documents, rendered with WeasyPrint (Chinese text)."""
    from html import escape

    from core.pdf import FONT, html_to_pdf

    html = f"""<html><head><meta charset="utf-8"><style>
      @page {{ size: A4; margin: 2cm; }} body {{ font-family: {FONT}; font-size: 11pt; }}
      h1 {{ text-align: center; font-size: 20pt; margin-top: 4cm; }} .c {{ text-align: center; }}
    </style></head><body>
      <h1>{escape(title)}</h1><p class="c">招标文件</p><p class="c">项目编号：{escape(code)}</p>
      <p class="c">招标人 / 代理机构：{escape(agency)}</p>
      <h2>第一章 招标公告</h2><p>{escape(body)}</p>
      <h2>第二章 投标人须知</h2><p>投标文件须按本平台要求加密后在投标截止时间前递交，逾期送达的投标文件不予受理。</p>
    </body></html>"""
    return html_to_pdf(html)


def sealed_bid(session: Session, *, tender_id: int, bidder: Any, rng: random.Random, blobs: BlobStore) -> Any:
    """A real bid package (bid.json + a PDF), sealed with age to the tender's opening key, into the blob store."""
    import tempfile
    from pathlib import Path

    from accounts.models import Organisation
    from tender import bidpackage, bids, sealing
    from tender.models import OpeningKey, Tender

    t = session.get(Tender, tender_id)
    org = session.get(Organisation, bidder.organisation_id)
    price = round_fen(from_fen(t.estimated_price_fen) * rng.randint(850, 990) / 1000)
    with tempfile.TemporaryDirectory() as tmp:
        files = Path(tmp) / "files"
        files.mkdir()
        (files / "投标函.pdf").write_bytes(document_pdf(f"{t.title} 投标函", t.project_code, org.name,
                                                      f"投标报价：人民币 {price:,.2f} 元"))
        package, sealed = Path(tmp) / "bid.zip", Path(tmp) / "bid.age"
        bidpackage.pack(files, tender=t.project_code, lot=1, bidder_name=org.name, credit_code=org.credit_code,
                        price=f"{price:.2f}", duration_days=rng.choice((90, 180, 365)), validity_days=90,
                        output=package)
        sealing.seal_file(package, sealed, [session.get(OpeningKey, t.id).recipient])
        with sealed.open("rb") as f:
            return bids.store_sealed(f, blobs=blobs, limit=50 * 1024 * 1024)


def seed(session: Session, people: Any, now: datetime, rng: random.Random, context: Any) -> dict[str, int]:
    blobs, after_op = context.blobs, context.after_op
    plan: list[tuple[datetime, int, Callable[[Session, datetime], None]]] = []
    ids: dict[int, int] = {}
    counter = iter(range(10**9))

    def at(when: datetime, fn: Callable[[Session, datetime], None]) -> None:
        if when <= now:
            plan.append((when, next(counter), fn))

    kinds = ["draft"] * 3 + ["published"] * 12 + ["closed"] * 6 + ["cancelled"] * 3
    counts = {"tenders": 0, "downloads": 0, "questions": 0, "amendments": 0, "bids": 0, "tenders opened": 0,
              "bids opened": 0}
    for i, kind in enumerate(kinds):
        category = ("works", "goods", "services")[i % 3]
        staff = people.agencies[i % len(people.agencies)][0]
        district = rng.choice(DISTRICTS)
        title = TITLES[category][(i // 3) % len(TITLES[category])].format(d=district, c=CITY)
        low, high = PRICES[category]
        estimate = Decimal(rng.randrange(low // 10_000, high // 10_000)) * 10_000
        deposit = min(Decimal(int(estimate * Decimal("0.02") / 1000)) * 1000, Decimal(800_000))
        if kind == "draft":
            publish = None
            created = now - timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 8))
            start = now + timedelta(days=2)
        elif kind == "published":
            publish = now - timedelta(days=rng.randint(1, 15), hours=rng.randint(0, 20))
            created, start = publish - timedelta(days=1, hours=3), publish
        elif kind == "closed":
            publish = now - timedelta(days=rng.randint(30, 60), hours=rng.randint(0, 20))
            created, start = publish - timedelta(days=2), publish
        else:
            publish = now - timedelta(days=rng.randint(16, 25))
            created, start = publish - timedelta(days=1), publish
        start = start.replace(second=0, microsecond=0)
        deadline = (start + timedelta(days=rng.randint(21, 28))).replace(hour=1, minute=30)  # 09:30 Beijing
        if deadline - start < timedelta(days=20):
            deadline += timedelta(days=1)
        data = inputs.TenderInput(
            title=title, regime="works" if category == "works" else "procurement", category=category,
            region=district, estimated_price=estimate, deposit=deposit, download_start=start,
            download_end=start + timedelta(days=rng.randint(6, 10)), deadline=deadline,
            description=f"{title}。项目位于{CITY}{district}，资金来源为财政资金，已落实。招标范围详见招标文件。",
            qualification="投标人须具备独立法人资格；近三年无重大违法记录；" +
                          ("具备市政公用工程施工总承包二级及以上资质。" if category == "works" else "具备相应履约能力。"),
            evaluation_method="lowest_price" if category == "goods" and i % 2 else "comprehensive",
        )

        def create(s: Session, t: datetime, i: int = i, data: inputs.TenderInput = data, staff=staff) -> None:
            ids[i] = publication.create_tender(s, actor=staff, data=data, now=t).id
            counts["tenders"] += 1

        def upload(s: Session, t: datetime, i: int = i, staff=staff, title: str = title) -> None:
            tender = service.get_tender(s, staff, ids[i])
            pdf = document_pdf(title, tender.project_code, staff.name, tender.description)
            publication.add_document(s, actor=staff, tender_id=ids[i], filename=f"{tender.project_code}-招标文件.pdf",
                                     stream=io.BytesIO(pdf), blobs=blobs, limit=50 * 1024 * 1024, now=t)

        at(created, create)
        at(created + timedelta(hours=1), upload)
        if publish is None:
            continue
        at(publish, lambda s, t, i=i, staff=staff: publication.publish_tender(s, actor=staff, tender_id=ids[i], now=t))
        downloaders = rng.sample(people.bidders, rng.randint(3, 9))
        for n, bidder in enumerate(downloaders):
            when = publish + timedelta(hours=2 + n * rng.randint(3, 20))

            def download(s: Session, t: datetime, i: int = i, bidder=bidder) -> None:
                tender = service.get_tender(s, bidder, ids[i])
                downloads.download_document(s, actor=bidder, tender_id=ids[i], document_id=tender.documents[0].id,
                                            now=t)
                counts["downloads"] += 1

            at(min(when, publish + timedelta(days=5)), download)
        if kind in ("published", "closed"):  # sealed bids waiting for opening
            for n, bidder in enumerate(downloaders[:rng.randint(2, 4) if kind == "published" else 4]):
                def submit(s: Session, t: datetime, i: int = i, bidder=bidder) -> None:
                    from tender import bids

                    stored = sealed_bid(s, tender_id=ids[i], bidder=bidder, rng=rng, blobs=blobs)
                    bids.submit_bid(s, actor=bidder, tender_id=ids[i], lot=1, stored=stored, now=t,
                                    signer=context.signer)
                    counts["bids"] += 1

                at(publish + timedelta(days=5, hours=3 + 5 * n), submit)
        for q in range(rng.randint(1, 2)):
            asked = publish + timedelta(days=2 + q, hours=rng.randint(0, 8))
            k = rng.randrange(len(QUESTIONS))
            qid: dict[str, int] = {}

            def ask(s: Session, t: datetime, i: int = i, b=downloaders[q], k: int = k, qid=qid) -> None:
                qid["id"] = publication.ask_question(s, actor=b, tender_id=ids[i], text=QUESTIONS[k], now=t).id
                counts["questions"] += 1

            def answer(s: Session, t: datetime, i: int = i, staff=staff, k: int = k, qid=qid) -> None:
                publication.answer_question(s, actor=staff, tender_id=ids[i], question_id=qid["id"], answer=ANSWERS[k],
                                            now=t)

            at(asked, ask)
            at(asked + timedelta(hours=20), answer)
        if i % 4 == 1 and kind != "cancelled":
            def amend(s: Session, t: datetime, i: int = i, staff=staff) -> None:
                publication.amend_tender(s, actor=staff, tender_id=ids[i], now=t,
                                         text="澄清：投标文件递交方式以本平台加密递交为准；评分办法第2.3条笔误更正。")
                counts["amendments"] += 1

            at(deadline - timedelta(days=10), amend)  # less than 15 days before: the deadline moves out
        if kind == "closed" and not counts.get("opening_planned"):  # one tender is opened at the demo
            counts["opening_planned"] = 1

            def present(s: Session, t: datetime, i: int = i) -> None:
                from sqlalchemy import select

                from tender import opening, sealing
                from tender.models import KeyShare

                for custodian in people.custodians[:2]:
                    row = s.scalar(select(KeyShare).where(KeyShare.tender_id == ids[i],
                                                          KeyShare.custodian_id == custodian.user_id))
                    share = sealing.open_share(row.sealed, identity=people.custodian_keys[custodian.name])
                    opening.submit_share(s, actor=custodian, tender_id=ids[i], share=share, now=t)

            def open_all(s: Session, t: datetime, i: int = i, staff=staff) -> None:
                from tender import opening
                from tender.models import Tender

                results = opening.open_bids(s, actor=staff, tender_id=ids[i], now=t, blobs=blobs)
                counts["bids opened"] += len(results)
                counts["tenders opened"] += s.get(Tender, ids[i]).opened_at is not None  # not failed (流标)

            plan_deadline = deadline + (timedelta(days=5) if i % 4 == 1 else timedelta(0))  # an amendment moves it
            at(plan_deadline + timedelta(minutes=5), present)
            at(plan_deadline + timedelta(minutes=20), open_all)
        if kind == "cancelled":
            at(publish + timedelta(days=6), lambda s, t, i=i, staff=staff: publication.cancel_tender(
                s, actor=staff, tender_id=ids[i], now=t, reason="因项目预算调整，经研究决定终止本次招标。"))
    for when, _, fn in sorted(plan, key=lambda p: (p[0], p[1])):
        with unit_of_work(session):
            fn(session, when)
        after_op(session, when)
    counts.pop("opening_planned", None)
    return counts
