"""Audit entries as canonical JSON (RFC 8785) chained by SHA-256.

Pure: the entry document, its hash and chain verification.  The full RFC 9162 Merkle
log, checkpoints and proofs build on these entries.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import rfc8785

from core.errors import N_, DomainError

GENESIS = "0" * 64
BLINDED = 2  # the entry format version that carries a salt ("v": 2); entries without "v" are version 1
SALT_BYTES = 32
_SALT = re.compile(r"[0-9a-f]{64}")


class ChainBroken(DomainError):
    code = "audit_chain_broken"
    status = 409
    default_message = N_("The audit chain is broken at entry %(seq)s: %(reason)s.")


def iso(ts: datetime) -> str:
    """UTC timestamp with microseconds and a Z, the one form used in entries."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON.  Decimals and datetimes must be turned into strings first.

    For the values audit entries hold — strings, safe integers, booleans, null, lists and objects whose
    keys are in the Basic Multilingual Plane — the standard library's ``json.dumps`` (sorted keys, no
    spaces, no ASCII escaping) writes exactly the RFC 8785 bytes, several times faster: there key order
    by code point equals RFC 8785's order by UTF-16 code unit, and both escape the same characters the
    same way.  Anything else goes to ``rfc8785``; a property test compares the two on arbitrary values."""
    if _plain_json(value):
        try:
            return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let rfc8785 judge
            pass
    return rfc8785.dumps(value)


_SAFE_INT = 2**53 - 1  # beyond it RFC 8785 writes numbers as IEEE doubles do


def _plain_json(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE_INT <= value <= _SAFE_INT
    if kind is dict:
        return all(type(k) is str and (k.isascii() or max(k) <= "\uffff") and _plain_json(v) for k, v in value.items())
    if kind is list:
        return all(_plain_json(v) for v in value)
    return False


def jsonable(value: Any) -> Any:
    """Turn payload values into what canonical JSON accepts (Decimal → string, datetime → ISO)."""
    from decimal import Decimal

    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, float):
        raise TypeError("floats are not allowed in audit payloads; use Decimal or int")
    return value


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    actor_id: int | None
    actor: str
    role: str
    address: str
    action: str
    object_type: str
    object_id: str
    payload: Mapping[str, Any]
    prev_hash: str
    salt: str | None = None  # 32 random bytes, lowercase hex: format version 2; None: version 1 (written before)

    def __post_init__(self) -> None:
        if self.salt is not None and not _SALT.fullmatch(self.salt):
            raise ValueError("an entry's salt is 32 bytes in lowercase hex")

    @property
    def version(self) -> int:
        return 1 if self.salt is None else BLINDED

    def document(self) -> dict[str, Any]:
        doc = {
            "seq": self.seq,
            "time": iso(self.at),
            "actor": {"id": self.actor_id, "name": self.actor, "role": self.role},
            "address": self.address,
            "action": self.action,
            "object": {"type": self.object_type, "id": self.object_id},
            "payload": jsonable(self.payload),
            "prev": self.prev_hash,
        }
        if self.salt is not None:  # version 2: the salt makes the entry's hashes unguessable
            doc["salt"] = self.salt
            doc["v"] = BLINDED
        return doc

    def encode(self) -> bytes:
        return canonical(self.document())

    def encoder(self) -> ChainSlot:
        """This entry's canonical encoding with its sequence number and previous hash still open:
        what an append prepares before it locks the log head, so the locked part only fills them in."""
        whole = canonical({**self.document(), "prev": "", "seq": 0})
        # RFC 8785 sorts members: "prev", ("salt",) "seq" are the last before "time" (and "v"), and the
        # top-level ones come last, after everything inside "payload".
        middle = b'","seq":' if self.salt is None else b'","salt":"' + self.salt.encode("ascii") + b'","seq":'
        slot = b',"prev":"' + middle + b'0,"time":'
        cut = whole.rindex(slot)
        return ChainSlot(whole[:cut] + b',"prev":"', b',"time":' + whole[cut + len(slot):], middle)

    def hash(self) -> str:
        return hashlib.sha256(self.encode()).hexdigest()


@dataclass(frozen=True)
class ChainSlot:
    """Canonical entry bytes around the chain fields: ``before + prev + middle + seq + after``, where
    ``middle`` is ``","seq":`` (version 1) or ``","salt":"<salt>","seq":`` (version 2)."""

    before: bytes
    after: bytes
    middle: bytes = b'","seq":'

    def fill(self, seq: int, prev_hash: str) -> bytes:
        return b"".join((self.before, prev_hash.encode("ascii"), self.middle, str(seq).encode("ascii"), self.after))


def verify_chain(entries: Iterable[tuple[Entry, str]], *, start_prev: str = GENESIS,
                 start_seq: int = 1) -> int:
    """Check (entry, stored hash) pairs in order; return how many verified or raise ChainBroken."""
    prev, expected_seq, n = start_prev, start_seq, 0
    for entry, stored in entries:
        if entry.seq != expected_seq:
            raise ChainBroken(seq=entry.seq, reason=f"expected sequence {expected_seq}")
        if entry.prev_hash != prev:
            raise ChainBroken(seq=entry.seq, reason="previous-hash link does not match")
        if entry.hash() != stored:
            raise ChainBroken(seq=entry.seq, reason="content does not match its hash")
        prev, expected_seq, n = stored, expected_seq + 1, n + 1
    return n


# ---------------------------------------------------------------- subjects

SUBJECT_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
"""A subject kind: a short lowercase name (``tender``, ``statement``, ``expert``)."""
SUBJECT_ID_MAX = 64
TENDER_KIND = "tender"


class BadSubject(ValueError):
    """An audit subject that is malformed or contradicts the entry it is given with (a programming error)."""


def subject_key(kind: str, subject_id: Any) -> tuple[str, str]:
    """``(kind, id)`` as the log keeps it: the id as text (an int in decimal, a string as it is), so that
    ``("tender", 42)`` and ``("tender", "42")`` are one subject."""
    if not isinstance(kind, str) or not SUBJECT_KIND.fullmatch(kind):
        raise BadSubject(f"subject kind {kind!r} is not a short lowercase name")
    if isinstance(subject_id, bool) or not isinstance(subject_id, (int, str)):
        raise BadSubject(f"subject id {subject_id!r} of kind {kind} is neither an int nor a string")
    text = str(subject_id)
    if not text or len(text) > SUBJECT_ID_MAX or not text.isprintable() or text != text.strip():
        raise BadSubject(f"subject id {text!r} of kind {kind} is empty, too long or not plain text")
    return kind, text


def entry_subject(subject: tuple[str, Any] | None, tender_id: int | None, *, object_type: str,
                  object_id: str) -> tuple[str, str] | None:
    """The subject an entry is filed under: ``subject`` or, shorthand, ``tender_id`` (both only if they agree);
    None for an entry of no subject.  An entry whose object is of the subject's kind is its own subject: the
    subject then repeats the object's type and id, which are in the hashed bytes."""
    found = subject_key(*subject) if subject is not None else None
    if tender_id is not None:
        shorthand = subject_key(TENDER_KIND, tender_id)
        if found is not None and found != shorthand:
            raise BadSubject(f"subject {found} and tender_id={tender_id} disagree")
        found = shorthand
    if found is not None and object_type == found[0] and object_id != found[1]:
        raise BadSubject(f"an entry about {object_type} {object_id} is filed under {found[0]} {found[1]}")
    return found


# ---------------------------------------------------------------- disclosure

class Disclosure(StrEnum):
    """When an entry of an action may be read by people other than supervisors."""

    PUBLIC = "public"                      # at once
    AFTER_DEADLINE = "after_deadline"      # once its tender's current deadline has passed
    AFTER_EVALUATION = "after_evaluation"  # once its tender's evaluation has ended
    SUPERVISORS = "supervisors"            # never to anyone else


SAFEST = Disclosure.SUPERVISORS  # the rule of an action nobody registered


@dataclass(frozen=True)
class Subject:
    """What the area owning an entry's subject (a tender) says about it at the time of reading."""

    deadline: datetime | None = None      # the tender's current deadline (after any amendment)
    evaluated_at: datetime | None = None  # when its evaluation ended; None while it has not


def rule_of(rules: Mapping[str, Disclosure], action: str) -> Disclosure:
    return rules.get(action, SAFEST)


def disclosed(rule: Disclosure, subject: Subject | None, now: datetime) -> bool:
    """May someone who is not a supervisor read an entry under ``rule`` at ``now``?  Judged at read time
    against the subject as it stands (an amended deadline moves the disclosure with it); without a subject
    only public entries are readable."""
    if rule is Disclosure.PUBLIC:
        return True
    if subject is None or subject.deadline is None or now < subject.deadline:
        return False
    if rule is Disclosure.AFTER_DEADLINE:
        return True
    if rule is Disclosure.AFTER_EVALUATION:
        return subject.evaluated_at is not None and now >= subject.evaluated_at
    return False


def withheld(index: int, leaf_hash: str) -> dict[str, Any]:
    """What anyone who may not read an entry gets of it: its index and its Merkle leaf hash, nothing more."""
    return {"index": index, "leaf_hash": leaf_hash}
