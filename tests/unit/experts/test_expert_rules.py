"""experts.rules: national IDs, the specialty code list, committee rules, avoidance."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from experts import rules
from experts.rules import (
    CommitteeRefused, CommitteeSettings, DrawContext, Employment, ExpertFacts, InvalidNationalId, Penalty, Relation,
    UnknownSpecialty, avoidance_reasons, check_committee, check_national_id, committee_violations, covers,
    mask_national_id, national_id_check_char, pseudonym, screen, specialties, specialty_path,
)

# A well-known sample number of GB 11643-1999 (Beijing Dongcheng, born 1949-12-31), check character X.
SAMPLE = "11010519491231002X"


def make_id(region: str, born: date, seq: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + national_id_check_char(first17)


# --------------------------------------------------------------------------- national ID

def test_known_sample_is_valid_and_x_is_normalised():
    assert check_national_id(SAMPLE) == SAMPLE
    assert check_national_id(" " + SAMPLE.lower() + " ") == SAMPLE
    assert national_id_check_char(SAMPLE[:17]) == "X"


@pytest.mark.parametrize("text, reason", [
    ("11010519491231002", "18 characters"),
    ("11010519491231002XX", "18 characters"),
    ("01010519491231002X", "17 digits"),
    ("1101051949123100AX", "17 digits"),
    ("110105194913310021", "birth date"),
    ("110105189912310021", "birth date"),
    ("110105194902300020", "birth date"),
    ("110105194912310021", "check character"),
])
def test_bad_national_ids_say_why(text, reason):
    with pytest.raises(InvalidNationalId) as exc:
        check_national_id(text)
    assert reason in str(exc.value)
    assert exc.value.field == "national_id"


def test_birth_date_after_today_is_refused():
    number = make_id("310101", date(2030, 1, 1), 1)
    assert check_national_id(number) == number
    with pytest.raises(InvalidNationalId):
        check_national_id(number, today=date(2026, 12, 7))


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 1, 1)), st.integers(0, 999),
       st.integers(110000, 659999))
def test_every_generated_id_checks_and_any_single_change_of_a_digit_is_caught(born, seq, region):
    number = make_id(str(region), born, seq)
    assert check_national_id(number, today=date(2026, 12, 7)) == number
    for i in range(17):
        d = number[i]
        other = str((int(d) + 1) % 10)
        changed = number[:i] + other + number[i + 1:]
        with pytest.raises(InvalidNationalId):  # MOD 11-2 catches every single-digit error
            if national_id_check_char(changed[:17]) == changed[17]:
                raise AssertionError("a single digit error went unnoticed")
            check_national_id(changed)


@given(st.text(min_size=8, max_size=30))
def test_masking_keeps_length_and_hides_the_middle(text):
    masked = mask_national_id(text)
    assert len(masked) == len(text)
    assert masked[:3] == text[:3] and masked[-4:] == text[-4:]
    assert set(masked[3:-4]) <= {"*"}


def test_masked_sample():
    assert mask_national_id(SAMPLE) == "110***********002X"


def test_pseudonyms():
    assert pseudonym(123) == "E000123"
    assert rules.is_pseudonym("E000123") and not rules.is_pseudonym("E12")
    with pytest.raises(ValueError):
        pseudonym(0)


# --------------------------------------------------------------------------- specialties

def test_specialty_list_is_hierarchical_with_both_names():
    known = specialties()
    assert "works.civil.bridges" in known
    assert [s.code for s in specialty_path("works.civil.bridges")] == ["works", "works.civil", "works.civil.bridges"]
    assert known["works.civil.bridges"].name("zh_Hans_CN") == "桥梁"
    assert known["works.civil.bridges"].name("en") == "Bridges"
    for s in known.values():
        assert s.zh and s.en
        assert s.parent is None or s.parent in known
    with pytest.raises(UnknownSpecialty):
        rules.check_specialty("works.civil.spaceports")


def test_parse_specialties_refuses_orphans_and_duplicates():
    with pytest.raises(ValueError, match="parent"):
        rules.parse_specialties({"specialties": [{"code": "a.b", "zh": "甲", "en": "A"}]})
    with pytest.raises(ValueError, match="twice"):
        rules.parse_specialties({"specialties": [{"code": "a", "zh": "甲", "en": "A"}] * 2})


def test_specialties_are_documented():
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[3] / "docs" / "expert-draw.md").read_text(encoding="utf-8")
    assert "experts/data/specialties.json" in doc


@given(st.sampled_from(sorted(specialties())), st.sampled_from(sorted(specialties())))
def test_covers_is_the_code_or_below(requested, own):
    assert covers(requested, own) == (own == requested or requested in [s.code for s in specialty_path(own)])


# --------------------------------------------------------------------------- committee

def test_committee_rules_name_their_articles():
    assert committee_violations(experts=4, others=1, budget_fen=None) == []
    codes = {r.code for r, _ in committee_violations(experts=3, others=1, budget_fen=None)}
    assert codes == {"committee_odd", "committee_min_size"}
    assert [r.code for r, _ in committee_violations(experts=3, others=2, budget_fen=None)] == [
        "committee_expert_share"]
    gp = CommitteeSettings(government_procurement=True)
    big = 10_000_000 * 100
    assert [r.article for r, _ in committee_violations(experts=5, others=0, budget_fen=big, settings=gp)] == [
        "87号令 art. 47"]
    assert committee_violations(experts=5, others=0, budget_fen=big - 1, settings=gp) == []
    assert committee_violations(experts=7, others=0, budget_fen=big, settings=gp) == []
    with pytest.raises(CommitteeRefused) as exc:
        check_committee(experts=4, others=0, budget_fen=None)
    assert "招标投标法 art. 37" in str(exc.value)


@given(st.integers(0, 30), st.integers(0, 30), st.booleans(), st.integers(0, 2 * 10**9))
def test_a_committee_passes_exactly_when_the_law_holds(experts, others, gp, budget):
    size = experts + others
    ok = (size % 2 == 1 and size >= 5 and 3 * experts >= 2 * size
          and not (gp and budget >= 10**9 and size < 7))
    broken = committee_violations(experts=experts, others=others, budget_fen=budget,
                                  settings=CommitteeSettings(government_procurement=gp))
    assert (broken == []) == ok


# --------------------------------------------------------------------------- avoidance

EVAL = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
CTX = DrawContext(evaluation_start=EVAL, evaluation_end=EVAL + timedelta(hours=8), bidders=frozenset({"B1", "B2"}),
                  bidder_people=frozenset({"P9"}), tendering_party=frozenset({"T1"}), agency="A1",
                  committee=frozenset({"E000009"}), agency_max_draws=2)


def facts(**kw) -> ExpertFacts:
    return ExpertFacts(pseudonym=kw.pop("pseudonym", "E000001"), **kw)


@pytest.mark.parametrize("expert, reason", [
    (facts(employments=(Employment("B1", date(2010, 1, 1)),)), "employed_by_bidder"),
    (facts(employments=(Employment("B2", date(2010, 1, 1), date(2024, 1, 1)),)), "employed_by_bidder"),
    (facts(employments=(Employment("T1", date(2020, 1, 1), date(2025, 6, 1)),)), "employed_by_tendering_party"),
    (facts(relations=(Relation("organisation", "B2"),)), "related_to_bidder"),
    (facts(relations=(Relation("person", "P9"),)), "related_to_bidder"),
    (facts(status="retired"), "retired"),
    (facts(status="suspended"), "suspended"),
    (facts(status="suspended", suspended_until=date(2026, 12, 10)), "suspended"),
    (facts(penalties=(Penalty(date(2026, 1, 1), None),)), "penalised"),
    (facts(unavailable=((EVAL + timedelta(hours=7), EVAL + timedelta(days=1)),)), "unavailable"),
    (facts(draws=(("A1", EVAL - timedelta(days=10)), ("A1", EVAL - timedelta(days=100)))), "agency_quota"),
    (facts(pseudonym="E000009"), "on_committee"),
])
def test_each_avoidance_rule_gives_its_reason(expert, reason):
    assert avoidance_reasons(expert, CTX) == [reason]


@pytest.mark.parametrize("expert", [
    facts(),
    facts(employments=(Employment("B1", date(2010, 1, 1), date(2023, 12, 9)),)),  # more than 3 years before
    facts(employments=(Employment("X", date(2010, 1, 1)),)),
    facts(relations=(Relation("person", "B1"),)),  # a person's id that happens to be an organisation's
    facts(status="suspended", suspended_until=date(2026, 12, 9)),
    facts(penalties=(Penalty(date(2025, 1, 1), date(2026, 12, 9)),)),
    facts(unavailable=((EVAL - timedelta(days=1), EVAL),)),  # ends as the evaluation starts
    facts(draws=(("A1", EVAL - timedelta(days=10)), ("A1", EVAL - timedelta(days=400)), ("A2", EVAL))),
])
def test_near_misses_are_eligible(expert):
    assert avoidance_reasons(expert, CTX) == []


def test_reasons_accumulate_in_rule_order_and_are_known():
    expert = facts(pseudonym="E000009", status="retired", relations=(Relation("organisation", "B1"),),
                   employments=(Employment("B1", date(2020, 1, 1)),))
    reasons = avoidance_reasons(expert, CTX)
    assert reasons == ["employed_by_bidder", "related_to_bidder", "retired", "on_committee"]
    assert set(reasons) <= set(rules.REASONS)


def test_employment_years_is_a_setting():
    from dataclasses import replace
    expert = facts(employments=(Employment("B1", date(2010, 1, 1), date(2022, 1, 1)),))
    assert avoidance_reasons(expert, CTX) == []
    assert avoidance_reasons(expert, replace(CTX, employment_years=5)) == ["employed_by_bidder"]


@given(st.lists(st.tuples(st.sampled_from(["B1", "B2", "T1", "X", "Y"]),
                          st.dates(min_value=date(2000, 1, 1), max_value=date(2026, 12, 1)),
                          st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2026, 12, 1)))),
                max_size=4))
def test_employment_rule_matches_its_definition(jobs):
    expert = facts(employments=tuple(Employment(o, s, e) for o, s, e in jobs))
    cutoff = date(2023, 12, 10)
    expected_bidder = any(o in {"B1", "B2"} and (e is None or e >= cutoff) for o, s, e in jobs)
    assert (rules.employed_by_bidder(expert, CTX) is not None) == expected_bidder


def test_screen_splits_the_pool_by_requested_code():
    pool = [
        (facts(pseudonym="E000003"), ["works.civil.bridges"]),
        (facts(pseudonym="E000002"), ["works.civil.roads"]),
        (facts(pseudonym="E000004", status="retired"), ["works.civil.bridges"]),
        (facts(pseudonym="E000005"), ["goods.vehicles"]),
    ]
    out = screen(pool, ["works.civil.bridges", "works.civil"], CTX)
    assert out.eligible == {"works.civil.bridges": ["E000003"], "works.civil": ["E000002", "E000003"]}
    assert out.excluded == [{"expert": "E000004", "reasons": ["retired"]}]


# --------------------------------------------------------------------------- draw requests

DEADLINE = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


def _request(**kw):
    base = dict(specialties=[("works.civil.bridges", 3), ("works.cost", 2)], others=0, budget_fen=None,
                bid_deadline=DEADLINE, evaluation_start=EVAL, now=EVAL - timedelta(hours=24))
    rules.check_draw_request(**{**base, **kw})


def test_a_valid_draw_request_passes():
    _request()
    _request(specialties=[("works", 4)], others=1)


@pytest.mark.parametrize("change, error", [
    (dict(now=DEADLINE - timedelta(seconds=1)), rules.DrawTooEarly),
    (dict(now=EVAL - timedelta(hours=49), bid_deadline=EVAL - timedelta(days=5)), rules.DrawOutsideWindow),
    (dict(now=EVAL), rules.DrawOutsideWindow),
    (dict(specialties=[]), rules.BadDrawRequest),
    (dict(specialties=[("works", 3), ("works", 2)]), rules.BadDrawRequest),
    (dict(specialties=[("works", 5), ("goods", 0)]), rules.BadDrawRequest),
    (dict(specialties=[("works.nowhere", 5)]), UnknownSpecialty),
    (dict(regions_include=["350201"], regions_exclude=["350201"]), rules.BadDrawRequest),
    (dict(specialties=[("works", 4)]), CommitteeRefused),
    (dict(others=3), CommitteeRefused),
    (dict(budget_fen=10**9, settings=CommitteeSettings(government_procurement=True)), CommitteeRefused),
])
def test_bad_draw_requests_are_refused(change, error):
    with pytest.raises(error):
        _request(**change)
