"""OpenAPI description of the audit log's API (``audit/api.py``); put together with the other areas' tables by
``core.openapi.document``.  Change it with the routes: ``tests/integration/sunbid/test_openapi.py`` compares it with
the URL map.  The plain-text ``/audit/vkey`` and ``/audit/checkpoint`` are outside ``/api/v1`` (docs/audit.md)."""
from __future__ import annotations

from core.inputs import PAGE_MAX
from core.openapi import (
    OPTIONAL_BEARER,
    array,
    body,
    integer,
    json_response,
    nullable,
    obj,
    operation,
    query,
    string,
)

AUDIT_MAX = 10**18
"""The largest number the audit API's parameters take (audit/api.py ``_int``)."""


def big(minimum: int = 0):
    return integer(minimum, AUDIT_MAX)


TAGS = ["audit log"]
HASH = string(pattern="^[0-9a-f]{64}$")
SIZE = big(1)

CHECKPOINT = obj({"id": big(), "tree_size": big(), "root": HASH,
                  "created_at": string(format="date-time"), "note": string(description="The C2SP signed note."),
                  "cosignatures": array(obj({"witness": string(), "timestamp": big(), "line": string()}))})
ENTRY = obj({"index": big(), "leaf_hash": HASH, "hash": HASH, "prev_hash": HASH,
             "entry": {"type": "object", "description": "The entry's document, once its disclosure rule lets the "
                                                        "caller read it (supervisors: always)."},
             "tender_id": nullable(big())},
            required=("index", "leaf_hash"))
"""An entry not yet disclosed to the caller has its index and leaf hash only (docs/audit.md)."""

PATHS = {
    "/api/v1/audit/checkpoints": {
        "get": operation("Signed checkpoints, newest first, with their cosignatures", tags=TAGS, errors=[400],
                         parameters=[query("page", integer(1, PAGE_MAX), "The page, from 1."),
                                     query("per_page", big(1), "Items per page (default 50, at most 200 returned).")],
                         ok={200: json_response("A page of checkpoints.", obj({
                             "items": array(CHECKPOINT), "page": big(1), "per_page": integer(1, 200),
                             "total": big(), "pages": big(1)}))}),
    },
    "/api/v1/audit/proof/inclusion": {
        "get": operation("RFC 9162 inclusion proof of entry `index` in the tree of `size` entries", tags=TAGS,
                         errors=[400],
                         parameters=[query("index", big(), "The entry's index, from 0.", required=True),
                                     query("size", SIZE, "The tree size (a checkpoint's).", required=True)],
                         ok={200: json_response("The proof.", obj({
                             "index": big(), "tree_size": SIZE, "leaf_hash": HASH, "proof": array(HASH),
                             "root": HASH}))}),
    },
    "/api/v1/audit/proof/consistency": {
        "get": operation("RFC 9162 consistency proof between two tree sizes", tags=TAGS, errors=[400],
                         parameters=[query("from", SIZE, "The older tree size.", required=True),
                                     query("to", SIZE, "The newer tree size.", required=True)],
                         ok={200: json_response("The proof.", obj({
                             "from": SIZE, "to": SIZE, "proof": array(HASH), "old_root": HASH,
                             "new_root": HASH}))}),
    },
    "/api/v1/audit/entries": {
        "get": operation("Entries `start` < seq ≤ `end` (at most 1000): hashes for everyone, documents for "
                         "supervisors and administrators", tags=TAGS, errors=[400], security=OPTIONAL_BEARER,
                         parameters=[query("start", big(), "Entries after this many (default 0)."),
                                     query("end", big(1), "Up to this entry (default start + 100).")],
                         ok={200: json_response("The entries.", obj({
                             "entries": array(ENTRY), "start": big(), "end": {"type": "integer", "minimum": 1},
                             "detailed": {"type": "boolean"}, "tree_size": big()}))}),
    },
    "/api/v1/audit/cosignatures": {
        "post": operation("A registered witness delivers its cosignature of a checkpoint", tags=TAGS,
                          errors=[400, 404, 409],
                          request_body=body("text/plain", string(minLength=1, maxLength=64 * 1024),
                                            "The checkpoint's signed note with the witness's cosignature line "
                                            "appended."),
                          ok={201: json_response("The cosignature recorded.", obj({
                              "checkpoint_id": big(), "witness": string(), "timestamp": big()}))}),
    },
}
