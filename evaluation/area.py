"""The evaluation area as the composition root sees it."""
from __future__ import annotations

from core.area import Area

AREA = Area(
    name="evaluation",
    pure=("evaluation.rules",),
)
