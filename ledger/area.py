"""The deposit ledger as the composition root sees it (docs/ledger.md)."""
from __future__ import annotations

from core.area import Area

AREA = Area(
    name="ledger",
    pure=("ledger.rules",),
)
