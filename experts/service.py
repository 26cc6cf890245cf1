"""The expert pool's services: one operation, one audit event, in the caller's transaction.

National IDs are checked (experts.rules) and kept only as a keyed HMAC (for the uniqueness check) and a masked
form (for display): the key is derived from the platform's secret key (``national_id_key``)."""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.models import Organisation, User
from audit.service import record
from core.actor import Actor
from core.errors import N_, InvalidInput, NotFound, PermissionDenied
from core.roles import Role
from experts import rules
from experts.models import ExpertEmployment, ExpertProfile, ExpertSpecialty

KIND = "expert"
"""The audit subject kind of the area: an expert's profile, by its pseudonym."""

_REGION = re.compile(r"[1-9][0-9]{5}")
MAX_TEXT = 200


ID_KEY = "experts.national_id_key"
"""Where the application's sessions carry the national ID key (set by the area's setup)."""


def id_key_of(session: Session) -> bytes:
    """The national ID key of the application the session belongs to."""
    key = session.info.get(ID_KEY)
    if key is None:
        raise RuntimeError("this session carries no national ID key (not a session of the application)")
    return key


def national_id_key(secret_key: str) -> bytes:
    """The key national IDs are HMACed with, derived from the platform's secret key (one purpose, one key)."""
    return hmac.new(secret_key.encode("utf-8"), b"sunbid experts national id", hashlib.sha256).digest()


def national_id_digest(key: bytes, number: str) -> str:
    return hmac.new(key, number.encode("ascii"), hashlib.sha256).hexdigest()


class DuplicateNationalId(InvalidInput):
    code = "duplicate_national_id"
    status = 409
    default_message = N_("An expert with this national ID is already in the pool.")


class ProfileExists(InvalidInput):
    code = "expert_profile_exists"
    status = 409
    default_message = N_("This account already has an expert profile.")


class NotAnExpert(InvalidInput):
    code = "not_an_expert"
    default_message = N_("The account %(username)s is not an expert's account.")


class BadRegion(InvalidInput):
    code = "bad_region"
    default_message = N_("The region must be a six-digit administrative division code.")


class ReasonRequired(InvalidInput):
    code = "reason_required"
    default_message = N_("Give a reason.")


class NotSuspended(InvalidInput):
    code = "expert_not_suspended"
    status = 409
    default_message = N_("The expert is not suspended.")


@dataclass
class ExpertInput:
    """One expert as an administrator enters or imports it."""

    username: str
    full_name: str
    national_id: str
    region: str
    specialties: list[str]
    phone: str = ""
    email: str = ""
    employer: str = ""
    employed_since: date | None = None


def _check_input(data: ExpertInput, *, today: date) -> str:
    """The checked national ID; refuses bad fields with the field named."""
    number = rules.check_national_id(data.national_id, today=today)
    if not data.full_name.strip() or len(data.full_name) > 100:
        raise InvalidInput(N_("The full name is required (at most 100 characters)."), field="full_name")
    if not _REGION.fullmatch(data.region or ""):
        raise BadRegion(field="region")
    if not data.specialties:
        raise InvalidInput(N_("Give at least one specialty."), field="specialties")
    for code in data.specialties:
        rules.check_specialty(code)
    if len(data.phone) > 32 or len(data.email) > 254 or len(data.employer) > MAX_TEXT:
        raise InvalidInput(N_("A contact field is too long."), field="contact")
    return number


def _next_number(session: Session) -> int:
    return (session.scalar(select(func.max(ExpertProfile.number))) or 0) + 1


def _add_profile(session: Session, data: ExpertInput, *, user: User, number: str, digest: str, pnumber: int,
                 now: datetime) -> ExpertProfile:
    profile = ExpertProfile(user_id=user.id, number=pnumber, full_name=data.full_name.strip(),
                            national_id_hmac=digest, national_id_masked=rules.mask_national_id(number),
                            phone=data.phone.strip(), email=data.email.strip(), region=data.region, status="active",
                            status_reason="", created_at=now, updated_at=now)
    profile.specialties = [ExpertSpecialty(code=c) for c in sorted(set(data.specialties))]
    if data.employer:
        employer = data.employer.strip()
        organisation_id = session.scalar(select(Organisation.id).where(Organisation.name == employer).limit(1))
        profile.employments = [ExpertEmployment(organisation_id=organisation_id, employer=employer,
                                                start=data.employed_since or now.date(), end=None)]
    session.add(profile)
    return profile


def _expert_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.role != Role.EXPERT:
        raise NotAnExpert(username=username, field="username")
    return user


def _require_admin(actor: Actor) -> None:
    if actor.role not in (Role.ADMIN, Role.SYSTEM):
        raise PermissionDenied()


def create_profile(session: Session, *, actor: Actor, data: ExpertInput, id_key: bytes, now: datetime) -> ExpertProfile:
    """An administrator enters one expert's profile for an existing expert account."""
    _require_admin(actor)
    number = _check_input(data, today=now.date())
    user = _expert_user(session, data.username)
    if session.scalar(select(ExpertProfile.id).where(ExpertProfile.user_id == user.id)) is not None:
        raise ProfileExists(field="username")
    digest = national_id_digest(id_key, number)
    if session.scalar(select(ExpertProfile.id).where(ExpertProfile.national_id_hmac == digest)) is not None:
        raise DuplicateNationalId(field="national_id")
    profile = _add_profile(session, data, user=user, number=number, digest=digest, pnumber=_next_number(session),
                           now=now)
    session.flush()
    record(session, actor=actor, action="experts.profile_created", object_type="experts_profile",
           object_id=profile.pseudonym, now=now, subject=(KIND, profile.pseudonym),
           payload={"expert": profile.pseudonym, "user": user.username, "region": profile.region,
                    "specialties": sorted(set(data.specialties))})
    return profile


# --------------------------------------------------------------------------- import

COLUMNS = ("username", "full_name", "national_id", "region", "specialties", "phone", "email", "employer",
           "employed_since")
REQUIRED = ("username", "full_name", "national_id", "region", "specialties")


@dataclass
class ImportProblem:
    line: int
    field: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


class ImportRefused(InvalidInput):
    code = "expert_import_refused"
    default_message = N_("The file was not imported: %(count)s problems (nothing was imported).")

    def __init__(self, problems: list[ImportProblem]):
        super().__init__(count=len(problems))
        self.problems = problems


def parse_rows(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[ImportProblem]]:
    """The data rows of a CSV file with a header line, each with its line number (the header is line 1)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [ImportProblem(1, "header", N_("Missing columns: %(columns)s."), {"columns": ", ".join(missing)})]
    rows = []
    for row in reader:
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}))
    return rows, []


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_xlsx_rows(data: bytes) -> tuple[list[tuple[int, dict[str, str]]], list[ImportProblem]]:
    """The data rows of the first sheet of an XLSX workbook whose first row names the columns, each with its
    row number (the header is row 1). Read with openpyxl in read-only mode; formulas give their cached value."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, KeyError, ValueError, OSError, zipfile.BadZipFile):
        return [], [ImportProblem(1, "file", N_("The file is not an XLSX workbook."))]
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = [_cell(v) for v in next(lines, ())]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            return [], [ImportProblem(1, "header", N_("Missing columns: %(columns)s."),
                                      {"columns": ", ".join(missing)})]
        rows = []
        for number, values in enumerate(lines, start=2):
            row = {name: _cell(v) for name, v in zip(header, values) if name in COLUMNS}
            if any(row.values()):
                rows.append((number, row))
        return rows, []
    finally:
        book.close()


def import_experts(session: Session, *, actor: Actor, id_key: bytes, now: datetime, text: str | None = None,
                   xlsx: bytes | None = None) -> list[ExpertProfile]:
    """Import expert profiles from CSV ``text`` or an XLSX workbook (COLUMNS; specialties separated by ``;``,
    dates as YYYY-MM-DD): every row is checked first, and a file with any problem is refused whole
    (``ImportRefused`` with the line-numbered problems). One audit event for the import."""
    _require_admin(actor)
    rows, problems = parse_xlsx_rows(xlsx) if xlsx is not None else parse_rows(text or "")
    if not rows and not problems:
        problems.append(ImportProblem(1, "file", N_("The file has no data rows.")))
    checked: list[tuple[ExpertInput, User, str, str]] = []
    seen_ids: dict[str, int] = {}
    seen_users: dict[str, int] = {}
    for line, row in rows:
        try:
            since = row.get("employed_since") or ""
            try:
                employed_since = date.fromisoformat(since) if since else None
            except ValueError:
                raise InvalidInput(N_("The date must be YYYY-MM-DD."), field="employed_since") from None
            data = ExpertInput(username=row.get("username", ""), full_name=row.get("full_name", ""),
                               national_id=row.get("national_id", ""), region=row.get("region", ""),
                               specialties=[c.strip() for c in row.get("specialties", "").split(";") if c.strip()],
                               phone=row.get("phone", ""), email=row.get("email", ""),
                               employer=row.get("employer", ""), employed_since=employed_since)
            number = _check_input(data, today=now.date())
            user = _expert_user(session, data.username)
            if data.username in seen_users:
                raise InvalidInput(N_("The account is also on line %(line)s."), field="username",
                                   line=seen_users[data.username])
            if session.scalar(select(ExpertProfile.id).where(ExpertProfile.user_id == user.id)) is not None:
                raise ProfileExists(field="username")
            digest = national_id_digest(id_key, number)
            if digest in seen_ids:
                raise InvalidInput(N_("The national ID is also on line %(line)s."), field="national_id",
                                   line=seen_ids[digest])
            if session.scalar(select(ExpertProfile.id).where(ExpertProfile.national_id_hmac == digest)) is not None:
                raise DuplicateNationalId(field="national_id")
        except InvalidInput as exc:
            problems.append(ImportProblem(line, exc.field or "row", exc.message, dict(exc.params)))
            continue
        seen_ids[digest] = line
        seen_users[data.username] = line
        checked.append((data, user, number, digest))
    if problems:
        raise ImportRefused(problems)
    first = _next_number(session)
    profiles = [_add_profile(session, data, user=user, number=number, digest=digest, pnumber=first + i, now=now)
                for i, (data, user, number, digest) in enumerate(checked)]
    session.flush()
    record(session, actor=actor, action="experts.imported", object_type="experts_profile",
           object_id=profiles[0].pseudonym, now=now,
           payload={"count": len(profiles), "experts": [p.pseudonym for p in profiles]})
    return profiles


# --------------------------------------------------------------------------- status


def profile_by_pseudonym(session: Session, expert: str) -> ExpertProfile:
    if not rules.is_pseudonym(expert):
        raise NotFound()
    profile = session.scalar(select(ExpertProfile).where(ExpertProfile.number == int(expert[1:])))
    if profile is None:
        raise NotFound()
    return profile


def profile_of_user(session: Session, user_id: int) -> ExpertProfile | None:
    return session.scalar(select(ExpertProfile).where(ExpertProfile.user_id == user_id))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000:
        raise ReasonRequired(field="reason")
    return reason


def suspend_expert(session: Session, *, actor: Actor, expert: str, reason: str, until: date | None,
                   now: datetime) -> ExpertProfile:
    """An administrator suspends an expert (until a date, or until reinstated), with a reason."""
    _require_admin(actor)
    reason = _reason(reason)
    if until is not None and until <= now.date():
        raise InvalidInput(N_("The end of the suspension must be in the future."), field="until")
    profile = profile_by_pseudonym(session, expert)
    if profile.status == "retired":
        raise InvalidInput(N_("A retired expert cannot be suspended."), field="expert")
    profile.status, profile.suspended_until, profile.status_reason, profile.updated_at = "suspended", until, reason, now
    record(session, actor=actor, action="experts.suspended", object_type="experts_profile", object_id=profile.pseudonym,
           now=now, subject=(KIND, profile.pseudonym),
           payload={"expert": profile.pseudonym, "reason": reason, "until": until.isoformat() if until else None})
    return profile


def reinstate_expert(session: Session, *, actor: Actor, expert: str, reason: str, now: datetime) -> ExpertProfile:
    """An administrator reinstates a suspended expert, with a reason."""
    _require_admin(actor)
    reason = _reason(reason)
    profile = profile_by_pseudonym(session, expert)
    if profile.status != "suspended":
        raise NotSuspended(field="expert")
    profile.status, profile.suspended_until, profile.status_reason, profile.updated_at = "active", None, reason, now
    record(session, actor=actor, action="experts.reinstated", object_type="experts_profile",
           object_id=profile.pseudonym, now=now, subject=(KIND, profile.pseudonym),
           payload={"expert": profile.pseudonym, "reason": reason})
    return profile


def update_contact(session: Session, *, actor: Actor, phone: str, email: str, now: datetime) -> ExpertProfile:
    """An expert keeps their own contact details."""
    if actor.role != Role.EXPERT or actor.user_id is None:
        raise PermissionDenied()
    profile = profile_of_user(session, actor.user_id)
    if profile is None:
        raise NotFound()
    phone, email = phone.strip(), email.strip()
    if len(phone) > 32 or len(email) > 254 or (email and "@" not in email):
        raise InvalidInput(N_("The phone number or e-mail address is not valid."), field="contact")
    profile.phone, profile.email, profile.updated_at = phone, email, now
    record(session, actor=actor, action="experts.contact_updated", object_type="experts_profile",
           object_id=profile.pseudonym, now=now, subject=(KIND, profile.pseudonym),
           payload={"expert": profile.pseudonym})
    return profile


# --------------------------------------------------------------------------- the pool as the rules read it


def pool_facts(session: Session) -> list[tuple[rules.ExpertFacts, list[str]]]:
    """Every expert of the pool as the avoidance rules read them (experts.rules.ExpertFacts) with their
    specialty codes, in pseudonym order: in a fixed number of queries whatever the size of the pool."""
    from experts.models import ExpertPenalty, ExpertRelation, ExpertUnavailable

    profiles = list(session.scalars(select(ExpertProfile).order_by(ExpertProfile.number)))
    by_id: dict[int, dict[str, list]] = {p.id: {"codes": [], "jobs": [], "relations": [], "penalties": [],
                                                "unavailable": []} for p in profiles}
    for pid, code in session.execute(select(ExpertSpecialty.profile_id, ExpertSpecialty.code)
                                     .order_by(ExpertSpecialty.code)):
        by_id[pid]["codes"].append(code)
    for e in session.scalars(select(ExpertEmployment).order_by(ExpertEmployment.start)):
        by_id[e.profile_id]["jobs"].append(rules.Employment(e.organisation_id if e.organisation_id is not None
                                                            else e.employer, e.start, e.end))
    for r in session.scalars(select(ExpertRelation).order_by(ExpertRelation.id)):
        ref = r.organisation_id if r.kind == "organisation" else r.person_id
        by_id[r.profile_id]["relations"].append(rules.Relation(r.kind, ref))
    for pen in session.scalars(select(ExpertPenalty).order_by(ExpertPenalty.start)):
        by_id[pen.profile_id]["penalties"].append(rules.Penalty(pen.start, pen.end))
    for u in session.scalars(select(ExpertUnavailable).order_by(ExpertUnavailable.start)):
        by_id[u.profile_id]["unavailable"].append((u.start, u.end))
    out = []
    for p in profiles:
        d = by_id[p.id]
        out.append((rules.ExpertFacts(pseudonym=p.pseudonym, status=p.status, suspended_until=p.suspended_until,
                                      employments=tuple(d["jobs"]), relations=tuple(d["relations"]),
                                      penalties=tuple(d["penalties"]), unavailable=tuple(d["unavailable"])),
                    d["codes"]))
    return out
