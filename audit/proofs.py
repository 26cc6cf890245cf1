"""Offline-verifiable proofs that an entry is in the audit log: the c2sp.org/tlog-proof text format.

Pure module (no web framework, no database, no clock).  A proof is a block of lines separated by
newlines:

    c2sp.org/tlog-proof@v1
    extra <base64>                  optional, opaque and NOT authenticated
    index <zero-based index, decimal without leading zeros>
    <base64 SHA-256 hash>           zero or more: the RFC 9162 inclusion path, leaf's sibling first
    (an empty line)
    <the signed checkpoint note, verbatim: origin, size, base64 root, empty line, signature lines>

:func:`encode` writes one, :func:`parse` reads one back (refusing anything but the canonical form, so
``encode(parse(t)) == t``), and :func:`verify` checks it against a leaf hash and the log's verifier key:
the checkpoint's signature and origin, that the index lies inside the checkpointed tree, and that the
path leads from the leaf to the signed root.  Every refusal is a :class:`ProofError` whose ``reason``
says what is wrong.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from audit import merkle, notes
from core.errors import N_, InvalidInput

__all__ = ["HEADER", "ProofError", "MalformedProof", "UntrustedCheckpoint", "InclusionFailed",
           "TlogProof", "encode", "parse", "verify"]

HEADER = "c2sp.org/tlog-proof@v1"
MAX_INDEX = 2**63 - 1
MAX_PATH = 64  # an RFC 9162 inclusion path in a tree of fewer than 2**64 leaves is at most 64 hashes
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HASH_SIZE = 32


class ProofError(InvalidInput):
    """Base of every refusal of a transparency-log proof; ``params["reason"]`` says what is wrong."""

    code = "tlog_proof_invalid"
    default_message = N_("The transparency-log proof does not verify: %(reason)s.")

    @property
    def reason(self) -> str:
        return str(self.params.get("reason", ""))


class MalformedProof(ProofError):
    """The text is not a c2sp.org/tlog-proof@v1 block."""

    code = "tlog_proof_malformed"


class UntrustedCheckpoint(ProofError):
    """The checkpoint is malformed, unsigned by the log's key, or badly signed."""

    code = "tlog_proof_checkpoint"


class InclusionFailed(ProofError):
    """The index is outside the checkpointed tree, or the path does not lead to its root."""

    code = "tlog_proof_inclusion"




@dataclass(frozen=True)
class TlogProof:
    """One proof: the entry's zero-based index, its inclusion path, the signed checkpoint note it is
    proven against (verbatim, with any witness cosignatures), and optional opaque extra data."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.index, int) or isinstance(self.index, bool) or not 0 <= self.index <= MAX_INDEX:
            raise MalformedProof(reason="the index is not a whole number between 0 and 2^63-1")
        hashes = tuple(self.hashes)
        if len(hashes) > MAX_PATH or not all(isinstance(h, bytes | bytearray) and len(h) == _HASH_SIZE
                                              for h in hashes):
            raise MalformedProof(reason="the inclusion path must be at most 64 hashes of 32 bytes")
        object.__setattr__(self, "hashes", tuple(bytes(h) for h in hashes))
        if self.extra is not None:
            if not isinstance(self.extra, bytes | bytearray) or not self.extra:
                raise MalformedProof(reason="the extra data, when present, must be non-empty bytes")
            object.__setattr__(self, "extra", bytes(self.extra))
        if not isinstance(self.checkpoint, str) or not self.checkpoint.endswith("\n") \
                or self.checkpoint.startswith("\n"):
            raise MalformedProof(reason="the checkpoint must be a signed note ending in a newline")

    def encode(self) -> str:
        return encode(self)


def encode(proof: TlogProof) -> str:
    """The proof as c2sp.org/tlog-proof@v1 text."""
    lines = [HEADER]
    if proof.extra is not None:
        lines.append("extra " + notes.b64encode(proof.extra))
    lines.append(f"index {proof.index}")
    lines.extend(notes.b64encode(h) for h in proof.hashes)
    return "\n".join(lines) + "\n\n" + proof.checkpoint


def _checkpoint_of(note: str) -> notes.Checkpoint:
    """Parse the checkpoint in a signed note without trusting any key (structure only)."""
    try:
        notes.open_note(note, ())
    except notes.UnverifiedNote as exc:  # expected: no key is trusted here
        if exc.opened is None:
            raise UntrustedCheckpoint(reason="the checkpoint is not a signed note") from None
        text = exc.opened.text
    except notes.MalformedNote:
        raise UntrustedCheckpoint(reason="the checkpoint is not a well-formed signed note (is it cut short?)") \
            from None
    else:  # pragma: no cover - a note cannot verify with no keys
        raise AssertionError("unreachable")
    try:
        return notes.Checkpoint.parse(text)
    except notes.MalformedCheckpoint:
        raise UntrustedCheckpoint(reason="the signed note is not a checkpoint (origin, tree size, root)") from None


def parse(text: str) -> TlogProof:
    """Read a c2sp.org/tlog-proof@v1 block; :class:`MalformedProof` (or :class:`UntrustedCheckpoint`
    for a checkpoint that is not even a well-formed signed checkpoint) otherwise.  The signatures
    are not checked here: see :func:`verify`."""
    if not isinstance(text, str):
        raise MalformedProof(reason="the proof is not text")
    if not text:
        raise MalformedProof(reason="the proof is empty")
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        raise MalformedProof(reason="the checkpoint is missing: no empty line follows the proof hashes")
    if not checkpoint:
        raise MalformedProof(reason="the checkpoint is missing after the empty line")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise MalformedProof(reason=f"the first line is not {HEADER}")
    at = 1
    extra = None
    if at < len(lines) and lines[at].startswith("extra "):
        extra = notes.b64decode(lines[at][len("extra "):])
        if not extra:
            raise MalformedProof(reason="the extra line is not non-empty canonical base64")
        at += 1
    if at >= len(lines) or not lines[at].startswith("index "):
        raise MalformedProof(reason="the index line is missing")
    number = lines[at][len("index "):]
    if not _DECIMAL.fullmatch(number) or int(number) > MAX_INDEX:
        raise MalformedProof(reason="the index is not a decimal number without leading zeros")
    index = int(number)
    hashes = []
    for n, line in enumerate(lines[at + 1:], start=1):
        raw = notes.b64decode(line)
        if raw is None or len(raw) != _HASH_SIZE:
            raise MalformedProof(reason=f"proof line {n} is not a base64 SHA-256 hash")
        hashes.append(raw)
    if len(hashes) > MAX_PATH:
        raise MalformedProof(reason="the inclusion path is longer than any tree allows")
    _checkpoint_of(checkpoint)
    return TlogProof(index=index, hashes=tuple(hashes), checkpoint=checkpoint, extra=extra)


def verify(proof: str | TlogProof, *, leaf_hash: bytes, verifier: notes.Verifier,
           index: int | None = None) -> notes.Checkpoint:
    """Check that the entry whose RFC 9162 leaf hash is ``leaf_hash`` is in the log at the proof's
    index (or, when given, at ``index``) under the proof's checkpoint, signed by ``verifier``.

    Returns the verified checkpoint.  Raises :class:`MalformedProof`, :class:`UntrustedCheckpoint` or
    :class:`InclusionFailed` with a reason naming what is wrong.
    """
    p = parse(proof) if isinstance(proof, str) else proof
    if not isinstance(p, TlogProof):
        raise MalformedProof(reason="not a transparency-log proof")
    if index is not None and p.index != index:
        raise InclusionFailed(reason=f"the proof is for index {p.index}, not for index {index}")
    try:
        checkpoint = notes.open_checkpoint(p.checkpoint, verifier)
    except notes.UnverifiedNote:
        raise UntrustedCheckpoint(reason=f"the checkpoint carries no signature by the key "
                                         f"{verifier.name}+{verifier.key_id:08x}") from None
    except notes.BadSignature:
        raise UntrustedCheckpoint(reason="the checkpoint's signature does not match its text "
                                         "(the checkpoint was altered)") from None
    except notes.OriginMismatch:
        raise UntrustedCheckpoint(reason=f"the checkpoint's origin is not the key's name {verifier.name}") from None
    except notes.MalformedNote:
        raise UntrustedCheckpoint(reason="the checkpoint is not a well-formed signed note") from None
    except notes.MalformedCheckpoint:
        raise UntrustedCheckpoint(reason="the signed note is not a checkpoint (origin, tree size, root)") from None
    if p.index >= checkpoint.size:
        raise InclusionFailed(reason=f"index {p.index} is outside the checkpointed tree of size {checkpoint.size}")
    if not merkle.verify_inclusion(leaf_hash, p.index, checkpoint.size, list(p.hashes), checkpoint.root):
        raise InclusionFailed(reason=f"the inclusion path from index {p.index} does not lead to the signed root "
                                     f"of the checkpoint of size {checkpoint.size}")
    return checkpoint
