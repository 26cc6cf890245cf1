"""The demo's people: the trading centre, supervisors, custodians (their roles approved by a supervisor),
agencies, bidders and experts, made through the accounts' services.

``plan`` (the area's ``Area.demo``) draws every name and code first and puts the people by role and their
organisations into the demo world, so the areas planned after it can choose among them; its steps, all at
``people_made_at(world)`` (120 days before the demo's now), make them, one operation each.  The custodians'
own age keys are the tender area's (``tender.demo``: they register them right after)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import partial
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import service
from accounts.models import User
from core import rules
from core.actor import Actor
from accounts.rules import OrgKind
from core.demo import DemoStep, DemoWorld
from core.roles import Role

AREA = "accounts"

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


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def credit_code(rng: random.Random, prefix: str = "91350200") -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = prefix + "".join(rng.choice(alphabet[:10] if i < 8 else alphabet) for i in range(17 - len(prefix)))
    return rules.make_credit_code(body)


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, name=user.username, role=user.role, organisation_id=user.organisation_id,
                 address="127.0.0.1")


# ---------------------------------------------------------------- a custodian's role, approved

def approve_custodian(session: Session, *, custodian: Actor, supervisor: Actor, now: datetime) -> None:
    """A supervisor approves the role a new custodian's account was created with."""
    from accounts.models import RoleRequest

    request = session.scalar(select(RoleRequest).where(RoleRequest.user_id == custodian.user_id,
                                                       RoleRequest.decision.is_(None)))
    service.decide_role_change(session, actor=supervisor, request_id=request.id, approve=True, now=now)


# ---------------------------------------------------------------- the plan

def people_made_at(world: DemoWorld) -> datetime:
    """When the demo's organisations and users are made: 120 days before the demo's now."""
    return world.now - timedelta(days=120)


def plan(world: DemoWorld) -> list[DemoStep]:
    """The demo's organisations and users, planned in the order they are made (every random draw here, in
    that order, so a seed gives the same people)."""
    rng = world.rng
    at = people_made_at(world)
    steps: list[DemoStep] = []
    password_hash = service.hash_password(DEMO_PASSWORD)

    def step(name: str, run, **params) -> None:
        steps.append(DemoStep(at, AREA, name, partial(run, **params)))

    def org(key: str, kind: OrgKind, name: str, code: str | None = None, region: str = CITY) -> str:
        world.add_organisation(key, kind, name)
        step(f"organisation {key}", _make_organisation, key=key, credit_code=code, region=region)
        return key

    def user(username: str, display: str, role: Role, organisation: str) -> str:
        world.add_person(role, username, organisation)
        step(f"user {username}", _make_user, username=username, display_name=display, role=role,
             organisation=organisation, password_hash=password_hash)
        return username

    centre = org("centre", OrgKind.PLATFORM, f"{CITY}公共资源交易中心", credit_code(rng, "12350200"))
    user("admin", "平台管理员", Role.ADMIN, centre)
    supervisors = [user(f"supervisor{i}", person_name(rng), Role.SUPERVISOR, centre) for i in range(1, 3)]
    # Three custodians of three organisations, so that no organisation holds the 2 shares that open a tender:
    # the centre, the city's finance bureau and a notary office (platform-side organisations).
    custodian_orgs = [centre, org("finance", OrgKind.PLATFORM, f"{CITY}财政局"),
                      org("notary", OrgKind.PLATFORM, f"{CITY}公证处")]
    for i, home in enumerate(custodian_orgs, start=1):
        custodian = user(f"custodian{i}", person_name(rng), Role.CUSTODIAN, home)
        step(f"{supervisors[0]} approves {custodian}'s role", _approve_custodian, custodian=custodian,
             supervisor=supervisors[0])
    agency_names = [f"{CITY}建设工程招标代理有限公司", f"{CITY}政府采购中心", f"华信项目管理咨询有限公司{CITY}分公司"]
    for a, name in enumerate(agency_names, start=1):
        home = org(f"agency{a}", OrgKind.AGENCY, name, credit_code(rng))
        for s in (1, 2):
            user(f"agency{a}" + ("" if s == 1 else f"_{s}"), person_name(rng), Role.AGENCY, home)
    used: set[str] = set()
    for b in range(1, 33):
        while True:
            name = CITY + rng.choice(BIDDER_WORDS) + rng.choice(BIDDER_TRADES)
            if name not in used:
                used.add(name)
                break
        home = org(f"bidder{b}", OrgKind.BIDDER, name, credit_code(rng), region=rng.choice(DISTRICTS))
        user(f"bidder{b}", person_name(rng), Role.BIDDER, home)
    employers = [org(f"employer{n}", OrgKind.EMPLOYER, name) for n, name in enumerate((
        f"{CITY}建筑设计研究院", f"{CITY}市政工程设计院", "滨海大学", "滨海理工学院", f"{CITY}第一人民医院",
        f"{CITY}造价管理站", f"{CITY}信息中心", "滨海会计师事务所", "滨海律师事务所", f"{CITY}园林设计院"), start=1)]
    for e in range(1, 201):
        user(f"expert{e:03d}", person_name(rng), Role.EXPERT, rng.choice(employers))
    return steps


def summary(world: DemoWorld) -> str:
    from flask_babel import gettext, ngettext

    return gettext("%(organisations)s and %(users)s",
                   organisations=ngettext("%(num)d organisation", "%(num)d organisations",
                                          world.counts["organisations"]),
                   users=ngettext("%(num)d user", "%(num)d users", world.counts["users"]))


# ---------------------------------------------------------------- the steps

SEEDER = Actor.system("demo-seed")


def _make_organisation(session: Session, world: DemoWorld, at: datetime, *, key: str, credit_code: str | None,
                       region: str) -> None:
    planned = world.organisations[key]
    made = service.create_organisation(session, actor=SEEDER, kind=planned.kind, name=planned.name,
                                       credit_code=credit_code, region=region, now=at)
    planned.id = made.id
    world.counts["organisations"] += 1


def _make_user(session: Session, world: DemoWorld, at: datetime, *, username: str, display_name: str, role: str,
               organisation: str, password_hash: str) -> None:
    made = service.create_user(session, actor=SEEDER, username=username, display_name=display_name,
                               password=DEMO_PASSWORD, password_hash=password_hash, role=role,
                               organisation_id=world.organisation_id(organisation), now=at)
    world.actors[username] = _actor(made)
    world.counts["users"] += 1


def _approve_custodian(session: Session, world: DemoWorld, at: datetime, *, custodian: str, supervisor: str) -> None:
    approve_custodian(session, custodian=world.actor(custodian), supervisor=world.actor(supervisor), now=at)
