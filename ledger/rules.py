"""The deposit ledger's rules: accounts, journal entries, balances and their limits, two-phase transfers,
reversals and idempotency (docs/ledger.md).

One double-entry ledger for the whole platform.  Every movement of money is an *entry* of two or more
*postings*, each a debit or a credit of a positive number of fen to one account in one currency; the debits
and credits of an entry are equal in every currency.  An entry has an idempotency key: the same entry
submitted twice is one entry, a different entry under a used key is refused.  Entries never change; a
mistake is corrected by a *reversal*, an entry with every posting's side swapped, at most one per entry.

A *pending* entry (the first phase of a refund exported to the bank) reserves its amounts without moving
them: it is later *posted* (the bank confirmed the payment) or *voided* (the payment bounced), once.

Limits in the manner of double-entry databases: an account may say that its debits must not exceed its
credits (a bidder's deposit sub-account: nobody is refunded more than they paid in), or the reverse; the
check counts pending debits (credits) with the posted ones, so a reserved refund cannot be spent twice.

Pure module: no Flask, no database, no clock.  ``Book`` applies entries in memory, exactly as
``ledger.service`` applies them to the tables (the property tests drive it).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from core.errors import N_, DomainError, InvalidInput
from core.money import check_currency


class LedgerError(DomainError):
    code = "ledger_error"
    status = 409
    default_message = N_("The ledger refused the entry.")


class UnbalancedEntry(InvalidInput):
    code = "unbalanced_entry"
    default_message = N_("The debits and credits of an entry must be equal in every currency.")


class InvalidPosting(InvalidInput):
    code = "invalid_posting"
    default_message = N_("A posting must debit or credit a positive whole number of fen.")


class InvalidAccountCode(InvalidInput):
    code = "invalid_account_code"
    default_message = N_("The account code is not valid.")


class UnknownAccount(LedgerError):
    code = "unknown_account"
    status = 404
    default_message = N_("There is no ledger account %(code)s.")


class LimitExceeded(LedgerError):
    code = "limit_exceeded"
    default_message = N_("The entry would take account %(code)s beyond its limit.")


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"
    default_message = N_("Another entry was already made under the key %(key)s.")


class TransferAlreadySettled(LedgerError):
    code = "transfer_settled"
    default_message = N_("The pending entry %(key)s was already posted or voided.")


class NotPending(LedgerError):
    code = "not_pending"
    default_message = N_("The entry %(key)s is not a pending entry.")


class AlreadyReversed(LedgerError):
    code = "already_reversed"
    default_message = N_("The entry %(key)s was already reversed.")


class NotReversible(LedgerError):
    code = "not_reversible"
    default_message = N_("The entry %(key)s cannot be reversed (a pending entry is voided instead).")


# ---------------------------------------------------------------- accounts


class Kind(StrEnum):
    """The kinds of account, each with its ledger code prefix (following the Chinese chart of accounts)."""

    BANK = "bank"  # bank clearing, per bank account of the platform (asset: 1002 银行存款)
    DEPOSIT = "deposit"  # a bidder's deposit sub-account for one tender (liability: 2241.01 投标保证金)
    ESCROW = "escrow"  # a tender's or lot's escrow (liability: 2241.02)
    UNMATCHED = "unmatched"  # receipts matching no deposit, or only in part (liability: 2241.09 待匹配款项)
    BOND = "bond"  # performance bonds (liability: 2241.05 履约保证金)
    FORFEITED = "forfeited"  # forfeited deposits (income: 6301 营业外收入)
    INTEREST = "interest"  # interest paid on refunds (expense: 6603 财务费用)


PREFIX = {Kind.BANK: "1002", Kind.DEPOSIT: "2241.01", Kind.ESCROW: "2241.02", Kind.UNMATCHED: "2241.09",
          Kind.BOND: "2241.05", Kind.FORFEITED: "6301", Kind.INTEREST: "6603"}
DEBIT_NORMAL = frozenset({Kind.BANK, Kind.INTEREST})
"""Assets and expenses grow by debits; the others (liabilities, income) by credits."""


class Limit(StrEnum):
    NONE = "none"
    DEBITS_NOT_OVER_CREDITS = "debits_not_over_credits"
    CREDITS_NOT_OVER_DEBITS = "credits_not_over_debits"


LIMIT_OF = {Kind.DEPOSIT: Limit.DEBITS_NOT_OVER_CREDITS, Kind.ESCROW: Limit.DEBITS_NOT_OVER_CREDITS,
            Kind.UNMATCHED: Limit.DEBITS_NOT_OVER_CREDITS, Kind.BOND: Limit.DEBITS_NOT_OVER_CREDITS,
            Kind.BANK: Limit.CREDITS_NOT_OVER_DEBITS, Kind.FORFEITED: Limit.NONE, Kind.INTEREST: Limit.NONE}
"""A deposit is never refunded beyond what was paid in; the bank never pays out more than it holds."""

_BANK_NUMBER = re.compile(r"[0-9A-Z]{4,34}", re.ASCII)
_CODE = re.compile(r"(1002)\.([0-9A-Z]{4,34})|(2241\.01)\.T(\d{1,10})\.B(\d{1,10})|(2241\.02)\.T(\d{1,10})\.L(\d{1,4})"
                   r"|(2241\.05)\.T(\d{1,10})|(2241\.09)|(6301)|(6603)", re.ASCII)


def _kind_of_prefix(prefix: str) -> Kind:
    return next(k for k, p in PREFIX.items() if p == prefix)


def bank_account(number: str) -> str:
    """The clearing account of one of the platform's bank accounts (its number, IBAN-like characters)."""
    clean = (number or "").replace(" ", "").upper()
    if _BANK_NUMBER.fullmatch(clean) is None:
        raise InvalidAccountCode(N_("A bank account number has 4 to 34 digits or capital letters."), field="account")
    return f"{PREFIX[Kind.BANK]}.{clean}"


def deposit_account(tender_id: int, bidder_id: int) -> str:
    """A bidder organisation's deposit sub-account for one tender."""
    return f"{PREFIX[Kind.DEPOSIT]}.T{int(tender_id)}.B{int(bidder_id)}"


def escrow_account(tender_id: int, lot: int = 1) -> str:
    return f"{PREFIX[Kind.ESCROW]}.T{int(tender_id)}.L{int(lot)}"


def bond_account(tender_id: int) -> str:
    return f"{PREFIX[Kind.BOND]}.T{int(tender_id)}"


UNMATCHED = PREFIX[Kind.UNMATCHED]
FORFEITED = PREFIX[Kind.FORFEITED]
INTEREST = PREFIX[Kind.INTEREST]


@dataclass(frozen=True)
class Account:
    code: str
    kind: Kind
    limit: Limit
    tender_id: int | None = None
    bidder_id: int | None = None

    @property
    def debit_normal(self) -> bool:
        return self.kind in DEBIT_NORMAL


def parse_account(code: str) -> Account:
    """The account a code names, with its kind and limit; ``InvalidAccountCode`` for anything else."""
    m = _CODE.fullmatch(code or "")
    if m is None:
        raise InvalidAccountCode(field="account")
    groups = [g for g in m.groups() if g is not None]
    kind = _kind_of_prefix(groups[0])
    tender = int(groups[1]) if kind in (Kind.DEPOSIT, Kind.ESCROW, Kind.BOND) else None
    bidder = int(groups[2]) if kind is Kind.DEPOSIT else None
    return Account(code=code, kind=kind, limit=LIMIT_OF[kind], tender_id=tender, bidder_id=bidder)


def account_name(account: Account) -> str:
    """An English name for listings (the trial balance); the web layer translates by kind."""
    if account.kind is Kind.BANK:
        return f"Bank clearing {account.code.split('.', 1)[1]}"
    if account.kind is Kind.DEPOSIT:
        return f"Deposit of bidder {account.bidder_id}, tender {account.tender_id}"
    if account.kind is Kind.ESCROW:
        return f"Escrow of tender {account.tender_id}, lot {account.code.rsplit('L', 1)[1]}"
    if account.kind is Kind.BOND:
        return f"Performance bonds of tender {account.tender_id}"
    return {Kind.UNMATCHED: "Unmatched receipts", Kind.FORFEITED: "Forfeited deposits",
            Kind.INTEREST: "Interest expense"}[account.kind]


# ---------------------------------------------------------------- payment references


def _mod97(digits: str) -> int:
    return 98 - (int(digits + "00") % 97)


def payment_reference(tender_id: int, bidder_id: int) -> str:
    """A bidder's payment reference for one tender (its virtual sub-account number): 8 digits of the tender,
    8 of the bidder, 2 check digits (ISO 7064 MOD 97-10, as IBANs), so a mistyped digit matches no one."""
    if not (0 < tender_id < 10**8 and 0 < bidder_id < 10**8):
        raise InvalidInput(N_("The tender or bidder number is out of range."))
    body = f"{tender_id:08d}{bidder_id:08d}"
    return f"{body}{_mod97(body):02d}"


def read_reference(text: str) -> tuple[int, int] | None:
    """(tender, bidder) from a payment reference found in a statement's remittance text (spaces and dashes
    ignored, the first run of 18 digits whose check digits agree), or None."""
    digits = re.sub(r"[\s-]", "", text or "")
    for m in re.finditer(r"(?<!\d)(\d{18})(?!\d)", digits):
        body, check = m.group(1)[:16], m.group(1)[16:]
        if f"{_mod97(body):02d}" == check and int(body[:8]) and int(body[8:]):
            return int(body[:8]), int(body[8:])
    return None


# ---------------------------------------------------------------- entries


DEBIT, CREDIT = "D", "C"


@dataclass(frozen=True)
class Posting:
    account: str
    side: str  # "D" or "C"
    amount_fen: int
    currency: str = "CNY"

    @property
    def signed(self) -> int:
        """Debit positive, credit negative."""
        return self.amount_fen if self.side == DEBIT else -self.amount_fen


class Phase(StrEnum):
    POSTED = "posted"  # a single-phase entry: moves its amounts at once
    PENDING = "pending"  # reserves its amounts
    POST = "post"  # posts a pending entry (its postings, in full)
    VOID = "void"  # voids a pending entry


@dataclass(frozen=True)
class Entry:
    key: str  # idempotency key
    kind: str  # collection, unmatched, match, refund, forfeit, bond, reversal, ...
    postings: tuple[Posting, ...]
    phase: Phase = Phase.POSTED
    pending_key: str | None = None  # for POST and VOID: the pending entry's key
    reverses: str | None = None  # for a reversal: the reversed entry's key
    reason: str = ""

    def digest_fields(self) -> tuple:
        """What makes two submissions the same entry (compared when a key comes again)."""
        return (self.kind, self.phase.value, self.pending_key, self.reverses,
                tuple(sorted((p.account, p.side, p.amount_fen, p.currency) for p in self.postings)))


_KEY = re.compile(r"[\x21-\x7e]{1,128}", re.ASCII)


def check_entry(entry: Entry) -> Entry:
    """Refuse an entry that is not well formed: a bad key, fewer than two postings, a posting of a non-positive
    or non-integer amount, a bad side, currency or account code, or debits unequal to credits in a currency."""
    if _KEY.fullmatch(entry.key or "") is None:
        raise InvalidInput(N_("An idempotency key has 1 to 128 printable ASCII characters."), field="key")
    if entry.phase in (Phase.POST, Phase.VOID):
        if not entry.pending_key:
            raise InvalidInput(N_("Posting or voiding names the pending entry."), field="pending_key")
        return entry
    if len(entry.postings) < 2:
        raise UnbalancedEntry(N_("An entry has at least two postings."))
    sums: dict[str, int] = {}
    for p in entry.postings:
        if type(p.amount_fen) is not int or p.amount_fen <= 0 or p.side not in (DEBIT, CREDIT):
            raise InvalidPosting()
        check_currency(p.currency)
        parse_account(p.account)
        sums[p.currency] = sums.get(p.currency, 0) + p.signed
    if any(sums.values()):
        raise UnbalancedEntry()
    return entry


def sums_by_currency(postings: Iterable[Posting]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in postings:
        out[p.currency] = out.get(p.currency, 0) + p.signed
    return out


def reversal_of(entry: Entry, key: str, reason: str = "") -> Entry:
    """The correction of a posted entry: the same postings, sides swapped."""
    if entry.phase is not Phase.POSTED or entry.kind == "reversal":
        raise NotReversible(key=entry.key)
    swapped = tuple(replace(p, side=CREDIT if p.side == DEBIT else DEBIT) for p in entry.postings)
    return Entry(key=key, kind="reversal", postings=swapped, reverses=entry.key, reason=reason)


# ---------------------------------------------------------------- balances


@dataclass(frozen=True)
class Balance:
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def signed(self) -> int:
        """The posted balance, debit positive."""
        return self.debits_posted - self.credits_posted

    def add(self, side: str, amount: int, *, pending: bool) -> Balance:
        if side == DEBIT:
            return (replace(self, debits_pending=self.debits_pending + amount) if pending
                    else replace(self, debits_posted=self.debits_posted + amount))
        return (replace(self, credits_pending=self.credits_pending + amount) if pending
                else replace(self, credits_posted=self.credits_posted + amount))

    def within(self, limit: Limit) -> bool:
        if limit is Limit.DEBITS_NOT_OVER_CREDITS:
            return self.debits_posted + self.debits_pending <= self.credits_posted
        if limit is Limit.CREDITS_NOT_OVER_DEBITS:
            return self.credits_posted + self.credits_pending <= self.debits_posted
        return True


BalanceKey = tuple[str, str]  # (account code, currency)


def moves(entry: Entry, pending: Entry | None = None) -> list[tuple[BalanceKey, str, int, str]]:
    """What an entry does to balances: (account, currency), side, amount, and "posted" / "pending" / "unpend"
    (a pending amount released).  POST releases the pending amounts and posts them; VOID only releases."""
    if entry.phase is Phase.POSTED:
        return [((p.account, p.currency), p.side, p.amount_fen, "posted") for p in entry.postings]
    if entry.phase is Phase.PENDING:
        return [((p.account, p.currency), p.side, p.amount_fen, "pending") for p in entry.postings]
    assert pending is not None
    out = [((p.account, p.currency), p.side, -p.amount_fen, "pending") for p in pending.postings]
    if entry.phase is Phase.POST:
        out += [((p.account, p.currency), p.side, p.amount_fen, "posted") for p in pending.postings]
    return out


def apply_moves(balances: Mapping[BalanceKey, Balance], entry: Entry, pending: Entry | None = None
                ) -> dict[BalanceKey, Balance]:
    """The new balances of the accounts an entry touches, or ``LimitExceeded`` naming the first account it
    would take beyond its limit (checked after the whole entry, so the order of postings does not matter)."""
    out: dict[BalanceKey, Balance] = {}
    for bkey, side, amount, how in moves(entry, pending):
        current = out.get(bkey) or balances.get(bkey) or Balance()
        out[bkey] = current.add(side, amount, pending=how == "pending")
    for (code, _currency), bal in out.items():  # in the order of the postings
        if not bal.within(parse_account(code).limit):
            raise LimitExceeded(code=code)
    return out


# ---------------------------------------------------------------- the book in memory


@dataclass
class Book:
    """The ledger in memory: entries by key, balances, the state of pending entries and the reversed ones.
    ``submit`` returns True when the entry was applied, False when it was this very entry again."""

    entries: dict[str, Entry] = field(default_factory=dict)
    balances: dict[BalanceKey, Balance] = field(default_factory=dict)
    settled: dict[str, str] = field(default_factory=dict)  # pending key -> "post" / "void"
    reversed_by: dict[str, str] = field(default_factory=dict)

    def submit(self, entry: Entry) -> bool:
        check_entry(entry)
        known = self.entries.get(entry.key)
        if known is not None:
            if known.digest_fields() != entry.digest_fields():
                raise IdempotencyConflict(key=entry.key)
            return False
        pending = self._check_links(entry, self.entries, self.settled, self.reversed_by)
        self.balances.update(apply_moves(self.balances, entry, pending))
        self.entries[entry.key] = entry
        if entry.phase in (Phase.POST, Phase.VOID):
            self.settled[entry.pending_key] = entry.phase.value
        if entry.reverses:
            self.reversed_by[entry.reverses] = entry.key
        return True

    @staticmethod
    def _check_links(entry: Entry, entries: Mapping[str, Entry], settled: Mapping[str, str],
                     reversed_by: Mapping[str, str]) -> Entry | None:
        return check_links(entry, entries.get(entry.pending_key or entry.reverses or ""),
                           settled=(entry.pending_key in settled) if entry.pending_key else False,
                           reversed_already=(entry.reverses in reversed_by) if entry.reverses else False)

    def signed(self, code: str, currency: str = "CNY") -> int:
        return self.balances.get((code, currency), Balance()).signed


def check_links(entry: Entry, linked: Entry | None, *, settled: bool, reversed_already: bool) -> Entry | None:
    """The checks of an entry against the one it names: the pending entry it posts or voids (pending, not yet
    settled), the entry it reverses (posted, not a reversal, not yet reversed, with the swapped postings).
    Returns the pending entry for POST and VOID."""
    if entry.phase in (Phase.POST, Phase.VOID):
        if linked is None or linked.phase is not Phase.PENDING:
            raise NotPending(key=entry.pending_key)
        if settled:
            raise TransferAlreadySettled(key=entry.pending_key)
        return linked
    if entry.reverses is not None:
        if linked is None:
            raise NotReversible(key=entry.reverses)
        if reversed_already:
            raise AlreadyReversed(key=entry.reverses)
        expected = reversal_of(linked, entry.key)
        if sorted(expected.digest_fields()[4]) != sorted(entry.digest_fields()[4]):
            raise NotReversible(key=entry.reverses)
    elif entry.kind == "reversal":
        raise NotReversible(key=entry.key)
    return None


# ---------------------------------------------------------------- the deposit flows


def collection(key: str, *, bank: str, tender_id: int, bidder_id: int, amount_fen: int,
               currency: str = "CNY", reason: str = "") -> Entry:
    """A deposit received: the bank debited, the bidder's sub-account credited."""
    return Entry(key, "collection", (Posting(bank, DEBIT, amount_fen, currency),
                                     Posting(deposit_account(tender_id, bidder_id), CREDIT, amount_fen, currency)),
                 reason=reason)


def unmatched_receipt(key: str, *, bank: str, amount_fen: int, currency: str = "CNY", reason: str = "") -> Entry:
    """A receipt that matches no deposit (or only in part): held on the unmatched-receipts account."""
    return Entry(key, "unmatched", (Posting(bank, DEBIT, amount_fen, currency),
                                    Posting(UNMATCHED, CREDIT, amount_fen, currency)), reason=reason)


def match_receipt(key: str, *, tender_id: int, bidder_id: int, amount_fen: int, currency: str = "CNY",
                  reason: str = "") -> Entry:
    """An unmatched receipt matched by a person to a bidder's deposit."""
    return Entry(key, "match", (Posting(UNMATCHED, DEBIT, amount_fen, currency),
                                Posting(deposit_account(tender_id, bidder_id), CREDIT, amount_fen, currency)),
                 reason=reason)


def settlement_key(tender_id: int, bidder_id: int) -> str:
    """The one key under which a deposit is refunded or forfeited: so it is settled at most once, either way."""
    return f"settle:T{int(tender_id)}:B{int(bidder_id)}"


def refund(*, bank: str, tender_id: int, bidder_id: int, amount_fen: int, interest_fen: int = 0,
           currency: str = "CNY", pending: bool = True, reason: str = "") -> Entry:
    """A deposit paid back, with interest: the sub-account (and interest expense) debited, the bank credited.
    Pending by default: posted when the bank confirms the payment, voided when it bounces."""
    postings = [Posting(deposit_account(tender_id, bidder_id), DEBIT, amount_fen, currency)]
    if interest_fen:
        postings.append(Posting(INTEREST, DEBIT, interest_fen, currency))
    postings.append(Posting(bank, CREDIT, amount_fen + interest_fen, currency))
    return Entry(settlement_key(tender_id, bidder_id), "refund", tuple(postings),
                 phase=Phase.PENDING if pending else Phase.POSTED, reason=reason)


def forfeit(*, tender_id: int, bidder_id: int, amount_fen: int, currency: str = "CNY", reason: str = "") -> Entry:
    """A deposit forfeited (a recorded, approved decision): the sub-account debited, forfeited deposits credited."""
    return Entry(settlement_key(tender_id, bidder_id), "forfeit",
                 (Posting(deposit_account(tender_id, bidder_id), DEBIT, amount_fen, currency),
                  Posting(FORFEITED, CREDIT, amount_fen, currency)), reason=reason)


def confirm(pending_key: str, *, key: str | None = None) -> Entry:
    return Entry(key or f"post:{pending_key}", "confirm", (), phase=Phase.POST, pending_key=pending_key)


def void(pending_key: str, *, key: str | None = None, reason: str = "") -> Entry:
    return Entry(key or f"void:{pending_key}", "void", (), phase=Phase.VOID, pending_key=pending_key, reason=reason)


def trial_balance(balances: Mapping[BalanceKey, int]) -> dict:
    """``{"accounts": [{code, name, currency, balance_fen}], "totals": {currency: sum}}`` of signed posted
    balances (debit positive), accounts by code then currency; every total is zero in a sound ledger."""
    accounts, totals = [], {}
    for (code, currency), signed in sorted(balances.items()):
        accounts.append({"code": code, "name": account_name(parse_account(code)), "currency": currency,
                         "balance_fen": signed})
        totals[currency] = totals.get(currency, 0) + signed
    return {"accounts": accounts, "totals": totals}


# ---------------------------------------------------------------- matching a receipt to a deposit


class Outcome(StrEnum):
    MATCHED = "matched"  # the deposit due, in full, in its currency, before the deadline
    UNMATCHED = "unmatched"  # no reference, or one naming no deposit due
    PARTIAL = "partial"  # less than the deposit due
    OVER = "over"  # more than the deposit due (or a deposit already paid)
    LATE = "late"  # received at or after the bid deadline
    CURRENCY = "currency"  # in another currency than the deposit's


@dataclass(frozen=True)
class Due:
    """A deposit a reference names: its amount and currency, the tender's deadline, what was received already."""

    deposit_fen: int
    currency: str
    deadline: object  # an aware datetime
    received_fen: int = 0


def classify(*, amount_fen: int, currency: str, booked_at, due: Due | None) -> Outcome:
    """How a statement line is booked: MATCHED to the bidder's sub-account, anything else to the unmatched
    receipts (from which a person matches or returns it).  A deposit counts only if received before the
    deadline; a line matching only in part is not split."""
    if due is None or due.deposit_fen <= 0:
        return Outcome.UNMATCHED
    if currency != due.currency:
        return Outcome.CURRENCY
    if booked_at >= due.deadline:
        return Outcome.LATE
    remaining = due.deposit_fen - due.received_fen
    if amount_fen == remaining:
        return Outcome.MATCHED
    return Outcome.PARTIAL if amount_fen < remaining else Outcome.OVER


# ---------------------------------------------------------------- settlement dates

WITHDRAWAL_REFUND_DAYS = 5
"""A deposit of a bid withdrawn before the deadline is refunded within 5 days of the notice (实施条例 art. 35)."""


def withdrawal_refund_due(withdrawn_at):
    """The last day of the refund of a bid withdrawn before the deadline: 5 days after the withdrawal."""
    from datetime import timedelta

    return withdrawn_at + timedelta(days=WITHDRAWAL_REFUND_DAYS)
