"""tender.rules: settings, deposit cap, schedule, amendments, lifecycle, documents."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput, InvalidTransition
from core.money import InvalidAmount, from_fen
from tender.rules import (
    OpeningNotDue,
    decryption_failure_kind,
    opening_outcome,
    check_can_open,
    ALLOWED_DOCUMENT_TYPES,
    AlreadyPublished,
    DateInPast,
    DeadlineTooSoon,
    DepositOverCap,
    DownloadClosed,
    DownloadNotOpen,
    DownloadWindowTooShort,
    EmptyFile,
    InvalidFileName,
    InvalidSchedule,
    InvalidSettings,
    RuleSettings,
    Schedule,
    Status,
    TenderFacts,
    UnsupportedFileType,
    amended_deadline,
    check_can_amend,
    check_can_answer,
    check_can_ask,
    check_can_cancel,
    check_can_download,
    check_can_edit,
    check_can_publish,
    check_deposit,
    check_document,
    check_draft_schedule,
    check_schedule,
    check_settings,
    deposit_cap,
    derive_status,
    downloaders_visible,
    safe_filename,
    settings_from_dict,
    settings_to_dict,
)

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SEC = timedelta(seconds=1)
US = timedelta(microseconds=1)
LEGAL = RuleSettings()

# ------------------------------------------------------------------ settings


def test_legal_defaults():
    assert (LEGAL.min_issue_days, LEGAL.min_download_days, LEGAL.amendment_notice_days) == (20, 5, 15)
    assert LEGAL.deposit_cap_percent == Decimal("2") and LEGAL.min_bids == 3 and LEGAL.accelerator == 1
    assert LEGAL.period(20) == timedelta(days=20)
    check_settings(LEGAL)


def test_accelerator_divides_periods():
    fast = RuleSettings(accelerator=1440)  # one day becomes one minute
    assert fast.period(20) == timedelta(minutes=20)
    assert fast.period(0) == timedelta(0)
    assert RuleSettings(accelerator=7).period(1) == timedelta(days=1) / 7


@pytest.mark.parametrize("change, field", [
    ({"min_issue_days": -1}, "min_issue_days"),
    ({"min_download_days": 2.5}, "min_download_days"),
    ({"amendment_notice_days": True}, "amendment_notice_days"),
    ({"min_issue_days": 100000}, "min_issue_days"),
    ({"accelerator": 0}, "accelerator"),
    ({"accelerator": 1.5}, "accelerator"),
    ({"deposit_cap_percent": Decimal("-0.01")}, "deposit_cap_percent"),
    ({"deposit_cap_percent": Decimal("100.01")}, "deposit_cap_percent"),
    ({"deposit_cap_percent": Decimal("NaN")}, "deposit_cap_percent"),
    ({"deposit_cap_percent": 2.0}, "deposit_cap_percent"),
    ({"min_bids": 0}, "min_bids"),
])
def test_bad_settings(change, field):
    with pytest.raises(InvalidSettings) as e:
        check_settings(replace(LEGAL, **change))
    assert e.value.field == field and e.value.code == "invalid_settings"
    assert isinstance(e.value, InvalidInput)


def test_extreme_but_valid_settings():
    check_settings(RuleSettings(min_issue_days=0, min_download_days=0, amendment_notice_days=0,
                                deposit_cap_percent=Decimal("0"), min_bids=1, accelerator=100000))
    check_settings(RuleSettings(deposit_cap_percent=Decimal("100")))


def test_settings_dict_round_trip():
    s = RuleSettings(min_issue_days=10, deposit_cap_percent=Decimal("1.5"), min_bids=5, accelerator=60)
    d = settings_to_dict(s)
    assert d["deposit_cap_percent"] == "1.5" and d["accelerator"] == 60
    assert settings_from_dict(json.loads(json.dumps(d))) == s


def test_settings_from_dict_defaults_and_unknown_keys():
    assert settings_from_dict({}) == LEGAL
    assert settings_from_dict({"min_bids": 5, "from_the_future": 1}) == RuleSettings(min_bids=5)
    with pytest.raises(InvalidSettings):
        settings_from_dict({"deposit_cap_percent": "lots"})
    with pytest.raises(InvalidSettings):
        settings_from_dict({"accelerator": 0})


# ------------------------------------------------------------------ deposit

def test_deposit_at_cap_and_one_fen_over():
    check_deposit(estimate=Decimal("1000000"), deposit=Decimal("20000.00"), settings=LEGAL)
    check_deposit(estimate=Decimal("1000000"), deposit=Decimal("0"), settings=LEGAL)
    with pytest.raises(DepositOverCap) as e:
        check_deposit(estimate=Decimal("1000000"), deposit=Decimal("20000.01"), settings=LEGAL)
    assert e.value.code == "deposit_over_cap" and e.value.field == "deposit"
    assert e.value.params == {"deposit": "¥20,000.01", "cap": "¥20,000.00", "cap_percent": "2"}
    assert "实施条例 art. 26" in str(e.value) and "2 % of" in str(e.value)


def test_deposit_cap_rounds_down_to_the_fen():
    assert deposit_cap(Decimal("100.99"), LEGAL) == Decimal("2.01")  # 2.0198
    check_deposit(estimate=Decimal("100.99"), deposit=Decimal("2.01"), settings=LEGAL)
    with pytest.raises(DepositOverCap):
        check_deposit(estimate=Decimal("100.99"), deposit=Decimal("2.02"), settings=LEGAL)


def test_deposit_cap_follows_settings():
    check_deposit(estimate=Decimal("1000"), deposit=Decimal("50"),
                  settings=RuleSettings(deposit_cap_percent=Decimal("5")))
    with pytest.raises(DepositOverCap):
        check_deposit(estimate=Decimal("1000"), deposit=Decimal("0.01"),
                      settings=RuleSettings(deposit_cap_percent=Decimal("0")))


@pytest.mark.parametrize("estimate, deposit, field", [
    ("0", "0", "estimated_price"),
    ("-1", "0", "estimated_price"),
    ("100", "-0.01", "deposit"),
])
def test_deposit_bad_amounts(estimate, deposit, field):
    with pytest.raises(InvalidAmount) as e:
        check_deposit(estimate=Decimal(estimate), deposit=Decimal(deposit), settings=LEGAL)
    assert e.value.field == field


@given(st.integers(1, 10**15), st.integers(0, 10**14),
       st.sampled_from([Decimal("0"), Decimal("0.5"), Decimal("2"), Decimal("2.75"), Decimal("100")]))
def test_deposit_rule_matches_integer_arithmetic(estimate_fen, deposit_fen, cap):
    ok = deposit_fen * 100 <= estimate_fen * cap
    try:
        check_deposit(estimate=from_fen(estimate_fen), deposit=from_fen(deposit_fen),
                      settings=RuleSettings(deposit_cap_percent=cap))
        assert ok
    except DepositOverCap:
        assert not ok


# ------------------------------------------------------------------ schedule

def sched(start=NOW, end=NOW + 5 * DAY, deadline=NOW + 20 * DAY) -> Schedule:
    return Schedule(download_start=start, download_end=end, deadline=deadline)


def test_schedule_at_the_legal_minimums():
    check_schedule(sched(), now=NOW, settings=LEGAL)


def test_deadline_exactly_20_days_ok_one_second_less_refused():
    check_schedule(sched(deadline=NOW + 20 * DAY), now=NOW, settings=LEGAL)
    with pytest.raises(DeadlineTooSoon) as e:
        check_schedule(sched(deadline=NOW + 20 * DAY - SEC), now=NOW, settings=LEGAL)
    assert e.value.code == "deadline_too_soon" and e.value.field == "deadline"
    assert e.value.params["earliest"] == NOW + 20 * DAY and e.value.params["days"] == 20
    assert "招标投标法 art. 24" in str(e.value)


def test_download_window_exactly_5_days_ok_one_second_less_refused():
    check_schedule(sched(end=NOW + 5 * DAY), now=NOW, settings=LEGAL)
    with pytest.raises(DownloadWindowTooShort) as e:
        check_schedule(sched(end=NOW + 5 * DAY - SEC), now=NOW, settings=LEGAL)
    assert e.value.code == "download_window_too_short" and e.value.field == "download_end"
    assert "实施条例 art. 16" in str(e.value)


def test_download_may_end_exactly_at_the_deadline_not_after():
    check_schedule(sched(end=NOW + 20 * DAY), now=NOW, settings=LEGAL)
    with pytest.raises(InvalidSchedule) as e:
        check_schedule(sched(end=NOW + 20 * DAY + US), now=NOW, settings=LEGAL)
    assert e.value.field == "download_end"


def test_issue_counts_from_a_future_download_start():
    start = NOW + 3 * DAY
    check_schedule(sched(start=start, end=start + 5 * DAY, deadline=start + 20 * DAY), now=NOW, settings=LEGAL)
    with pytest.raises(DeadlineTooSoon):
        check_schedule(sched(start=start, end=start + 5 * DAY, deadline=NOW + 20 * DAY + DAY), now=NOW,
                       settings=LEGAL)
    with pytest.raises(DownloadWindowTooShort):
        check_schedule(sched(start=start, end=NOW + 6 * DAY, deadline=start + 20 * DAY), now=NOW, settings=LEGAL)


def test_issue_counts_from_now_when_download_started_earlier():
    """A draft saved with a past download start: the periods count from publication."""
    start = NOW - 10 * DAY
    with pytest.raises(DeadlineTooSoon):
        check_schedule(sched(start=start, end=NOW + 5 * DAY, deadline=start + 25 * DAY), now=NOW, settings=LEGAL)
    with pytest.raises(DownloadWindowTooShort):
        check_schedule(sched(start=start, end=NOW + 4 * DAY), now=NOW, settings=LEGAL)
    check_schedule(sched(start=start), now=NOW, settings=LEGAL)


def test_deadline_in_the_past_or_now():
    for deadline in (NOW, NOW - DAY):
        with pytest.raises(DateInPast) as e:
            check_schedule(sched(start=NOW - 30 * DAY, end=deadline, deadline=deadline), now=NOW, settings=LEGAL)
        assert e.value.field == "deadline" and e.value.code == "date_in_past"


def test_schedule_with_accelerator():
    fast = RuleSettings(accelerator=1440)
    minute = timedelta(minutes=1)
    check_schedule(sched(end=NOW + 5 * minute, deadline=NOW + 20 * minute), now=NOW, settings=fast)
    with pytest.raises(DeadlineTooSoon):
        check_schedule(sched(end=NOW + 5 * minute, deadline=NOW + 20 * minute - SEC), now=NOW, settings=fast)
    with pytest.raises(DownloadWindowTooShort):
        check_schedule(sched(end=NOW + 5 * minute - SEC, deadline=NOW + 20 * minute), now=NOW, settings=fast)


def test_schedule_needs_aware_times():
    naive = NOW.replace(tzinfo=None)
    with pytest.raises(InvalidInput) as e:
        check_schedule(sched(deadline=naive + 20 * DAY), now=NOW, settings=LEGAL)
    assert e.value.field == "deadline"
    with pytest.raises(InvalidInput):
        check_schedule(sched(), now=naive, settings=LEGAL)
    with pytest.raises(InvalidInput):
        check_draft_schedule(sched(start=naive))


def test_draft_schedule_checks_only_order():
    check_draft_schedule(sched(start=NOW - 100 * DAY, end=NOW - 99 * DAY, deadline=NOW - 99 * DAY))
    check_draft_schedule(sched(end=NOW + US, deadline=NOW + US))
    with pytest.raises(InvalidSchedule):
        check_draft_schedule(sched(end=NOW))
    with pytest.raises(InvalidSchedule):
        check_draft_schedule(sched(end=NOW + 2 * DAY, deadline=NOW + DAY))


# ------------------------------------------------------------------ amendments

def test_amendment_well_before_the_deadline_keeps_it():
    deadline = NOW + 30 * DAY
    assert amended_deadline(now=NOW, deadline=deadline, requested_deadline=None, settings=LEGAL) == deadline


def test_amendment_exactly_15_days_before_keeps_the_deadline():
    deadline = NOW + 15 * DAY
    assert amended_deadline(now=NOW, deadline=deadline, requested_deadline=None, settings=LEGAL) == deadline


def test_amendment_less_than_15_days_before_pushes_the_deadline():
    deadline = NOW + 15 * DAY - SEC
    assert amended_deadline(now=NOW, deadline=deadline, requested_deadline=None, settings=LEGAL) == NOW + 15 * DAY
    assert amended_deadline(now=NOW, deadline=NOW + DAY, requested_deadline=None, settings=LEGAL) == NOW + 15 * DAY


def test_requested_deadline():
    deadline = NOW + 20 * DAY
    later = NOW + 40 * DAY
    assert amended_deadline(now=NOW, deadline=deadline, requested_deadline=later, settings=LEGAL) == later
    assert amended_deadline(now=NOW, deadline=deadline, requested_deadline=deadline, settings=LEGAL) == deadline
    # a later deadline that still leaves less than 15 days is pushed to the legal minimum
    assert amended_deadline(now=NOW, deadline=NOW + DAY, requested_deadline=NOW + 2 * DAY,
                            settings=LEGAL) == NOW + 15 * DAY
    with pytest.raises(InvalidSchedule) as e:
        amended_deadline(now=NOW, deadline=deadline, requested_deadline=deadline - US, settings=LEGAL)
    assert e.value.field == "new_deadline"
    with pytest.raises(InvalidInput):
        amended_deadline(now=NOW, deadline=deadline, requested_deadline=later.replace(tzinfo=None), settings=LEGAL)


def test_amendment_with_accelerator():
    fast = RuleSettings(accelerator=1440)
    assert amended_deadline(now=NOW, deadline=NOW + timedelta(minutes=1), requested_deadline=None,
                            settings=fast) == NOW + timedelta(minutes=15)


times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=90))


@given(times, spans, st.none() | spans, st.sampled_from([1, 60, 1440]))
def test_amended_deadline_properties(now, ahead, extra, accelerator):
    settings = RuleSettings(accelerator=accelerator)
    deadline = now + ahead
    requested = None if extra is None else deadline + extra
    result = amended_deadline(now=now, deadline=deadline, requested_deadline=requested, settings=settings)
    floor = now + settings.period(settings.amendment_notice_days)
    assert result >= floor and result >= deadline and (requested is None or result >= requested)
    assert result in (floor, requested or deadline)


# ------------------------------------------------------------------ lifecycle

DEADLINE = NOW + 20 * DAY
PUBLISHED = TenderFacts(published_at=NOW, cancelled_at=None, deadline=DEADLINE,
                        download_start=NOW, download_end=NOW + 5 * DAY)
DRAFT = replace(PUBLISHED, published_at=None)


def test_status_basics():
    assert derive_status(DRAFT, NOW) is Status.DRAFT
    assert derive_status(TenderFacts(None, None, None), NOW) is Status.DRAFT
    assert derive_status(PUBLISHED, NOW) is Status.PUBLISHED
    assert derive_status(replace(PUBLISHED, cancelled_at=NOW), NOW) is Status.CANCELLED
    assert derive_status(replace(DRAFT, cancelled_at=NOW), NOW) is Status.CANCELLED
    assert derive_status(replace(PUBLISHED, deadline=None), NOW + 999 * DAY) is Status.PUBLISHED


def test_status_at_the_deadline_instant():
    assert derive_status(PUBLISHED, DEADLINE - US) is Status.PUBLISHED
    assert derive_status(PUBLISHED, DEADLINE) is Status.CLOSED
    assert derive_status(PUBLISHED, DEADLINE + US) is Status.CLOSED


def test_facts_after_now_are_not_yet_true():
    assert derive_status(PUBLISHED, NOW - US) is Status.DRAFT
    cancelled_later = replace(PUBLISHED, cancelled_at=NOW + DAY)
    assert derive_status(cancelled_later, NOW + DAY - US) is Status.PUBLISHED
    assert derive_status(cancelled_later, NOW + DAY) is Status.CANCELLED
    assert derive_status(cancelled_later, DEADLINE + DAY) is Status.CANCELLED


RANK = {Status.DRAFT: 0, Status.PUBLISHED: 1, Status.CLOSED: 2, Status.CANCELLED: 3}
maybe_times = st.none() | times


@given(maybe_times, maybe_times, maybe_times, st.lists(times, min_size=2, max_size=8))
def test_status_is_monotone_in_time(published_at, cancelled_at, deadline, clock):
    facts = TenderFacts(published_at=published_at, cancelled_at=cancelled_at, deadline=deadline)
    statuses = [derive_status(facts, now) for now in sorted(clock)]
    ranks = [RANK[s] for s in statuses]
    assert ranks == sorted(ranks)  # never back to draft, never reopened after closing, cancelled stays cancelled


@given(st.lists(st.tuples(st.sampled_from(["publish", "amend", "cancel", "edit", "wait"]),
                          st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12))),
                max_size=25))
def test_event_sequences_keep_invariants(events):
    """Apply random actions through the guards; refused actions change nothing."""
    now = NOW
    facts = TenderFacts(published_at=None, cancelled_at=None, deadline=NOW + 25 * DAY,
                        download_start=NOW, download_end=NOW + 10 * DAY)
    last_rank = 0
    for action, wait in events:
        now += wait
        before = facts
        try:
            if action == "publish":
                check_can_publish(facts, now)
                facts = replace(facts, published_at=now)
            elif action == "amend":
                check_can_amend(facts, now)
                facts = replace(facts, deadline=amended_deadline(now=now, deadline=facts.deadline,
                                                                 requested_deadline=None, settings=LEGAL))
            elif action == "cancel":
                check_can_cancel(facts, now)
                facts = replace(facts, cancelled_at=now)
            elif action == "edit":
                check_can_edit(facts, now)
        except InvalidTransition:
            assert facts == before
        status = derive_status(facts, now)
        assert RANK[status] >= last_rank
        last_rank = RANK[status]
        if before.published_at is not None:
            assert facts.published_at == before.published_at
        if before.cancelled_at is not None:
            assert facts.cancelled_at == before.cancelled_at
        assert facts.deadline >= before.deadline
        if status is Status.PUBLISHED:
            assert facts.deadline - now > timedelta(0)


def facts_in(status: Status) -> TenderFacts:
    return {
        Status.DRAFT: DRAFT,
        Status.PUBLISHED: PUBLISHED,
        Status.CLOSED: replace(PUBLISHED, deadline=NOW + DAY),
        Status.OPENED: replace(PUBLISHED, deadline=NOW + DAY / 2, opened_at=NOW + DAY / 2),
        Status.FAILED: replace(PUBLISHED, deadline=NOW + DAY / 2, failed_at=NOW + DAY / 2),
        Status.CANCELLED: replace(PUBLISHED, cancelled_at=NOW),
    }[status]


GUARDS = {
    check_can_edit: {Status.DRAFT},
    check_can_publish: {Status.DRAFT},
    check_can_amend: {Status.PUBLISHED},
    check_can_cancel: {Status.DRAFT, Status.PUBLISHED, Status.CLOSED},
    check_can_ask: {Status.PUBLISHED},
    check_can_answer: {Status.PUBLISHED},
    check_can_download: {Status.PUBLISHED},
    check_can_open: {Status.CLOSED},
}


@pytest.mark.parametrize("guard", list(GUARDS), ids=lambda g: g.__name__)
@pytest.mark.parametrize("status", list(Status))
def test_guards(guard, status):
    facts = facts_in(status)
    now = NOW + 2 * DAY if status is Status.CLOSED else NOW + DAY
    assert derive_status(facts, now) is status
    if status in GUARDS[guard]:
        guard(facts, now)
    else:
        with pytest.raises(InvalidTransition) as e:
            guard(facts, now)
        assert e.value.status == 409
        assert e.value.params["status"] == status.value


@pytest.mark.parametrize("status", list(Status))
def test_a_bid_after_the_deadline_is_refused_as_late_whatever_happened_since(status):
    from tender.rules import DeadlinePassed, check_can_submit

    facts = facts_in(status)
    now = NOW + 2 * DAY if status is Status.CLOSED else NOW + DAY
    if status is Status.PUBLISHED:
        check_can_submit(facts, now, has_documents=True)
    elif status in (Status.CLOSED, Status.OPENED, Status.FAILED):
        with pytest.raises(DeadlinePassed):
            check_can_submit(facts, now, has_documents=True)
    else:
        with pytest.raises(InvalidTransition) as e:
            check_can_submit(facts, now, has_documents=True)
        assert not isinstance(e.value, DeadlinePassed)


def test_refusal_messages_name_the_state():
    with pytest.raises(InvalidTransition, match="deadline has passed"):
        check_can_amend(PUBLISHED, DEADLINE)
    with pytest.raises(InvalidTransition, match="cancelled"):
        check_can_ask(replace(PUBLISHED, cancelled_at=NOW), NOW)
    with pytest.raises(InvalidTransition, match="draft"):
        check_can_download(DRAFT, NOW)
    with pytest.raises(InvalidTransition, match="open for bids"):
        check_can_edit(PUBLISHED, NOW)


def test_publish_twice():
    for now in (NOW, DEADLINE):
        with pytest.raises(AlreadyPublished) as e:
            check_can_publish(PUBLISHED, now)
        assert e.value.code == "already_published"
    with pytest.raises(InvalidTransition) as e:
        check_can_publish(replace(DRAFT, cancelled_at=NOW), NOW)
    assert not isinstance(e.value, AlreadyPublished)


def test_amend_ask_answer_until_the_deadline_instant():
    for guard in (check_can_amend, check_can_ask, check_can_answer):
        guard(PUBLISHED, DEADLINE - US)
        with pytest.raises(InvalidTransition):
            guard(PUBLISHED, DEADLINE)


def test_download_window_boundaries():
    facts = replace(PUBLISHED, download_start=NOW + DAY, download_end=NOW + 6 * DAY)
    with pytest.raises(DownloadNotOpen) as e:
        check_can_download(facts, NOW + DAY - US)
    assert e.value.code == "download_not_open" and e.value.params["opens"] == NOW + DAY
    check_can_download(facts, NOW + DAY)
    check_can_download(facts, NOW + 6 * DAY - US)
    with pytest.raises(DownloadClosed) as e:
        check_can_download(facts, NOW + 6 * DAY)
    assert e.value.code == "download_closed" and isinstance(e.value, InvalidTransition)


def test_download_without_a_window_is_open_until_the_deadline():
    facts = replace(PUBLISHED, download_start=None, download_end=None)
    check_can_download(facts, DEADLINE - US)
    with pytest.raises(InvalidTransition):
        check_can_download(facts, DEADLINE)


def test_downloaders_visible_only_from_the_deadline():
    assert not downloaders_visible(DRAFT, DEADLINE + DAY)
    assert not downloaders_visible(PUBLISHED, DEADLINE - US)
    assert downloaders_visible(PUBLISHED, DEADLINE)
    assert downloaders_visible(replace(PUBLISHED, cancelled_at=DEADLINE + DAY), DEADLINE + 2 * DAY)
    assert not downloaders_visible(replace(PUBLISHED, cancelled_at=NOW + DAY), NOW + 2 * DAY)
    assert not downloaders_visible(replace(PUBLISHED, deadline=None), DEADLINE)


# ------------------------------------------------------------------ documents

PDF, ZIP = b"%PDF-1.7\n...", b"PK\x03\x04\x14\x00"


@pytest.mark.parametrize("name, head, mime", [
    ("招标文件.pdf", PDF, "application/pdf"),
    ("REPORT.PDF", PDF, "application/pdf"),
    ("drawings.zip", ZIP, "application/zip"),
    ("技术规范.docx", ZIP, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("a.b.pdf", PDF, "application/pdf"),
])
def test_accepted_documents(name, head, mime):
    assert check_document(name, head) == mime


@pytest.mark.parametrize("name, head, error", [
    ("setup.exe", b"MZ\x90\x00", UnsupportedFileType),
    ("old.doc", b"\xd0\xcf\x11\xe0", UnsupportedFileType),
    ("README", PDF, UnsupportedFileType),
    (".pdf", PDF, UnsupportedFileType),
    ("fake.pdf", b"<html>", UnsupportedFileType),
    ("fake.docx", PDF, UnsupportedFileType),
    ("short.pdf", b"%PD", UnsupportedFileType),
    ("empty.pdf", b"", EmptyFile),
    ("", PDF, InvalidFileName),
    ("../../etc/passwd.pdf", PDF, InvalidFileName),
    ("C:\\Users\\x\\bid.pdf", PDF, InvalidFileName),
    ("bid\x00.pdf", PDF, InvalidFileName),
    ("invoice\u202efdp.exe.pdf", PDF, InvalidFileName),  # right-to-left override
    ("x" * 252 + ".pdf", PDF, InvalidFileName),
])
def test_refused_documents(name, head, error):
    with pytest.raises(error) as e:
        check_document(name, head)
    assert e.value.field == "file" and isinstance(e.value, InvalidInput)


def test_document_error_codes():
    assert (UnsupportedFileType.code, EmptyFile.code, InvalidFileName.code) == (
        "unsupported_file_type", "empty_file", "invalid_file_name")
    assert set(ALLOWED_DOCUMENT_TYPES) == {".pdf", ".zip", ".docx"}


@pytest.mark.parametrize("name, safe", [
    ("招标文件（第二版）.pdf", "招标文件（第二版）.pdf"),
    ("C:\\Users\\王工\\Desktop\\投标须知.docx", "投标须知.docx"),
    ("../../etc/passwd", "passwd"),
    ("dir/", "document"),
    ("", "document"),
    ("  ..hidden.pdf ", "hidden.pdf"),
    ("bid\x00\x1f.pdf", "bid.pdf"),
    ("invoice\u202efdp.exe.pdf", "invoicefdp.exe.pdf"),
])
def test_safe_filename(name, safe):
    assert safe_filename(name) == safe


def test_safe_filename_truncates_keeping_the_extension():
    name = safe_filename("长" * 300 + ".pdf")
    assert len(name) == 200 and name.endswith("长.pdf")
    assert len(safe_filename("x" * 300)) == 200


@given(st.text(max_size=400))
def test_safe_filename_is_always_safe(name):
    safe = safe_filename(name)
    assert 0 < len(safe) <= 200
    assert "/" not in safe and "\\" not in safe and not safe.startswith(".")
    assert safe == safe.strip()
    assert check_document(safe + ".pdf", PDF) == "application/pdf"  # a safe name passes the name checks


def test_opening_outcome_and_failure_kinds():
    assert opening_outcome(3, LEGAL) is Status.OPENED and opening_outcome(2, LEGAL) is Status.FAILED
    assert decryption_failure_kind("no_matching_key") == "withdrawal_after_deadline"
    assert decryption_failure_kind("blob_missing") == "ordinary_withdrawal"
    with pytest.raises(OpeningNotDue):
        check_can_open(PUBLISHED, DEADLINE - SEC)
    check_can_open(PUBLISHED, DEADLINE)
