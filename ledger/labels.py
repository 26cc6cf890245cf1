"""How the audit screens name the ledger's actions and objects (registered by ledger.area)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "ledger.statement_imported": _l("Bank statement imported"),
    "ledger.refund_started": _l("Deposit refund exported to the bank"),
    "ledger.refund_confirmed": _l("Deposit refund confirmed by the bank"),
    "ledger.refund_voided": _l("Deposit refund bounced and voided"),
    "ledger.deposit_forfeited": _l("Deposit forfeited"),
    "ledger.entry_reversed": _l("Ledger entry reversed"),
}
OBJECTS = {"ledger_entry": _l("Ledger entry"), "ledger_statement": _l("Bank statement")}
