"""One-line builders for tests, one module per area (``tests/factories/<area>.py``), composed here into the
``Factory`` the ``make`` fixture gives: a new area adds its module and one base class below."""
from __future__ import annotations

from dataclasses import dataclass

from core.clock import FrozenClock
from core.actor import Actor
from tests.factories.accounts import PASSWORD, AccountsFactory
from tests.factories.tender import TenderFactory, pdf_bytes

__all__ = ["PASSWORD", "Factory", "pdf_bytes"]


@dataclass
class Factory(AccountsFactory, TenderFactory):
    """Organisations, users and tenders made through the services (each area's builders are its own base)."""

    app: object
    session: object
    clock: FrozenClock
    n: int = 0
    custodian_keys: dict | None = None  # username → age identity, for the custodians made by custodians()
    approver: Actor | None = None  # the supervisor who approves the custodians made here
