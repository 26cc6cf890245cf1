"""Pure tender rules: settings, the deposit cap, legal periods, schedule checks, amendments, lifecycle
and document types.

No Flask, no database, no clock reads: ``now`` always comes in as an argument and every
datetime is timezone-aware UTC.  Each legal period is a per-tender setting
(``RuleSettings``) whose default is the statute's (招标投标法 and 招标投标法实施条例).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from core.errors import N_, InvalidInput, InvalidTransition
from core.money import InvalidAmount, floor_fen, format_yuan
from core.rules import require_aware

MAX_PERIOD_DAYS = 3650


# ---------------------------------------------------------------- settings

@dataclass(frozen=True)
class RuleSettings:
    """Per-tender rule settings; the defaults are the legal ones."""

    min_issue_days: int = 20
    """招标投标法 art. 24: at least 20 calendar days from the documents first issued to the bid deadline."""
    min_download_days: int = 5
    """实施条例 art. 16: the documents are on sale (here: downloadable) for at least 5 days."""
    amendment_notice_days: int = 15
    """招标投标法 art. 23, 实施条例 art. 21: clarifications/amendments reach bidders ≥ 15 days before the deadline."""
    deposit_cap_percent: Decimal = Decimal("2")
    """实施条例 art. 26: the bid deposit may not exceed 2 % of the estimated price."""
    min_bids: int = 3
    """招标投标法 art. 28, 实施条例 art. 44: fewer than 3 bids are not opened; the tender is re-run."""
    opening_threshold: int = 2
    """Shares of the opening key needed to open the bids (k of n)."""
    opening_custodians: int = 3
    """Custodians who each hold one share of the opening key (n); 电子招标投标办法 art. 27: nobody opens early."""
    objection_minutes: int = 5
    """实施条例 art. 44: objections to the opening are raised on the spot; the window after opening, in minutes."""
    accelerator: int = 1
    """Sandbox mode: every legal period is divided by this factor so a whole tender runs in minutes."""

    def period(self, days: int) -> timedelta:
        return timedelta(days=days) / self.accelerator


class InvalidSettings(InvalidInput):
    code = "invalid_settings"
    default_message = N_("The tender settings are not valid.")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_settings(s: RuleSettings) -> None:
    """Refuse settings no tender can run with (the legal defaults may be changed per tender,
    e.g. for procurement procedures with shorter periods)."""
    for name in ("min_issue_days", "min_download_days", "amendment_notice_days"):
        value = getattr(s, name)
        if not _is_int(value) or not 0 <= value <= MAX_PERIOD_DAYS:
            raise InvalidSettings(N_("A period is a whole number of days from 0 to %(max)s."),
                                  field=name, max=MAX_PERIOD_DAYS)
    if not _is_int(s.accelerator) or s.accelerator < 1:
        raise InvalidSettings(N_("The accelerator is a whole number, 1 or more."), field="accelerator")
    cap = s.deposit_cap_percent
    if not isinstance(cap, Decimal) or not cap.is_finite() or not 0 <= cap <= 100:
        raise InvalidSettings(N_("The deposit cap is a percentage from 0 to 100."), field="deposit_cap_percent")
    if not _is_int(s.min_bids) or s.min_bids < 1:
        raise InvalidSettings(N_("The minimum number of bids is a whole number, 1 or more."), field="min_bids")
    if not (_is_int(s.opening_threshold) and _is_int(s.opening_custodians)
            and 2 <= s.opening_threshold <= s.opening_custodians <= 16):
        raise InvalidSettings(N_("The opening key needs k of n custodians with 2 ≤ k ≤ n ≤ 16."),
                              field="opening_threshold")


def settings_to_dict(s: RuleSettings) -> dict[str, Any]:
    """JSON-friendly form for storage (the Decimal as a string)."""
    return {**asdict(s), "deposit_cap_percent": str(s.deposit_cap_percent)}


def settings_from_dict(data: dict[str, Any]) -> RuleSettings:
    """Settings from their stored form; missing keys take the legal default, unknown keys
    (written by a newer version) are ignored.  The result is checked."""
    known = {f.name for f in fields(RuleSettings)}
    values = {k: v for k, v in data.items() if k in known}
    if "deposit_cap_percent" in values:
        try:
            values["deposit_cap_percent"] = Decimal(str(values["deposit_cap_percent"]))
        except InvalidOperation:
            raise InvalidSettings(N_("The deposit cap is a percentage from 0 to 100."),
                                  field="deposit_cap_percent") from None
    settings = RuleSettings(**values)
    check_settings(settings)
    return settings


MAX_LOTS = 10
"""The most lots (标段) one tender may have (the form offers rows for them)."""


# ---------------------------------------------------------------- money

class DepositOverCap(InvalidInput):
    code = "deposit_over_cap"
    default_message = N_("The bid deposit is over the legal cap (实施条例 art. 26).")


def deposit_cap(estimate: Decimal, settings: RuleSettings) -> Decimal:
    """The largest deposit allowed, rounded down to the fen (实施条例 art. 26)."""
    return floor_fen(estimate * settings.deposit_cap_percent / 100)


def check_deposit(*, estimate: Decimal, deposit: Decimal, settings: RuleSettings) -> None:
    """实施条例 art. 26: the bid deposit may not exceed 2 % (``deposit_cap_percent``) of the
    estimated price of the tendered project."""
    if not estimate > 0:
        raise InvalidAmount(N_("The estimated price must be more than zero."), field="estimated_price")
    if deposit < 0:
        raise InvalidAmount(N_("The amount cannot be negative."), field="deposit")
    cap = deposit_cap(estimate, settings)
    if deposit > cap:  # deposits are whole fen, so comparing with the rounded-down cap is exact
        raise DepositOverCap(
            N_("The bid deposit %(deposit)s exceeds %(cap_percent)s %% of the estimated price "
               "(cap %(cap)s; 实施条例 art. 26)."),
            field="deposit", deposit=format_yuan(deposit), cap=format_yuan(cap),
            cap_percent=str(settings.deposit_cap_percent))


# ---------------------------------------------------------------- schedule

class DateInPast(InvalidInput):
    code = "date_in_past"
    default_message = N_("The date is in the past.")


class InvalidSchedule(InvalidInput):
    code = "invalid_schedule"
    default_message = N_("The dates are not in a possible order.")


class DeadlineTooSoon(InvalidInput):
    code = "deadline_too_soon"
    default_message = N_("The bid deadline is too soon (招标投标法 art. 24).")


class DownloadWindowTooShort(InvalidInput):
    code = "download_window_too_short"
    default_message = N_("The document download window is too short (实施条例 art. 16).")


@dataclass(frozen=True)
class Schedule:
    download_start: datetime
    download_end: datetime
    deadline: datetime


def check_draft_schedule(s: Schedule) -> None:
    """Only time zones and the order download_start < download_end ≤ deadline (a draft may be
    saved long before it can be published)."""
    for name in ("download_start", "download_end", "deadline"):
        require_aware(getattr(s, name), name)
    if s.download_end <= s.download_start:
        raise InvalidSchedule(N_("The download window must end after it starts."), field="download_end")
    if s.download_end > s.deadline:
        raise InvalidSchedule(N_("The download window must end no later than the bid deadline."),
                              field="download_end")


def check_schedule(s: Schedule, *, now: datetime, settings: RuleSettings) -> None:
    """The legal periods, checked at publication time ``now``.  The documents count as first
    issued at max(download_start, now).

    - 招标投标法 art. 24: issue → deadline ≥ ``min_issue_days`` (20 days);
    - 实施条例 art. 16: issue → end of the download window ≥ ``min_download_days`` (5 days);
    - the window ends no later than the deadline (招标投标法 art. 34: opening at the deadline).
    """
    check_draft_schedule(s)
    require_aware(now, "now")
    if s.deadline <= now:
        raise DateInPast(N_("The bid deadline is in the past."), field="deadline")
    issue = max(s.download_start, now)
    earliest = issue + settings.period(settings.min_issue_days)
    if s.deadline < earliest:
        raise DeadlineTooSoon(
            N_("The bid deadline must be at least %(days)s days after the documents are first issued, "
               "so %(earliest)s or later (招标投标法 art. 24)."),
            field="deadline", days=settings.min_issue_days, earliest=earliest)
    earliest_end = issue + settings.period(settings.min_download_days)
    if s.download_end < earliest_end:
        raise DownloadWindowTooShort(
            N_("The documents must be available for at least %(days)s days, so until %(earliest)s or later "
               "(实施条例 art. 16)."),
            field="download_end", days=settings.min_download_days, earliest=earliest_end)


def amended_deadline(*, now: datetime, deadline: datetime, requested_deadline: datetime | None,
                     settings: RuleSettings) -> datetime:
    """The bid deadline after a clarification or amendment issued at ``now``.

    招标投标法 art. 23 / 实施条例 art. 21: a clarification or amendment that may affect the
    bids reaches every bidder at least 15 days (``amendment_notice_days``) before the deadline;
    when less time is left the deadline moves out to exactly ``now`` + 15 days.  A requested
    deadline may move it out, never in.
    """
    target = deadline
    if requested_deadline is not None:
        require_aware(requested_deadline, "new_deadline")
        if requested_deadline < deadline:
            raise InvalidSchedule(N_("An amendment cannot bring the bid deadline forward (now %(deadline)s)."),
                                  field="new_deadline", deadline=deadline)
        target = requested_deadline
    return max(target, now + settings.period(settings.amendment_notice_days))


# ---------------------------------------------------------------- lifecycle

class Status(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"      # announced (招标公告); bids accepted until the deadline
    CLOSED = "closed"            # deadline passed: closed to bids, awaiting opening
    OPENED = "opened"            # 开标: bids decrypted, opening record published
    FAILED = "failed"            # 流标: fewer valid bids than the minimum, re-tender
    CANCELLED = "cancelled"      # 终止


@dataclass(frozen=True)
class TenderFacts:
    published_at: datetime | None
    cancelled_at: datetime | None
    deadline: datetime | None
    download_start: datetime | None = None
    download_end: datetime | None = None
    opened_at: datetime | None = None
    failed_at: datetime | None = None


def derive_status(f: TenderFacts, now: datetime) -> Status:
    """The state, from stored facts and the clock (never stored).  Facts dated after ``now``
    are ignored, so replaying history at an earlier time gives the state of that time.

    The deadline instant itself is closed: bids are opened at the deadline (招标投标法 art. 34)
    and a bid arriving after it is refused (招标投标法 art. 28).
    """
    if f.cancelled_at is not None and f.cancelled_at <= now:
        return Status.CANCELLED
    if f.published_at is None or f.published_at > now:
        return Status.DRAFT
    if f.failed_at is not None and f.failed_at <= now:
        return Status.FAILED
    if f.opened_at is not None and f.opened_at <= now:
        return Status.OPENED
    if f.deadline is not None and now >= f.deadline:
        return Status.CLOSED
    return Status.PUBLISHED


OPENING_OVERDUE_AFTER = timedelta(days=1)
"""A tender still awaiting its opening this long after the deadline is flagged: bids are opened at the deadline
instant (招标投标法 art. 34), so a day later something has gone wrong."""


def days_unopened_past_deadline(f: TenderFacts, now: datetime) -> int | None:
    """Whole days since the deadline of a tender closed to bids and still not opened (nor failed, nor
    cancelled), once OPENING_OVERDUE_AFTER has passed; None otherwise."""
    if derive_status(f, now) is not Status.CLOSED or f.deadline is None or now - f.deadline < OPENING_OVERDUE_AFTER:
        return None
    return (now - f.deadline).days


class AlreadyPublished(InvalidTransition):
    code = "already_published"
    default_message = N_("This tender has already been published.")


class DownloadNotOpen(InvalidTransition):
    code = "download_not_open"
    default_message = N_("The documents can be downloaded from %(opens)s.")


class DownloadClosed(InvalidTransition):
    code = "download_closed"
    default_message = N_("The document download period ended at %(closed)s.")


_REFUSALS = {
    Status.DRAFT: N_("This is not possible while the tender is a draft."),
    Status.PUBLISHED: N_("This is not possible while the tender is open for bids."),
    Status.CLOSED: N_("This is not possible: the bid deadline has passed."),
    Status.OPENED: N_("This is not possible: the bids have been opened."),
    Status.FAILED: N_("This is not possible: the tender has failed (too few valid bids)."),
    Status.CANCELLED: N_("This is not possible: the tender has been cancelled."),
}


def _require(f: TenderFacts, now: datetime, *allowed: Status) -> Status:
    status = derive_status(f, now)
    if status not in allowed:
        raise InvalidTransition(_REFUSALS[status], status=str(status))
    return status


def check_can_edit(f: TenderFacts, now: datetime) -> None:
    """Only a draft is edited; once published, changes go through amendments (招标投标法 art. 23)."""
    _require(f, now, Status.DRAFT)


def check_can_publish(f: TenderFacts, now: datetime) -> None:
    status = derive_status(f, now)
    if status in (Status.PUBLISHED, Status.CLOSED, Status.OPENED, Status.FAILED):
        raise AlreadyPublished(status=str(status))
    _require(f, now, Status.DRAFT)


def check_can_amend(f: TenderFacts, now: datetime) -> None:
    """Clarifications and amendments before the deadline only (招标投标法 art. 23)."""
    _require(f, now, Status.PUBLISHED)


def check_can_cancel(f: TenderFacts, now: datetime) -> None:
    """Any tender not yet cancelled may be terminated (终止, 实施条例 art. 31)."""
    _require(f, now, Status.DRAFT, Status.PUBLISHED, Status.CLOSED)


def check_can_ask(f: TenderFacts, now: datetime) -> None:
    """Bidders' questions while bids are accepted (实施条例 art. 21–22)."""
    _require(f, now, Status.PUBLISHED)


def check_can_answer(f: TenderFacts, now: datetime) -> None:
    """Answers are clarifications, so only before the deadline (招标投标法 art. 23)."""
    _require(f, now, Status.PUBLISHED)


def check_can_download(f: TenderFacts, now: datetime) -> None:
    """Published and download_start ≤ now < download_end (实施条例 art. 16; a window left unset
    is open from publication to the deadline).  No sign-up gates it (电子招标投标办法 art. 21)."""
    _require(f, now, Status.PUBLISHED)
    if f.download_start is not None and now < f.download_start:
        raise DownloadNotOpen(opens=f.download_start)
    if f.download_end is not None and now >= f.download_end:
        raise DownloadClosed(closed=f.download_end)


def downloaders_visible(f: TenderFacts, now: datetime) -> bool:
    """电子招标投标办法 art. 21: who obtained the documents stays hidden from agency staff
    until the deadline; True once a published tender's deadline has passed."""
    return f.published_at is not None and f.deadline is not None and now >= f.deadline


# ---------------------------------------------------------------- documents

class UnsupportedFileType(InvalidInput):
    code = "unsupported_file_type"
    default_message = N_("Only PDF, ZIP and DOCX files are accepted, and the content must match the name.")


class EmptyFile(InvalidInput):
    code = "empty_file"
    default_message = N_("The file is empty.")


class InvalidFileName(InvalidInput):
    code = "invalid_file_name"
    default_message = N_("The file name is not valid.")


ALLOWED_DOCUMENT_TYPES: dict[str, tuple[str, bytes]] = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".zip": ("application/zip", b"PK\x03\x04"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"),
}
"""Extension → (MIME type, first bytes of the content)."""

MAX_FILENAME = 200


def _unsafe(text: str) -> bool:
    """Control, format (e.g. the right-to-left override), private-use or unassigned characters,
    and line/paragraph separators."""
    return any(unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp") for c in text)


def safe_filename(name: str) -> str:
    """A display name: directories stripped (``/`` and ``\\``), unsafe characters (see
    ``_unsafe``) removed, CJK kept, no leading dots or surrounding spaces, at most 200
    characters with the extension kept; ``document`` when nothing is left.  The result passes
    the name checks of ``check_document``."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = re.sub(r"^[\s.]+|\s+$", "", "".join(c for c in base if not _unsafe(c)))
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        base = stem[: MAX_FILENAME - len(ext) - 1] + dot + ext if dot and len(ext) <= 10 else base[:MAX_FILENAME]
    return base.rstrip() or "document"


def check_document(filename: str, head: bytes) -> str:
    """The MIME type of an accepted document, checked on its name, extension and first bytes."""
    if not filename or re.search(r"[\\/]", filename) or _unsafe(filename) or len(filename) > 255:
        raise InvalidFileName(N_("The file name must not contain directories or control characters."),
                              field="file")
    stem, dot, ext = filename.rpartition(".")
    entry = ALLOWED_DOCUMENT_TYPES.get("." + ext.lower()) if dot and stem else None
    if entry is None:
        raise UnsupportedFileType(field="file")
    if not head:
        raise EmptyFile(field="file")
    mime, magic = entry
    if not head.startswith(magic):
        raise UnsupportedFileType(field="file")
    return mime


# ---------------------------------------------------------------- settings that depart from the law's defaults

def departures_from_defaults(s: RuleSettings) -> list[str]:
    """Names of the settings looser than the legal default (shorter periods, a higher deposit cap,
    fewer bids): allowed per tender, but shown to everyone on the tender page and recorded at publication."""
    legal = RuleSettings()
    out = [name for name in ("min_issue_days", "min_download_days", "amendment_notice_days", "min_bids")
           if getattr(s, name) < getattr(legal, name)]
    if s.deposit_cap_percent > legal.deposit_cap_percent:
        out.append("deposit_cap_percent")
    return out


# ---------------------------------------------------------------- bids

class DeadlinePassed(InvalidTransition):
    code = "deadline_passed"
    default_message = N_("The bid deadline has passed: bids are no longer accepted (Tendering and Bidding Law, "
                         "art. 28).")


class DocumentsNotObtained(InvalidTransition):
    code = "documents_not_obtained"
    default_message = N_("Obtain (download) the tender documents before submitting a bid.")


def check_can_submit(f: TenderFacts, now: datetime, *, has_documents: bool) -> None:
    """Bids are accepted while the tender is open, up to but not at the deadline instant (招标投标法 art. 28:
    bids arriving after the deadline are refused); the bidder must have obtained the documents."""
    status = derive_status(f, now)
    if status in (Status.CLOSED, Status.OPENED, Status.FAILED):  # all after the deadline
        raise DeadlinePassed()
    _require(f, now, Status.PUBLISHED)
    if not has_documents:
        raise DocumentsNotObtained()


def check_can_withdraw(f: TenderFacts, now: datetime) -> None:
    """Withdrawal before the deadline (实施条例 art. 35: the deposit is refunded within 5 days)."""
    status = derive_status(f, now)
    if status is Status.CLOSED:
        raise DeadlinePassed(N_("The bid deadline has passed: a bid can no longer be withdrawn."))
    _require(f, now, Status.PUBLISHED)



# ---------------------------------------------------------------- storage quotas and abandoned uploads

MB = 1024 * 1024


@dataclass(frozen=True)
class Quota:
    """How many bytes of bids one tender may hold: ``bidder`` for each bidder (organisation), ``tender`` for
    all bidders together.  Bids received (current, superseded or withdrawn: all are kept) and uploads in
    progress (their declared length) count."""
    bidder: int
    tender: int


@dataclass(frozen=True)
class Usage:
    """Bytes counted against a tender's quota: the bidder's own and everyone's (the bidder's included)."""
    bidder: int
    tender: int


class QuotaExceeded(InvalidInput):
    code = "quota_exceeded"
    status = 413
    default_message = N_("Your organisation may store at most %(limit_mb)s MB of bids for this tender (bids "
                         "received and uploads in progress count); %(used_mb)s MB are in use, so this bid of "
                         "%(size_mb)s MB does not fit. Finish or terminate an upload in progress, "
                         "or ask the agency.")


class TenderQuotaExceeded(QuotaExceeded):
    code = "tender_quota_exceeded"
    default_message = N_("This tender may hold at most %(limit_mb)s MB of bids from all bidders together; "
                         "%(used_mb)s MB are in use, so this bid of %(size_mb)s MB does not fit. Ask the agency.")


def _mb(n: int) -> str:
    """Bytes as MB for a message: whole when exact, else to one decimal, never rounded down to 0."""
    if n % MB == 0:
        return str(n // MB)
    return f"{max(n / MB, 0.1):.1f}"


def quota_room(quota: Quota, used: Usage) -> int:
    """How many more bytes of bids fit (never below 0)."""
    return max(0, min(quota.bidder - used.bidder, quota.tender - used.tender))


def check_quota(quota: Quota, used: Usage, size: int) -> None:
    """Refuse ``size`` more bytes that would take the bidder or the tender past its quota (the bidder's own
    quota is named first: it is the one the bidder can do something about)."""
    if used.bidder + size > quota.bidder:
        raise QuotaExceeded(field="file", limit_mb=_mb(quota.bidder), used_mb=_mb(used.bidder), size_mb=_mb(size))
    if used.tender + size > quota.tender:
        raise TenderQuotaExceeded(field="file", limit_mb=_mb(quota.tender), used_mb=_mb(used.tender),
                                  size_mb=_mb(size))


def upload_expires(last_activity: datetime, idle: timedelta) -> datetime:
    """When an upload left untouched since ``last_activity`` is abandoned (tus ``Upload-Expires``)."""
    require_aware(last_activity, "updated_at")
    return last_activity + idle


def is_abandoned(last_activity: datetime, idle: timedelta, now: datetime) -> bool:
    """An upload no byte reached for ``idle`` or longer is abandoned: its bytes are deleted."""
    require_aware(now, "now")
    return now >= upload_expires(last_activity, idle)


# ---------------------------------------------------------------- opening (开标)

class OpeningNotDue(InvalidTransition):
    code = "opening_not_due"
    default_message = N_("The bids are opened at the bid deadline, not earlier (Tendering and Bidding Law, art. 34).")


def check_can_open(f: TenderFacts, now: datetime) -> None:
    """Key shares are presented and bids decrypted only once the deadline has passed (招标投标法 art. 34;
    电子招标投标办法 art. 27: nobody may decrypt a bid before the deadline)."""
    status = derive_status(f, now)
    if status is Status.PUBLISHED:
        raise OpeningNotDue(status=str(status))
    _require(f, now, Status.CLOSED)


def opening_outcome(valid_bids: int, settings: RuleSettings) -> Status:
    """招标投标法 art. 28 / 实施条例 art. 44: fewer valid bids than the minimum → failed tender (流标)."""
    return Status.OPENED if valid_bids >= settings.min_bids else Status.FAILED


def decryption_failure_kind(reason: str) -> str:
    """电子招标投标办法 art. 31: a failure the bidder caused (sealed to a wrong key, a corrupt file, a package
    that does not match its manifest, a package for another tender, lot or bidder) counts as a withdrawal after
    the deadline; any other cause as an ordinary withdrawal."""
    return "withdrawal_after_deadline" if reason in ("no_matching_key", "corrupt", "malformed_package",
                                                     "manifest_mismatch", "wrong_package") else "ordinary_withdrawal"


# ---------------------------------------------------------------- what a bid package is for

@dataclass(frozen=True)
class PackageBinding:
    """What a bid package is for: the tender's project code, the lot, the bidder's credit code (its bid.json's
    ``tender``, ``lot`` and ``bidder.credit_code``; docs/bid-package.md)."""

    tender: str
    lot: int
    credit_code: str


def binding_mismatch(declared: PackageBinding, expected: PackageBinding) -> tuple[str, ...]:
    """The fields (``tender``, ``lot``, ``bidder``) in which a package's declared binding differs from the bid it
    is submitted as; ``()`` when it is for this bid."""
    pairs = (("tender", declared.tender, expected.tender), ("lot", declared.lot, expected.lot),
             ("bidder", declared.credit_code, expected.credit_code))
    return tuple(name for name, a, b in pairs if a != b)


class PackageForAnotherBid(InvalidInput):
    code = "package_mismatch"
    default_message = N_("This bid package is not for this bid: its bid.json names tender %(tender)s, lot %(lot)s "
                         "and the bidder with credit code %(credit_code)s, but it is being submitted to tender "
                         "%(expected_tender)s, lot %(expected_lot)s, for the bidder with credit code "
                         "%(expected_credit_code)s. Nothing was stored and your current bid is unchanged; make the "
                         "package again with the right tender, lot and bidder.")


def check_package_binding(declared: PackageBinding, expected: PackageBinding) -> None:
    """Refuse a package whose bid.json is for another tender, lot or bidder than the bid it is submitted as."""
    differs = binding_mismatch(declared, expected)
    if differs:
        raise PackageForAnotherBid(field="file", tender=declared.tender, lot=declared.lot,
                                   credit_code=declared.credit_code, expected_tender=expected.tender,
                                   expected_lot=expected.lot, expected_credit_code=expected.credit_code,
                                   differs=",".join(differs))


class ConfirmationMismatch(InvalidInput):
    code = "confirmation_mismatch"
    default_message = N_("Confirm what your sealed file is for: type the project code %(tender)s and the lot "
                         "%(lot)s, as they are written in the bid.json you sealed.")


def check_sealed_confirmation(tender: str, lot: int, *, confirm_tender: str | None,
                              confirm_lot: str | None) -> None:
    """A file the bidder sealed cannot be read before the opening, so the bidder confirms the tender's project
    code and the lot it is for (the package's bid.json must say the same; the opening checks it)."""
    typed_lot = (confirm_lot or "").strip()
    if ((confirm_tender or "").strip() != tender or not (typed_lot.isascii() and typed_lot.isdigit())
            or int(typed_lot) != lot):
        field = "confirm_tender" if (confirm_tender or "").strip() != tender else "confirm_lot"
        raise ConfirmationMismatch(field=field, tender=tender, lot=lot)



class ObjectionWindowClosed(InvalidTransition):
    code = "objection_window_closed"
    default_message = N_("Objections to the opening are raised on the spot, within %(minutes)s minutes of it "
                         "(Regulation art. 44).")


def check_can_object(f: TenderFacts, now: datetime, settings: RuleSettings) -> None:
    """Bidders confirm the opening record or object to it on the spot (实施条例 art. 44); the agency answers."""
    opened = f.opened_at or f.failed_at
    if opened is None or opened > now:
        raise OpeningNotDue(status=str(derive_status(f, now)))
    if now > opened + timedelta(minutes=settings.objection_minutes) / settings.accelerator:
        raise ObjectionWindowClosed(minutes=settings.objection_minutes)


# ---------------------------------------------------------------- custodians of the opening key

class CustodiansOfOneOrganisation(InvalidInput):
    code = "custodians_one_organisation"
    status = 409
    default_message = N_("Publication is refused: %(count)s of the %(n)s key custodians belong to one organisation "
                         "(%(organisation)s), enough to reach the opening threshold of %(k)s without anyone else. "
                         "No single organisation may hold k shares: register custodians of other organisations.")


def choose_custodians(candidates: list[tuple[int, int]], n: int) -> list[int]:
    """The n custodians a new opening key is split among, from (custodian id, organisation id) pairs in the
    order given: one from each organisation in turn (organisations in the order their first custodian comes),
    so the shares spread over as many organisations as there are.  Fewer than n when there are fewer."""
    queues: dict[int, list[int]] = {}
    for custodian, organisation in candidates:
        queues.setdefault(organisation, []).append(custodian)
    chosen: list[int] = []
    while len(chosen) < n and any(queues.values()):
        for queue in queues.values():
            if queue and len(chosen) < n:
                chosen.append(queue.pop(0))
    return chosen


def check_custodian_spread(organisations: list[tuple[int, str]], *, k: int) -> None:
    """Refuse an opening key whose k-of-n shares let one organisation open the bids alone: ``organisations``
    holds the (id, name) of each share's custodian's organisation; if any one organisation holds k or more of
    the n shares, ``CustodiansOfOneOrganisation``."""
    counts: dict[int, int] = {}
    names: dict[int, str] = {}
    for org_id, name in organisations:
        counts[org_id] = counts.get(org_id, 0) + 1
        names[org_id] = name
    for org_id, count in counts.items():
        if count >= k:
            raise CustodiansOfOneOrganisation(field="custodians", count=count, n=len(organisations),
                                              organisation=names[org_id], k=k)


# ---------------------------------------------------------------- required documents at the opening

def missing_documents(required: list[str] | tuple[str, ...], files: list[str] | tuple[str, ...]) -> list[str]:
    """The required documents (by name, in the tender's order) that a bid package holds no file for: the bid form
    packs a required document as ``<its name>/<file name>``, so a document is there when a file is in the folder
    of its name (compared as bid packages compare names: NFC, case-folded)."""
    def key(text: str) -> str:
        return unicodedata.normalize("NFC", text).casefold()

    folders = {key(name.split("/", 1)[0]) for name in files if "/" in name}
    return [name for name in required if key(name) not in folders]
