"""Appending to the audit log, inside the caller's transaction.

``record`` is called by every area's services in the same session as the change it
records, so a change without its event cannot commit.  The single ``audit_head`` row is
locked (SELECT … FOR UPDATE on PostgreSQL; SQLite serialises writers) so sequence numbers
are gapless and follow commit order.
"""
from __future__ import annotations

import functools
import hashlib
import json
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import merkle, notes
from audit.models import AuditCheckpoint, AuditCosignature, AuditEntry, AuditHead, AuditNode, AuditWitness
from audit.rules import GENESIS, SALT_BYTES, TENDER_KIND, BadSubject, Entry, entry_subject, jsonable, verify_chain
from core.actor import Actor
from core.errors import N_, Conflict, InvalidInput, PermissionDenied
from core.roles import ADMINS


@dataclass(frozen=True)
class Appended:
    """The entry ``record`` wrote, with the columns of ``AuditEntry`` (``to_entry`` reads it the same way)."""

    seq: int
    at: datetime
    actor_id: int | None
    actor: str
    role: str
    address: str
    action: str
    object_type: str
    object_id: str
    subject_kind: str | None
    subject_id: str | None
    payload: str
    prev_hash: str
    hash: str
    leaf_hash: str
    salt: str | None = None
    frontier: tuple[bytes, ...] = field(default=(), compare=False)  # compact range of the tree it ends
    path: tuple[bytes, ...] = field(default=(), compare=False)  # this leaf's inclusion path in that tree

    @property
    def tender_id(self) -> int | None:
        return int(self.subject_id) if self.subject_kind == TENDER_KIND and self.subject_id is not None else None

    @property
    def root(self) -> bytes:
        """The tree's root with this entry as its last leaf (computed when asked, not under the lock)."""
        return merkle.range_root(self.frontier)


SUBJECT_KINDS = "audit.subject_kinds"
"""session.info: the subject kinds the application's areas claim (set by the app's session factory)."""


class UnknownSubjectKind(BadSubject):
    """An entry filed under a subject kind no area of the application claims (``Area.subject_kinds``)."""


def record(session: Session, *, actor: Actor, action: str, object_type: str, object_id: Any,
           now: datetime, payload: Mapping[str, Any] | None = None,
           subject: tuple[str, Any] | None = None, tender_id: int | None = None) -> Appended:
    """Append one entry.  Reads only the locked head row (which keeps the tree's compact range)
    and writes the entry, the Merkle subtrees it completes and the new head.  On PostgreSQL that is
    one call of ``audit_append()`` (migrations 0002, 0004, 0011), so the head's lock is held for no round
    trip but the commit's; on SQLite the same steps run here, as plain SQL on the session's connection.

    ``subject=(kind, id)`` files the entry under the history of that subject (replay, the per-subject
    filters); ``tender_id=42`` is short for ``subject=("tender", 42)``.  The subject is kept next to the
    entry, not in its hashed bytes (``audit.rules.entry_subject``).  In a session of the application a kind
    none of its areas claims is refused (``UnknownSubjectKind``).

    Every entry is written in format version 2: with 32 random bytes (``salt``) inside its hashed bytes, so
    that its published leaf hash cannot be matched against guesses of its fields."""
    filed = entry_subject(subject, tender_id, object_type=object_type, object_id=str(object_id))
    subject_kind, subject_id = filed if filed is not None else (None, None)
    claimed = session.info.get(SUBJECT_KINDS)
    if subject_kind is not None and claimed is not None and subject_kind not in claimed:
        raise UnknownSubjectKind(f"audit subject kind {subject_kind} is claimed by no area of this application")
    session.flush()  # the change being recorded must be valid before it is logged
    # the request that made it signs a checkpoint once it committed, when the app counts it a key act
    session.info.setdefault(RECORDED, set()).add(action)
    salt = secrets.token_hex(SALT_BYTES)
    draft = Entry(seq=0, at=now, actor_id=actor.user_id, actor=actor.name, role=actor.role,
                  address=actor.address, action=action, object_type=object_type, object_id=str(object_id),
                  payload=jsonable(dict(payload or {})), prev_hash=GENESIS, salt=salt)
    slot = draft.encoder()  # all the encoding work, before the head is locked
    stored_payload = json.dumps(draft.payload, ensure_ascii=False, sort_keys=True)
    conn = session.connection()
    sql = _sql(conn.dialect)
    if conn.dialect.name == "postgresql":
        seq, prev, digest, leaf_hex, old, new = conn.exec_driver_sql(_CALL_APPEND, {
            "before": slot.before, "middle": slot.middle, "after": slot.after, "at": sql.at(now), "actor_id": actor.user_id,
            "actor": actor.name, "role": actor.role, "address": actor.address, "action": action,
            "object_type": object_type, "object_id": str(object_id), "subject_kind": subject_kind,
            "subject_id": subject_id, "payload": stored_payload, "salt": salt}).one()
        return Appended(seq=seq, at=now, actor_id=actor.user_id, actor=actor.name, role=actor.role,
                        address=actor.address, action=action, object_type=object_type, object_id=str(object_id),
                        subject_kind=subject_kind, subject_id=subject_id, payload=stored_payload, prev_hash=prev,
                        hash=digest, leaf_hash=leaf_hex, salt=salt, frontier=_hashes(new), path=tuple(reversed(_hashes(old))))
    head = conn.exec_driver_sql(sql.head).first()
    if head is None:
        conn.exec_driver_sql(sql.new_head)
        seq, prev, kept = 0, GENESIS, ""
    else:
        seq, prev, kept = head
    frontier = _frontier(session, seq, kept)
    encoded = slot.fill(seq + 1, prev)
    digest = hashlib.sha256(encoded).hexdigest()
    leaf = merkle.leaf_hash(encoded)
    path = tuple(merkle.last_leaf_path(frontier))
    frontier, completed = merkle.range_append(frontier, seq, leaf)
    row = Appended(seq=seq + 1, at=now, actor_id=actor.user_id, actor=actor.name, role=actor.role,
                   address=actor.address, action=action, object_type=object_type, object_id=str(object_id),
                   subject_kind=subject_kind, subject_id=subject_id, payload=stored_payload, prev_hash=prev,
                   hash=digest, leaf_hash=leaf.hex(), salt=salt, frontier=tuple(frontier), path=path)
    params = {**{c: getattr(row, c) for c in _ENTRY_COLUMNS}, "at": sql.at(now),
              "new_frontier": ",".join(h.hex() for h in frontier)}
    for i, (start, size, value) in enumerate(completed):
        params.update({f"node_start_{i}": start, f"node_size_{i}": size, f"node_hash_{i}": value.hex()})
    for statement in sql.write(len(completed)):
        conn.exec_driver_sql(statement, params)
    return row


_ENTRY_COLUMNS = [c.key for c in AuditEntry.__table__.columns]
_CALL_APPEND = ("SELECT * FROM audit_append(%(before)s, %(middle)s, %(after)s, %(at)s, %(actor_id)s, %(actor)s, "
                "%(role)s, %(address)s, %(action)s, %(object_type)s, %(object_id)s, %(subject_kind)s, %(subject_id)s, "
                "%(payload)s, %(salt)s)")


def _hashes(joined: str) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(h) for h in joined.split(",")) if joined else ()


@dataclass(frozen=True)
class _AppendSQL:
    """The statements of an append in the driver's own parameter style, built once per dialect."""

    head: str
    new_head: str
    at: Callable[[datetime], Any]  # the timestamp as the column type binds it
    write: Callable[[int], list[str]]  # statements for an append completing n subtrees


@functools.cache
def _sql(dialect) -> _AppendSQL:
    """The append done here, statement by statement (SQLite; PostgreSQL calls audit_append() instead)."""
    columns = _ENTRY_COLUMNS
    mark = (lambda name: f"%({name})s") if dialect.paramstyle == "pyformat" else (lambda name: f":{name}")
    entry = f"INSERT INTO audit_entry ({', '.join(columns)}) VALUES ({', '.join(mark(c) for c in columns)})"
    head = (f"UPDATE audit_head SET seq = {mark('seq')}, hash = {mark('hash')}, frontier = {mark('new_frontier')} "
            f"WHERE id = 1")

    def nodes(n: int) -> str:
        rows = ", ".join(f"({mark(f'node_start_{i}')}, {mark(f'node_size_{i}')}, {mark(f'node_hash_{i}')})"
                         for i in range(n))
        return f"INSERT INTO audit_node (start, size, hash) VALUES {rows}"

    @functools.cache
    def write(n: int) -> list[str]:
        return [entry] + ([nodes(n)] if n else []) + [head]

    # SQLite: the transaction began with BEGIN IMMEDIATE and holds the write lock already
    lock = "" if dialect.name == "sqlite" else " FOR UPDATE"
    bind = AuditEntry.__table__.c.at.type.bind_processor(dialect) or (lambda value: value)
    return _AppendSQL(head=f"SELECT seq, hash, frontier FROM audit_head WHERE id = 1{lock}",
                      new_head=f"INSERT INTO audit_head (id, seq, hash, frontier) VALUES (1, 0, '{GENESIS}', '')",
                      at=bind, write=write)


def _frontier(session: Session, seq: int, kept: str | None) -> list[bytes]:
    """The compact range kept in the head; rebuilt from the stored subtrees for a log written before
    the head kept it."""
    if kept is not None:
        return [bytes.fromhex(h) for h in kept.split(",")] if kept else []
    keys = merkle.range_subtrees(seq)
    source = TreeSource(session)
    source.prefetch(keys)
    return [source.subtree(start, size) for start, size in keys]


class TreeSource:
    """Perfect-subtree hashes of the log, read from the database (leaves from audit_entry,
    larger subtrees from audit_node); what audit.merkle's proof functions need, O(log n) reads each."""

    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[tuple[int, int], bytes] = {}

    def subtree(self, start: int, size: int) -> bytes:
        key = (start, size)
        if key not in self.cache:
            if size == 1:
                value = self.session.scalar(select(AuditEntry.leaf_hash).where(AuditEntry.seq == start + 1))
            else:
                value = self.session.scalar(select(AuditNode.hash).where(AuditNode.start == start,
                                                                         AuditNode.size == size))
            if value is None:
                raise LookupError(f"missing Merkle subtree [{start}, {start + size})")
            self.cache[key] = bytes.fromhex(value)
        return self.cache[key]


    def prefetch(self, keys: list[tuple[int, int]]) -> None:
        """Read the given subtrees in two queries instead of one round trip each."""
        from sqlalchemy import and_, or_

        leaves = sorted({start + 1 for start, size in keys if size == 1 and (start, size) not in self.cache})
        nodes = sorted({(start, size) for start, size in keys if size > 1 and (start, size) not in self.cache})
        if leaves:
            for seq, value in self.session.execute(select(AuditEntry.seq, AuditEntry.leaf_hash)
                                                   .where(AuditEntry.seq.in_(leaves))):
                self.cache[(seq - 1, 1)] = bytes.fromhex(value)
        if nodes:
            for start, size, value in self.session.execute(
                    select(AuditNode.start, AuditNode.size, AuditNode.hash).where(
                        or_(*(and_(AuditNode.start == a, AuditNode.size == b) for a, b in nodes)))):
                self.cache[(start, size)] = bytes.fromhex(value)


class _Recorder:
    """A stand-in source that notes which subtrees a computation asks for (the shape of a proof
    depends only on the index and sizes, never on hash values)."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []

    def subtree(self, start: int, size: int) -> bytes:
        self.keys.append((start, size))
        return bytes(32)


def _batched(session: Session, compute):
    recorder = _Recorder()
    compute(recorder)
    source = TreeSource(session)
    source.prefetch(recorder.keys)
    return compute(source)


def inclusion(session: Session, index: int, size: int) -> tuple[bytes, list[bytes], bytes]:
    """(leaf hash, inclusion path, root) at ``size``, in a few queries."""
    return _batched(session, lambda src: (src.subtree(index, 1), merkle.inclusion_path(src, index, size),
                                          merkle.root_at(src, size)))


def consistency(session: Session, old: int, new: int) -> tuple[list[bytes], bytes, bytes]:
    """(consistency path, old root, new root), in a few queries."""
    return _batched(session, lambda src: (merkle.consistency_path(src, old, new), merkle.root_at(src, old),
                                          merkle.root_at(src, new)))


def tree_size(session: Session) -> int:
    head = session.get(AuditHead, 1)
    return head.seq if head else 0


def root_at(session: Session, size: int) -> bytes:
    return merkle.root_at(TreeSource(session), size)


def to_entry(row: AuditEntry) -> Entry:
    return Entry(seq=row.seq, at=row.at, actor_id=row.actor_id, actor=row.actor, role=row.role,
                 address=row.address, action=row.action, object_type=row.object_type,
                 object_id=row.object_id, payload=json.loads(row.payload), prev_hash=row.prev_hash,
                 salt=row.salt)


def iter_entries(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.execute(select(AuditEntry).where(AuditEntry.seq > last)
                               .order_by(AuditEntry.seq).limit(batch)).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(session: Session) -> int:
    """Recompute the whole chain from the database; raise audit.rules.ChainBroken on tampering."""
    return verify_chain((to_entry(r), r.hash) for r in iter_entries(session))


def events_for(session: Session, *, tender_id: int | None = None,
               subject: tuple[str, Any] | None = None) -> list[AuditEntry]:
    """The entries filed under one subject (``subject=(kind, id)``, or ``tender_id=``), in log order."""
    filed = entry_subject(subject, tender_id, object_type="", object_id="")
    if filed is None:
        raise BadSubject("events_for needs a subject or a tender_id")
    kind, subject_id = filed
    return list(session.execute(select(AuditEntry).where(AuditEntry.subject_kind == kind,
                                                         AuditEntry.subject_id == subject_id)
                                .order_by(AuditEntry.seq)).scalars())


# ---------------------------------------------------------------- checkpoints

RECORDED = "audit.recorded"  # session.info: the actions this session recorded (the app pops it after a request)


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    """The latest checkpoint of the public list (not one signed for a single receipt)."""
    return session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.listed.is_(True))
                          .order_by(AuditCheckpoint.size.desc(), AuditCheckpoint.id.desc()).limit(1))


def issue_checkpoint(session: Session, *, signer: notes.Signer, origin: str, now: datetime,
                     reason: str, last: Appended | None = None, listed: bool = True) -> AuditCheckpoint:
    """Sign the log as it stands (C2SP tlog-checkpoint in a signed note) and keep it.  ``last``: the entry
    this transaction appended last, whose tree root ``record`` already knows (nothing is read then).
    ``listed=False``: a checkpoint for one receipt, kept but never in the public list (its time and number
    would tell what kind of entry it was made for).  ``reason`` is for supervisors only."""
    if last is not None:
        size, root = last.seq, last.root
    else:
        size = tree_size(session)
        root = root_at(session, size)
    note = notes.sign_checkpoint(notes.Checkpoint(origin=origin, size=size, root=root), signer)
    cp = AuditCheckpoint(size=size, root=root.hex(), note=note, reason=reason, created_at=now, listed=listed)
    session.add(cp)
    session.flush()
    return cp


def checkpoint_if_due(session: Session, *, signer: notes.Signer, origin: str, now: datetime,
                      every_entries: int, every_seconds: int, key_actions: Collection[str],
                      milestones_only: bool = False) -> AuditCheckpoint | None:
    """A new public checkpoint when entries arrived since the last one and: a key act (a public
    milestone) is among them, or ``every_entries`` have accumulated, or the last one is ``every_seconds``
    old.  Apart from milestones, which are public at once, nothing here depends on what the entries are.
    ``milestones_only``: only for a key act (what a write request checks; the schedule is kept by readers
    of the checkpoints and by ``sunbid audit checkpoint``, so no checkpoint is timed by a write)."""
    last = latest_checkpoint(session)
    size = tree_size(session)
    done = last.size if last else 0
    if size == done:
        return None
    key_act = session.scalar(select(AuditEntry.action).where(AuditEntry.seq > done,
                                                             AuditEntry.action.in_(sorted(key_actions))).limit(1))
    if key_act is not None:
        reason = key_act
    elif milestones_only:
        return None
    elif size - done >= every_entries:
        reason = "entries"
    elif last is None or (now - last.created_at).total_seconds() >= every_seconds:
        reason = "time"
    else:
        return None
    return issue_checkpoint(session, signer=signer, origin=origin, now=now, reason=reason)


# ---------------------------------------------------------------- witnesses

class CosignatureRefused(InvalidInput):
    code = "cosignature_refused"
    default_message = N_("The cosignature was not accepted: %(reason)s.")


def register_witness(session: Session, *, actor: Actor, vkey: str, now: datetime) -> AuditWitness:
    if actor.role not in ADMINS:
        raise PermissionDenied()
    verifier = notes.WitnessVerifier.from_vkey(vkey.strip())
    if session.scalar(select(AuditWitness).where(AuditWitness.name == verifier.name)):
        raise Conflict(N_("A witness with this name is already registered."))
    witness = AuditWitness(name=verifier.name, vkey=verifier.vkey(), created_at=now)
    session.add(witness)
    session.flush()
    record(session, actor=actor, action="witness.registered", object_type="witness", object_id=witness.id,
           now=now, payload={"name": verifier.name, "vkey": verifier.vkey()})
    return witness


def _store_cosignature(session: Session, checkpoint: AuditCheckpoint, *, name: str, timestamp: int, line: str,
                       now: datetime) -> AuditCosignature:
    """Keep a verified cosignature line (one per checkpoint and witness) and record it."""
    existing = session.scalar(select(AuditCosignature).where(AuditCosignature.checkpoint_id == checkpoint.id,
                                                             AuditCosignature.witness == name))
    if existing is not None:
        return existing
    cosig = AuditCosignature(checkpoint_id=checkpoint.id, witness=name, timestamp=timestamp, line=line,
                             created_at=now)
    session.add(cosig)
    session.flush()
    record(session, actor=Actor(user_id=None, name=name, role="witness", address="-"),
           action="checkpoint.cosigned", object_type="checkpoint", object_id=checkpoint.id, now=now,
           payload={"tree_size": checkpoint.size, "root": checkpoint.root, "timestamp": timestamp})
    return cosig


def add_cosignature(session: Session, *, cosigned_note: str, now: datetime) -> AuditCosignature:
    """Store a registered witness's cosignature of one of the platform's checkpoints.  The signature is the
    credential: anyone may deliver it, only a registered witness's key makes it count."""
    text, _sep, signatures = cosigned_note.partition("\n\n")
    checkpoint = session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.note.startswith(text + "\n\n"))
                                .order_by(AuditCheckpoint.id).limit(1))
    if checkpoint is None:
        raise CosignatureRefused(reason="no such checkpoint")
    witnesses = {w.name: w for w in session.scalars(select(AuditWitness))}
    for line in signatures.splitlines():
        name = line[2:].split(" ", 1)[0] if line.startswith("— ") else ""
        witness = witnesses.get(name)
        if witness is None:
            continue
        timestamp = notes.verify_cosignature(checkpoint.note + line + "\n", witness.vkey)
        if timestamp is None:
            continue
        return _store_cosignature(session, checkpoint, name=name, timestamp=timestamp, line=line + "\n", now=now)
    raise CosignatureRefused(reason="no valid cosignature from a registered witness")


# ---------------------------------------------------------------- pushing to witnesses (c2sp.org/tlog-witness)


@dataclass(frozen=True)
class WitnessPush:
    """What to send one witness: the latest checkpoint, the size the witness is believed to hold (``old``)
    and the consistency proof from it."""

    checkpoint_id: int
    size: int
    note: str
    old: int
    proof: tuple[bytes, ...]


def cosigned_size(session: Session, *, witness: str) -> int:
    """The largest tree size ``witness`` has cosigned for this log (0: none), the ``old`` size to send it."""
    size = session.scalar(select(AuditCheckpoint.size).join(AuditCosignature,
                                                            AuditCosignature.checkpoint_id == AuditCheckpoint.id)
                          .where(AuditCosignature.witness == witness).order_by(AuditCheckpoint.size.desc()).limit(1))
    return int(size or 0)


def witness_push(session: Session, *, witness: str, old: int | None = None) -> WitnessPush | None:
    """The ``add-checkpoint`` request for ``witness``: the latest checkpoint with a consistency proof from
    ``old`` (default: the size it last cosigned); None when there is no checkpoint yet or the witness has
    cosigned the latest already.  Reads only."""
    latest = latest_checkpoint(session)
    if latest is None:
        return None
    if session.scalar(select(AuditCosignature.id).where(AuditCosignature.checkpoint_id == latest.id,
                                                        AuditCosignature.witness == witness)) is not None:
        return None
    if old is None:
        old = cosigned_size(session, witness=witness)
    proof: list[bytes] = []
    if 0 < old < latest.size:
        proof = consistency(session, old, latest.size)[0]
    return WitnessPush(latest.id, latest.size, latest.note, old, tuple(proof))


def store_pushed_cosignature(session: Session, *, witness_vkey: str, checkpoint_id: int, response: str,
                             now: datetime) -> AuditCosignature:
    """Keep the cosignature a witness returned for a pushed checkpoint (its ``add-checkpoint`` response: one or
    more signature lines), after verifying it against the witness's configured key; lines from other keys are
    ignored (the spec's "MUST ignore any cosignatures from unknown keys").  A witness configured but not yet
    registered is registered now (``witness.registered``); one registered under another key is refused."""
    verifier = notes.WitnessVerifier.from_vkey(witness_vkey)
    checkpoint = session.get(AuditCheckpoint, checkpoint_id)
    if checkpoint is None:
        raise CosignatureRefused(reason="no such checkpoint")
    registered = session.scalar(select(AuditWitness).where(AuditWitness.name == verifier.name))
    if registered is None:
        register_witness(session, actor=Actor.system("witness-push"), vkey=verifier.vkey(), now=now)
    elif registered.vkey != verifier.vkey():
        raise CosignatureRefused(reason="the witness is registered with another key")
    if not response.endswith("\n"):
        raise CosignatureRefused(reason="the witness's response does not end in a newline")
    for line in response[:-1].split("\n"):
        if not line.startswith("— "):
            raise CosignatureRefused(reason="the witness's response is not signature lines")
        try:
            timestamp = notes.verify_cosignature(checkpoint.note + line + "\n", verifier)
        except notes.NoteError:
            timestamp = None
        if timestamp is not None:
            return _store_cosignature(session, checkpoint, name=verifier.name, timestamp=timestamp, line=line + "\n",
                                      now=now)
    raise CosignatureRefused(reason="no valid cosignature from the witness's key")
