"""Scoring and ranking a large evaluation vs. the same computation in floats, in a plain loop.

    uv run python benchmarks/bench_evaluation.py [--bids 300] [--experts 9] [--items 40] [--runs 11]

Builds one comprehensive-scoring lot (goods, price weight 40, ``--items`` items of 1.5 points, every fourth
objective, the small-enterprise deduction for a third of the bidders) with ``--bids`` valid bids and
``--experts`` experts' score sheets (subjective scores near a quality drawn per bid, a few of them outliers),
then times, as the median of ``--runs`` runs:

1. ``evaluation.rules.evaluate``: every score checked, objective agreement, evaluated and base prices, exact
   committee scores, price scores and totals (Decimal and Fraction, rounded once), the ranking, outlier and
   abnormally-low flags.  Goal: < 200 ms for 300 bids × 9 experts × 40 items.
2. Baseline in the same run: the same means, price scores, totals and sort in binary floats in a plain loop,
   no checks, no flags (what a spreadsheet does).  The ratio is Sunbid / baseline.
3. Also printed: ``evaluation.document.build`` and ``verify`` (the JSON document of that evaluation, recomputed
   from its rows as ``sunbid evaluation verify`` does, after a JSON round trip) and the ranking of the float
   baseline compared with Sunbid's.

Nothing here is a timed test; it prints figures.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluation.document import build, verify  # noqa: E402
from evaluation.rules import (  # noqa: E402
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


def setup(n_bids: int, n_experts: int, n_items: int, seed: int = 15):
    rnd = random.Random(seed)
    item_max = Decimal("1.5")
    items = tuple(ScoredItem(f"I{i:02d}", item_max, ItemKind.OBJECTIVE if i % 4 == 0 else ItemKind.SUBJECTIVE)
                  for i in range(n_items))
    weight = Decimal(100) - item_max * n_items
    plan = Plan(Method.COMPREHENSIVE, Category.GOODS if weight >= 30 else Category.WORKS, items=items,
                price_weight=weight, deductions=(small_enterprise_deduction("0.10"),))
    bids = [Bid(f"bidder{b:03d}", Decimal(rnd.randint(800_000_00, 1_200_000_00)).scaleb(-2),
                policies=frozenset({"small_enterprise"}) if b % 3 == 0 else frozenset()) for b in range(n_bids)]
    marks: dict[tuple[int, str, str], int] = {}
    top = int(item_max * 10)
    for bid in bids:
        quality = rnd.uniform(0.5, 0.9)
        for item in items:
            common = rnd.randint(0, top)
            for e in range(n_experts):
                marks[(e, bid.bidder, item.code)] = common if item.kind == ItemKind.OBJECTIVE else \
                    min(top, max(0, round(quality * top) + rnd.randint(-2, 2)))
    # the sheets as the committee submits them, expert by expert (as they would be read back, in that order)
    sheets = [Score(f"expert-{e}", bidder, item, Decimal(tenths).scaleb(-1))
              for (e, bidder, item), tenths in sorted(marks.items())]
    return plan, bids, sheets


def float_baseline(plan, bids, sheets):
    """Means, price scores, totals and the sort in floats: no checks, no exactness, no flags."""
    rate = float(plan.deductions[0].rate)
    evaluated = {b.bidder: float(b.price) * (1 - rate) if b.policies else float(b.price) for b in bids}
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for s in sheets:
        sums[s.bidder] = sums.get(s.bidder, 0.0) + float(s.score)
        counts[s.bidder] = counts.get(s.bidder, 0) + 1
    n_items = len(plan.items)
    base = min(evaluated.values())
    weight = float(plan.price_weight)
    totals = {}
    for b in bids:
        items = sums[b.bidder] / (counts[b.bidder] / n_items)
        totals[b.bidder] = round(items + base / evaluated[b.bidder] * weight, 2)
    prices = {b.bidder: float(b.price) for b in bids}
    return sorted(totals, key=lambda k: (-totals[k], prices[k]))


FASTEST: dict[str, float] = {}


def timed(fn, runs: int, name: str = ""):
    """The median of ``runs`` runs (the fastest kept in FASTEST, for a machine other work shares)."""
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    FASTEST[name] = min(times)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bids", type=int, default=300)
    ap.add_argument("--experts", type=int, default=9)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    plan, bids, sheets = setup(args.bids, args.experts, args.items)
    draw = tuple  # ties (rare here) in the order of the bidders' names: a stand-in for the recorded draw
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"== evaluation: {args.bids} bids x {args.experts} experts x {args.items} items = {len(sheets)} scores; "
          f"medians of {args.runs} runs", flush=True)
    sunbid_s, ev = timed(lambda: evaluate(plan, bids, sheets, draw=draw), args.runs, "sunbid")
    float_s, float_rank = timed(lambda: float_baseline(plan, bids, sheets), args.runs, "float")
    build_s, doc = timed(lambda: build(ev, sheets), max(1, args.runs // 2))
    text = json.dumps(doc)
    verify_s, report = timed(lambda: verify(json.loads(text)), max(1, args.runs // 2))
    same = float_rank == ev.ranking()
    first_diff = next((n for n, (a, b) in enumerate(zip(float_rank, ev.ranking())) if a != b), None)
    ratio = sunbid_s / float_s
    print(f"floats, plain loop (baseline):           {1000 * float_s:8.1f} ms   (fastest {1000 * FASTEST['float']:.1f})")
    print(f"Sunbid evaluate (exact, checked, flags): {1000 * sunbid_s:8.1f} ms   (fastest {1000 * FASTEST['sunbid']:.1f}; "
          f"{len(ev.outliers)} outlier scores, {len(ev.abnormally_low)} abnormally low, {len(ev.ties)} ties)")
    print(f"ratio Sunbid/floats: {ratio:.1f}")
    print(f"result document: build {1000 * build_s:.0f} ms, {len(text) / 1e6:.1f} MB of JSON; "
          f"verify (after json.loads) {1000 * verify_s:.0f} ms, {report.scores} scores, ranking matches: "
          f"{'yes' if report.ranking == tuple(ev.ranking()) else 'NO'}")
    print("float ranking equals the exact one: " + ("yes" if same else f"no (first difference at rank {first_diff + 1})"))
    print("== SUMMARY")
    print(f"evaluate {args.bids} x {args.experts} x {args.items}: {1000 * sunbid_s:.0f} ms vs floats "
          f"{1000 * float_s:.0f} ms, ratio {ratio:.1f} (goal < 200 ms: {'OK' if sunbid_s < 0.2 else 'MISSED'})")


if __name__ == "__main__":
    main()
