"""Pure guardrails of an administrator's edits: roles that fit the organisation, the last administrator,
roles a second person grants, e-mail addresses, temporary passwords."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts import rules
from accounts.rules import (ApprovedRoleChange, InvalidEmail, KindDoesNotFitMembers, LastAdministrator,
                            NeedsApproval, OwnAccount, RoleOrgMismatch, SupervisorPasswordReset)
from core.errors import InvalidInput
from core.roles import USER_ROLES, Role

BASE = dict(actor_id=1, subject_id=2, old_active=True, new_active=True, role_approved=True, other_active_admins=1,
            pending_request=False)


def edit(**kw):
    return rules.check_account_edit(**{**BASE, **kw})


def test_a_plain_edit_changes_nothing_about_the_role():
    assert edit(old_role="bidder", new_role="bidder", org_kind="bidder") == rules.AccountChange(False, False)


def test_the_role_must_fit_the_kind_of_organisation():
    with pytest.raises(RoleOrgMismatch) as e:
        edit(old_role="bidder", new_role="bidder", org_kind="agency")
    assert e.value.field == "role"
    assert edit(old_role="agency", new_role="bidder", org_kind="bidder").role_changed


@pytest.mark.parametrize("new_role,new_active", [("agency", True), ("admin", False)])
def test_the_last_active_administrator_is_never_demoted_or_deactivated(new_role, new_active):
    kind = "agency" if new_role == "agency" else "platform"
    with pytest.raises(LastAdministrator):
        edit(actor_id=9, subject_id=2, old_role="admin", new_role=new_role, new_active=new_active, org_kind=kind,
             other_active_admins=0)
    edit(actor_id=9, subject_id=2, old_role="admin", new_role=new_role, new_active=new_active, org_kind=kind,
         other_active_admins=1)  # another one is left: allowed


def test_an_administrator_demotes_themself_only_when_another_is_left():
    with pytest.raises(LastAdministrator):
        edit(actor_id=2, subject_id=2, old_role="admin", new_role="supervisor", org_kind="platform",
             other_active_admins=0)
    assert edit(actor_id=2, subject_id=2, old_role="admin", new_role="agency", org_kind="agency",
                other_active_admins=1).role_changed
    with pytest.raises(OwnAccount):  # a role that waits for approval would leave the actor locked out
        edit(actor_id=2, subject_id=2, old_role="admin", new_role="supervisor", org_kind="platform",
             other_active_admins=1)
    assert edit(actor_id=9, subject_id=2, old_role="admin", new_role="supervisor", org_kind="platform",
                other_active_admins=1).needs_approval


def test_nobody_deactivates_their_own_account():
    with pytest.raises(OwnAccount):
        edit(actor_id=2, subject_id=2, old_role="admin", new_role="admin", new_active=False, org_kind="platform",
             other_active_admins=5)


@pytest.mark.parametrize("role", ["custodian", "supervisor"])
def test_a_custodian_or_supervisor_role_always_waits_for_approval(role):
    change = edit(old_role="admin", new_role=role, org_kind="platform")
    assert change == rules.AccountChange(role_changed=True, needs_approval=True)


@pytest.mark.parametrize("role", ["custodian", "supervisor"])
def test_an_approved_custodian_or_supervisor_role_is_not_edited_away(role):
    with pytest.raises(ApprovedRoleChange):
        edit(old_role=role, new_role="admin", org_kind="platform")


def test_no_role_change_while_a_request_waits():
    with pytest.raises(ApprovedRoleChange):
        edit(old_role="custodian", new_role="admin", org_kind="platform", role_approved=False, pending_request=True)


def test_an_unapproved_role_is_not_activated_by_an_edit():
    with pytest.raises(NeedsApproval):
        edit(old_role="custodian", new_role="custodian", org_kind="platform", old_active=False, role_approved=False)
    edit(old_role="custodian", new_role="custodian", org_kind="platform", old_active=False, new_active=False,
         role_approved=False)


@given(old=st.sampled_from(USER_ROLES), new=st.sampled_from(USER_ROLES), approved=st.booleans(),
       pending=st.booleans(), kind=st.sampled_from(list(rules.OrgKind)))
def test_no_edit_ever_grants_an_approved_role_directly(old, new, approved, pending, kind):
    try:
        change = edit(old_role=old, new_role=new, org_kind=kind, role_approved=approved, pending_request=pending)
    except InvalidInput:
        return
    assert kind in rules.ROLE_ORG_KINDS[new]
    if new != old and new in rules.APPROVED_ROLES:
        assert change.needs_approval
    if new != old:
        assert not pending and not (old in rules.APPROVED_ROLES and approved)


def test_organisations_keep_their_members_fitting_and_companies_their_code():
    rules.check_organisation(kind="bidder", credit_code="X", member_roles={"bidder"})
    with pytest.raises(rules.InvalidInput) as e:
        rules.check_organisation(kind="agency", credit_code=None)
    assert e.value.field == "credit_code"
    with pytest.raises(KindDoesNotFitMembers) as e:
        rules.check_organisation(kind="agency", credit_code="X", member_roles={"bidder", "custodian"})
    assert e.value.params["role"] == "Bidder" and e.value.field == "kind"
    rules.check_organisation(kind="platform", credit_code=None, member_roles={"admin", "custodian", "supervisor"})


@pytest.mark.parametrize("text,expected", [("", ""), ("  ", ""), (" Li.Na@Example.CN ", "Li.Na@example.cn"),
                                           ("a+b@mail.gov.cn", "a+b@mail.gov.cn")])
def test_email_addresses_are_trimmed_and_their_domain_lower_cased(text, expected):
    assert rules.normalise_email(text) == expected


@pytest.mark.parametrize("text", ["plain", "@example.cn", "a@", "a@cn", "a@@b.cn", "a b@c.cn", "a@b..cn",
                                  "<a@b.cn>", "x" * 250 + "@b.cn"])
def test_what_is_not_an_email_address_is_refused(text):
    with pytest.raises(InvalidEmail):
        rules.normalise_email(text)


@given(st.binary(min_size=64, max_size=64))
def test_temporary_passwords_are_groups_of_unambiguous_characters(data):
    try:
        pw = rules.temporary_password(data)
    except ValueError:
        return  # (only with many bytes above the limit, which secrets.token_bytes practically never gives)
    groups = pw.split("-")
    assert len(groups) == rules.TEMPORARY_PASSWORD_GROUPS
    assert all(len(g) == rules.TEMPORARY_PASSWORD_GROUP for g in groups)
    assert set(pw) - {"-"} <= set(rules.TEMPORARY_PASSWORD_ALPHABET)
    assert not set(pw) & set("0O1lI")


def test_temporary_passwords_use_the_bytes_given_and_skip_biased_ones():
    n = len(rules.TEMPORARY_PASSWORD_ALPHABET)
    assert rules.temporary_password(bytes(range(20))) == "abcde-fghjk-mnpqr-stuvw"
    biased = bytes([255] * 5) + bytes(range(20))  # 255 ≥ 256 - 256 % n: skipped
    assert 255 >= 256 - 256 % n and rules.temporary_password(biased) == "abcde-fghjk-mnpqr-stuvw"
    with pytest.raises(ValueError):
        rules.temporary_password(bytes(19))


def test_temporary_passwords_pass_the_password_policy():
    import secrets

    for _ in range(20):
        rules.check_password_strength(rules.temporary_password(secrets.token_bytes(64)), username="someone")


def test_a_password_reset_is_never_for_oneself_or_a_supervisor():
    rules.check_password_reset(actor_id=1, subject_id=2, subject_role="custodian")
    with pytest.raises(OwnAccount):
        rules.check_password_reset(actor_id=1, subject_id=1, subject_role="admin")
    with pytest.raises(SupervisorPasswordReset):
        rules.check_password_reset(actor_id=1, subject_id=2, subject_role="supervisor")


def test_the_least_privileged_role_is_a_bidder():
    assert rules.LEAST_PRIVILEGED_ROLE == Role.BIDDER
