"""Key custodians' own age recipients: registered by the custodian's proof (a challenge sealed to the recipient,
answered with what ``age -d`` printed), checked against that logged registration before a tender's key shares
are sealed to them, and forgotten when a supervisor approves the removal of the custodian role.

The recipient is the tender area's (``tender.models.CustodianKey``), not the account's: the accounts know the
custodian role, this area what a custodian holds.  The audit actions keep the names they were first logged
under (``user.age_recipient_registered`` …), filed under the custodian's user."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import User
from accounts.rules import NeedsApproval
from audit.service import record
from core.actor import Actor
from core.errors import N_, Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from core.roles import Role
from tender.custody_rules import (
    CHALLENGE_BYTES,
    CHALLENGE_LIFETIME,
    ChallengeExpired,
    ChallengeFailed,
    challenge_digest,
    check_challenge,
    recipient_fingerprint,
)
from tender.models import CustodianKey, RecipientChallenge

CHALLENGED = "user.age_recipient_challenged"
PROOF_FAILED = "user.age_recipient_proof_failed"
REGISTERED = "user.age_recipient_registered"


def recipient_of(session: Session, user_id: int | None) -> str | None:
    """The age recipient a custodian registered, or None."""
    key = session.get(CustodianKey, user_id) if user_id is not None else None
    return key.recipient if key is not None else None


def registered_custodians(session: Session) -> list[tuple[User, str]]:
    """The custodians who may hold new tenders' shares, by user id: active, their role approved by a
    supervisor, each with the recipient they registered."""
    return [(user, recipient) for user, recipient in session.execute(
        select(User, CustodianKey.recipient).join(CustodianKey, CustodianKey.user_id == User.id)
        .where(User.role == Role.CUSTODIAN, User.active.is_(True), User.role_approved_at.is_not(None))
        .order_by(User.id))]


# ---------------------------------------------------------------- registration by proof

def _own_custodian(session: Session, actor: Actor) -> User:
    """The acting custodian's own account: nobody registers a recipient for someone else."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or actor.role != Role.CUSTODIAN or user.role != Role.CUSTODIAN:
        raise PermissionDenied(N_("Only a key custodian registers their own age recipient, by proving they hold "
                                  "its identity; nobody can do it for them."))
    if not user.active or user.role_approved_at is None:
        raise NeedsApproval()
    return user


def issue_recipient_challenge(session: Session, *, actor: Actor, recipient: str,
                              now: datetime) -> RecipientChallenge:
    """Seal a fresh random challenge (128 bits) to the recipient a custodian wants to register.  Only its
    SHA-256 is stored; the plaintext exists in this function and inside the age file, never in the log.
    Earlier open challenges of the custodian are used up."""
    import pyrage

    user = _own_custodian(session, actor)
    value = (recipient or "").strip()
    try:
        value = str(pyrage.x25519.Recipient.from_str(value))
    except Exception:
        raise InvalidInput(N_("This is not a valid age recipient (age1…)."), field="age_recipient") from None
    for old in session.scalars(select(RecipientChallenge).where(RecipientChallenge.user_id == user.id,
                                                                RecipientChallenge.used_at.is_(None))):
        old.used_at = now
    plaintext = secrets.token_hex(CHALLENGE_BYTES)
    sealed = pyrage.encrypt(f"{plaintext}\n".encode("ascii"), [pyrage.x25519.Recipient.from_str(value)],
                            armored=True)
    challenge = RecipientChallenge(user_id=user.id, recipient=value, answer_sha256=challenge_digest(plaintext),
                                   sealed=sealed, created_at=now, expires_at=now + CHALLENGE_LIFETIME)
    del plaintext
    session.add(challenge)
    session.flush()
    record(session, actor=actor, action=CHALLENGED, object_type="user", object_id=user.id,
           now=now, payload={"challenge": challenge.id, "age_recipient": value,
                             "fingerprint": recipient_fingerprint(value), "expires_at": challenge.expires_at})
    return challenge


def open_recipient_challenge(session: Session, *, actor: Actor, now: datetime) -> RecipientChallenge | None:
    """The acting custodian's challenge still waiting for its answer, if any."""
    if actor.user_id is None:
        return None
    return session.scalar(select(RecipientChallenge).where(RecipientChallenge.user_id == actor.user_id,
                                                           RecipientChallenge.used_at.is_(None),
                                                           RecipientChallenge.expires_at > now)
                          .order_by(RecipientChallenge.id.desc()).limit(1))


@dataclass(frozen=True)
class RegistrationResult:
    key: CustodianKey | None
    error: DomainError | None


def register_age_recipient(session: Session, *, actor: Actor, challenge_id: int, answer: str,
                           now: datetime) -> RegistrationResult:
    """The custodian answers the challenge with what ``age -d -i key.txt`` printed.  Any answer uses the
    challenge up; the right one registers its recipient (one audit entry, the registration publication checks
    recipients against), a wrong one is logged as a failed proof.  Returned, not raised, so that the use of the
    challenge commits either way."""
    user = _own_custodian(session, actor)
    challenge = session.get(RecipientChallenge, challenge_id)
    if challenge is None or challenge.user_id != user.id:
        raise NotFound()
    try:
        check_challenge(expected_digest=challenge.answer_sha256, answer=answer,
                        used=challenge.used_at is not None, expires_at=challenge.expires_at, now=now)
    except ChallengeExpired as exc:
        return RegistrationResult(None, exc)
    except ChallengeFailed as exc:
        challenge.used_at = now
        record(session, actor=actor, action=PROOF_FAILED, object_type="user", object_id=user.id,
               now=now, payload={"challenge": challenge.id, "fingerprint": recipient_fingerprint(challenge.recipient)})
        return RegistrationResult(None, exc)
    challenge.used_at = now
    key = session.get(CustodianKey, user.id)
    previous = key.recipient if key is not None else None
    if key is None:
        key = CustodianKey(user_id=user.id, recipient=challenge.recipient, registered_at=now)
        session.add(key)
    else:
        key.recipient, key.registered_at = challenge.recipient, now
    record(session, actor=actor, action=REGISTERED, object_type="user", object_id=user.id, now=now,
           payload={"challenge": challenge.id, "age_recipient": challenge.recipient,
                    "fingerprint": recipient_fingerprint(challenge.recipient),
                    "previous_fingerprint": recipient_fingerprint(previous) if previous else None})
    return RegistrationResult(key, None)


def forget_recipient(session: Session, *, user: User, role: str, now: datetime) -> dict[str, Any]:
    """What ends with a custodian's role (an ``accounts.hooks`` role-removal hook, in the transaction of the
    supervisor's approval): the recipient they registered, so no new tender's share is sealed to it.  It is
    named in the ``role.approved`` entry as ``age_recipient_removed`` (None when there was none)."""
    if role != Role.CUSTODIAN:
        return {}
    key = session.get(CustodianKey, user.id)
    if key is None:
        return {"age_recipient_removed": None}
    session.delete(key)
    return {"age_recipient_removed": key.recipient}


# ---------------------------------------------------------------- checked against the log before sealing

class UnverifiedCustodian(Conflict):
    code = "custodian_unverified"
    default_message = N_("Publication is refused: the age recipient of key custodian %(name)s does not match its "
                         "proven registration in the audit log (it was set or changed outside the platform). "
                         "The custodian must register their recipient again; a supervisor should look into it.")


class UnapprovedCustodian(Conflict):
    code = "custodian_unapproved"
    default_message = N_("Publication is refused: the custodian role of %(name)s has no approval by a supervisor "
                         "in the audit log (it was set outside the platform); a supervisor should look into it.")


def _entry_in_chain(session: Session, row) -> bool:
    """The entry's stored hash recomputes from its fields and links to its neighbours (and to the head when it
    is the last): an entry edited or inserted only in the database fails."""
    from audit.models import AuditEntry, AuditHead
    from audit.rules import GENESIS, ChainBroken, verify_chain
    from audit.service import to_entry

    rows = list(session.scalars(select(AuditEntry).where(AuditEntry.seq.between(row.seq - 1, row.seq + 1))
                                .order_by(AuditEntry.seq)))
    if row.seq > 1 and (not rows or rows[0].seq != row.seq - 1):
        return False
    start_prev = rows[0].prev_hash if row.seq > 1 else GENESIS
    try:
        verify_chain(((to_entry(r), r.hash) for r in rows), start_prev=start_prev, start_seq=rows[0].seq)
    except ChainBroken:
        return False
    if rows[-1].seq == row.seq:
        head = session.get(AuditHead, 1)
        return head is not None and head.hash == row.hash and head.seq == row.seq
    return True


def verified_registration(session: Session, user: User, recipient: str | None) -> int:
    """The sequence number of the audit entry that registered ``recipient`` as ``user``'s, after checking that
    the custodian role's latest approval is a grant logged before it, that the custodian registered it
    themself by the proof, and that both entries verify in the hash chain.  Raises ``UnapprovedCustodian`` or
    ``UnverifiedCustodian`` (naming the custodian) otherwise."""
    from audit.models import AuditEntry

    def latest(action: str, keep=lambda payload: True):
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                        AuditEntry.object_type == "user",
                                                        AuditEntry.object_id == str(user.id))
                               .order_by(AuditEntry.seq.desc()))
        return next((r for r in rows if keep(json.loads(r.payload))), None)

    name = f"{user.display_name} ({user.username})"
    grant = latest("role.approved", lambda p: p.get("role") == Role.CUSTODIAN)
    if (grant is None or json.loads(grant.payload).get("change") != "grant" or user.role_approved_at is None
            or not _entry_in_chain(session, grant)):
        raise UnapprovedCustodian(field="custodians", name=name)
    registration = latest(REGISTERED)
    if (registration is None or registration.seq < grant.seq or registration.actor_id != user.id
            or recipient is None or json.loads(registration.payload).get("age_recipient") != recipient
            or not _entry_in_chain(session, registration)):
        raise UnverifiedCustodian(field="custodians", name=name)
    return registration.seq
