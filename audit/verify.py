"""Offline verification of an exported audit log: no database, no configuration, only the
platform's verifier key.  Pure and streaming: memory stays flat whatever the log's size.

Export format (JSON Lines), written by ``sunbid audit export``:

    {"format": "sunbid-audit-log/1", "origin": …, "vkey": …, "tree_size": N,
     "scope": "full" | "public" | "tender", …}
    {"checkpoint": "<signed note>"}                       one line per checkpoint, oldest first
    {"index": i, "entry": {…}, "hash": "…", "leaf_hash": "…"}   one line per entry, in order
    {"index": i, "leaf_hash": "…"}                        (public exports) an entry not yet disclosed
    (a tender export adds "proof": [...] to each entry: its inclusion proof in the last checkpoint)

A full export is checked entry by entry (sequence, previous-hash link, entry hash, leaf hash), the
Merkle tree is rebuilt as a compact range (O(log n) hashes), and every checkpoint's signature and root
is checked at its size, which also proves that the checkpoints are consistent with one another.  A
public export is checked the same way, the tree from every line's leaf hash; an entry's hash and leaf
hash are recomputed where it is disclosed, and the previous-hash link where the entry before it is too.
Entries of format version 1 (no salt) and 2 (``"salt"`` and ``"v": 2``) are both accepted.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from audit import merkle, notes
from audit.rules import BLINDED, GENESIS, canonical

FORMAT = "sunbid-audit-log/1"


class Tampered(Exception):
    """The first thing found wrong, with where it is."""

    def __init__(self, where: str, what: str):
        self.where, self.what = where, what
        super().__init__(f"{where}: {what}")


@dataclass
class CompactRange:
    """The right edge of an RFC 9162 tree as it grows: perfect subtree hashes, largest first."""

    sizes: list[int] = field(default_factory=list)
    hashes: list[bytes] = field(default_factory=list)
    count: int = 0

    def append(self, leaf: bytes) -> None:
        self.sizes.append(1)
        self.hashes.append(leaf)
        self.count += 1
        while len(self.sizes) > 1 and self.sizes[-1] == self.sizes[-2]:
            right, size = self.hashes.pop(), self.sizes.pop()
            self.hashes[-1] = merkle.node_hash(self.hashes[-1], right)
            self.sizes[-1] = size * 2

    def root(self) -> bytes:
        return merkle.range_root(self.hashes)


@dataclass
class Report:
    entries: int = 0
    tree_size: int = 0
    root: bytes = b""
    checkpoints: int = 0
    external_checkpoint: int | None = None
    withheld: int = 0  # entries of a public export shown by their leaf hash only


def _lines(lines: Iterable[str]) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise Tampered(f"line {number}", f"not valid JSON ({exc.msg})") from None


def format_problem(entry: object) -> str | None:
    """What makes ``entry`` neither a version 1 nor a version 2 entry document, if anything."""
    if not isinstance(entry, dict):
        return "the entry is not a JSON object"
    version = entry.get("v", 1)
    if "v" in entry and (type(version) is not int or version != BLINDED):
        return f"unknown entry format version {version!r}"
    salt = entry.get("salt")
    if version == BLINDED:
        if not (isinstance(salt, str) and len(salt) == 64 and all(c in "0123456789abcdef" for c in salt)):
            return "a version 2 entry needs a salt of 32 bytes in lowercase hex"
    elif "salt" in entry:
        return "a salt in an entry without a format version"
    return None


def verify_export(lines: Iterable[str], vkey: str, *, external_checkpoint: str | None = None) -> Report:
    """Verify an export; return what was proven, or raise Tampered naming the first bad item."""
    try:
        verifier = notes.Verifier.from_vkey(vkey.strip())
    except notes.NoteError as exc:
        raise Tampered("key", f"the verifier key is not valid ({exc})") from None
    stream = _lines(lines)
    try:
        _, header = next(stream)
    except StopIteration:
        raise Tampered("line 1", "the export is empty") from None
    if header.get("format") != FORMAT:
        raise Tampered("line 1", f"not a Sunbid audit export (format {header.get('format')!r})")
    if header.get("origin") != verifier.name:
        raise Tampered("line 1", f"the export is of log {header.get('origin')!r}, the key is for {verifier.name!r}")
    due: dict[int, list[tuple[str, notes.Checkpoint]]] = {}

    def add_checkpoint(note: str, where: str) -> notes.Checkpoint:
        try:
            cp = notes.open_checkpoint(note, verifier)
        except notes.NoteError as exc:
            raise Tampered(where, f"checkpoint signature check failed: {exc}") from None
        due.setdefault(cp.size, []).append((where, cp))
        return cp

    report = Report()
    if external_checkpoint is not None:
        report.external_checkpoint = add_checkpoint(external_checkpoint, "the given checkpoint").size
    tree, expected, last_cp = CompactRange(), 0, None
    prev: str | None = GENESIS
    scope = header.get("scope", "full")
    if scope not in ("full", "public", "tender"):
        raise Tampered("line 1", f"unknown export scope {scope!r}")

    def check_due() -> None:
        for where, cp in due.pop(tree.count, []):
            if tree.root() != cp.root:
                raise Tampered(where, f"the signed root for size {cp.size} does not match the entries: an entry "
                                      f"before index {cp.size} was changed, removed, inserted or reordered")

    check_due()  # a checkpoint of the empty log
    for number, item in stream:
        where = f"line {number}"
        if "checkpoint" in item:
            last_cp = add_checkpoint(item["checkpoint"], where)
            report.checkpoints += 1
            if last_cp.size == tree.count:
                check_due()
            continue
        if scope == "public" and "entry" not in item:  # withheld: only its place in the tree is shown
            index, stored_leaf = item.get("index"), item.get("leaf_hash")
            where = f"entry {index} (line {number})"
            if index != expected:
                raise Tampered(where, f"expected index {expected}, found {index}: entries are missing, out of "
                                      "order or duplicated")
            try:
                leaf = bytes.fromhex(stored_leaf)
            except (TypeError, ValueError):
                leaf = b""
            if len(leaf) != 32 or leaf.hex() != stored_leaf:
                raise Tampered(where, "its leaf hash is not 32 bytes in lowercase hex")
            tree.append(leaf)
            prev, expected = None, expected + 1
            report.entries += 1
            report.withheld += 1
            check_due()
            continue
        try:
            index, entry, stored_hash, stored_leaf = item["index"], item["entry"], item["hash"], item["leaf_hash"]
        except KeyError as exc:
            raise Tampered(where, f"entry line without {exc.args[0]!r}") from None
        where = f"entry {index} (line {number})"
        problem = format_problem(entry)
        if problem:
            raise Tampered(where, problem)
        encoded = canonical(entry)
        if hashlib.sha256(encoded).hexdigest() != stored_hash:
            raise Tampered(where, "its content does not match its hash (edited)")
        leaf = merkle.leaf_hash(encoded)
        if leaf.hex() != stored_leaf:
            raise Tampered(where, "its Merkle leaf hash is wrong")
        if scope == "tender":
            if last_cp is None:
                raise Tampered(where, "a tender export needs a checkpoint before its entries")
            proof = [bytes.fromhex(h) for h in item.get("proof", [])]
            if entry.get("seq") != index + 1 or not merkle.verify_inclusion(leaf, index, last_cp.size, proof,
                                                                             last_cp.root):
                raise Tampered(where, f"not included at index {index} in the signed log of size {last_cp.size}")
            report.entries += 1
            continue
        if index != expected or entry.get("seq") != expected + 1:
            found = entry.get("seq")
            what = ("an entry is missing before it (removed)" if isinstance(found, int) and found > expected + 1
                    else "entries are out of order or duplicated (inserted or reordered)")
            raise Tampered(where, f"expected sequence {expected + 1}, found {found}: {what}")
        if prev is not None and entry.get("prev") != prev:  # None: the entry before is withheld
            raise Tampered(where, "its previous-hash link does not match the entry before it")
        tree.append(leaf)
        prev, expected = stored_hash, expected + 1
        report.entries += 1
        check_due()
    if scope != "tender":
        declared = header.get("tree_size")
        if declared != tree.count:
            raise Tampered("end of export", f"the header announces {declared} entries, the export has {tree.count} "
                                            "(truncated or extended)")
        if due:
            size = min(due)
            raise Tampered(due[size][0][0], f"a signed checkpoint covers {size} entries but the export has only "
                                            f"{tree.count} (truncated)")
        report.tree_size, report.root = tree.count, tree.root()
    else:
        report.tree_size = last_cp.size if last_cp else 0
        report.root = last_cp.root if last_cp else b""
    return report
