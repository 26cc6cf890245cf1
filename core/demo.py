"""The demo as steps the areas contribute, and the world they share (pure: no Flask, no session, no clock).

``sunbid demo`` builds one ``DemoWorld`` and calls each area's planner (``Area.demo``) in the order of the
areas list.  A planner reads what the areas before it planned (the people by role, the organisations, the
tenders with their states and times) and returns its ``DemoStep``s: an instant, its area, a name and what to
run.  The root merges the steps of every area by time (``merge_steps``) and runs each due one in its own
transaction; a step reads the ids earlier steps made from the world and writes the ids it makes there.  So
an area added later can act on the tenders of another (draw experts for a tender an hour after its opening)
and the demo's audit log stays in time order.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

StepRun = Callable[[Any, "DemoWorld", datetime], None]
"""``run(session, world, at)``: one operation through an area's services, at ``at`` (the root commits it)."""

AfterOp = Callable[[Any, datetime], None]


@dataclass(frozen=True)
class DemoStep:
    """One operation of the demo, at a given instant, contributed by ``area``."""

    at: datetime
    area: str
    name: str
    run: StepRun = field(compare=False)

    @property
    def label(self) -> str:
        return f"{self.area}: {self.name}"


DemoPlanner = Callable[["DemoWorld"], Iterable[DemoStep]]
"""``plan(world) -> steps``: an area's demo, planned on what the areas before it planned."""


def merge_steps(contributions: Iterable[Iterable[DemoStep]], *, until: datetime | None = None) -> list[DemoStep]:
    """The steps of every area in time order.  Steps at the same instant keep the order of their areas (the
    order of ``contributions``), then the order their area gave them.  With ``until``, only the steps at or
    before it (the demo shows the platform as it stands at its ``now``)."""
    steps = [step for steps in contributions for step in steps if until is None or step.at <= until]
    return sorted(steps, key=lambda step: step.at)  # sorted() is stable


class DemoStepFailed(RuntimeError):
    """A step raised: its own transaction was rolled back and the demo stopped there."""

    def __init__(self, step: DemoStep, cause: BaseException) -> None:
        self.step = step
        self.cause = cause
        super().__init__(f"demo step {step.label!r} at {step.at.isoformat()} failed: "
                         f"{type(cause).__name__}: {cause}")


class NotYetMade(LookupError):
    """A step asked the world for something no earlier step made (planned later, or not at all)."""


@dataclass
class DemoContext:
    """What steps may use besides the session: the blob store, the platform's signer, and the hook the
    root runs after each step (the running platform signs checkpoints there)."""

    blobs: Any
    signer: Any = None
    after_op: AfterOp = lambda session, when: None


@dataclass
class DemoOrganisation:
    key: str
    kind: str  # platform, agency, bidder, employer …
    name: str
    members: list[str] = field(default_factory=list)  # usernames, in the order they are planned
    id: int | None = None  # once made


@dataclass
class DemoTender:
    key: str
    state: str  # what it is at the demo's now: draft, published, closed, opened or cancelled
    agency: str  # the username of the agency staff who runs it
    created_at: datetime
    published_at: datetime | None = None
    deadline: datetime | None = None  # the bid deadline, after any amendment that moved it
    opens_at: datetime | None = None  # when its bids are opened (state "opened")
    id: int | None = None  # once made


@dataclass
class DemoWorld:
    """What the areas' demos share.  Planners fill in the plan (people, organisations, tenders and their
    times); steps fill in what they made (actors, ids, counts)."""

    now: datetime
    rng: random.Random  # drawn by the planners in the order of the areas, so one seed gives one demo
    context: Any = None  # a DemoContext
    people: dict[str, list[str]] = field(default_factory=dict)  # role → usernames, in the order planned
    organisations: dict[str, DemoOrganisation] = field(default_factory=dict)  # by key, in the order planned
    tenders: dict[str, DemoTender] = field(default_factory=dict)  # by key, in the order planned
    actors: dict[str, Any] = field(default_factory=dict)  # username → core.actor.Actor, once made
    custodian_keys: dict[str, str] = field(default_factory=dict)  # demo only: username → age identity
    records: dict[str, Any] = field(default_factory=dict)  # what one step leaves for a later one, by a key
    #   its area chooses ("tender/T03/question/0")
    counts: Counter[str] = field(default_factory=Counter)  # what the steps made, for the summaries

    def add_organisation(self, key: str, kind: str, name: str) -> DemoOrganisation:
        if key in self.organisations:
            raise ValueError(f"demo organisation {key} is planned twice")
        organisation = self.organisations[key] = DemoOrganisation(key, kind, name)
        return organisation

    def add_person(self, role: str, username: str, organisation: str) -> None:
        if any(username in names for names in self.people.values()):
            raise ValueError(f"demo user {username} is planned twice")
        self.people.setdefault(role, []).append(username)
        self.organisations[organisation].members.append(username)

    def add_tender(self, tender: DemoTender) -> DemoTender:
        if tender.key in self.tenders:
            raise ValueError(f"demo tender {tender.key} is planned twice")
        self.tenders[tender.key] = tender
        return tender

    def organisations_of(self, kind: str) -> list[DemoOrganisation]:
        return [o for o in self.organisations.values() if o.kind == kind]

    def tenders_in(self, state: str) -> list[DemoTender]:
        return [t for t in self.tenders.values() if t.state == state]

    def actor(self, username: str) -> Any:
        try:
            return self.actors[username]
        except KeyError:
            raise NotYetMade(f"demo user {username} is not made yet") from None

    def organisation_id(self, key: str) -> int:
        found = self.organisations.get(key)
        if found is None or found.id is None:
            raise NotYetMade(f"demo organisation {key} is not made yet")
        return found.id

    def tender_id(self, key: str) -> int:
        found = self.tenders.get(key)
        if found is None or found.id is None:
            raise NotYetMade(f"demo tender {key} is not made yet")
        return found.id
