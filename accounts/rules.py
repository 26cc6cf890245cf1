"""The accounts' rules: password strength, sign-in throttling, API tokens' lifetime, kinds of organisation and
the roles that fit them, role requests and their four-eyes decision, an administrator's edits of accounts and
organisations, temporary passwords and password resets, e-mail addresses.

Pure module: no Flask, no database, no clock.  Every time is an argument and every
datetime is timezone-aware UTC.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.errors import N_, InvalidInput, TooManyAttempts
from core.roles import Role


# ---------------------------------------------------------------------------
# Passwords and login throttling
# ---------------------------------------------------------------------------

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256
PASSPHRASE_LENGTH = 16
"""From this length a password needs no mix of character classes."""
PASSWORD_MIN_SCORE = 3
"""zxcvbn's score (0–4) a password must reach: 3 is "safely unguessable" (about 10^8 guesses or more)."""


class WeakPassword(InvalidInput):
    code = "weak_password"
    default_message = N_("The password is too weak.")
    translated_params = ("why",)


ESTIMATOR_FEEDBACK = {text: text for text in (
    N_("This is a top-10 common password."),
    N_("This is a top-100 common password."),
    N_("This is a very common password."),
    N_("This is similar to a commonly used password."),
    N_("A word by itself is easy to guess."),
    N_("Names and surnames by themselves are easy to guess."),
    N_("Common names and surnames are easy to guess."),
    N_("Straight rows of keys are easy to guess."),
    N_("Short keyboard patterns are easy to guess."),
    N_('Repeats like "aaa" are easy to guess.'),
    N_('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
    N_('Sequences like "abc" or "6543" are easy to guess.'),
    N_("Recent years are easy to guess."),
    N_("Dates are often easy to guess."),
)}
"""The strength estimator's warnings (its English text, the same words as our message ids), each shown
translated; a warning not listed here falls back to the general message."""


def check_password_strength(password: str, *, username: str = "", context: tuple[str, ...] = ()) -> None:
    """Require 10..256 characters with at least 3 of the 4 classes (lower case, upper case, digit, other)
    unless the password has 16 characters or more, no user name inside, and a guess-resistance score of at
    least ``PASSWORD_MIN_SCORE`` from the zxcvbn estimator (common passwords, words, keyboard patterns, dates,
    sequences and the user's own name and details score low; GB/T 22239-2019 8.1.4.1).  The refusal says
    why, from the estimator's warning, in a message of our own catalogue."""
    from zxcvbn import zxcvbn

    n = len(password)
    if n < PASSWORD_MIN_LENGTH:
        raise WeakPassword(N_("The password must have at least %(min)s characters."),
                           field="password", min=PASSWORD_MIN_LENGTH)
    if n > PASSWORD_MAX_LENGTH:
        raise WeakPassword(N_("The password must have at most %(max)s characters."),
                           field="password", max=PASSWORD_MAX_LENGTH)
    classes = (any(c.islower() for c in password) + any(c.isupper() for c in password)
               + any(c.isdigit() for c in password) + any(not c.isalnum() for c in password))
    if classes < 3 and n < PASSPHRASE_LENGTH:
        raise WeakPassword(
            N_("The password must mix at least three of: lower-case letters, upper-case letters, digits "
               "and other characters, or be at least %(passphrase)s characters long."),
            field="password", passphrase=PASSPHRASE_LENGTH,
        )
    if len(username) >= 3 and username.casefold() in password.casefold():
        raise WeakPassword(N_("The password must not contain the user name."), field="password")
    inputs = [w for x in (username, *context, "sunbid") for w in x.replace("-", " ").replace(".", " ").split() if w]
    result = zxcvbn(password[:72], user_inputs=inputs)  # the estimator takes at most 72 characters
    if result["score"] >= PASSWORD_MIN_SCORE:
        return
    warning = ESTIMATOR_FEEDBACK.get((result.get("feedback") or {}).get("warning") or "")
    if warning:
        raise WeakPassword(N_("The password is too easy to guess: %(why)s Add more words or characters "
                              "that are not a common pattern."), field="password", why=warning)
    raise WeakPassword(N_("The password is too easy to guess. Use a longer one, for example a few uncommon "
                          "words with digits or symbols between them."), field="password")


@dataclass(frozen=True)
class ThrottlePolicy:
    """Sign-in throttling of one user name from one address (GB/T 22239-2019 8.1.4.1 b: 登录失败处理).

    The first ``free_failures`` failures cost nothing; after that each further attempt must wait
    ``base_delay`` doubled per failure, at most ``max_delay``.  The account itself is never locked: failures
    from one address never delay the same user name from another.  Failures are forgotten ``forget_after``
    the last one."""

    free_failures: int = 3
    base_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=5)
    forget_after: timedelta = timedelta(hours=6)


@dataclass(frozen=True)
class ThrottleState:
    """Failed sign-ins counted for one (user name, address) pair, and the time of the last one."""

    failures: int = 0
    last_failure: datetime | None = None


class LoginThrottled(TooManyAttempts):
    code = "login_throttled"
    default_message = N_("Too many failed sign-ins from your address for this user name. "
                         "Try again in %(seconds)s seconds.")


def throttle_delay(failures: int, policy: ThrottlePolicy = ThrottlePolicy()) -> timedelta:
    """The wait after ``failures`` failures: none for the free ones, then doubling, capped."""
    extra = failures - policy.free_failures
    if extra < 0:
        return timedelta(0)
    if extra >= 40:  # 2**40 × any positive delay is far above every sensible cap
        return policy.max_delay
    return min(policy.base_delay * (2 ** extra), policy.max_delay)


def current_throttle(state: ThrottleState, *, now: datetime,
                     policy: ThrottlePolicy = ThrottlePolicy()) -> ThrottleState:
    """The state as it stands at ``now``: failures older than ``forget_after`` are forgotten."""
    if state.last_failure is None or now - state.last_failure >= policy.forget_after:
        return ThrottleState()
    return state


def next_attempt_at(state: ThrottleState, *, now: datetime,
                    policy: ThrottlePolicy = ThrottlePolicy()) -> datetime | None:
    """When the next attempt is allowed (None: at once)."""
    state = current_throttle(state, now=now, policy=policy)
    delay = throttle_delay(state.failures, policy)
    if state.last_failure is None or not delay:
        return None
    at = state.last_failure + delay
    return at if at > now else None


def check_attempt(state: ThrottleState, *, now: datetime, policy: ThrottlePolicy = ThrottlePolicy()) -> None:
    """Refuse an attempt made before the wait after the last failure is over (the password is not even
    checked then, so waiting is the only way on)."""
    at = next_attempt_at(state, now=now, policy=policy)
    if at is not None:
        raise LoginThrottled(seconds=max(1, -int(-(at - now).total_seconds() // 1)))


def after_failure(state: ThrottleState, *, now: datetime,
                  policy: ThrottlePolicy = ThrottlePolicy()) -> ThrottleState:
    """The state after a failed attempt at ``now``."""
    state = current_throttle(state, now=now, policy=policy)
    return ThrottleState(failures=state.failures + 1, last_failure=now)


def after_success() -> ThrottleState:
    return ThrottleState()


# ---------------------------------------------------------------------------
# Sessions and API tokens
# ---------------------------------------------------------------------------

TOKEN_DEFAULT_DAYS = 90
TOKEN_MAX_DAYS = 365
TOKEN_TOUCH_EVERY = timedelta(minutes=1)
"""A token's last-use time is written at most this often (reads stay reads)."""


def token_expiry(*, now: datetime, days: int | None, not_after: datetime | None = None) -> datetime:
    """When a token made at ``now`` for ``days`` days expires (default ``TOKEN_DEFAULT_DAYS``, 1 to
    ``TOKEN_MAX_DAYS``); a token made with another token never outlives it (``not_after``)."""
    days = TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= TOKEN_MAX_DAYS:
        raise InvalidInput(N_("A token is valid for 1 to %(max)s days."), field="days", max=TOKEN_MAX_DAYS)
    expires = now + timedelta(days=days)
    return min(expires, not_after) if not_after is not None else expires


def token_usable(*, revoked_at: datetime | None, expires_at: datetime, now: datetime) -> bool:
    return revoked_at is None and now < expires_at


def token_touch_due(*, last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at >= TOKEN_TOUCH_EVERY


# ---------------------------------------------------------------------------
# Roles and organisations
# ---------------------------------------------------------------------------

class OrgKind(StrEnum):
    PLATFORM = "platform"
    AGENCY = "agency"
    BIDDER = "bidder"
    EMPLOYER = "employer"


ROLE_ORG_KINDS: dict[Role, set[OrgKind]] = {
    Role.ADMIN: {OrgKind.PLATFORM},
    Role.AGENCY: {OrgKind.AGENCY},
    Role.BIDDER: {OrgKind.BIDDER},
    Role.EXPERT: {OrgKind.EMPLOYER},
    Role.CUSTODIAN: {OrgKind.PLATFORM, OrgKind.AGENCY},
    Role.SUPERVISOR: {OrgKind.PLATFORM},
}
"""Which kind of organisation a user of each role belongs to."""


ROLE_NAMES: dict[Role, str] = {
    Role.ADMIN: N_("Administrator"), Role.AGENCY: N_("Agency staff"), Role.BIDDER: N_("Bidder"),
    Role.EXPERT: N_("Evaluation expert"), Role.CUSTODIAN: N_("Key custodian"), Role.SUPERVISOR: N_("Supervisor"),
    Role.SYSTEM: N_("The platform"),
}
ORG_KIND_NAMES: dict[OrgKind, str] = {
    OrgKind.PLATFORM: N_("Trading centre"), OrgKind.AGENCY: N_("Tendering agency"), OrgKind.BIDDER: N_("Bidder company"),
    OrgKind.EMPLOYER: N_("Expert's employer"),
}
"""The names people read for roles and kinds of organisation (messages, translated where shown)."""


class RoleOrgMismatch(InvalidInput):
    code = "role_org_mismatch"
    default_message = N_("A user with this role cannot belong to this kind of organisation.")
    translated_params = ("role", "org_kind")


def check_role_org(role: Role | str, org_kind: OrgKind | str) -> None:
    """Refuse a user whose role does not fit the kind of organisation it belongs to."""
    try:
        role, org_kind = Role(role), OrgKind(org_kind)
    except ValueError:
        raise InvalidInput(N_("Unknown role %(role)s or organisation kind %(org_kind)s."),
                           field="role", role=role, org_kind=org_kind) from None
    if org_kind not in ROLE_ORG_KINDS.get(role, ()):
        raise RoleOrgMismatch(
            N_("A user with the role %(role)s cannot belong to an organisation of kind %(org_kind)s."),
            field="role", role=ROLE_NAMES[role], org_kind=ORG_KIND_NAMES[org_kind],
        )


# ---------------------------------------------------------------------------
# Roles a second person grants
# ---------------------------------------------------------------------------

APPROVED_ROLES = frozenset({Role.CUSTODIAN, Role.SUPERVISOR})
"""Roles that take effect only when a supervisor approves what an administrator asked: a custodian holds a
share of every new tender's opening key, a supervisor approves these requests."""

ROLE_CHANGES = ("grant", "remove")


class NeedsApproval(InvalidInput):
    code = "role_needs_approval"
    status = 409
    default_message = N_("A supervisor must approve this role before the account can be used.")


class SameApprover(InvalidInput):
    code = "four_eyes"
    status = 403
    default_message = N_("A role change is approved by a supervisor other than the person who asked for it "
                         "and the person it concerns.")


def check_role_decision(*, approver_id: int | None, approver_role: str, approver_approved: bool,
                        requester_id: int | None, subject_id: int) -> None:
    """The four-eyes rule of role changes: an active, approved supervisor decides, who is neither the one who
    asked nor the one the change is about."""
    if approver_role != Role.SUPERVISOR or approver_id is None or not approver_approved:
        raise SameApprover(N_("Only a supervisor decides on a role change."))
    if approver_id in (requester_id, subject_id):
        raise SameApprover()


# ---------------------------------------------------------------------------
# An administrator's edits of accounts and organisations
# ---------------------------------------------------------------------------

LEAST_PRIVILEGED_ROLE = Role.BIDDER
"""The role a new account's form proposes: a bidder sees only its own company's bids."""

EMAIL_MAX_LENGTH = 254


class InvalidEmail(InvalidInput):
    code = "invalid_email"
    default_message = N_("This is not an e-mail address (name@example.cn).")


def normalise_email(text: str | None) -> str:
    """An e-mail address as typed, trimmed, with its domain in lower case; empty stays empty (no address).
    One ``@``, something before it, a domain of dot-separated labels after it, no spaces, at most 254
    characters (RFC 5321 4.5.3.1.3)."""
    value = (text or "").strip()
    if not value:
        return ""
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    if (not at or not local or len(value) > EMAIL_MAX_LENGTH or "@" in local or any(c.isspace() for c in value)
            or len(labels) < 2 or not all(labels) or any(c in value for c in "<>,;\"()[]\\")):
        raise InvalidEmail(field="email")
    return f"{local}@{domain.lower()}"


class LastAdministrator(InvalidInput):
    code = "last_admin"
    status = 409
    default_message = N_("This would leave the platform without an active administrator.")


class OwnAccount(InvalidInput):
    code = "own_account"
    status = 409
    default_message = N_("You cannot deactivate your own account.")


class ApprovedRoleChange(InvalidInput):
    code = "approved_role_change"
    status = 409
    default_message = N_("A supervisor's or key custodian's role is granted and removed only by a request that "
                         "another supervisor approves; it cannot be changed by editing the account.")


@dataclass(frozen=True)
class AccountChange:
    """What an edit does to a user's role: ``needs_approval`` means the new role waits for a supervisor (the
    account is inactive until then, as a new account with that role would be)."""

    role_changed: bool
    needs_approval: bool


def check_account_edit(*, actor_id: int | None, subject_id: int, old_role: Role | str, new_role: Role | str,
                       old_active: bool, new_active: bool, role_approved: bool, org_kind: OrgKind | str,
                       other_active_admins: int, pending_request: bool) -> AccountChange:
    """The guardrails of an administrator's edit of an account:

    - the role fits the kind of organisation (``check_role_org``);
    - nobody deactivates their own account, and no edit leaves the platform without an active administrator
      (``other_active_admins`` counts the active administrators other than the subject);
    - a custodian's or supervisor's role (``APPROVED_ROLES``) is never granted by the edit itself: a change to
      one waits for a supervisor's approval like a new account with it; an approved one is not changed or
      taken away by an edit (that goes through a role request), nor while a request waits;
    - an account whose role waits for approval is not activated by an edit (``NeedsApproval``)."""
    old_role, new_role = Role(old_role), Role(new_role)
    check_role_org(new_role, org_kind)
    if subject_id == actor_id and old_active and not new_active:
        raise OwnAccount(field="active")
    was_admin = old_role == Role.ADMIN and old_active
    stays_admin = new_role == Role.ADMIN and new_active
    if was_admin and not stays_admin and other_active_admins < 1:
        raise LastAdministrator(field="role" if new_role != Role.ADMIN else "active")
    changed = new_role != old_role
    if changed and pending_request:
        raise ApprovedRoleChange(N_("A role request for this account waits for a supervisor; change the role after "
                                    "the decision."), field="role")
    if changed and old_role in APPROVED_ROLES and role_approved:
        raise ApprovedRoleChange(field="role")
    needs_approval = changed and new_role in APPROVED_ROLES
    if needs_approval and subject_id == actor_id:
        raise OwnAccount(N_("You cannot give yourself a role that waits for approval: your account would be "
                            "inactive until then."), field="role")
    if (not changed and new_role in APPROVED_ROLES and not role_approved and new_active and not old_active):
        raise NeedsApproval(field="active")
    return AccountChange(role_changed=changed, needs_approval=needs_approval)


CREDIT_CODE_KINDS = frozenset({OrgKind.AGENCY, OrgKind.BIDDER})
"""Organisations that must carry a unified social credit code: companies that tender or bid."""


class KindDoesNotFitMembers(InvalidInput):
    code = "kind_members"
    default_message = N_("The organisation has users with the role %(role)s, which does not fit this kind.")
    translated_params = ("role",)


def check_organisation(*, kind: OrgKind | str, credit_code: str | None,
                       member_roles: frozenset[str] | set[str] = frozenset()) -> None:
    """An organisation as it is to be stored: tendering agencies and bidder companies have a credit code, and
    every user it already has keeps a role that fits its (new) kind."""
    kind = OrgKind(kind)
    if kind in CREDIT_CODE_KINDS and not credit_code:
        raise InvalidInput(N_("A unified social credit code is required."), field="credit_code")
    misfits = sorted(Role(r) for r in member_roles if kind not in ROLE_ORG_KINDS[Role(r)])
    if misfits:
        raise KindDoesNotFitMembers(field="kind", role=ROLE_NAMES[misfits[0]])


TEMPORARY_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Letters and digits that are not mistaken for one another when read aloud or copied by hand (no 0/O, 1/l/I)."""
TEMPORARY_PASSWORD_GROUPS = 4
TEMPORARY_PASSWORD_GROUP = 5


def temporary_password(random_bytes: bytes) -> str:
    """A one-time password an administrator hands over, made from ``random_bytes`` (at least one byte per
    character: ``TEMPORARY_PASSWORD_GROUPS * TEMPORARY_PASSWORD_GROUP``): groups of five characters joined by
    dashes, e.g. ``k7Qmz-…``, about 114 bits from a 55-character alphabet.  Bytes at or above the largest
    multiple of the alphabet's size are skipped, so every character is equally likely."""
    n = len(TEMPORARY_PASSWORD_ALPHABET)
    limit = 256 - 256 % n
    chars = [TEMPORARY_PASSWORD_ALPHABET[b % n] for b in random_bytes if b < limit]
    need = TEMPORARY_PASSWORD_GROUPS * TEMPORARY_PASSWORD_GROUP
    if len(chars) < need:
        raise ValueError("not enough random bytes for a temporary password")
    chars = chars[:need]
    return "-".join("".join(chars[i:i + TEMPORARY_PASSWORD_GROUP]) for i in range(0, need, TEMPORARY_PASSWORD_GROUP))


class SupervisorPasswordReset(InvalidInput):
    code = "supervisor_reset"
    status = 409
    default_message = N_("An administrator does not reset a supervisor's password: whoever knew it could approve "
                         "role changes in the supervisor's name. The supervisor changes it on their own account "
                         "page, or the installer creates a new supervisor on the server.")


def check_password_reset(*, actor_id: int | None, subject_id: int, subject_role: Role | str) -> None:
    """An administrator resets another user's password, never their own (the account page does that, with the
    current password) and never a supervisor's (the four-eyes rule of role approvals would be worth nothing)."""
    if actor_id == subject_id:
        raise OwnAccount(N_("Change your own password on your account page."))
    if Role(subject_role) == Role.SUPERVISOR:
        raise SupervisorPasswordReset()
