"""Storage quotas and abandoned uploads: the pure rules (tender/rules.py)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from tender.rules import (MB, Quota, QuotaExceeded, TenderQuotaExceeded, Usage, check_quota, is_abandoned,
                          quota_room, upload_expires)

sizes = st.integers(min_value=1, max_value=10 * 1024 * MB)  # an empty bid is refused before any quota


@st.composite
def quotas_and_usage(draw):
    bidder = draw(st.integers(min_value=1, max_value=4096)) * MB
    tender = bidder + draw(st.integers(min_value=0, max_value=4096)) * MB
    used_bidder = draw(st.integers(min_value=0, max_value=bidder + MB))
    used_tender = used_bidder + draw(st.integers(min_value=0, max_value=tender))
    return Quota(bidder, tender), Usage(used_bidder, used_tender)


@given(quotas_and_usage(), sizes)
def test_a_bid_fits_exactly_when_it_is_within_the_room(qu, size):
    quota, used = qu
    room = quota_room(quota, used)
    assert room >= 0
    if size <= room:
        check_quota(quota, used, size)
    else:
        with pytest.raises(QuotaExceeded) as refused:
            check_quota(quota, used, size)
        bidder_over = used.bidder + size > quota.bidder
        assert isinstance(refused.value, TenderQuotaExceeded) is (not bidder_over)
        assert refused.value.status == 413 and isinstance(refused.value, InvalidInput)


def test_the_message_shows_megabytes():
    with pytest.raises(QuotaExceeded) as refused:
        check_quota(Quota(4096 * MB, 51200 * MB), Usage(4000 * MB, 4000 * MB), 200 * MB)
    assert refused.value.params == {"limit_mb": "4096", "used_mb": "4000", "size_mb": "200"}
    with pytest.raises(TenderQuotaExceeded) as refused:
        check_quota(Quota(2 * MB, 2 * MB), Usage(0, MB - 100), 3 * MB // 2)
    assert refused.value.params["used_mb"] == "1.0" and refused.value.params["size_mb"] == "1.5"
    with pytest.raises(QuotaExceeded) as refused:  # a few bytes in use are never shown as 0 MB
        check_quota(Quota(MB, MB), Usage(10, 10), MB)
    assert refused.value.params["used_mb"] == "0.1"


def test_the_rush_fits_the_default_quotas():
    """300 bidders × 5 MB (benchmarks/bench_rush.py), each sending its bid twice, fit the defaults."""
    from core.config import Settings

    defaults = Settings(database_url="sqlite://")
    quota = Quota(defaults.bidder_quota_mb * MB, defaults.tender_quota_mb * MB)
    check_quota(quota, Usage(5 * MB, 599 * 5 * MB), 5 * MB)
    assert defaults.bidder_quota_mb >= 2 * defaults.bid_limit_mb  # a largest bid can be sent again


T = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@given(st.integers(min_value=1, max_value=1440), st.integers(min_value=0, max_value=3 * 86400))
def test_an_upload_is_abandoned_from_its_expiry_on(minutes, seconds):
    idle = timedelta(minutes=minutes)
    now = T + timedelta(seconds=seconds)
    assert upload_expires(T, idle) == T + idle
    assert is_abandoned(T, idle, now) is (now >= T + idle)


def test_naive_times_are_refused():
    with pytest.raises(InvalidInput):
        is_abandoned(T.replace(tzinfo=None), timedelta(minutes=15), T)
