"""Evaluation rules: hand-computed examples, every refusal, and properties (permutations, monotone price
scores, bounds, determinism)."""
from __future__ import annotations

import random
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.rules import (
    RULES,
    Aggregation,
    BaseRule,
    Bid,
    Category,
    InvalidBid,
    InvalidDraw,
    InvalidPlan,
    InvalidScore,
    ItemKind,
    Method,
    ObjectiveScoresDiffer,
    PassFailItem,
    Plan,
    PlanRules,
    Rounding,
    Score,
    ScoredItem,
    TieNeedsDraw,
    TieRule,
    abnormally_low,
    check_plan,
    check_score,
    check_submittable,
    committee_score,
    evaluate,
    evaluated_price,
    price_score,
    round_score,
    small_enterprise_deduction,
)

T1 = ScoredItem("T1", D(40), ItemKind.SUBJECTIVE, "technical solution", "0–40 by the guidance")
B1 = ScoredItem("B1", D(30), ItemKind.OBJECTIVE, "certificates", "10 per certificate, at most 30")


def goods_plan(**kw) -> Plan:
    base = dict(method=Method.COMPREHENSIVE, category=Category.GOODS, items=(T1, B1), price_weight=D(30),
                qualification=(PassFailItem("Q1", "business licence"),),
                deductions=(small_enterprise_deduction("0.10"),))
    base.update(kw)
    return Plan(**base)


def scores(bidder: str, item: str, values) -> list[Score]:
    return [Score(f"E{n}", bidder, item, D(str(v))) for n, v in enumerate(values, start=1)]


def example():
    bids = [Bid("A", D("100")), Bid("B", D("90"), policies=frozenset({"small_enterprise"})),
            Bid("C", D("70"), valid=False, reasons=("Q1: no business licence",))]
    sheets = (scores("A", "T1", [30, 31, 33]) + scores("A", "B1", [20, 20, 20])
              + scores("B", "T1", [25, 26, 28]) + scores("B", "B1", [20, 20, 20]))
    return bids, sheets


def test_hand_computed_comprehensive_scoring():
    bids, sheets = example()
    ev = evaluate(goods_plan(), bids, sheets)
    assert ev.evaluated == {"A": D("100"), "B": D("81.00"), "C": D("70")}  # B: 90 less 10 %
    assert ev.base == Fraction(81)  # the lowest valid evaluated price; C failed the review
    a, b = sorted(ev.results, key=lambda r: r.bidder)
    assert a.price_score_exact == Fraction(243, 10)  # 81 / 100 × 30
    assert b.price_score_exact == Fraction(30)
    assert a.items_score == Fraction(94, 3) + 20  # mean of 30, 31, 33 plus 20
    assert a.total == D("75.63") and a.price_score == D("24.30")  # 51.333… + 24.3 = 75.633…
    assert b.total == D("76.33")  # 79/3 + 20 + 30 = 76.333…
    assert ev.ranking() == ["B", "A"] and [r.rank for r in ev.results] == [1, 2]
    assert ev.experts == ("E1", "E2", "E3")


def test_the_total_is_rounded_once_at_the_end():
    items = tuple(ScoredItem(f"S{i}", D(10)) for i in range(3))
    plan = Plan(Method.COMPREHENSIVE, Category.SERVICES, items=items, price_weight=D(70))
    sheets = [s for i in range(3) for s in scores("A", f"S{i}", [0, 0, 1])]  # each item 1/3: 0.33 rounded
    ev = evaluate(plan, [Bid("A", D(50))], sheets)
    assert ev.results[0].total == D("71.00")  # 3 × 1/3 + 70 exactly, not 0.99 + 70


def test_roundings():
    assert round_score(Fraction(1, 200)) == D("0.01")
    assert round_score(Fraction(1, 200), Rounding.HALF_EVEN_2) == D("0.00")
    assert round_score(Fraction(3, 200), Rounding.HALF_EVEN_2) == D("0.02")
    assert round_score(Fraction(19, 1000), Rounding.DOWN_2) == D("0.01")
    assert round_score(Fraction(1, 3), Rounding.HALF_UP_3) == D("0.333")
    assert round_score(Fraction(2, 3)) == D("0.67")
    assert round_score(D("100")) == D("100.00")
    assert str(round_score(Fraction(-1, 200))) == "-0.01"


def test_committee_scores():
    seven = [D(v) for v in (10, 20, 20, 20, 20, 20, 40)]
    assert committee_score(seven, Aggregation.MEAN) == Fraction(150, 7)
    assert committee_score(seven, Aggregation.TRIMMED_MEAN) == Fraction(20)
    with pytest.raises(InvalidScore):
        committee_score(seven[:5], Aggregation.TRIMMED_MEAN)


def test_trimmed_mean_in_an_evaluation_needs_seven_experts_and_an_allowed_category():
    plan = goods_plan(aggregation=Aggregation.TRIMMED_MEAN)
    sheets7 = scores("A", "T1", [10, 20, 20, 20, 20, 20, 40]) + scores("A", "B1", [30] * 7)
    ev = evaluate(plan, [Bid("A", D(10))], sheets7)
    assert ev.results[0].items_score == Fraction(50)
    with pytest.raises(InvalidScore):
        evaluate(plan, [Bid("A", D(10))], scores("A", "T1", [10] * 5) + scores("A", "B1", [30] * 5))
    only_works = PlanRules(trimmed_mean_categories=frozenset({Category.WORKS}))
    with pytest.raises(InvalidPlan) as exc:
        check_plan(plan, only_works)
    assert exc.value.field == "aggregation"


def test_lowest_evaluated_price_ranks_by_evaluated_price():
    plan = Plan(Method.LOWEST_EVALUATED_PRICE, Category.WORKS, deductions=(small_enterprise_deduction("0.05"),))
    bids = [Bid("A", D(100)), Bid("B", D(104), policies=frozenset({"small_enterprise"})), Bid("C", D(99)),
            Bid("D", D(10), valid=False, reasons=("compliance: no bond",))]
    ev = evaluate(plan, bids, [])
    assert ev.evaluated["B"] == D("98.80")
    assert ev.ranking() == ["B", "C", "A"]
    assert ev.results[0].total is None and ev.results[0].price_score is None
    with pytest.raises(InvalidPlan):
        check_plan(Plan(Method.LOWEST_EVALUATED_PRICE, Category.WORKS, items=(T1,), price_weight=D(60)))


def test_base_rules():
    plan = Plan(Method.COMPREHENSIVE, Category.WORKS, items=(ScoredItem("T", D(50)),), price_weight=D(50),
                base_rule=BaseRule.AVERAGE_FACTOR, base_factor=D("0.95"))
    bids = [Bid("A", D(100)), Bid("B", D(80))]
    ev = evaluate(plan, bids, scores("A", "T", [50]) + scores("B", "T", [40]))
    assert ev.base == Fraction(90) * Fraction(95, 100)  # mean 90 × 0.95 = 85.5
    by = {r.bidder: r for r in ev.results}
    assert by["A"].price_score_exact == Fraction(855, 1000) * 50  # 85.5 / 100 × 50
    assert by["B"].price_score_exact == Fraction(50)  # under the base: the whole weight, no more
    avg = evaluate(Plan(**{**plan.__dict__, "base_rule": BaseRule.AVERAGE_VALID, "base_factor": None}), bids,
                   scores("A", "T", [50]) + scores("B", "T", [40]))
    assert avg.base == Fraction(90)


@pytest.mark.parametrize("change, field", [
    (dict(price_weight=D(31)), "price_weight"),  # 40 + 30 + 31 = 101
    (dict(items=(T1, ScoredItem("B1", D(40))), price_weight=D(20)), "price_weight"),  # goods floor 30
    (dict(items=(T1, T1), price_weight=D(20)), "items"),  # codes twice
    (dict(items=(T1, ScoredItem("Z", D(0))), price_weight=D(60)), "items"),
    (dict(price_weight=D(-1)), "price_weight"),
    (dict(base_rule=BaseRule.AVERAGE_VALID), "base_rule"),  # goods: lowest valid only (87号令 art. 55)
    (dict(category=Category.WORKS, base_rule=BaseRule.AVERAGE_FACTOR, base_factor=D("1.2")), "base_factor"),
    (dict(category=Category.WORKS, base_rule=BaseRule.AVERAGE_FACTOR), "base_factor"),
    (dict(base_factor=D("0.9")), "base_factor"),
    (dict(deductions=(small_enterprise_deduction("1.5"),)), "deductions"),
    (dict(deductions=(small_enterprise_deduction("0.1"), small_enterprise_deduction("0.2"))), "deductions"),
    (dict(rounding="half_up_7"), "rounding"),
    (dict(price_weight=1.5), "price_weight"),  # a float is not exact
])
def test_plans_refused(change, field):
    with pytest.raises(InvalidPlan) as exc:
        check_plan(goods_plan(**change))
    assert exc.value.field == field
    assert exc.value.code == "evaluation_plan_invalid"


def test_price_weight_floors_by_category():
    services = Plan(Method.COMPREHENSIVE, Category.SERVICES, items=(ScoredItem("T", D(90)),), price_weight=D(10))
    check_plan(services)
    with pytest.raises(InvalidPlan):
        check_plan(Plan(**{**services.__dict__, "items": (ScoredItem("T", D("90.5")),), "price_weight": D("9.5")}))
    check_plan(Plan(Method.COMPREHENSIVE, Category.WORKS, items=(ScoredItem("T", D(100)),), price_weight=D(0)))
    check_plan(goods_plan())
    assert RULES.setting("price_weight_floor").source == "87号令 art. 55 (6)"
    assert RULES.price_weight_floor[Category.GOODS] == D(30)


@pytest.mark.parametrize("value", [D(41), D(-1), "x", D("NaN"), 2.5, None, D("Infinity")])
def test_scores_refused(value):
    with pytest.raises(InvalidScore):
        check_score(T1, value)


def test_sheets_refused():
    bids, sheets = example()
    plan = goods_plan()
    cases = [
        sheets[:-1],  # E3 has not scored B1 of B
        sheets + [Score("E1", "A", "T1", D(1))],  # twice
        sheets + [Score("E1", "A", "X9", D(1))],  # no such item
        sheets + [Score("E1", "C", "T1", D(1))],  # C failed the review
        sheets + [Score("E1", "Z", "T1", D(1))],  # no such bid
        [Score(s.expert, s.bidder, s.item, D(45)) if s.item == "T1" else s for s in sheets],  # above 40
        [Score(s.expert, s.bidder, s.item, D("NaN")) if s.item == "T1" else s for s in sheets],
        [Score(s.expert, s.bidder, s.item, 30.0) if s.item == "T1" else s for s in sheets],  # a float
        [Score(s.expert, s.bidder, s.item, "abc") if s.item == "T1" else s for s in sheets],
        [Score(s.expert, s.bidder, s.item, D("-0.5")) if s.item == "T1" else s for s in sheets],
        [Score("", s.bidder, s.item, s.score) if s.expert == "E1" else s for s in sheets],  # no expert
    ]
    for case in cases:
        with pytest.raises(InvalidScore):
            evaluate(plan, bids, case)


def test_scores_written_as_strings_are_read_exactly():
    bids, sheets = example()
    as_text = [Score(s.expert, s.bidder, s.item, str(s.score)) for s in sheets]
    assert summary_of(evaluate(goods_plan(), bids, as_text)) == summary_of(evaluate(goods_plan(), bids, sheets))


def summary_of(ev):
    return [(r.bidder, r.total_exact, r.rank) for r in ev.results]


def test_bids_refused():
    plan = goods_plan()
    for bids in ([Bid("A", D(0))], [Bid("A", D(1)), Bid("A", D(2))], [Bid("A", D(1), valid=False)],
                 [Bid("A", D(1), reasons=("why",))], [Bid("A", D(10), evaluated=D(11))]):
        with pytest.raises(InvalidBid):
            evaluate(plan, bids, [])


def test_objective_items_need_identical_scores():
    bids, sheets = example()
    differ = [Score(s.expert, s.bidder, s.item, D(10)) if (s.expert, s.bidder, s.item) == ("E2", "A", "B1") else s
              for s in sheets]
    with pytest.raises(ObjectiveScoresDiffer) as exc:
        evaluate(goods_plan(), bids, differ)
    assert exc.value.params == {"item": "B1", "bidder": "A"}
    mine = [s for s in differ if s.expert == "E2"]
    others = [s for s in differ if s.expert != "E2"]
    with pytest.raises(ObjectiveScoresDiffer):
        check_submittable(goods_plan(), mine, others)
    check_submittable(goods_plan(), [s for s in sheets if s.expert == "E2"], [s for s in sheets if s.expert != "E2"])
    check_submittable(goods_plan(), mine, [])  # the first expert to submit has nobody to agree with
    with pytest.raises(InvalidScore):
        check_submittable(goods_plan(), [Score("E2", "A", "T1", D(41))], [])


def test_subjective_outliers_and_abnormally_low_prices_are_flagged():
    plan = Plan(Method.COMPREHENSIVE, Category.GOODS, items=(ScoredItem("T", D(20)), ScoredItem("O", D(10),
                ItemKind.OBJECTIVE)), price_weight=D(70))
    bids = [Bid("A", D(100)), Bid("B", D(100)), Bid("C", D(100)), Bid("L", D(60))]
    sheets = [s for b in "ABCL" for s in scores(b, "T", [10, 10, 20] if b == "A" else [10, 10, 10])
              + scores(b, "O", [0, 0, 0])]
    ev = evaluate(plan, bids, sheets, draw=lambda tied: tied)
    assert [(o.expert, o.bidder, o.item, o.mean) for o in ev.outliers] == [("E3", "A", "T", Fraction(40, 3))]
    assert ev.abnormally_low == ("L",)  # 60 < 0.8 × 90
    assert abnormally_low(bids, D("0.6")) == []


def test_ties_lower_price_then_the_documents_rule_then_a_draw():
    items = (ScoredItem("T", D(50)), ScoredItem("U", D(20)))
    plan = Plan(Method.COMPREHENSIVE, Category.GOODS, items=items, price_weight=D(30))
    bids = [Bid("A", D(100)), Bid("B", D(100)), Bid("C", D(100))]
    same = [s for b in "ABC" for s in scores(b, "T", [40]) + scores(b, "U", [10])]
    with pytest.raises(TieNeedsDraw) as exc:
        evaluate(plan, bids, same)
    assert exc.value.params["bidders"] == "A, B, C"
    ev = evaluate(plan, bids, same, draw=lambda tied: list(reversed(tied)))
    assert ev.ranking() == ["C", "B", "A"]
    assert [(t.bidders, t.order, t.by) for t in ev.ties] == [(("A", "B", "C"), ("C", "B", "A"), "draw")]
    with pytest.raises(InvalidDraw):
        evaluate(plan, bids, same, draw=lambda tied: ["A", "B"])
    # the documents' rule: the higher technical and business score first, then the draw for who is still tied
    documents = Plan(**{**plan.__dict__, "tie_rule": TieRule.HIGHER_ITEMS_SCORE, "price_weight": D(30)})
    bids2 = [Bid("A", D(100)), Bid("B", D(100)), Bid("C", D("100"))]
    sheets2 = (scores("A", "T", [40]) + scores("A", "U", [10]) + scores("B", "T", [41]) + scores("B", "U", [9])
               + scores("C", "T", [42]) + scores("C", "U", [8]))
    ev2 = evaluate(documents, bids2, sheets2, draw=lambda tied: tied)
    assert ev2.ranking() == ["A", "B", "C"]  # equal totals and prices, equal items scores: drawn
    # equal totals, different prices: the lower price first, no draw
    pricey = [Bid("A", D(100)), Bid("B", D(100))]
    sheets3 = scores("A", "T", [40]) + scores("A", "U", [10]) + scores("B", "T", [40]) + scores("B", "U", [10])
    assert evaluate(plan, pricey, sheets3, draw=lambda t: t).ranking() == ["A", "B"]


def test_the_documents_rule_orders_by_items_score():
    items = (ScoredItem("T", D(70)),)
    plan = Plan(Method.COMPREHENSIVE, Category.GOODS, items=items, price_weight=D(30), tie_rule=TieRule.HIGHER_ITEMS_SCORE)
    # equal prices, equal items scores (60.5): the rule cannot part them, the draw does
    bids = [Bid("A", D("50")), Bid("B", D("50"))]
    sheets = scores("A", "T", [60, 61]) + scores("B", "T", [61, 60])
    ev = evaluate(plan, bids, sheets, draw=lambda t: t[::-1])
    assert ev.ranking() == ["B", "A"] and [t.by for t in ev.ties] == ["draw", "higher_items_score"]
    sheets = scores("A", "T", ["60.004", "60"]) + scores("B", "T", ["60.003", "60"])  # 60.002 vs 60.0015: both 90.00
    ev = evaluate(plan, bids, sheets)
    assert ev.results[0].total == ev.results[1].total == D("90.00")
    assert ev.ranking() == ["A", "B"] and [t.by for t in ev.ties] == ["higher_items_score"]


def test_policy_deduction_is_exact():
    plan = goods_plan(deductions=(small_enterprise_deduction("0.2"),))
    assert evaluated_price(plan, Bid("A", D("1234567.89"), policies=frozenset({"small_enterprise"}))) == D("987654.312")
    assert evaluated_price(plan, Bid("A", D("1234567.89"))) == D("1234567.89")


# ---------------------------------------------------------------------------------------------- properties

MAXES = st.lists(st.sampled_from([D(5), D(10), D(15)]), min_size=1, max_size=4)


@st.composite
def cases(draw, min_experts=1, category=Category.GOODS, base_rules=(BaseRule.LOWEST_VALID,)):
    maxes = draw(MAXES)
    kinds = draw(st.lists(st.sampled_from(list(ItemKind)), min_size=len(maxes), max_size=len(maxes)))
    items = tuple(ScoredItem(f"I{n}", m, k) for n, (m, k) in enumerate(zip(maxes, kinds)))
    rule = draw(st.sampled_from(base_rules))
    plan = Plan(Method.COMPREHENSIVE, category, items=items, price_weight=D(100) - sum(maxes),
                base_rule=rule, base_factor=D("0.9") if rule == BaseRule.AVERAGE_FACTOR else None,
                rounding=draw(st.sampled_from(list(Rounding))), deductions=(small_enterprise_deduction("0.1"),))
    n_bids = draw(st.integers(1, 6))
    n_experts = draw(st.integers(min_experts, min_experts + 3))
    bids = []
    for b in range(n_bids):
        price = D(draw(st.integers(1, 10 ** 8))).scaleb(-2)
        valid = b == 0 or draw(st.booleans())
        bids.append(Bid(f"bidder{b}", price, valid=valid, reasons=() if valid else ("Q1: failed",),
                        policies=frozenset({"small_enterprise"}) if draw(st.booleans()) else frozenset()))
    sheets = []
    for bid in bids:
        if not bid.valid:
            continue
        for item in items:
            tenths = st.integers(0, int(item.max * 10))
            common = draw(tenths)
            for e in range(n_experts):
                value = common if item.kind == ItemKind.OBJECTIVE else draw(tenths)
                sheets.append(Score(f"expert{e}", bid.bidder, item.code, D(value).scaleb(-1)))
    return plan, bids, sheets


def first(tied):
    return tied


def summary(ev):
    return [(r.bidder, r.total_exact, r.total, r.price_score, r.rank) for r in ev.results]


@given(cases(), st.randoms(use_true_random=False))
@settings(max_examples=150)
def test_permutation_invariance_of_bids_experts_and_sheets(case, rnd):
    plan, bids, sheets = case
    ev = evaluate(plan, bids, sheets, draw=first)
    shuffled_bids = rnd.sample(bids, len(bids))
    shuffled_sheets = rnd.sample(sheets, len(sheets))
    assert summary(evaluate(plan, shuffled_bids, shuffled_sheets, draw=first)) == summary(ev)
    experts = sorted({s.expert for s in sheets})
    renamed = dict(zip(experts, rnd.sample([f"other{i}" for i in range(len(experts))], len(experts))))
    relabelled = [Score(renamed[s.expert], s.bidder, s.item, s.score) for s in shuffled_sheets]
    assert summary(evaluate(plan, bids, relabelled, draw=first)) == summary(ev)


@given(cases(category=Category.WORKS, base_rules=tuple(BaseRule)), st.data())
@settings(max_examples=150)
def test_a_lower_price_never_lowers_a_price_score(case, data):
    plan, bids, sheets = case
    valid = [b for b in bids if b.valid]
    bid = data.draw(st.sampled_from(valid))
    cut = D(data.draw(st.integers(1, 99))) / 100
    lower = Bid(bid.bidder, (bid.price * (1 - cut)).quantize(D("0.01")) or D("0.01"), policies=bid.policies)
    before = {r.bidder: r for r in evaluate(plan, bids, sheets, draw=first).results}[bid.bidder]
    after = {r.bidder: r for r in evaluate(plan, [lower if b is bid else b for b in bids], sheets,
                                           draw=first).results}[bid.bidder]
    assert after.price_score_exact >= before.price_score_exact
    assert price_score(Fraction(50), D(40), D(30)) == Fraction(30)


@given(cases(category=Category.WORKS, base_rules=tuple(BaseRule)))
@settings(max_examples=150)
def test_bounds_and_determinism(case):
    plan, bids, sheets = case
    ev = evaluate(plan, bids, sheets, draw=first)
    assert len(ev.results) == sum(b.valid for b in bids)
    assert [r.rank for r in ev.results] == list(range(1, len(ev.results) + 1))
    for r in ev.results:
        assert 0 <= r.price_score_exact <= plan.price_weight
        assert 0 <= r.total_exact <= 100 and D(0) <= r.total <= D(100)
        assert r.total == round_score(r.items_score + r.price_score_exact, plan.rounding)
    totals = [r.total for r in ev.results]
    assert totals == sorted(totals, reverse=True)
    again = evaluate(plan, list(bids), list(sheets), draw=first)
    assert summary(again) == summary(ev) and again.outliers == ev.outliers


@given(cases(min_experts=7))
@settings(max_examples=60)
def test_trimmed_mean_is_between_the_extremes(case):
    plan, bids, sheets = case
    plan = Plan(**{**plan.__dict__, "aggregation": Aggregation.TRIMMED_MEAN})
    ev = evaluate(plan, bids, sheets, draw=first)
    for (bidder, item), value in ev.committee.items():
        cell = [s.score for s in sheets if (s.bidder, s.item) == (bidder, item)]
        assert min(cell) <= value <= max(cell)


def test_random_ties_are_decided_by_the_draw_alone():
    rnd = random.Random(7)
    items = (ScoredItem("T", D(70)),)
    plan = Plan(Method.COMPREHENSIVE, Category.GOODS, items=items, price_weight=D(30))
    bids = [Bid(f"b{i}", D(100)) for i in range(5)]
    sheets = [s for b in bids for s in scores(b.bidder, "T", [50, 50, 50])]
    for _ in range(5):
        order = rnd.sample([b.bidder for b in bids], 5)
        ev = evaluate(plan, rnd.sample(bids, 5), rnd.sample(sheets, len(sheets)),
                      draw=lambda tied, order=order: sorted(tied, key=order.index))
        assert ev.ranking() == order
