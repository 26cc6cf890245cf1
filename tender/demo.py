"""Demo tenders for ``sunbid demo``: every state that exists, made through the services, and the key custodians'
own age keys their shares are sealed to.

``plan`` (the area's ``Area.demo``) runs after the accounts' plan: the custodians planned there register their
demo age keys by proof as soon as their role is approved (``enrol_custodian`` takes one through every real
step), then it picks its agencies and bidders among the people, puts each tender into the demo world with its
state and times (``DemoTender``: created, published, deadline, opened) and returns the steps that make it.
Each step finds the tender's id in the world, so another area's steps can act on the same tenders in time
order."""
from __future__ import annotations

import io
import random
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pyrage
from sqlalchemy.orm import Session

from accounts.demo import approve_custodian, people_made_at
from accounts.rules import OrgKind
from core.actor import Actor
from core.blobs import BlobStore
from core.db import unit_of_work
from core.roles import Role
from core.demo import DemoStep, DemoTender, DemoWorld
from core.money import from_fen, round_fen
from tender import custodians, downloads, inputs, publication, service

AREA = "tender"

DEMO_REQUIRED = (inputs.RequiredDocumentInput("投标函", ("pdf",), 20),
                 inputs.RequiredDocumentInput("资格证明文件", ("pdf", "zip"), 50),
                 inputs.RequiredDocumentInput("技术方案", ("pdf", "docx"), 100))
"""The documents every demo tender requires in a bid."""

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
        for doc in t.required_documents:  # each required document in its own folder, as the bid form packs it
            (files / doc["name"]).mkdir(exist_ok=True)
            (files / doc["name"] / f"{doc['name']}.pdf").write_bytes(document_pdf(
                f"{t.title} {doc['name']}", t.project_code, org.name, doc["name"]))
        package, sealed = Path(tmp) / "bid.zip", Path(tmp) / "bid.age"
        bidpackage.pack(files, tender=t.project_code, lot=1, bidder_name=org.name, credit_code=org.credit_code,
                        price=f"{price:.2f}", duration_days=rng.choice((90, 180, 365)), validity_days=90,
                        output=package)
        sealing.seal_file(package, sealed, [session.get(OpeningKey, t.id).recipient])
        with sealed.open("rb") as f:
            return bids.store_sealed(f, blobs=blobs, limit=50 * 1024 * 1024)


# ---------------------------------------------------------------- a custodian's own key, step by step

def challenge_custodian(session: Session, *, custodian: Actor, identity: str, now: datetime) -> tuple[int, bytes]:
    """The custodian asks for a challenge sealed to the recipient of their identity: its id and the sealed
    challenge."""
    key = pyrage.x25519.Identity.from_str(identity)
    challenge = custodians.issue_recipient_challenge(session, actor=custodian, recipient=str(key.to_public()),
                                                     now=now)
    return challenge.id, challenge.sealed


def answer_challenge(session: Session, *, custodian: Actor, identity: str, challenge: tuple[int, bytes],
                     now: datetime) -> None:
    """The custodian decrypts the challenge with their own identity (as ``age -d -i key.txt`` would) and
    answers it, which registers their recipient."""
    challenge_id, sealed = challenge
    answer = pyrage.decrypt(sealed, [pyrage.x25519.Identity.from_str(identity)]).decode("ascii")
    result = custodians.register_age_recipient(session, actor=custodian, challenge_id=challenge_id, answer=answer,
                                               now=now)
    if result.error is not None:  # pragma: no cover - the services disagree with themselves
        raise result.error


def enrol_custodian(session: Session, *, custodian: Actor, identity: str, supervisor: Actor, now: datetime) -> None:
    """Take a newly created custodian through the real steps, one transaction each: a supervisor approves the
    role (``accounts.demo.approve_custodian``), the custodian asks for a challenge sealed to their recipient
    and answers it.  Demo and test data only: a real custodian's identity never reaches the platform."""
    with unit_of_work(session):
        approve_custodian(session, custodian=custodian, supervisor=supervisor, now=now)
    with unit_of_work(session):
        challenge = challenge_custodian(session, custodian=custodian, identity=identity, now=now)
    with unit_of_work(session):
        answer_challenge(session, custodian=custodian, identity=identity, challenge=challenge, now=now)


def keys_dir(world: DemoWorld) -> Path:
    """Where the demo custodians' age identities are written (demo only): beside the blob store."""
    return world.context.blobs.root.parent / "demo-custodian-keys"


# ---------------------------------------------------------------- the plan

COUNTED = ("tenders", "downloads", "questions", "amendments", "bids", "tenders opened", "bids opened")


def plan(world: DemoWorld) -> list[DemoStep]:
    """The custodians' own age keys, then twenty-four tenders: 3 drafts, 12 published (some with bids already
    sealed), 6 closed (one opened at the demo) and 3 cancelled, with downloads, questions and answers, and
    amendments."""
    rng, now = world.rng, world.now
    agencies = world.organisations_of(OrgKind.AGENCY)
    bidders = world.people.get(Role.BIDDER, [])
    # the bids draw their prices as they are sealed, in time order, from where this plan left the demo's
    # numbers: the areas planned after this one draw theirs without changing them
    bid_rng = random.Random()
    steps: list[DemoStep] = []

    def at(when: datetime, name: str, run, **params) -> None:
        steps.append(DemoStep(when, AREA, name, partial(run, **params)))

    keys_at = people_made_at(world)  # the custodians register their keys as soon as their role is approved
    for custodian in world.people.get(Role.CUSTODIAN, []):
        at(keys_at, f"{custodian} asks for a challenge to their demo age key", _challenge_custodian,
           custodian=custodian)
        at(keys_at, f"{custodian} answers the challenge", _answer_challenge, custodian=custodian)
    kinds = ["draft"] * 3 + ["published"] * 12 + ["closed"] * 6 + ["cancelled"] * 3
    world.counts.update(dict.fromkeys(COUNTED, 0))
    opening_planned = False
    for i, kind in enumerate(kinds):
        key = f"T{i + 1:02d}"
        category = ("works", "goods", "services")[i % 3]
        staff = agencies[i % len(agencies)].members[0]
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
            required_documents=DEMO_REQUIRED,
        )
        tender = world.add_tender(DemoTender(key=key, state=kind, agency=staff, created_at=created,
                                             published_at=publish, deadline=deadline))
        at(created, f"create {key}", _create, key=key, data=data)
        at(created + timedelta(hours=1), f"upload the documents of {key}", _upload, key=key)
        if publish is None:
            continue
        at(publish, f"publish {key}", _publish, key=key)
        downloaders = rng.sample(bidders, rng.randint(3, 9))
        for n, bidder in enumerate(downloaders):
            when = publish + timedelta(hours=2 + n * rng.randint(3, 20))
            at(min(when, publish + timedelta(days=5)), f"{bidder} downloads the documents of {key}", _download,
               key=key, bidder=bidder)
        if kind in ("published", "closed"):  # sealed bids waiting for opening
            for n, bidder in enumerate(downloaders[:rng.randint(2, 4) if kind == "published" else 4]):
                at(publish + timedelta(days=5, hours=3 + 5 * n), f"{bidder} submits a sealed bid to {key}", _submit,
                   key=key, bidder=bidder, rng=bid_rng)
        for q in range(rng.randint(1, 2)):
            asked = publish + timedelta(days=2 + q, hours=rng.randint(0, 8))
            k = rng.randrange(len(QUESTIONS))
            at(asked, f"{downloaders[q]} asks question {q + 1} on {key}", _ask, key=key, number=q,
               bidder=downloaders[q], text=QUESTIONS[k])
            at(asked + timedelta(hours=20), f"answer question {q + 1} on {key}", _answer, key=key, number=q,
               text=ANSWERS[k])
        if i % 4 == 1 and kind != "cancelled":
            amended = deadline - timedelta(days=10)
            at(amended, f"amend {key}", _amend, key=key)
            if amended <= now:  # under 15 days before the deadline: it moves to 15 days after the amendment
                tender.deadline = deadline + timedelta(days=5)
        if kind == "closed" and not opening_planned:  # one tender is opened at the demo
            opening_planned = True
            tender.state, tender.opens_at = "opened", tender.deadline + timedelta(minutes=20)
            for custodian in world.people.get(Role.CUSTODIAN, [])[:2]:
                at(tender.deadline + timedelta(minutes=5), f"{custodian} presents their share of {key}", _present,
                   key=key, custodian=custodian)
            at(tender.opens_at, f"open the bids of {key}", _open, key=key)
        if kind == "cancelled":
            at(publish + timedelta(days=6), f"cancel {key}", _cancel, key=key)
    bid_rng.setstate(rng.getstate())
    return steps


def summary(world: DemoWorld) -> str:
    from flask_babel import gettext, ngettext

    c = world.counts
    return gettext(
        "%(tenders)s, %(downloads)s, %(questions)s, %(amendments)s, %(bids)s; %(opened)s (%(bids_opened)s)",
        tenders=ngettext("%(num)d tender", "%(num)d tenders", c["tenders"]),
        downloads=ngettext("%(num)d document download", "%(num)d document downloads", c["downloads"]),
        questions=ngettext("%(num)d question", "%(num)d questions", c["questions"]),
        amendments=ngettext("%(num)d amendment", "%(num)d amendments", c["amendments"]),
        bids=ngettext("%(num)d sealed bid", "%(num)d sealed bids", c["bids"]),
        opened=ngettext("%(num)d tender opened", "%(num)d tenders opened", c["tenders opened"]),
        bids_opened=ngettext("%(num)d bid opened", "%(num)d bids opened", c["bids opened"]))


# ---------------------------------------------------------------- the steps

def _challenge_custodian(session: Session, world: DemoWorld, at: datetime, *, custodian: str) -> None:
    identity = pyrage.x25519.Identity.generate()  # demo only: a real custodian makes and keeps their own
    folder = keys_dir(world)
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / f"{custodian}.txt"
    key_file.write_text(f"# demo key of {custodian}\n{identity}\n")
    key_file.chmod(0o600)
    world.custodian_keys[custodian] = str(identity)
    world.records[f"{AREA}/challenge/{custodian}"] = challenge_custodian(
        session, custodian=world.actor(custodian), identity=str(identity), now=at)


def _answer_challenge(session: Session, world: DemoWorld, at: datetime, *, custodian: str) -> None:
    answer_challenge(session, custodian=world.actor(custodian), identity=world.custodian_keys[custodian],
                     challenge=world.records.pop(f"{AREA}/challenge/{custodian}"), now=at)


def _create(session: Session, world: DemoWorld, at: datetime, *, key: str, data: inputs.TenderInput) -> None:
    tender = world.tenders[key]
    tender.id = publication.create_tender(session, actor=world.actor(tender.agency), data=data, now=at).id
    world.counts["tenders"] += 1


def _upload(session: Session, world: DemoWorld, at: datetime, *, key: str) -> None:
    staff = world.actor(world.tenders[key].agency)
    tender = service.get_tender(session, staff, world.tender_id(key))
    pdf = document_pdf(tender.title, tender.project_code, staff.name, tender.description)
    publication.add_document(session, actor=staff, tender_id=tender.id, filename=f"{tender.project_code}-招标文件.pdf",
                         stream=io.BytesIO(pdf), blobs=world.context.blobs, limit=50 * 1024 * 1024, now=at)


def _publish(session: Session, world: DemoWorld, at: datetime, *, key: str) -> None:
    publication.publish_tender(session, actor=world.actor(world.tenders[key].agency), tender_id=world.tender_id(key),
                           now=at)


def _download(session: Session, world: DemoWorld, at: datetime, *, key: str, bidder: str) -> None:
    actor, tender_id = world.actor(bidder), world.tender_id(key)
    tender = service.get_tender(session, actor, tender_id)
    downloads.download_document(session, actor=actor, tender_id=tender_id, document_id=tender.documents[0].id, now=at)
    world.counts["downloads"] += 1


def _submit(session: Session, world: DemoWorld, at: datetime, *, key: str, bidder: str, rng: random.Random) -> None:
    from tender import bids

    actor, tender_id = world.actor(bidder), world.tender_id(key)
    stored = sealed_bid(session, tender_id=tender_id, bidder=actor, rng=rng, blobs=world.context.blobs)
    bids.submit_bid(session, actor=actor, tender_id=tender_id, lot=1, stored=stored, now=at,
                    signer=world.context.signer)
    world.counts["bids"] += 1


def _ask(session: Session, world: DemoWorld, at: datetime, *, key: str, number: int, bidder: str, text: str) -> None:
    question = publication.ask_question(session, actor=world.actor(bidder), tender_id=world.tender_id(key), text=text,
                                    now=at)
    world.records[f"{AREA}/{key}/question/{number}"] = question.id
    world.counts["questions"] += 1


def _answer(session: Session, world: DemoWorld, at: datetime, *, key: str, number: int, text: str) -> None:
    publication.answer_question(session, actor=world.actor(world.tenders[key].agency), tender_id=world.tender_id(key),
                            question_id=world.records[f"{AREA}/{key}/question/{number}"], answer=text, now=at)


def _amend(session: Session, world: DemoWorld, at: datetime, *, key: str) -> None:
    publication.amend_tender(session, actor=world.actor(world.tenders[key].agency), tender_id=world.tender_id(key),
                         now=at, text="澄清：投标文件递交方式以本平台加密递交为准；评分办法第2.3条笔误更正。")
    world.counts["amendments"] += 1


def _present(session: Session, world: DemoWorld, at: datetime, *, key: str, custodian: str) -> None:
    from sqlalchemy import select

    from tender import opening, sealing
    from tender.models import KeyShare

    actor, tender_id = world.actor(custodian), world.tender_id(key)
    row = session.scalar(select(KeyShare).where(KeyShare.tender_id == tender_id,
                                                KeyShare.custodian_id == actor.user_id))
    share = sealing.open_share(row.sealed, identity=world.custodian_keys[custodian])
    opening.submit_share(session, actor=actor, tender_id=tender_id, share=share, now=at)


def _open(session: Session, world: DemoWorld, at: datetime, *, key: str) -> None:
    from tender import opening
    from tender.models import Tender

    tender_id = world.tender_id(key)
    results = opening.open_bids(session, actor=world.actor(world.tenders[key].agency), tender_id=tender_id, now=at,
                                blobs=world.context.blobs)
    world.counts["bids opened"] += len(results)
    world.counts["tenders opened"] += session.get(Tender, tender_id).opened_at is not None  # not failed (流标)


def _cancel(session: Session, world: DemoWorld, at: datetime, *, key: str) -> None:
    publication.cancel_tender(session, actor=world.actor(world.tenders[key].agency), tender_id=world.tender_id(key),
                          now=at, reason="因项目预算调整，经研究决定终止本次招标。")
