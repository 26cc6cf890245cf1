"""The C2SP CCTV age test kit (tests/vectors/cctv-age): every vector through the upload check and the opening.

For each vector the kit says what decrypting it must give (``expect``).  Sunbid must agree, at both ends:

* the upload check (``sealing.check_age_header``) refuses every ``header failure``, as it sees the head of the
  file only (the web form) and with the file's size (the resumable upload and the command-line client);
  it accepts every ``success``; it may refuse a ``payload failure`` only when the payload's length alone
  proves it (``LENGTH_REFUSED``), and accepts ``no match`` and ``HMAC failure`` files (only the key tells);
* the opening (``unseal.open_sealed``, with the vector's identity) releases the kit's payload for a
  ``success`` (its SHA-256 is the vector's ``payload``; the plaintext is no bid package, so the bid then
  fails as ``malformed_package``), and for every other vector fails with nothing released: ``no_matching_key``
  for ``no match``, ``corrupt`` for the rest (art. 31: a bid that cannot be decrypted is invalid).

What Sunbid refuses by design, whatever the kit expects (``UNSUPPORTED``): passphrase (``scrypt``) files, whose
bid would open with a passphrase instead of the tender's key; ASCII armor (a bid is uploaded as the binary
file); the post-quantum hybrid ``mlkem768x25519`` recipients (a tender's key is X25519, and a hybrid
identity is not an age X25519 identity).  Those are refused at upload and at the opening, never opened.
"""
from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tender import sealing, unseal

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "cctv-age" / "testdata"
KNOWN_KEYS = {"expect", "payload", "identity", "passphrase", "armored", "compressed", "file key", "comment"}
EXPECTS = {"success", "no match", "HMAC failure", "header failure", "payload failure", "armor failure"}

UNSUPPORTED = ("scrypt", "armor", "hybrid")
"""Name prefixes of the vectors Sunbid refuses by design (see the module docstring)."""

LENGTH_REFUSED = {
    # refused from the head alone (the whole file is shorter than 64 KiB)
    "stream_missing_tag": "head", "stream_no_chunks": "head", "stream_short_chunk": "head",
    # refused once the size is known (the file is longer than the head)
    "stream_last_chunk_empty": "size", "stream_short_second_chunk": "size", "stream_trailing_garbage_short": "size",
}
"""``payload failure`` vectors whose payload length no STREAM can have: refused at upload."""

NOT_X25519 = {"x25519_lowercase"}
"""A ``no match`` whose only stanza is of an unknown type (``x25519``): the upload refuses it as not sealed to
an X25519 recipient, which is right, as no key of Sunbid's could open it."""


@dataclass
class Vector:
    name: str
    expect: str
    payload: str | None
    identities: list[str]
    armored: bool
    data: bytes


def _load(path: Path) -> Vector | None:
    raw = path.read_bytes()
    head, sep, body = raw.partition(b"\n\n")
    assert sep, path.name
    meta: dict[str, str] = {}
    identities: list[str] = []
    for line in head.decode("utf-8").split("\n"):
        key, colon, value = line.partition(": ")
        assert colon, (path.name, line)
        if key not in KNOWN_KEYS:
            return None  # "Files with unknown keys should be ignored."
        if key == "identity":
            identities.append(value)
        else:
            meta[key] = value
    if meta.get("compressed") == "zlib":
        body = zlib.decompress(body)
    return Vector(path.name, meta["expect"], meta.get("payload"), identities, meta.get("armored") == "yes", body)


ALL = sorted(VECTORS.iterdir())


def test_the_whole_kit_is_there():
    vectors = [_load(p) for p in ALL]
    assert len(vectors) == 143 and all(v is not None for v in vectors)
    assert {v.expect for v in vectors} == EXPECTS


def _upload_verdicts(v: Vector) -> tuple[str | None, str | None]:
    """What the upload check says from the head only, and from the head and the size: None (accepted)
    or the refusal's message."""
    out = []
    for size in (None, len(v.data)):
        try:
            sealing.check_age_header(v.data[:sealing.HEADER_LIMIT], size=size)
            out.append(None)
        except sealing.NotAgeFile as exc:
            assert exc.code == "not_age_file" and exc.field == "file"
            out.append(str(exc))
    return out[0], out[1]


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_vector(path, tmp_path):
    v = _load(path)
    assert v is not None
    unsupported = v.name.startswith(UNSUPPORTED)
    by_head, by_size = _upload_verdicts(v)

    # ---- the upload check
    if unsupported or v.expect in ("header failure", "armor failure") or v.name in NOT_X25519:
        assert by_head is not None and by_size is not None, "must be refused at upload"
    elif v.expect == "success":
        assert by_head is None and by_size is None, by_head or by_size
    elif v.expect == "payload failure" and v.name in LENGTH_REFUSED:
        assert by_size is not None
        assert (by_head is not None) == (LENGTH_REFUSED[v.name] == "head")
    else:  # no match, HMAC failure, payload failure with a possible length: only the key can tell
        assert by_head is None and by_size is None, by_head or by_size

    # ---- the opening, with the vector's identities (or a fresh tender key when it has none, or none
    # Sunbid can hold: passphrase and hybrid vectors)
    sealed = tmp_path / "sealed.age"
    sealed.write_bytes(v.data)
    work = tmp_path / "work"
    work.mkdir()
    identities = [i for i in v.identities if i.startswith("AGE-SECRET-KEY-1")] or [sealing.new_opening_key().identity]
    results = [unseal.open_sealed(sealed, identity, work) for identity in identities]
    assert list(work.iterdir()) == []  # nothing of a plaintext is left behind
    if v.expect == "success" and not unsupported:
        opened = [r for r in results if r.plaintext_sha256 is not None]
        assert opened, [r.reason for r in results]
        for r in opened:
            assert r.plaintext_sha256 == v.payload
            assert (r.status, r.reason) == ("failed", "malformed_package")  # the kit's payloads are no bids
        return
    for r in results:
        assert r.status == "failed" and r.plaintext_sha256 is None, (v.name, r)
        if v.expect == "no match" and not unsupported and v.name not in NOT_X25519:
            assert r.reason == "no_matching_key"
        else:
            assert r.reason == "corrupt"


def test_the_opening_refuses_what_rage_alone_would_decrypt(tmp_path):
    """stanza_missing_body and stanza_missing_final_line decrypt with pyrage, though age calls them malformed:
    the opening's own check comes first."""
    for name in ("stanza_missing_body", "stanza_missing_final_line"):
        v = _load(VECTORS / name)
        sealed = tmp_path / name
        sealed.write_bytes(v.data)
        digest = sealing.open_file(sealed, tmp_path / "plain", v.identities[0])  # what rage does alone
        assert digest == hashlib.sha256((tmp_path / "plain").read_bytes()).hexdigest()
        (tmp_path / "plain").unlink()
        r = unseal.open_sealed(sealed, v.identities[0], tmp_path)
        assert (r.status, r.reason, r.plaintext_sha256) == ("failed", "corrupt", None)
