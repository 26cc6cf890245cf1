"""tender.sealing: Bech32, opening keys, Shamir shares, sealed shares, age headers and files,
with interoperability checks against the real ``age`` and ``age-keygen`` binaries."""
from __future__ import annotations

import base64
import hashlib
import io
import itertools
import os
import pickle
import re
import shutil
import subprocess
from pathlib import Path

import pyrage
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tender import sealing as S

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
needs_age = pytest.mark.skipif(AGE is None or AGE_KEYGEN is None,
                               reason="the age / age-keygen binaries are not installed (Debian package 'age')")


def run(*args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(args, input=input, capture_output=True, check=True).stdout


def age_keygen(tmp_path: Path, name: str = "key.txt") -> tuple[Path, str, str]:
    """(identity file, identity, recipient) from the real age-keygen."""
    path = tmp_path / name
    run(AGE_KEYGEN, "-o", str(path))
    identity = next(line for line in path.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-1"))
    recipient = run(AGE_KEYGEN, "-y", str(path)).decode().strip()
    return path, identity, recipient


def header_length(data: bytes) -> int:
    end = data.index(b"\n--- ") + 1
    return data.index(b"\n", end) + 1


def with_checksum(body: str) -> str:
    return f"{body}:{hashlib.sha256(body.encode()).hexdigest()[:8]}"


@pytest.fixture(scope="module")
def key() -> S.OpeningKey:
    return S.new_opening_key()


# ---------------------------------------------------------------- Bech32

BIP173_VALID = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]

BIP173_INVALID = [
    "\x201nwldj5",  # HRP character out of range
    "\x7f1axkwrx",  # HRP character out of range
    "\x801eym55h",  # HRP character out of range
    "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",  # too long
    "pzry9x0s0muk",  # no separator
    "1pzry9x0s0muk",  # empty HRP
    "x1b4n0q5v",  # invalid data character
    "li1dgmt3",  # too short checksum
    "de1lg7wt\xff",  # invalid character in checksum
    "A1G7SGD8",  # checksum calculated with the upper-case HRP
    "10a06t8",  # empty HRP
    "1qzzfhee",  # empty HRP
    "A12uEL5L",  # mixed case
]


@pytest.mark.parametrize("text", BIP173_VALID)
def test_bip173_valid_vectors_decode_and_reencode(text):
    hrp, words = S.bech32_decode(text, max_length=90)
    assert S.bech32_encode(hrp, words) == text.lower()


@pytest.mark.parametrize("text", BIP173_INVALID)
def test_bip173_invalid_vectors_are_refused(text):
    with pytest.raises(S.Bech32Error):
        S.bech32_decode(text, max_length=90)


def test_no_length_limit_unless_asked():
    """age uses Bech32 without BIP 173's 90-character limit: the 91-character vector, refused above
    for its length only, has a valid checksum."""
    hrp, words = S.bech32_decode(BIP173_INVALID[3])
    assert hrp.startswith("an84") and words == []
    long = S.bech32_encode("age-plugin-x-", list(range(32)) * 10)
    assert len(long) > 300 and S.bech32_decode(long) == ("age-plugin-x-", list(range(32)) * 10)


def test_bech32_known_encodings():
    assert S.bech32_encode("a", []) == "a12uel5l"
    assert S.bech32_encode("?", []) == "?1ezyfcl"
    assert S.bech32_encode("abcdef", list(range(32))) == "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"


def test_every_single_character_error_is_detected():
    text = "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"
    for i in range(text.rindex("1") + 1, len(text)):
        for c in S.BECH32_CHARSET:
            if c != text[i]:
                with pytest.raises(S.Bech32Error, match="checksum"):
                    S.bech32_decode(text[:i] + c + text[i + 1:])


def test_bech32_is_not_bech32m():
    # the BIP 350 (Bech32m) vector for the same empty payload must not pass the Bech32 checksum
    with pytest.raises(S.Bech32Error, match="checksum"):
        S.bech32_decode("a1lqfn3a")


@given(hrp=st.text(alphabet=[chr(c) for c in range(33, 127) if not chr(c).isupper()], min_size=1, max_size=20),
       data=st.binary(max_size=200))
def test_bech32_round_trip(hrp, data):
    text = S.bech32_encode(hrp, S.convert_bits(data, 8, 5, pad=True))
    got_hrp, words = S.bech32_decode(text)
    assert got_hrp == hrp and bytes(S.convert_bits(words, 5, 8, pad=False)) == data
    assert S.bech32_decode(text.upper())[0] == hrp


def test_convert_bits_refuses_bad_padding():
    with pytest.raises(S.Bech32Error):
        S.convert_bits([31, 31], 5, 8, pad=False)  # 10 bits: 2 bits of non-zero padding
    with pytest.raises(S.Bech32Error):
        S.convert_bits([0] * 3, 5, 8, pad=False)  # 15 bits: 7 bits of padding, more than 4


@needs_age
def test_real_age_keygen_identities_round_trip(tmp_path):
    for i in range(3):
        _, identity, recipient = age_keygen(tmp_path, f"k{i}.txt")
        scalar = S.decode_identity(identity)
        assert len(scalar) == 32
        assert S.encode_identity(scalar) == identity
        assert S.decode_identity(identity.lower()) == scalar
        assert S.recipient_of(identity) == recipient


def test_pyrage_identities_round_trip():
    for _ in range(20):
        identity = str(pyrage.x25519.Identity.generate())
        assert S.encode_identity(S.decode_identity(identity)) == identity


@given(st.binary(min_size=32, max_size=32))
def test_any_scalar_encodes_to_an_identity_age_accepts(scalar):
    identity = S.encode_identity(scalar)
    assert identity.startswith("AGE-SECRET-KEY-1") and S.decode_identity(identity) == scalar
    assert S.recipient_of(identity).startswith("age1")


@pytest.mark.parametrize("bad", [
    "age1uemdmr87p46z3us275anuzt6nz0pucvmlgmndqxydcp686e2z5askt5r53",  # a recipient
    "AGE-SECRET-KEY-1xx",
    "",
    S.bech32_encode("age-secret-key-", S.convert_bits(bytes(31), 8, 5, pad=True)),  # 31 bytes
    S.bech32_encode("age-secret-key-x", S.convert_bits(bytes(32), 8, 5, pad=True)),  # other hrp
])
def test_decode_identity_refuses(bad):
    with pytest.raises(S.InvalidIdentity) as e:
        S.decode_identity(bad)
    assert e.value.code == "invalid_identity"


def test_decode_identity_refuses_a_mistyped_or_mixed_case_identity(key):
    i = len(key.identity) - 10
    typo = key.identity[:i] + ("Q" if key.identity[i] != "Q" else "P") + key.identity[i + 1:]
    for bad in (typo, key.identity[:20] + key.identity[20:].lower()):
        with pytest.raises(S.InvalidIdentity):
            S.decode_identity(bad)


# ---------------------------------------------------------------- opening keys


def test_new_opening_key(key):
    assert key.identity.startswith("AGE-SECRET-KEY-1") and key.recipient.startswith("age1")
    assert S.recipient_of(key.identity) == key.recipient
    assert key.identity not in repr(key) and key.identity not in str(key) and key.recipient in repr(key)
    assert S.new_opening_key().identity != key.identity


def test_opening_key_is_not_pickled(key):
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_recipient_checks(key):
    assert S.normalize_recipient(" " + key.recipient.upper() + "\n") == key.recipient
    for bad in ("", "age1xyz", key.identity, None):
        with pytest.raises(S.InvalidRecipient):
            S.normalize_recipient(bad)


# ---------------------------------------------------------------- shares

SHARE_RE = re.compile(r"sunbid-share-v1:T-1:(\d+)-of-(\d+):(\d+):[0-9a-f]{64}:[0-9a-f]{8}")


def test_every_k_subset_combines_for_every_k_le_n_le_5(key):
    for n in range(2, 6):
        for k in range(2, n + 1):
            shares = S.split_identity(key.identity, k=k, n=n, tender_ref="T-1")
            assert len(shares) == n and len(set(shares)) == n
            for i, share in enumerate(shares, start=1):
                m = SHARE_RE.fullmatch(share)
                assert m and m.groups() == (str(k), str(n), str(i))
                assert share.rsplit(":", 1)[1] == hashlib.sha256(share.rsplit(":", 1)[0].encode()).hexdigest()[:8]
            for subset in itertools.combinations(shares, k):
                assert S.combine_shares(subset, recipient=key.recipient) == key.identity
                assert S.combine_shares(subset[::-1], recipient=key.recipient) == key.identity
            assert S.combine_shares(shares, recipient=key.recipient, tender_ref="T-1") == key.identity


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_k_or_more_shares_combine(data):
    n = data.draw(st.integers(2, 16), label="n")
    k = data.draw(st.integers(2, n), label="k")
    key = S.new_opening_key()
    shares = S.split_identity(key.identity, k=k, n=n, tender_ref="SB-2026-00001")
    chosen = data.draw(st.lists(st.sampled_from(range(n)), min_size=k, max_size=n, unique=True), label="subset")
    assert S.combine_shares([shares[i] for i in chosen], recipient=key.recipient) == key.identity
    if k > 2:
        with pytest.raises(S.NotEnoughShares):
            S.combine_shares([shares[i] for i in chosen[: k - 1]], recipient=key.recipient)


def test_share_halves_are_independent_shamir_sharings_at_the_same_indexes(key):
    """Each 16-byte half of a share is a pycryptodome Shamir share of that half of the scalar."""
    from Crypto.Protocol.SecretSharing import Shamir

    scalar = S.decode_identity(key.identity)
    infos = [S.parse_share(s) for s in S.split_identity(key.identity, k=3, n=4, tender_ref="T")]
    assert Shamir.combine([(i.index, i.value[:16]) for i in infos[1:]]) == scalar[:16]
    assert Shamir.combine([(i.index, i.value[16:]) for i in infos[:3]]) == scalar[16:]


def test_parse_share_tolerates_case_and_whitespace(key):
    share = S.split_identity(key.identity, k=2, n=3, tender_ref="T")[0]
    head, value, checksum = share.rsplit(":", 2)
    typed = f"  {head}:{value[:32].upper()}\n{value[32:]}:{checksum.upper()} "
    info = S.parse_share(typed)
    assert info.text == share and (info.tender_ref, info.k, info.n, info.index) == ("T", 2, 3, 1)
    assert value not in repr(info)


@pytest.mark.parametrize("k,n", [(1, 3), (0, 2), (3, 2), (2, 17), (17, 17), (True, 2), (2.0, 3), (-1, 2)])
def test_split_refuses_bad_k_n(key, k, n):
    with pytest.raises(S.InvalidSharing) as e:
        S.split_identity(key.identity, k=k, n=n, tender_ref="T")
    assert e.value.code == "invalid_sharing"


@pytest.mark.parametrize("ref", ["", "a:b", "a b", "x" * 65, "-x", "招标"])
def test_split_refuses_bad_tender_ref(key, ref):
    with pytest.raises(S.InvalidSharing) as e:
        S.split_identity(key.identity, k=2, n=3, tender_ref=ref)
    assert e.value.field == "tender_ref"


def test_split_refuses_bad_identity(key):
    with pytest.raises(S.InvalidIdentity):
        S.split_identity(key.recipient, k=2, n=3, tender_ref="T")


def test_split_accepts_the_limits(key):
    shares = S.split_identity(key.identity, k=16, n=16, tender_ref="x")
    assert S.combine_shares(shares[::-1], recipient=key.recipient) == key.identity


def _change_hex_digit(share: str, offset: int = 5) -> str:
    head, value, checksum = share.rsplit(":", 2)
    digit = "0" if value[offset] != "0" else "1"
    return f"{head}:{value[:offset]}{digit}{value[offset + 1:]}:{checksum}"


def test_a_mistyped_share_is_caught_by_its_checksum(key):
    shares = S.split_identity(key.identity, k=2, n=3, tender_ref="T")
    with pytest.raises(S.MalformedShare) as e:
        S.combine_shares([shares[0], _change_hex_digit(shares[1])], recipient=key.recipient)
    assert e.value.code == "malformed_share" and e.value.params["position"] == 2
    assert "2" in str(e.value) and "checksum" in str(e.value)


def test_every_single_hex_digit_change_is_caught(key):
    share = S.split_identity(key.identity, k=2, n=2, tender_ref="T")[0]
    for offset in range(64):
        with pytest.raises(S.MalformedShare):
            S.parse_share(_change_hex_digit(share, offset))


@pytest.mark.parametrize("bad", [
    "", "hello", None, 42,
    "sunbid-share-v2:T:2-of-3:1:" + "0" * 64 + ":00000000",
    "sunbid-share-v1:T:2-of-3:1:" + "0" * 63 + ":00000000",
])
def test_malformed_shares_are_named_by_position(key, bad):
    shares = S.split_identity(key.identity, k=2, n=3, tender_ref="T")
    with pytest.raises(S.MalformedShare) as e:
        S.combine_shares([shares[0], shares[1], bad], recipient=key.recipient)
    assert e.value.params["position"] == 3
    assert e.value.to_dict() == {"code": "malformed_share", "field": "shares", "message": str(e.value)}


@pytest.mark.parametrize("fields", ["1-of-3:1", "4-of-3:1", "2-of-17:1", "2-of-3:4", "02-of-3:1"])
def test_shares_with_impossible_numbers_are_malformed(fields):
    with pytest.raises(S.MalformedShare):
        S.parse_share(with_checksum(f"sunbid-share-v1:T:{fields}:" + "ab" * 32))


def test_a_share_of_another_key_is_caught_after_combining(key):
    other = S.new_opening_key()
    mine = S.split_identity(key.identity, k=2, n=3, tender_ref="T")
    theirs = S.split_identity(other.identity, k=2, n=3, tender_ref="T")
    with pytest.raises(S.WrongShares) as e:
        S.combine_shares([mine[0], theirs[1]], recipient=key.recipient)
    assert e.value.code == "wrong_shares"
    assert "failed" in str(e.value) and "retried with other shares" in str(e.value)
    # a tampered share whose checksum was fixed up is caught the same way
    forged = with_checksum(_change_hex_digit(mine[1]).rsplit(":", 1)[0])
    assert S.parse_share(forged)
    with pytest.raises(S.WrongShares):
        S.combine_shares([mine[0], forged], recipient=key.recipient)
    # and shares that are all of another key do not match the published recipient
    with pytest.raises(S.WrongShares):
        S.combine_shares(theirs[:2], recipient=key.recipient)


def test_extra_shares_get_past_a_bad_one(key):
    other = S.new_opening_key()
    mine = S.split_identity(key.identity, k=3, n=5, tender_ref="T")
    theirs = S.split_identity(other.identity, k=3, n=5, tender_ref="T")
    mixed = [mine[0], theirs[1], mine[2], mine[3]]
    assert S.combine_shares(mixed, recipient=key.recipient) == key.identity
    with pytest.raises(S.WrongShares):  # two bad of four: no good 3-subset left
        S.combine_shares([mine[0], theirs[1], theirs[2], mine[3]], recipient=key.recipient)


def test_extra_shares_get_past_a_bad_first_share_beyond_the_exhaustive_range(key):
    other = S.new_opening_key()
    mine = S.split_identity(key.identity, k=8, n=16, tender_ref="T")
    theirs = S.split_identity(other.identity, k=8, n=16, tender_ref="T")
    assert S.combine_shares([theirs[0], *mine[1:]], recipient=key.recipient) == key.identity


def test_duplicate_shares(key):
    shares = S.split_identity(key.identity, k=2, n=3, tender_ref="T")
    with pytest.raises(S.DuplicateShare) as e:
        S.combine_shares([shares[0], shares[1], shares[0]], recipient=key.recipient)
    assert e.value.code == "duplicate_share"
    assert (e.value.params["first"], e.value.params["second"], e.value.params["index"]) == (1, 3, 1)
    other = S.split_identity(S.new_opening_key().identity, k=2, n=3, tender_ref="T")
    with pytest.raises(S.DuplicateShare):  # same index from another key
        S.combine_shares([shares[1], other[1]], recipient=key.recipient)


def test_too_few_shares(key):
    shares = S.split_identity(key.identity, k=3, n=5, tender_ref="T")
    with pytest.raises(S.NotEnoughShares) as e:
        S.combine_shares(shares[:2], recipient=key.recipient)
    assert e.value.code == "not_enough_shares" and (e.value.params["need"], e.value.params["have"]) == (3, 2)
    assert "3" in str(e.value) and "2" in str(e.value)
    with pytest.raises(S.NotEnoughShares):
        S.combine_shares([], recipient=key.recipient)


def test_mixed_tenders_and_sharings(key):
    t1 = S.split_identity(key.identity, k=2, n=3, tender_ref="T1")
    t2 = S.split_identity(key.identity, k=2, n=3, tender_ref="T2")
    with pytest.raises(S.MismatchedShares) as e:
        S.combine_shares([t1[0], t2[1]], recipient=key.recipient)
    assert e.value.code == "mismatched_shares" and e.value.params["position"] == 2
    other_k = S.split_identity(key.identity, k=3, n=3, tender_ref="T1")
    with pytest.raises(S.MismatchedShares):
        S.combine_shares([t1[0], other_k[1], other_k[2]], recipient=key.recipient)
    other_n = S.split_identity(key.identity, k=2, n=4, tender_ref="T1")
    with pytest.raises(S.MismatchedShares):
        S.combine_shares([t1[0], other_n[1]], recipient=key.recipient)
    with pytest.raises(S.MismatchedShares) as e:
        S.combine_shares(t1[:2], recipient=key.recipient, tender_ref="T2")
    assert "T1" in str(e.value) and "T2" in str(e.value)


def test_combine_refuses_a_bad_recipient(key):
    shares = S.split_identity(key.identity, k=2, n=2, tender_ref="T")
    with pytest.raises(S.InvalidRecipient):
        S.combine_shares(shares, recipient="age1nope")
    with pytest.raises(TypeError):
        S.combine_shares(shares[0], recipient=key.recipient)


# ---------------------------------------------------------------- custodians' sealed shares


@pytest.fixture(scope="module")
def share(key) -> str:
    return S.split_identity(key.identity, k=2, n=3, tender_ref="T")[0]


@pytest.fixture(scope="module")
def passphrase_sealed(share) -> bytes:
    return S.seal_share(share, passphrase="correct horse battery staple")


def test_seal_share_to_a_recipient(share):
    custodian, stranger = S.new_opening_key(), S.new_opening_key()
    sealed = S.seal_share(share, recipient=custodian.recipient)
    assert sealed.startswith(S.AGE_INTRO) and share.encode() not in sealed
    S.check_age_header(sealed)
    assert S.open_share(sealed, identity=custodian.identity) == share
    with pytest.raises(S.ShareUnreadable) as e:
        S.open_share(sealed, identity=stranger.identity)
    assert e.value.code == "share_unreadable"
    with pytest.raises(S.ShareUnreadable):
        S.open_share(sealed, passphrase="x")


def test_seal_share_with_a_passphrase(share, passphrase_sealed):
    assert S.parse_age_header(passphrase_sealed).stanza_types == ("scrypt",)
    assert S.open_share(passphrase_sealed, passphrase="correct horse battery staple") == share
    with pytest.raises(S.ShareUnreadable):
        S.open_share(passphrase_sealed, passphrase="wrong horse battery staple")
    with pytest.raises(S.ShareUnreadable):
        S.open_share(passphrase_sealed, identity=S.new_opening_key().identity)


def test_open_share_refuses_garbage(share):
    custodian = S.new_opening_key()
    sealed = S.seal_share(share, recipient=custodian.recipient)
    flipped = bytearray(sealed)
    flipped[-5] ^= 1
    not_a_share = pyrage.encrypt(b"hello", [pyrage.x25519.Recipient.from_str(custodian.recipient)])
    for bad in (b"", os.urandom(300), sealed[:-1], sealed[:100], bytes(flipped), not_a_share):
        with pytest.raises(S.ShareUnreadable):
            S.open_share(bad, identity=custodian.identity)


def test_seal_share_arguments(share, key):
    with pytest.raises(TypeError):
        S.seal_share(share)
    with pytest.raises(TypeError):
        S.seal_share(share, recipient=key.recipient, passphrase="x")
    with pytest.raises(TypeError):
        S.open_share(b"", identity=key.identity, passphrase="x")
    with pytest.raises(S.InvalidPassphrase):
        S.seal_share(share, passphrase="")
    with pytest.raises(S.InvalidRecipient):
        S.seal_share(share, recipient="age1bad")
    with pytest.raises(S.MalformedShare):
        S.seal_share(_change_hex_digit(share), recipient=key.recipient)
    with pytest.raises(S.InvalidIdentity):
        S.open_share(b"x", identity="AGE-SECRET-KEY-1nope")


@needs_age
def test_a_sealed_share_opens_with_the_real_age(tmp_path, share):
    id_file, _, recipient = age_keygen(tmp_path)
    sealed = tmp_path / "share.age"
    sealed.write_bytes(S.seal_share(share, recipient=recipient))
    assert run(AGE, "-d", "-i", str(id_file), str(sealed)).decode() == share


# ---------------------------------------------------------------- age headers


@pytest.fixture(scope="module")
def real_age_file(tmp_path_factory) -> tuple[bytes, S.OpeningKey]:
    if AGE is None:
        pytest.skip("the age binary is not installed (Debian package 'age')")
    key = S.new_opening_key()
    return run(AGE, "-r", key.recipient, input=os.urandom(5000)), key


@needs_age
def test_real_age_heads_are_accepted(real_age_file):
    data, _ = real_age_file
    length = header_length(data)
    for head in (data[:200], data[:length], data[:length + 16], data):
        S.check_age_header(head, size=len(data))  # a head of a file whose size is known
        assert S.age_recipients_stanza_count(head) == 1
        assert S.parse_age_header(head).length == length
    S.check_age_header(data)  # shorter than 64 KiB: the whole file
    # a whole file that ends after the header, or after the nonce, or inside the first chunk's tag
    for cut, match in ((length, "nonce"), (length + 15, "nonce"), (length + 16, "impossible length"),
                       (length + 31, "impossible length")):
        _refused(data[:cut], match)
        with pytest.raises(S.NotAgeFile, match=match):
            S.check_age_header(data[:200], size=cut)


@needs_age
def test_real_age_with_two_recipients():
    a, b = S.new_opening_key(), S.new_opening_key()
    data = run(AGE, "-r", a.recipient, "-r", b.recipient, input=b"bid")
    S.check_age_header(data[:S.HEADER_LIMIT])
    assert S.age_recipients_stanza_count(data) == 2


def test_pyrage_heads_with_grease_are_accepted(key):
    recipient = pyrage.x25519.Recipient.from_str(key.recipient)
    for _ in range(20):  # rage adds a random "grease" stanza to some files
        data = pyrage.encrypt(b"bid" * 100, [recipient])
        S.check_age_header(data)
        assert S.age_recipients_stanza_count(data) == 1


@needs_age
def test_armored_age_is_refused(key):
    data = run(AGE, "-a", "-r", key.recipient, input=b"bid")
    with pytest.raises(S.NotAgeFile, match="armored"):
        S.check_age_header(data)


def _refused(head: bytes, match: str | None = None) -> S.NotAgeFile:
    with pytest.raises(S.NotAgeFile, match=match) as e:
        S.check_age_header(head)
    assert e.value.code == "not_age_file" and e.value.field == "file"
    return e.value


def test_random_bytes_are_refused():
    for size in (1, 64, 4096, S.HEADER_LIMIT):
        data = os.urandom(size)
        if data[:1] in (b"a", b"-"):  # could begin the age intro or an armor line: another message
            data = b"\x00" + data[1:]
        _refused(data, "does not start")


@given(st.binary(max_size=600))
def test_arbitrary_bytes_are_accepted_or_refused_cleanly(data):
    for head in (data, S.AGE_INTRO + data, S.AGE_INTRO + b"-> X25519 " + data):
        try:
            S.parse_age_header(head)
        except S.NotAgeFile:
            pass


def test_a_pdf_is_refused():
    from pypdf import PdfWriter

    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    assert out.getvalue().startswith(b"%PDF-")
    _refused(out.getvalue(), "does not start")


def test_a_passphrase_only_age_file_is_refused(passphrase_sealed):
    # `age -p` needs a terminal, so the scrypt-only file comes from pyrage.passphrase.encrypt
    assert S.parse_age_header(passphrase_sealed).stanza_types == ("scrypt",)
    _refused(passphrase_sealed, "passphrase")
    assert S.age_recipients_stanza_count(passphrase_sealed) == 0


@needs_age
def test_truncated_headers_are_refused(real_age_file):
    data, _ = real_age_file
    for cut in range(1, header_length(data)):
        _refused(data[:cut], "truncated")


def test_an_empty_input_is_refused():
    _refused(b"", "empty")


def b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


SHARE_B64, BODY_B64, MAC_B64 = b64(bytes(range(32))), b64(bytes(range(32, 64))), b64(bytes(range(64, 96)))
X25519_STANZA = b"-> X25519 " + SHARE_B64 + b"\n" + BODY_B64 + b"\n"
MAC_LINE = b"--- " + MAC_B64 + b"\n"


def test_a_synthetic_header_is_accepted():
    head = S.AGE_INTRO + X25519_STANZA + b"-> some-grease 1 2\n" + b"D" * 64 + b"\n\n" + MAC_LINE
    header = S.parse_age_header(head + os.urandom(100))
    assert header.stanza_types == ("X25519", "some-grease") and header.length == len(head)
    S.check_age_header(head + os.urandom(16 + 16))  # nonce and an empty final chunk (its tag)
    S.check_age_header(head, size=len(head) + 16 + 16)


def test_a_header_longer_than_the_limit_is_refused():
    grease = b"-> grease x\n\n"
    long = S.AGE_INTRO + X25519_STANZA + grease * (S.HEADER_LIMIT // len(grease) + 1)
    assert len(long) > S.HEADER_LIMIT
    _refused(long, "too long")
    _refused(long + MAC_LINE, "too long")
    _refused(long[: S.HEADER_LIMIT - 1], "truncated")  # a whole file that short ends inside the header


@pytest.mark.parametrize("head,match", [
    (b"age-encryption.org/v2\n" + X25519_STANZA + MAC_LINE, "does not start"),
    (S.AGE_INTRO + MAC_LINE, "line 2"),  # no stanza
    (S.AGE_INTRO + b"-> X25519 " + SHARE_B64[:42] + b"\n" + BODY_B64 + b"\n" + MAC_LINE, "X25519"),
    (S.AGE_INTRO + b"-> X25519 " + SHARE_B64 + b"\n" + b64(bytes(31)) + b"\n" + MAC_LINE, "X25519"),
    (S.AGE_INTRO + b"-> X25519 " + SHARE_B64 + b" extra\n" + BODY_B64 + b"\n" + MAC_LINE, "X25519"),
    (S.AGE_INTRO + b"-> X25519 " + SHARE_B64 + b"\n" + MAC_LINE, "line 3"),  # body missing
    (S.AGE_INTRO + b"->  X25519\n\n" + MAC_LINE, "line 2"),  # empty argument
    (S.AGE_INTRO + b"-> \n\n" + MAC_LINE, "line 2"),
    (S.AGE_INTRO + X25519_STANZA + b"--- " + MAC_B64[:42] + b"\n", "line 4"),  # MAC too short
    (S.AGE_INTRO + X25519_STANZA + b"---\n", "line 4"),
    (S.AGE_INTRO + X25519_STANZA + b"-> x\n" + b"D" * 65 + b"\n" + MAC_LINE, "line 5"),  # body line too long
    (S.AGE_INTRO + X25519_STANZA + b"-> x\nD=\n" + MAC_LINE, "line 5"),  # padding
    (S.AGE_INTRO + b"-> X25519 \xc3\xa9\n", "line 2"),  # non-ASCII
    (S.AGE_INTRO + b"garbage\n", "line 2"),
    (S.AGE_INTRO + b"\x00\x01\x02", "line 2"),  # binary where a line was expected, even before a newline
    (S.AGE_INTRO + b"-> ssh-ed25519 abc " + SHARE_B64 + b"\n" + BODY_B64 + b"\n" + MAC_LINE, "X25519 recipient"),
])
def test_malformed_headers_are_refused(head, match):
    _refused(head, match)


# ---------------------------------------------------------------- files


@pytest.fixture
def plain(tmp_path) -> Path:
    path = tmp_path / "bid.pdf"
    path.write_bytes(os.urandom(200_000))  # several 64 KiB age chunks
    return path


@needs_age
def test_a_file_sealed_by_the_real_age_opens(tmp_path, plain):
    id_file, identity, recipient = age_keygen(tmp_path)
    sealed = tmp_path / "bid.age"
    run(AGE, "-r", recipient, "-o", str(sealed), str(plain))
    S.check_age_header(sealed.read_bytes()[: S.HEADER_LIMIT])
    digest = S.open_file(sealed, tmp_path / "out", identity)
    assert (tmp_path / "out").read_bytes() == plain.read_bytes()
    assert digest == hashlib.sha256(plain.read_bytes()).hexdigest()  # hashed as it was written


@needs_age
def test_a_file_sealed_here_opens_with_the_real_age(tmp_path, plain):
    id_file, _, recipient = age_keygen(tmp_path)
    bidder = S.new_opening_key()
    sealed = tmp_path / "bid.age"
    S.seal_file(plain, sealed, [recipient, bidder.recipient])
    assert S.age_recipients_stanza_count(sealed.read_bytes()[: S.HEADER_LIMIT]) == 2
    run(AGE, "-d", "-i", str(id_file), "-o", str(tmp_path / "out"), str(sealed))
    assert (tmp_path / "out").read_bytes() == plain.read_bytes()
    S.open_file(sealed, tmp_path / "bidder-copy", bidder.identity)
    assert (tmp_path / "bidder-copy").read_bytes() == plain.read_bytes()


@needs_age
def test_an_identity_rebuilt_from_shares_opens_a_file_sealed_by_the_real_age(tmp_path, plain):
    _, identity, recipient = age_keygen(tmp_path)
    shares = S.split_identity(identity, k=3, n=5, tender_ref="SB-2026-00001")
    sealed = tmp_path / "bid.age"
    run(AGE, "-r", recipient, "-o", str(sealed), str(plain))
    rebuilt = S.combine_shares([shares[4], shares[1], shares[3]], recipient=recipient)
    assert rebuilt == identity
    S.open_file(sealed, tmp_path / "out", rebuilt)
    assert (tmp_path / "out").read_bytes() == plain.read_bytes()
    rebuilt_file = tmp_path / "rebuilt.txt"
    rebuilt_file.write_text(rebuilt + "\n")
    assert run(AGE, "-d", "-i", str(rebuilt_file), str(sealed)) == plain.read_bytes()


def _no_leftovers(directory: Path, *expected: str) -> None:
    assert sorted(p.name for p in directory.iterdir()) == sorted(expected)


def test_open_file_with_the_wrong_identity(tmp_path, plain, key):
    sealed = tmp_path / "bid.age"
    S.seal_file(plain, sealed, [key.recipient])
    with pytest.raises(S.Undecryptable) as e:
        S.open_file(sealed, tmp_path / "out", S.new_opening_key().identity)
    assert e.value.code == "undecryptable" and e.value.reason == "no_matching_key"
    _no_leftovers(tmp_path, "bid.pdf", "bid.age")


@pytest.mark.parametrize("damage", ["truncated", "truncated-at-chunk", "flipped", "header-only", "empty", "garbage"])
def test_open_file_refuses_damaged_files_and_leaves_nothing(tmp_path, plain, key, damage):
    sealed = tmp_path / "bid.age"
    S.seal_file(plain, sealed, [key.recipient])
    data = sealed.read_bytes()
    length = header_length(data)
    damaged = {
        "truncated": data[:150_000],
        "truncated-at-chunk": data[: length + 16 + 65536 + 16],
        "flipped": data[:100_000] + bytes([data[100_000] ^ 1]) + data[100_001:],
        "header-only": data[:length],
        "empty": b"",
        "garbage": os.urandom(1000),
    }[damage]
    sealed.write_bytes(damaged)
    (tmp_path / "out").write_bytes(b"previous")
    with pytest.raises(S.Undecryptable) as e:
        S.open_file(sealed, tmp_path / "out", key.identity)
    assert e.value.reason == "corrupt"
    assert (tmp_path / "out").read_bytes() == b"previous"  # no partial plaintext
    _no_leftovers(tmp_path, "bid.pdf", "bid.age", "out")


def test_file_arguments(tmp_path, plain, key):
    with pytest.raises(FileNotFoundError):
        S.open_file(tmp_path / "missing.age", tmp_path / "out", key.identity)
    with pytest.raises(FileNotFoundError):
        S.seal_file(tmp_path / "missing", tmp_path / "out", [key.recipient])
    with pytest.raises(S.InvalidRecipient):
        S.seal_file(plain, tmp_path / "out", ["age1bad"])
    with pytest.raises(S.InvalidRecipient):
        S.seal_file(plain, tmp_path / "out", [])
    with pytest.raises(TypeError):
        S.seal_file(plain, tmp_path / "out", key.recipient)
    with pytest.raises(S.InvalidIdentity):
        S.open_file(plain, tmp_path / "out", "nope")
    _no_leftovers(tmp_path, "bid.pdf")


def test_seal_and_open_round_trip_in_python(tmp_path, plain, key):
    sealed, out = tmp_path / "bid.age", tmp_path / "out.pdf"
    S.seal_file(str(plain), str(sealed), [key.recipient])
    S.check_age_header(sealed.read_bytes()[: S.HEADER_LIMIT])
    S.open_file(str(sealed), str(out), key.identity)
    assert out.read_bytes() == plain.read_bytes()
    _no_leftovers(tmp_path, "bid.pdf", "bid.age", "out.pdf")


def test_module_is_pure():
    from tests.unit.sunbid.test_purity import violations

    assert violations(Path(S.__file__).read_text(encoding="utf-8")) == []


def test_error_codes():
    assert {c.code for c in (S.MalformedShare, S.DuplicateShare, S.NotEnoughShares, S.WrongShares,
                             S.ShareUnreadable, S.NotAgeFile, S.Undecryptable, S.MismatchedShares,
                             S.InvalidSharing)} == {
        "malformed_share", "duplicate_share", "not_enough_shares", "wrong_shares", "share_unreadable",
        "not_age_file", "undecryptable", "mismatched_shares", "invalid_sharing"}
    from core.errors import InvalidInput

    assert issubclass(S.InvalidSharing, InvalidInput) and issubclass(S.NotAgeFile, InvalidInput)


# ---------------------------------------------------------------- payload lengths and low-order shares


def test_payload_lengths_follow_the_stream_chunks():
    head = S.AGE_INTRO + X25519_STANZA + MAC_LINE
    n = len(head) + S.NONCE_SIZE
    full = S.FULL_CHUNK
    good = [n + 16, n + 17, n + full, n + full + 17, n + 2 * full, n + 3 * full + 1000]
    bad = [len(head), n - 1, n, n + 15, n + full + 16, n + full + 1, n + full + 15, n + 2 * full + 16]
    for size in good:
        S.check_age_header(head, size=size)
    for size in bad:
        with pytest.raises(S.NotAgeFile):
            S.check_age_header(head, size=size)


def _x25519(k: int, u: int) -> int:
    """RFC 7748 section 5's Montgomery ladder, written out to check the small-order list independently."""
    p, a24 = 2**255 - 19, 121665
    x1, x2, z2, x3, z3, swap = u, 1, 0, u, 1, 0
    for t in reversed(range(255)):
        bit = (k >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % p, (x2 - z2) % p
        aa, bb = a * a % p, b * b % p
        e = (aa - bb) % p
        c, d = (x3 + z3) % p, (x3 - z3) % p
        da, cb = d * a % p, c * b % p
        x3, z3 = (da + cb) ** 2 % p, x1 * (da - cb) ** 2 % p
        x2, z2 = aa * bb % p, e * (aa + a24 * e) % p
    if swap:
        x2, z2 = x3, z3
    return x2 * pow(z2, p - 2, p) % p


def _clamped(seed: bytes) -> int:
    k = bytearray(seed)
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    return int.from_bytes(k, "little")


@settings(max_examples=20, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_every_listed_low_order_share_gives_the_all_zero_secret(seed):
    p = 2**255 - 19
    k = _clamped(seed)
    for u in S.X25519_SMALL_ORDER:
        # the canonical encoding, the top bit set, and u + p when it still fits in 255 bits
        encodings = [u, u | 1 << 255] + ([u + p] if u + p < 2**255 else [])
        for enc in encodings:
            share = enc.to_bytes(32, "little")
            assert S.x25519_share_is_low_order(share)
            assert _x25519(k, (enc & ((1 << 255) - 1)) % p) == 0


def test_listed_shares_have_order_dividing_8_and_random_ones_do_not():
    # 8·P is the point at infinity (the ladder's z = 0, so u = 0) exactly for the points of order dividing 8
    for u in S.X25519_SMALL_ORDER:
        assert _x25519(8, u) == 0
    for seed in (os.urandom(32) for _ in range(50)):
        u = int.from_bytes(seed, "little") & ((1 << 255) - 1)
        if not S.x25519_share_is_low_order(seed):
            assert _x25519(8, u % (2**255 - 19)) != 0


def test_a_low_order_share_is_refused_and_a_real_one_accepted(key):
    head_ok = pyrage.encrypt(b"bid", [pyrage.x25519.Recipient.from_str(key.recipient)])
    S.check_age_header(head_ok)
    for u in (0, 1, 2**255 - 20, 2**255 - 19):
        stanza = b"-> X25519 " + b64(u.to_bytes(32, "little")) + b"\n" + BODY_B64 + b"\n"
        head = S.AGE_INTRO + stanza + MAC_LINE + os.urandom(32)
        _refused(head, "low-order")
