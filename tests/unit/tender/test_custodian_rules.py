"""Pure rules of key custody: spreading shares over organisations, the one-organisation refusal, fingerprints,
registration challenges and the four-eyes rule of role changes."""
from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts import rules as accounts_rules
from tender import custody_rules
from tender.rules import CustodiansOfOneOrganisation, check_custodian_spread, choose_custodians

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


# ---------------------------------------------------------------- one organisation may not hold k shares

def test_one_organisation_holding_k_shares_is_refused_with_the_rule_named():
    with pytest.raises(CustodiansOfOneOrganisation) as exc:
        check_custodian_spread([(1, "Trading centre"), (1, "Trading centre"), (2, "Notary office")], k=2)
    assert exc.value.code == "custodians_one_organisation" and exc.value.status == 409
    message = exc.value.to_dict()["message"]
    assert "2 of the 3" in message and "Trading centre" in message and "threshold of 2" in message


def test_shares_spread_so_that_no_organisation_reaches_k_are_accepted():
    check_custodian_spread([(1, "A"), (2, "B"), (3, "C")], k=2)
    check_custodian_spread([(1, "A"), (1, "A"), (2, "B"), (2, "B"), (3, "C")], k=3)


def test_all_custodians_of_one_organisation_are_refused_even_when_k_is_n():
    with pytest.raises(CustodiansOfOneOrganisation):
        check_custodian_spread([(7, "X")] * 3, k=3)


@given(st.lists(st.integers(1, 5), min_size=2, max_size=16), st.integers(2, 16))
def test_spread_check_refuses_exactly_when_some_organisation_has_k(orgs, k):
    pairs = [(o, f"org {o}") for o in orgs]
    refused = max(Counter(orgs).values()) >= k
    try:
        check_custodian_spread(pairs, k=k)
    except CustodiansOfOneOrganisation:
        assert refused
    else:
        assert not refused


def test_choice_takes_one_custodian_per_organisation_in_turn():
    candidates = [(1, 10), (2, 10), (3, 10), (4, 20), (5, 30)]
    assert choose_custodians(candidates, 3) == [1, 4, 5]
    assert choose_custodians(candidates, 5) == [1, 4, 5, 2, 3]
    assert choose_custodians(candidates, 9) == [1, 4, 5, 2, 3]  # fewer than asked when there are fewer


@given(st.lists(st.integers(1, 6), max_size=30), st.integers(1, 16))
def test_choice_is_as_even_as_the_candidates_allow(orgs, n):
    candidates = [(i, o) for i, o in enumerate(orgs)]
    chosen = choose_custodians(candidates, n)
    assert len(chosen) == min(n, len(orgs)) and len(set(chosen)) == len(chosen)
    per_org = Counter(orgs[i] for i in chosen)
    available = Counter(orgs)
    # an organisation gets one more share than another only if that other has no more custodians to give
    for a in per_org:
        for b in available:
            if per_org[a] > per_org.get(b, 0) + 1:
                assert per_org.get(b, 0) == available[b]


# ---------------------------------------------------------------- fingerprints

def test_fingerprint_is_the_first_16_hex_digits_of_sha256_of_the_recipient():
    r = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
    assert custody_rules.recipient_fingerprint(r) == hashlib.sha256(r.encode()).hexdigest()[:16]
    assert len(custody_rules.recipient_fingerprint(r)) == 16


# ---------------------------------------------------------------- challenges

def test_challenge_accepts_the_right_answer_once_before_it_expires():
    digest = custody_rules.challenge_digest("0123abcd" * 4)
    custody_rules.check_challenge(expected_digest=digest, answer=" 0123ABCD" * 4 + "\n", used=False,
                               expires_at=NOW + timedelta(minutes=1), now=NOW)
    with pytest.raises(custody_rules.ChallengeFailed):
        custody_rules.check_challenge(expected_digest=digest, answer="0123abcd" * 3, used=False,
                                   expires_at=NOW + timedelta(minutes=1), now=NOW)
    with pytest.raises(custody_rules.ChallengeExpired):
        custody_rules.check_challenge(expected_digest=digest, answer="0123abcd" * 4, used=True,
                                   expires_at=NOW + timedelta(minutes=1), now=NOW)
    with pytest.raises(custody_rules.ChallengeExpired):
        custody_rules.check_challenge(expected_digest=digest, answer="0123abcd" * 4, used=False,
                                   expires_at=NOW, now=NOW)


def test_challenges_carry_128_bits_and_live_half_an_hour():
    assert custody_rules.CHALLENGE_BYTES * 8 >= 128
    assert custody_rules.CHALLENGE_LIFETIME == timedelta(minutes=30)


# ---------------------------------------------------------------- four eyes

def test_only_another_approved_supervisor_decides_a_role_change():
    ok = dict(approver_id=5, approver_role="supervisor", approver_approved=True, requester_id=1, subject_id=9)
    accounts_rules.check_role_decision(**ok)
    for change in ({"approver_role": "admin"}, {"approver_approved": False}, {"approver_id": None},
                   {"approver_id": 1}, {"approver_id": 9}):
        with pytest.raises(accounts_rules.SameApprover):
            accounts_rules.check_role_decision(**{**ok, **change})
