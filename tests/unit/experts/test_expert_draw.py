"""experts.draw: the sunbid-draw-v1 engine, its document, the verifier, and the worked example of
docs/expert-draw.md (the numbers there are recomputed here, so the doc and the code cannot drift apart)."""
from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import notes
from audit.rules import canonical
from experts.draw import (
    FIELDS, Pick, ShortSpecialty, build_document, initial_draw, next_in_walk, rank, rank_key, rankings,
    request_hash, seed_of, verify_draw,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "expert-draw.md"


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def documented_example() -> dict:
    match = re.search(r"```json\n(.*?)\n```", doc_text(), re.S)
    assert match, "docs/expert-draw.md has no example document"
    return json.loads(match.group(1))


# The inputs of the worked example, as the doc states them in prose.
SIGNER = notes.Signer("sunbid.example/log", bytes(32))
ROOT = hashlib.sha256(b"an example tree").digest()
NOTE = notes.sign_checkpoint(notes.Checkpoint("sunbid.example/log", 12, ROOT), SIGNER)
SECRET = bytes(range(1, 33))
CONTRIBUTION = bytes([0xAA] * 32)


def example_inputs(doc: dict) -> dict:
    return dict(request=doc["request"], secret=SECRET, contributions=[("supervisor:S01", CONTRIBUTION)],
                commitment_indexes=[7, 9], checkpoint_note=NOTE, eligible=doc["eligible"],
                excluded=doc["excluded"],
                drawn=[(Pick(d["expert"], d["specialty"], d["rank"]), d["status"]) for d in doc["drawn"]])


def test_the_documented_example_is_what_the_code_computes():
    doc = documented_example()
    assert build_document(**example_inputs(doc)) == doc
    assert verify_draw(doc) is None


def test_the_documented_numbers_are_recomputed():
    text = doc_text()
    doc = documented_example()
    req_hash = request_hash(doc["request"])
    seed = seed_of(req_hash, ROOT, SECRET, [CONTRIBUTION])
    assert f"request_hash = `{req_hash.hex()}`" in text
    assert f"seed = `{seed.hex()}`" in text
    assert canonical(doc["request"]).decode() in text
    rows = dict(re.findall(r"^\| (E\d{6}) \| ([0-9a-f]{64}) \|$", text, re.M))
    assert len(rows) == 7
    for expert, key in rows.items():
        assert rank_key(seed, expert).hex() == key
    assert "bridges ranking is E000104, E000101, E000103, E000105, E000102" in text
    assert rank(seed, doc["eligible"]["works.civil.bridges"]) == ["E000104", "E000101", "E000103", "E000105",
                                                                  "E000102"]


def test_the_seed_is_the_documented_concatenation():
    req_hash, root, secret = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    contributions = [b"\x04" * 32, b"\x05" * 32]
    expected = hashlib.sha256(b"sunbid-draw-v1" + req_hash + root + secret + b"".join(contributions)).digest()
    assert seed_of(req_hash, root, secret, contributions) == expected
    assert seed_of(req_hash, root, secret, contributions[::-1]) != expected  # commitment order counts


def test_request_hash_is_of_rfc8785_canonical_json():
    a = {"specialties": [{"count": 1, "code": "works"}], "z": 1.5, "a": "é"}
    b = {"a": "é", "z": 1.5, "specialties": [{"code": "works", "count": 1}]}
    assert request_hash(a) == request_hash(b)
    assert request_hash(a) == hashlib.sha256('{"a":"é","specialties":[{"code":"works","count":1}],"z":1.5}'
                                             .encode()).digest()


def test_a_short_specialty_is_refused_naming_it():
    ranking = {"a": ["E000001", "E000002"], "b": ["E000001", "E000002", "E000003"]}
    with pytest.raises(ShortSpecialty) as exc:
        initial_draw([{"code": "a", "count": 2}, {"code": "b", "count": 2}], ranking)
    assert "b" in str(exc.value) and exc.value.params["found"] == 1


pseudonyms = st.integers(1, 60).map(lambda n: f"E{n:06d}")


@settings(max_examples=60)
@given(st.binary(min_size=32, max_size=32),
       st.lists(st.tuples(st.sets(pseudonyms, min_size=1, max_size=15), st.integers(1, 4)), min_size=1, max_size=3),
       st.lists(st.sampled_from(["confirmed", "declined", "missed", "notified"]), max_size=12))
def test_draws_are_deterministic_disjoint_and_verify(secret, pools, outcomes):
    eligible = {f"s{i}": sorted(pool) for i, (pool, _) in enumerate(pools)}
    specialties = [{"code": f"s{i}", "count": count} for i, (_, count) in enumerate(pools)]
    seed = seed_of(request_hash({"specialties": specialties}), ROOT, secret, [])
    ranking = rankings(seed, eligible)
    assert ranking == rankings(seed, {k: v[::-1] for k, v in eligible.items()})  # input order does not matter
    try:
        drawn = initial_draw(specialties, ranking)
    except ShortSpecialty:
        return
    assert len({p.expert for p in drawn}) == len(drawn)
    for p in drawn:
        assert ranking[p.specialty][p.rank - 1] == p.expert
    statuses = ["notified"] * len(drawn)
    for i, outcome in enumerate(outcomes[:len(drawn)]):  # replace declines and misses as they come
        statuses[i] = outcome
        if outcome in ("declined", "missed"):
            nxt = next_in_walk(drawn[i].specialty, ranking, drawn)
            if nxt is not None:
                drawn.append(nxt)
                statuses.append("notified")
    assert len({p.expert for p in drawn}) == len(drawn)
    doc = build_document(request={"specialties": specialties}, secret=secret, contributions=[],
                         commitment_indexes=[3], checkpoint_note=NOTE, eligible=eligible, excluded=[],
                         drawn=list(zip(drawn, statuses)))
    assert verify_draw(doc) is None


# --------------------------------------------------------------------------- altering any field


def _set(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


OTHER_HEX = "ab" * 32
ALTERATIONS = [
    ("version", ("version",), "sunbid-draw-v2"),
    ("request", ("request", "reserves"), 3),
    ("request", ("request", "specialties", 0, "count"), 1),
    ("request_hash", ("request_hash",), OTHER_HEX),
    ("secret", ("secret",), OTHER_HEX),
    ("commitment", ("commitment",), OTHER_HEX),
    ("contributions", ("contributions", 0, "value"), OTHER_HEX),
    ("contributions", ("contributions", 0, "commitment"), OTHER_HEX),
    ("commitment_indexes", ("commitment_indexes",), [9, 7]),
    ("commitment_indexes", ("commitment_indexes",), [7, 12]),
    ("checkpoint", ("checkpoint", "size"), 13),
    ("checkpoint", ("checkpoint", "root"), notes.b64encode(b"\x00" * 32)),
    ("checkpoint", ("checkpoint", "note"), "not a checkpoint"),
    ("seed", ("seed",), OTHER_HEX),
    ("eligible", ("eligible", "works.civil", 6), "E000299"),
    ("eligible", ("eligible", "works.civil", 0), "E000106"),
    ("excluded", ("excluded", 0, "reasons"), ["bribed"]),
    ("excluded", ("excluded", 0, "expert"), "E000201"),
    ("ranking", ("ranking", "works.civil.bridges", 0), "E000101"),
    ("ranking", ("ranking", "works.civil"), ["E000101", "E000104", "E000201", "E000202", "E000103", "E000105",
                                             "E000102"]),
    ("drawn", ("drawn", 0, "expert"), "E000103"),
    ("drawn", ("drawn", 1, "status"), "confirmed"),
    ("drawn", ("drawn", 2, "rank"), 4),
    ("drawn", ("drawn", 3, "expert"), "E000105"),
    ("drawn", ("drawn", 0, "status"), "accepted"),
]


@pytest.mark.parametrize("field, path, value", ALTERATIONS, ids=[f"{a[0]}:{'.'.join(map(str, a[1]))}"
                                                                  for a in ALTERATIONS])
def test_altering_a_field_is_named(field, path, value):
    doc = documented_example()
    _set(doc, path, value)
    mismatch = verify_draw(doc)
    assert mismatch is not None and mismatch.field == field, mismatch


def test_every_field_has_an_alteration_and_a_missing_field_is_named():
    assert {a[0] for a in ALTERATIONS} == set(FIELDS)
    for name in FIELDS:
        doc = documented_example()
        del doc[name]
        assert verify_draw(doc).field == name
    doc = documented_example()
    doc["extra"] = 1
    assert verify_draw(doc).field == "extra"
    assert verify_draw([]).field == "version"


def test_a_dropped_replacement_and_an_extra_one_are_caught():
    doc = documented_example()
    doc["drawn"].append({"expert": "E000105", "specialty": "works.civil.bridges", "rank": 4, "status": "notified"})
    assert verify_draw(doc).field == "drawn"
    doc = documented_example()
    doc["drawn"][3]["status"] = "declined"
    assert verify_draw(doc) is None  # a second decline, not yet replaced, is a valid state
    doc["drawn"].append({"expert": "E000105", "specialty": "works.civil.bridges", "rank": 4, "status": "notified"})
    assert verify_draw(doc) is None


def test_the_document_has_exactly_the_published_fields():
    doc = documented_example()
    assert list(doc) == list(FIELDS)
    assert doc["checkpoint"]["note"] == NOTE
    assert copy.deepcopy(doc) == doc
