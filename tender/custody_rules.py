"""Key custodians' own age recipients: what a tender's notice shows of one (its fingerprint) and the challenge
a custodian answers to register it (``tender.custodians``).

Pure module: no Flask, no database, no clock.  Every time is an argument.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from core.errors import N_, InvalidInput


def recipient_fingerprint(recipient: str) -> str:
    """What a tender's notice shows of a custodian's age recipient: the first 16 hex digits (64 bits) of the
    SHA-256 of the recipient string (``age1…``, in its canonical lower-case form, as ASCII)."""
    return hashlib.sha256(recipient.strip().encode("ascii")).hexdigest()[:16]


CHALLENGE_BYTES = 16
"""Random bytes in a registration challenge (128 bits, written as 32 hex digits)."""
CHALLENGE_LIFETIME = timedelta(minutes=30)


class ChallengeFailed(InvalidInput):
    code = "challenge_failed"
    default_message = N_("This is not the text the challenge holds. The challenge is used up: ask for a new one, "
                         "decrypt it with your own identity file and paste what it prints.")


class ChallengeExpired(InvalidInput):
    code = "challenge_expired"
    default_message = N_("This challenge has expired or was used already: ask for a new one.")


def challenge_digest(answer: str) -> str:
    """SHA-256 (hex) of a challenge's plaintext, as stored; whitespace and letter case are ignored."""
    return hashlib.sha256("".join((answer or "").split()).lower().encode("utf-8")).hexdigest()


def check_challenge(*, expected_digest: str, answer: str, used: bool, expires_at: datetime, now: datetime) -> None:
    """Accept the answer to a registration challenge only once, before it expires, and only the right one."""
    if used or now >= expires_at:
        raise ChallengeExpired(field="answer")
    if not hmac.compare_digest(challenge_digest(answer), expected_digest):
        raise ChallengeFailed(field="answer")
