"""audit.rules: canonical entries, and the encoding an append prepares before it locks the head."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.rules import (GENESIS, SAFEST, ChainBroken, Disclosure, Entry, Subject, disclosed, jsonable, rule_of,
                         verify_chain, withheld)

AT = datetime(2026, 3, 2, 1, 0, 0, 123456, tzinfo=UTC)

keys = st.one_of(st.sampled_from(["prev", "seq", "time", "payload", "a", "é", "😀", "\u00e9x", "\uffff"]),
                 st.text(max_size=6))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**53 + 1, 2**53 - 1),
                    st.text(max_size=30), st.just(',"prev":"","seq":0,"time":'),
                    st.just(',"prev":"","salt":"' + "ab" * 32 + '","seq":0,"time":'))
payloads = st.dictionaries(keys, st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                                              | st.dictionaries(keys, inner, max_size=3), max_leaves=12),
                           max_size=6)


def entry(seq: int, prev: str, payload, **kw) -> Entry:
    base = dict(at=AT, actor_id=7, actor="张三 <agency>", role="agency", address="10.0.0.1",
                action="tender.amended", object_type="tender", object_id="12")
    base.update(kw)
    return Entry(seq=seq, prev_hash=prev, payload=payload, **base)


@settings(deadline=None, max_examples=300)
@given(payloads, st.integers(1, 10**12), st.text("0123456789abcdef", min_size=64, max_size=64),
       st.text(max_size=20))
def test_the_prepared_encoding_filled_in_is_the_canonical_entry(payload, seq, prev, actor):
    slot = entry(0, GENESIS, jsonable(payload), actor=actor).encoder()
    full = entry(seq, prev, payload, actor=actor)
    assert slot.fill(seq, prev) == full.encode() == rfc8785.dumps(full.document())


hexes = st.text("0123456789abcdef", min_size=64, max_size=64)


@settings(deadline=None, max_examples=300)
@given(payloads, st.integers(1, 10**12), hexes, hexes, st.text(max_size=20))
def test_a_salted_entry_prepared_and_filled_in_is_the_canonical_entry(payload, seq, prev, salt, actor):
    slot = entry(0, GENESIS, jsonable(payload), actor=actor, salt=salt).encoder()
    full = entry(seq, prev, payload, actor=actor, salt=salt)
    assert slot.fill(seq, prev) == full.encode() == rfc8785.dumps(full.document())
    doc = full.document()
    assert doc["salt"] == salt and doc["v"] == 2 and full.version == 2


def test_an_entry_written_before_salts_keeps_its_bytes():
    """Version 1 entries (no salt) encode exactly as they always did, so their stored hashes still verify."""
    old = entry(3, GENESIS, {"a": 1})
    assert old.version == 1 and "salt" not in old.document() and "v" not in old.document()
    assert old.encode() == (b'{"action":"tender.amended","actor":{"id":7,"name":"\xe5\xbc\xa0\xe4\xb8\x89 <agency>",'
                            b'"role":"agency"},"address":"10.0.0.1","object":{"id":"12","type":"tender"},'
                            b'"payload":{"a":1},"prev":"' + GENESIS.encode() + b'","seq":3,'
                            b'"time":"2026-03-02T01:00:00.123456Z"}')


def test_the_salt_changes_every_hash_and_must_be_32_bytes_of_hex():
    a, b = entry(1, GENESIS, {"a": 1}, salt="0" * 64), entry(1, GENESIS, {"a": 1}, salt="0" * 63 + "1")
    assert a.hash() != b.hash() != entry(1, GENESIS, {"a": 1}).hash()
    for bad in ("0" * 62, "0" * 66, "A" * 64, "g" * 64):
        with pytest.raises(ValueError):
            entry(1, GENESIS, {}, salt=bad)


def test_a_chain_of_both_versions_verifies():
    first = entry(1, GENESIS, {"a": 1})
    second = entry(2, first.hash(), {"b": 2}, salt="cd" * 32)
    assert verify_chain([(first, first.hash()), (second, second.hash())]) == 2


# ---------------------------------------------------------------- disclosure

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
BEFORE, AFTER = datetime(2026, 3, 10, 1, 59, 59, tzinfo=UTC), datetime(2026, 3, 10, 2, 0, 1, tzinfo=UTC)


def test_public_entries_are_readable_at_once_whatever_the_subject():
    for subject in (None, Subject(), Subject(deadline=AFTER)):
        assert disclosed(Disclosure.PUBLIC, subject, NOW)


def test_supervisor_only_entries_are_never_readable_by_others():
    for subject in (None, Subject(deadline=BEFORE, evaluated_at=BEFORE)):
        assert not disclosed(Disclosure.SUPERVISORS, subject, NOW)


def test_after_the_deadline_means_the_current_deadline_reached():
    rule = Disclosure.AFTER_DEADLINE
    assert not disclosed(rule, Subject(deadline=AFTER), NOW)
    assert disclosed(rule, Subject(deadline=NOW), NOW)  # bids are refused from the deadline instant on
    assert disclosed(rule, Subject(deadline=BEFORE), NOW)
    assert not disclosed(rule, None, NOW) and not disclosed(rule, Subject(), NOW)  # nothing known: withheld


def test_after_the_evaluation_needs_the_evaluation_ended_and_the_deadline_passed():
    rule = Disclosure.AFTER_EVALUATION
    assert not disclosed(rule, Subject(deadline=BEFORE), NOW)  # the deadline alone is not enough
    assert not disclosed(rule, Subject(deadline=BEFORE, evaluated_at=AFTER), NOW)
    assert disclosed(rule, Subject(deadline=BEFORE, evaluated_at=NOW), NOW)
    assert not disclosed(rule, Subject(deadline=AFTER, evaluated_at=BEFORE), NOW)  # inconsistent: withheld


def test_an_unregistered_action_gets_the_safest_rule():
    rules = {"tender.published": Disclosure.PUBLIC}
    assert rule_of(rules, "tender.published") is Disclosure.PUBLIC
    assert rule_of(rules, "bid.submited") is SAFEST is Disclosure.SUPERVISORS


times = st.datetimes(max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@settings(max_examples=200)
@given(st.sampled_from(list(Disclosure)), st.none() | st.builds(Subject, st.none() | times, st.none() | times), times)
def test_nothing_but_public_is_readable_before_the_deadline(rule, subject, now):
    if rule is not Disclosure.PUBLIC and (subject is None or subject.deadline is None or now < subject.deadline):
        assert not disclosed(rule, subject, now)
    if disclosed(rule, subject, now) and rule is not Disclosure.PUBLIC:
        # once readable, readable later too (a disclosure is never taken back by the clock)
        from datetime import timedelta
        assert disclosed(rule, subject, now + timedelta(days=1))


def test_a_withheld_entry_is_its_index_and_leaf_hash_only():
    assert withheld(4, "ab" * 32) == {"index": 4, "leaf_hash": "ab" * 32}


def test_chain_verifies_and_names_the_broken_link():
    first = entry(1, GENESIS, {"a": 1})
    second = entry(2, first.hash(), {"b": [1, 2]})
    assert verify_chain([(first, first.hash()), (second, second.hash())]) == 2
    with pytest.raises(ChainBroken) as err:
        verify_chain([(first, first.hash()), (entry(2, GENESIS, {"b": [1, 2]}), second.hash())])
    assert err.value.params["seq"] == 2


def test_floats_are_refused_in_payloads():
    with pytest.raises(TypeError):
        jsonable({"price": 1.5})


any_text = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["\ue000", "\U0001f600", "\uffff", "\U00010000a", "\x00\x1f\x7f\u2028\"\\", ""])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**60, 2**60) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4), max_leaves=20)


@settings(deadline=None, max_examples=500)
@given(json_values)
def test_canonical_is_rfc8785_on_any_value(value):
    from audit.rules import canonical

    try:
        expected = rfc8785.dumps(value)
    except Exception as exc:  # noqa: BLE001 - e.g. an integer beyond 2**53: canonical must refuse it too
        with pytest.raises(type(exc)):
            canonical(value)
    else:
        assert canonical(value) == expected


def test_canonical_orders_keys_by_utf16_code_units():
    from audit.rules import canonical

    value = {"\ue000": 1, "\U0001f600": 2, "a": 3}  # code point order differs from UTF-16 order here
    assert canonical(value) == rfc8785.dumps(value) == '{"a":3,"😀":2,"\ue000":1}'.encode()


# ---------------------------------------------------------------- subjects


def test_a_subject_is_a_kind_and_an_id_kept_as_text():
    from audit.rules import subject_key

    assert subject_key("tender", 42) == subject_key("tender", "42") == ("tender", "42")
    assert subject_key("bank_statement", "CMB-2026-0001/3") == ("bank_statement", "CMB-2026-0001/3")
    for kind, sid in (("Tender", 1), ("", 1), ("tender", ""), ("tender", " 4"), ("tender", True),
                      ("tender", 1.5), ("tender", "x" * 65), ("tender", "a\nb"), ("tender", None)):
        with pytest.raises(ValueError):
            subject_key(kind, sid)


def test_tender_id_is_shorthand_for_a_tender_subject_and_an_object_names_its_own_subject():
    from audit.rules import BadSubject, entry_subject

    assert entry_subject(None, 12, object_type="bid", object_id="k3") == ("tender", "12")
    assert entry_subject(("tender", 12), 12, object_type="bid", object_id="k3") == ("tender", "12")
    assert entry_subject(("example", 7), None, object_type="example_note", object_id="3") == ("example", "7")
    assert entry_subject(None, None, object_type="user", object_id="3") is None
    assert entry_subject(("tender", 12), None, object_type="tender", object_id="12") == ("tender", "12")
    with pytest.raises(BadSubject, match="disagree"):
        entry_subject(("tender", 12), 13, object_type="bid", object_id="k3")
    with pytest.raises(BadSubject, match="about tender 12 is filed under tender 13"):
        entry_subject(None, 13, object_type="tender", object_id="12")  # the hashed object says otherwise
