"""Account use cases: organisations, users, login, API tokens.

Each function is one business operation inside the caller's transaction and appends
its audit event; none commits.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from audit.service import record
from core import rules
from core.actor import Actor
from core.errors import N_, Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from core.models import ApiToken, Organisation, User

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
TOKEN_PREFIX = "sb_"
# A hash to compare against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = generate_password_hash("sunbid-dummy-password")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 401
    default_message = N_("Wrong user name or password.")


def _require_admin(actor: Actor) -> None:
    if actor.role not in ("admin", "system"):
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
    code = rules.validate_credit_code(credit_code) if credit_code else None
    if kind in ("agency", "bidder") and code is None:
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
        role = rules.Role(role).value
    except ValueError:
        raise InvalidInput(N_("Unknown role."), field="role") from None
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise InvalidInput(N_("Unknown organisation."), field="organisation_id")
    rules.check_role_org(rules.Role(role), rules.OrgKind(org.kind))
    rules.check_password_strength(password, username=username)
    if session.scalar(select(func.count()).where(func.lower(User.username) == username.lower())):
        raise Conflict(N_("This user name is taken."), field="username")
    user = User(username=username, display_name=_text(display_name, "display_name", max_len=100),
                password_hash=_hash_for(password, password_hash), role=role, organisation_id=org.id,
                active=True, failed_logins=0, created_at=now)
    session.add(user)
    session.flush()
    record(session, actor=actor, action="user.created", object_type="user", object_id=user.id, now=now,
           payload={"username": username, "role": role, "organisation_id": org.id})
    return user


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
    user.active = active
    user.failed_logins, user.locked_until = rules.register_success()
    record(session, actor=actor, action="user.activated" if active else "user.deactivated", object_type="user",
           object_id=user.id, now=now, payload={})
    return user


def set_age_recipient(session: Session, *, actor: Actor, user_id: int, recipient: str, now: datetime) -> User:
    """A key custodian registers the age public key (age1…) that tender key shares are sealed to."""
    import pyrage

    user = session.get(User, user_id)
    if user is None or (actor.user_id != user.id and actor.role not in ("admin", "system")):
        raise NotFound()
    if user.role != "custodian":
        raise InvalidInput(N_("Only key custodians register an age recipient."), field="age_recipient")
    value = (recipient or "").strip()
    try:
        value = str(pyrage.x25519.Recipient.from_str(value))
    except Exception:
        raise InvalidInput(N_("This is not a valid age recipient (age1…)."), field="age_recipient") from None
    user.age_recipient = value
    record(session, actor=actor, action="user.age_recipient_set", object_type="user", object_id=user.id, now=now,
           payload={"age_recipient": value})
    return user


def change_password(session: Session, *, actor: Actor, user_id: int, old_password: str | None,
                    new_password: str, now: datetime) -> None:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    if actor.user_id != user.id:
        _require_admin(actor)
    elif not check_password_hash(user.password_hash, old_password or ""):
        raise InvalidCredentials(N_("The current password is wrong."), field="old_password")
    rules.check_password_strength(new_password, username=user.username)
    user.password_hash = generate_password_hash(new_password)
    record(session, actor=actor, action="user.password_changed", object_type="user", object_id=user.id,
           now=now, payload={})


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: DomainError | None


def login(session: Session, *, username: str, password: str, address: str, now: datetime,
          policy: rules.ThrottlePolicy = rules.ThrottlePolicy()) -> LoginResult:
    """Check a password; failures are counted (and committed) even though the login is refused."""
    user = session.scalar(select(User).where(func.lower(User.username) == (username or "").strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return LoginResult(None, InvalidCredentials())
    who = Actor(user_id=user.id, name=user.username, role=user.role, organisation_id=user.organisation_id,
                address=address)
    try:
        rules.check_login_allowed(locked_until=user.locked_until, now=now)
    except DomainError as exc:
        return LoginResult(None, exc)
    if not user.active or not check_password_hash(user.password_hash, password or ""):
        user.failed_logins, user.locked_until = rules.register_failure(failures=user.failed_logins, now=now,
                                                                      policy=policy)
        record(session, actor=who, action="user.login_failed", object_type="user", object_id=user.id, now=now,
               payload={"locked": user.locked_until is not None})
        return LoginResult(None, InvalidCredentials())
    user.failed_logins, user.locked_until = rules.register_success()
    user.last_login_at = now
    record(session, actor=who, action="user.logged_in", object_type="user", object_id=user.id, now=now)
    return LoginResult(user, None)


def create_api_token(session: Session, *, actor: Actor, name: str, now: datetime) -> tuple[ApiToken, str]:
    """Return the stored token and its plaintext, which is shown once and never stored."""
    if actor.user_id is None:
        raise PermissionDenied()
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=actor.user_id, name=_text(name, "name", max_len=100), prefix=plaintext[:10],
                     token_hash=token_digest(plaintext), created_at=now)
    session.add(token)
    session.flush()
    record(session, actor=actor, action="api_token.created", object_type="api_token", object_id=token.id,
           now=now, payload={"name": token.name, "prefix": token.prefix})
    return token, plaintext


def revoke_api_token(session: Session, *, actor: Actor, token_id: int, now: datetime) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.user_id:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = now
        record(session, actor=actor, action="api_token.revoked", object_type="api_token", object_id=token.id,
               now=now, payload={"prefix": token.prefix})


def user_for_token(session: Session, plaintext: str) -> User | None:
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(plaintext)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    return token.user
