"""The c2sp.org/tlog-proof@v1 text format (audit/proofs.py): encoding, parsing and offline verification."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle, notes, proofs
from audit.proofs import HEADER, InclusionFailed, MalformedProof, ProofError, TlogProof, UntrustedCheckpoint

ORIGIN = "example.test/log"
SIGNER = notes.Signer.generate(ORIGIN)
VERIFIER = SIGNER.verifier()


def log(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


def checkpoint_note(entries: list[bytes], signer: notes.Signer = SIGNER, origin: str = ORIGIN) -> str:
    return notes.sign_checkpoint(notes.Checkpoint(origin, len(entries), merkle.root_hash(entries)), signer)


def make_proof(n: int, index: int, *, extra: bytes | None = None) -> tuple[bytes, str]:
    """(the leaf hash of entry ``index``, the proof text) in a log of ``n`` entries."""
    entries = log(n)
    proof = TlogProof(index=index, hashes=tuple(merkle.inclusion_proof(entries, index)),
                      checkpoint=checkpoint_note(entries), extra=extra)
    return merkle.leaf_hash(entries[index]), proof.encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ------------------------------------------------------------------ the format


def test_layout_follows_the_spec_header_index_hashes_empty_line_checkpoint():
    entries = log(11)
    note = checkpoint_note(entries)
    path = merkle.inclusion_proof(entries, 6)
    text = proofs.encode(TlogProof(index=6, hashes=tuple(path), checkpoint=note))
    assert text == "\n".join([HEADER, "index 6", *(b64(h) for h in path)]) + "\n\n" + note
    lines = text.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1" and lines[1] == "index 6"
    assert lines[2 + len(path)] == "" and lines[3 + len(path)] == ORIGIN and lines[4 + len(path)] == "11"


def test_extra_line_comes_second_and_round_trips():
    _leaf, text = make_proof(5, 2, extra=b"opaque context")
    assert text.split("\n")[1] == "extra " + b64(b"opaque context")
    parsed = proofs.parse(text)
    assert parsed.extra == b"opaque context" and parsed.index == 2 and parsed.encode() == text


def test_a_one_entry_log_has_an_empty_path():
    leaf, text = make_proof(1, 0)
    assert text.startswith(f"{HEADER}\nindex 0\n\n{ORIGIN}\n1\n")
    assert proofs.verify(text, leaf_hash=leaf, verifier=VERIFIER).size == 1


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))),
       st.one_of(st.none(), st.binary(min_size=1, max_size=40)))
def test_round_trip_and_verify_for_any_size_and_index(size_index, extra):
    n, index = size_index
    leaf, text = make_proof(n, index, extra=extra)
    parsed = proofs.parse(text)
    assert parsed.encode() == text and parsed.index == index and parsed.extra == extra
    cp = proofs.verify(text, leaf_hash=leaf, verifier=VERIFIER, index=index)
    assert (cp.origin, cp.size, cp.root) == (ORIGIN, n, merkle.root_hash(log(n)))


def test_witness_cosignatures_on_the_checkpoint_are_kept_and_ignored():
    entries = log(9)
    cp = notes.Checkpoint(ORIGIN, 9, merkle.root_hash(entries))
    witness = notes.WitnessSigner.generate("witness.example")
    cosigned = notes.sign_checkpoint(cp, SIGNER) + notes.cosign(cp, witness, 1_700_000_000)
    text = TlogProof(index=4, hashes=tuple(merkle.inclusion_proof(entries, 4)), checkpoint=cosigned).encode()
    assert proofs.parse(text).checkpoint == cosigned
    assert proofs.verify(text, leaf_hash=merkle.leaf_hash(entries[4]), verifier=VERIFIER).size == 9


# ------------------------------------------------------------------ refusals


def test_wrong_index_is_refused():
    leaf, text = make_proof(12, 5)
    with pytest.raises(InclusionFailed, match="the proof is for index 5, not for index 6"):
        proofs.verify(text, leaf_hash=leaf, verifier=VERIFIER, index=6)
    moved = text.replace("index 5\n", "index 4\n")  # the same path claimed for a neighbour
    with pytest.raises(InclusionFailed, match="does not lead to the signed root"):
        proofs.verify(moved, leaf_hash=leaf, verifier=VERIFIER)


def test_index_beyond_the_checkpointed_tree_is_refused():
    leaf, text = make_proof(8, 7)
    with pytest.raises(InclusionFailed, match="index 9 is outside the checkpointed tree of size 8"):
        proofs.verify(text.replace("index 7\n", "index 9\n"), leaf_hash=leaf, verifier=VERIFIER)


@pytest.mark.parametrize("position", [0, 1, 2, 3])
def test_an_altered_hash_is_refused(position):
    leaf, text = make_proof(13, 6)
    lines = text.split("\n")
    lines[2 + position] = b64(bytes(32))
    with pytest.raises(InclusionFailed, match="does not lead to the signed root of the checkpoint of size 13"):
        proofs.verify("\n".join(lines), leaf_hash=leaf, verifier=VERIFIER)


def test_another_leaf_is_refused():
    _leaf, text = make_proof(13, 6)
    with pytest.raises(InclusionFailed):
        proofs.verify(text, leaf_hash=merkle.leaf_hash(b"entry 7"), verifier=VERIFIER)


def test_a_path_one_hash_too_long_or_short_is_refused():
    leaf, text = make_proof(13, 6)
    head, _sep, note = text.partition("\n\n")
    with pytest.raises(InclusionFailed):
        proofs.verify(head + "\n" + b64(bytes(32)) + "\n\n" + note, leaf_hash=leaf, verifier=VERIFIER)
    with pytest.raises(InclusionFailed):
        proofs.verify(head.rsplit("\n", 1)[0] + "\n\n" + note, leaf_hash=leaf, verifier=VERIFIER)


def test_missing_checkpoint_is_refused():
    _leaf, text = make_proof(6, 3)
    head = text.partition("\n\n")[0]
    with pytest.raises(MalformedProof, match="the checkpoint is missing"):
        proofs.parse(head + "\n")
    with pytest.raises(MalformedProof, match="the checkpoint is missing"):
        proofs.parse(head + "\n\n")


def test_checkpoint_from_a_foreign_key_is_refused():
    entries = log(6)
    impostor = notes.Signer.generate(ORIGIN)  # same name, another key
    text = TlogProof(index=3, hashes=tuple(merkle.inclusion_proof(entries, 3)),
                     checkpoint=checkpoint_note(entries, impostor)).encode()
    with pytest.raises(UntrustedCheckpoint, match=f"no signature by the key {ORIGIN}\\+{VERIFIER.key_id:08x}"):
        proofs.verify(text, leaf_hash=merkle.leaf_hash(entries[3]), verifier=VERIFIER)
    other_origin = notes.Signer.generate("other.test/log")
    text = TlogProof(index=3, hashes=tuple(merkle.inclusion_proof(entries, 3)),
                     checkpoint=checkpoint_note(entries, other_origin, "other.test/log")).encode()
    with pytest.raises(UntrustedCheckpoint, match="no signature by the key"):
        proofs.verify(text, leaf_hash=merkle.leaf_hash(entries[3]), verifier=VERIFIER)


def test_altered_checkpoint_is_refused():
    leaf, text = make_proof(6, 3)
    altered = text.replace(f"\n{ORIGIN}\n6\n", f"\n{ORIGIN}\n7\n")
    assert altered != text
    with pytest.raises(UntrustedCheckpoint, match="the checkpoint was altered"):
        proofs.verify(altered, leaf_hash=leaf, verifier=VERIFIER)


def test_a_signed_note_that_is_not_a_checkpoint_is_refused():
    note = notes.sign_note("hello\nworld\n", SIGNER)
    with pytest.raises(UntrustedCheckpoint, match="not a checkpoint"):
        proofs.parse(f"{HEADER}\nindex 0\n\n{note}")


def test_every_truncation_is_refused_with_a_proof_error():
    leaf, text = make_proof(10, 3, extra=b"x")
    for cut in range(len(text)):
        with pytest.raises(ProofError):
            proofs.verify(text[:cut], leaf_hash=leaf, verifier=VERIFIER)


@pytest.mark.parametrize("mutate,reason", [
    (lambda t: t.replace(HEADER, "c2sp.org/tlog-proof@v2"), "first line"),
    (lambda t: t.replace(HEADER + "\n", ""), "first line"),
    (lambda t: t.replace("index 3", "index 03"), "leading zeros"),
    (lambda t: t.replace("index 3", "index -3"), "leading zeros"),
    (lambda t: t.replace("index 3", "index  3"), "leading zeros"),
    (lambda t: t.replace("index 3", "index 99999999999999999999"), "leading zeros"),
    (lambda t: t.replace("index 3\n", ""), "index line is missing"),
    (lambda t: t.replace("index 3", "idx 3"), "index line is missing"),
    (lambda t: t.replace("index 3\n", "index 3\nnot-base64!\n"), "proof line 1"),
    (lambda t: t.replace("index 3\n", "index 3\n" + b64(bytes(31)) + "\n"), "proof line 1"),
    (lambda t: t.replace("index 3\n", "index 3\n" + b64(bytes(32)).rstrip("=") + "\n"), "proof line 1"),
    (lambda t: t.replace(HEADER + "\n", HEADER + "\nextra \n"), "extra line"),
    (lambda t: t.replace(HEADER + "\n", HEADER + "\nextra %%%\n"), "extra line"),
    (lambda t: t.replace(HEADER + "\n", HEADER + "\nindex 3\n"), "proof line 1"),
    (lambda t: t.replace("\n", "\r\n"), "no empty line follows"),
    (lambda t: "", "empty"),
])
def test_malformed_text_is_refused(mutate, reason):
    _leaf, text = make_proof(10, 3)
    with pytest.raises(MalformedProof, match=reason):
        proofs.parse(mutate(text))


def test_non_text_and_bad_values_are_refused():
    with pytest.raises(MalformedProof):
        proofs.parse(b"c2sp.org/tlog-proof@v1\n")  # type: ignore[arg-type]
    note = checkpoint_note(log(2))
    with pytest.raises(MalformedProof):
        TlogProof(index=-1, hashes=(), checkpoint=note)
    with pytest.raises(MalformedProof):
        TlogProof(index=0, hashes=(bytes(31),), checkpoint=note)
    with pytest.raises(MalformedProof):
        TlogProof(index=0, hashes=(), checkpoint=note, extra=b"")
    with pytest.raises(MalformedProof):
        TlogProof(index=True, hashes=(), checkpoint=note)
