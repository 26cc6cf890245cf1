"""The documents a tender requires in every bid, as the agency types them (tender.inputs, pure)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from tender.inputs import (DOCUMENT_TYPES, MAX_REQUIRED_DOCUMENTS, RequiredDocumentInput,
                           parse_required_documents)


def test_form_rows_and_api_json_give_the_same_documents():
    form = {"req_name_1": " 投标函 ", "req_types_1": "PDF", "req_mb_1": "10",
            "req_name_2": "技术方案", "req_types_2": ".pdf，docx, pdf", "req_mb_2": "100",
            "req_name_3": "", "req_types_3": "", "req_mb_3": ""}
    api = {"required_documents": [{"name": "投标函", "types": ["pdf"], "max_mb": 10},
                                  {"name": "技术方案", "types": "pdf, docx", "max_mb": 100}]}
    expected = (RequiredDocumentInput("投标函", ("pdf",), 10), RequiredDocumentInput("技术方案", ("pdf", "docx"), 100))
    assert parse_required_documents(form) == parse_required_documents(api) == expected


def test_none_by_default():
    assert parse_required_documents({}) == ()
    assert parse_required_documents({"required_documents": []}) == ()


@pytest.mark.parametrize("row, field", [
    ({"req_types_1": "pdf", "req_mb_1": "5"}, "req_name_1"),  # no name
    ({"req_name_1": "a/b", "req_types_1": "pdf", "req_mb_1": "5"}, "req_name_1"),  # a folder separator
    ({"req_name_1": "a\u202eb", "req_types_1": "pdf", "req_mb_1": "5"}, "req_name_1"),  # a control character
    ({"req_name_1": "..", "req_types_1": "pdf", "req_mb_1": "5"}, "req_name_1"),
    ({"req_name_1": "x" * 101, "req_types_1": "pdf", "req_mb_1": "5"}, "req_name_1"),
    ({"req_name_1": "投标函", "req_types_1": "exe", "req_mb_1": "5"}, "req_types_1"),  # not a document type
    ({"req_name_1": "投标函", "req_types_1": " , ", "req_mb_1": "5"}, "req_types_1"),  # no type
    ({"req_name_1": "投标函", "req_types_1": "pdf", "req_mb_1": "0"}, "req_mb_1"),
    ({"req_name_1": "投标函", "req_types_1": "pdf", "req_mb_1": "1025"}, "req_mb_1"),
    ({"req_name_1": "投标函", "req_types_1": "pdf", "req_mb_1": "2.5"}, "req_mb_1"),
    ({"req_name_1": "投标函", "req_types_1": "pdf"}, "req_mb_1"),  # no limit
    ({"req_name_1": "Letter", "req_types_1": "pdf", "req_mb_1": "5",
      "req_name_2": "LETTER", "req_types_2": "pdf", "req_mb_2": "5"}, "req_name_2"),  # listed twice
])
def test_bad_rows_are_refused_naming_their_field(row, field):
    with pytest.raises(InvalidInput) as caught:
        parse_required_documents(row)
    assert caught.value.field == field


def test_at_most_so_many():
    many = [{"name": f"d{i}", "types": ["pdf"], "max_mb": 1} for i in range(MAX_REQUIRED_DOCUMENTS + 1)]
    with pytest.raises(InvalidInput):
        parse_required_documents({"required_documents": many})


_name = st.text(st.characters(blacklist_categories=("C", "Zl", "Zp"), blacklist_characters='/\\:*?"<>|'),
                min_size=1, max_size=100).filter(lambda s: s.strip() not in ("", ".", ".."))


@given(st.lists(st.tuples(_name, st.lists(st.sampled_from(DOCUMENT_TYPES), min_size=1, max_size=4),
                          st.integers(1, 1024)), max_size=MAX_REQUIRED_DOCUMENTS,
                unique_by=lambda r: r[0].strip().casefold()))
def test_what_is_accepted_comes_back_as_typed(rows):
    got = parse_required_documents({"required_documents": [{"name": n, "types": t, "max_mb": m} for n, t, m in rows]})
    assert [(d.name, d.max_mb) for d in got] == [(n.strip(), m) for n, _t, m in rows]
    for d, (_n, types, _m) in zip(got, rows, strict=True):
        assert d.types == tuple(dict.fromkeys(types))


def test_at_the_opening_a_document_is_there_when_its_folder_holds_a_file():
    from tender.rules import missing_documents

    files = ["投标函/letter.pdf", "Tech Plan/a.docx", "资格证明文件", "other.pdf", "cafe\u0301/x.pdf"]
    assert missing_documents(["投标函", "tech plan", "资格证明文件", "café", "报价单"], files) == ["资格证明文件", "报价单"]
    assert missing_documents([], files) == []
