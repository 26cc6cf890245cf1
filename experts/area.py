"""The experts area as the composition root sees it: the expert pool and the verifiable draw."""
from __future__ import annotations

from core.area import Area
from experts.cli import experts_group

AREA = Area(
    name="experts",
    commands=(experts_group,),
    pure=("experts.rules", "experts.draw"),
)
