"""Signed notes, transparency-log checkpoints and witness cosignatures.

Pure module (no web framework, no database, no clock: every time value is an argument).
It implements, for Ed25519 only:

* c2sp.org/signed-note (v1.0.0) — "Format", "Signatures" and "Ed25519 signatures"
  (signature type ``0x01``), with the key encodings of ``golang.org/x/mod/sumdb/note``
  (``GenerateKey``, ``NewVerifier``, ``NewSigner``):

  - verifier key (vkey): ``<name>+<hex8 key ID>+base64(0x01 || 32-byte public key)``
  - signer key (skey):   ``PRIVATE+KEY+<name>+<hex8 key ID>+base64(0x01 || 32-byte seed)``

* c2sp.org/tlog-checkpoint (v1.0.0) — "Note text" and "Signatures" (the log's key name
  must equal the origin line for Sunbid's own log, which this module enforces; another log's key
  names may differ from its origin);

* c2sp.org/tlog-cosignature — the Ed25519 ``cosignature/v1`` type: signature type ``0x04``,
  ``timestamped_signature`` = ``u64 timestamp || 64-byte Ed25519 signature`` over
  ``"cosignature/v1\\ntime <timestamp>\\n" || checkpoint body``.  Witness keys are encoded as
  vkeys/skeys with type byte ``0x04`` (as ``filippo.io/torchwood`` ``CosignatureVerifier.String``
  and ``github.com/transparency-dev/formats/note`` ``VKeyToCosignatureV1`` do), so the key ID
  in the string is ``SHA-256(name || 0x0A || 0x04 || public key)[:4]``.

Invalid *data* (notes, keys, checkpoints) raises a :class:`NoteError`, an
:class:`~core.errors.InvalidInput` with a stable ``code``.  Misuse of the API by the calling
code (no signer, a timestamp out of range) raises :class:`ValueError` / :class:`TypeError`.

Parsing is deliberately a little stricter than the Go reference where that cannot reject
anything a conforming implementation produces: base64 must be canonical, and key names must
not contain ASCII control characters (such a name could never appear in a valid note).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import N_, InvalidInput

__all__ = [
    "ALG_ED25519", "ALG_COSIGNATURE_V1", "MAX_SIGNATURES", "MAX_TIMESTAMP",
    "NoteError", "MalformedNote", "BadSignature", "UnverifiedNote", "MalformedKey", "AmbiguousKeys",
    "MalformedCheckpoint", "OriginMismatch",
    "Signer", "Verifier", "WitnessSigner", "WitnessVerifier", "NoteVerifier",
    "Signature", "Opened", "Checkpoint",
    "is_valid_name", "key_id", "generate_signer", "generate_witness",
    "sign_note", "open_note", "sign_checkpoint", "open_checkpoint",
    "cosignature_message", "cosign", "verify_cosignature",
]

ALG_ED25519 = 0x01
"""Signature type of plain Ed25519 note signatures (c2sp.org/signed-note, "Signature types")."""
ALG_COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature)."""
MAX_SIGNATURES = 100
"""Most signature lines accepted in one note (the spec requires at least 16; Go uses 100)."""
MAX_TIMESTAMP = 2**63 - 1
"""A cosignature timestamp MUST NOT exceed 2^63 - 1 (c2sp.org/tlog-cosignature, "Format")."""
MAX_TREE_SIZE = 2**63 - 1

SIG_PREFIX = "\u2014 "  # em dash, space: start of every signature line
COSIGNATURE_HEADER = "cosignature/v1\n"
_TIMESTAMP_SIZE = 8
_ED25519_SIG_SIZE = 64
_KEY_SIZE = 32
_HASH_SIZE = 32

# Go's unicode.IsSpace: the Unicode White_Space property (note key names must not contain any).
_UNICODE_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


# --------------------------------------------------------------------------- errors


class NoteError(InvalidInput):
    """Base of every refusal of a note, key or checkpoint."""

    code = "note_error"
    default_message = N_("The signed note is not valid.")


class MalformedNote(NoteError):
    """The text is not a well-formed signed note (c2sp.org/signed-note, "Format")."""

    code = "malformed_note"
    default_message = N_("The signed note is malformed.")


class BadSignature(NoteError):
    """A signature from a known key failed to verify ("Signatures": clients SHOULD reject the note)."""

    code = "bad_signature"
    default_message = N_("The note has an invalid signature from key %(key)s.")


class UnverifiedNote(NoteError):
    """No signature from a known key ("Signatures": clients MUST reject the note).

    ``opened`` holds the parsed note, every signature being unverified.
    """

    code = "unverified_note"
    default_message = N_("The note has no signature from a trusted key.")
    opened: Opened | None = None


class MalformedKey(NoteError):
    """A key name, verifier key (vkey) or signer key (skey) is not well formed."""

    code = "malformed_key"
    default_message = N_("The note key is malformed.")


class AmbiguousKeys(NoteError):
    """Two different keys of one verifier set share a name and a key ID: a signature could not be told
    apart (Go's ``note.VerifierList`` refuses to pick one, and so does this module)."""

    code = "ambiguous_keys"
    default_message = N_("Two different keys have the same name and key ID (%(key)s).")


class MalformedCheckpoint(NoteError):
    """The note text is not a checkpoint (c2sp.org/tlog-checkpoint, "Note text")."""

    code = "malformed_checkpoint"
    default_message = N_("The checkpoint is malformed.")


class OriginMismatch(NoteError):
    """The log key's name is not the checkpoint origin (c2sp.org/tlog-checkpoint, "Signatures")."""

    code = "origin_mismatch"
    default_message = N_("The checkpoint origin %(origin)s does not match the log key %(name)s.")


# --------------------------------------------------------------------------- helpers


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes | None:
    """Standard base64 with padding (RFC 4648, section 4), canonical encodings only."""
    if not text.isascii():
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if b64encode(raw) == text else None


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _has_control(text: str) -> bool:
    """ASCII control characters other than newline (forbidden anywhere in a signed note)."""
    return any(ord(c) < 0x20 and c != "\n" for c in text)


def is_valid_name(name: object) -> bool:
    """A key name is non-empty UTF-8 with no Unicode space and no ``+`` (c2sp.org/signed-note,
    "Format"); ASCII control characters are refused too, since no note could carry them."""
    return (isinstance(name, str) and name != "" and _is_utf8(name) and "+" not in name
            and not any(c in _UNICODE_SPACES for c in name) and not _has_control(name))


def key_id(name: str, alg: int, public_key: bytes) -> int:
    """``SHA-256(key name || 0x0A || signature type || public key)[:4]`` as a big-endian uint32
    (c2sp.org/signed-note, "Signatures")."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _encode_key(name: str, kid: int, alg: int, material: bytes) -> str:
    return f"{name}+{kid:08x}+{b64encode(bytes([alg]) + material)}"


def _parse_key(parts: str, alg: int) -> tuple[str, int, bytes]:
    """Parse ``<name>+<hex8>+<base64(alg || 32 bytes)>`` as Go's NewVerifier/NewSigner do."""
    name, _, rest = parts.partition("+")
    hash16, _, key64 = rest.partition("+")
    raw = b64decode(key64)
    if not is_valid_name(name) or not _HEX8.fullmatch(hash16) or not raw:
        raise MalformedKey(reason="malformed key id")
    if raw[0] != alg:
        raise MalformedKey(reason="unknown key algorithm")
    if len(raw) != 1 + _KEY_SIZE:
        raise MalformedKey(reason="wrong key length")
    return name, int(hash16, 16), raw[1:]


def _check_name(name: str) -> None:
    if not is_valid_name(name):
        raise MalformedKey(reason="invalid key name")


# --------------------------------------------------------------------------- keys


class _Ed25519Verifier:
    """Verifier key of one signature type: ``<name>+<hex8 key ID>+base64(type || public key)``."""

    ALG: ClassVar[int] = ALG_ED25519
    __slots__ = ("name", "key_id", "public_key", "_key")

    def __init__(self, name: str, public_key: bytes):
        _check_name(name)
        if len(public_key) != _KEY_SIZE:
            raise MalformedKey(reason="wrong key length")
        try:
            self._key = Ed25519PublicKey.from_public_bytes(public_key)
        except ValueError:
            raise MalformedKey(reason="invalid Ed25519 public key") from None
        self.name = name
        self.public_key = bytes(public_key)
        self.key_id = key_id(name, self.ALG, self.public_key)

    @classmethod
    def from_vkey(cls, vkey: str):
        """Parse a verifier key, checking the key ID it states (Go ``note.NewVerifier``)."""
        if not isinstance(vkey, str):
            raise MalformedKey(reason="not a string")
        name, kid, public_key = _parse_key(vkey, cls.ALG)
        verifier = cls(name, public_key)
        if verifier.key_id != kid:
            raise MalformedKey(reason="key id does not match the key")
        return verifier

    def vkey(self) -> str:
        return _encode_key(self.name, self.key_id, self.ALG, self.public_key)

    def _ed25519_verify(self, msg: bytes, sig: bytes) -> bool:
        try:
            self._key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.vkey() == self.vkey()

    def __hash__(self) -> int:
        return hash((type(self), self.vkey()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, key_id={self.key_id:#010x})"


class _Ed25519Signer:
    """Signer key of one signature type: ``PRIVATE+KEY+<name>+<hex8 key ID>+base64(type || seed)``."""

    ALG: ClassVar[int] = ALG_ED25519
    VERIFIER: ClassVar[type[_Ed25519Verifier]] = _Ed25519Verifier
    __slots__ = ("name", "key_id", "_seed", "_key", "_verifier")

    def __init__(self, name: str, seed: bytes):
        _check_name(name)
        if len(seed) != _KEY_SIZE:
            raise MalformedKey(reason="wrong key length")
        self._seed = bytes(seed)
        self._key = Ed25519PrivateKey.from_private_bytes(self._seed)
        self._verifier = self.VERIFIER(name, self._key.public_key().public_bytes_raw())
        self.name = name
        self.key_id = self._verifier.key_id

    @classmethod
    def generate(cls, name: str):
        _check_name(name)
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_skey(cls, skey: str):
        """Parse a signer key; the key ID it states must be the one of the derived public key
        (Go ``note.NewSigner``)."""
        if not isinstance(skey, str) or not skey.startswith("PRIVATE+KEY+"):
            raise MalformedKey(reason="not a signer key")
        name, kid, seed = _parse_key(skey[len("PRIVATE+KEY+"):], cls.ALG)
        signer = cls(name, seed)
        if signer.key_id != kid:
            raise MalformedKey(reason="key id does not match the key")
        return signer

    def skey(self) -> str:
        return "PRIVATE+KEY+" + _encode_key(self.name, self.key_id, self.ALG, self._seed)

    def vkey(self) -> str:
        return self._verifier.vkey()

    def verifier(self):
        return self._verifier

    def __repr__(self) -> str:  # never shows the seed
        return f"{type(self).__name__}({self.name!r}, key_id={self.key_id:#010x})"


class Verifier(_Ed25519Verifier):
    """Ed25519 note verifier, type ``0x01`` (c2sp.org/signed-note, "Ed25519 signatures")."""

    ALG = ALG_ED25519
    __slots__ = ()

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Whether ``sig`` is this key's Ed25519 signature of ``msg`` (the note text)."""
        return len(sig) == _ED25519_SIG_SIZE and self._ed25519_verify(msg, sig)


class Signer(_Ed25519Signer):
    """Ed25519 note signer, type ``0x01``; ``sign`` returns the 64-byte RFC 8032 signature."""

    ALG = ALG_ED25519
    VERIFIER = Verifier
    __slots__ = ()

    def sign(self, msg: bytes) -> bytes:
        return self._key.sign(msg)


def cosignature_message(body: str | bytes, timestamp: int) -> bytes:
    """The Ed25519 ``cosignature/v1`` signed message (c2sp.org/tlog-cosignature,
    "Ed25519 signed message"): header line, ``time <decimal>`` line, then the checkpoint body."""
    _check_timestamp(timestamp)
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return f"{COSIGNATURE_HEADER}time {timestamp}\n".encode("ascii") + data


def _check_timestamp(timestamp: int) -> None:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise TypeError("a cosignature timestamp is an int (POSIX seconds)")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError("a cosignature timestamp is between 0 and 2**63 - 1")


class WitnessVerifier(_Ed25519Verifier):
    """Ed25519 cosignature/v1 verifier, type ``0x04`` (c2sp.org/tlog-cosignature, "Format").

    As a note verifier, ``verify(body, sig)`` takes ``sig`` = the 72-byte
    ``timestamped_signature`` (the signature line's payload after the key ID), so it can be
    passed to :func:`open_note` alongside log verifiers.
    """

    ALG = ALG_COSIGNATURE_V1
    __slots__ = ()

    def verify(self, msg: bytes, sig: bytes) -> bool:
        return self.verified_timestamp(msg, sig) is not None

    def verified_timestamp(self, msg: bytes, sig: bytes) -> int | None:
        """The cosignature's timestamp if ``sig`` is a valid cosignature of checkpoint ``msg``."""
        if len(sig) != _TIMESTAMP_SIZE + _ED25519_SIG_SIZE:
            return None
        timestamp = int.from_bytes(sig[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            return None
        try:  # only a checkpoint can be cosigned, and only in its canonical form
            text = msg.decode("utf-8")
            if Checkpoint.parse(text).body() != text:
                return None
        except (UnicodeDecodeError, MalformedCheckpoint):
            return None
        if not self._ed25519_verify(cosignature_message(msg, timestamp), sig[_TIMESTAMP_SIZE:]):
            return None
        return timestamp


class WitnessSigner(_Ed25519Signer):
    """Ed25519 cosignature/v1 signer, type ``0x04``.  No clock: the timestamp is an argument."""

    ALG = ALG_COSIGNATURE_V1
    VERIFIER = WitnessVerifier
    __slots__ = ()

    def sign(self, msg: bytes, timestamp: int) -> bytes:
        """The 72-byte ``timestamped_signature``: big-endian u64 timestamp || Ed25519 signature
        over :func:`cosignature_message`."""
        signature = self._key.sign(cosignature_message(msg, timestamp))
        return timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature


def generate_signer(name: str) -> tuple[str, str]:
    """A new Ed25519 note key pair ``(skey, vkey)`` for ``name`` (Go ``note.GenerateKey``).
    The skey is secret."""
    signer = Signer.generate(name)
    return signer.skey(), signer.vkey()


def generate_witness(name: str) -> tuple[str, str]:
    """A new Ed25519 cosignature/v1 key pair ``(skey, vkey)``, both with type byte ``0x04``."""
    signer = WitnessSigner.generate(name)
    return signer.skey(), signer.vkey()


# --------------------------------------------------------------------------- signed notes


class NoteVerifier(Protocol):
    """What :func:`open_note` needs of a key: :class:`Verifier` and :class:`WitnessVerifier` fit."""

    name: str
    key_id: int

    def verify(self, msg: bytes, sig: bytes) -> bool: ...


@dataclass(frozen=True)
class Signature:
    """One signature line: ``— <name> base64(key ID || signature)``."""

    name: str
    key_id: int
    base64: str

    @property
    def line(self) -> str:
        return f"{SIG_PREFIX}{self.name} {self.base64}\n"

    @property
    def signature(self) -> bytes:
        """The signature bytes after the 4-byte key ID."""
        return base64.b64decode(self.base64)[4:]


@dataclass(frozen=True)
class Opened:
    """An opened note: its text, the verified signatures and the ones from unknown keys."""

    text: str
    signatures: tuple[Signature, ...]
    unverified: tuple[Signature, ...] = field(default=())

    @property
    def unverified_lines(self) -> tuple[str, ...]:
        return tuple(s.line for s in self.unverified)


def _check_text(text: object) -> str:
    if not isinstance(text, str) or not _is_utf8(text) or not text.endswith("\n") or _has_control(text):
        raise MalformedNote(reason="note text must be UTF-8, end in a newline and have no control characters")
    return text


def _parse_note(note: str | bytes) -> tuple[str, list[str]]:
    """Split a signed note into its text and signature lines (c2sp.org/signed-note, "Format").  Each
    line starts with the em dash and a space; what follows is read by :func:`_signature`."""
    if isinstance(note, bytes | bytearray):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNote(reason="not UTF-8") from None
    if not isinstance(note, str) or not _is_utf8(note) or _has_control(note):
        raise MalformedNote(reason="not UTF-8 or has control characters")
    split = note.rfind("\n\n")  # the last empty line separates the text from the signatures
    if split < 0:
        raise MalformedNote(reason="no signature block")
    text, block = note[:split + 1], note[split + 2:]
    if not block.endswith("\n"):
        raise MalformedNote(reason="signature block does not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(reason="too many signatures")
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise MalformedNote(reason="not a signature line")
    return text, lines


def _signature(line: str) -> Signature | None:
    """The signature of one line (``— <name> base64(key ID || signature)``), or None when it is malformed:
    a bad name, base64 or length.  Such a line cannot be from a known key (its name and key ID cannot
    both match one), and signatures from unknown keys are ignored ("Signatures"), so it is ignored too."""
    name, _, b64 = line[len(SIG_PREFIX):].partition(" ")
    raw = b64decode(b64)
    if not is_valid_name(name) or raw is None or len(raw) < 5:
        return None
    return Signature(name, int.from_bytes(raw[:4], "big"), b64)


def _verifier_map(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, int], NoteVerifier]:
    """The verifiers by (name, key ID); :class:`AmbiguousKeys` when two different keys share both (the
    same key given twice is one key)."""
    known: dict[tuple[str, int], NoteVerifier] = {}
    for v in verifiers:
        key = (v.name, v.key_id)
        if key in known and known[key] != v:
            raise AmbiguousKeys(key=f"{v.name}+{v.key_id:08x}")
        known[key] = v
    return known


def sign_note(text: str, *signers: Signer) -> str:
    """Sign ``text`` (UTF-8, ending in a newline, no control character but newline) and return
    ``text + "\\n"`` followed by one ``— <name> base64(key ID || signature)`` line per signer
    (c2sp.org/signed-note, "Format" and "Signatures")."""
    text = _check_text(text)
    if not signers:
        raise ValueError("a signed note needs at least one signer")
    if len(signers) > MAX_SIGNATURES:
        raise ValueError("too many signers")
    msg = text.encode("utf-8")
    lines, seen = [], set()
    for s in signers:
        if not isinstance(s, Signer):
            raise TypeError("sign_note takes Signer objects (cosignatures come from cosign())")
        if (s.name, s.key_id) in seen:
            continue
        seen.add((s.name, s.key_id))
        payload = s.key_id.to_bytes(4, "big") + s.sign(msg)
        lines.append(Signature(s.name, s.key_id, b64encode(payload)).line)
    return text + "\n" + "".join(lines)


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier]) -> Opened:
    """Parse ``note`` and verify its signatures against the known ``verifiers``
    (c2sp.org/signed-note, "Signatures", following Go's ``note.Open``).

    A signature whose (name, key ID) matches no known key is kept as unverified, never an
    error; a malformed signature line (bad name, base64 or length) is ignored, as it cannot be a
    known key's.  Two different keys with one name and key ID among ``verifiers`` raise
    :class:`AmbiguousKeys`.  A known key's invalid signature raises :class:`BadSignature`; if no known key
    signed, :class:`UnverifiedNote` (whose ``opened`` holds the parsed note).  Repeated
    signatures by one known key are dropped after the first, and identical unknown lines too.
    """
    text, lines = _parse_note(note)
    known = _verifier_map(verifiers)
    msg = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    for line in lines:
        sig = _signature(line)
        if sig is None:  # malformed: from no known key, ignored like any unknown key's
            continue
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if (sig.name, sig.key_id) in seen:
            continue
        seen.add((sig.name, sig.key_id))
        if not verifier.verify(msg, sig.signature):
            raise BadSignature(key=f"{sig.name}+{sig.key_id:08x}")
        verified.append(sig)
    opened = Opened(text, tuple(verified), tuple(unverified))
    if not verified:
        error = UnverifiedNote()
        error.opened = opened
        raise error
    return opened


# --------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Checkpoint:
    """A transparency-log tree head (c2sp.org/tlog-checkpoint, "Note text"):
    origin, tree size, RFC 6962 root hash and optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        o = self.origin
        if (not isinstance(o, str) or o == "" or o != o.strip(" ") or "\n" in o or _has_control(o)
                or not _is_utf8(o)):
            raise MalformedCheckpoint(reason="invalid origin")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpoint(reason="invalid tree size")
        if not isinstance(self.root, bytes | bytearray) or len(self.root) != _HASH_SIZE:
            raise MalformedCheckpoint(reason="the root hash is not 32 bytes")
        object.__setattr__(self, "root", bytes(self.root))
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for ext in self.extensions:
            if not isinstance(ext, str) or ext == "" or "\n" in ext or _has_control(ext) or not _is_utf8(ext):
                raise MalformedCheckpoint(reason="invalid extension line")

    def body(self) -> str:
        """The note text: origin, decimal size and base64 root, then extension lines, each
        ending in a newline."""
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body; only the canonical form is accepted, so
        ``Checkpoint.parse(t).body() == t``."""
        if not isinstance(text, str) or not text.endswith("\n"):
            raise MalformedCheckpoint(reason="must end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedCheckpoint(reason="fewer than three lines")
        origin, size, root, *extensions = lines
        if not _DECIMAL.fullmatch(size):
            raise MalformedCheckpoint(reason="tree size is not a decimal without leading zeros")
        raw = b64decode(root)
        if raw is None:
            raise MalformedCheckpoint(reason="root hash is not base64")
        return cls(origin, int(size), raw, tuple(extensions))


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> str:
    """The checkpoint signed by its log, whose key name must be the origin
    (c2sp.org/tlog-checkpoint, "Signatures")."""
    if signer.name != cp.origin:
        raise OriginMismatch(origin=cp.origin, name=signer.name)
    return sign_note(cp.body(), signer)


def open_checkpoint(note: str | bytes, verifier: Verifier | Iterable[Verifier], *,
                    origin: str | None = None) -> Checkpoint:
    """Verify the log's signature on a signed checkpoint and parse it.  Other signatures
    (witness cosignatures, rotated keys) are ignored, as the spec requires.

    With ``origin`` None (a log of Sunbid's own, one ``verifier``), the key's name must be the origin,
    as Sunbid signs its checkpoints.  With ``origin`` given (another log, as a witness verifies it, with
    one or more of its keys), the checkpoint's origin must be that one and the key names may differ
    from it: c2sp.org/tlog-checkpoint only recommends that they match."""
    verifiers = [verifier] if isinstance(verifier, Verifier) else list(verifier)
    opened = open_note(note, verifiers)
    cp = Checkpoint.parse(opened.text)
    if origin is None:
        if len(verifiers) != 1:
            raise TypeError("a log of Sunbid's own is verified with its one key; give origin= for another log")
        if cp.origin != verifiers[0].name:
            raise OriginMismatch(origin=cp.origin, name=verifiers[0].name)
    elif cp.origin != origin:
        raise OriginMismatch(origin=cp.origin, name=origin)
    return cp


# --------------------------------------------------------------------------- cosignatures


def cosign(cp: Checkpoint, witness_signer: WitnessSigner, timestamp: int) -> str:
    """The witness's signature line for ``cp`` at POSIX time ``timestamp``:
    ``— <name> base64(key ID || u64 timestamp || Ed25519 signature)\\n``, to append to the
    signed checkpoint (c2sp.org/tlog-cosignature, "Format")."""
    if not isinstance(witness_signer, WitnessSigner):
        raise TypeError("cosign takes a WitnessSigner")
    sig = witness_signer.sign(cp.body().encode("utf-8"), timestamp)
    payload = witness_signer.key_id.to_bytes(4, "big") + sig
    return Signature(witness_signer.name, witness_signer.key_id, b64encode(payload)).line


def verify_cosignature(note_text: str | bytes, witness_vkey: str | WitnessVerifier) -> int | None:
    """The timestamp of the witness's valid cosignature on the signed checkpoint, else ``None``.

    The first signature line with the witness's name and key ID decides (as in ``note.Open``).
    A malformed note raises :class:`MalformedNote`, a text that is not a checkpoint
    :class:`MalformedCheckpoint` and a malformed vkey :class:`MalformedKey`.
    """
    witness = witness_vkey if isinstance(witness_vkey, WitnessVerifier) else WitnessVerifier.from_vkey(witness_vkey)
    text, lines = _parse_note(note_text)
    Checkpoint.parse(text)
    for sig in filter(None, map(_signature, lines)):
        if (sig.name, sig.key_id) == (witness.name, witness.key_id):
            return witness.verified_timestamp(text.encode("utf-8"), sig.signature)
    return None
