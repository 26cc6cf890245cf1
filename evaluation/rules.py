"""Evaluation (评标): the plan and its checks, evaluated prices, price scores, committee scores, totals,
ranking and flags.  Pure: no Flask, no database, no clock.

Arithmetic is exact: money and scores come in as ``Decimal``; quotients (a committee's mean, base ÷ evaluated
price) are kept as ``fractions.Fraction``, and a number is rounded once, when it is shown (a bid's total, its
price score), by the plan's named rounding.  Each option is a named value, with its source.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from enum import StrEnum
from fractions import Fraction

from core.errors import N_, DomainError

HUNDRED = Decimal(100)
FEN = Decimal("0.01")
EXACT = Context(prec=200, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
"""The context of every Decimal operation here: one that would have to round raises instead."""
LOOSE = Context(prec=200)


# ---------------------------------------------------------------------------------------------- errors


class EvaluationError(DomainError):
    code = "evaluation_invalid"
    status = 400
    default_message = N_("The evaluation input is not valid.")


class InvalidPlan(EvaluationError):
    """An evaluation plan that breaks a rule: weights not summing to 100, a price weight under the floor, …"""

    code = "evaluation_plan_invalid"
    default_message = N_("The evaluation plan is not valid.")


class InvalidBid(EvaluationError):
    code = "evaluation_bid_invalid"
    default_message = N_("A bid in the evaluation is not valid.")


class InvalidScore(EvaluationError):
    """A score above the item's maximum, negative, not a number, for an unknown item or bid, twice, missing."""

    code = "evaluation_score_invalid"
    default_message = N_("A score is not valid.")


class ObjectiveScoresDiffer(EvaluationError):
    """Experts gave different scores to an objective item (87号令 art. 64): no sheet is submitted until they agree."""

    code = "evaluation_objective_scores_differ"
    status = 409
    default_message = N_("The experts' scores for an objective item differ (87号令 art. 64).")


class TieNeedsDraw(EvaluationError):
    """Bids equal in total and price, not decided by the tender documents' rule, with no draw given."""

    code = "evaluation_tie_needs_draw"
    status = 409
    default_message = N_("Bids %(bidders)s are tied: a recorded draw decides their order (87号令 art. 68).")


class InvalidDraw(EvaluationError):
    code = "evaluation_draw_invalid"
    status = 409
    default_message = N_("The draw did not give an order of exactly the tied bids.")


# ---------------------------------------------------------------------------------------------- options


class Method(StrEnum):
    """The evaluation method.

    ``comprehensive``: comprehensive scoring (综合评分法, 87号令 art. 55; works: 综合评估法, 评标委员会和评标方法
    暂行规定 art. 34–35); ``lowest_evaluated_price``: lowest evaluated price (经评审的最低投标价法, 招标投标法
    art. 41 (2); 87号令 art. 54), the valid bids ranked by evaluated price, lowest first."""

    COMPREHENSIVE = "comprehensive"
    LOWEST_EVALUATED_PRICE = "lowest_evaluated_price"


class Category(StrEnum):
    """What is bought: goods (货物) and services (服务) under 政府采购法 and 87号令; works (工程) under 招标投标法."""

    GOODS = "goods"
    SERVICES = "services"
    WORKS = "works"


class ItemKind(StrEnum):
    """A scored item's kind: ``objective`` (客观分: every expert must give the same score, 87号令 art. 64 (3)) or
    ``subjective`` (主观分: a score far from the committee's mean is flagged, 畸高畸低, 87号令 art. 64 (4))."""

    OBJECTIVE = "objective"
    SUBJECTIVE = "subjective"


class BaseRule(StrEnum):
    """How the base price (评标基准价) is found among the valid bids' evaluated prices.

    ``lowest_valid`` (default): the lowest evaluated price of the bids that meet the requirements (87号令
    art. 55: 评标基准价为满足招标文件要求且投标价格最低的投标报价; the only rule for goods and services);
    ``average_valid``: the mean of the valid evaluated prices; ``average_factor``: that mean times a factor
    (下浮系数, 0 < factor ≤ 1) — works tendering, where the tender documents set the method (评标委员会和评标方法
    暂行规定 art. 34–35)."""

    LOWEST_VALID = "lowest_valid"
    AVERAGE_VALID = "average_valid"
    AVERAGE_FACTOR = "average_factor"


class Aggregation(StrEnum):
    """An item's committee score from the experts' scores: ``mean`` (default, every expert's score counts) or
    ``trimmed_mean`` (one highest and one lowest dropped, at least 7 experts; where the tender's settings allow
    it, ``PlanRules.trimmed_mean_categories``)."""

    MEAN = "mean"
    TRIMMED_MEAN = "trimmed_mean"


class Rounding(StrEnum):
    """How a total or price score is rounded, once, when it is shown: ``half_up_2`` (default, 四舍五入 to 0.01),
    ``half_up_3`` (to 0.001), ``half_even_2`` (to 0.01, a half to the even digit), ``down_2`` (to 0.01, the rest
    dropped).  The tender documents name the rule."""

    HALF_UP_2 = "half_up_2"
    HALF_UP_3 = "half_up_3"
    HALF_EVEN_2 = "half_even_2"
    DOWN_2 = "down_2"


class TieRule(StrEnum):
    """The tender documents' rule for bids equal in total and declared price (87号令 art. 68 leaves it to them):
    ``none`` (a recorded draw decides), ``higher_items_score`` (the higher technical and business score first)."""

    NONE = "none"
    HIGHER_ITEMS_SCORE = "higher_items_score"


# ---------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Setting:
    """A per-tender setting's value and the article it comes from."""

    value: object
    source: str


def _floors() -> dict[Category, Decimal]:
    return {Category.GOODS: Decimal(30), Category.SERVICES: Decimal(10), Category.WORKS: Decimal(0)}


@dataclass(frozen=True)
class PlanRules:
    """The checks of an evaluation plan and of the scoring, each a per-tender setting naming its article.

    ``price_weight_floor``: goods ≥ 30, services ≥ 10 (87号令 art. 55 (6): 货物项目的价格分值占总分值的比重不得低于
    30%；服务项目的价格分值占总分值的比重不得低于10%); works: no floor in 招标投标法 or its 实施条例 (0).
    ``total``: item maxima + price weight = 100 (87号令 art. 55: 评审因素…总分值为100分).
    ``base_rules``: goods and services only ``lowest_valid`` (87号令 art. 55); works any.
    ``trimmed_mean_categories`` and ``trimmed_mean_min_experts`` (7): where a trimmed mean may be used.
    ``outlier_share`` (0.3): a subjective score further than this share of the committee's mean from it is
    flagged (畸高畸低, 87号令 art. 64 (4)); the expert explains it in writing.
    ``low_price_share`` (0.8): a valid bid whose declared price is below this share of the mean valid price is
    flagged abnormally low and the bidder explains it in writing (87号令 art. 60; works: 实施条例 art. 51 (5))."""

    price_weight_floor: Mapping[Category, Decimal] = field(default_factory=_floors)
    total: Decimal = HUNDRED
    base_rules: Mapping[Category, frozenset[BaseRule]] = field(default_factory=lambda: {
        Category.GOODS: frozenset({BaseRule.LOWEST_VALID}), Category.SERVICES: frozenset({BaseRule.LOWEST_VALID}),
        Category.WORKS: frozenset(BaseRule)})
    trimmed_mean_categories: frozenset[Category] = frozenset(Category)
    trimmed_mean_min_experts: int = 7
    outlier_share: Decimal = Decimal("0.3")
    low_price_share: Decimal = Decimal("0.8")

    SOURCES = {
        "price_weight_floor": "87号令 art. 55 (6)",
        "total": "87号令 art. 55",
        "base_rules": "87号令 art. 55",
        "trimmed_mean_categories": "tender documents",
        "trimmed_mean_min_experts": "tender documents",
        "outlier_share": "87号令 art. 64 (4)",
        "low_price_share": "87号令 art. 60; 招标投标法实施条例 art. 51 (5)",
    }

    def setting(self, name: str) -> Setting:
        return Setting(getattr(self, name), self.SOURCES[name])


RULES = PlanRules()


# ---------------------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class PassFailItem:
    """A qualification or compliance item (资格审查 / 符合性审查): a bid that fails one is invalid, with a reason."""

    code: str
    name: str = ""


@dataclass(frozen=True)
class ScoredItem:
    """A technical or business item: at most ``max`` points, ``kind`` objective or subjective, and the guidance
    the experts score by (评分标准)."""

    code: str
    max: Decimal
    kind: ItemKind = ItemKind.SUBJECTIVE
    name: str = ""
    guidance: str = ""


@dataclass(frozen=True)
class PolicyDeduction:
    """A policy price deduction (价格扣除): the bids carrying ``policy`` are evaluated at their price less
    ``rate`` of it.  ``small_enterprise`` is the deduction for small and micro enterprises
    (政府采购促进中小企业发展管理办法, 财库〔2020〕46号 art. 9, rates as raised by 财库〔2022〕19号: goods and
    services 10 %–20 %; works 3 %–5 %), the rate set in the tender documents."""

    policy: str
    rate: Decimal


SMALL_ENTERPRISE = "small_enterprise"


def small_enterprise_deduction(rate: Decimal | str) -> PolicyDeduction:
    """The small-enterprise deduction at ``rate`` (a share: ``0.1`` is 10 %)."""
    return PolicyDeduction(SMALL_ENTERPRISE, Decimal(rate))


@dataclass(frozen=True)
class Plan:
    """An evaluation plan for one lot (评标办法), set before publication and frozen with it.  ``category`` None:
    not known (a published result document does not say it), so the category's floor is not checked."""

    method: Method
    category: Category | None
    items: tuple[ScoredItem, ...] = ()
    price_weight: Decimal = HUNDRED
    qualification: tuple[PassFailItem, ...] = ()
    base_rule: BaseRule = BaseRule.LOWEST_VALID
    base_factor: Decimal | None = None
    aggregation: Aggregation = Aggregation.MEAN
    rounding: Rounding = Rounding.HALF_UP_2
    tie_rule: TieRule = TieRule.NONE
    deductions: tuple[PolicyDeduction, ...] = ()

    def item(self, code: str) -> ScoredItem | None:
        return self.items_by_code().get(code)

    def items_by_code(self) -> dict[str, ScoredItem]:
        return {i.code: i for i in self.items}


def decimal(value: object, *, field: str, error: type[EvaluationError] = EvaluationError) -> Decimal:
    """A finite Decimal from a Decimal, an int or a string (never a float, which is not exact)."""
    out = None
    if isinstance(value, Decimal):
        out = value
    elif isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            out = Decimal(str(value).strip())
        except InvalidOperation:
            out = None
    if out is None or not out.is_finite():
        raise error(N_("%(field)s must be an exact decimal number."), field=field)
    return out


def check_plan(plan: Plan, rules: PlanRules = RULES) -> Plan:
    """Refuse a plan that breaks a rule (``InvalidPlan``, naming the field and the article); return it."""
    codes = [i.code for i in plan.items] + [q.code for q in plan.qualification]
    for code in codes:
        if not isinstance(code, str) or not code.strip():
            raise InvalidPlan(N_("Every item needs a code."), field="items")
    if len(set(codes)) != len(codes):
        raise InvalidPlan(N_("Item codes must be unique."), field="items")
    for item in plan.items:
        mx = decimal(item.max, field=f"items.{item.code}.max", error=InvalidPlan)
        if mx <= 0:
            raise InvalidPlan(N_("The maximum of item %(item)s must be more than zero."), field="items", item=item.code)
        if not isinstance(item.kind, ItemKind):
            raise InvalidPlan(N_("Item %(item)s is neither objective nor subjective."), field="items", item=item.code)
    weight = decimal(plan.price_weight, field="price_weight", error=InvalidPlan)
    if weight < 0 or weight > rules.total:
        raise InvalidPlan(N_("The price weight must be from 0 to 100."), field="price_weight")
    if plan.method == Method.COMPREHENSIVE:
        total = sum((i.max for i in plan.items), Decimal(0)) + weight
        if total != rules.total:
            raise InvalidPlan(N_("The item maxima and the price weight add up to %(total)s, not 100 "
                                 "(87号令 art. 55)."), field="price_weight", total=str(total))
        if plan.category is not None:
            floor = rules.price_weight_floor.get(plan.category, Decimal(0))
            if weight < floor:
                raise InvalidPlan(N_("The price weight %(weight)s is under the floor of %(floor)s for %(category)s "
                                     "(87号令 art. 55)."), field="price_weight", weight=str(weight),
                                  floor=str(floor), category=str(plan.category))
    elif plan.method == Method.LOWEST_EVALUATED_PRICE:
        if plan.items or weight != rules.total:
            raise InvalidPlan(N_("The lowest evaluated price method has no scored items: the price is the whole "
                                 "evaluation (price weight 100)."), field="items")
    else:
        raise InvalidPlan(N_("Unknown evaluation method."), field="method")
    if not isinstance(plan.base_rule, BaseRule):
        raise InvalidPlan(N_("Unknown base price rule."), field="base_rule")
    if plan.category is not None and plan.base_rule not in rules.base_rules.get(plan.category, frozenset(BaseRule)):
        raise InvalidPlan(N_("The base price of %(category)s is the lowest valid price (87号令 art. 55)."),
                          field="base_rule", category=str(plan.category))
    if plan.base_rule == BaseRule.AVERAGE_FACTOR:
        factor = decimal(plan.base_factor, field="base_factor", error=InvalidPlan) \
            if plan.base_factor is not None else None
        if factor is None or not Decimal(0) < factor <= Decimal(1):
            raise InvalidPlan(N_("The base price factor must be more than 0 and at most 1."), field="base_factor")
    elif plan.base_factor is not None:
        raise InvalidPlan(N_("Only the average-times-factor base rule takes a factor."), field="base_factor")
    if not isinstance(plan.aggregation, Aggregation):
        raise InvalidPlan(N_("Unknown aggregation of the experts' scores."), field="aggregation")
    if plan.aggregation == Aggregation.TRIMMED_MEAN and plan.category is not None \
            and plan.category not in rules.trimmed_mean_categories:
        raise InvalidPlan(N_("A trimmed mean is not allowed for %(category)s."), field="aggregation",
                          category=str(plan.category))
    if not isinstance(plan.rounding, Rounding):
        raise InvalidPlan(N_("Unknown rounding rule."), field="rounding")
    if not isinstance(plan.tie_rule, TieRule):
        raise InvalidPlan(N_("Unknown tie rule."), field="tie_rule")
    policies = [d.policy for d in plan.deductions]
    if len(set(policies)) != len(policies):
        raise InvalidPlan(N_("A policy deduction is named twice."), field="deductions")
    for d in plan.deductions:
        rate = decimal(d.rate, field="deductions", error=InvalidPlan)
        if not Decimal(0) < rate < Decimal(1):
            raise InvalidPlan(N_("A deduction rate is a share more than 0 and less than 1."), field="deductions")
    return plan


# ---------------------------------------------------------------------------------------------- bids and prices


@dataclass(frozen=True)
class Bid:
    """A bid in the evaluation: declared ``price`` (yuan, from the opening record), whether it passed the
    qualification and compliance review (``valid``) and the reasons of each fail, and the policies it qualifies
    for (``small_enterprise``)."""

    bidder: str
    price: Decimal
    valid: bool = True
    reasons: tuple[str, ...] = ()
    policies: frozenset[str] = frozenset()
    evaluated: Decimal | None = None  # given: taken as it is (a published result); None: computed from the plan


def evaluated_price(plan: Plan, bid: Bid) -> Decimal:
    """The declared price less the plan's deductions the bid qualifies for (exact; the deductions add up, each a
    share of the declared price)."""
    rate = sum((d.rate for d in plan.deductions if d.policy in bid.policies), Decimal(0))
    price = Decimal(bid.price)
    out = price - price * rate
    fen = out.quantize(FEN, context=LOOSE)
    return fen if fen == out else out.normalize()  # to the fen when exact there, else every digit it has


def _check_bids(bids: Sequence[Bid]) -> None:
    seen = set()
    for bid in bids:
        if not isinstance(bid.bidder, str) or not bid.bidder:
            raise InvalidBid(N_("Every bid needs its bidder."), field="bids")
        if bid.bidder in seen:
            raise InvalidBid(N_("Bidder %(bidder)s has two bids."), field="bids", bidder=bid.bidder)
        seen.add(bid.bidder)
        price = decimal(bid.price, field="price", error=InvalidBid)
        if price <= 0:
            raise InvalidBid(N_("The price of %(bidder)s must be more than zero."), field="price", bidder=bid.bidder)
        if bid.evaluated is not None:
            ev = decimal(bid.evaluated, field="evaluated_price", error=InvalidBid)
            if not Decimal(0) < ev <= price:
                raise InvalidBid(N_("The evaluated price of %(bidder)s must be more than zero and at most its "
                                    "price."), field="evaluated_price", bidder=bid.bidder)
        if bid.valid and bid.reasons:
            raise InvalidBid(N_("A valid bid has no reasons for failing."), field="reasons", bidder=bid.bidder)
        if not bid.valid and not bid.reasons:
            raise InvalidBid(N_("An invalid bid needs a reason for each fail."), field="reasons", bidder=bid.bidder)


def base_price(plan: Plan, evaluated: Iterable[Decimal]) -> Fraction:
    """The base price (评标基准价) of the valid bids' evaluated prices, by the plan's ``base_rule``."""
    prices = [Fraction(p) for p in evaluated]
    if not prices:
        raise InvalidBid(N_("There is no valid bid."), field="bids")
    if plan.base_rule == BaseRule.LOWEST_VALID:
        return min(prices)
    mean = sum(prices, Fraction(0)) / len(prices)
    if plan.base_rule == BaseRule.AVERAGE_VALID:
        return mean
    return mean * Fraction(plan.base_factor)


def price_score(base: Fraction, evaluated: Decimal, weight: Decimal) -> Fraction:
    """base ÷ evaluated price × price weight, in points (87号令 art. 55: 投标报价得分=(评标基准价/投标报价)×100,
    weighted by the price's share of the total), at most the weight (a bid under an average-based base gets the
    whole weight)."""
    score = base / Fraction(evaluated) * Fraction(weight)
    return min(score, Fraction(weight))


def round_score(value: Fraction | Decimal, rounding: Rounding = Rounding.HALF_UP_2) -> Decimal:
    """``value`` rounded by the named rule, exactly (no binary floating point anywhere)."""
    places = 3 if rounding == Rounding.HALF_UP_3 else 2
    x = Fraction(value) * 10 ** places
    sign = -1 if x < 0 else 1
    q, r = divmod(abs(x.numerator), x.denominator)
    twice = 2 * r
    if rounding in (Rounding.HALF_UP_2, Rounding.HALF_UP_3):
        q += twice >= x.denominator
    elif rounding == Rounding.HALF_EVEN_2:
        q += twice > x.denominator or (twice == x.denominator and q % 2 == 1)
    return Decimal(sign * q).scaleb(-places)


# ---------------------------------------------------------------------------------------------- scores


@dataclass(frozen=True, slots=True)
class Score:
    """One expert's score for one item of one bid (experts by pseudonym)."""

    expert: str
    bidder: str
    item: str
    score: Decimal


def check_score(item: ScoredItem, value: object) -> Decimal:
    """A score from 0 to the item's maximum, an exact decimal."""
    score = decimal(value, field="score", error=InvalidScore)
    if score < 0:
        raise InvalidScore(N_("A score cannot be negative (item %(item)s)."), field="score", item=item.code)
    if score > item.max:
        raise InvalidScore(N_("A score of %(score)s is above the maximum %(max)s of item %(item)s."), field="score",
                           score=str(score), max=str(item.max), item=item.code)
    return score


def _table(plan: Plan, bids: Sequence[Bid], sheets: Iterable[Score]) -> tuple[list[str], dict, dict, list]:
    """The experts (sorted), ``{(bidder, item): {expert: score}}`` for the valid bids, each cell's Σ and the
    objective cells whose scores differ; every score checked: each expert scores every item of every valid bid,
    once."""
    valid = {b.bidder for b in bids if b.valid}
    known = {b.bidder for b in bids}
    by_code = plan.items_by_code()
    rows: dict[str, dict[str, dict[str, Decimal]]] = {b: {code: {} for code in by_code} for b in valid}
    maxima = {code: item.max for code, item in by_code.items()}
    row_of = rows.get
    for s in sheets:
        row = row_of(s.bidder)
        cell = None if row is None else row.get(s.item)
        if cell is None:
            if s.item not in by_code:
                raise InvalidScore(N_("Item %(item)s is not in the plan."), field="sheets", item=str(s.item))
            if s.bidder in known:
                raise InvalidScore(N_("Bid %(bidder)s failed the review and is not scored."), field="sheets",
                                   bidder=str(s.bidder))
            raise InvalidScore(N_("Bid %(bidder)s is not in the evaluation."), field="sheets", bidder=str(s.bidder))
        expert = s.expert
        if expert in cell:
            raise InvalidScore(N_("Expert %(expert)s scored item %(item)s of %(bidder)s twice."), field="sheets",
                               expert=str(expert), item=s.item, bidder=s.bidder)
        cell[expert] = s.score
    decimal_type = {Decimal}
    zero = Decimal(0)
    objective = {code for code, item in by_code.items() if item.kind == ItemKind.OBJECTIVE}
    table: dict[tuple[str, str], dict[str, Decimal]] = {}
    sums: dict[tuple[str, str], Decimal] = {}
    differ: list[tuple[str, str]] = []
    for bidder, row in rows.items():
        for code, cell in row.items():  # the range of each cell at once; each score when one is off
            key = (bidder, code)
            table[key] = cell
            values = cell.values()
            if not values:
                continue
            try:
                low, high = min(values), max(values)
                ok = set(map(type, values)) == decimal_type and zero <= low and high <= maxima[code]
            except (InvalidOperation, TypeError):
                ok = False
            if not ok:
                for expert, value in cell.items():
                    cell[expert] = check_score(by_code[code], value)  # refuses, or reads a string
                low, high = min(values), max(values)
            if code in objective and low != high:
                differ.append(key)
            sums[key] = sum(values, zero)
    experts: set[str] = set().union(*table.values())
    if not all(isinstance(e, str) and e for e in experts):
        raise InvalidScore(N_("Every score names its expert."), field="sheets")
    ordered = sorted(experts)
    if plan.items and valid and not ordered:
        raise InvalidScore(N_("There are no score sheets."), field="sheets")
    for bidder in sorted(valid):
        for item in plan.items:
            cell = table.get((bidder, item.code), {})
            if len(cell) != len(ordered):
                missing = next(e for e in ordered if e not in cell)
                raise InvalidScore(N_("Expert %(expert)s has not scored item %(item)s of %(bidder)s."),
                                   field="sheets", expert=missing, item=item.code, bidder=bidder)
    return ordered, table, sums, differ


@dataclass(frozen=True)
class Disagreement:
    bidder: str
    item: str
    scores: tuple[tuple[str, Decimal], ...]  # (expert, score), by expert


def objective_disagreements(plan: Plan, sheets: Iterable[Score]) -> list[Disagreement]:
    """The objective items of a bid whose experts' scores differ (87号令 art. 64 (3)), by bidder and item."""
    objective = {i.code for i in plan.items if i.kind == ItemKind.OBJECTIVE}
    cells: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for s in sheets:
        if s.item in objective:
            cells[(s.bidder, s.item)][s.expert] = Decimal(s.score)
    return [Disagreement(b, i, tuple(sorted(c.items()))) for (b, i), c in sorted(cells.items())
            if len(set(c.values())) > 1]


def check_submittable(plan: Plan, sheet: Iterable[Score], committee: Iterable[Score]) -> None:
    """An expert's sheet can be submitted when its scores are in range and, on every objective item, equal to
    every other expert's for that bid (87号令 art. 64 (3)); ``ObjectiveScoresDiffer`` otherwise."""
    sheet = list(sheet)
    for s in sheet:
        item = plan.item(s.item)
        if item is None:
            raise InvalidScore(N_("Item %(item)s is not in the plan."), field="sheets", item=str(s.item))
        check_score(item, s.score)
    mine = {(s.bidder, s.item) for s in sheet}
    together = sheet + [s for s in committee if (s.bidder, s.item) in mine]
    differ = objective_disagreements(plan, together)
    if differ:
        d = differ[0]
        raise ObjectiveScoresDiffer(N_("The experts' scores for objective item %(item)s of %(bidder)s differ "
                                       "(87号令 art. 64)."), field="sheets", item=d.item, bidder=d.bidder)


def committee_score(scores: Sequence[Decimal], aggregation: Aggregation, *,
                    min_trimmed: int = RULES.trimmed_mean_min_experts) -> Fraction:
    """An item's committee score: the mean of the experts' scores, or with one highest and one lowest dropped."""
    if not scores:
        raise InvalidScore(N_("There are no score sheets."), field="sheets")
    if aggregation == Aggregation.TRIMMED_MEAN:
        if len(scores) < min_trimmed:
            raise InvalidScore(N_("A trimmed mean needs at least %(min)s experts."), field="aggregation",
                               min=min_trimmed)
        kept = sorted(scores)[1:-1]
        return Fraction(sum(kept, Decimal(0))) / len(kept)
    return Fraction(sum(scores, Decimal(0))) / len(scores)


@dataclass(frozen=True)
class Outlier:
    """A subjective score further than the set share from the committee's mean (畸高畸低): the expert explains."""

    expert: str
    bidder: str
    item: str
    score: Decimal
    total: Decimal  # Σ of the committee's scores for the item
    experts: int

    @property
    def mean(self) -> Fraction:
        return Fraction(self.total) / self.experts


def outliers(plan: Plan, table: Mapping[tuple[str, str], Mapping[str, Decimal]],
             share: Decimal = RULES.outlier_share,
             sums: Mapping[tuple[str, str], Decimal] | None = None) -> list[Outlier]:
    """The subjective scores with |score − mean| > share × mean, computed as |n × score − Σ| > share × Σ (exact)."""
    subjective = {i.code for i in plan.items if i.kind == ItemKind.SUBJECTIVE}
    found = []
    with localcontext(EXACT):
        for (bidder, item), cell in table.items():
            if item not in subjective or not cell:
                continue
            n = len(cell)
            total = sums[(bidder, item)] if sums is not None else sum(cell.values(), Decimal(0))
            limit = share * total
            if n * max(cell.values()) - total <= limit and total - n * min(cell.values()) <= limit:
                continue  # neither extreme is far enough
            for expert, score in cell.items():
                if abs(n * score - total) > limit:
                    found.append(Outlier(expert, bidder, item, score, total, n))
    return sorted(found, key=lambda o: (o.bidder, o.item, o.expert))


def abnormally_low(bids: Sequence[Bid], share: Decimal = RULES.low_price_share) -> list[str]:
    """The valid bids whose declared price is below ``share`` of the mean valid declared price (87号令 art. 60):
    each bidder explains its price in writing.  By bidder."""
    valid = [b for b in bids if b.valid]
    if not valid:
        return []
    mean = Fraction(sum((b.price for b in valid), Decimal(0))) / len(valid)
    return sorted(b.bidder for b in valid if Fraction(b.price) < Fraction(share) * mean)


# ---------------------------------------------------------------------------------------------- the result


Draw = Callable[[tuple[str, ...]], Sequence[str]]
"""A recorded draw: given the tied bidders (sorted), their order (the expert-draw engine makes one)."""


@dataclass(frozen=True)
class BidResult:
    bidder: str
    price: Decimal
    evaluated_price: Decimal
    items_score: Fraction | None  # Σ committee scores, exact (None: lowest evaluated price)
    price_score_exact: Fraction | None
    total_exact: Fraction | None
    price_score: Decimal | None  # rounded by the plan's rule, as shown
    total: Decimal | None  # rounded once, at the end
    rank: int


@dataclass(frozen=True)
class TieDecision:
    bidders: tuple[str, ...]  # tied on total and price (sorted)
    order: tuple[str, ...]
    by: str  # a TieRule value, or "draw"


@dataclass(frozen=True)
class Evaluation:
    plan: Plan
    bids: tuple[Bid, ...]  # as given, sorted by bidder
    evaluated: Mapping[str, Decimal]
    base: Fraction | None
    results: tuple[BidResult, ...]  # by rank
    experts: tuple[str, ...]
    kept: Mapping[tuple[str, str], Decimal]  # (bidder, item) -> Σ of the scores the aggregation keeps
    counted: int  # how many scores of each item it keeps (every expert's, or two fewer)
    outliers: tuple[Outlier, ...]
    abnormally_low: tuple[str, ...]
    ties: tuple[TieDecision, ...]

    def ranking(self) -> list[str]:
        return [r.bidder for r in self.results]

    @property
    def committee(self) -> dict[tuple[str, str], Fraction]:
        """Each item's committee score by (bidder, item), exact."""
        return {key: Fraction(total) / self.counted for key, total in self.kept.items()}


def evaluate(plan: Plan, bids: Iterable[Bid], sheets: Iterable[Score], *, draw: Draw | None = None,
             rules: PlanRules = RULES) -> Evaluation:
    """Score and rank the valid bids by the plan.

    Comprehensive: total = Σ item committee scores + price score, rounded once; ranked by total (as rounded)
    descending, then lower declared price (87号令 art. 68), then the tender documents' ``tie_rule``, else
    ``draw``.  Lowest evaluated price: ranked by evaluated price ascending, then declared price, then the
    documents' rule, else the draw (87号令 art. 57).  Objective scores must agree (87号令 art. 64)."""
    check_plan(plan, rules)
    bids = tuple(sorted(bids, key=lambda b: b.bidder))
    _check_bids(bids)
    sheets = list(sheets)
    if plan.method == Method.LOWEST_EVALUATED_PRICE and sheets:
        raise InvalidScore(N_("The lowest evaluated price method has no scored items."), field="sheets")
    with localcontext(EXACT):
        return _evaluate(plan, bids, sheets, draw, rules)


def _evaluate(plan: Plan, bids: tuple[Bid, ...], sheets: list[Score], draw: Draw | None,
              rules: PlanRules) -> Evaluation:
    experts, table, sums, differ = _table(plan, bids, sheets)
    if differ:
        bidder, item = min(differ)
        raise ObjectiveScoresDiffer(N_("The experts' scores for objective item %(item)s of %(bidder)s differ "
                                           "(87号令 art. 64)."), field="sheets", item=item, bidder=bidder)
    trimmed = plan.aggregation == Aggregation.TRIMMED_MEAN
    if trimmed and plan.items and len(experts) < rules.trimmed_mean_min_experts:
        raise InvalidScore(N_("A trimmed mean needs at least %(min)s experts."), field="aggregation",
                           min=rules.trimmed_mean_min_experts)
    evaluated = {b.bidder: (Decimal(b.evaluated) if b.evaluated is not None else evaluated_price(plan, b))
                 for b in bids}
    valid = [b for b in bids if b.valid]
    counted = max(len(experts) - 2, 0) if trimmed else len(experts)
    if not valid:
        return Evaluation(plan, bids, evaluated, None, (), tuple(experts), {}, counted, (), (), ())
    base = base_price(plan, (evaluated[b.bidder] for b in valid))
    zero = Decimal(0)
    if trimmed:  # one highest and one lowest dropped
        kept = {key: sums[key] - max(cell.values()) - min(cell.values()) for key, cell in table.items()}
    else:
        kept = sums
    rows = []
    for b in valid:
        if plan.method == Method.COMPREHENSIVE:
            # Σ of committee scores that share one denominator: (Σ of the kept sums) / counted, exactly
            items = Fraction(sum((kept[(b.bidder, i.code)] for i in plan.items), zero)) / counted \
                if plan.items else Fraction(0)
            ps = price_score(base, evaluated[b.bidder], plan.price_weight)
            total = items + ps
            rows.append(dict(bidder=b.bidder, price=b.price, evaluated_price=evaluated[b.bidder], items_score=items,
                             price_score_exact=ps, total_exact=total, price_score=round_score(ps, plan.rounding),
                             total=round_score(total, plan.rounding)))
        else:
            rows.append(dict(bidder=b.bidder, price=b.price, evaluated_price=evaluated[b.bidder], items_score=None,
                             price_score_exact=None, total_exact=None, price_score=None, total=None))
    order, ties = _rank(plan, rows, draw)
    results = tuple(BidResult(**row, rank=n) for n, row in enumerate(order, start=1))
    return Evaluation(plan, bids, evaluated, base, results, tuple(experts), kept, counted,
                      tuple(outliers(plan, table, rules.outlier_share, sums)),
                      tuple(abnormally_low(bids, rules.low_price_share)), tuple(ties))


def _rank(plan: Plan, rows: list[dict], draw: Draw | None) -> tuple[list[dict], list[TieDecision]]:
    if plan.method == Method.COMPREHENSIVE:
        def key(r):
            return (-r["total"], r["price"])
    else:
        def key(r):
            return (r["evaluated_price"], r["price"])
    rows = sorted(rows, key=lambda r: (key(r), r["bidder"]))
    out: list[dict] = []
    ties: list[TieDecision] = []
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and key(rows[j]) == key(rows[i]):
            j += 1
        group = rows[i:j]
        i = j
        if len(group) == 1:
            out.extend(group)
            continue
        out.extend(_break(plan, group, draw, ties))
    return out, ties


def _break(plan: Plan, group: list[dict], draw: Draw | None, ties: list[TieDecision]) -> list[dict]:
    """A group tied on the ranking key: the tender documents' rule, then the draw for whoever is still tied."""
    names = tuple(sorted(r["bidder"] for r in group))
    if plan.tie_rule == TieRule.HIGHER_ITEMS_SCORE and plan.method == Method.COMPREHENSIVE:
        ordered = sorted(group, key=lambda r: (-r["items_score"], r["bidder"]))
        out: list[dict] = []
        k = 0
        while k < len(ordered):
            m = k
            while m < len(ordered) and ordered[m]["items_score"] == ordered[k]["items_score"]:
                m += 1
            sub = ordered[k:m]
            out.extend(sub if len(sub) == 1 else _draw(sub, draw, ties))
            k = m
        ties.append(TieDecision(names, tuple(r["bidder"] for r in out), TieRule.HIGHER_ITEMS_SCORE.value))
        return out
    return _draw(group, draw, ties)


def _draw(group: list[dict], draw: Draw | None, ties: list[TieDecision]) -> list[dict]:
    names = tuple(sorted(r["bidder"] for r in group))
    if draw is None:
        raise TieNeedsDraw(field="result", bidders=", ".join(names))
    order = tuple(draw(names))
    if sorted(order) != list(names):
        raise InvalidDraw(field="result")
    ties.append(TieDecision(names, order, "draw"))
    by_name = {r["bidder"]: r for r in group}
    return [by_name[n] for n in order]
