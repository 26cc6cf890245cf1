"""The Merkle tree of RFC 9162 (Certificate Transparency version 2.0), section 2.1, with SHA-256.

Pure: hashlib only, no web framework, no database, no clock.

Definitions (RFC 9162 §2.1.1), for a list ``D[n]`` of ``n`` entries:

* the empty tree:          ``MTH({}) = SHA-256()``
* a leaf:                  ``MTH({d0}) = SHA-256(0x00 || d0)``
* an interior node, n > 1: ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))``
  where ``k`` is the largest power of two strictly less than ``n``.

Proofs (hashes are raw 32-byte ``bytes``, indexes are 0-based):

* inclusion proof: ``PATH(m, D[n])`` of §2.1.3.1, the audit path from the leaf upward;
  verified with the iterative algorithm of §2.1.3.2;
* consistency proof: ``PROOF(m, D[n]) = SUBPROOF(m, D[n], true)`` of §2.1.4.1 (when ``m`` is a
  power of two the old root itself is not part of the proof); verified with §2.1.4.2.

Three layers produce the same results:

* raw entries (``root_hash``, ``inclusion_proof``, ``consistency_proof``), which hash the
  entries and call
* leaf-hash lists (``root_from_leaf_hashes``, ``inclusion_proof_from_hashes``,
  ``consistency_proof_from_hashes``), O(n);
* a :class:`SubtreeSource` oracle returning the hashes of *perfect* subtrees (``root_at``,
  ``inclusion_path``, ``consistency_path``), O(log n) oracle calls — what the platform uses
  against the leaf and subtree hashes it stores (see :func:`perfect_subtrees_completed`).

Note on verification: as in RFC 9162, an inclusion or consistency proof binds the tree size
only through the *shape* of the path it implies; e.g. the proof of leaf 0 in a tree of 5
verifies against the same root with ``tree_size`` 6, 7 or 8.  The root must therefore be bound
to its size elsewhere (a signed tree head / checkpoint), never taken from the prover alone.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "SubtreeSource",
    "consistency_path",
    "consistency_proof",
    "consistency_proof_from_hashes",
    "inclusion_path",
    "inclusion_proof",
    "inclusion_proof_from_hashes",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees_completed",
    "root_at",
    "root_from_leaf_hashes",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every hash (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the empty tree, ``MTH({}) = SHA-256()`` (RFC 9162 §2.1.1)."""

MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes and indexes are uint64 in RFC 9162 (§4.4, §4.5); verifiers reject larger ones."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


# --------------------------------------------------------------------------------------------
# Hashing primitives (RFC 9162 §2.1.1)
# --------------------------------------------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    """``MTH({d}) = SHA-256(0x00 || d)`` — the hash of one leaf (RFC 9162 §2.1.1)."""
    h = hashlib.sha256(_LEAF_PREFIX)
    h.update(entry)
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)`` — the hash of an interior node (RFC 9162 §2.1.1)."""
    h = hashlib.sha256(_NODE_PREFIX)
    h.update(left)
    h.update(right)
    return h.digest()


def _split(n: int) -> int:
    """The largest power of two strictly less than ``n`` (``n >= 2``), RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes")
    return bytes(value)


def _check_int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{what} must be an integer")
    return value


# --------------------------------------------------------------------------------------------
# From leaf hashes (O(n)); the raw-entry functions hash then delegate here
# --------------------------------------------------------------------------------------------


def _mth(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH over the leaf hashes ``hashes[lo:hi]`` (RFC 9162 §2.1.1), recursion depth O(log n)."""
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[lo]
    k = _split(n)
    return node_hash(_mth(hashes, lo, lo + k), _mth(hashes, lo + k, hi))


def _checked_hashes(hashes: Sequence[bytes]) -> list[bytes]:
    return [_check_hash(h, f"leaf hash {i}") for i, h in enumerate(hashes)]


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash of the tree whose leaves have these leaf hashes (RFC 9162 §2.1.1)."""
    hs = _checked_hashes(hashes)
    return _mth(hs, 0, len(hs))


def inclusion_proof_from_hashes(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """``PATH(index, D[n])`` (RFC 9162 §2.1.3.1) over leaf hashes, ordered from the leaf upward.

    Raises ValueError unless ``0 <= index < len(hashes)``.
    """
    hs = _checked_hashes(hashes)
    n = len(hs)
    index = _check_int(index, "index")
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} out of range for a tree of {n}")
    # Walk PATH's recursion from the root down, collecting siblings; then reverse.
    path: list[bytes] = []
    lo, size, m = 0, n, index
    while size > 1:
        k = _split(size)
        if m < k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            path.append(_mth(hs, lo + k, lo + size))
            size = k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            path.append(_mth(hs, lo, lo + k))
            lo, size, m = lo + k, size - k, m - k
    path.reverse()
    return path


def consistency_proof_from_hashes(hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """``PROOF(old_size, D[n])`` (RFC 9162 §2.1.4.1) over leaf hashes.

    Empty when ``old_size == n``.  Raises ValueError unless ``0 < old_size <= len(hashes)``.
    """
    hs = _checked_hashes(hashes)
    n = len(hs)
    old_size = _check_int(old_size, "old_size")
    if not 0 < old_size <= n:
        raise ValueError(f"old size {old_size} out of range for a tree of {n}")
    proof: list[bytes] = []
    lo, size, m, whole = 0, n, old_size, True
    while m != size:
        k = _split(size)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            proof.append(_mth(hs, lo + k, lo + size))
            size = k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            proof.append(_mth(hs, lo, lo + k))
            lo, size, m, whole = lo + k, size - k, m - k, False
    if not whole:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        proof.append(_mth(hs, lo, lo + size))
    proof.reverse()
    return proof


# --------------------------------------------------------------------------------------------
# From raw entries
# --------------------------------------------------------------------------------------------


def root_hash(entries: Sequence[bytes]) -> bytes:
    """``MTH(D[n])`` of the raw entries (RFC 9162 §2.1.1); the empty list gives ``EMPTY_ROOT``."""
    return root_from_leaf_hashes([leaf_hash(e) for e in entries])


def inclusion_proof(entries: Sequence[bytes], index: int) -> list[bytes]:
    """Inclusion proof ``PATH(index, D[n])`` of RFC 9162 §2.1.3.1, from the leaf upward.

    Raises ValueError unless ``0 <= index < len(entries)``.
    """
    return inclusion_proof_from_hashes([leaf_hash(e) for e in entries], index)


def consistency_proof(entries: Sequence[bytes], old_size: int) -> list[bytes]:
    """Consistency proof ``PROOF(old_size, D[n])`` of RFC 9162 §2.1.4.1.

    Empty when ``old_size == len(entries)``; raises ValueError unless
    ``0 < old_size <= len(entries)``.
    """
    return consistency_proof_from_hashes([leaf_hash(e) for e in entries], old_size)


# --------------------------------------------------------------------------------------------
# Verification (RFC 9162 §2.1.3.2 and §2.1.4.2); never raises
# --------------------------------------------------------------------------------------------


def _is_hash(value: object) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TREE_SIZE


def _hash_list(proof: object) -> list[bytes] | None:
    """The proof as a list of 32-byte hashes, or None when it is not one."""
    if isinstance(proof, (bytes, bytearray, str)):
        return None
    try:
        items = list(proof)  # type: ignore[call-overload]
    except TypeError:
        return None
    if not all(_is_hash(p) for p in items):
        return None
    return [bytes(p) for p in items]


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Verify an inclusion proof with the algorithm of RFC 9162 §2.1.3.2.

    ``leaf_hash`` is the leaf's hash (``leaf_hash(entry)``), ``index`` its 0-based position.
    Returns False — never raises — on any mismatch or malformed input: ``index >= tree_size``,
    a proof of the wrong length, hashes that are not 32 bytes, non-integer or out-of-range
    sizes.
    """
    try:
        return _verify_inclusion(leaf_hash, index, tree_size, proof, root)
    except Exception:  # noqa: BLE001 — the contract is "False, never raise"
        return False


def _verify_inclusion(
    leaf: object, index: object, tree_size: object, proof: object, root: object
) -> bool:
    if not (_is_size(index) and _is_size(tree_size) and _is_hash(leaf) and _is_hash(root)):
        return False
    path = _hash_list(proof)
    if path is None:
        return False
    assert isinstance(index, int) and isinstance(tree_size, int)
    # 1. leaf_index >= tree_size fails.
    if index >= tree_size:
        return False
    # 2.-3.
    fn, sn = index, tree_size - 1
    r = bytes(leaf)  # type: ignore[arg-type]
    # 4.
    for p in path:
        if sn == 0:  # a.
            return False
        if fn & 1 or fn == sn:  # b.
            r = node_hash(p, r)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # c.
        sn >>= 1
    # 5.
    return sn == 0 and r == bytes(root)  # type: ignore[arg-type]


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Verify a consistency proof with the algorithm of RFC 9162 §2.1.4.2.

    Trivial cases, outside the algorithm's ``0 < first < second``:

    * ``old_size == new_size``: consistent iff the proof is empty and the roots are equal;
    * ``old_size == 0 < new_size``: the empty tree is consistent with every tree, so True iff
      the proof is empty.

    Returns False — never raises — on any mismatch or malformed input (``old_size >
    new_size``, negative or non-integer sizes, proof elements that are not 32 bytes, ...).
    """
    try:
        return _verify_consistency(old_size, new_size, old_root, new_root, proof)
    except Exception:  # noqa: BLE001 — the contract is "False, never raise"
        return False


def _verify_consistency(
    first: object, second: object, first_hash: object, second_hash: object, proof: object
) -> bool:
    if not (_is_size(first) and _is_size(second)):
        return False
    assert isinstance(first, int) and isinstance(second, int)
    if not isinstance(first_hash, (bytes, bytearray)) or not isinstance(
        second_hash, (bytes, bytearray)
    ):
        return False
    path = _hash_list(proof)
    if path is None or first > second:
        return False
    if first == second:
        return not path and bytes(first_hash) == bytes(second_hash)
    if first == 0:
        return not path
    if not (_is_hash(first_hash) and _is_hash(second_hash)):
        return False
    # 1. An empty consistency_path fails.
    if not path:
        return False
    # 2. If first is an exact power of 2, prepend first_hash.
    if _is_power_of_two(first):
        path.insert(0, bytes(first_hash))
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:  # a.
            return False
        if fn & 1 or fn == sn:  # b.
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # c.
        sn >>= 1
    # 7.
    return sn == 0 and fr == bytes(first_hash) and sr == bytes(second_hash)


# --------------------------------------------------------------------------------------------
# Perfect-subtree oracle: O(log n) reads of stored hashes
# --------------------------------------------------------------------------------------------


@runtime_checkable
class SubtreeSource(Protocol):
    """Where stored hashes of *perfect* subtrees come from (e.g. the database).

    ``subtree(start, size)`` returns ``MTH(D[start:start+size])`` where ``size`` is a power of
    two and ``start`` a multiple of ``size``; ``size == 1`` is a leaf hash.  Every node of the
    RFC 9162 tree except those on the right edge of a non-perfect tree is such a subtree.
    """

    def subtree(self, start: int, size: int) -> bytes: ...


def _read(source: SubtreeSource, start: int, size: int) -> bytes:
    return _check_hash(source.subtree(start, size), f"subtree({start}, {size})")


def _mth_at(source: SubtreeSource, start: int, size: int) -> bytes:
    """MTH of ``D[start:start+size]`` for a node of the RFC 9162 tree (perfect, or on the right
    edge), combined from its perfect pieces: one read per set bit of ``size``.

    ``start`` is a multiple of the power of two above ``size``, so the pieces — largest first,
    in the binary expansion of ``size`` — are all aligned, and folding them from the right
    reproduces the §2.1.1 split (the left child of a non-perfect node is perfect).
    """
    if size == 0:
        return EMPTY_ROOT
    pieces: list[bytes] = []
    at = start
    for bit in reversed(range(size.bit_length())):
        width = 1 << bit
        if size & width:
            pieces.append(_read(source, at, width))
            at += width
    acc = pieces.pop()
    while pieces:
        acc = node_hash(pieces.pop(), acc)
    return acc


def root_at(source: SubtreeSource, n: int) -> bytes:
    """``MTH(D[0:n])`` from perfect subtrees — one read per set bit of ``n`` (RFC 9162 §2.1.1)."""
    n = _check_int(n, "tree size")
    if n < 0:
        raise ValueError("tree size must not be negative")
    return _mth_at(source, 0, n)


def inclusion_path(source: SubtreeSource, index: int, n: int) -> list[bytes]:
    """``PATH(index, D[0:n])`` (RFC 9162 §2.1.3.1) from perfect subtrees, O(log n) reads.

    Same result as :func:`inclusion_proof_from_hashes`; raises ValueError unless
    ``0 <= index < n``.
    """
    index, n = _check_int(index, "index"), _check_int(n, "tree size")
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} out of range for a tree of {n}")
    path: list[bytes] = []
    lo, size, m = 0, n, index
    while size > 1:
        k = _split(size)
        if m < k:
            path.append(_mth_at(source, lo + k, size - k))
            size = k
        else:
            path.append(_read(source, lo, k))
            lo, size, m = lo + k, size - k, m - k
    path.reverse()
    return path


def consistency_path(source: SubtreeSource, m: int, n: int) -> list[bytes]:
    """``PROOF(m, D[0:n])`` (RFC 9162 §2.1.4.1) from perfect subtrees, O(log n) reads.

    Same result as :func:`consistency_proof_from_hashes`; raises ValueError unless
    ``0 < m <= n``.
    """
    m, n = _check_int(m, "old size"), _check_int(n, "tree size")
    if not 0 < m <= n:
        raise ValueError(f"old size {m} out of range for a tree of {n}")
    proof: list[bytes] = []
    lo, size, whole = 0, n, True
    while m != size:
        k = _split(size)
        if m <= k:
            proof.append(_mth_at(source, lo + k, size - k))
            size = k
        else:
            proof.append(_read(source, lo, k))
            lo, size, m, whole = lo + k, size - k, m - k, False
    if not whole:
        proof.append(_mth_at(source, lo, size))
    proof.reverse()
    return proof


def perfect_subtrees_completed(n: int) -> list[tuple[int, int]]:
    """The perfect subtrees of size >= 2 completed by appending leaf ``n - 1``.

    They are exactly the aligned ``(start, size)`` with ``start + size == n``: one per power of
    two ``size >= 2`` dividing ``n``, smallest first — e.g. ``n = 4`` gives
    ``[(2, 2), (0, 4)]``, ``n = 5`` gives ``[]``.  Each one's hash is
    ``node_hash(subtree(start, size // 2), subtree(start + size // 2, size // 2))``, computable
    in that order from what is already stored.  Raises ValueError unless ``n >= 1``.
    """
    n = _check_int(n, "tree size")
    if n < 1:
        raise ValueError("tree size must be at least 1")
    out: list[tuple[int, int]] = []
    size = 2
    while n % size == 0:
        out.append((n - size, size))
        size <<= 1
    return out


# ---------------------------------------------------------------- compact ranges

def range_subtrees(n: int) -> list[tuple[int, int]]:
    """The perfect subtrees ``(start, size)`` a tree of ``n`` leaves decomposes into, largest
    first: one per set bit of ``n`` (its compact range).  ``n = 6`` gives ``[(0, 4), (4, 2)]``."""
    n = _check_int(n, "tree size")
    out: list[tuple[int, int]] = []
    start = 0
    for bit in reversed(range(n.bit_length())):
        size = 1 << bit
        if n & size:
            out.append((start, size))
            start += size
    return out


def range_append(hashes: Sequence[bytes], n: int, leaf: bytes) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """Append leaf hash ``leaf`` (index ``n``) to the compact range ``hashes`` of a tree of ``n``
    leaves (the hashes of ``range_subtrees(n)``, largest first).

    Returns the compact range of the tree of ``n + 1`` leaves and the perfect subtrees of size
    >= 2 the new leaf completes, as ``(start, size, hash)`` smallest first — the same subtrees as
    ``perfect_subtrees_completed(n + 1)``, computed from the range alone, with no reads.
    """
    n = _check_int(n, "tree size")
    hashes = [_check_hash(h, "compact range hash") for h in hashes]
    if n < 0 or len(hashes) != bin(n).count("1"):
        raise ValueError(f"a compact range of {n} leaves has {bin(max(n, 0)).count('1')} hashes, not {len(hashes)}")
    digest, size, completed = _check_hash(leaf, "leaf hash"), 1, []
    while n & size:  # each set low bit is a subtree of the same size the new one merges with
        digest = node_hash(hashes.pop(), digest)
        size <<= 1
        completed.append((n + 1 - size, size, digest))
    hashes.append(digest)
    return hashes, completed


def last_leaf_path(hashes_before: Sequence[bytes]) -> list[bytes]:
    """The RFC 9162 inclusion path of leaf ``n`` in the tree of ``n + 1`` leaves, from the compact range of
    the tree of ``n`` leaves (``hashes_before``, largest subtree first): that range, smallest first."""
    return list(reversed(hashes_before))


def range_root(hashes: Sequence[bytes]) -> bytes:
    """The root hash of the tree whose compact range is ``hashes`` (largest subtree first)."""
    if not hashes:
        return EMPTY_ROOT
    digest = hashes[-1]
    for left in reversed(hashes[:-1]):
        digest = node_hash(left, digest)
    return digest
