"""Signed bid receipts: JSON a bidder verifies offline with the platform's public key only.

    {"receipt": {…canonical fields…}, "signature": "<base64 Ed25519>", "key": "<C2SP verifier key>",
     "entry": {…the bid.submitted audit entry…}, "proof": "<c2sp.org/tlog-proof@v1 text>"}

The signature is over ``"sunbid-receipt/v1\\n" + RFC 8785 canonical JSON of "receipt"`` (the prefix keeps
receipt signatures apart from the checkpoint signatures made with the same platform key).

``entry`` is the audit entry recording the submission (its document, whose canonical JSON is the Merkle
leaf) and ``proof`` its inclusion proof against a checkpoint signed by the same platform key
(:mod:`audit.proofs`).  Neither is under the receipt signature: each authenticates itself — the entry by
its SHA-256 (``receipt.audit_hash``, signed) and by the proof, the proof by the checkpoint's signature —
so :func:`verify_complete` can say which part is wrong.  Receipts made before proofs were added have
neither and still verify; they report that they carry no proof.  Pure.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from audit import merkle, notes, proofs
from audit.rules import canonical
from core.errors import N_, InvalidInput

CONTEXT = b"sunbid-receipt/v1\n"
BID_ACTION = "bid.submitted"


class BadReceipt(InvalidInput):
    code = "bad_receipt"
    default_message = N_("The receipt does not verify: %(reason)s.")


def sign_receipt(body: dict[str, Any], signer: notes.Signer, *, entry: dict[str, Any] | None = None,
                 proof: str | None = None) -> str:
    """The receipt as JSON text: ``body`` signed by the platform key, with the audit ``entry`` document and
    its c2sp.org/tlog-proof ``proof`` alongside when given."""
    signature = signer.sign(CONTEXT + canonical(body))
    out: dict[str, Any] = {"receipt": body, "signature": base64.b64encode(signature).decode(), "key": signer.vkey()}
    if entry is not None:
        out["entry"] = entry
    if proof is not None:
        out["proof"] = proof
    return json.dumps(out, ensure_ascii=False, indent=2, sort_keys=True)


def _signed(text: str, vkey: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the whole receipt document, its signed fields) if signed by the holder of ``vkey``."""
    try:
        data = json.loads(text)
        body, signature = data["receipt"], base64.b64decode(data["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadReceipt(reason="not a Sunbid receipt") from None
    verifier = notes.Verifier.from_vkey(vkey.strip())
    if not isinstance(body, dict) or not verifier.verify(CONTEXT + canonical(body), signature):
        raise BadReceipt(reason="the signature does not match the platform key")
    return data, body


def verify_receipt(text: str, vkey: str) -> dict[str, Any]:
    """The receipt's fields if it is signed by the holder of ``vkey``; BadReceipt otherwise.
    The signature only: :func:`verify_complete` checks the entry and its inclusion proof too."""
    return _signed(text, vkey)[1]


@dataclass(frozen=True)
class Verified:
    """A verified receipt: its signed fields and, when it carries a proof, the checkpoint (signed by the
    platform key) its audit entry is proven in, and the entry's index in the log."""

    receipt: dict[str, Any]
    checkpoint: notes.Checkpoint | None = None
    index: int | None = None

    @property
    def has_proof(self) -> bool:
        return self.checkpoint is not None


def _mismatch(entry: dict[str, Any], body: dict[str, Any]) -> str | None:
    """What makes ``entry`` something other than the bid.submitted entry of this receipt, if anything."""
    payload = entry.get("payload") if isinstance(entry.get("payload"), dict) else {}
    obj = entry.get("object") if isinstance(entry.get("object"), dict) else {}
    checks = [
        ("action", entry.get("action"), BID_ACTION),
        ("sequence number", entry.get("seq"), body.get("audit_seq")),
        ("object", (obj.get("type"), obj.get("id")), ("bid", str(body.get("bid_id")))),
        ("time", entry.get("time"), body.get("received_at")),
        ("tender", payload.get("tender"), body.get("tender")),
        ("lot", payload.get("lot"), body.get("lot")),
        ("bidder", payload.get("bidder"), body.get("bidder")),
        ("sha256", payload.get("sha256"), body.get("sha256")),
        ("size", payload.get("size"), body.get("size")),
    ]
    for label, found, wanted in checks:
        if found != wanted or isinstance(found, bool) != isinstance(wanted, bool):
            return (f"the audit entry is not this bid's submission: its {label} is {found!r}, "
                    f"the receipt's is {wanted!r}")
    return None


def verify_complete(text: str, vkey: str) -> Verified:
    """Verify everything a receipt carries, offline, with the platform's verifier key ``vkey`` only:

    1. the receipt's signature;
    2. the audit entry: its SHA-256 is the signed ``audit_hash`` and it is the ``bid.submitted`` entry of
       exactly this receipt (sequence number, bid, time, tender, lot, bidder, SHA-256, size);
    3. the proof: a c2sp.org/tlog-proof at index ``audit_seq - 1`` whose checkpoint is signed by the same
       key and whose inclusion path leads from the entry's leaf hash to the checkpoint's root.

    A receipt with neither entry nor proof (made before they were added) verifies on its signature and
    reports ``has_proof = False``.  Anything wrong raises :class:`BadReceipt` naming it.
    """
    data, body = _signed(text, vkey)
    entry, proof = data.get("entry"), data.get("proof")
    if entry is None and proof is None:
        return Verified(body)
    if entry is None:
        raise BadReceipt(reason="it carries an inclusion proof but not the audit entry it proves")
    if proof is None:
        raise BadReceipt(reason="it carries the audit entry but not its inclusion proof")
    if not isinstance(entry, dict):
        raise BadReceipt(reason="the audit entry is not a JSON object")
    if not isinstance(proof, str):
        raise BadReceipt(reason="the inclusion proof is not c2sp.org/tlog-proof text")
    try:
        encoded = canonical(entry)
    except Exception:  # noqa: BLE001 — whatever canonical JSON refuses (e.g. integers beyond 2^53)
        raise BadReceipt(reason="the audit entry cannot be put in canonical JSON") from None
    signed_hash = body.get("audit_hash")
    if signed_hash is not None and hashlib.sha256(encoded).hexdigest() != signed_hash:
        raise BadReceipt(reason="the audit entry was altered: its SHA-256 is not the audit_hash the receipt signs")
    problem = _mismatch(entry, body)
    if problem:
        raise BadReceipt(reason=problem)
    seq = body.get("audit_seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise BadReceipt(reason="the receipt's audit sequence number is not a positive whole number")
    verifier = notes.Verifier.from_vkey(vkey.strip())
    try:
        checkpoint = proofs.verify(proof, leaf_hash=merkle.leaf_hash(encoded), verifier=verifier, index=seq - 1)
    except proofs.ProofError as exc:
        raise BadReceipt(reason=f"inclusion proof: {exc.reason}") from None
    return Verified(body, checkpoint, seq - 1)
