"""The deposit ledger as the composition root sees it (docs/ledger.md)."""
from __future__ import annotations

from core.area import Area
from ledger import demo
from ledger import models as _models  # noqa: F401 - its tables, read by the checks of the seam
from ledger.actions import ACTIONS
from ledger.cli import ledger_group
from ledger.desk import PANELS as DESK


def _labels(labels) -> None:
    from ledger import labels as ledger_labels

    labels.register_actions(ledger_labels.ACTIONS)
    labels.register_objects(ledger_labels.OBJECTS)


AREA = Area(
    name="ledger",
    commands=(ledger_group,),
    models="ledger.models",
    actions=ACTIONS,
    subject_kinds=("ledger",),
    desk=DESK,
    demo=demo.plan,
    pure=("ledger.rules", "ledger.statements"),
    labels=_labels,
)
