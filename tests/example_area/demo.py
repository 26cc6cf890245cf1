"""The example area's demo: a note on each tender the demo opens, an hour after its opening.

It plans after the tender area (the areas list is in layer order), so the world already holds the tenders
with their states and times; its step runs among the tender steps, at its own time, and finds the tender's
id in the world."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.orm import Session

from core.demo import DemoStep, DemoWorld
from tests.example_area import service

AREA = "example"


def plan(world: DemoWorld) -> list[DemoStep]:
    return [DemoStep(tender.opens_at + timedelta(hours=1), AREA, f"note on the opening of {tender.key}",
                     partial(_note, key=tender.key))
            for tender in world.tenders_in("opened")]


def summary(world: DemoWorld) -> str:
    from flask_babel import ngettext

    # a test-only area: its strings are not in the catalogues, so they read in English in both languages
    return ngettext("%(num)d example note", "%(num)d example notes", world.counts["example notes"])


def _note(session: Session, world: DemoWorld, at: datetime, *, key: str) -> None:
    service.add_note(session, actor=world.actor("admin"), text=f"tender {key} (id {world.tender_id(key)}) opened",
                     now=at)
    world.counts["example notes"] += 1
