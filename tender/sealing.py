"""Sealed bids: the pure cryptographic core (opening keys, Shamir shares, age headers, files).

Pure module: no Flask, no database, no clock reads.  The cryptography is age v1
(age-encryption.org/v1, X25519 recipients) through ``pyrage`` (bindings to the Rust ``age``
crate) and Shamir secret sharing through pycryptodome; nothing here implements age, X25519 or
the Shamir arithmetic itself.

Opening keys
    ``new_opening_key()`` makes a fresh X25519 key pair: ``.recipient`` (``age1…``) is
    published with the tender, ``.identity`` (``AGE-SECRET-KEY-1…``) is a secret that lives only
    in memory: it is split into shares at once and never stored whole before opening.

Shares (k of n)
    The identity is the Bech32 encoding (BIP 173, HRP ``age-secret-key-``) of a 32-byte X25519
    secret scalar.  pycryptodome's ``Shamir`` works in GF(2^128), so it shares exactly 16 bytes;
    the standard way to share a longer secret with such an implementation is to share each
    16-byte block independently (its own random polynomial) at the *same* x indexes, and to
    concatenate the y values of one index into one share.  So the scalar is split as two halves,
    and share ``i`` holds ``y1_i || y2_i`` (32 bytes).  k - 1 shares reveal nothing about either
    half.  A share is text a custodian can copy or type::

        sunbid-share-v1:<tender_ref>:<k>-of-<n>:<index>:<64 hex digits>:<checksum>

    where ``checksum`` is the first 8 hex digits of SHA-256 over everything before the last
    colon (hex in lower case), so a mistyped share is caught before combining.  The checksum is
    no authentication: a share from another key with a recomputed checksum is only caught after
    combining, when the rebuilt identity's recipient is compared with the published one.

Custodians' copies
    ``seal_share``/``open_share`` wrap one share in age, to the custodian's own age recipient or
    to a passphrase (age's scrypt recipient).

Bid files
    ``check_age_header`` checks the first bytes of an upload (give it the first
    ``min(size, 64 KiB)`` bytes) are an age v1 header with at least one X25519 stanza;
    ``seal_file``/``open_file`` stream whole files through pyrage and write the output
    atomically (a temporary file renamed into place), so a failed decryption leaves no partial
    plaintext behind.  ``seal_stream`` seals from a reader to a writer (the web form seals an
    upload with it as the bytes arrive, so the plaintext never lands on disk).
"""
from __future__ import annotations

import base64
import hashlib
import math
import os
import random
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import BinaryIO, Protocol

import pyrage
from Crypto.Protocol.SecretSharing import Shamir
from pyrage import x25519

from core.errors import N_, DomainError, InvalidInput

# ---------------------------------------------------------------- errors


class InvalidIdentity(InvalidInput):
    code = "invalid_identity"
    default_message = N_("This is not a valid age identity (AGE-SECRET-KEY-1…).")


class InvalidRecipient(InvalidInput):
    code = "invalid_recipient"
    default_message = N_("This is not a valid age recipient (age1…).")


class InvalidPassphrase(InvalidInput):
    code = "invalid_passphrase"
    default_message = N_("The passphrase must not be empty.")


class InvalidSharing(InvalidInput):
    code = "invalid_sharing"
    default_message = N_("A key is split into n shares of which any k open it, with 2 ≤ k ≤ n ≤ 16.")


class MalformedShare(InvalidInput):
    code = "malformed_share"
    default_message = N_("Share %(position)s is not a Sunbid share (sunbid-share-v1:…); check it was copied whole.")


class MismatchedShares(InvalidInput):
    code = "mismatched_shares"
    default_message = N_("Share %(position)s belongs to another tender or another sharing than share 1.")


class DuplicateShare(InvalidInput):
    code = "duplicate_share"
    default_message = N_("Shares %(first)s and %(second)s are the same share (number %(index)s).")


class NotEnoughShares(InvalidInput):
    code = "not_enough_shares"
    default_message = N_("%(need)s shares are needed to open, but only %(have)s were given.")


class WrongShares(InvalidInput):
    code = "wrong_shares"
    default_message = N_("Reconstruction failed: these shares do not rebuild the opening key of this tender "
                         "(it does not match the published recipient). Opening can be retried with other shares.")


class ShareUnreadable(InvalidInput):
    code = "share_unreadable"
    default_message = N_("The sealed share cannot be opened: wrong key or passphrase, or the data is damaged.")


class NotAgeFile(InvalidInput):
    code = "not_age_file"
    default_message = N_("The file is not an age-encrypted file (age-encryption.org/v1).")


class Undecryptable(DomainError):
    """A bid file that the opening identity cannot decrypt.  ``reason`` is ``no_matching_key``
    (not sealed to this identity) or ``corrupt`` (damaged or truncated)."""

    code = "undecryptable"
    status = 422
    default_message = N_("The file cannot be decrypted: it is damaged or truncated.")

    @property
    def reason(self) -> str:
        return str(self.params.get("reason", "corrupt"))


# ---------------------------------------------------------------- Bech32 (BIP 173)
#
# Written here rather than taken from the ``bech32`` PyPI package: that package is the BIP 173
# reference code, whose ``bech32_decode`` refuses strings longer than 90 characters, while age
# uses Bech32 without that limit (plugin identities are longer); it is also the only thing we
# would need from it, and a dependency for forty lines is not worth it.  The checksum is the
# original Bech32 one (constant 1), not Bech32m: that is what age uses.

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX = {c: i for i, c in enumerate(BECH32_CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Bech32Error(ValueError):
    """A string that is not valid Bech32 (a programming-level error; callers map it)."""


def _polymod(values: Sequence[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ value
        for i, gen in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32_encode(hrp: str, words: Sequence[int]) -> str:
    """The lower-case Bech32 string of ``hrp`` and 5-bit ``words`` (checksum appended)."""
    if not hrp or any(not 33 <= ord(c) <= 126 for c in hrp):
        raise Bech32Error("the human-readable part must be 1 or more characters in the range 33–126")
    if any(not 0 <= w < 32 for w in words):
        raise Bech32Error("data words are 5-bit values")
    hrp = hrp.lower()
    poly = _polymod(_hrp_expand(hrp) + list(words) + [0] * 6) ^ 1
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[w] for w in [*words, *checksum])


def bech32_decode(text: str, *, max_length: int | None = None) -> tuple[str, list[int]]:
    """``(hrp, 5-bit words)`` of a Bech32 string, its checksum verified.

    Upper or lower case, not mixed; the hrp comes back in lower case.  No length limit unless
    ``max_length`` is given (BIP 173 addresses use 90; age uses none)."""
    if any(not 33 <= ord(c) <= 126 for c in text):
        raise Bech32Error("character out of range")
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("mixed case")
    if max_length is not None and len(text) > max_length:
        raise Bech32Error("too long")
    text = text.lower()
    sep = text.rfind("1")
    if sep < 0:
        raise Bech32Error("no separator")
    if sep == 0:
        raise Bech32Error("empty human-readable part")
    if len(text) - sep - 1 < 6:
        raise Bech32Error("checksum too short")
    hrp, data = text[:sep], text[sep + 1:]
    try:
        words = [_CHARSET_INDEX[c] for c in data]
    except KeyError:
        raise Bech32Error("invalid data character") from None
    if _polymod(_hrp_expand(hrp) + words) != 1:
        raise Bech32Error("invalid checksum")
    return hrp, words[:-6]


def convert_bits(data: Sequence[int], from_bits: int, to_bits: int, *, pad: bool) -> list[int]:
    """Regroup bits (8→5 with ``pad=True`` to encode, 5→8 with ``pad=False`` to decode: then
    more than ``from_bits - 1`` padding bits, or non-zero padding, is an error)."""
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << to_bits) - 1
    for value in data:
        if value < 0 or value >> from_bits:
            raise Bech32Error("value out of range")
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & maxv)
    elif bits >= from_bits or (acc << (to_bits - bits)) & maxv:
        raise Bech32Error("invalid padding")
    return out


IDENTITY_HRP = "age-secret-key-"
RECIPIENT_HRP = "age"


def decode_identity(identity: str) -> bytes:
    """The 32-byte X25519 secret scalar of an ``AGE-SECRET-KEY-1…`` identity (either case)."""
    try:
        hrp, words = bech32_decode(identity.strip())
        if hrp != IDENTITY_HRP:
            raise Bech32Error("not an age identity")
        scalar = bytes(convert_bits(words, 5, 8, pad=False))
    except (Bech32Error, AttributeError):
        raise InvalidIdentity(field="identity") from None
    if len(scalar) != 32:
        raise InvalidIdentity(field="identity")
    return scalar


def encode_identity(scalar: bytes) -> str:
    """The ``AGE-SECRET-KEY-1…`` string (upper case, as ``age-keygen`` writes it) of a scalar."""
    if len(scalar) != 32:
        raise ValueError("an X25519 secret scalar is 32 bytes")
    return bech32_encode(IDENTITY_HRP, convert_bits(scalar, 8, 5, pad=True)).upper()


# ---------------------------------------------------------------- opening keys


@dataclass(frozen=True, slots=True)
class OpeningKey:
    """A tender's opening key pair.  The identity is a secret kept in memory only: it is left out
    of ``repr`` and the object refuses to be pickled."""

    recipient: str
    identity: str = field(repr=False)

    def __reduce__(self):
        raise TypeError("an opening key is not serialised: split its identity into shares")


def new_opening_key() -> OpeningKey:
    identity = x25519.Identity.generate()
    return OpeningKey(recipient=str(identity.to_public()), identity=str(identity))


def _identity(identity: str) -> x25519.Identity:
    if not isinstance(identity, str):
        raise InvalidIdentity(field="identity")
    try:
        return x25519.Identity.from_str(identity.strip())
    except (pyrage.IdentityError, ValueError):
        raise InvalidIdentity(field="identity") from None


def _recipient(recipient: str) -> x25519.Recipient:
    if not isinstance(recipient, str):
        raise InvalidRecipient(field="recipient")
    try:
        return x25519.Recipient.from_str(recipient.strip())
    except (pyrage.RecipientError, ValueError):
        raise InvalidRecipient(field="recipient") from None


def recipient_of(identity: str) -> str:
    """The ``age1…`` recipient (public key) of an identity."""
    return str(_identity(identity).to_public())


def normalize_recipient(recipient: str) -> str:
    """The canonical (lower-case) form of an ``age1…`` recipient; ``InvalidRecipient`` if it is none."""
    return str(_recipient(recipient))


# ---------------------------------------------------------------- shares

SHARE_PREFIX = "sunbid-share-v1"
MIN_K, MAX_N = 2, 16
MAX_SUBSETS = 256
"""``combine_shares`` tries at most this many k-subsets of the shares given."""

TENDER_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_SHARE = re.compile(
    r"sunbid-share-v1:(?P<ref>[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}):(?P<k>[1-9][0-9]?)-of-(?P<n>[1-9][0-9]?)"
    r":(?P<index>[1-9][0-9]?):(?P<value>[0-9a-fA-F]{64}):(?P<checksum>[0-9a-fA-F]{8})")


@dataclass(frozen=True)
class ShareInfo:
    """One parsed share.  ``value`` (the secret part) is left out of ``repr``."""

    tender_ref: str
    k: int
    n: int
    index: int
    value: bytes = field(repr=False)

    @property
    def text(self) -> str:
        body = f"{SHARE_PREFIX}:{self.tender_ref}:{self.k}-of-{self.n}:{self.index}:{self.value.hex()}"
        return f"{body}:{_checksum(body)}"


def _checksum(body: str) -> str:
    return hashlib.sha256(body.encode("ascii")).hexdigest()[:8]


def _check_k_n(k: object, n: object) -> None:
    if not (type(k) is int and type(n) is int and MIN_K <= k <= n <= MAX_N):
        raise InvalidSharing(field="k")


def parse_share(text: str, *, position: int = 1) -> ShareInfo:
    """Parse and verify one share (whitespace anywhere ignored, hex digits in either case).
    ``MalformedShare`` names ``position`` (1-based) when the format or the checksum is wrong."""
    if not isinstance(text, str):
        raise MalformedShare(field="shares", position=position)
    m = _SHARE.fullmatch(re.sub(r"\s+", "", text))
    if not m:
        raise MalformedShare(field="shares", position=position)
    k, n, index = int(m["k"]), int(m["n"]), int(m["index"])
    if not (MIN_K <= k <= n <= MAX_N and 1 <= index <= n):
        raise MalformedShare(field="shares", position=position)
    info = ShareInfo(m["ref"], k, n, index, bytes.fromhex(m["value"]))
    if info.text.rsplit(":", 1)[1] != m["checksum"].lower():
        raise MalformedShare(N_("Share %(position)s does not match its checksum: it was probably mistyped."),
                             field="shares", position=position)
    return info


def split_identity(identity: str, *, k: int, n: int, tender_ref: str) -> list[str]:
    """Split an identity into ``n`` share strings of which any ``k`` rebuild it (2 ≤ k ≤ n ≤ 16).

    The 32-byte scalar is shared as two 16-byte halves with pycryptodome's ``Shamir`` (GF(2^128))
    at the same x indexes 1..n (see the module docstring).  Before returning, two different
    k-subsets are combined again as a self-check."""
    _check_k_n(k, n)
    if not isinstance(tender_ref, str) or not TENDER_REF.fullmatch(tender_ref):
        raise InvalidSharing(N_("The tender reference must be 1–64 letters, digits, dots, dashes or underscores."),
                             field="tender_ref")
    _identity(identity)  # a real age identity, not only valid Bech32
    scalar = decode_identity(identity)
    low = Shamir.split(k, n, scalar[:16])
    high = Shamir.split(k, n, scalar[16:])
    shares = []
    for (x_low, y_low), (x_high, y_high) in zip(low, high, strict=True):
        assert x_low == x_high
        shares.append(ShareInfo(tender_ref, k, n, x_low, y_low + y_high))
    for subset in (shares[:k], shares[-k:]):
        if _combine(subset) != scalar:  # pragma: no cover - would be a library bug
            raise RuntimeError("Shamir self-check failed")
    return [s.text for s in shares]


def _combine(shares: Sequence[ShareInfo]) -> bytes:
    low = Shamir.combine([(s.index, s.value[:16]) for s in shares])
    high = Shamir.combine([(s.index, s.value[16:]) for s in shares])
    return low + high


def _subsets(m: int, k: int) -> Iterator[tuple[int, ...]]:
    """Up to ``MAX_SUBSETS`` distinct k-subsets of range(m): the first k first; all of them in
    order when there are few enough, else a deterministic pseudo-random sample (so that a bad
    share early in the list does not hide the good subsets behind the cap)."""
    first = tuple(range(k))
    if math.comb(m, k) <= MAX_SUBSETS:
        yield first
        yield from (c for c in combinations(range(m), k) if c != first)
        return
    seen = {first}
    yield first
    rng = random.Random(f"{m}-{k}")  # not security-relevant: only the order of the tries
    while len(seen) < MAX_SUBSETS:
        subset = tuple(sorted(rng.sample(range(m), k)))
        if subset not in seen:
            seen.add(subset)
            yield subset


def combine_shares(shares: Sequence[str], *, recipient: str, tender_ref: str | None = None) -> str:
    """Rebuild the identity from k or more shares and check it against the published recipient.

    Checks, in order: each share well-formed with a good checksum (``MalformedShare``, naming
    its 1-based position); all from one sharing (same tender, k and n as share 1, and as
    ``tender_ref`` when given: ``MismatchedShares``); no index twice (``DuplicateShare``); at
    least k (``NotEnoughShares``).  Then the first k are combined; if the rebuilt identity's
    recipient is not ``recipient`` and more than k shares were given, other k-subsets are tried
    (at most ``MAX_SUBSETS`` in all) and the first that matches is returned.  ``WrongShares``
    when none does."""
    if isinstance(shares, str):
        raise TypeError("shares is a sequence of share strings")
    expected = normalize_recipient(recipient)
    parsed = [parse_share(s, position=p) for p, s in enumerate(shares, start=1)]
    if not parsed:
        raise NotEnoughShares(field="shares", need=MIN_K, have=0)
    first = parsed[0]
    if tender_ref is not None and first.tender_ref != tender_ref:
        raise MismatchedShares(N_("Share %(position)s is for tender %(share_ref)s, not %(tender_ref)s."),
                               field="shares", position=1, share_ref=first.tender_ref, tender_ref=tender_ref)
    for position, s in enumerate(parsed[1:], start=2):
        if (s.tender_ref, s.k, s.n) != (first.tender_ref, first.k, first.n):
            raise MismatchedShares(field="shares", position=position)
    seen: dict[int, int] = {}
    for position, s in enumerate(parsed, start=1):
        if s.index in seen:
            raise DuplicateShare(field="shares", first=seen[s.index], second=position, index=s.index)
        seen[s.index] = position
    if len(parsed) < first.k:
        raise NotEnoughShares(field="shares", need=first.k, have=len(parsed))
    for subset in _subsets(len(parsed), first.k):
        identity = encode_identity(_combine([parsed[i] for i in subset]))
        if recipient_of(identity) == expected:
            return identity
    raise WrongShares(field="shares")


# ---------------------------------------------------------------- custodians' sealed shares


def seal_share(share: str, *, recipient: str | None = None, passphrase: str | None = None) -> bytes:
    """The share, checked and in canonical form, encrypted with age (binary, not armored) to the
    custodian's ``recipient`` or to a ``passphrase`` (age scrypt); exactly one of the two."""
    if (recipient is None) == (passphrase is None):
        raise TypeError("give exactly one of recipient or passphrase")
    data = parse_share(share).text.encode("ascii")
    if recipient is not None:
        return pyrage.encrypt(data, [_recipient(recipient)])
    if not isinstance(passphrase, str) or not passphrase:
        raise InvalidPassphrase(field="passphrase")
    return pyrage.passphrase.encrypt(data, passphrase)


def open_share(sealed: bytes, *, identity: str | None = None, passphrase: str | None = None) -> str:
    """The share sealed by ``seal_share``; ``ShareUnreadable`` on a wrong key or passphrase, on
    damaged data, or when what decrypts is not a share."""
    if (identity is None) == (passphrase is None):
        raise TypeError("give exactly one of identity or passphrase")
    key = _identity(identity) if identity is not None else None
    try:
        if key is not None:
            data = pyrage.decrypt(bytes(sealed), [key])
        else:
            data = pyrage.passphrase.decrypt(bytes(sealed), str(passphrase))
        return parse_share(data.decode("ascii")).text
    except (pyrage.DecryptError, OSError, ValueError, MalformedShare):
        raise ShareUnreadable(field="share") from None


# ---------------------------------------------------------------- age headers

AGE_INTRO = b"age-encryption.org/v1\n"
ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
HEADER_LIMIT = 64 * 1024
"""A header not finished within this many bytes is refused as too long."""

NONCE_SIZE = 16
"""The payload starts with a 16-byte nonce (age v1, "Payload")."""
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
FULL_CHUNK = CHUNK_SIZE + TAG_SIZE
"""STREAM: the payload after the nonce is chunks of 64 KiB of plaintext, each followed by a 16-byte
ChaCha20-Poly1305 tag; only the last chunk may be shorter, and it may be empty only if it is the only one."""

_P25519 = 2**255 - 19
X25519_SMALL_ORDER = frozenset({
    0,
    1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
    _P25519 - 1,
})
"""The u-coordinates (mod p) of the points of small order on Curve25519 and its twist (orders 1, 2, 4
and 8).  An X25519 share equal to one of them gives the all-zero shared secret whatever the recipient's
key, which age forbids (age v1, "X25519 recipient stanza": the all-zero value MUST be rejected; RFC 7748,
section 6.1).  The list is D. J. Bernstein's (https://cr.yp.to/ecdh.html, "How do I validate Curve25519
public keys?"), the same as libsodium's blocklist; a share is compared after X25519 decodes it (the top
bit cleared, then reduced mod p), so the non-canonical encodings p, p + 1 and the top-bit variants are
caught too.  tests/unit/tender/test_sealing.py checks each against an X25519 computation."""


def x25519_share_is_low_order(share: bytes) -> bool:
    """Whether a 32-byte X25519 share (little-endian u-coordinate) is a point of small order."""
    u = int.from_bytes(share, "little") & ((1 << 255) - 1)
    return u % _P25519 in X25519_SMALL_ORDER

_B64 = re.compile(rb"[A-Za-z0-9+/]*")


class _Incomplete(Exception):
    pass


def _b64(data: bytes) -> bytes | None:
    """Canonical unpadded base64 (as age writes it) decoded, or None."""
    if not _B64.fullmatch(data) or len(data) % 4 == 1:
        return None
    raw = base64.b64decode(data + b"=" * (-len(data) % 4))
    return raw if base64.b64encode(raw).rstrip(b"=") == data else None


@dataclass(frozen=True)
class AgeHeader:
    stanza_types: tuple[str, ...]
    """The first argument of each stanza, in order (``X25519``, ``scrypt``, grease, …)."""
    length: int
    """Bytes from the start of the file to the end of the ``---`` MAC line."""

    @property
    def x25519_count(self) -> int:
        return self.stanza_types.count("X25519")


def _not_age(message: str, **params: object) -> NotAgeFile:
    return NotAgeFile(message, field="file", **params)


def parse_age_header(head: bytes) -> AgeHeader:
    """Parse the age v1 header at the start of ``head`` (the first ``min(size, 64 KiB)`` bytes of
    a file; more is ignored).  ``NotAgeFile`` with what is wrong; does not require an X25519
    stanza (``check_age_header`` does)."""
    head = bytes(head)
    buf = head[:HEADER_LIMIT]
    if not buf:
        raise _not_age(N_("The file is empty."))
    if buf.startswith(ARMOR_BEGIN):
        raise _not_age(N_("The file is ASCII-armored; upload the binary age file (encrypted without -a / --armor)."))
    if not buf.startswith(AGE_INTRO):
        if AGE_INTRO.startswith(buf):
            raise _not_age(N_("The file ends inside the age header: it is truncated."))
        raise _not_age(N_("The file does not start with the age v1 header (age-encryption.org/v1): "
                          "it is not an age-encrypted file."))
    pos, line_no = len(AGE_INTRO), 1

    def next_line() -> bytes:
        nonlocal pos, line_no
        end = buf.find(b"\n", pos)
        segment = buf[pos:] if end < 0 else buf[pos:end]
        line_no += 1
        if any(not 0x20 <= c <= 0x7E for c in segment):
            raise _not_age(N_("The age header is malformed at line %(line)s."), line=line_no)
        if end < 0:
            raise _Incomplete
        pos = end + 1
        return segment

    stanzas: list[str] = []
    try:
        while True:
            line = next_line()
            if line.startswith(b"---"):
                mac = _b64(line[4:]) if line.startswith(b"--- ") else None
                if not stanzas or mac is None or len(mac) != 32:
                    raise _not_age(N_("The age header is malformed at line %(line)s."), line=line_no)
                break
            args = line[3:].split(b" ") if line.startswith(b"-> ") else []
            if not args or any(not a for a in args):
                raise _not_age(N_("The age header is malformed at line %(line)s."), line=line_no)
            stanza_line = line_no
            body_lines = []
            while True:
                body_line = next_line()
                if len(body_line) > 64 or not _B64.fullmatch(body_line):
                    raise _not_age(N_("The age header is malformed at line %(line)s."), line=line_no)
                body_lines.append(body_line)
                if len(body_line) < 64:
                    break
            body = _b64(b"".join(body_lines))
            if body is None:
                raise _not_age(N_("The age header is malformed at line %(line)s."), line=line_no)
            kind = args[0].decode("ascii")
            if kind == "X25519":
                share = _b64(args[1]) if len(args) == 2 else None
                if share is None or len(share) != 32 or len(body) != 32:
                    raise _not_age(N_("The X25519 recipient stanza at line %(line)s of the age header is malformed."),
                                   line=stanza_line)
                if x25519_share_is_low_order(share):
                    raise _not_age(N_("The X25519 recipient stanza at line %(line)s of the age header uses a "
                                      "forbidden (low-order) share: no key can open it."), line=stanza_line)
            stanzas.append(kind)
    except _Incomplete:
        if len(head) >= HEADER_LIMIT:
            raise _not_age(N_("The age header is too long (more than %(limit_kib)s KiB)."),
                           limit_kib=HEADER_LIMIT // 1024) from None
        raise _not_age(N_("The file ends inside the age header: it is truncated.")) from None
    return AgeHeader(tuple(stanzas), pos)


def check_payload_length(header_length: int, size: int | None, available: int) -> None:
    """Refuse a payload that no key could decrypt, from its length alone: the 16-byte nonce must follow
    the header, then at least one STREAM chunk (16-byte tag and up to 64 KiB), full chunks but the last,
    and an empty last chunk only when it is the only one (age v1, "Payload").  ``size``: the file's
    whole size, when known; ``available``: how many bytes of the file were seen (only the nonce is
    checked, against these, when the size is not known)."""
    if size is None:
        if header_length + NONCE_SIZE > available:
            raise _not_age(N_("The age header is too long (more than %(limit_kib)s KiB)."),
                           limit_kib=HEADER_LIMIT // 1024)
        return
    payload = size - header_length
    if payload < NONCE_SIZE:
        raise _not_age(N_("The file ends before the payload's nonce: it is truncated."))
    stream = payload - NONCE_SIZE
    full, last = divmod(stream, FULL_CHUNK)
    if stream == 0 or 0 < last < TAG_SIZE or (last == TAG_SIZE and full > 0):
        raise _not_age(N_("The encrypted payload has an impossible length: the file is truncated or damaged."))


def check_age_header(head: bytes, *, size: int | None = None) -> AgeHeader:
    """Refuse (``NotAgeFile``, field ``file``) anything but an age v1 file with at least one X25519
    recipient stanza and a payload of a possible length, from its first ``min(size, 64 KiB)`` bytes
    (``head`` shorter than 64 KiB is taken as the whole file) and its ``size`` when known.

    Everything age defines without the key is checked, as strictly as age itself: the version line,
    stanza shapes and canonical base64, X25519 stanzas (one 32-byte share, a 32-byte body, no
    low-order share), the MAC line, then the nonce and the STREAM chunk lengths.  Refused by design:
    a passphrase (``scrypt``) stanza (such a bid opens with a passphrase, not with the tender's key) and
    the post-quantum hybrid ``mlkem768x25519`` one (a tender's opening key is X25519, and age forbids
    mixing the two).  Which recipients
    cannot be checked here: an X25519 stanza names an ephemeral key, not the recipient.  The opening
    runs this again before decrypting."""
    head = bytes(head)
    header = parse_age_header(head)
    if "scrypt" in header.stanza_types:
        raise _not_age(N_("The file was encrypted with a passphrase; seal it to the tender's age recipient (age1…)."))
    if "mlkem768x25519" in header.stanza_types:
        raise _not_age(N_("The file is sealed to a post-quantum (hybrid) recipient; seal it to the tender's "
                          "age recipient (age1…) only."))
    if not header.x25519_count:
        raise _not_age(N_("The file is age-encrypted but not to an X25519 recipient; "
                          "seal it to the tender's age recipient (age1…)."))
    if size is None and len(head) < HEADER_LIMIT:
        size = len(head)
    check_payload_length(header.length, size, len(head))
    return header


def check_age_file(path: str | os.PathLike[str]) -> AgeHeader:
    """``check_age_header`` on a file on disk (its first 64 KiB and its size)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        return check_age_header(f.read(HEADER_LIMIT), size=size)


def age_recipients_stanza_count(head: bytes) -> int:
    """How many X25519 recipient stanzas the header has (other stanzas, such as the random
    "grease" ones rage adds, are not counted); ``NotAgeFile`` if it is no valid age header."""
    return parse_age_header(head).x25519_count


# ---------------------------------------------------------------- files


def _atomic_output(dst: str | os.PathLike[str]) -> str:
    directory = os.path.dirname(os.path.abspath(os.fspath(dst)))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".sealing-", suffix=".part")
    os.close(fd)
    return tmp


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def seal_file(src_path: str | os.PathLike[str], dst_path: str | os.PathLike[str], recipients: list[str]) -> None:
    """Encrypt a file to one or more ``age1…`` recipients (streaming, binary age v1).  The output
    appears only when complete."""
    if isinstance(recipients, str):
        raise TypeError("recipients is a list of age1… strings")
    keys = [_recipient(r) for r in recipients]
    if not keys:
        raise InvalidRecipient(N_("At least one recipient is needed."), field="recipient")
    src = os.fspath(src_path)
    with open(src, "rb"):  # a missing or unreadable source is an OSError of its own
        pass
    tmp = _atomic_output(dst_path)
    try:
        pyrage.encrypt_file(src, tmp, keys)
        os.replace(tmp, dst_path)
    except BaseException:
        _discard(tmp)
        raise


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Writer(Protocol):
    def write(self, data: bytes, /) -> int | None: ...


def seal_stream(reader: _Reader, writer: _Writer, recipients: list[str]) -> None:
    """Encrypt what ``reader.read(n)`` gives until it gives ``b""`` to one or more ``age1…``
    recipients, handing the binary age v1 file to ``writer.write`` as it is made.  age encrypts
    in 64 KiB chunks, so nothing is held whole whatever the size; the reader may return fewer
    bytes than asked.

    An exception raised by ``reader.read`` or ``writer.write`` comes out unchanged (pyrage would
    only report its text, and loses an error of its last write), so a reader can refuse its input
    from inside ``read``; the writer has then received part of a file, which the caller discards.
    A writer may write less than it is given (it is called again for the rest), not nothing."""
    if isinstance(recipients, str):
        raise TypeError("recipients is a list of age1… strings")
    keys = [_recipient(r) for r in recipients]
    if not keys:
        raise InvalidRecipient(N_("At least one recipient is needed."), field="recipient")
    raised: list[BaseException] = []

    class _Source:
        def read(self, size: int = -1) -> bytes:
            try:
                data = reader.read(size)
            except BaseException as exc:
                raised.append(exc)
                raise
            return data if isinstance(data, (bytes, bytearray)) else bytes(data or b"")

    class _Sink:
        def write(self, data: bytes) -> int:
            view = memoryview(data)
            try:
                while view:
                    written = writer.write(view.tobytes() if len(view) < len(data) else data)
                    if written is None:
                        break
                    if written <= 0:
                        raise OSError("the writer accepted no bytes")
                    view = view[written:]
            except BaseException as exc:
                raised.append(exc)
                raise
            return len(data)

        def flush(self) -> None:
            try:
                flush = getattr(writer, "flush", None)
                if flush is not None:
                    flush()
            except BaseException as exc:
                raised.append(exc)
                raise

    try:
        pyrage.encrypt_io(_Source(), _Sink(), keys)
    except BaseException:
        if raised:
            raise raised[0] from None
        raise
    if raised:  # an error pyrage did not report (its final write's)
        raise raised[0]


def open_file(src_path: str | os.PathLike[str], dst_path: str | os.PathLike[str], identity: str) -> str:
    """Decrypt an age file with ``identity`` (streaming); returns the plaintext's SHA-256 (hex),
    computed as it is written.  ``Undecryptable`` (reason ``no_matching_key`` or ``corrupt``) when
    it was not sealed to that identity, or is damaged or truncated; then nothing is written to
    ``dst_path``, not even the plaintext decrypted before the damage was found."""
    src = os.fspath(src_path)
    with open(src, "rb"):
        pass
    tmp = _atomic_output(dst_path)
    try:
        with open(tmp, "wb") as out:
            digest = open_to(src, out, identity)
        os.replace(tmp, dst_path)
        return digest
    except BaseException:
        _discard(tmp)
        raise


def open_to(src_path: str | os.PathLike[str], out: BinaryIO, identity: str) -> str:
    """Decrypt an age file with ``identity`` (streaming) into the open binary file ``out``; returns the
    plaintext's SHA-256 (hex).  ``Undecryptable`` as for ``open_file``; ``out`` may then hold part of the
    plaintext, so the caller discards it (the opening decrypts into an anonymous file, which nothing names)."""
    key = _identity(identity)
    try:
        with open(os.fspath(src_path), "rb") as reader:
            sink = _HashingWriter(out)
            pyrage.decrypt_io(reader, sink, [key])
        return sink.digest.hexdigest()
    except pyrage.DecryptError as e:
        if "no matching key" in str(e).lower():
            raise Undecryptable(N_("The file cannot be decrypted with this key: it was not sealed to it."),
                                field="file", reason="no_matching_key") from None
        raise Undecryptable(field="file", reason="corrupt") from None
    except OSError as e:
        if type(e) is OSError and e.errno is None:  # pyrage's payload authentication failure
            raise Undecryptable(field="file", reason="corrupt") from None
        raise


class _HashingWriter:
    """A file writer that hashes what passes through it."""

    def __init__(self, out: BinaryIO):
        self.out, self.digest = out, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()
