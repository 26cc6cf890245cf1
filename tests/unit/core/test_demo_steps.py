"""The demo's pure pieces (core/demo.py): the merge of the areas' steps by time, and the shared world."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.demo import DemoStep, DemoStepFailed, DemoTender, DemoWorld, NotYetMade, merge_steps

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _noop(session, world, at) -> None:
    pass


def _step(minutes: int, area: str, name: str) -> DemoStep:
    return DemoStep(T0 + timedelta(minutes=minutes), area, name, _noop)


# a few instants only, so that steps of different areas often share one
contributions = st.lists(st.lists(st.integers(min_value=-5, max_value=5), max_size=12), max_size=5).map(
    lambda areas: [[_step(m, f"area{a}", f"step{n}") for n, m in enumerate(minutes)]
                   for a, minutes in enumerate(areas)])


@given(contributions)
def test_the_merge_is_in_time_order(contributed):
    merged = merge_steps(contributed)
    assert [s.at for s in merged] == sorted(s.at for s in merged)


@given(contributions)
def test_the_merge_loses_and_adds_nothing(contributed):
    merged = merge_steps(contributed)
    assert sorted(map(id, merged)) == sorted(id(s) for steps in contributed for s in steps)


@given(contributions)
def test_steps_at_one_instant_keep_the_order_of_their_areas_then_their_own(contributed):
    position = {id(s): (a, n) for a, steps in enumerate(contributed) for n, s in enumerate(steps)}
    merged = merge_steps(contributed)
    for before, after in zip(merged, merged[1:]):
        if before.at == after.at:
            assert position[id(before)] < position[id(after)]


@given(contributions, st.integers(min_value=-6, max_value=6))
def test_until_keeps_exactly_the_steps_due(contributed, minutes):
    until = T0 + timedelta(minutes=minutes)
    due = merge_steps(contributed, until=until)
    assert due == [s for s in merge_steps(contributed) if s.at <= until]


def test_a_later_area_lands_between_the_steps_of_an_earlier_one():
    tender = [_step(0, "tender", "create"), _step(10, "tender", "publish"), _step(20, "tender", "open")]
    experts = [_step(15, "experts", "draw"), _step(20, "experts", "after the opening, same minute")]
    assert [s.name for s in merge_steps([tender, experts])] == [
        "create", "publish", "draw", "open", "after the opening, same minute"]


def test_a_failed_step_is_named_with_its_area_and_time():
    failed = DemoStepFailed(_step(0, "tender", "publish T03"), ValueError("no documents"))
    assert "tender: publish T03" in str(failed) and "2026-11-22T02:00:00+00:00" in str(failed)
    assert "ValueError: no documents" in str(failed)


def test_the_world_tells_what_is_not_made_yet():
    world = DemoWorld(now=T0, rng=random.Random(1))
    world.add_organisation("agency1", "agency", "滨海市政府采购中心")
    world.add_person("agency", "agency1", "agency1")
    world.add_tender(DemoTender(key="T01", state="opened", agency="agency1", created_at=T0,
                                opens_at=T0 + timedelta(days=30)))
    assert world.people == {"agency": ["agency1"]} and world.organisations["agency1"].members == ["agency1"]
    assert [t.key for t in world.tenders_in("opened")] == ["T01"] and world.tenders_in("draft") == []
    assert [o.key for o in world.organisations_of("agency")] == ["agency1"]
    with pytest.raises(NotYetMade, match="agency1"):
        world.actor("agency1")
    with pytest.raises(NotYetMade, match="T01"):
        world.tender_id("T01")
    with pytest.raises(NotYetMade, match="agency1"):
        world.organisation_id("agency1")
    world.tenders["T01"].id = 7
    assert world.tender_id("T01") == 7
    with pytest.raises(ValueError, match="twice"):
        world.add_person("bidder", "agency1", "agency1")
    with pytest.raises(ValueError, match="twice"):
        world.add_tender(DemoTender(key="T01", state="draft", agency="agency1", created_at=T0))
