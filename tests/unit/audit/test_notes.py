"""Signed notes, checkpoints and cosignatures (audit/notes.py).

Known-answer vectors come from golang.org/x/mod/sumdb/note (note_test.go: PeterNeumann and
EnochRoot), github.com/transparency-dev/formats/note (note_cosigv1_test.go: a type-0x04 vkey)
and the examples of c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature.
"""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import notes
from audit.notes import (
    BadSignature,
    Checkpoint,
    MalformedCheckpoint,
    MalformedKey,
    MalformedNote,
    NoteError,
    OriginMismatch,
    Signer,
    UnverifiedNote,
    Verifier,
    WitnessSigner,
    WitnessVerifier,
    cosign,
    generate_signer,
    generate_witness,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
    verify_cosignature,
)
from core.errors import InvalidInput
from tests.unit.sunbid.test_purity import violations

# --- golang.org/x/mod/sumdb/note, note_test.go
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6R"
             "yyBwJnAM=\n")
ENOCH_SIG = ("— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc"
             "+QQ=\n")

# --- c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature examples
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_LOG_SIG = ("— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGk"
                "u9nTo+zyWE+xeMcTOAYQ8=\n")
SPEC_WITNESS_SIG = ("— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1"
                    "nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n")

ROOT = bytes(range(32))


def code(excinfo) -> str:
    return excinfo.value.code


@pytest.fixture(scope="module")
def log():
    skey, vkey = generate_signer("sunbid.example/log")
    return Signer.from_skey(skey), Verifier.from_vkey(vkey)


@pytest.fixture(scope="module")
def witness():
    skey, vkey = generate_witness("witness.example/w1")
    return WitnessSigner.from_skey(skey), vkey


def test_module_is_pure():
    source = (Path(notes.__file__)).read_text(encoding="utf-8")
    assert violations(source) == []
    assert "import time" not in source and "datetime" not in source


# --------------------------------------------------------------------------- keys


def test_go_vectors_key_ids_and_strings():
    signer = Signer.from_skey(PETER_SKEY)
    verifier = Verifier.from_vkey(PETER_VKEY)
    assert signer.name == verifier.name == "PeterNeumann"
    assert signer.key_id == verifier.key_id == 0xC74F20A3
    assert signer.vkey() == PETER_VKEY
    assert signer.skey() == PETER_SKEY
    assert verifier.vkey() == PETER_VKEY
    public = base64.b64decode(PETER_VKEY.split("+")[2])[1:]
    assert notes.key_id("PeterNeumann", 0x01, public) == 0xC74F20A3
    digest = hashlib.sha256(b"PeterNeumann\n\x01" + public).digest()
    assert int.from_bytes(digest[:4], "big") == 0xC74F20A3
    assert Verifier.from_vkey(ENOCH_VKEY).key_id == 0xAF0CFE78


def test_go_vector_signature_line_is_exact():
    signed = sign_note(TEXT, Signer.from_skey(PETER_SKEY))
    assert signed == TEXT + "\n" + PETER_SIG


def test_cosignature_vkey_vector_uses_type_4():
    # transparency-dev/formats note_cosigv1_test.go: "native algEd25519CosignatureV1 verifier"
    vkey = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    w = WitnessVerifier.from_vkey(vkey)
    assert w.key_id == 0xDA77ADE7 and w.vkey() == vkey
    assert notes.key_id(w.name, 0x04, w.public_key) == 0xDA77ADE7
    with pytest.raises(MalformedKey):  # a type-0x04 key is not a note key
        Verifier.from_vkey(vkey)
    # and an ordinary (0x01) vkey is not a witness key
    Verifier.from_vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    with pytest.raises(MalformedKey):
        WitnessVerifier.from_vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")


def test_mangled_vkeys_are_rejected():
    # as TestNewVerifier: every proper substring and every one-character change fails
    b = PETER_VKEY
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if (i, j) != (0, len(b)):
                with pytest.raises(MalformedKey):
                    Verifier.from_vkey(b[i:j])
    for i in range(len(b)):
        with pytest.raises(MalformedKey):
            Verifier.from_vkey(b[:i] + chr(ord(b[i]) + 1) + b[i + 1:])
    with pytest.raises(MalformedKey):  # wrong length key, with adjusted key hash
        Verifier.from_vkey("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(MalformedKey):  # unknown algorithm, with adjusted key hash
        Verifier.from_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_mangled_skeys_are_rejected():
    b = PETER_SKEY
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if (i, j) != (0, len(b)):
                with pytest.raises(MalformedKey):
                    Signer.from_skey(b[i:j])
    for i in range(len(b)):
        with pytest.raises(MalformedKey):
            Signer.from_skey(b[:i] + chr(ord(b[i]) + 1) + b[i + 1:])


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "a\u00a0b", "a\u3000b", "a\u2028b", "a\x01b",
                                  "\ud800"])
def test_invalid_key_names(name):
    assert not notes.is_valid_name(name)
    with pytest.raises(MalformedKey):
        generate_signer(name)
    with pytest.raises(MalformedKey):
        generate_witness(name)


def test_valid_key_names():
    for name in ("PeterNeumann", "example.com/log42", "é/日本", "oid/1.3.6.1"):
        assert notes.is_valid_name(name)


def test_generated_keys_round_trip():
    skey, vkey = generate_signer("sunbid.example/log")
    assert skey.startswith("PRIVATE+KEY+sunbid.example/log+") and vkey.startswith("sunbid.example/log+")
    s, v = Signer.from_skey(skey), Verifier.from_vkey(vkey)
    assert (s.name, s.key_id) == (v.name, v.key_id) and s.vkey() == vkey and s.skey() == skey
    assert f"+{v.key_id:08x}+" in vkey
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x01
    assert base64.b64decode(skey.split("+", 4)[4])[0] == 0x01
    sig = s.sign(b"hi")
    assert v.verify(b"hi", sig)
    assert not v.verify(b"hj", sig)
    assert not v.verify(b"hi", bytes([sig[0] ^ 1]) + sig[1:])
    # the key's base64 may itself contain "+": take the whole encoded key, never a short tail of it
    assert "PRIVATE" not in repr(s) and skey.split("+", 4)[4] not in repr(s)


def test_witness_keys_use_type_4():
    skey, vkey = generate_witness("witness.example/w1")
    ws, wv = WitnessSigner.from_skey(skey), WitnessVerifier.from_vkey(vkey)
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    assert base64.b64decode(skey.split("+", 4)[4])[0] == 0x04
    assert ws.key_id == wv.key_id == notes.key_id(wv.name, 0x04, wv.public_key)
    assert ws.vkey() == vkey
    # the same Ed25519 key under type 0x01 has another key ID; keys don't cross over
    assert notes.key_id(wv.name, 0x01, wv.public_key) != wv.key_id
    with pytest.raises(MalformedKey):
        Signer.from_skey(skey)
    with pytest.raises(MalformedKey):
        Verifier.from_vkey(vkey)
    with pytest.raises(MalformedKey):
        WitnessSigner.from_skey(PETER_SKEY)


# --------------------------------------------------------------------------- signed notes


def test_open_go_vectors():
    peter, enoch = Verifier.from_vkey(PETER_VKEY), Verifier.from_vkey(ENOCH_VKEY)
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    opened = open_note(note, [peter])
    assert opened.text == TEXT
    assert [(s.name, s.key_id) for s in opened.signatures] == [("PeterNeumann", 0xC74F20A3)]
    assert [(s.name, s.key_id) for s in opened.unverified] == [("EnochRoot", 0xAF0CFE78)]
    assert opened.unverified_lines == (ENOCH_SIG,)
    both = open_note(note, [peter, enoch])
    assert [s.name for s in both.signatures] == ["PeterNeumann", "EnochRoot"] and both.unverified == ()
    assert open_note(note.encode("utf-8"), [enoch]).text == TEXT


def test_no_known_key_is_unverified_note():
    with pytest.raises(UnverifiedNote) as e:
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])
    assert code(e) == "unverified_note"
    assert isinstance(e.value, NoteError) and isinstance(e.value, InvalidInput)
    assert [s.key_id for s in e.value.opened.unverified] == [0xC74F20A3, 0xAF0CFE78]
    # same name, other key ID (and vice versa) is an unknown key, not a bad signature
    other = Verifier.from_vkey(generate_signer("PeterNeumann")[1])
    with pytest.raises(UnverifiedNote):
        open_note(TEXT + "\n" + PETER_SIG, [other])


def test_spec_examples_parse():
    with pytest.raises(UnverifiedNote) as e:
        open_note(SPEC_BODY + "\n" + SPEC_LOG_SIG + SPEC_WITNESS_SIG, [])
    opened = e.value.opened
    assert opened.text == SPEC_BODY
    assert [(s.name, s.key_id) for s in opened.unverified] == [
        ("example.com/behind-the-sofa", 0x033DE0AE), ("witness.example.com/w1", 0x8D66CF3F)]
    # the witness line carries the example's time 1679315147 right after the key ID
    assert int.from_bytes(opened.unverified[1].signature[:8], "big") == 1679315147
    poem = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    with pytest.raises(UnverifiedNote) as e:
        open_note(poem + "\n— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9"
                  "oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n", [])
    assert e.value.opened.text == poem  # the text may contain empty lines; the last one splits


@pytest.mark.parametrize("note", [
    TEXT,
    TEXT + "\n",
    TEXT + "\n" + PETER_SIG[:-1],
    "\x01" + TEXT + "\n" + PETER_SIG,
    "\ud800" + TEXT + "\n" + PETER_SIG,
    TEXT + "\r\n" + PETER_SIG,
    TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
    TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    TEXT + "\n" + PETER_SIG.replace("—", "-"),
    TEXT + "\n" + PETER_SIG * 101,
])
def test_malformed_notes(note):
    with pytest.raises(MalformedNote) as e:
        open_note(note, [Verifier.from_vkey(PETER_VKEY)])
    assert code(e) == "malformed_note"


MALFORMED_SIGNATURE_LINES = [
    "— PeterNeumann \n",  # no signature
    "— PeterNeumann AAAA\n",  # shorter than key ID + 1 byte
    "— PeterNeumann x08go/ZJkuBS9UG!\n",  # not base64
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
    "— Bad+Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
    "— \n",  # no name
    "— witness.example/w9 " + "A" * 10 + "=\n",  # an unknown key's, badly padded
]


@pytest.mark.parametrize("line", MALFORMED_SIGNATURE_LINES)
def test_a_malformed_signature_line_is_ignored_as_an_unknown_keys(line):
    """c2sp.org/signed-note: signatures from unknown keys are ignored, and a line that does not parse is
    from no known key (its name and key ID cannot both match one)."""
    peter = Verifier.from_vkey(PETER_VKEY)
    for note in (TEXT + "\n" + line + PETER_SIG, TEXT + "\n" + PETER_SIG + line):
        opened = open_note(note, [peter])
        assert [s.name for s in opened.signatures] == ["PeterNeumann"] and opened.unverified == ()
    with pytest.raises(UnverifiedNote) as e:  # alone, it is no signature from a known key
        open_note(TEXT + "\n" + line, [peter])
    assert e.value.opened.unverified == ()


def test_a_verifier_set_with_two_keys_of_one_name_and_id_is_refused():
    """Go's note.VerifierList: two keys with the same name and key ID are ambiguous."""
    peter = Verifier.from_vkey(PETER_VKEY)
    impostor = Verifier.from_vkey(generate_signer("PeterNeumann")[1])
    impostor.key_id = peter.key_id  # a key ID collision (one in 2^32 per key), made by hand
    assert impostor != peter and (impostor.name, impostor.key_id) == (peter.name, peter.key_id)
    with pytest.raises(notes.AmbiguousKeys) as e:
        open_note(TEXT + "\n" + PETER_SIG, [peter, impostor])
    assert code(e) == "ambiguous_keys"
    assert open_note(TEXT + "\n" + PETER_SIG, [peter, Verifier.from_vkey(PETER_VKEY)]).signatures  # one key twice


def test_malformed_utf8_bytes():
    with pytest.raises(MalformedNote):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [Verifier.from_vkey(PETER_VKEY)])


def test_bad_signatures_from_known_keys():
    peter = Verifier.from_vkey(PETER_VKEY)
    prefix = "— PeterNeumann "
    b64 = PETER_SIG[len(prefix):-1]
    cases = {
        "longer": b64[:43] + "ABCD" + b64[43:],  # Go's "Invalid signature." case
        "flipped": base64.b64encode(bytes([*base64.b64decode(b64)[:10], base64.b64decode(b64)[10] ^ 1,
                                           *base64.b64decode(b64)[11:]])).decode(),
    }
    for sig in cases.values():
        with pytest.raises(BadSignature) as e:
            open_note(TEXT + "\n" + prefix + sig + "\n", [peter])
        assert code(e) == "bad_signature" and "PeterNeumann+c74f20a3" in str(e.value)
    with pytest.raises(BadSignature):  # tampered text
        open_note(TEXT.replace("answer", "Answer") + "\n" + PETER_SIG, [peter])
    # a bad signature from a known key rejects the note even if another known key verifies
    with pytest.raises(BadSignature):
        open_note(TEXT + "\n" + ENOCH_SIG + prefix + cases["flipped"] + "\n",
                  [peter, Verifier.from_vkey(ENOCH_VKEY)])


def test_tampered_key_id_becomes_unknown():
    peter = Verifier.from_vkey(PETER_VKEY)
    raw = bytearray(base64.b64decode(PETER_SIG[len("— PeterNeumann "):-1]))
    raw[3] ^= 1
    line = "— PeterNeumann " + base64.b64encode(bytes(raw)).decode() + "\n"
    with pytest.raises(UnverifiedNote):
        open_note(TEXT + "\n" + line, [peter])
    # tolerated next to a good signature, and reported as unverified
    opened = open_note(TEXT + "\n" + PETER_SIG + line, [peter])
    assert opened.unverified_lines == (line,)


def test_duplicate_signatures_are_dropped():
    peter = Verifier.from_vkey(PETER_VKEY)
    opened = open_note(TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG, [peter])
    assert len(opened.signatures) == 1 and len(opened.unverified) == 1


def test_sign_note_round_trip_and_checks(log):
    signer, verifier = log
    other = Signer.from_skey(PETER_SKEY)
    signed = sign_note("hello\n\nworld\n", signer, other, signer)
    assert signed.count("\n— ") == 2
    opened = open_note(signed, [verifier, Verifier.from_vkey(PETER_VKEY)])
    assert opened.text == "hello\n\nworld\n" and len(opened.signatures) == 2
    for bad in ("no newline", "tab\there\n", "cr\r\n", "\ud800\n", ""):
        with pytest.raises(MalformedNote):
            sign_note(bad, signer)
    with pytest.raises(ValueError):
        sign_note("text\n")
    with pytest.raises(TypeError):
        sign_note("text\n", WitnessSigner.from_skey(generate_witness("w")[0]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n")
                        .filter(lambda c: ord(c) >= 0x20), max_size=20), min_size=1, max_size=6))
def test_any_valid_text_round_trips(lines):
    s = Signer.from_skey(PETER_SKEY)
    text = "".join(line + "\n" for line in lines)
    assert open_note(sign_note(text, s), [Verifier.from_vkey(PETER_VKEY)]).text == text


# --------------------------------------------------------------------------- checkpoints


def test_checkpoint_body_is_byte_exact():
    root = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    cp = Checkpoint("example.com/behind-the-sofa", 20852163, root)
    assert cp.body() == SPEC_BODY
    assert Checkpoint.parse(SPEC_BODY) == cp
    ext = Checkpoint("o", 0, bytes(32), ("ext one", "ext two"))
    assert ext.body() == "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\next two\n"
    assert Checkpoint.parse(ext.body()) == ext


@pytest.mark.parametrize("text", [
    "o\n1\n",
    "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # no final newline
    "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    " o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "o \n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "o\n00\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "o\n+1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "o\n1 \nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "o\n\u0661\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # Arabic-Indic digit one
    "o\n9223372036854775808\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",  # 31 bytes
    "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # 34 bytes
    "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",  # non-canonical base64
    "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",  # no padding
    "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",  # empty extension line
    "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next\r\n",
])
def test_malformed_checkpoints(text):
    with pytest.raises(MalformedCheckpoint) as e:
        Checkpoint.parse(text)
    assert code(e) == "malformed_checkpoint"


def test_checkpoint_constructor_validates():
    Checkpoint("o", 0, bytes(32))
    for args in (("", 1, ROOT), (" o", 1, ROOT), ("o\nx", 1, ROOT), ("o", -1, ROOT), ("o", True, ROOT),
                 ("o", 2**63, ROOT), ("o", 1, ROOT[:31]), ("o", 1, "x" * 32), ("o", 1, ROOT, ("",)),
                 ("o", 1, ROOT, ("a\nb",))):
        with pytest.raises(MalformedCheckpoint):
            Checkpoint(*args)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**63 - 1), st.binary(min_size=32, max_size=32),
       st.lists(st.text("abc xyz=/", min_size=1, max_size=8), max_size=3))
def test_checkpoint_round_trip(size, root, extensions):
    cp = Checkpoint("sunbid.example/log", size, root, tuple(extensions))
    assert Checkpoint.parse(cp.body()) == cp
    assert Checkpoint.parse(cp.body()).body() == cp.body()


def test_signed_checkpoint_round_trip(log):
    signer, verifier = log
    cp = Checkpoint(signer.name, 42, ROOT, ("extension",))
    signed = sign_checkpoint(cp, signer)
    assert signed.startswith(cp.body() + "\n— sunbid.example/log ")
    assert open_checkpoint(signed, verifier) == cp


def test_checkpoint_origin_must_be_the_log_key_name(log):
    signer, verifier = log
    with pytest.raises(OriginMismatch) as e:
        sign_checkpoint(Checkpoint("other.example/log", 1, ROOT), signer)
    assert code(e) == "origin_mismatch"
    # a note signed by the log key over a checkpoint of another origin is refused on opening
    forged = sign_note(Checkpoint("other.example/log", 1, ROOT).body(), signer)
    with pytest.raises(OriginMismatch):
        open_checkpoint(forged, verifier)


def test_signed_note_that_is_not_a_checkpoint(log):
    signer, verifier = log
    with pytest.raises(MalformedCheckpoint):
        open_checkpoint(sign_note("just text\n", signer), verifier)


def test_tampered_checkpoints_are_rejected(log):
    signer, verifier = log
    cp = Checkpoint(signer.name, 42, ROOT)
    signed = sign_checkpoint(cp, signer)
    bigger = signed.replace("\n42\n", "\n43\n", 1)
    with pytest.raises(BadSignature) as e:
        open_checkpoint(bigger, verifier)
    assert code(e) == "bad_signature"
    other_root = signed.replace(base64.b64encode(ROOT).decode(), base64.b64encode(bytes(32)).decode(), 1)
    with pytest.raises(BadSignature):
        open_checkpoint(other_root, verifier)
    with pytest.raises(UnverifiedNote) as e:  # signed by another key
        open_checkpoint(signed, Verifier.from_vkey(generate_signer(signer.name)[1]))
    assert code(e) == "unverified_note"
    with pytest.raises(MalformedNote):
        open_checkpoint(cp.body(), verifier)


# --------------------------------------------------------------------------- cosignatures


def test_cosignature_round_trip(log, witness):
    signer, verifier = log
    wsigner, wvkey = witness
    cp = Checkpoint(signer.name, 7, ROOT)
    line = cosign(cp, wsigner, 1_700_000_000)
    assert line.startswith("— witness.example/w1 ") and line.endswith("\n")
    raw = base64.b64decode(line.split(" ")[2])
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[:4], "big") == wsigner.key_id
    assert int.from_bytes(raw[4:12], "big") == 1_700_000_000
    note = sign_checkpoint(cp, signer) + line
    assert verify_cosignature(note, wvkey) == 1_700_000_000
    assert verify_cosignature(note, WitnessVerifier.from_vkey(wvkey)) == 1_700_000_000
    # the log's own verification tolerates the cosignature as an unknown signature
    assert open_checkpoint(note, verifier) == cp
    opened = open_note(note, [verifier])
    assert opened.unverified_lines == (line,)
    # a witness verifier is also a note verifier
    both = open_note(note, [verifier, WitnessVerifier.from_vkey(wvkey)])
    assert [s.name for s in both.signatures] == [signer.name, "witness.example/w1"]


def test_cosignature_signed_message_matches_the_spec():
    # c2sp.org/tlog-cosignature, "Ed25519 signed message": the example message, byte for byte
    skey, vkey = generate_witness("witness.example.com/w1")
    w = WitnessSigner.from_skey(skey)
    cp = Checkpoint.parse(SPEC_BODY)
    raw = base64.b64decode(cosign(cp, w, 1679315147).split(" ")[2])
    message = (b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
               b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
    assert notes.cosignature_message(SPEC_BODY, 1679315147) == message
    Ed25519PublicKey.from_public_bytes(WitnessVerifier.from_vkey(vkey).public_key).verify(raw[12:], message)
    assert raw[4:12] == (1679315147).to_bytes(8, "big")


def test_cosignature_tampering(log, witness):
    signer, _ = log
    wsigner, wvkey = witness
    cp = Checkpoint(signer.name, 7, ROOT)
    signed = sign_checkpoint(cp, signer)
    line = cosign(cp, wsigner, 1_700_000_000)
    prefix, b64 = line[:-1].rsplit(" ", 1)
    raw = base64.b64decode(b64)

    def relined(payload: bytes) -> str:
        return prefix + " " + base64.b64encode(payload).decode() + "\n"

    later = relined(raw[:4] + (1_700_000_001).to_bytes(8, "big") + raw[12:])
    assert verify_cosignature(signed + later, wvkey) is None
    too_big = relined(raw[:4] + (2**63).to_bytes(8, "big") + raw[12:])
    assert verify_cosignature(signed + too_big, wvkey) is None
    flipped = relined(raw[:-1] + bytes([raw[-1] ^ 1]))
    assert verify_cosignature(signed + flipped, wvkey) is None
    truncated = relined(raw[:-1])
    assert verify_cosignature(signed + truncated, wvkey) is None
    # the body: another size, another root, an added extension line
    for body in (Checkpoint(signer.name, 8, ROOT), Checkpoint(signer.name, 7, bytes(32)),
                 Checkpoint(signer.name, 7, ROOT, ("ext",))):
        assert verify_cosignature(sign_checkpoint(body, signer) + line, wvkey) is None
    # another witness's cosignature, or none at all
    other_skey, other_vkey = generate_witness("witness.example/w2")
    assert verify_cosignature(signed + line, other_vkey) is None
    assert verify_cosignature(signed, wvkey) is None
    assert verify_cosignature(signed + cosign(cp, WitnessSigner.from_skey(other_skey), 5), other_vkey) == 5
    # an invalid cosignature from a known witness makes open_note refuse the note
    with pytest.raises(BadSignature):
        open_note(signed + later, [WitnessVerifier.from_vkey(wvkey)])


def test_cosignature_extension_lines_are_signed(log, witness):
    signer, _ = log
    wsigner, wvkey = witness
    cp = Checkpoint(signer.name, 7, ROOT, ("extension 1",))
    note = sign_checkpoint(cp, signer) + cosign(cp, wsigner, 3)
    assert verify_cosignature(note, wvkey) == 3
    assert verify_cosignature(note.replace("extension 1", "extension X"), wvkey) is None


def test_cosignature_argument_checks(witness):
    wsigner, wvkey = witness
    cp = Checkpoint("o", 1, ROOT)
    for bad in (-1, 2**63):
        with pytest.raises(ValueError):
            cosign(cp, wsigner, bad)
    for bad in (1.5, True, "1"):
        with pytest.raises(TypeError):
            cosign(cp, wsigner, bad)
    assert verify_cosignature(sign_note(cp.body(), Signer.from_skey(PETER_SKEY)) + cosign(cp, wsigner, 0),
                              wvkey) == 0
    with pytest.raises(MalformedKey):
        verify_cosignature(sign_note(cp.body(), Signer.from_skey(PETER_SKEY)), PETER_VKEY)
    with pytest.raises(MalformedNote):
        verify_cosignature(cp.body(), wvkey)
    with pytest.raises(MalformedCheckpoint):
        verify_cosignature(sign_note("not a checkpoint\n", Signer.from_skey(PETER_SKEY)), wvkey)


def test_errors_render_as_domain_errors():
    e = BadSignature(key="PeterNeumann+c74f20a3")
    assert e.to_dict() == {"code": "bad_signature",
                           "message": "The note has an invalid signature from key PeterNeumann+c74f20a3."}
    assert e.status == 400
    assert MalformedNote(reason="x").to_dict()["message"] == "The signed note is malformed."
