"""core.rules: unified social credit codes, aware UTC times."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import rules
from core.errors import InvalidInput
from core.rules import (
    CREDIT_CODE_ALPHABET,
    InvalidCreditCode,
    credit_code_check_char,
    make_credit_code,
    validate_credit_code,
)

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

# ------------------------------------------------------------------ credit codes

# Published codes (business licences / 国家企业信用信息公示系统); each passes GB 32100-2015.
REAL_CODES = [
    "91350100M000100Y43",
    "91110000802100433B",
    "914403001922038216",  # Huawei Technologies Co., Ltd.
    "9144030071526726XG",  # Shenzhen Tencent Computer Systems Co., Ltd.
]


def test_alphabet_and_weights():
    assert len(CREDIT_CODE_ALPHABET) == 31
    assert not set("IOSVZ") & set(CREDIT_CODE_ALPHABET)
    assert rules.CREDIT_CODE_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_pass(code):
    assert validate_credit_code(code) == code
    assert credit_code_check_char(code[:17]) == code[17]
    assert make_credit_code(code[:17]) == code


def test_normalises_whitespace_case_and_full_width():
    assert validate_credit_code("  9144030071526726xg\n") == "9144030071526726XG"
    assert validate_credit_code("９１１１００００８０２１００４３３Ｂ") == "91110000802100433B"


@pytest.mark.parametrize("code", ["", "9144030071526726X", "9144030071526726XGG", "91440300 71526726XG"])
def test_wrong_length(code):
    with pytest.raises(InvalidCreditCode) as e:
        validate_credit_code(code)
    assert e.value.code == "invalid_credit_code" and e.value.field == "credit_code" and e.value.status == 400
    assert "18 characters" in str(e.value)


@pytest.mark.parametrize("bad", ["I", "O", "S", "V", "Z", "-", "中"])
def test_bad_characters(bad):
    with pytest.raises(InvalidCreditCode) as e:
        validate_credit_code("9144030071526726X" + bad)
    assert bad.upper() in e.value.params["chars"]


def test_wrong_check_char():
    with pytest.raises(InvalidCreditCode) as e:
        validate_credit_code("9144030071526726XD")
    assert "check character" in str(e.value)
    assert isinstance(e.value, InvalidInput)


def test_body_length_checked():
    with pytest.raises(InvalidCreditCode):
        make_credit_code("9135020000000001")


bodies = st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=17, max_size=17)


@given(bodies)
def test_made_codes_validate(body):
    code = make_credit_code(body)
    assert len(code) == 18 and validate_credit_code(code) == code


@given(bodies, st.integers(0, 17), st.integers(1, 30))
def test_any_single_change_invalidates(body, position, shift):
    code = make_credit_code(body)
    changed = CREDIT_CODE_ALPHABET[(CREDIT_CODE_ALPHABET.index(code[position]) + shift) % 31]
    with pytest.raises(InvalidCreditCode):
        validate_credit_code(code[:position] + changed + code[position + 1:])


# ------------------------------------------------------------------ times

def test_format_utc_converts():
    assert rules.format_utc(datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))) == "2026-03-02 01:00 UTC"


def test_require_aware():
    assert rules.require_aware(NOW, "x") is NOW
    with pytest.raises(InvalidInput) as e:
        rules.require_aware(datetime(2026, 1, 1), "deadline")
    assert e.value.field == "deadline"
