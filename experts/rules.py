"""The expert pool's rules: national IDs, the specialty code list, committee composition and avoidance (回避).

Pure module: no web framework, no database, no clock (every date and time is an argument).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import cache
from importlib import resources

from core.errors import N_, InvalidInput

# --------------------------------------------------------------------------- national ID (居民身份证号码)

_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # GB 11643-1999: W_i = 2^(i-1) mod 11, i from 18 down
_CHECK_CHARS = "10X98765432"  # ISO 7064 MOD 11-2: the check character for (sum of a_i * W_i) mod 11
_ID_SHAPE = re.compile(r"[1-9][0-9]{16}[0-9X]")


class InvalidNationalId(InvalidInput):
    code = "invalid_national_id"
    default_message = N_("The national ID is not valid: %(reason)s.")


def national_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of a national ID."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("seventeen ASCII digits expected")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def national_id_birth_date(number: str) -> date | None:
    """The birth date a national ID's digits 7 to 14 give, None when they are not a real date."""
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    return born if born.year >= 1900 else None


def check_national_id(text: str, *, today: date | None = None) -> str:
    """The national ID in its one form (18 characters, a final ``x`` made ``X``), or ``InvalidNationalId``
    naming what is wrong: the shape, the birth date (a real date from 1900 on, not after ``today`` when given)
    or the check character."""
    if not isinstance(text, str):
        raise InvalidNationalId(reason=N_("it is not text"), field="national_id")
    number = text.strip().upper()
    if len(number) != 18:
        raise InvalidNationalId(reason=N_("it must have 18 characters"), field="national_id")
    if not _ID_SHAPE.fullmatch(number):
        raise InvalidNationalId(reason=N_("17 digits and a digit or X expected"), field="national_id")
    born = national_id_birth_date(number)
    if born is None or (today is not None and born > today):
        raise InvalidNationalId(reason=N_("the birth date is not valid"), field="national_id")
    if national_id_check_char(number[:17]) != number[17]:
        raise InvalidNationalId(reason=N_("the check character does not match"), field="national_id")
    return number


def mask_national_id(number: str) -> str:
    """A national ID for display: the first three and the last four characters, the rest as ``*``."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


# --------------------------------------------------------------------------- pseudonyms

_PSEUDONYM = re.compile(r"E[0-9]{6}")


def pseudonym(number: int) -> str:
    """An expert's stable public pseudonym, ``E000123``: the only name a published draw document uses."""
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 999_999:
        raise ValueError("a pseudonym number is from 1 to 999999")
    return f"E{number:06d}"


def is_pseudonym(text: object) -> bool:
    return isinstance(text, str) and _PSEUDONYM.fullmatch(text) is not None


# --------------------------------------------------------------------------- specialties (专业分类)


class UnknownSpecialty(InvalidInput):
    code = "unknown_specialty"
    default_message = N_("Unknown specialty code: %(code)s.")


@dataclass(frozen=True)
class Specialty:
    """One entry of the specialty code list: a dotted code (``works.civil.bridges``), its names."""

    code: str
    zh: str
    en: str

    @property
    def parent(self) -> str | None:
        return self.code.rsplit(".", 1)[0] if "." in self.code else None

    @property
    def depth(self) -> int:
        return self.code.count(".") + 1

    def name(self, locale: str) -> str:
        return self.zh if locale.startswith("zh") else self.en


_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")


def parse_specialties(document: dict) -> dict[str, Specialty]:
    """The code list from its JSON document (``experts/data/specialties.json``), checked: codes well formed and
    unique, every parent listed before its children, both names given."""
    out: dict[str, Specialty] = {}
    for row in document["specialties"]:
        code, zh, en = row["code"], row["zh"], row["en"]
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise ValueError(f"specialty code {code!r} is malformed")
        if code in out:
            raise ValueError(f"specialty code {code} is listed twice")
        s = Specialty(code, zh, en)
        if s.parent is not None and s.parent not in out:
            raise ValueError(f"specialty code {code}: its parent {s.parent} is not listed before it")
        if not zh or not en:
            raise ValueError(f"specialty code {code}: a name is missing")
        out[code] = s
    return out


@cache
def specialties() -> dict[str, Specialty]:
    """The shipped specialty code list, by code, in the list's order."""
    text = resources.files("experts").joinpath("data/specialties.json").read_text(encoding="utf-8")
    return parse_specialties(json.loads(text))


def check_specialty(code: str) -> str:
    if code not in specialties():
        raise UnknownSpecialty(code=code, field="specialty")
    return code


def specialty_path(code: str) -> list[Specialty]:
    """The specialty and its ancestors, the broadest first (works › civil › bridges)."""
    known = specialties()
    parts = check_specialty(code).split(".")
    return [known[".".join(parts[:i])] for i in range(1, len(parts) + 1)]


def covers(requested: str, expert_code: str) -> bool:
    """Whether an expert of ``expert_code`` qualifies for a request of ``requested``: the same code or one
    below it (a request for works.civil takes an expert of works.civil.bridges, not the other way round)."""
    return expert_code == requested or expert_code.startswith(requested + ".")


# --------------------------------------------------------------------------- committee (评标委员会)


@dataclass(frozen=True)
class CommitteeRule:
    """A committee rule as a per-tender setting, naming the article it comes from."""

    code: str
    article: str
    message: str


ODD_SIZE = CommitteeRule("committee_odd", "招标投标法 art. 37", N_("The committee must have an odd number of members."))
MIN_SIZE = CommitteeRule("committee_min_size", "招标投标法 art. 37", N_("The committee must have at least %(min)s members."))
EXPERT_SHARE = CommitteeRule("committee_expert_share", "招标投标法 art. 37",
                             N_("Experts must be at least two thirds of the committee."))
PROCUREMENT_SIZE = CommitteeRule("committee_procurement_size", "87号令 art. 47",
                                 N_("A government procurement with a budget of ¥10 million or more needs a committee "
                                    "of at least %(min)s members."))


@dataclass(frozen=True)
class CommitteeSettings:
    """The committee settings of one tender (defaults: the law's)."""

    min_size: int = 5
    expert_share: Fraction = Fraction(2, 3)
    government_procurement: bool = False
    procurement_min_size: int = 7
    procurement_budget_fen: int = 10_000_000 * 100  # ¥10 million


class CommitteeRefused(InvalidInput):
    code = "committee_refused"
    default_message = N_("The committee breaks a rule (%(article)s): %(rule)s")


def committee_violations(*, experts: int, others: int, budget_fen: int | None,
                         settings: CommitteeSettings = CommitteeSettings()) -> list[tuple[CommitteeRule, dict]]:
    """Every committee rule broken by a committee of ``experts`` drawn experts and ``others`` representatives of
    the tendering party, each with its message parameters; empty when none is."""
    size = experts + others
    out: list[tuple[CommitteeRule, dict]] = []
    if size % 2 == 0:
        out.append((ODD_SIZE, {}))
    if size < settings.min_size:
        out.append((MIN_SIZE, {"min": settings.min_size}))
    if size == 0 or Fraction(experts, size) < settings.expert_share:
        out.append((EXPERT_SHARE, {}))
    if (settings.government_procurement and budget_fen is not None
            and budget_fen >= settings.procurement_budget_fen and size < settings.procurement_min_size):
        out.append((PROCUREMENT_SIZE, {"min": settings.procurement_min_size}))
    return out


def check_committee(*, experts: int, others: int, budget_fen: int | None,
                    settings: CommitteeSettings = CommitteeSettings()) -> None:
    """Refuse (``CommitteeRefused``, naming the rule's article) the first broken committee rule."""
    broken = committee_violations(experts=experts, others=others, budget_fen=budget_fen, settings=settings)
    if broken:
        rule, params = broken[0]
        raise CommitteeRefused(article=rule.article, rule=rule.message % params if params else rule.message,
                               field="committee")


# --------------------------------------------------------------------------- avoidance (回避)


@dataclass(frozen=True)
class Employment:
    organisation: Hashable
    start: date
    end: date | None = None  # None: employed now


@dataclass(frozen=True)
class Relation:
    """A declared relation: to an organisation (kind "organisation") or to a person (kind "person")."""

    kind: str
    ref: Hashable


@dataclass(frozen=True)
class Penalty:
    start: date
    end: date | None = None  # None: without end


@dataclass(frozen=True)
class ExpertFacts:
    """What the avoidance rules read of one expert."""

    pseudonym: str
    status: str = "active"  # active, suspended, retired
    suspended_until: date | None = None  # with status suspended; None: until reinstated
    employments: tuple[Employment, ...] = ()
    relations: tuple[Relation, ...] = ()
    penalties: tuple[Penalty, ...] = ()
    unavailable: tuple[tuple[datetime, datetime], ...] = ()  # [start, end) periods
    draws: tuple[tuple[Hashable, datetime], ...] = ()  # (agency, when) of earlier draws


@dataclass(frozen=True)
class DrawContext:
    """What the avoidance rules read of the draw: the parties and the time of the evaluation."""

    evaluation_start: datetime
    evaluation_end: datetime
    bidders: frozenset = frozenset()  # organisations
    bidder_people: frozenset = frozenset()  # people of the bidders
    tendering_party: frozenset = frozenset()  # the tenderer (and its agency) as organisations
    agency: Hashable | None = None
    committee: frozenset = frozenset()  # pseudonyms already on the committee
    employment_years: int = 3
    agency_max_draws: int = 6
    agency_window: timedelta = timedelta(days=365)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _employed_by(expert: ExpertFacts, orgs: frozenset, ctx: DrawContext) -> bool:
    since = _years_before(ctx.evaluation_start.date(), ctx.employment_years)
    return any(e.organisation in orgs and (e.end is None or e.end >= since) for e in expert.employments)


def employed_by_bidder(expert: ExpertFacts, ctx: DrawContext) -> str | None:
    """Employed by a bidder now or within the last ``employment_years`` years."""
    return "employed_by_bidder" if _employed_by(expert, ctx.bidders, ctx) else None


def employed_by_tendering_party(expert: ExpertFacts, ctx: DrawContext) -> str | None:
    """Employed by the tendering party (or its agency) now or within the last ``employment_years`` years."""
    return "employed_by_tendering_party" if _employed_by(expert, ctx.tendering_party, ctx) else None


def related_to_bidder(expert: ExpertFacts, ctx: DrawContext) -> str | None:
    """A declared relation to a bidder or to one of its people."""
    for r in expert.relations:
        if (r.kind == "organisation" and r.ref in ctx.bidders) or (r.kind == "person" and r.ref in ctx.bidder_people):
            return "related_to_bidder"
    return None


def not_active(expert: ExpertFacts, ctx: DrawContext) -> str | None:
    """Suspended (until after the evaluation ends, or without end) or retired."""
    if expert.status == "retired":
        return "retired"
    if expert.status == "suspended" and (expert.suspended_until is None
                                         or expert.suspended_until >= ctx.evaluation_end.date()):
        return "suspended"
    return None


def penalised(expert: ExpertFacts, ctx: DrawContext) -> str | None:
    """Under a penalty on the evaluation's days."""
    start, end = ctx.evaluation_start.date(), ctx.evaluation_end.date()
    for p in expert.penalties:
        if p.start <= end and (p.end is None or p.end >= start):
            return "penalised"
    return None


def unavailable(expert: ExpertFacts, ctx: DrawContext) -> str | None:
    """Declared unavailable for some of the evaluation's time."""
    for start, end in expert.unavailable:
        if start < ctx.evaluation_end and end > ctx.evaluation_start:
            return "unavailable"
    return None


def agency_quota(expert: ExpertFacts, ctx: DrawContext) -> str | None:
    """Drawn for the same agency ``agency_max_draws`` times or more in the window before the evaluation: one
    more would be more than the quota."""
    if ctx.agency is None:
        return None
    since = ctx.evaluation_start - ctx.agency_window
    n = sum(1 for agency, when in expert.draws if agency == ctx.agency and since <= when <= ctx.evaluation_start)
    return "agency_quota" if n >= ctx.agency_max_draws else None


def on_committee(expert: ExpertFacts, ctx: DrawContext) -> str | None:
    """Already on this committee (drawn for an earlier specialty, or named otherwise)."""
    return "on_committee" if expert.pseudonym in ctx.committee else None


AVOIDANCE_RULES: tuple[Callable[[ExpertFacts, DrawContext], str | None], ...] = (
    employed_by_bidder, employed_by_tendering_party, related_to_bidder, not_active, penalised, unavailable,
    agency_quota, on_committee,
)
"""The avoidance rules, in the order their reasons are listed."""

REASONS = ("employed_by_bidder", "employed_by_tendering_party", "related_to_bidder", "retired", "suspended",
           "penalised", "unavailable", "agency_quota", "on_committee")
"""Every reason code an exclusion may give (published in draw documents)."""


def avoidance_reasons(expert: ExpertFacts, ctx: DrawContext) -> list[str]:
    """Every reason the expert is excluded from this draw, in rule order; empty when eligible."""
    return [reason for rule in AVOIDANCE_RULES if (reason := rule(expert, ctx)) is not None]


@dataclass(frozen=True)
class Screening:
    eligible: dict[str, list[str]] = field(default_factory=dict)  # code -> pseudonyms, sorted
    excluded: list[dict] = field(default_factory=list)  # [{expert, reasons}], by pseudonym


def screen(experts: Iterable[tuple[ExpertFacts, Sequence[str]]], codes: Sequence[str],
           ctx: DrawContext) -> Screening:
    """Split the pool for a draw over ``codes``: every expert with a specialty a requested code covers is
    eligible for that code unless an avoidance rule excludes them (then listed once with every reason)."""
    eligible: dict[str, list[str]] = {c: [] for c in codes}
    excluded = []
    for facts, own in experts:
        wanted = [c for c in codes if any(covers(c, s) for s in own)]
        if not wanted:
            continue
        reasons = avoidance_reasons(facts, ctx)
        if reasons:
            excluded.append({"expert": facts.pseudonym, "reasons": reasons})
            continue
        for c in wanted:
            eligible[c].append(facts.pseudonym)
    for c in eligible:
        eligible[c].sort()
    excluded.sort(key=lambda e: e["expert"])
    return Screening(eligible, excluded)


# --------------------------------------------------------------------------- draw requests


class DrawTooEarly(InvalidInput):
    code = "draw_too_early"
    status = 409
    default_message = N_("Experts are drawn only after the bid deadline (%(deadline)s), when the bidders are known.")


class DrawOutsideWindow(InvalidInput):
    code = "draw_outside_window"
    status = 409
    default_message = N_("Experts are drawn at most %(hours)s hours before the evaluation starts, and before it.")


class BadDrawRequest(InvalidInput):
    code = "bad_draw_request"
    default_message = N_("The draw request is not valid: %(reason)s.")


@dataclass(frozen=True)
class DrawWindow:
    """How long before the evaluation the draw may be made (a per-platform setting)."""

    before: timedelta = timedelta(hours=48)


def check_draw_request(specialties: Sequence[tuple[str, int]], *, others: int, budget_fen: int | None,
                       bid_deadline: datetime, evaluation_start: datetime, now: datetime,
                       settings: CommitteeSettings = CommitteeSettings(), window: DrawWindow = DrawWindow(),
                       regions_include: Sequence[str] = (), regions_exclude: Sequence[str] = ()) -> None:
    """Refuse a draw request that cannot be made now: before the bid deadline, outside the window before the
    evaluation, with unknown or repeated specialty codes, counts below one, a region both included and excluded,
    or a committee (the drawn experts and ``others`` representatives of the tendering party) that breaks a
    committee rule."""
    if now < bid_deadline:
        raise DrawTooEarly(deadline=bid_deadline, field="evaluation_start")
    if not (evaluation_start - window.before <= now < evaluation_start):
        raise DrawOutsideWindow(hours=int(window.before.total_seconds() // 3600), field="evaluation_start")
    if not specialties:
        raise BadDrawRequest(reason=N_("no specialty is requested"), field="specialties")
    seen = set()
    for code, count in specialties:
        check_specialty(code)
        if code in seen:
            raise BadDrawRequest(reason=N_("a specialty is requested twice"), field="specialties")
        seen.add(code)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise BadDrawRequest(reason=N_("each count must be at least one"), field="specialties")
    if set(regions_include) & set(regions_exclude):
        raise BadDrawRequest(reason=N_("a region is both included and excluded"), field="regions")
    check_committee(experts=sum(c for _, c in specialties), others=others, budget_fen=budget_fen, settings=settings)
