"""Signed bid receipts: JSON a bidder verifies offline with the platform's public key only.

    {"receipt": {…canonical fields…}, "signature": "<base64 Ed25519>", "key": "<C2SP verifier key>"}

The signature is over ``"sunbid-receipt/v1\\n" + RFC 8785 canonical JSON of "receipt"`` (the prefix keeps
receipt signatures apart from the checkpoint signatures made with the same platform key).  Pure.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from audit import notes
from audit.rules import canonical
from core.errors import N_, InvalidInput

CONTEXT = b"sunbid-receipt/v1\n"


class BadReceipt(InvalidInput):
    code = "bad_receipt"
    default_message = N_("The receipt does not verify: %(reason)s.")


def sign_receipt(body: dict[str, Any], signer: notes.Signer) -> str:
    signature = signer.sign(CONTEXT + canonical(body))
    return json.dumps({"receipt": body, "signature": base64.b64encode(signature).decode(), "key": signer.vkey()},
                      ensure_ascii=False, indent=2, sort_keys=True)


def verify_receipt(text: str, vkey: str) -> dict[str, Any]:
    """The receipt's fields if it is signed by the holder of ``vkey``; BadReceipt otherwise."""
    try:
        data = json.loads(text)
        body, signature = data["receipt"], base64.b64decode(data["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadReceipt(reason="not a Sunbid receipt") from None
    verifier = notes.Verifier.from_vkey(vkey.strip())
    if not isinstance(body, dict) or not verifier.verify(CONTEXT + canonical(body), signature):
        raise BadReceipt(reason="the signature does not match the platform key")
    return body
