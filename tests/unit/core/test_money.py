"""core.money: parsing, yuan/fen conversion, rounding and display of amounts."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import (
    CENT,
    MAX_YUAN,
    InvalidAmount,
    floor_fen,
    format_fen,
    format_yuan,
    from_fen,
    parse_money,
    round_fen,
    to_fen,
)


@pytest.mark.parametrize("text, value", [
    ("1234", "1234.00"),
    ("1,234.50", "1234.50"),
    ("1,234,567.89", "1234567.89"),
    ("0", "0.00"),
    ("0.5", "0.50"),
    ("  42.1 ", "42.10"),
    ("¥1,000", "1000.00"),
    ("￥1,000.00", "1000.00"),
    ("１２３", "123.00"),
    ("１，２３４．５", "1234.50"),
    ("+7", "7.00"),
    ("-0", "0.00"),
    ("10000000000000", "10000000000000.00"),
    ("10,000,000,000,000.00", "10000000000000.00"),
])
def test_parse_money_accepts(text, value):
    result = parse_money(text, field="price")
    assert result == Decimal(value) and result.as_tuple().exponent == -2


@pytest.mark.parametrize("text, reason", [
    ("", "Enter an amount"),
    ("   ", "Enter an amount"),
    ("abc", "number"),
    ("NaN", "number"),
    ("Infinity", "number"),
    ("-inf", "number"),
    ("1e5", "number"),
    ("12,34", "number"),
    ("1,2345", "number"),
    ("1.", "number"),
    (".5", "number"),
    ("1 000", "number"),
    ("٣", "number"),  # Arabic-Indic digit
    ("-1", "negative"),
    ("-0.01", "negative"),
    ("1.001", "two decimal"),
    ("1.000", "two decimal"),
    ("10000000000000.01", "too large"),
    ("99999999999999", "too large"),
])
def test_parse_money_refuses(text, reason):
    with pytest.raises(InvalidAmount) as e:
        parse_money(text, field="price")
    assert e.value.code == "invalid_amount" and e.value.field == "price"
    assert reason in str(e.value)


def test_fen_conversions():
    assert to_fen(Decimal("1234.56")) == 123456
    assert to_fen(Decimal("1.5")) == 150
    assert to_fen(Decimal("0")) == 0
    assert to_fen(Decimal("-3.10")) == -310
    assert from_fen(123456) == Decimal("1234.56") and str(from_fen(100)) == "1.00"
    assert str(from_fen(-5)) == "-0.05"
    for bad in ("0.001", "1.005", "NaN", "Infinity"):
        with pytest.raises(InvalidAmount):
            to_fen(Decimal(bad))


def test_format_yuan():
    assert format_yuan(Decimal("1234567.89")) == "¥1,234,567.89"
    assert format_yuan(Decimal("0")) == "¥0.00"
    assert format_yuan(Decimal("5")) == "¥5.00"
    assert format_yuan(Decimal("-12.5")) == "-¥12.50"


fens = st.integers(min_value=0, max_value=10**15)


@given(fens)
def test_money_round_trips(fen):
    amount = from_fen(fen)
    assert to_fen(amount) == fen
    assert parse_money(str(amount), field="x") == amount
    assert parse_money(format_yuan(amount), field="x") == amount


def test_to_fen_refuses_what_is_not_a_decimal():
    for bad in (1.5, "1.50", None):
        with pytest.raises(InvalidAmount):
            to_fen(bad)  # type: ignore[arg-type]


def test_rounding_rule_is_half_up():
    assert round_fen(Decimal("2.005")) == Decimal("2.01")
    assert round_fen(Decimal("2.004999")) == Decimal("2.00")
    assert round_fen(Decimal("2.015")) == Decimal("2.02")  # not to even
    assert round_fen(Decimal("-2.005")) == Decimal("-2.01")  # away from zero, as people round
    assert round_fen(Decimal("7")).as_tuple().exponent == -2


def test_floor_fen_never_rounds_up():
    assert floor_fen(Decimal("2.0198")) == Decimal("2.01")
    assert floor_fen(Decimal("2.01")) == Decimal("2.01")


def test_format_fen():
    assert format_fen(None) == ""
    assert format_fen(0) == "¥0.00"
    assert format_fen(123456789) == "¥1,234,567.89"
    assert format_fen(5, "USD") == "USD 0.05"
    assert format_fen(-1250) == "-¥12.50"
    assert format_fen(123456789, "EUR") == "EUR 1,234,567.89"


amounts = st.decimals(min_value=-MAX_YUAN, max_value=MAX_YUAN, places=6, allow_nan=False, allow_infinity=False)


@given(amounts)
def test_rounding_is_to_the_nearest_fen(amount):
    rounded, floored = round_fen(amount), floor_fen(amount)
    assert rounded == rounded.quantize(CENT) and floored == floored.quantize(CENT)
    assert abs(rounded - amount) <= CENT / 2
    assert abs(floored) <= abs(amount) < abs(floored) + CENT
    if abs(rounded - amount) == CENT / 2:  # a tie goes away from zero
        assert abs(rounded) > abs(amount)
    assert to_fen(rounded) == int(rounded * 100)


@given(fens)
def test_format_fen_reads_back(fen):
    shown = format_fen(fen)
    assert shown == format_yuan(from_fen(fen))
    assert parse_money(shown, field="x") == from_fen(fen)
    assert format_fen(fen, "USD") == "USD " + shown.removeprefix("¥")


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_fen_round_trip_both_signs(fen):
    assert to_fen(from_fen(fen)) == fen
    assert from_fen(fen).as_tuple().exponent == -2
