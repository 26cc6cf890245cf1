"""The draw engine ``sunbid-draw-v1`` and its published document (docs/expert-draw.md).

Pure module: no web framework, no database, no clock.  An outsider can re-implement every function here from
the document alone; ``verify_draw`` recomputes a published document and names the first field that does not
match.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from audit.notes import Checkpoint, NoteError
from audit.rules import canonical
from core.errors import N_, InvalidInput
from experts.rules import REASONS, is_pseudonym

VERSION = "sunbid-draw-v1"
STATUSES = ("notified", "confirmed", "declined", "missed")
REPLACED = frozenset({"declined", "missed"})
FIELDS = ("version", "request", "request_hash", "secret", "commitment", "contributions", "commitment_indexes",
          "checkpoint", "seed", "eligible", "excluded", "ranking", "drawn")
"""The fields of a published draw document, in the order the verifier checks them."""

_HEX32 = re.compile(r"[0-9a-f]{64}")


class ShortSpecialty(InvalidInput):
    code = "short_specialty"
    status = 409
    default_message = N_("Not enough eligible experts for specialty %(code)s: %(wanted)s wanted, %(found)s found.")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def request_hash(request: Mapping[str, Any]) -> bytes:
    """SHA-256 of the RFC 8785 canonical JSON of the request."""
    return sha256(canonical(request))


def commitment_of(value: bytes) -> bytes:
    """The commitment logged for a secret or a contribution: SHA-256 of its 32 bytes."""
    return sha256(value)


def seed_of(req_hash: bytes, checkpoint_root: bytes, secret: bytes, contributions: Sequence[bytes]) -> bytes:
    """SHA-256("sunbid-draw-v1" ‖ request_hash ‖ checkpoint root ‖ secret ‖ contributions in commitment order)."""
    h = hashlib.sha256(VERSION.encode("ascii"))
    for part in (req_hash, checkpoint_root, secret, *contributions):
        h.update(part)
    return h.digest()


def rank_key(seed: bytes, expert: str) -> bytes:
    """HMAC-SHA256 with the seed as key over the expert's pseudonym in UTF-8."""
    return hmac.new(seed, expert.encode("utf-8"), hashlib.sha256).digest()


def rank(seed: bytes, experts: Sequence[str]) -> list[str]:
    """The experts by rank key ascending (byte order)."""
    return sorted(experts, key=lambda e: rank_key(seed, e))


def rankings(seed: bytes, eligible: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    return {code: rank(seed, experts) for code, experts in eligible.items()}


@dataclass(frozen=True)
class Pick:
    expert: str
    specialty: str
    rank: int  # 1-based position in the specialty's ranking


def initial_draw(specialties: Sequence[Mapping[str, Any]], ranking: Mapping[str, Sequence[str]]) -> list[Pick]:
    """For each specialty in request order, the first ``count`` of its ranking not drawn for an earlier one;
    ``ShortSpecialty`` (nothing drawn) when a ranking runs out."""
    drawn: list[Pick] = []
    taken: set[str] = set()
    for s in specialties:
        code, count = s["code"], s["count"]
        picks = [(i, e) for i, e in enumerate(ranking[code], 1) if e not in taken][:count]
        if len(picks) < count:
            raise ShortSpecialty(code=code, wanted=count, found=len(picks))
        for i, e in picks:
            drawn.append(Pick(e, code, i))
            taken.add(e)
    return drawn


def next_in_walk(code: str, ranking: Mapping[str, Sequence[str]], drawn: Sequence[Pick]) -> Pick | None:
    """The replacement for a decline or a missed confirmation in ``code``: the next expert of that specialty's
    walk after its last drawn one, skipping anyone already drawn; None when the walk is over."""
    taken = {p.expert for p in drawn}
    last = max((p.rank for p in drawn if p.specialty == code), default=0)
    for i, e in enumerate(ranking[code][last:], last + 1):
        if e not in taken:
            return Pick(e, code, i)
    return None


# --------------------------------------------------------------------------- the published document


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def build_document(*, request: Mapping[str, Any], secret: bytes, contributions: Sequence[tuple[str, bytes]],
                   commitment_indexes: Sequence[int], checkpoint_note: str, eligible: Mapping[str, Sequence[str]],
                   excluded: Sequence[Mapping[str, Any]], drawn: Sequence[tuple[Pick, str]]) -> dict[str, Any]:
    """The published snapshot of a draw (docs/expert-draw.md, "The document"): every input and every result.
    ``contributions`` are (by, value) in commitment order, ``drawn`` (pick, status) in the order drawn, and
    ``checkpoint_note`` the whole signed checkpoint text."""
    body = checkpoint_note.split("\n\n", 1)[0] + "\n"
    cp = Checkpoint.parse(body)
    req_hash = request_hash(request)
    seed = seed_of(req_hash, cp.root, secret, [v for _, v in contributions])
    return {
        "version": VERSION,
        "request": dict(request),
        "request_hash": req_hash.hex(),
        "secret": secret.hex(),
        "commitment": commitment_of(secret).hex(),
        "contributions": [{"by": by, "commitment": commitment_of(v).hex(), "value": v.hex()}
                          for by, v in contributions],
        "commitment_indexes": list(commitment_indexes),
        "checkpoint": {"size": cp.size, "root": b64(cp.root), "note": checkpoint_note},
        "seed": seed.hex(),
        "eligible": {code: sorted(experts) for code, experts in eligible.items()},
        "excluded": [{"expert": e["expert"], "reasons": list(e["reasons"])} for e in excluded],
        "ranking": rankings(seed, eligible),
        "drawn": [{"expert": p.expert, "specialty": p.specialty, "rank": p.rank, "status": status}
                  for p, status in drawn],
    }


@dataclass(frozen=True)
class Mismatch:
    """The first thing in a draw document that does not match: the top-level ``field`` and what is wrong."""

    field: str
    detail: str

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}"


class _Bad(Exception):
    def __init__(self, field: str, detail: str):
        super().__init__(field, detail)
        self.mismatch = Mismatch(field, detail)


def _hex32(value: Any, field: str, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise _Bad(field, f"{what} is not 32 bytes in lowercase hex")
    return bytes.fromhex(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_request(doc: Mapping[str, Any]) -> list[dict]:
    req = doc["request"]
    if not isinstance(req, dict) or not isinstance(req.get("specialties"), list) or not req["specialties"]:
        raise _Bad("request", "request.specialties must be a non-empty list of {code, count}")
    seen = set()
    for i, s in enumerate(req["specialties"]):
        if (not isinstance(s, dict) or not isinstance(s.get("code"), str) or not _is_int(s.get("count"))
                or s["count"] < 1):
            raise _Bad("request", f"request.specialties[{i}] must be {{code, count}} with a positive count")
        if s["code"] in seen:
            raise _Bad("request", f"request.specialties[{i}]: {s['code']} is listed twice")
        seen.add(s["code"])
    return req["specialties"]


def _check_checkpoint(doc: Mapping[str, Any]) -> Checkpoint:
    cp = doc["checkpoint"]
    if not isinstance(cp, dict) or set(cp) != {"size", "root", "note"}:
        raise _Bad("checkpoint", "checkpoint must be {size, root, note}")
    note = cp["note"]
    if not isinstance(note, str) or "\n\n" not in note:
        raise _Bad("checkpoint", "checkpoint.note is not a signed checkpoint (text, a blank line, signatures)")
    try:
        parsed = Checkpoint.parse(note.split("\n\n", 1)[0] + "\n")
    except NoteError as exc:
        raise _Bad("checkpoint", f"checkpoint.note is not a checkpoint: {exc}") from None
    if cp["size"] != parsed.size:
        raise _Bad("checkpoint", f"checkpoint.size is {cp['size']!r}, the note says {parsed.size}")
    if cp["root"] != b64(parsed.root):
        raise _Bad("checkpoint", "checkpoint.root differs from the note's root")
    return parsed


def _check_pseudonyms(value: Any, field: str, what: str) -> list[str]:
    if not isinstance(value, list) or not all(is_pseudonym(e) for e in value):
        raise _Bad(field, f"{what} must be a list of pseudonyms")
    if len(set(value)) != len(value):
        raise _Bad(field, f"{what} lists an expert twice")
    return value


def _verify(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise _Bad("version", "the document is not a JSON object")
    for name in FIELDS:
        if name not in doc:
            raise _Bad(name, "missing")
    extra = sorted(set(doc) - set(FIELDS))
    if extra:
        raise _Bad(extra[0], "not a field of a sunbid-draw-v1 document")
    if doc["version"] != VERSION:
        raise _Bad("version", f"{doc['version']!r} is not {VERSION!r}")
    specialties = _check_request(doc)
    codes = [s["code"] for s in specialties]
    stated_hash = _hex32(doc["request_hash"], "request_hash", "request_hash")
    secret = _hex32(doc["secret"], "secret", "secret")
    stated_commitment = _hex32(doc["commitment"], "commitment", "commitment")
    contributions = doc["contributions"]
    if not isinstance(contributions, list):
        raise _Bad("contributions", "must be a list")
    values = []
    for i, c in enumerate(contributions):
        if not isinstance(c, dict) or set(c) != {"by", "commitment", "value"} or not isinstance(c["by"], str):
            raise _Bad("contributions", f"contributions[{i}] must be {{by, commitment, value}}")
        value = _hex32(c["value"], "contributions", f"contributions[{i}].value")
        if _hex32(c["commitment"], "contributions", f"contributions[{i}].commitment") != commitment_of(value):
            raise _Bad("contributions", f"contributions[{i}]: the value does not match its commitment")
        values.append(value)
    indexes = doc["commitment_indexes"]
    if (not isinstance(indexes, list) or len(indexes) != 1 + len(contributions)
            or not all(_is_int(i) and i >= 0 for i in indexes)):
        raise _Bad("commitment_indexes", "must give one log index for the platform's commitment and one per "
                                         "contribution")
    if any(a >= b for a, b in zip(indexes, indexes[1:])):
        raise _Bad("commitment_indexes", "are not in log order (the platform's first, then the contributions)")
    cp = _check_checkpoint(doc)
    if indexes[-1] >= cp.size:
        raise _Bad("commitment_indexes", f"entry {indexes[-1]} is not in the checkpoint's tree of {cp.size}")
    stated_seed = _hex32(doc["seed"], "seed", "seed")
    # A value and the hash of it disagree: the one the stated seed was made from is taken as the original.
    req_hash = request_hash(doc["request"])
    if stated_hash != req_hash:
        made_from_stated = seed_of(stated_hash, cp.root, secret, values) == stated_seed
        raise _Bad("request" if made_from_stated else "request_hash",
                   "the request_hash is not the SHA-256 of the request's canonical JSON")
    if stated_commitment != commitment_of(secret):
        made_from_secret = seed_of(req_hash, cp.root, secret, values) == stated_seed
        raise _Bad("commitment" if made_from_secret else "secret",
                   "the secret does not match its commitment (SHA-256 of the secret)")
    seed = seed_of(req_hash, cp.root, secret, values)
    if stated_seed != seed:
        raise _Bad("seed", "is not SHA-256(version ‖ request_hash ‖ checkpoint root ‖ secret ‖ contributions)")
    eligible, excluded, ranking = doc["eligible"], doc["excluded"], doc["ranking"]
    if not isinstance(eligible, dict) or list(eligible) != codes:
        raise _Bad("eligible", "must have one list per requested specialty, in request order")
    for code in codes:
        experts = _check_pseudonyms(eligible[code], "eligible", f"eligible[{code}]")
        if experts != sorted(experts):
            raise _Bad("eligible", f"eligible[{code}] is not sorted")
    if not isinstance(excluded, list):
        raise _Bad("excluded", "must be a list of {expert, reasons}")
    everyone = {e for code in codes for e in eligible[code]}
    names = []
    for i, x in enumerate(excluded):
        if (not isinstance(x, dict) or set(x) != {"expert", "reasons"} or not is_pseudonym(x["expert"])
                or not isinstance(x["reasons"], list) or not x["reasons"]
                or not all(r in REASONS for r in x["reasons"])):
            raise _Bad("excluded", f"excluded[{i}] must be {{expert, reasons}} with known reason codes")
        if x["expert"] in everyone:
            raise _Bad("excluded", f"excluded[{i}]: {x['expert']} is also eligible")
        names.append(x["expert"])
    if names != sorted(set(names)):
        raise _Bad("excluded", "is not sorted by expert, or lists one twice")
    if not isinstance(ranking, dict) or list(ranking) != codes:
        raise _Bad("ranking", "must have one list per requested specialty, in request order")
    for code in codes:
        ranked = _check_pseudonyms(ranking[code], "ranking", f"ranking[{code}]")
        if ranked != rank(seed, ranked):
            raise _Bad("ranking", f"ranking[{code}] is not in rank-key order")
        if sorted(ranked) != eligible[code]:
            raise _Bad("eligible", f"eligible[{code}] and ranking[{code}] list different experts")
    _check_drawn(doc["drawn"], specialties, ranking)


def _check_drawn(drawn: Any, specialties: Sequence[Mapping[str, Any]], ranking: Mapping[str, Sequence[str]]) -> None:
    if not isinstance(drawn, list):
        raise _Bad("drawn", "must be a list of {expert, specialty, rank, status}")
    picks: list[Pick] = []
    for i, d in enumerate(drawn):
        if (not isinstance(d, dict) or set(d) != {"expert", "specialty", "rank", "status"}
                or d.get("status") not in STATUSES or not _is_int(d.get("rank"))):
            raise _Bad("drawn", f"drawn[{i}] must be {{expert, specialty, rank, status}} with a known status")
        picks.append(Pick(d["expert"], d["specialty"], d["rank"]))
    try:
        first = initial_draw(specialties, ranking)
    except ShortSpecialty as exc:
        raise _Bad("drawn", f"the rankings cannot fill the request: {exc}") from None
    for i, want in enumerate(first):
        if i >= len(picks) or picks[i] != want:
            raise _Bad("drawn", f"drawn[{i}] should be {want.expert} for {want.specialty} at rank {want.rank}")
    counts = {s["code"]: s["count"] for s in specialties}
    for i in range(len(first), len(picks)):
        code = picks[i].specialty
        if code not in counts:
            raise _Bad("drawn", f"drawn[{i}]: {code} is not a requested specialty")
        active = sum(1 for p, d in zip(picks[:i], drawn) if p.specialty == code and d["status"] not in REPLACED)
        if active >= counts[code]:
            raise _Bad("drawn", f"drawn[{i}] replaces nobody: {code} has its {counts[code]} experts")
        want = next_in_walk(code, ranking, picks[:i])
        if want != picks[i]:
            expected = f"{want.expert} at rank {want.rank}" if want else "nobody (the walk is over)"
            raise _Bad("drawn", f"drawn[{i}] should be {expected}")


def verify_draw(doc: Any) -> Mismatch | None:
    """Recompute a published draw document: None when everything matches, else the first mismatch, naming
    its field (docs/expert-draw.md, "Verifying")."""
    try:
        _verify(doc)
    except _Bad as bad:
        return bad.mismatch
    return None


# --------------------------------------------------------------------------- against the log


@dataclass(frozen=True)
class LogEvidence:
    """What the log answers for one commitment index: its inclusion proof at the checkpoint's size (the leaf
    hash and the path) and, once the entry is disclosed to the reader, the entry's document (None before)."""

    index: int
    leaf_hash: bytes
    proof: Sequence[bytes]
    entry: Mapping[str, Any] | None


def check_against_log(doc: Mapping[str, Any], *, log_vkey: str,
                      evidence: Sequence[LogEvidence]) -> tuple[Mismatch | None, list[str]]:
    """Check a verified document against its audit log: the checkpoint is signed by the log's key, each
    commitment entry is in the checkpoint's tree (RFC 9162 inclusion proof), and each entry the reader may see
    is the one its leaf hash names and records its commitment.  Returns the first mismatch (or None) and notes
    on what could not be checked (entries not yet disclosed)."""
    from audit import merkle, notes

    try:
        cp = notes.open_checkpoint(doc["checkpoint"]["note"], notes.Verifier.from_vkey(log_vkey))
    except notes.NoteError as exc:
        return Mismatch("checkpoint", f"the note is not signed by the log's key: {exc}"), []
    commitments = [doc["commitment"], *(c["commitment"] for c in doc["contributions"])]
    by_index = {e.index: e for e in evidence}
    remarks: list[str] = []
    for index, commitment in zip(doc["commitment_indexes"], commitments):
        e = by_index.get(index)
        if e is None:
            return Mismatch("commitment_indexes", f"the log gave no proof for entry {index}"), remarks
        if not merkle.verify_inclusion(e.leaf_hash, index, cp.size, list(e.proof), cp.root):
            return Mismatch("commitment_indexes", f"entry {index} is not in the checkpoint's tree"), remarks
        if e.entry is None:
            remarks.append(f"entry {index} is not disclosed yet: its inclusion was checked, not its content")
            continue
        if merkle.leaf_hash(canonical(dict(e.entry))) != e.leaf_hash:
            return Mismatch("commitment_indexes", f"entry {index} does not match its leaf hash"), remarks
        payload = e.entry.get("payload") or {}
        if not isinstance(payload, Mapping) or payload.get("commitment") != commitment:
            return Mismatch("commitment_indexes", f"entry {index} does not record the commitment {commitment}"), remarks
    return None, remarks
