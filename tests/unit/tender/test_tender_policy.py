"""tender.policy: who owns a tender, who sees a draft and its downloaders, who holds a key share, whose bid."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.actor import Actor
from core.roles import Role
from tender import policy

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass
class T:
    agency_id: int
    published_at: datetime | None = None


@dataclass
class Share:
    custodian_id: int


@dataclass
class B:
    organisation_id: int


def who(role, org=7, user=70):
    return Actor(user_id=user, name="x", role=role, organisation_id=org)


ANON = Actor.anonymous()
SYSTEM = Actor.system()


def test_the_agency_of_the_tender_owns_it_and_no_one_else():
    t = T(agency_id=7)
    assert policy.owns_tender(who(Role.AGENCY), t)
    assert not policy.owns_tender(who(Role.AGENCY, org=8), t)
    assert not policy.owns_tender(who(Role.BIDDER), t)  # same organisation id, another role
    assert not policy.owns_tender(who(Role.SUPERVISOR), t) and not policy.owns_tender(ANON, t)
    assert not policy.owns_tender(who(Role.AGENCY, org=None), T(agency_id=None))


def test_drafts_are_seen_by_their_agency_and_supervisors_only():
    draft, published = T(agency_id=7), T(agency_id=7, published_at=NOW)
    allowed = {Role.AGENCY, Role.SUPERVISOR, Role.ADMIN}
    for role in Role:
        assert policy.may_see_tender(who(role), draft) == (role in allowed)
        assert policy.may_see_tender(who(role), published)
    assert not policy.may_see_tender(who(Role.AGENCY, org=8), draft)
    assert not policy.may_see_tender(ANON, draft) and policy.may_see_tender(ANON, published)
    assert policy.reads_documents_uncounted(who(Role.ADMIN), draft)
    assert not policy.reads_documents_uncounted(who(Role.BIDDER), published)


@pytest.mark.parametrize("role, before, after", [
    # (sees anything before the deadline, names before), (sees anything after, names after)
    (Role.AGENCY, (True, False), (True, True)),
    (Role.SUPERVISOR, (True, True), (True, True)),
    (Role.ADMIN, (False, False), (True, True)),
    (Role.BIDDER, (False, False), (False, False)),
    (Role.CUSTODIAN, (False, False), (False, False)),
    (Role.EXPERT, (False, False), (False, False)),
])
def test_who_sees_the_downloaders_when(role, before, after):
    t = T(agency_id=7, published_at=NOW)
    for visible, (sees, names) in ((False, before), (True, after)):
        assert policy.may_see_downloads(who(role), t, names_visible=visible) == sees
        assert policy.may_see_downloader_names(who(role), t, names_visible=visible) == names
    assert not policy.may_see_downloads(who(Role.AGENCY, org=8), t, names_visible=True)


def test_a_share_is_held_by_its_custodian_only():
    share = Share(custodian_id=70)
    assert policy.holds_share(who(Role.CUSTODIAN), share)
    assert not policy.holds_share(who(Role.CUSTODIAN, user=71), share)
    assert not policy.holds_share(who(Role.SUPERVISOR), share)  # the same user id, another role
    assert not policy.holds_share(SYSTEM, Share(custodian_id=None))


def test_a_bid_is_its_bidders():
    bid = B(organisation_id=7)
    assert policy.owns_bid(who(Role.BIDDER), bid)
    assert not policy.owns_bid(who(Role.BIDDER, org=8), bid)
    assert not policy.owns_bid(who(Role.AGENCY), bid) and not policy.owns_bid(ANON, bid)


actors = st.builds(who, st.sampled_from(list(Role) + ["public"]), st.none() | st.integers(1, 4),
                   st.none() | st.integers(1, 4))


@given(actors, st.integers(1, 4), st.booleans(), st.booleans())
def test_the_predicates_agree_with_each_other(actor, agency, published, visible):
    t = T(agency_id=agency, published_at=NOW if published else None)
    if policy.owns_tender(actor, t):
        assert policy.may_see_tender(actor, t) and policy.may_see_downloads(actor, t, names_visible=visible)
    if policy.may_see_downloader_names(actor, t, names_visible=visible):
        assert policy.may_see_downloads(actor, t, names_visible=visible)
    if actor.role not in (Role.AGENCY, Role.SUPERVISOR, Role.ADMIN):
        assert policy.may_see_tender(actor, t) == published
        assert not policy.may_see_downloads(actor, t, names_visible=visible)
