"""The ledger's audit actions and their disclosure rules.  Who paid a deposit stays secret until the deadline
(电子招标投标办法 art. 21) and a bank statement names every payer: the ledger's entries are for supervisors."""
from __future__ import annotations

from audit.disclosure import Action
from audit.rules import Disclosure

SUPERVISORS = Disclosure.SUPERVISORS

ACTIONS: tuple[Action, ...] = (
    Action("ledger.statement_imported", SUPERVISORS),
    Action("ledger.refund_started", SUPERVISORS),
    Action("ledger.refund_confirmed", SUPERVISORS),
    Action("ledger.refund_voided", SUPERVISORS),
    Action("ledger.deposit_forfeited", SUPERVISORS),
    Action("ledger.entry_reversed", SUPERVISORS),
)
