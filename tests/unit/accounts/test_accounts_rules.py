"""accounts.rules: passwords, login throttling, API tokens, roles and the organisations they fit."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts import rules
from accounts.rules import (
    ROLE_ORG_KINDS,
    OrgKind,
    RoleOrgMismatch,
    ThrottlePolicy,
    ThrottleState,
    WeakPassword,
    check_password_strength,
    check_role_org,
)
from core.errors import InvalidInput, TooManyAttempts
from core.roles import USER_ROLES, Role

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


# ------------------------------------------------------------------ passwords

@pytest.mark.parametrize("password", [
    "Abcdefgh1!",             # exactly 10 characters, four classes
    "Abcdefghij1",            # three classes
    "correct horse battery",  # passphrase: one class is enough from 16 characters
    "Ab1" + "qz7Kp" * 50 + "x",  # exactly 256 (the estimator reads the first 72)
    "Correct-Horse-42", "Sunbid-demo-2026",  # the tests' and the demo's passwords
])
def test_strong_passwords(password):
    check_password_strength(password, username="zhangwei")


@pytest.mark.parametrize("password, reason", [
    ("Abcdef12!", "at least"),          # 9 characters
    ("abcdefgh12", "three"),            # two classes, 10 characters
    ("abcdefghijklmno", "three"),       # 15 characters, one class
    ("Ab1" + "x" * 254, "at most"),     # 257 characters
    ("", "at least"),
    ("password1", "at least"), ("12345678", "at least"),  # too short before anything else
    ("Password1!", "commonly used password"),
    ("P@ssw0rd2026", "commonly used password"),
    ("abcdefg12!", "Sequences"),
    ("a" * 16, "Repeats"),
    ("passwordpassword1", "easy to guess"),
    ("qwertyuiopasdfgh", "commonly used password"),
    ("zxcvbnm,./asdfghjkl", "rows of keys"),
])
def test_weak_passwords(password, reason):
    with pytest.raises(WeakPassword) as e:
        check_password_strength(password)
    assert e.value.code == "weak_password" and e.value.field == "password"
    assert reason in str(e.value)


def test_the_estimators_warnings_are_our_own_translatable_messages():
    with pytest.raises(WeakPassword) as e:
        check_password_strength("Password1!")
    assert e.value.params["why"] in rules.ESTIMATOR_FEEDBACK  # a message id of the catalogue, not free text


def test_password_must_not_contain_username():
    with pytest.raises(WeakPassword, match="user name"):
        check_password_strength("My-ZhangWei-2026", username="zhangwei")
    with pytest.raises(WeakPassword):
        check_password_strength("a long passphrase with bob inside", username="BOB")
    check_password_strength("Xy-9Ab-cd12", username="ab")  # names under 3 characters are ignored


def test_the_users_own_details_make_a_password_weak():
    check_password_strength("Hongda2026!", username="wang")
    with pytest.raises(WeakPassword):
        check_password_strength("Hongda2026!", username="wang", context=("Binhai Hongda Construction",))


# ------------------------------------------------------------------ login throttling

POLICY = ThrottlePolicy()


def test_free_failures_then_growing_delays_capped():
    assert [rules.throttle_delay(n) for n in range(POLICY.free_failures + 1)][:-1] == [timedelta(0)] * 3
    assert rules.throttle_delay(3) == timedelta(seconds=2)
    assert rules.throttle_delay(4) == timedelta(seconds=4)
    assert rules.throttle_delay(100) == POLICY.max_delay == timedelta(minutes=5)


@given(st.integers(0, 10_000))
def test_delay_never_shrinks_with_more_failures_and_stays_under_the_cap(n):
    assert timedelta(0) <= rules.throttle_delay(n) <= rules.throttle_delay(n + 1) <= POLICY.max_delay


@given(st.integers(0, 60), st.integers(0, 10 * 3600))
def test_an_attempt_is_allowed_exactly_when_the_delay_is_over(failures, seconds_later):
    state = ThrottleState(failures=failures, last_failure=NOW)
    now = NOW + timedelta(seconds=seconds_later)
    delay = rules.throttle_delay(failures)
    if seconds_later >= POLICY.forget_after.total_seconds() or timedelta(seconds=seconds_later) >= delay:
        rules.check_attempt(state, now=now)
    else:
        with pytest.raises(rules.LoginThrottled) as e:
            rules.check_attempt(state, now=now)
        assert e.value.status == 429 and isinstance(e.value, TooManyAttempts)
        assert 1 <= e.value.params["seconds"] <= delay.total_seconds() - seconds_later + 1


@given(st.lists(st.integers(0, 3 * 3600), max_size=30))
def test_failures_count_up_and_are_forgotten_after_a_quiet_spell(gaps):
    state, now = ThrottleState(), NOW
    for gap in gaps:
        now += timedelta(seconds=gap)
        before = rules.current_throttle(state, now=now)
        state = rules.after_failure(state, now=now)
        assert state.failures == before.failures + 1 and state.last_failure == now
    later = now + POLICY.forget_after
    assert rules.current_throttle(state, now=later) == ThrottleState()
    rules.check_attempt(state, now=later)
    assert rules.after_success() == ThrottleState()


def test_never_an_account_lock():
    """No number of failures refuses an attempt once the (capped) delay since the last one is over."""
    state = ThrottleState(failures=10_000, last_failure=NOW)
    rules.check_attempt(state, now=NOW + POLICY.max_delay)
    with pytest.raises(rules.LoginThrottled):
        rules.check_attempt(state, now=NOW + POLICY.max_delay - timedelta(seconds=1))


# ------------------------------------------------------------------ API tokens

def test_token_expiry_default_bounds_and_parent_cap():
    assert rules.token_expiry(now=NOW, days=None) == NOW + timedelta(days=90)
    assert rules.token_expiry(now=NOW, days=365) == NOW + timedelta(days=365)
    for bad in (0, -1, 366):
        with pytest.raises(InvalidInput):
            rules.token_expiry(now=NOW, days=bad)
    parent = NOW + timedelta(days=3)
    assert rules.token_expiry(now=NOW, days=30, not_after=parent) == parent
    assert rules.token_usable(revoked_at=None, expires_at=NOW + timedelta(seconds=1), now=NOW)
    assert not rules.token_usable(revoked_at=None, expires_at=NOW, now=NOW)
    assert not rules.token_usable(revoked_at=NOW, expires_at=NOW + timedelta(days=1), now=NOW)


@given(st.integers(0, 600))
def test_token_last_use_written_at_most_once_a_minute(seconds):
    last = NOW
    assert rules.token_touch_due(last_used_at=last, now=NOW + timedelta(seconds=seconds)) == (seconds >= 60)
    assert rules.token_touch_due(last_used_at=None, now=NOW)


# ------------------------------------------------------------------ roles

def test_role_org_table_is_complete():
    assert set(ROLE_ORG_KINDS) == set(USER_ROLES)
    assert ROLE_ORG_KINDS[Role.CUSTODIAN] == {OrgKind.PLATFORM, OrgKind.AGENCY}
    assert ROLE_ORG_KINDS[Role.EXPERT] == {OrgKind.EMPLOYER}


@pytest.mark.parametrize("role", USER_ROLES)
@pytest.mark.parametrize("kind", list(OrgKind))
def test_check_role_org(role, kind):
    if kind in ROLE_ORG_KINDS[role]:
        check_role_org(role, kind)
        check_role_org(str(role), str(kind))
    else:
        with pytest.raises(RoleOrgMismatch) as e:
            check_role_org(role, kind)
        assert e.value.code == "role_org_mismatch" and e.value.field == "role"


def test_unknown_role_or_kind():
    with pytest.raises(InvalidInput):
        check_role_org("king", "platform")
    with pytest.raises(InvalidInput):
        check_role_org("admin", "castle")
