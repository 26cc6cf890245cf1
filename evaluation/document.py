"""The recomputable result document (docs/evaluation.md, "The result document"): one JSON object that anyone
can recompute the ranking from, with no database.  ``build`` writes it from an ``Evaluation``; ``verify``
reads one, recomputes every score, total and rank with ``evaluation.rules`` and names the first field or row
that does not match.  Pure: no Flask, no database, no clock.

Decimals are strings (``"85.25"``), never JSON numbers, so nothing passes through binary floating point.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.errors import N_, DomainError
from evaluation.rules import (
    Aggregation,
    BaseRule,
    Bid,
    EvaluationError,
    Evaluation,
    ItemKind,
    Method,
    Plan,
    Rounding,
    Score,
    ScoredItem,
    TieRule,
    check_plan,
    evaluate,
)

FIELDS = ("method", "price_weight", "base_rule", "aggregation", "rounding", "items", "bids", "sheets", "result",
          "documents")
ROWS = {
    "items": ("code", "kind", "max"),
    "bids": ("bidder", "price", "evaluated_price", "valid", "reasons"),
    "sheets": ("expert", "bidder", "item", "score"),
    "result": ("bidder", "price_score", "total", "rank"),
    "documents": ("kind", "url", "sha256"),
}
DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
SHA256 = re.compile(r"[0-9a-f]{64}")


class Mismatch(DomainError):
    """The document is malformed, or a number in it is not what its sheets give: ``where`` names the field or
    row (``result[2].total``)."""

    code = "evaluation_mismatch"
    status = 422
    default_message = N_("%(where)s does not match.")

    def __init__(self, where: str, message: str | None = None, **params: object):
        self.where = where
        super().__init__(message, field=where, where=where, **params)

    def to_dict(self, translate=lambda s: s, format_time=None) -> dict:
        cause = self.params.get("reason")
        if not isinstance(cause, DomainError):
            return super().to_dict(translate, format_time)
        saved = self.params  # an error of the rules, translated with its own parameters
        self.params = {**saved, "reason": cause.to_dict(translate, format_time)["message"]}
        try:
            return super().to_dict(translate, format_time)
        finally:
            self.params = saved


@dataclass(frozen=True)
class Document:
    """A documents row: a signed PDF issued for the evaluation."""

    kind: str
    url: str
    sha256: str


def text(value: Decimal | None) -> str | None:
    """A decimal as the document writes it: plain digits, never an exponent."""
    return None if value is None else format(value, "f")


def base_rule_text(plan: Plan) -> str:
    """``lowest_valid``, ``average_valid``, or ``average_factor:<factor>``."""
    if plan.base_rule == BaseRule.AVERAGE_FACTOR:
        return f"{plan.base_rule.value}:{text(Decimal(plan.base_factor))}"
    return plan.base_rule.value


def build(evaluation: Evaluation, sheets: Iterable[Score], documents: Iterable[Document] = ()) -> dict:
    """The result document of an evaluation, from the sheets it was computed from."""
    plan = evaluation.plan
    order = {i.code: n for n, i in enumerate(plan.items)}
    return {
        "method": plan.method.value,
        "price_weight": text(Decimal(plan.price_weight)),
        "base_rule": base_rule_text(plan),
        "aggregation": plan.aggregation.value,
        "rounding": plan.rounding.value,
        "items": [{"code": i.code, "kind": i.kind.value, "max": text(Decimal(i.max))} for i in plan.items],
        "bids": [{"bidder": b.bidder, "price": text(Decimal(b.price)),
                  "evaluated_price": text(evaluation.evaluated[b.bidder]), "valid": b.valid,
                  "reasons": list(b.reasons)} for b in evaluation.bids],
        "sheets": [{"expert": s.expert, "bidder": s.bidder, "item": s.item, "score": text(Decimal(s.score))}
                   for s in sorted(sheets, key=lambda s: (s.bidder, order.get(s.item, len(order)), s.item, s.expert))],
        "result": [{"bidder": r.bidder, "price_score": text(r.price_score), "total": text(r.total), "rank": r.rank}
                   for r in evaluation.results],
        "documents": [{"kind": d.kind, "url": d.url, "sha256": d.sha256} for d in documents],
    }


# ---------------------------------------------------------------------------------------------- reading


def _object(value: object, where: str, keys: Sequence[str]) -> Mapping:
    if not isinstance(value, dict):
        raise Mismatch(where, N_("%(where)s is not a JSON object."))
    for key in keys:
        if key not in value:
            raise Mismatch(f"{where}.{key}" if where else key, N_("%(where)s is missing."))
    extra = sorted(set(value) - set(keys))
    if extra:
        name = f"{where}.{extra[0]}" if where else str(extra[0])
        raise Mismatch(name, N_("%(where)s is not a field of the document."))
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise Mismatch(where, N_("%(where)s must be a non-empty string."))
    return value


def _decimal(value: object, where: str, *, null: bool = False) -> Decimal | None:
    if value is None and null:
        return None
    if not isinstance(value, str) or not DECIMAL.fullmatch(value):
        raise Mismatch(where, N_("%(where)s must be a decimal number written as a string, e.g. \"85.25\"."))
    return Decimal(value)


def _choice(value: object, where: str, enum) -> object:
    try:
        return enum(value)
    except ValueError:
        raise Mismatch(where, N_("%(where)s is not one of %(choices)s."),
                       choices=", ".join(e.value for e in enum)) from None


def _rows(doc: Mapping, name: str) -> list[Mapping]:
    rows = doc[name]
    if not isinstance(rows, list):
        raise Mismatch(name, N_("%(where)s must be a list."))
    return [_object(row, f"{name}[{n}]", ROWS[name]) for n, row in enumerate(rows)]


def read_plan(doc: Mapping) -> Plan:
    """The plan a document states (its category is not in it: the category's floors are not checked)."""
    method = _choice(doc["method"], "method", Method)
    weight = _decimal(doc["price_weight"], "price_weight")
    rule_text = _string(doc["base_rule"], "base_rule")
    name, _, factor_text = rule_text.partition(":")
    base_rule = _choice(name, "base_rule", BaseRule)
    factor = None
    if base_rule == BaseRule.AVERAGE_FACTOR:
        factor = _decimal(factor_text, "base_rule")
    elif factor_text:
        raise Mismatch("base_rule", N_("%(where)s is not one of %(choices)s."),
                       choices=", ".join(e.value for e in BaseRule))
    items = []
    for n, row in enumerate(_rows(doc, "items")):
        items.append(ScoredItem(code=_string(row["code"], f"items[{n}].code"),
                                kind=_choice(row["kind"], f"items[{n}].kind", ItemKind),
                                max=_decimal(row["max"], f"items[{n}].max")))
    plan = Plan(method=method, category=None, items=tuple(items), price_weight=weight, base_rule=base_rule,
                base_factor=factor, aggregation=_choice(doc["aggregation"], "aggregation", Aggregation),
                rounding=_choice(doc["rounding"], "rounding", Rounding), tie_rule=TieRule.NONE)
    try:
        return check_plan(plan)
    except EvaluationError as exc:
        raise Mismatch(exc.field or "items", exc.message, **exc.params) from None


def read_bids(doc: Mapping) -> list[Bid]:
    bids = []
    for n, row in enumerate(_rows(doc, "bids")):
        where = f"bids[{n}]"
        if not isinstance(row["valid"], bool):
            raise Mismatch(f"{where}.valid", N_("%(where)s must be true or false."))
        reasons = row["reasons"]
        if not isinstance(reasons, list) or not all(isinstance(r, str) and r for r in reasons):
            raise Mismatch(f"{where}.reasons", N_("%(where)s must be a list of strings."))
        bids.append(Bid(bidder=_string(row["bidder"], f"{where}.bidder"), price=_decimal(row["price"], f"{where}.price"),
                        valid=row["valid"], reasons=tuple(reasons),
                        evaluated=_decimal(row["evaluated_price"], f"{where}.evaluated_price")))
    return bids


def read_sheets(doc: Mapping) -> list[Score]:
    return [Score(expert=_string(row["expert"], f"sheets[{n}].expert"),
                  bidder=_string(row["bidder"], f"sheets[{n}].bidder"),
                  item=_string(row["item"], f"sheets[{n}].item"),
                  score=_decimal(row["score"], f"sheets[{n}].score"))
            for n, row in enumerate(_rows(doc, "sheets"))]


def read_documents(doc: Mapping) -> list[Document]:
    out = []
    for n, row in enumerate(_rows(doc, "documents")):
        sha = row["sha256"]
        if not isinstance(sha, str) or not SHA256.fullmatch(sha):
            raise Mismatch(f"documents[{n}].sha256", N_("%(where)s must be 64 lowercase hexadecimal digits."))
        out.append(Document(_string(row["kind"], f"documents[{n}].kind"), _string(row["url"], f"documents[{n}].url"),
                            sha))
    return out


# ---------------------------------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class Verified:
    bids: int
    valid: int
    experts: int
    scores: int
    documents: int
    ranking: tuple[str, ...]


def verify(doc: object) -> Verified:
    """Recompute a result document; ``Mismatch`` names the first field or row that is malformed or does not
    match.  Bids tied on total and price keep the order the document gives them (the tender documents' rule or
    the recorded draw decided it, outside this document); every other rank must be the recomputed one."""
    doc = _object(doc, "", FIELDS)
    plan = read_plan(doc)
    bids = read_bids(doc)
    sheets = read_sheets(doc)
    documents = read_documents(doc)
    published = _rows(doc, "result")
    order: dict[str, int] = {}
    for n, row in enumerate(published):
        bidder = _string(row["bidder"], f"result[{n}].bidder")
        if bidder in order:
            raise Mismatch(f"result[{n}].bidder", N_("%(where)s: bidder %(bidder)s is listed twice."), bidder=bidder)
        order[bidder] = n

    def as_published(tied: tuple[str, ...]) -> list[str]:
        return sorted(tied, key=lambda b: (order.get(b, len(order)), b))

    try:
        result = evaluate(plan, bids, sheets, draw=as_published)
    except Mismatch:
        raise
    except EvaluationError as exc:
        where = {"price": "bids", "evaluated_price": "bids", "reasons": "bids", "score": "sheets"}.get(
            exc.field or "", exc.field or "sheets")
        raise Mismatch(where, N_("%(where)s: %(reason)s"), reason=exc) from None
    recomputed = {r.bidder: r for r in result.results}
    for n, row in enumerate(published):
        where = f"result[{n}]"
        mine = recomputed.get(row["bidder"])
        if mine is None:
            raise Mismatch(f"{where}.bidder", N_("%(where)s: %(bidder)s is not a valid bid of this evaluation."),
                           bidder=row["bidder"])
        null = plan.method == Method.LOWEST_EVALUATED_PRICE
        for name, value in (("price_score", mine.price_score), ("total", mine.total)):
            given = _decimal(row[name], f"{where}.{name}", null=null)
            if given != value or (given is not None and text(given) != text(value)):
                raise Mismatch(f"{where}.{name}", N_("%(where)s is %(published)s; the sheets give %(recomputed)s."),
                               published=str(row[name]), recomputed=str(text(value)))
        if row["rank"] == mine.rank and mine.rank != n + 1:
            raise Mismatch(f"{where}.rank", N_("%(where)s: the rows are listed by rank, so this one is rank "
                                               "%(expected)s."), expected=n + 1)
        if isinstance(row["rank"], bool) or not isinstance(row["rank"], int) or row["rank"] != mine.rank:
            raise Mismatch(f"{where}.rank", N_("%(where)s is %(published)s; the sheets give %(recomputed)s."),
                           published=str(row["rank"]), recomputed=str(mine.rank))
    missing = [r.bidder for r in result.results if r.bidder not in order]
    if missing:
        raise Mismatch("result", N_("%(where)s: the valid bid %(bidder)s has no row."), bidder=missing[0])
    return Verified(bids=len(bids), valid=len(result.results), experts=len(result.experts), scores=len(sheets),
                    documents=len(documents), ranking=tuple(result.ranking()))
