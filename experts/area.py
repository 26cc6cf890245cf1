"""The experts area as the composition root sees it: the expert pool and the verifiable draw."""
from __future__ import annotations

from core.area import Area

AREA = Area(
    name="experts",
    pure=("experts.rules",),
)
