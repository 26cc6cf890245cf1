"""The evaluation area as the composition root sees it."""
from __future__ import annotations

from core.area import Area
from evaluation.cli import evaluation_group

AREA = Area(
    name="evaluation",
    commands=(evaluation_group,),
    pure=("evaluation.rules", "evaluation.document"),
)
