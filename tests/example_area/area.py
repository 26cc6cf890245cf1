"""The example area's declaration: all the platform needs to know of it."""
from __future__ import annotations

from audit.disclosure import Action
from audit.replay import Replayer
from audit.rules import Disclosure
from core.area import Area, NavEntry
from core.roles import Role
from tests.example_area import replay, service
from tests.example_area import demo
from tests.example_area.views import bp


def _labels(labels) -> None:
    labels.register_actions({"example.noted": "Note added"})
    labels.register_objects({"example_note": "Note"})


AREA = Area(
    name="example",
    blueprints=(bp,),
    models="tests.example_area.models",
    blob_columns=("Note.sha256",),
    actions=(Action("example.noted", Disclosure.SUPERVISORS),),
    subject_kinds=(service.KIND,),
    replayers={"example": Replayer(replay.fold, service.snapshot, replay.diff, kind=service.KIND)},
    demo=demo.plan,
    demo_summary=demo.summary,
    nav=(NavEntry("example.notes", "Example notes", 70, frozenset({Role.ADMIN})),),
    pure=("tests.example_area.rules", "tests.example_area.replay"),
    labels=_labels,
)
