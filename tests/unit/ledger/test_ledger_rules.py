"""The ledger's rules: entries balance, limits hold, two-phase transfers settle once, reversals correct, keys
are idempotent; and a stateful test driving random collections, refunds, forfeits and reversals."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from core.errors import DomainError
from core.money import InvalidAmount, check_currency, parse_amount_fen
from ledger import rules as r

BANK = r.bank_account("6222021234567890")


def test_account_codes_parse_back_to_their_kind():
    assert r.parse_account(BANK).kind is r.Kind.BANK
    dep = r.parse_account(r.deposit_account(12, 34))
    assert (dep.kind, dep.tender_id, dep.bidder_id, dep.limit) == (r.Kind.DEPOSIT, 12, 34,
                                                                  r.Limit.DEBITS_NOT_OVER_CREDITS)
    assert r.parse_account(r.escrow_account(5, 2)).kind is r.Kind.ESCROW
    assert r.parse_account(r.bond_account(5)).kind is r.Kind.BOND
    assert {r.parse_account(c).kind for c in (r.UNMATCHED, r.FORFEITED, r.INTEREST)} == {
        r.Kind.UNMATCHED, r.Kind.FORFEITED, r.Kind.INTEREST}
    for bad in ("", "1002", "2241.01.T1", "9999", "1002.abc", "2241.01.T1.B1 "):
        with pytest.raises(r.InvalidAccountCode):
            r.parse_account(bad)


def test_an_entry_must_balance_per_currency():
    with pytest.raises(r.UnbalancedEntry):
        r.check_entry(r.Entry("k", "x", (r.Posting(BANK, r.DEBIT, 100), r.Posting(r.UNMATCHED, r.CREDIT, 99))))
    with pytest.raises(r.UnbalancedEntry):  # equal totals, but across two currencies
        r.check_entry(r.Entry("k", "x", (r.Posting(BANK, r.DEBIT, 100, "CNY"),
                                         r.Posting(r.UNMATCHED, r.CREDIT, 100, "USD"))))
    with pytest.raises(r.UnbalancedEntry):
        r.check_entry(r.Entry("k", "x", (r.Posting(BANK, r.DEBIT, 100),)))
    for amount in (0, -5, 1.5):
        with pytest.raises(r.InvalidPosting):
            r.check_entry(r.Entry("k", "x", (r.Posting(BANK, r.DEBIT, amount), r.Posting(r.UNMATCHED, r.CREDIT, amount))))
    with pytest.raises(InvalidAmount):
        r.check_entry(r.Entry("k", "x", (r.Posting(BANK, r.DEBIT, 1, "cny"), r.Posting(r.UNMATCHED, r.CREDIT, 1, "cny"))))
    with pytest.raises(DomainError):
        r.check_entry(r.Entry("", "x", (r.Posting(BANK, r.DEBIT, 1), r.Posting(r.UNMATCHED, r.CREDIT, 1))))
    r.check_entry(r.collection("c1", bank=BANK, tender_id=1, bidder_id=2, amount_fen=5))


def test_a_bidder_is_never_refunded_more_than_paid_in():
    book = r.Book()
    book.submit(r.collection("c1", bank=BANK, tender_id=1, bidder_id=2, amount_fen=10_000))
    with pytest.raises(r.LimitExceeded, match="2241.01.T1.B2"):
        book.submit(r.refund(bank=BANK, tender_id=1, bidder_id=2, amount_fen=10_001))
    book.submit(r.unmatched_receipt("u1", bank=BANK, amount_fen=100))  # the bank holds more than this deposit
    book.submit(r.refund(bank=BANK, tender_id=1, bidder_id=2, amount_fen=10_000, interest_fen=12))
    assert book.balances[(r.deposit_account(1, 2), "CNY")].debits_pending == 10_000
    assert book.signed(r.deposit_account(1, 2)) == -10_000  # pending: not moved yet
    with pytest.raises(r.LimitExceeded):  # the reserved amount cannot be spent twice
        book.submit(r.Entry("other", "x", (r.Posting(r.deposit_account(1, 2), r.DEBIT, 1),
                                           r.Posting(r.FORFEITED, r.CREDIT, 1))))


def test_two_phase_refund_posts_or_voids_once():
    book = r.Book()
    book.submit(r.collection("c1", bank=BANK, tender_id=1, bidder_id=2, amount_fen=500))
    refund = r.refund(bank=BANK, tender_id=1, bidder_id=2, amount_fen=500, interest_fen=3)
    with pytest.raises(r.LimitExceeded, match=BANK):  # the bank holds 500, the refund pays 503
        book.submit(refund)
    book.submit(r.collection("c2", bank=BANK, tender_id=1, bidder_id=3, amount_fen=500))
    book.submit(refund)
    assert book.submit(r.confirm(refund.key)) is True
    assert book.signed(r.deposit_account(1, 2)) == 0
    assert book.signed(r.INTEREST) == 3
    assert book.submit(r.confirm(refund.key)) is False  # the same confirmation again: nothing
    with pytest.raises(r.TransferAlreadySettled):
        book.submit(r.void(refund.key))
    with pytest.raises(r.NotPending):
        book.submit(r.void("c1"))
    with pytest.raises(r.NotPending):
        book.submit(r.void("never-exported"))


def test_a_bounced_refund_is_voided_and_the_deposit_is_back():
    book = r.Book()
    book.submit(r.collection("c1", bank=BANK, tender_id=1, bidder_id=2, amount_fen=500))
    refund = r.refund(bank=BANK, tender_id=1, bidder_id=2, amount_fen=500)
    book.submit(refund)
    book.submit(r.void(refund.key, reason="account closed"))
    bal = book.balances[(r.deposit_account(1, 2), "CNY")]
    assert (bal.signed, bal.debits_pending) == (-500, 0)
    with pytest.raises(r.TransferAlreadySettled):
        book.submit(r.confirm(refund.key))


def test_refund_and_forfeit_share_one_key_so_a_deposit_settles_once():
    book = r.Book()
    book.submit(r.collection("c1", bank=BANK, tender_id=1, bidder_id=2, amount_fen=500))
    book.submit(r.forfeit(tender_id=1, bidder_id=2, amount_fen=500, reason="refused to sign"))
    assert book.submit(r.forfeit(tender_id=1, bidder_id=2, amount_fen=500, reason="refused to sign")) is False
    with pytest.raises(r.IdempotencyConflict):
        book.submit(r.refund(bank=BANK, tender_id=1, bidder_id=2, amount_fen=500))
    with pytest.raises(r.IdempotencyConflict):  # a double forfeit of another amount
        book.submit(r.forfeit(tender_id=1, bidder_id=2, amount_fen=400))


def test_refund_of_an_unpaid_deposit_is_refused():
    with pytest.raises(r.LimitExceeded):
        r.Book().submit(r.refund(bank=BANK, tender_id=1, bidder_id=2, amount_fen=1))


def test_reversal_corrects_once_and_only_a_posted_entry():
    book = r.Book()
    entry = r.unmatched_receipt("u1", bank=BANK, amount_fen=700)
    book.submit(entry)
    book.submit(r.reversal_of(entry, "rev:u1", "booked twice by the bank"))
    assert book.signed(BANK) == 0 and book.signed(r.UNMATCHED) == 0
    with pytest.raises(r.AlreadyReversed):
        book.submit(r.reversal_of(entry, "rev2:u1"))
    with pytest.raises(r.NotReversible):
        r.reversal_of(book.entries["rev:u1"], "rev:rev")
    forged = r.Entry("rev3", "reversal", (r.Posting(r.UNMATCHED, r.DEBIT, 1), r.Posting(BANK, r.CREDIT, 1)),
                     reverses="u1")
    with pytest.raises((r.NotReversible, r.AlreadyReversed)):
        book.submit(forged)
    pending = r.refund(bank=BANK, tender_id=1, bidder_id=1, amount_fen=1)
    with pytest.raises(r.NotReversible):
        r.reversal_of(pending, "x")


def test_a_reversal_that_would_take_a_deposit_negative_is_refused():
    book = r.Book()
    entry = r.collection("c1", bank=BANK, tender_id=1, bidder_id=2, amount_fen=500)
    book.submit(entry)
    book.submit(r.refund(bank=BANK, tender_id=1, bidder_id=2, amount_fen=500, pending=False))
    with pytest.raises(r.LimitExceeded):
        book.submit(r.reversal_of(entry, "rev:c1"))


@given(st.integers(1, 10**8 - 1), st.integers(1, 10**8 - 1))
def test_payment_references_read_back(tender, bidder):
    ref = r.payment_reference(tender, bidder)
    assert len(ref) == 18 and r.read_reference(f"deposit {ref[:6]} {ref[6:]} thanks") == (tender, bidder)


@given(st.integers(1, 10**8 - 1), st.integers(1, 10**8 - 1), st.integers(0, 17), st.integers(1, 9))
def test_a_mistyped_digit_matches_no_one(tender, bidder, position, delta):
    ref = r.payment_reference(tender, bidder)
    typo = ref[:position] + str((int(ref[position]) + delta) % 10) + ref[position + 1:]
    assert r.read_reference(typo) != (tender, bidder)


@given(st.integers(-10**15, 10**15))
def test_machine_amounts_round_trip(fen):
    sign = "-" if fen < 0 else ""
    assert parse_amount_fen(f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}") == fen


def test_machine_amounts_refuse_the_rest():
    assert parse_amount_fen("12.3") == 1230 and parse_amount_fen("+7") == 700
    for bad in ("", "1,000.00", "1.234", "abc", "1e5", "--1", "¥5"):
        with pytest.raises(InvalidAmount):
            parse_amount_fen(bad)
    assert check_currency("CNY") == "CNY"
    for bad in ("cny", "CN", "CNYY", "", "元元元"):
        with pytest.raises(InvalidAmount):
            check_currency(bad)


postings = st.lists(st.tuples(st.sampled_from([BANK, r.UNMATCHED, r.FORFEITED, r.deposit_account(1, 1)]),
                              st.sampled_from([r.DEBIT, r.CREDIT]), st.integers(1, 10**6),
                              st.sampled_from(["CNY", "USD"])), min_size=0, max_size=6)


@given(postings)
def test_check_entry_accepts_exactly_the_balanced_ones(raw):
    entry = r.Entry("k", "x", tuple(r.Posting(a, s, n, c) for a, s, n, c in raw))
    balanced = len(raw) >= 2 and not any(r.sums_by_currency(entry.postings).values())
    if balanced:
        r.check_entry(entry)
    else:
        with pytest.raises(r.UnbalancedEntry):
            r.check_entry(entry)


def test_trial_balance_sums_to_zero():
    book = r.Book()
    book.submit(r.collection("c1", bank=BANK, tender_id=1, bidder_id=2, amount_fen=500))
    book.submit(r.unmatched_receipt("u1", bank=BANK, amount_fen=20, currency="USD"))
    tb = r.trial_balance({k: b.signed for k, b in book.balances.items()})
    assert tb["totals"] == {"CNY": 0, "USD": 0}
    assert {(a["code"], a["currency"], a["balance_fen"]) for a in tb["accounts"]} == {
        (BANK, "CNY", 500), (r.deposit_account(1, 2), "CNY", -500), (BANK, "USD", 20), (r.UNMATCHED, "USD", -20)}


# ---------------------------------------------------------------- the stateful test

BIDDERS = [(t, b) for t in (1, 2) for b in (1, 2, 3)]


class LedgerMachine(RuleBasedStateMachine):
    """Random collections (matched or not), matches, refunds (pending or at once), confirmations, bounces,
    forfeits, reversals and resubmissions; every refusal leaves the book as it was."""

    @initialize()
    def start(self):
        self.book = r.Book()
        self.n = 0
        self.settlements: dict[tuple[int, int], int] = {}

    def _key(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def _submit(self, entry: r.Entry) -> bool:
        before = (dict(self.book.balances), dict(self.book.entries), dict(self.book.settled))
        try:
            applied = self.book.submit(entry)
        except DomainError:
            assert (self.book.balances, self.book.entries, self.book.settled) == \
                (before[0], before[1], before[2])
            return False
        if applied and entry.kind in ("refund", "forfeit"):
            tb = r.parse_account(entry.postings[0].account)
            self.settlements[(tb.tender_id, tb.bidder_id)] = self.settlements.get((tb.tender_id, tb.bidder_id), 0) + 1
        return applied

    @rule(who=st.sampled_from(BIDDERS), amount=st.integers(-5, 50_000), currency=st.sampled_from(["CNY", "CNY", "USD"]))
    def collect(self, who, amount, currency):
        self._submit(r.collection(self._key("c"), bank=BANK, tender_id=who[0], bidder_id=who[1], amount_fen=amount,
                                  currency=currency))

    @rule(amount=st.integers(1, 50_000))
    def unmatched(self, amount):
        self._submit(r.unmatched_receipt(self._key("u"), bank=BANK, amount_fen=amount))

    @rule(who=st.sampled_from(BIDDERS), amount=st.integers(1, 50_000))
    def match(self, who, amount):
        self._submit(r.match_receipt(self._key("m"), tender_id=who[0], bidder_id=who[1], amount_fen=amount))

    @rule(who=st.sampled_from(BIDDERS), interest=st.integers(0, 100), pending=st.booleans(),
          whole=st.booleans(), part=st.integers(1, 50_000))
    def refund(self, who, interest, pending, whole, part):
        owed = -self.book.signed(r.deposit_account(*who))
        amount = owed if whole and owed > 0 else part
        self._submit(r.refund(bank=BANK, tender_id=who[0], bidder_id=who[1], amount_fen=amount,
                              interest_fen=interest, pending=pending))

    @rule(who=st.sampled_from(BIDDERS), whole=st.booleans(), part=st.integers(1, 50_000))
    def forfeit(self, who, whole, part):
        owed = -self.book.signed(r.deposit_account(*who))
        self._submit(r.forfeit(tender_id=who[0], bidder_id=who[1], amount_fen=owed if whole and owed > 0 else part))

    @precondition(lambda self: any(e.phase is r.Phase.PENDING for e in self.book.entries.values()))
    @rule(data=st.data(), post=st.booleans())
    def settle_pending(self, data, post):
        key = data.draw(st.sampled_from(sorted(k for k, e in self.book.entries.items() if e.phase is r.Phase.PENDING)))
        was_settled = key in self.book.settled
        applied = self._submit(r.confirm(key) if post else r.void(key))
        assert not (applied and was_settled)

    @precondition(lambda self: bool(self.book.entries))
    @rule(data=st.data())
    def reverse(self, data):
        key = data.draw(st.sampled_from(sorted(self.book.entries)))
        entry = self.book.entries[key]
        try:
            correction = r.reversal_of(entry, self._key("r"))
        except r.NotReversible:
            return
        was = key in self.book.reversed_by
        applied = self._submit(correction)
        assert not (applied and was)

    @precondition(lambda self: bool(self.book.entries))
    @rule(data=st.data())
    def resubmit(self, data):
        key = data.draw(st.sampled_from(sorted(self.book.entries)))
        before = dict(self.book.balances)
        assert self.book.submit(self.book.entries[key]) is False
        assert self.book.balances == before

    @invariant()
    def postings_sum_to_zero_per_currency(self):
        if not hasattr(self, "book"):
            return
        for entry in self.book.entries.values():
            assert not any(r.sums_by_currency(entry.postings).values())
        totals: dict[str, int] = {}
        for (_code, currency), bal in self.book.balances.items():
            totals[currency] = totals.get(currency, 0) + bal.signed
            assert bal.debits_pending >= 0 and bal.credits_pending >= 0
        assert not any(totals.values())

    @invariant()
    def no_bidder_sub_account_negative(self):
        if not hasattr(self, "book"):
            return
        for (code, _cur), bal in self.book.balances.items():
            if r.parse_account(code).kind in (r.Kind.DEPOSIT, r.Kind.UNMATCHED):
                assert bal.debits_posted + bal.debits_pending <= bal.credits_posted

    steps = 0  # checked after every step: counts them across examples

    @invariant()
    def settled_at_most_once(self):
        LedgerMachine.steps += 1
        if not hasattr(self, "book"):
            return
        assert all(n <= 1 for n in self.settlements.values())

    @invariant()
    def balances_recompute_from_the_entries(self):
        if not hasattr(self, "book"):
            return
        posted: dict[tuple[str, str], int] = {}
        for entry in self.book.entries.values():
            if entry.phase is r.Phase.POSTED:
                legs = entry.postings
            elif entry.phase is r.Phase.POST:
                legs = self.book.entries[entry.pending_key].postings
            else:
                continue
            for p in legs:
                posted[(p.account, p.currency)] = posted.get((p.account, p.currency), 0) + p.signed
        assert {k: v for k, v in posted.items() if v} == {k: b.signed for k, b in self.book.balances.items() if b.signed}


LedgerMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=130, deadline=None)
test_ledger_machine = LedgerMachine.TestCase
