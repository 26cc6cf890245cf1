"""The demo's people: the trading centre, supervisors, custodians (with their demo age keys), agencies,
bidders and experts, made through the accounts' services in time order (``sunbid.demo`` runs it first,
then every area's demo steps)."""
from __future__ import annotations

import random
from pathlib import Path
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from datetime import datetime, timedelta

import pyrage
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import service
from accounts.models import Organisation, User
from accounts.rules import OrgKind
from core.actor import Actor
from core.blobs import BlobStore
from core.db import unit_of_work
from core.roles import Role
from core.rules import make_credit_code

DEMO_PASSWORD = "Sunbid-demo-2026"
CITY = "滨海市"
DISTRICTS = ["东湖区", "西山区", "南港区", "北岸区", "高新区", "滨海新区"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国志强文博宇航思远晓东海波立新雪梅佳怡子涵浩然俊杰"
BIDDER_WORDS = ["宏达", "华建", "中恒", "鑫源", "瑞丰", "永信", "正泰", "天成", "博远", "金桥", "恒通", "润泽", "海晟",
                "安和", "盛景", "同创", "明远", "广益", "汇隆", "德信", "嘉禾", "锦程", "信诚", "卓越", "东方", "联合",
                "新纪元", "兴业", "长青", "荣昌", "国泰", "科达"]
BIDDER_TRADES = ["建设工程有限公司", "建筑安装工程有限公司", "市政工程有限公司", "科技有限公司", "医疗设备有限公司",
                 "物业服务有限公司", "信息技术股份有限公司", "环境工程有限公司"]


@dataclass
class DemoPeople:
    admin: Actor
    supervisors: list[Actor] = field(default_factory=list)
    custodians: list[Actor] = field(default_factory=list)
    agencies: list[list[Actor]] = field(default_factory=list)  # staff per agency
    bidders: list[Actor] = field(default_factory=list)  # one user per bidder company
    experts: list[Actor] = field(default_factory=list)
    logins: list[tuple[Role, str, str]] = field(default_factory=list)  # role, username, organisation
    custodian_keys: dict[str, str] = field(default_factory=dict)  # demo only: username → age identity


AfterOp = Callable[[Session, datetime], None]


@dataclass
class DemoContext:
    """What seeders may use besides the session: the blob store, the platform's signer, and the hook
    to run after each operation (the running platform signs checkpoints there)."""

    blobs: BlobStore
    signer: Any = None
    after_op: AfterOp = lambda session, when: None


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def credit_code(rng: random.Random, prefix: str = "91350200") -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = prefix + "".join(rng.choice(alphabet[:10] if i < 8 else alphabet) for i in range(17 - len(prefix)))
    return make_credit_code(body)


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, name=user.username, role=user.role, organisation_id=user.organisation_id,
                 address="127.0.0.1")


def enrol_custodian(session: Session, *, custodian: Actor, identity: str, supervisor: Actor, now: datetime) -> None:
    """Take a newly created custodian through the real steps: a supervisor approves the role the account was
    created with, then the custodian asks for a challenge sealed to their recipient, decrypts it with their own
    identity (as ``age -d -i key.txt`` would) and answers it.  Demo and test data only: a real custodian's
    identity never reaches the platform."""
    from accounts.models import RoleRequest

    with unit_of_work(session):
        request = session.scalar(select(RoleRequest).where(RoleRequest.user_id == custodian.user_id,
                                                           RoleRequest.decision.is_(None)))
        service.decide_role_change(session, actor=supervisor, request_id=request.id, approve=True, now=now)
    key = pyrage.x25519.Identity.from_str(identity)
    with unit_of_work(session):
        challenge = service.issue_recipient_challenge(session, actor=custodian, recipient=str(key.to_public()),
                                                      now=now)
    answer = pyrage.decrypt(challenge.sealed, [key]).decode("ascii")
    with unit_of_work(session):
        result = service.register_age_recipient(session, actor=custodian, challenge_id=challenge.id, answer=answer,
                                                now=now)
    if result.error is not None:  # pragma: no cover - the services disagree with themselves
        raise result.error


def seed_accounts(session: Session, now: datetime, rng: random.Random, keys_dir: Path) -> DemoPeople:
    system = Actor.system("demo-seed")
    pw_hash = service.hash_password(DEMO_PASSWORD)
    at = now - timedelta(days=120)

    def org(kind: OrgKind, name: str, code: str | None = None, region: str = CITY) -> Organisation:
        with unit_of_work(session):
            return service.create_organisation(session, actor=system, kind=kind, name=name, credit_code=code,
                                               region=region, now=at)

    def user(username: str, display: str, role: Role, o: Organisation) -> Actor:
        with unit_of_work(session):
            u = service.create_user(session, actor=system, username=username, display_name=display,
                                    password=DEMO_PASSWORD, password_hash=pw_hash, role=role,
                                    organisation_id=o.id, now=at)
        return _actor(u)

    centre = org(OrgKind.PLATFORM, f"{CITY}公共资源交易中心", credit_code(rng, "12350200"))
    people = DemoPeople(admin=user("admin", "平台管理员", Role.ADMIN, centre))
    people.logins.append((Role.ADMIN, "admin", centre.name))
    for i in range(1, 3):
        people.supervisors.append(user(f"supervisor{i}", person_name(rng), Role.SUPERVISOR, centre))
        people.logins.append((Role.SUPERVISOR, f"supervisor{i}", centre.name))
    keys_dir.mkdir(parents=True, exist_ok=True)
    # Three custodians of three organisations, so that no organisation holds the 2 shares that open a tender:
    # the centre, the city's finance bureau and a notary office (platform-side organisations).
    custodian_orgs = [centre, org(OrgKind.PLATFORM, f"{CITY}财政局"), org(OrgKind.PLATFORM, f"{CITY}公证处")]
    for i, home in enumerate(custodian_orgs, start=1):
        custodian = user(f"custodian{i}", person_name(rng), Role.CUSTODIAN, home)
        identity = pyrage.x25519.Identity.generate()  # demo only: a real custodian makes and keeps their own
        key_file = keys_dir / f"custodian{i}.txt"
        key_file.write_text(f"# demo key of custodian{i}\n{identity}\n")
        key_file.chmod(0o600)
        enrol_custodian(session, custodian=custodian, identity=str(identity),
                        supervisor=people.supervisors[0], now=at)
        people.custodians.append(custodian)
        people.custodian_keys[custodian.name] = str(identity)
        people.logins.append((Role.CUSTODIAN, f"custodian{i}", home.name))
    agency_names = [f"{CITY}建设工程招标代理有限公司", f"{CITY}政府采购中心", f"华信项目管理咨询有限公司{CITY}分公司"]
    for a, name in enumerate(agency_names, start=1):
        o = org(OrgKind.AGENCY, name, credit_code(rng))
        staff = [user(f"agency{a}" + ("" if s == 1 else f"_{s}"), person_name(rng), Role.AGENCY, o) for s in (1, 2)]
        people.agencies.append(staff)
        people.logins.append((Role.AGENCY, staff[0].name, name))
    used: set[str] = set()
    for b in range(1, 33):
        while True:
            name = CITY + rng.choice(BIDDER_WORDS) + rng.choice(BIDDER_TRADES)
            if name not in used:
                used.add(name)
                break
        o = org(OrgKind.BIDDER, name, credit_code(rng), region=rng.choice(DISTRICTS))
        people.bidders.append(user(f"bidder{b}", person_name(rng), Role.BIDDER, o))
        if b <= 5:
            people.logins.append((Role.BIDDER, f"bidder{b}", name))
    employers = [org(OrgKind.EMPLOYER, n) for n in (
        f"{CITY}建筑设计研究院", f"{CITY}市政工程设计院", "滨海大学", "滨海理工学院", f"{CITY}第一人民医院",
        f"{CITY}造价管理站", f"{CITY}信息中心", "滨海会计师事务所", "滨海律师事务所", f"{CITY}园林设计院")]
    for e in range(1, 201):
        people.experts.append(user(f"expert{e:03d}", person_name(rng), Role.EXPERT, rng.choice(employers)))
    people.logins.append((Role.EXPERT, "expert001 … expert200", "—"))
    return people
