"""Account use cases: organisations, users, roles granted by a second person, login, API tokens.

Each function is one business operation inside the caller's transaction and appends
its audit event; none commits.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from accounts import rules
from accounts.hooks import session_hooks
from accounts.models import ApiToken, LoginSession, LoginThrottle, Organisation, RoleRequest, User
from audit.service import record
from core.actor import Actor
from core.errors import N_, Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from core.roles import ADMINS, Role
from core.rules import validate_credit_code

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
TOKEN_PREFIX = "sb_"
# A hash to compare against when the user does not exist, so timing does not reveal it (made like every
# stored hash, so checking it costs the same).
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 401
    default_message = N_("Wrong user name or password.")


class MustChangePassword(Conflict):
    code = "must_change_password"
    default_message = N_("An administrator reset your password: choose a new one first.")


def _require_admin(actor: Actor) -> None:
    if actor.role not in ADMINS:
        raise PermissionDenied()


def _text(value: str, field: str, *, max_len: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(N_("This field is required."), field=field)
    if len(value) > max_len:
        raise InvalidInput(N_("At most %(n)s characters."), field=field, n=max_len)
    return value


def create_organisation(session: Session, *, actor: Actor, kind: str, name: str, now: datetime,
                        credit_code: str | None = None, region: str = "", contact: str = "") -> Organisation:
    _require_admin(actor)
    try:
        kind = rules.OrgKind(kind).value
    except ValueError:
        raise InvalidInput(N_("Unknown organisation kind."), field="kind") from None
    name = _text(name, "name", max_len=200)
    code = validate_credit_code(credit_code) if credit_code else None
    if kind in rules.CREDIT_CODE_KINDS and code is None:
        raise InvalidInput(N_("A unified social credit code is required."), field="credit_code")
    if code and session.scalar(select(func.count()).where(Organisation.credit_code == code)):
        raise Conflict(N_("An organisation with this credit code already exists."), field="credit_code")
    org = Organisation(kind=kind, name=name, credit_code=code, region=_text(region, "region", max_len=100,
                       required=False), contact=_text(contact, "contact", max_len=200, required=False),
                       created_at=now)
    session.add(org)
    session.flush()
    record(session, actor=actor, action="organisation.created", object_type="organisation", object_id=org.id,
           now=now, payload={"kind": kind, "name": name, "credit_code": code})
    return org


def create_user(session: Session, *, actor: Actor, username: str, display_name: str, password: str,
                role: str, organisation_id: int, now: datetime, password_hash: str | None = None) -> User:
    """Create an account.  ``password_hash`` (a hash of ``password`` made by ``hash_password``) lets
    bulk imports hash one shared initial password once instead of once per user."""
    _require_admin(actor)
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise InvalidInput(N_("User names are 3–64 letters, digits, dots, dashes or underscores."),
                           field="username")
    try:
        role = Role(role).value
    except ValueError:
        raise InvalidInput(N_("Unknown role."), field="role") from None
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise InvalidInput(N_("Unknown organisation."), field="organisation_id")
    rules.check_role_org(Role(role), rules.OrgKind(org.kind))
    rules.check_password_strength(password, username=username, context=(display_name or "", org.name))
    if session.scalar(select(func.count()).where(func.lower(User.username) == username.lower())):
        raise Conflict(N_("This user name is taken."), field="username")
    pending = _needs_approval(actor, role)
    user = User(username=username, display_name=_text(display_name, "display_name", max_len=100),
                password_hash=_hash_for(password, password_hash), role=role, organisation_id=org.id,
                active=not pending, created_at=now,
                role_approved_at=None if pending else now)
    session.add(user)
    session.flush()
    payload: dict = {"username": username, "role": role, "organisation_id": org.id}
    if pending:
        request = RoleRequest(user_id=user.id, role=role, change="grant", reason="", requested_by=actor.user_id,
                              requested_at=now, note="")
        session.add(request)
        session.flush()
        payload["role_request"] = request.id  # the account stays inactive until a supervisor approves it
    record(session, actor=actor, action="user.created", object_type="user", object_id=user.id, now=now,
           payload=payload)
    return user


def _needs_approval(actor: Actor, role: str) -> bool:
    """A custodian always waits for a supervisor's approval; so does a supervisor an administrator creates.
    Only the installer on the server (the system actor, e.g. ``sunbid create-user``) makes the first
    supervisors directly: someone has to approve the first request."""
    if role == Role.CUSTODIAN:
        return True
    return role in rules.APPROVED_ROLES and actor.role != Role.SYSTEM


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def _hash_for(password: str, precomputed: str | None) -> str:
    if precomputed is not None:
        if not precomputed.startswith(("scrypt:", "pbkdf2:")):
            raise InvalidInput(N_("Unsupported password hash."), field="password")
        return precomputed  # the caller made it from ``password`` with hash_password
    return generate_password_hash(password)


def set_user_active(session: Session, *, actor: Actor, user_id: int, active: bool, now: datetime) -> User:
    _require_admin(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    if user.id == actor.user_id and not active:
        raise Conflict(N_("You cannot deactivate your own account."))
    if active and user.role in rules.APPROVED_ROLES and user.role_approved_at is None:
        raise rules.NeedsApproval()
    user.active = active
    payload = {} if active else end_all_access(session, user_id=user.id, now=now)
    record(session, actor=actor, action="user.activated" if active else "user.deactivated", object_type="user",
           object_id=user.id, now=now, payload=payload)
    return user


def _active_admins_except(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).where(User.role == Role.ADMIN, User.active.is_(True),
                                                     User.id != user_id)) or 0


def update_user(session: Session, *, actor: Actor, user_id: int, display_name: str, email: str,
                organisation_id: int, role: str, active: bool, now: datetime) -> User:
    """An administrator edits an account: full name, e-mail, organisation, role and whether it is active
    (the guardrails are ``rules.check_account_edit``).  A change to a custodian's or supervisor's role is not
    granted here: the account waits, inactive, for a supervisor's approval of the request this files.
    Deactivating ends the user's sessions and tokens.  One audit entry, ``user.role_changed`` when the role
    changed, else ``user.updated``, listing each changed field as [before, after]."""
    _require_admin(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    try:
        new_role = Role(role)
    except ValueError:
        raise InvalidInput(N_("Unknown role."), field="role") from None
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise InvalidInput(N_("Unknown organisation."), field="organisation_id")
    pending = bool(session.scalar(select(func.count()).where(RoleRequest.user_id == user.id,
                                                             RoleRequest.decision.is_(None))))
    change = rules.check_account_edit(
        actor_id=actor.user_id, subject_id=user.id, old_role=user.role, new_role=new_role, old_active=user.active,
        new_active=bool(active), role_approved=user.role_approved_at is not None, org_kind=org.kind,
        other_active_admins=_active_admins_except(session, user.id), pending_request=pending)
    values = {"display_name": _text(display_name, "display_name", max_len=100),
              "email": rules.normalise_email(email), "organisation_id": org.id, "role": str(new_role),
              "active": bool(active) and not change.needs_approval}
    changes = {k: [getattr(user, k), v] for k, v in values.items() if getattr(user, k) != v}
    if not changes:
        raise InvalidInput(N_("Nothing was changed."))
    for k, v in values.items():
        setattr(user, k, v)
    payload: dict = {"changes": changes}
    if change.role_changed:
        user.role_approved_at = None if change.needs_approval else now
    if change.needs_approval:
        request = RoleRequest(user_id=user.id, role=str(new_role), change="grant", reason="",
                              requested_by=actor.user_id, requested_at=now, note="")
        session.add(request)
        session.flush()
        payload["role_request"] = request.id
    if "active" in changes and not user.active or change.role_changed:
        payload.update(end_all_access(session, user_id=user.id, now=now))  # the old powers end with the edit
    record(session, actor=actor, action="user.role_changed" if change.role_changed else "user.updated",
           object_type="user", object_id=user.id, now=now, payload=payload)
    return user


def reset_password(session: Session, *, actor: Actor, user_id: int, now: datetime,
                   random_bytes: bytes | None = None) -> tuple[User, str]:
    """An administrator gives a user a one-time password (``rules.temporary_password``), returned to be shown
    once and stored only as its hash.  The user must choose a new password at the next sign-in; every session
    and API token of the user ends.  The audit entry holds no password, only what ended."""
    _require_admin(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    rules.check_password_reset(actor_id=actor.user_id, subject_id=user.id, subject_role=user.role)
    plaintext = rules.temporary_password(random_bytes if random_bytes is not None else secrets.token_bytes(64))
    user.password_hash = generate_password_hash(plaintext)
    user.must_change_password = True
    ended = end_all_access(session, user_id=user.id, now=now)
    record(session, actor=actor, action="user.password_reset", object_type="user", object_id=user.id, now=now,
           payload=ended)
    return user, plaintext


def update_organisation(session: Session, *, actor: Actor, organisation_id: int, kind: str, name: str,
                        credit_code: str | None, region: str, contact: str, now: datetime) -> Organisation:
    """An administrator edits an organisation: its kind (every user it has must still fit it), name, credit
    code (checked, unique), region and contact.  One ``organisation.updated`` entry with the changed fields."""
    _require_admin(actor)
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound()
    try:
        kind = rules.OrgKind(kind).value
    except ValueError:
        raise InvalidInput(N_("Unknown organisation kind."), field="kind") from None
    code = validate_credit_code(credit_code) if credit_code else None
    roles = set(session.scalars(select(User.role).where(User.organisation_id == org.id).distinct()))
    rules.check_organisation(kind=kind, credit_code=code, member_roles=roles)
    if code and session.scalar(select(func.count()).where(Organisation.credit_code == code,
                                                          Organisation.id != org.id)):
        raise Conflict(N_("An organisation with this credit code already exists."), field="credit_code")
    values = {"kind": kind, "name": _text(name, "name", max_len=200), "credit_code": code,
              "region": _text(region, "region", max_len=100, required=False),
              "contact": _text(contact, "contact", max_len=200, required=False)}
    changes = {k: [getattr(org, k), v] for k, v in values.items() if getattr(org, k) != v}
    if not changes:
        raise InvalidInput(N_("Nothing was changed."))
    for k, v in values.items():
        setattr(org, k, v)
    record(session, actor=actor, action="organisation.updated", object_type="organisation", object_id=org.id,
           now=now, payload={"changes": changes})
    return org


# ---------------------------------------------------------------- roles a second person grants

def request_role_change(session: Session, *, actor: Actor, user_id: int, change: str, reason: str,
                        now: datetime) -> RoleRequest:
    """An administrator asks to grant (again) or to remove a custodian's role; nothing changes until a
    supervisor approves (``decide_role_change``)."""
    _require_admin(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    if change not in rules.ROLE_CHANGES:
        raise InvalidInput(N_("Choose one of the offered values."), field="change")
    if user.role not in rules.APPROVED_ROLES:
        raise InvalidInput(N_("Only the custodian and supervisor roles are granted this way."), field="change")
    if change == "grant" and user.role_approved_at is not None:
        raise Conflict(N_("This role is granted already."), field="change")
    if change == "remove" and (user.role != Role.CUSTODIAN or user.role_approved_at is None):
        raise Conflict(N_("Only a granted custodian role can be removed this way."), field="change")
    if session.scalar(select(func.count()).where(RoleRequest.user_id == user.id, RoleRequest.decision.is_(None))):
        raise Conflict(N_("A request for this account is already waiting for a supervisor."), field="change")
    request = RoleRequest(user_id=user.id, role=user.role, change=change,
                          reason=_text(reason, "reason", max_len=2000, required=False), requested_by=actor.user_id,
                          requested_at=now, note="")
    session.add(request)
    session.flush()
    record(session, actor=actor, action="role.requested", object_type="user", object_id=user.id, now=now,
           payload={"request": request.id, "role": user.role, "change": change, "reason": request.reason})
    return request


def decide_role_change(session: Session, *, actor: Actor, request_id: int, approve: bool, note: str = "",
                       now: datetime) -> RoleRequest:
    """A supervisor (not the one who asked, not the one concerned) approves or refuses a role request.
    Approving a grant activates the account with its role; approving a removal ends the role, and what the
    areas keep for it ends with it, in this transaction (``accounts.hooks``: the tender area forgets the
    custodian's recipient, so no new tender's share is sealed to it; shares already sealed stay theirs)."""
    request = session.get(RoleRequest, request_id)
    if request is None:
        raise NotFound()
    approver = session.get(User, actor.user_id) if actor.user_id is not None else None
    rules.check_role_decision(approver_id=actor.user_id, approver_role=actor.role,
                              approver_approved=bool(approver and approver.active and approver.role == actor.role
                                                     and approver.role_approved_at is not None),
                              requester_id=request.requested_by, subject_id=request.user_id)
    if request.decision is not None:
        raise Conflict(N_("This request was decided already."))
    user = request.user
    if user.role != request.role:
        raise Conflict(N_("The account's role changed since the request."))
    request.decision, request.decided_by, request.decided_at = ("approved" if approve else "refused"), actor.user_id, now
    request.note = _text(note, "note", max_len=2000, required=False)
    payload = {"request": request.id, "role": request.role, "change": request.change, "note": request.note,
               "requested_by": request.requested_by}
    if approve and request.change == "grant":
        user.role_approved_at, user.active = now, True
    elif approve:
        user.role_approved_at = None
        payload.update(session_hooks(session).removing_role(session, user=user, role=request.role, now=now))
    record(session, actor=actor, action="role.approved" if approve else "role.refused", object_type="user",
           object_id=user.id, now=now, payload=payload)
    return request


def pending_role_requests(session: Session) -> list[RoleRequest]:
    return list(session.scalars(select(RoleRequest).where(RoleRequest.decision.is_(None)).order_by(RoleRequest.id)))


def change_password(session: Session, *, actor: Actor, user_id: int, old_password: str | None,
                    new_password: str, now: datetime) -> str | None:
    """Change a password.  Every session and API token of the user ends; when users change their own
    password, a new session key for the browser they did it from is returned (the caller puts it in the
    cookie), so that browser stays signed in and a copy of its old cookie does not."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    if actor.user_id != user.id:
        _require_admin(actor)
    elif not check_password_hash(user.password_hash, old_password or ""):
        raise InvalidCredentials(N_("The current password is wrong."), field="old_password")
    rules.check_password_strength(new_password, username=user.username,
                                  context=(user.display_name, user.organisation.name))
    user.password_hash = generate_password_hash(new_password)
    if actor.user_id == user.id:
        user.must_change_password = False
    ended = end_all_access(session, user_id=user.id, now=now)
    key = _start_session(session, user=user, address=actor.address, now=now) if actor.user_id == user.id else None
    record(session, actor=actor, action="user.password_changed", object_type="user", object_id=user.id,
           now=now, payload=ended)
    return key


def end_all_access(session: Session, *, user_id: int, now: datetime) -> dict[str, int]:
    """End every open session and revoke every live API token of a user (part of the caller's operation and
    its audit event: a password change, a deactivation).  Returns how many of each."""
    sessions = session.execute(update(LoginSession).where(LoginSession.user_id == user_id,
                                                          LoginSession.ended_at.is_(None))
                               .values(ended_at=now).execution_options(synchronize_session=False)).rowcount
    tokens = session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
                                                    ApiToken.expires_at > now)
                             .values(revoked_at=now).execution_options(synchronize_session=False)).rowcount
    session.expire_all()
    return {"sessions_ended": sessions or 0, "tokens_revoked": tokens or 0}


def _start_session(session: Session, *, user: User, address: str, now: datetime) -> str:
    key = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, key_hash=token_digest(key), address=(address or "")[:64],
                             created_at=now))
    session.flush()
    return key


def user_for_session(session: Session, *, user_id: int, key: str | None) -> User | None:
    """The active user a cookie's session key belongs to, or None (ended, unknown, someone else's)."""
    if not key:
        return None
    row = session.scalar(select(LoginSession).where(LoginSession.key_hash == token_digest(key)))
    if row is None or row.ended_at is not None or row.user_id != user_id:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def logout(session: Session, *, actor: Actor, key: str | None, now: datetime) -> None:
    """End the session of this browser on the server: the cookie, even kept, signs no one in again."""
    row = session.scalar(select(LoginSession).where(LoginSession.key_hash == token_digest(key or "")))
    if row is None or row.ended_at is not None or row.user_id != actor.user_id:
        return
    row.ended_at = now
    record(session, actor=actor, action="user.logged_out", object_type="user", object_id=row.user_id, now=now,
           payload={})


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: DomainError | None
    session_key: str | None = None


def _throttle_key(username: str) -> str:
    return (username or "").strip().casefold()[:64]


def login(session: Session, *, username: str, password: str, address: str, now: datetime,
          policy: rules.ThrottlePolicy = rules.ThrottlePolicy()) -> LoginResult:
    """Check a password and start a session.  Failures are throttled per (user name, address) — known or
    unknown user name alike — and are counted (and committed) though the login is refused.  An unknown user,
    an inactive one and a wrong password get the same error, after the same password-hash work."""
    key, where = _throttle_key(username), (address or "-")[:64]
    throttle = session.scalar(select(LoginThrottle).where(LoginThrottle.username_key == key,
                                                          LoginThrottle.address == where))
    state = (rules.ThrottleState(throttle.failures, throttle.last_failure_at) if throttle is not None
             else rules.ThrottleState())
    try:
        rules.check_attempt(state, now=now, policy=policy)
    except DomainError as exc:
        return LoginResult(None, exc)
    user = session.scalar(select(User).where(func.lower(User.username) == key)) if key else None
    ok = check_password_hash(user.password_hash if user is not None else _DUMMY_HASH, password or "")
    if user is None or not user.active or not ok:
        state = rules.after_failure(state, now=now, policy=policy)
        if throttle is None:
            session.add(LoginThrottle(username_key=key, address=where, failures=state.failures,
                                      last_failure_at=now))
        else:
            throttle.failures, throttle.last_failure_at = state.failures, now
        if user is not None:
            who = Actor(user_id=user.id, name=user.username, role=user.role,
                        organisation_id=user.organisation_id, address=address)
            record(session, actor=who, action="user.login_failed", object_type="user", object_id=user.id,
                   now=now, payload={"failures": state.failures})
        return LoginResult(None, InvalidCredentials())
    if throttle is not None:
        session.delete(throttle)
    user.last_login_at = now
    who = Actor(user_id=user.id, name=user.username, role=user.role, organisation_id=user.organisation_id,
                address=address)
    session_key = _start_session(session, user=user, address=address, now=now)
    record(session, actor=who, action="user.logged_in", object_type="user", object_id=user.id, now=now)
    return LoginResult(user, None, session_key)


def create_api_token(session: Session, *, actor: Actor, name: str, now: datetime, days: int | None = None,
                     not_after: datetime | None = None) -> tuple[ApiToken, str]:
    """Return the stored token and its plaintext, which is shown once and never stored.  It expires after
    ``days`` days (default and maximum: accounts.rules); one made with another token expires no later than
    that one (``not_after``)."""
    if actor.user_id is None:
        raise PermissionDenied()
    owner = session.get(User, actor.user_id)
    if owner is not None and owner.must_change_password:
        raise MustChangePassword()
    expires = rules.token_expiry(now=now, days=days, not_after=not_after)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=actor.user_id, name=_text(name, "name", max_len=100), prefix=plaintext[:10],
                     token_hash=token_digest(plaintext), created_at=now, expires_at=expires)
    session.add(token)
    session.flush()
    record(session, actor=actor, action="api_token.created", object_type="api_token", object_id=token.id,
           now=now, payload={"name": token.name, "prefix": token.prefix,
                             "expires_at": expires.isoformat().replace("+00:00", "Z")})
    return token, plaintext


def revoke_api_token(session: Session, *, actor: Actor, token_id: int, now: datetime) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.user_id:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = now
        record(session, actor=actor, action="api_token.revoked", object_type="api_token", object_id=token.id,
               now=now, payload={"prefix": token.prefix})


def token_for(session: Session, plaintext: str, *, now: datetime) -> ApiToken | None:
    """The usable token (not revoked, not expired, of an active user) with this plaintext, or None.  Its
    last-use time is set when a minute or more old (``touched`` tells the caller to commit it)."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(plaintext)))
    if (token is None or not token.user.active
            or not rules.token_usable(revoked_at=token.revoked_at, expires_at=token.expires_at, now=now)):
        return None
    if rules.token_touch_due(last_used_at=token.last_used_at, now=now):
        token.last_used_at = now
    return token


def user_for_token(session: Session, plaintext: str, *, now: datetime) -> User | None:
    token = token_for(session, plaintext, now=now)
    return token.user if token is not None else None
