"""The areas of the platform, lowest layer first: the one list that names them all.

Adding an area is one line here and its own folder (``<area>/area.py`` declares it; docs/development.md)."""
from __future__ import annotations

from accounts.area import AREA as ACCOUNTS
from audit.area import AREA as AUDIT
from core.area import Area
from evaluation.area import AREA as EVALUATION
from experts.area import AREA as EXPERTS
from ledger.area import AREA as LEDGER
from sunbid.area import AREA as ROOT
from tender.area import AREA as TENDER

AREAS: tuple[Area, ...] = (ROOT, AUDIT, ACCOUNTS, TENDER, EXPERTS, LEDGER, EVALUATION)
