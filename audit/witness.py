"""A witness of transparency logs: the checks of c2sp.org/tlog-witness ``add-checkpoint``.

A witness keeps, for each log it knows (by origin), the latest checkpoint it cosigned.  A log submits
a new checkpoint with a consistency proof from the size it believes the witness holds; the witness
checks the log's signature and the proof, and only then cosigns and records the new checkpoint.  So
the operator cannot show different histories to different people without a witness noticing.

This module is pure (no network, no storage, no clock): ``parse_request`` reads a request body,
``check_request`` decides what the spec says of it against the witness's record, and
``WitnessError.status`` is the HTTP status the spec gives to each refusal.  ``audit.witness_server``
serves it over HTTP with an atomic (compare-and-swap) record; ``audit.witness_push`` is the log's side.

``witness`` is the older pull form (the witness fetches the checkpoint and the proof itself), kept for
``sunbid audit witness``; it makes the same checks.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from audit import merkle, notes

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root of the empty tree (RFC 6962 section 2.1: the hash of the empty string)."""
MAX_PROOF_LINES = 63
"""A client MUST NOT send more than 63 consistency proof lines (c2sp.org/tlog-witness)."""
MAX_BODY = 1024 * 1024
SIZE_CONTENT_TYPE = "text/x.tlog.size"

_OLD_LINE = re.compile(r"old (0|[1-9][0-9]*)")


class WitnessError(Exception):
    """A refusal, with the HTTP status c2sp.org/tlog-witness gives it.  ``size``: for a 409, the size of
    the latest checkpoint the witness cosigned for the log (its response body)."""

    def __init__(self, status: int, reason: str, *, size: int | None = None):
        super().__init__(reason)
        self.status, self.reason, self.size = status, reason, size


class WitnessRefusal(Exception):
    """The pull-form witness will not cosign; ``reason`` says why (fork, rollback, bad signature…)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class AddCheckpoint:
    """An ``add-checkpoint`` request body: the old size, the consistency proof and the signed checkpoint."""

    old: int
    proof: tuple[bytes, ...]
    note: str

    def body(self) -> bytes:
        lines = [f"old {self.old}\n", *(notes.b64encode(h) + "\n" for h in self.proof), "\n", self.note]
        return "".join(lines).encode("utf-8")


@dataclass(frozen=True)
class KnownLog:
    """A log the witness cosigns: its origin and the keys its checkpoints are signed with."""

    origin: str
    verifiers: tuple[notes.Verifier, ...]

    @classmethod
    def of(cls, origin: str, vkeys: Iterable[str]) -> KnownLog:
        verifiers = tuple(notes.Verifier.from_vkey(v) for v in vkeys)
        if not verifiers:
            raise ValueError("a log needs at least one key")
        notes._verifier_map(verifiers)  # AmbiguousKeys for two keys of one name and ID
        return cls(origin, verifiers)


@dataclass(frozen=True)
class Record:
    """What the witness holds for a log: the latest checkpoint it cosigned."""

    size: int
    root: bytes


def parse_request(body: bytes) -> AddCheckpoint:
    """Read an ``add-checkpoint`` body: ``old <size>``, zero to 63 base64 hashes, an empty line, the
    checkpoint note, every line ending in a newline.  ``WitnessError(400)`` when it is not that."""
    if len(body) > MAX_BODY:
        raise WitnessError(400, "the request body is too large")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessError(400, "the request body is not UTF-8") from None
    first, sep, rest = text.partition("\n")
    m = _OLD_LINE.fullmatch(first)
    if not sep or m is None:
        raise WitnessError(400, "the body must start with an old size line ('old <size>')")
    proof: list[bytes] = []
    while True:
        line, sep, after = rest.partition("\n")
        if not sep:
            raise WitnessError(400, "the consistency proof must end with an empty line")
        if line == "":
            rest = after
            break
        digest = notes.b64decode(line)
        if digest is None or len(digest) != 32:
            raise WitnessError(400, "a consistency proof line is not the base64 of a 32-byte hash")
        proof.append(digest)
        if len(proof) > MAX_PROOF_LINES:
            raise WitnessError(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
        rest = after
    return AddCheckpoint(int(m[1]), tuple(proof), rest)


def _origin_of(note: str) -> str:
    """The first line of the note (a checkpoint's origin), read before any key is chosen."""
    origin, sep, _ = note.partition("\n")
    if not sep or not origin:
        raise WitnessError(400, "the checkpoint has no origin line")
    return origin


def check_request(request: AddCheckpoint, *, logs: Mapping[str, KnownLog], record: Record | None) -> notes.Checkpoint:
    """The checks of c2sp.org/tlog-witness ``add-checkpoint``, in its order; the checkpoint to cosign.

    ``record``: what the witness holds for the checkpoint's origin (None: it never cosigned one).  The
    caller looks it up by the origin (:func:`origin_of_request`) and must then record the result
    atomically, only if the record is still ``record`` (compare-and-swap).

    404 unknown origin; 403 no signature from the log's keys verifies (signatures from other keys are
    ignored); 400 a malformed checkpoint or an old size above the checkpoint's; 409 (``size``: the
    record's) when the old size is not the recorded one, or the sizes are equal and the roots differ;
    422 when the consistency proof does not verify.  No record counts as the empty tree: size 0 and
    the empty-tree root, so a size-0 checkpoint with any other root is refused (409), as is a
    non-empty proof from size 0 (422)."""
    origin = _origin_of(request.note)
    log = logs.get(origin)
    if log is None:
        raise WitnessError(404, "unknown log")
    try:
        cp = notes.open_checkpoint(request.note, log.verifiers, origin=log.origin)
    except (notes.UnverifiedNote, notes.BadSignature):
        raise WitnessError(403, "the checkpoint is not signed by the log's key") from None
    except notes.NoteError as exc:
        raise WitnessError(400, f"the checkpoint is malformed ({exc.code})") from None
    if request.old > cp.size:
        raise WitnessError(400, "the old size is larger than the checkpoint's")
    known = record if record is not None else Record(0, EMPTY_ROOT)
    if request.old != known.size:
        raise WitnessError(409, "the old size is not the size of the latest cosigned checkpoint", size=known.size)
    if request.old == cp.size:
        if cp.root != known.root:
            raise WitnessError(409, "a different root for the size already cosigned", size=known.size)
        if request.proof:
            raise WitnessError(422, "the consistency proof between equal sizes must be empty")
        return cp
    if request.old == 0:
        if request.proof:
            raise WitnessError(422, "the consistency proof from size 0 must be empty")
        return cp
    if not merkle.verify_consistency(request.old, cp.size, known.root, cp.root, list(request.proof)):
        raise WitnessError(422, "the consistency proof does not verify")
    return cp


def origin_of_request(request: AddCheckpoint) -> str:
    return _origin_of(request.note)


# ---------------------------------------------------------------- the pull form


@dataclass(frozen=True)
class Cosigned:
    checkpoint: notes.Checkpoint
    note: str  # the log's signed note
    line: str  # the cosignature line to append to it

    @property
    def cosigned_note(self) -> str:
        return self.note + self.line


def witness(*, new_note: str, previous_note: str | None, log_verifier: notes.Verifier,
            signer: notes.WitnessSigner, timestamp: int,
            consistency: Callable[[int, int], Sequence[bytes]]) -> Cosigned:
    """Check ``new_note`` against what the witness saw before and cosign it (the same checks as
    ``check_request``; ``consistency(old, new)`` fetches the log's proof between two sizes)."""
    try:
        new = notes.open_checkpoint(new_note, log_verifier)
    except notes.NoteError as exc:
        raise WitnessRefusal(f"the checkpoint is not signed by the log's key ({exc})") from None
    old = notes.open_checkpoint(previous_note, log_verifier) if previous_note is not None else None
    known = Record(old.size, old.root) if old is not None else Record(0, EMPTY_ROOT)
    if new.size < known.size:
        raise WitnessRefusal(f"rollback: the log shows {new.size} entries after having shown {known.size}")
    if new.size == known.size and new.root != known.root:
        raise WitnessRefusal(f"fork: two different roots for the same size {new.size}")
    if known.size > 0 and new.size > known.size:
        proof = list(consistency(known.size, new.size))
        if not merkle.verify_consistency(known.size, new.size, known.root, new.root, proof):
            raise WitnessRefusal(f"fork: the tree of size {new.size} does not extend the tree of size "
                                 f"{known.size} the witness cosigned before")
    return Cosigned(new, new_note, notes.cosign(new, signer, timestamp))
