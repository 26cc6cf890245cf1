"""The recomputable result document: built, verified, tampered with; the CLI; the worked example of
docs/evaluation.md recomputed."""
from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings

from evaluation.cli import evaluation_group, terminal_gettext
from evaluation.document import FIELDS, Document, Mismatch, build, verify
from evaluation.rules import (
    BaseRule,
    Bid,
    Category,
    ItemKind,
    Method,
    Plan,
    Score,
    ScoredItem,
    evaluate,
    small_enterprise_deduction,
)
from tests.unit.evaluation.test_evaluation_rules import cases, first

ROOT = Path(__file__).resolve().parents[3]
SHA = "a" * 64


def worked_example():
    """The example of docs/evaluation.md."""
    plan = Plan(Method.COMPREHENSIVE, Category.GOODS,
                items=(ScoredItem("T1", D(30), ItemKind.SUBJECTIVE), ScoredItem("T2", D(20), ItemKind.SUBJECTIVE),
                       ScoredItem("B1", D(10), ItemKind.OBJECTIVE)), price_weight=D(40),
                deductions=(small_enterprise_deduction("0.10"),))
    bids = [Bid("Bidder A", D("980000.00")),
            Bid("Bidder B", D("1000000.00"), policies=frozenset({"small_enterprise"})),
            Bid("Bidder C", D("930000.00")),
            Bid("Bidder D", D("850000.00"), valid=False, reasons=("Q2: the bid bond is missing",))]
    marks = {"Bidder A": ([24, 26, 25], [15, 16, 18], 8), "Bidder B": ([22, 21, 23], [17, 16, 16], 10),
             "Bidder C": ([20, 19, 24], [14, 15, 13], 6)}
    sheets = []
    for bidder, (t1, t2, b1) in marks.items():
        for expert, x, y in zip(("expert-1", "expert-2", "expert-3"), t1, t2):
            sheets += [Score(expert, bidder, "T1", D(x)), Score(expert, bidder, "T2", D(y)),
                       Score(expert, bidder, "B1", D(b1))]
    return plan, bids, sheets


def example_doc() -> dict:
    plan, bids, sheets = worked_example()
    docs = [Document("evaluation_report", "https://bid.example.gov.cn/tenders/7/evaluation/report.pdf", SHA)]
    return build(evaluate(plan, bids, sheets), sheets, docs)


def test_the_document_has_exactly_the_fields_and_decimals_as_strings():
    doc = example_doc()
    assert tuple(doc) == FIELDS
    assert doc["price_weight"] == "40" and doc["items"][0] == {"code": "T1", "kind": "subjective", "max": "30"}
    assert doc["bids"][1] == {"bidder": "Bidder B", "price": "1000000.00", "evaluated_price": "900000.00",
                              "valid": True, "reasons": []}
    assert doc["bids"][3]["valid"] is False and doc["bids"][3]["reasons"] == ["Q2: the bid bond is missing"]
    assert doc["result"] == [
        {"bidder": "Bidder B", "price_score": "40.00", "total": "88.33", "rank": 1},
        {"bidder": "Bidder A", "price_score": "36.73", "total": "86.07", "rank": 2},
        {"bidder": "Bidder C", "price_score": "38.71", "total": "79.71", "rank": 3},
    ]
    assert len(doc["sheets"]) == 27 and doc["sheets"][0] == {"expert": "expert-1", "bidder": "Bidder A", "item": "T1",
                                                             "score": "24"}
    report = verify(json.loads(json.dumps(doc)))
    assert report.ranking == ("Bidder B", "Bidder A", "Bidder C")
    assert (report.bids, report.valid, report.experts, report.scores, report.documents) == (4, 3, 3, 27, 1)


def tampered(change) -> Mismatch:
    doc = copy.deepcopy(example_doc())
    change(doc)
    with pytest.raises(Mismatch) as exc:
        verify(doc)
    return exc.value


@pytest.mark.parametrize("change, where", [
    (lambda d: d["sheets"][0].update(score="25"), "result[1].total"),  # A's T1 by expert-1 raised by one point
    (lambda d: d["result"][0].update(total="88.34"), "result[0].total"),
    (lambda d: d["result"][0].update(total="88.330"), "result[0].total"),  # written otherwise than the rounding
    (lambda d: d["result"][1].update(price_score="36.74"), "result[1].price_score"),
    (lambda d: d["result"][0].update(rank=2), "result[0].rank"),
    (lambda d: d["result"].reverse(), "result[0].rank"),  # every row right, but not listed by rank
    (lambda d: d["result"].pop(), "result"),
    (lambda d: d["result"].append({"bidder": "Bidder D", "price_score": "1", "total": "1", "rank": 4}),
     "result[3].bidder"),
    (lambda d: d["result"].append(dict(d["result"][0])), "result[3].bidder"),
    (lambda d: d["bids"][1].update(evaluated_price="890000.00"), "result[1].price_score"),  # B still 40, A not
    (lambda d: d["bids"][1].update(evaluated_price="1000000.01"), "bids"),  # above its price
    (lambda d: d.update(price_weight="41"), "price_weight"),  # weights add up to 101
    (lambda d: d.update(rounding="down_2"), "result[1].total"),  # 88.333… is 88.33 either way; 86.068… is not
    (lambda d: d.update(rounding="nearest"), "rounding"),
    (lambda d: d.update(base_rule="average_factor:1.5"), "base_factor"),
    (lambda d: d.update(base_rule="lowest_valid:2"), "base_rule"),
    (lambda d: d.update(aggregation="trimmed_mean"), "aggregation"),  # 3 experts
    (lambda d: d.pop("documents"), "documents"),
    (lambda d: d.update(extra=1), "extra"),
    (lambda d: d["items"][0].update(max=30), "items[0].max"),  # a JSON number, not a string
    (lambda d: d["items"][0].update(kind="fuzzy"), "items[0].kind"),
    (lambda d: d["items"][0].pop("max"), "items[0].max"),
    (lambda d: d["bids"][0].update(valid="yes"), "bids[0].valid"),
    (lambda d: d["bids"][0].update(price="9.8e5"), "bids[0].price"),
    (lambda d: d["sheets"][0].update(score="31"), "sheets"),  # above T1's 30
    (lambda d: d["sheets"][6].update(score="9"), "sheets"),  # objective B1 no longer identical
    (lambda d: d["sheets"].pop(), "sheets"),
    (lambda d: d["documents"][0].update(sha256="A" * 64), "documents[0].sha256"),
    (lambda d: d.update(sheets={}), "sheets"),
])
def test_verify_names_the_first_field_or_row_that_does_not_match(change, where):
    assert tampered(change).where == where


def test_mismatch_messages_in_both_languages():
    exc = tampered(lambda d: d["result"][0].update(total="88.34"))
    assert exc.to_dict()["message"] == "result[0].total is 88.34; the sheets give 88.33."
    zh = terminal_gettext({"LANG": "zh_CN.UTF-8"})
    assert exc.to_dict(zh)["message"] == "result[0].total 公布为 88.34；由评分表重算为 88.33。"
    inner = tampered(lambda d: d["sheets"][0].update(score="31"))
    assert "above the maximum 30 of item T1" in inner.to_dict()["message"]
    assert "超过评审因素 T1 的满分 30" in inner.to_dict(zh)["message"]


def test_ties_keep_the_published_order_of_the_draw():
    plan = Plan(Method.COMPREHENSIVE, Category.GOODS, items=(ScoredItem("T", D(70)),), price_weight=D(30))
    bids = [Bid("A", D(100)), Bid("B", D(100)), Bid("C", D(90))]
    sheets = [Score("e1", b, "T", D(50)) for b in "AB"] + [Score("e1", "C", "T", D(10))]
    doc = build(evaluate(plan, bids, sheets, draw=lambda tied: ["B", "A"]), sheets)
    assert [r["bidder"] for r in doc["result"]] == ["B", "A", "C"]
    assert verify(doc).ranking == ("B", "A", "C")
    swapped = copy.deepcopy(doc)
    swapped["result"][0]["bidder"], swapped["result"][1]["bidder"] = "A", "B"
    assert verify(swapped).ranking == ("A", "B", "C")  # another recorded draw: as valid, as published
    wrong = copy.deepcopy(doc)
    wrong["result"][1]["rank"], wrong["result"][2]["rank"] = 3, 2
    with pytest.raises(Mismatch):
        verify(wrong)


def test_lowest_evaluated_price_document():
    plan = Plan(Method.LOWEST_EVALUATED_PRICE, Category.WORKS, deductions=(small_enterprise_deduction("0.05"),))
    bids = [Bid("A", D(100)), Bid("B", D(104), policies=frozenset({"small_enterprise"}))]
    doc = build(evaluate(plan, bids, []), [])
    assert doc["result"] == [{"bidder": "B", "price_score": None, "total": None, "rank": 1},
                             {"bidder": "A", "price_score": None, "total": None, "rank": 2}]
    assert verify(doc).ranking == ("B", "A")
    doc["result"][0]["total"] = "1"
    with pytest.raises(Mismatch) as exc:
        verify(doc)
    assert exc.value.where == "result[0].total"


@given(cases(category=Category.WORKS, base_rules=tuple(BaseRule)))
@settings(max_examples=100)
def test_every_built_document_verifies(case):
    plan, bids, sheets = case
    evaluation = evaluate(plan, bids, sheets, draw=first)
    doc = json.loads(json.dumps(build(evaluation, sheets, [Document("award_notice", "https://x/n.pdf", SHA)])))
    assert verify(doc).ranking == tuple(evaluation.ranking())


def test_cli_verify(tmp_path):
    good = tmp_path / "EVAL.json"
    good.write_text(json.dumps(example_doc()), encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(evaluation_group, ["verify", str(good)], env={"LANG": "C.UTF-8"})
    assert ok.exit_code == 0, ok.output
    assert "OK: 3 of 4 bids recomputed from 27 scores by 3 experts; ranking: Bidder B, Bidder A, Bidder C." in ok.output
    bad_doc = example_doc()
    bad_doc["result"][2]["total"] = "80.00"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_doc), encoding="utf-8")
    out = runner.invoke(evaluation_group, ["verify", str(bad)], env={"LANG": "zh_CN.UTF-8"})
    assert out.exit_code == 1
    assert "不一致：result[2].total 公布为 80.00；由评分表重算为 79.71。" in out.output
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    out = runner.invoke(evaluation_group, ["verify", str(broken)], env={"LANG": "en_GB.UTF-8"})
    assert out.exit_code == 1 and "NOT VERIFIED" in out.output
    floats = tmp_path / "floats.json"
    floats.write_text(json.dumps(example_doc()).replace('"price_weight": "40"', '"price_weight": 40.0'))
    out = runner.invoke(evaluation_group, ["verify", str(floats)], env={"LANG": "C"})
    assert out.exit_code == 1 and "price_weight" in out.output


def test_the_sunbid_command_verifies_with_no_database(tmp_path):
    good = tmp_path / "EVAL.json"
    good.write_text(json.dumps(example_doc()), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "SUNBID_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    done = subprocess.run([sys.executable, "-m", "sunbid.cli", "evaluation", "verify", str(good)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: 3 of 4 bids")


def test_the_worked_example_in_the_docs_recomputes():
    text = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)\n```", text, re.S)
    assert block, "docs/evaluation.md has the example document"
    doc = json.loads(block.group(1))
    assert doc == example_doc()
    assert verify(doc).ranking == ("Bidder B", "Bidder A", "Bidder C")
    rows = re.findall(r"^\| (Bidder [A-D]) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$",
                      text, re.M)
    assert len(rows) == 3
    plan, bids, sheets = worked_example()
    results = {r.bidder: r for r in evaluate(plan, bids, sheets).results}
    for bidder, evaluated, items, price_score, _exact, total, rank in rows:
        r = results[bidder]
        assert D(evaluated.replace(",", "").strip()) == r.evaluated_price
        assert items.strip().startswith(str(D(r.items_score.numerator) / D(r.items_score.denominator))[:6])
        assert price_score.strip() == str(r.price_score)
        assert total.strip() == str(r.total) and int(rank) == r.rank


def test_a_failed_tender_has_no_result_rows():
    plan, bids, _ = worked_example()
    invalid = [Bid(b.bidder, b.price, valid=False, reasons=("Q1: no licence",)) for b in bids]
    doc = build(evaluate(plan, invalid, []), [])
    assert doc["result"] == [] and doc["sheets"] == [] and all(not b["valid"] for b in doc["bids"])
    assert verify(doc).ranking == ()
    doc["result"].append({"bidder": "Bidder A", "price_score": "1.00", "total": "1.00", "rank": 1})
    with pytest.raises(Mismatch) as exc:
        verify(doc)
    assert exc.value.where == "result[0].bidder"
