"""core.money.capital_yuan: amounts in Chinese capital numerals (人民币大写), by the People's Bank of China's rules.
(static/js/bid-seal.js writes the same; tests/e2e/test_browser_seal_library.py compares the two in a browser.)"""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import CAPITAL_LIMIT, InvalidAmount, capital_yuan

DIGITS = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
UNITS = {"拾": 10, "佰": 100, "仟": 1000}


@pytest.mark.parametrize("amount, words", [
    ("12345678.90", "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角整"),
    # the examples of 支付结算办法 附件一 (正确填写票据和结算凭证的基本规定), with 整 after 角
    ("1409.50", "壹仟肆佰零玖元伍角整"),
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
    ("107000.53", "壹拾万柒仟元零伍角叁分"),
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("0", "零元整"),
    ("0.01", "壹分"),
    ("0.5", "伍角整"),
    ("0.56", "伍角陆分"),
    ("0.06", "陆分"),
    ("1", "壹元整"),
    ("10", "壹拾元整"),
    ("15", "壹拾伍元整"),
    ("10.50", "壹拾元零伍角整"),
    ("101", "壹佰零壹元整"),
    ("110", "壹佰壹拾元整"),
    ("1001", "壹仟零壹元整"),
    ("1010", "壹仟零壹拾元整"),
    ("10000", "壹万元整"),
    ("100500", "壹拾万零伍佰元整"),
    ("100050", "壹拾万零伍拾元整"),
    ("1050000", "壹佰零伍万元整"),
    ("100000001", "壹亿零壹元整"),
    ("110000000", "壹亿壹仟万元整"),
    ("101000000", "壹亿零壹佰万元整"),
    ("1000100000000", "壹万零壹亿元整"),
    ("1000000000000", "壹万亿元整"),
    ("10000000000000", "壹拾万亿元整"),
    ("9999999999999999.99", "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
])
def test_capital_yuan(amount, words):
    assert capital_yuan(Decimal(amount)) == words


@pytest.mark.parametrize("amount", ["-0.01", "-5", "0.001", "10000000000000000", "NaN", "Infinity"])
def test_capital_yuan_refuses(amount):
    with pytest.raises(InvalidAmount):
        capital_yuan(Decimal(amount))


def test_capital_yuan_takes_decimals_only():
    with pytest.raises(InvalidAmount):
        capital_yuan(12.5)  # type: ignore[arg-type]


def read_capital(words: str) -> Decimal:
    """An independent reader of capital numerals (the inverse the rules imply), for the round trip."""
    whole, _, rest = words.partition("元") if "元" in words else ("", "", words)
    total = section = number = 0
    for c in whole:
        if c in DIGITS:
            number = DIGITS[c]
        elif c in UNITS:
            assert number, f"{c} without a digit before it in {words}"
            section, number = section + number * UNITS[c], 0
        elif c == "万":
            section, number = (section + number) * 10**4, 0
        elif c == "亿":
            total, section, number = (total + section + number) * 10**8, 0, 0
        else:
            raise AssertionError(f"unexpected {c} in {words}")
    fen = (total + section + number) * 100
    rest = rest.removesuffix("整").removeprefix("零")
    for digit, unit in zip(rest[::2], rest[1::2], strict=True):
        fen += DIGITS[digit] * {"角": 10, "分": 1}[unit]
    return Decimal(fen).scaleb(-2)


def zero_heavy():
    """Amounts in fen whose digits are mostly zeros, where the rules for 零 matter."""
    return st.lists(st.sampled_from("000001234567890"), min_size=1, max_size=18).map(lambda ds: int("".join(ds)))


@given(st.one_of(st.integers(0, 10**18 - 1), zero_heavy()))
def test_capital_yuan_reads_back(fen):
    amount = Decimal(fen).scaleb(-2)
    words = capital_yuan(amount)
    assert read_capital(words) == amount
    assert "零零" not in words and "零元" not in words[1:] and not words.endswith("零")
    assert words == "零元整" or not words.startswith("零")
    assert words.endswith("整") == (fen % 10 == 0)
    assert all(words[i - 1] in DIGITS for i, c in enumerate(words) if c in UNITS)  # 壹拾, never 拾 alone
    assert ("元" in words) == (fen >= 100 or fen == 0)


def test_the_limit():
    assert capital_yuan(CAPITAL_LIMIT - Decimal("0.01")).startswith("玖仟")
