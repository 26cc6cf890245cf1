"""audit.merkle: the RFC 9162 §2.1 Merkle tree, its proofs and their verification.

Checked three ways: the known answers of the Certificate Transparency reference test suite
(transparency-dev/merkle, proof/verify_test.go — there leaf indexes are 1-based), a naive
recursive transcription of the RFC's MTH / PATH / PROOF / SUBPROOF equations, and tampering.
"""
from __future__ import annotations

import hashlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle
from audit.merkle import (
    EMPTY_ROOT,
    SubtreeSource,
    consistency_path,
    consistency_proof,
    consistency_proof_from_hashes,
    inclusion_path,
    inclusion_proof,
    inclusion_proof_from_hashes,
    leaf_hash,
    node_hash,
    perfect_subtrees_completed,
    root_at,
    root_from_leaf_hashes,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

PROPS = settings(deadline=None, max_examples=150)


def h(s: str) -> bytes:
    return bytes.fromhex(s)


# --------------------------------------------------------------------------------------------
# The naive definition, straight from RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1
# --------------------------------------------------------------------------------------------


def k_of(n: int) -> int:
    """The largest power of two strictly less than n (n > 1), by counting up."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def MTH(D: list[bytes]) -> bytes:
    n = len(D)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + D[0]).digest()
    k = k_of(n)
    return hashlib.sha256(b"\x01" + MTH(D[0:k]) + MTH(D[k:n])).digest()


def PATH(m: int, D: list[bytes]) -> list[bytes]:
    n = len(D)
    if n == 1:
        assert m == 0
        return []
    k = k_of(n)
    if m < k:
        return PATH(m, D[0:k]) + [MTH(D[k:n])]
    return PATH(m - k, D[k:n]) + [MTH(D[0:k])]


def SUBPROOF(m: int, D: list[bytes], b: bool) -> list[bytes]:
    n = len(D)
    if m == n:
        return [] if b else [MTH(D)]
    k = k_of(n)
    if m <= k:
        return SUBPROOF(m, D[0:k], b) + [MTH(D[k:n])]
    return SUBPROOF(m - k, D[k:n], False) + [MTH(D[0:k])]


def PROOF(m: int, D: list[bytes]) -> list[bytes]:
    return SUBPROOF(m, D, True)


# The same recursions on sizes alone, recording on which side each proof hash sits.  A
# verifier only sees hashes, so a proof made for (m, n) also verifies for (m', n') exactly when
# this shape is the same (with distinct entries, anything else would need a SHA-256 collision).


def path_shape(m: int, n: int) -> tuple[str, ...]:
    if n == 1:
        return ()
    k = k_of(n)
    if m < k:
        return path_shape(m, k) + ("R",)
    return path_shape(m - k, n - k) + ("L",)


def subproof_shape(m: int, n: int, b: bool = True) -> tuple[str, ...]:
    if m == n:
        return ("old root",) if b else ("start",)  # the verifier prepends the old root
    k = k_of(n)
    if m <= k:
        return subproof_shape(m, k, b) + ("R",)
    return subproof_shape(m - k, n - k, False) + ("L",)


def inclusion_accepts(index: int, size: int, true_index: int, true_size: int) -> bool:
    return 0 <= index < size and path_shape(index, size) == path_shape(true_index, true_size)


def consistency_accepts(m: int, n: int, true_m: int, true_n: int) -> bool:
    """For a non-empty proof made for 0 < true_m < true_n."""
    return 0 < m < n and subproof_shape(m, n) == subproof_shape(true_m, true_n)


# --------------------------------------------------------------------------------------------
# Known answers (transparency-dev/merkle proof/verify_test.go; RFC 6962 test data)
# --------------------------------------------------------------------------------------------

LEAVES = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                         "606162636465666768696a6b6c6d6e6f")]
ROOTS = {  # tree size -> root
    0: h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    1: h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    2: h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    3: h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    4: h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    5: h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    6: h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    7: h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    8: h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
}
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")

# (0-based leaf index, tree size, audit path)
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (5, 8, [h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (1, 5, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
]

# (old size, new size, consistency proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 5, [h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
    (6, 7, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
]


def test_primitives_follow_the_domain_separation():
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert leaf_hash(bytearray(b"abc")) == leaf_hash(memoryview(b"abc")) == leaf_hash(b"abc")


def test_empty_tree_root():
    assert root_hash([]) == EMPTY_ROOT == root_from_leaf_hashes([]) == ROOTS[0]
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("size", range(0, 9))
def test_known_roots(size):
    assert root_hash(LEAVES[:size]) == ROOTS[size] == MTH(LEAVES[:size])
    assert root_from_leaf_hashes([leaf_hash(x) for x in LEAVES[:size]]) == ROOTS[size]


@pytest.mark.parametrize("index,size,path", INCLUSION_VECTORS)
def test_known_inclusion_proofs(index, size, path):
    entries = LEAVES[:size]
    assert inclusion_proof(entries, index) == path == PATH(index, entries)
    assert verify_inclusion(leaf_hash(entries[index]), index, size, path, ROOTS[size])


@pytest.mark.parametrize("index,size,path", [v for v in INCLUSION_VECTORS if v[2]])
def test_known_inclusion_proofs_reject_corruption(index, size, path):
    """The probes of the reference suite's corruptInclusionProof."""
    leaf, root = leaf_hash(LEAVES[index]), ROOTS[size]
    probes = [
        (leaf, index - 1, size, path, root), (leaf, index + 1, size, path, root),
        (leaf, index ^ 2, size, path, root), (leaf, index, size * 2, path, root),
        (leaf, index, size // 2, path, root), (b"WrongLeaf", index, size, path, root),
        (leaf, index, size, path, EMPTY_ROOT), (leaf, index, size, path, SOME_HASH),
        (leaf, index, size, [*path, b""], root), (leaf, index, size, [*path, root], root),
        (leaf, index, size, [b"", *path], root), (leaf, index, size, [root, *path], root),
        (leaf, index, size, path[:-1], root),
    ]
    if len(path) > 1:
        probes.append((leaf, index, size, [path[0], SOME_HASH, *path[1:]], root))
    for i in range(len(path)):
        bad = list(path)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        probes.append((leaf, index, size, bad, root))
    for probe in probes:
        assert not verify_inclusion(*probe), probe


@pytest.mark.parametrize("old,new,proof", CONSISTENCY_VECTORS)
def test_known_consistency_proofs(old, new, proof):
    entries = LEAVES[:new]
    assert consistency_proof(entries, old) == proof == PROOF(old, entries)
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


@pytest.mark.parametrize("old,new,proof", [v for v in CONSISTENCY_VECTORS if v[2]])
def test_known_consistency_proofs_reject_corruption(old, new, proof):
    """The probes of the reference suite's corruptConsistencyProof."""
    r1, r2 = ROOTS[old], ROOTS[new]
    probes = [
        (old - 1, new, r1, r2, proof), (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof), (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof), (old, new, b"WrongRoot", r2, proof),
        (old, new, r1, b"WrongRoot", proof), (old, new, r2, r1, proof),
        (old, new, r1, r2, []), (old, new, r1, r2, [*proof, b""]),
        (old, new, r1, r2, [*proof, r1]), (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [b"", *proof]), (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]), (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((old, new, r1, r2, bad))
    for probe in probes:
        assert not verify_consistency(*probe), probe


def test_inclusion_edge_cases():
    data_hash = leaf_hash(b"data")
    # a one-leaf tree: the root is the leaf hash and the proof is empty
    assert verify_inclusion(data_hash, 0, 1, [], data_hash)
    assert not verify_inclusion(b"", 0, 1, [], data_hash)
    assert not verify_inclusion(data_hash, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], b"")
    for index, size in [(0, 0), (0, 1), (1, 0), (2, 1)]:
        assert not verify_inclusion(SOME_HASH, index, size, [], b"")
        assert not verify_inclusion(b"", index, size, [], EMPTY_ROOT)
        assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
    assert not verify_inclusion(data_hash, -1, 1, [], data_hash)
    assert not verify_inclusion(data_hash, 0, 1, [b"x" * 31], data_hash)
    assert not verify_inclusion(data_hash, 0, 2**64, [], data_hash)


@pytest.mark.parametrize("old,new,r1,r2,proof,ok", [
    (0, 0, b"don't care 1", b"don't care 2", [], False),
    (1, 1, b"don't care 1", b"don't care 2", [], False),
    (0, 0, b"don't care 1", b"don't care 1", [], True),
    (0, 1, b"don't care 1", b"don't care 2", [], True),
    (1, 1, b"don't care 2", b"don't care 2", [], True),
    (1, 0, b"don't care 1", b"don't care 2", [], False),
    (2, 1, b"don't care 1", b"don't care 2", [], False),
    (1, 2, b"don't care 1", b"don't care 2", [], False),
    (0, 0, EMPTY_ROOT, b"don't care 2", [], False),
    (1, 1, EMPTY_ROOT, b"don't care 2", [], False),
    (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    (-1, 1, EMPTY_ROOT, EMPTY_ROOT, [], False),
])
def test_consistency_trivial_cases(old, new, r1, r2, proof, ok):
    """The table of the reference suite's TestVerifyConsistency, plus a negative size."""
    assert verify_consistency(old, new, r1, r2, proof) is ok


def test_proof_generators_reject_bad_arguments():
    entries = [b"a", b"b", b"c"]
    for index in (-1, 3, 10):
        with pytest.raises(ValueError):
            inclusion_proof(entries, index)
    with pytest.raises(ValueError):
        inclusion_proof([], 0)
    for old in (-1, 0, 4):
        with pytest.raises(ValueError):
            consistency_proof(entries, old)
    assert consistency_proof(entries, 3) == []
    with pytest.raises(ValueError):
        root_from_leaf_hashes([b"short"])
    with pytest.raises(ValueError):
        inclusion_proof_from_hashes([leaf_hash(b"a"), b"x" * 33], 0)
    source = ListSource([leaf_hash(e) for e in entries])
    with pytest.raises(ValueError):
        root_at(source, -1)
    for index, n in [(-1, 3), (3, 3), (0, 0)]:
        with pytest.raises(ValueError):
            inclusion_path(source, index, n)
    for m, n in [(0, 3), (4, 3), (-1, 3)]:
        with pytest.raises(ValueError):
            consistency_path(source, m, n)
    with pytest.raises(ValueError):
        perfect_subtrees_completed(0)


# --------------------------------------------------------------------------------------------
# Properties against the naive definition
# --------------------------------------------------------------------------------------------

entry_lists = st.lists(st.binary(max_size=12), max_size=70)
distinct_entry_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=70, unique=True)


def flip(b: bytes, at: int) -> bytes:
    at %= len(b)
    return b[:at] + bytes([b[at] ^ 1]) + b[at + 1:]


@PROPS
@given(entry_lists)
def test_root_matches_naive_mth(entries):
    assert root_hash(entries) == MTH(entries)
    assert root_from_leaf_hashes([leaf_hash(e) for e in entries]) == MTH(entries)


@PROPS
@given(entry_lists.filter(bool), st.data())
def test_inclusion_proof_matches_naive_path_and_verifies(entries, data):
    index = data.draw(st.integers(0, len(entries) - 1))
    proof = inclusion_proof(entries, index)
    assert proof == PATH(index, entries)
    assert proof == inclusion_proof_from_hashes([leaf_hash(e) for e in entries], index)
    assert verify_inclusion(leaf_hash(entries[index]), index, len(entries), proof, MTH(entries))


@PROPS
@given(distinct_entry_lists, st.data())
def test_tampered_inclusion_proofs_fail(entries, data):
    n = len(entries)
    index = data.draw(st.integers(0, n - 1))
    proof, root, leaf = inclusion_proof(entries, index), root_hash(entries), leaf_hash(entries[index])
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = flip(bad[i], data.draw(st.integers(0, 31)))
        assert not verify_inclusion(leaf, index, n, bad, root)
    assert not verify_inclusion(leaf, index, n, proof, flip(root, data.draw(st.integers(0, 31))))
    assert not verify_inclusion(flip(leaf, 0), index, n, proof, root)
    assert not verify_inclusion(leaf, index, n, [*proof, root], root)
    if proof:
        assert not verify_inclusion(leaf, index, n, proof[:-1], root)
        assert not verify_inclusion(leaf, index, n, proof[1:], root)
    # another leaf of the tree, at this index, does not verify
    other = data.draw(st.integers(0, n - 1))
    assert verify_inclusion(leaf_hash(entries[other]), index, n, proof, root) is (other == index)
    # a tampered index or size verifies exactly when the path keeps its shape
    new_index = data.draw(st.integers(-2, n + 2))
    new_size = data.draw(st.integers(0, 2 * n + 2))
    assert verify_inclusion(leaf, new_index, n, proof, root) is inclusion_accepts(new_index, n, index, n)
    assert verify_inclusion(leaf, index, new_size, proof, root) is inclusion_accepts(index, new_size, index, n)
    assert (verify_inclusion(leaf, new_index, new_size, proof, root)
            is inclusion_accepts(new_index, new_size, index, n))


def test_tampered_index_within_the_tree_always_fails():
    """For a fixed size the shape identifies the leaf, so no other index is accepted."""
    for n in range(1, 40):
        for i in range(n):
            for j in range(n):
                assert inclusion_accepts(j, n, i, n) is (i == j)


def test_inclusion_does_not_bind_the_size_beyond_the_shape():
    """Documented behaviour of RFC 9162 verification: leaf 0 of 5 also verifies as 'of 6'."""
    entries = LEAVES[:5]
    proof = inclusion_proof(entries, 0)
    assert verify_inclusion(leaf_hash(entries[0]), 0, 6, proof, ROOTS[5])
    assert not verify_inclusion(leaf_hash(entries[0]), 0, 4, proof, ROOTS[5])


@PROPS
@given(entry_lists.filter(bool), st.data())
def test_consistency_proof_matches_naive_proof_and_verifies(entries, data):
    n = len(entries)
    m = data.draw(st.integers(1, n))
    proof = consistency_proof(entries, m)
    assert proof == PROOF(m, entries)
    assert proof == consistency_proof_from_hashes([leaf_hash(e) for e in entries], m)
    assert verify_consistency(m, n, MTH(entries[:m]), MTH(entries), proof)
    assert verify_consistency(0, n, EMPTY_ROOT, MTH(entries), [])


@PROPS
@given(distinct_entry_lists.filter(lambda e: len(e) >= 2), st.data())
def test_tampered_consistency_proofs_fail(entries, data):
    n = len(entries)
    m = data.draw(st.integers(1, n - 1))
    proof, r1, r2 = consistency_proof(entries, m), root_hash(entries[:m]), root_hash(entries)
    assert proof
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = flip(bad[i], data.draw(st.integers(0, 31)))
        assert not verify_consistency(m, n, r1, r2, bad)
    assert not verify_consistency(m, n, flip(r1, data.draw(st.integers(0, 31))), r2, proof)
    assert not verify_consistency(m, n, r1, flip(r2, data.draw(st.integers(0, 31))), proof)
    assert not verify_consistency(m, n, r2, r1, proof)
    assert not verify_consistency(m, n, r1, r2, proof[:-1])
    assert not verify_consistency(m, n, r1, r2, proof[1:])
    assert not verify_consistency(m, n, r1, r2, [*proof, r2])
    assert not verify_consistency(m, n, r1, r2, [r1, *proof])
    assert not verify_consistency(m, n, r1, r2, [])
    # another old root of the same log does not verify
    other = data.draw(st.integers(1, n - 1))
    assert verify_consistency(m, n, root_hash(entries[:other]), r2, proof) is (other == m)
    # tampered sizes verify exactly when the proof keeps its shape
    new_m = data.draw(st.integers(-1, n + 1))
    new_n = data.draw(st.integers(0, 2 * n + 2))
    assert verify_consistency(new_m, n, r1, r2, proof) is consistency_accepts(new_m, n, m, n)
    assert verify_consistency(m, new_n, r1, r2, proof) is consistency_accepts(m, new_n, m, n)
    assert verify_consistency(new_m, new_n, r1, r2, proof) is consistency_accepts(new_m, new_n, m, n)


def test_tampered_old_size_always_fails_for_a_fixed_new_size():
    for n in range(2, 40):
        for m in range(1, n):
            for m2 in range(1, n):
                assert consistency_accepts(m2, n, m, n) is (m == m2)


def test_consistency_does_not_bind_the_new_size_beyond_the_shape():
    proof = consistency_proof(LEAVES[:5], 4)
    assert verify_consistency(4, 5, ROOTS[4], ROOTS[5], proof)
    assert verify_consistency(4, 6, ROOTS[4], ROOTS[5], proof)
    assert not verify_consistency(4, 9, ROOTS[4], ROOTS[5], proof)


junk = st.one_of(st.none(), st.integers(-3, 2**70), st.booleans(), st.text(max_size=3),
                 st.binary(max_size=40), st.lists(st.binary(max_size=40), max_size=4),
                 st.lists(st.integers(), max_size=3), st.just(object()))


@PROPS
@given(junk, junk, junk, junk, junk)
def test_verifiers_never_raise(a, b, c, d, e):
    assert verify_inclusion(a, b, c, d, e) in (True, False)
    assert verify_consistency(a, b, c, d, e) in (True, False)
    assert verify_inclusion(leaf_hash(b""), 0, 1, d, e) in (True, False)
    assert verify_consistency(1, 2, EMPTY_ROOT, EMPTY_ROOT, d) is False


# --------------------------------------------------------------------------------------------
# The perfect-subtree oracle
# --------------------------------------------------------------------------------------------


class ListSource:
    """Perfect subtree hashes from a list of leaf hashes; refuses anything not perfect."""

    def __init__(self, hashes: list[bytes]) -> None:
        self.hashes = hashes
        self.calls = 0

    def subtree(self, start: int, size: int) -> bytes:
        self.calls += 1
        assert size >= 1 and size & (size - 1) == 0, (start, size)
        assert start % size == 0 and start + size <= len(self.hashes), (start, size)
        return root_from_leaf_hashes(self.hashes[start:start + size])


def test_list_source_is_a_subtree_source():
    assert isinstance(ListSource([]), SubtreeSource)


@PROPS
@given(entry_lists, st.data())
def test_oracle_agrees_with_the_lists(entries, data):
    hashes = [leaf_hash(e) for e in entries]
    source = ListSource(hashes)
    n = len(entries)
    for size in {0, n, data.draw(st.integers(0, n))}:
        assert root_at(source, size) == MTH(entries[:size])
    if n:
        index = data.draw(st.integers(0, n - 1))
        assert inclusion_path(source, index, n) == inclusion_proof_from_hashes(hashes, index)
        m = data.draw(st.integers(1, n))
        assert consistency_path(source, m, n) == consistency_proof_from_hashes(hashes, m)


def test_oracle_agrees_exhaustively_on_small_trees():
    entries = [bytes([i]) for i in range(33)]
    hashes = [leaf_hash(e) for e in entries]
    source = ListSource(hashes)
    for n in range(0, 34):
        assert root_at(source, n) == MTH(entries[:n])
        for i in range(n):
            assert inclusion_path(source, i, n) == PATH(i, entries[:n])
        for m in range(1, n + 1):
            assert consistency_path(source, m, n) == PROOF(m, entries[:n])



class FormulaSource:
    """1,000,000-leaf (or larger) log with leaf i = leaf_hash(str(i)), computed lazily.

    Subtrees of 1024 leaves and more are cached, so the whole tree costs one pass."""

    CACHE_FROM = 1024

    def __init__(self) -> None:
        self.calls = 0
        self.cache: dict[tuple[int, int], bytes] = {}

    def subtree(self, start: int, size: int) -> bytes:
        self.calls += 1
        assert size >= 1 and size & (size - 1) == 0 and start % size == 0, (start, size)
        return self._hash(start, size)

    def _hash(self, start: int, size: int) -> bytes:
        if size == 1:
            return leaf_hash(str(start).encode())
        key = (start, size)
        if key in self.cache:
            return self.cache[key]
        half = size // 2
        value = node_hash(self._hash(start, half), self._hash(start + half, half))
        if size >= self.CACHE_FROM:
            self.cache[key] = value
        return value


N_BIG = 1_000_000
BOUND = 4 * math.log2(N_BIG) + 4


@pytest.fixture(scope="module")
def big() -> FormulaSource:
    return FormulaSource()


def counted(source: FormulaSource, fn, *args):
    source.calls = 0
    result = fn(source, *args)
    assert source.calls <= BOUND, (fn.__name__, args, source.calls)
    return result


def test_oracle_makes_logarithmically_many_reads(big):
    roots = {}
    for n in (N_BIG, 1, 2, 3, 524_287, 524_288, 524_289, 999_999, 123_457):
        roots[n] = counted(big, root_at, n)
    for index in (0, 1, 2, 524_287, 524_288, 777_777, N_BIG - 2, N_BIG - 1):
        path = counted(big, inclusion_path, index, N_BIG)
        assert verify_inclusion(leaf_hash(str(index).encode()), index, N_BIG, path, roots[N_BIG])
        assert not verify_inclusion(leaf_hash(str(index + 1).encode()), index, N_BIG, path, roots[N_BIG])
    for m in (1, 2, 3, 123_457, 524_287, 524_288, 524_289, 999_999, N_BIG):
        proof = counted(big, consistency_path, m, N_BIG)
        assert verify_consistency(m, N_BIG, roots[m] if m in roots else root_at(big, m),
                                  roots[N_BIG], proof)
    proof = counted(big, consistency_path, 123_457, 999_999)
    assert verify_consistency(123_457, 999_999, roots[123_457], roots[999_999], proof)


def test_oracle_matches_the_lists_on_a_mid_sized_log(big):
    n = 3000
    hashes = [leaf_hash(str(i).encode()) for i in range(n)]
    assert root_at(big, n) == root_from_leaf_hashes(hashes)
    for index in (0, 1, 1023, 1024, 2047, 2048, 2999):
        assert inclusion_path(big, index, n) == inclusion_proof_from_hashes(hashes, index)
    for m in (1, 5, 1024, 1025, 2048, 2999, 3000):
        assert consistency_path(big, m, n) == consistency_proof_from_hashes(hashes, m)


def brute_perfect_subtrees(n: int) -> set[tuple[int, int]]:
    """Every aligned power-of-two block of size >= 2 lying inside [0, n)."""
    out = set()
    size = 2
    while size <= n:
        out.update((start, size) for start in range(0, n - size + 1, size))
        size *= 2
    return out


def test_perfect_subtrees_completed_examples():
    assert perfect_subtrees_completed(1) == []
    assert perfect_subtrees_completed(2) == [(0, 2)]
    assert perfect_subtrees_completed(3) == []
    assert perfect_subtrees_completed(4) == [(2, 2), (0, 4)]
    assert perfect_subtrees_completed(12) == [(10, 2), (8, 4)]


@PROPS
@given(st.integers(1, 5000))
def test_perfect_subtrees_completed_matches_brute_force(n):
    got = perfect_subtrees_completed(n)
    assert set(got) == brute_perfect_subtrees(n) - brute_perfect_subtrees(n - 1)
    assert got == sorted(got, key=lambda t: t[1])  # children before parents


def test_storing_completed_subtrees_serves_every_read():
    """Simulate the platform: store leaf hashes and completed subtrees on append, then prove
    from the store alone."""
    store: dict[tuple[int, int], bytes] = {}

    class Store:
        def subtree(self, start: int, size: int) -> bytes:
            return store[(start, size)]

    entries = [f"entry {i}".encode() for i in range(100)]
    for i, e in enumerate(entries):
        store[(i, 1)] = leaf_hash(e)
        for start, size in perfect_subtrees_completed(i + 1):
            half = size // 2
            store[(start, size)] = node_hash(store[(start, half)], store[(start + half, half)])
        n = i + 1
        assert root_at(Store(), n) == root_hash(entries[:n])
    assert set(store) == {(i, 1) for i in range(100)} | brute_perfect_subtrees(100)
    for i in range(100):
        assert inclusion_path(Store(), i, 100) == inclusion_proof(entries, i)
        assert consistency_path(Store(), i + 1, 100) == consistency_proof(entries, i + 1)


def test_module_is_pure():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(merkle.__file__).read_text())
    imported = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for a in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"__future__", "hashlib", "collections", "typing"}


# --------------------------------------------------------------------------------------------
# Compact ranges: what an append reads (nothing but the range) and writes
# --------------------------------------------------------------------------------------------


def test_range_subtrees_examples():
    assert merkle.range_subtrees(0) == []
    assert merkle.range_subtrees(1) == [(0, 1)]
    assert merkle.range_subtrees(6) == [(0, 4), (4, 2)]
    assert merkle.range_subtrees(13) == [(0, 8), (8, 4), (12, 1)]


@PROPS
@given(st.integers(0, 300))
def test_range_append_matches_the_tree_and_the_completed_subtrees(n):
    entries = [f"entry {i}".encode() for i in range(n + 1)]
    leaves = [leaf_hash(e) for e in entries]
    rng: list[bytes] = []
    for i, leaf in enumerate(leaves):
        rng, completed = merkle.range_append(rng, i, leaf)
        assert [(s, z) for s, z, _ in completed] == perfect_subtrees_completed(i + 1)
        for start, size, value in completed:
            assert value == MTH(entries[start:start + size])
    assert merkle.range_root(rng) == MTH(entries) == root_from_leaf_hashes(leaves)
    assert rng == [MTH(entries[s:s + z]) for s, z in merkle.range_subtrees(n + 1)]


def test_range_root_of_nothing_is_the_empty_root():
    assert merkle.range_root([]) == EMPTY_ROOT


@pytest.mark.parametrize("hashes, n", [([], 1), ([bytes(32)], 3), ([bytes(32)] * 2, 1), ([b"short"], 1)])
def test_range_append_refuses_a_range_of_the_wrong_shape(hashes, n):
    with pytest.raises(ValueError):
        merkle.range_append(hashes, n, bytes(32))


@PROPS
@given(st.integers(0, 300))
def test_the_last_leafs_path_is_the_range_before_it_smallest_first(n):
    entries = [f"entry {i}".encode() for i in range(n + 1)]
    rng: list[bytes] = []
    for i, e in enumerate(entries[:-1]):
        rng, _ = merkle.range_append(rng, i, leaf_hash(e))
    assert merkle.last_leaf_path(rng) == inclusion_proof(entries, n)
