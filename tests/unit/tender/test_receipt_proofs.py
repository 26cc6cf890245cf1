"""Receipts with their audit entry and tlog-proof (tender/receipts.py), verified offline on a log built
in memory: each part's tampering is named."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from audit import merkle, notes, proofs
from audit.rules import GENESIS, Entry, iso
from tender.receipts import BadReceipt, sign_receipt, verify_complete, verify_receipt

ORIGIN = "sunbid.test/audit"
SIGNER = notes.Signer.generate(ORIGIN)
VKEY = SIGNER.vkey()
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
SHA = "ab" * 32


def chain(n: int, bid_at: int) -> list[Entry]:
    """A log of ``n`` entries whose entry ``bid_at`` (1-based) is bid 7's submission."""
    out, prev = [], GENESIS
    for seq in range(1, n + 1):
        if seq == bid_at:
            e = Entry(seq, T0 + timedelta(seconds=seq), 3, "bidder1", "bidder", "10.0.0.9", "bid.submitted", "bid",
                      "7", {"tender": "SB-2026-00001", "lot": 1, "bidder": "91350200000000001X", "sha256": SHA,
                            "size": 4096, "supersedes": []}, prev)
        else:
            e = Entry(seq, T0 + timedelta(seconds=seq), None, "system", "system", "-", "test.event", "thing",
                      str(seq), {"n": seq}, prev)
        out.append(e)
        prev = e.hash()
    return out


def body_for(e: Entry, **changes) -> dict:
    body = {"bid_id": 7, "tender_id": 1, "tender": "SB-2026-00001", "lot": 1, "bidder": "91350200000000001X",
            "bidder_name": "滨海宏达建设工程有限公司", "sha256": SHA, "size": 4096, "received_at": iso(e.at),
            "audit_seq": e.seq, "audit_hash": e.hash()}
    body.update(changes)
    return body


def receipt(n: int = 11, bid_at: int = 6, *, signer: notes.Signer = SIGNER, **changes) -> str:
    entries = chain(n, bid_at)
    encoded = [e.encode() for e in entries]
    note = notes.sign_checkpoint(notes.Checkpoint(signer.name, n, merkle.root_hash(encoded)), signer)
    proof = proofs.TlogProof(index=bid_at - 1, hashes=tuple(merkle.inclusion_proof(encoded, bid_at - 1)),
                             checkpoint=note).encode()
    e = entries[bid_at - 1]
    return sign_receipt(body_for(e, **changes), SIGNER, entry=e.document(), proof=proof)


def edit(text: str, fn) -> str:
    data = json.loads(text)
    fn(data)
    return json.dumps(data, ensure_ascii=False)


def test_a_complete_receipt_verifies():
    result = verify_complete(receipt(), VKEY)
    assert result.has_proof and result.index == 5 and result.checkpoint.size == 11
    assert result.receipt["audit_seq"] == 6 and verify_receipt(receipt(), VKEY)["sha256"] == SHA


@pytest.mark.parametrize("n,at", [(1, 1), (2, 1), (2, 2), (8, 8), (33, 17)])
def test_any_position_in_any_log(n, at):
    assert verify_complete(receipt(n, at), VKEY).index == at - 1


def test_an_old_receipt_without_proof_still_verifies_and_says_so():
    old = edit(receipt(), lambda d: (d.pop("entry"), d.pop("proof")))
    result = verify_complete(old, VKEY)
    assert not result.has_proof and result.checkpoint is None and result.receipt["bid_id"] == 7


def test_the_proof_is_not_under_the_receipt_signature_but_the_entry_hash_is():
    data = json.loads(receipt())
    assert set(data) == {"receipt", "signature", "key", "entry", "proof"}
    assert data["receipt"]["audit_hash"] == hashlib.sha256(json.dumps(
        data["entry"], ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()).hexdigest()


def test_a_changed_receipt_field_breaks_the_signature():
    with pytest.raises(BadReceipt, match="the signature does not match the platform key"):
        verify_complete(edit(receipt(), lambda d: d["receipt"].update(size=4097)), VKEY)


def test_a_foreign_platform_key_is_refused():
    with pytest.raises(BadReceipt, match="the signature does not match the platform key"):
        verify_complete(receipt(), notes.Signer.generate(ORIGIN).vkey())


def test_an_altered_entry_is_named():
    with pytest.raises(BadReceipt, match="the audit entry was altered"):
        verify_complete(edit(receipt(), lambda d: d["entry"].update(address="10.6.6.6")), VKEY)
    with pytest.raises(BadReceipt, match="the audit entry was altered"):
        verify_complete(edit(receipt(), lambda d: d["entry"]["payload"].update(sha256="cd" * 32)), VKEY)


def test_another_entry_of_the_log_is_not_this_receipts():
    entries = chain(11, 6)

    def swap(d):
        d["entry"] = entries[6].document()

    with pytest.raises(BadReceipt, match="the audit entry was altered"):
        verify_complete(edit(receipt(), swap), VKEY)


@pytest.mark.parametrize("field,value,label", [
    ("sha256", "cd" * 32, "sha256"), ("size", 1, "size"), ("lot", 2, "lot"), ("bidder", "X", "bidder"),
    ("tender", "SB-2026-00002", "tender"), ("bid_id", 8, "object"), ("received_at", "2026-03-02T01:00:00.000000Z",
                                                                     "time"),
])
def test_a_receipt_whose_fields_differ_from_its_entry_is_refused(field, value, label):
    """Even a correctly signed receipt fails when its entry records something else."""
    with pytest.raises(BadReceipt, match=f"not this bid's submission: its {label} is"):
        verify_complete(receipt(**{field: value}), VKEY)


def test_a_receipt_for_another_sequence_number_is_refused():
    with pytest.raises(BadReceipt, match="its sequence number is 6, the receipt's is 5"):
        verify_complete(receipt(audit_seq=5), VKEY)


def test_an_entry_of_another_action_is_refused():
    entries = chain(11, 6)
    other = entries[2]  # a test.event entry, genuinely in the log
    encoded = [e.encode() for e in entries]
    note = notes.sign_checkpoint(notes.Checkpoint(ORIGIN, 11, merkle.root_hash(encoded)), SIGNER)
    proof = proofs.TlogProof(index=2, hashes=tuple(merkle.inclusion_proof(encoded, 2)), checkpoint=note).encode()
    text = sign_receipt(body_for(other), SIGNER, entry=other.document(), proof=proof)
    with pytest.raises(BadReceipt, match="its action is 'test.event'"):
        verify_complete(text, VKEY)


def test_an_altered_proof_hash_is_named():
    def alter(d):
        lines = d["proof"].split("\n")
        lines[2] = "A" * 43 + "="
        d["proof"] = "\n".join(lines)

    with pytest.raises(BadReceipt, match="inclusion proof: the inclusion path from index 5 does not lead to the "
                                         "signed root of the checkpoint of size 11"):
        verify_complete(edit(receipt(), alter), VKEY)


def test_a_proof_for_another_index_is_named():
    with pytest.raises(BadReceipt, match="inclusion proof: the proof is for index 4, not for index 5"):
        verify_complete(edit(receipt(), lambda d: d.update(proof=d["proof"].replace("index 5", "index 4"))), VKEY)


def test_a_checkpoint_signed_by_another_key_is_named():
    impostor = notes.Signer.generate(ORIGIN)
    with pytest.raises(BadReceipt, match="inclusion proof: the checkpoint carries no signature by the key"):
        verify_complete(receipt(signer=impostor), VKEY)


def test_an_altered_checkpoint_is_named():
    def alter(d):
        d["proof"] = d["proof"].replace(f"{ORIGIN}\n11\n", f"{ORIGIN}\n12\n")

    with pytest.raises(BadReceipt, match="inclusion proof: the checkpoint's signature does not match its text"):
        verify_complete(edit(receipt(), alter), VKEY)


def test_a_missing_or_truncated_part_is_named():
    with pytest.raises(BadReceipt, match="carries the audit entry but not its inclusion proof"):
        verify_complete(edit(receipt(), lambda d: d.pop("proof")), VKEY)
    with pytest.raises(BadReceipt, match="carries an inclusion proof but not the audit entry"):
        verify_complete(edit(receipt(), lambda d: d.pop("entry")), VKEY)
    with pytest.raises(BadReceipt, match="inclusion proof: the checkpoint is missing"):
        verify_complete(edit(receipt(), lambda d: d.update(proof=d["proof"].split("\n\n")[0])), VKEY)
    with pytest.raises(BadReceipt, match="inclusion proof: "):
        verify_complete(edit(receipt(), lambda d: d.update(proof=d["proof"][:-30])), VKEY)
    with pytest.raises(BadReceipt, match="not a Sunbid receipt"):
        verify_complete(receipt()[:-40], VKEY)
    with pytest.raises(BadReceipt, match="the audit entry is not a JSON object"):
        verify_complete(edit(receipt(), lambda d: d.update(entry="{}")), VKEY)
    with pytest.raises(BadReceipt, match="not c2sp.org/tlog-proof text"):
        verify_complete(edit(receipt(), lambda d: d.update(proof=["index 5"])), VKEY)


def test_the_examples_in_the_documentation_verify():
    """docs/sealed-bids.md's example receipt verifies, and docs/audit.md shows that receipt's proof."""
    import re
    from pathlib import Path

    docs = Path(__file__).resolve().parents[3] / "docs"
    example = re.search(r"## Receipts\n.*?```json\n(.*?)```", (docs / "sealed-bids.md").read_text(), re.S).group(1)
    result = verify_complete(example, json.loads(example)["key"])
    assert result.has_proof and (result.index, result.checkpoint.size) == (18, 19)
    section = (docs / "audit.md").read_text().split("## Inclusion proofs in receipts")[1]
    shown = section.split("one item a line:\n")[1].split("\nAn optional")[0]
    items = [line.strip().split("  ")[0] for line in shown.splitlines()]  # drop the side comments
    proof_lines = json.loads(example)["proof"].split("\n")
    assert [i for i in items if i and i != "(an empty line)"] == [line for line in proof_lines if line]
