"""audit.rules: canonical entries, and the encoding an append prepares before it locks the head."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.rules import GENESIS, ChainBroken, Entry, jsonable, verify_chain

AT = datetime(2026, 3, 2, 1, 0, 0, 123456, tzinfo=UTC)

keys = st.one_of(st.sampled_from(["prev", "seq", "time", "payload", "a", "é", "😀", "\u00e9x", "\uffff"]),
                 st.text(max_size=6))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**53 + 1, 2**53 - 1),
                    st.text(max_size=30), st.just(',"prev":"","seq":0,"time":'))
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
