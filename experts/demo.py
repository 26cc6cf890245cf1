"""The demo's expert pool: a profile for every demo expert account, imported by the administrator as one CSV
file a day after the accounts are made, then one expert suspended and another suspended and reinstated."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import User
from core.demo import DemoStep, DemoWorld
from core.roles import Role
from experts import rules, service

AREA = "experts"
REGIONS = ("350201", "350203", "350205", "350206", "350211", "350212")  # the demo city's districts
LEAVES = tuple(code for code in rules.specialties() if not any(other.startswith(code + ".")
                                                               for other in rules.specialties()))


def _made_at(world: DemoWorld) -> datetime:
    from accounts.demo import people_made_at

    return people_made_at(world) + timedelta(days=1)


def plan(world: DemoWorld) -> list[DemoStep]:
    rng = world.rng
    experts = list(world.people.get(Role.EXPERT, []))
    rows = []
    for i, username in enumerate(experts, start=1):
        born = date(1955, 1, 1) + timedelta(days=rng.randrange(0, 365 * 35))
        first17 = f"{rng.choice(REGIONS)}{born:%Y%m%d}{i % 1000:03d}"
        employer = next(o for o in world.organisations.values() if username in o.members)
        rows.append({"username": username, "national_id": first17 + rules.national_id_check_char(first17),
                     "region": rng.choice(REGIONS), "specialties": ";".join(sorted(rng.sample(LEAVES, rng.randint(1, 3)))),
                     "phone": f"139{rng.randrange(10**8):08d}", "email": f"{username}@experts.example.cn",
                     "employer": employer.name, "employed_since": (born + timedelta(days=365 * 24)).isoformat()})
    at = _made_at(world)
    steps = [DemoStep(at, AREA, f"administrator imports {len(rows)} experts", partial(_import, rows=rows))]
    if len(experts) >= 3:
        steps += [DemoStep(at + timedelta(days=2), AREA, "suspend E000002",
                           partial(_suspend, expert="E000002", reason="未按时参加评标", days=None)),
                  DemoStep(at + timedelta(days=3), AREA, "suspend E000003",
                           partial(_suspend, expert="E000003", reason="信用评价不合格", days=30)),
                  DemoStep(at + timedelta(days=10), AREA, "reinstate E000003",
                           partial(_reinstate, expert="E000003", reason="申诉成立"))]
    return steps


def _id_key(session: Session) -> bytes:
    return service.id_key_of(session)


def _import(session: Session, world: DemoWorld, at: datetime, *, rows: list[dict]) -> None:
    names = dict(session.execute(select(User.username, User.display_name)
                                 .where(User.username.in_([r["username"] for r in rows]))).all())
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=service.COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "full_name": names[row["username"]]})
    made = service.import_experts(session, actor=world.actor("admin"), text=out.getvalue(),
                                  id_key=_id_key(session), now=at)
    world.counts["experts"] += len(made)


def _suspend(session: Session, world: DemoWorld, at: datetime, *, expert: str, reason: str, days: int | None) -> None:
    until = at.date() + timedelta(days=days) if days else None
    service.suspend_expert(session, actor=world.actor("admin"), expert=expert, reason=reason, until=until, now=at)
    world.counts["experts suspended"] += 1


def _reinstate(session: Session, world: DemoWorld, at: datetime, *, expert: str, reason: str) -> None:
    service.reinstate_expert(session, actor=world.actor("admin"), expert=expert, reason=reason, now=at)


def summary(world: DemoWorld) -> str:
    from flask_babel import ngettext

    return ngettext("%(num)d expert profile", "%(num)d expert profiles", world.counts["experts"])
