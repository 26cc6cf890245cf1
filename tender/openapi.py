"""OpenAPI description of the tender API (``tender/api.py``, and the tus routes of ``tender/tus.py``); put
together with the other areas' tables by ``core.openapi.document``.  Change it with the routes:
``tests/integration/sunbid/test_openapi.py`` compares it with the URL map."""
from __future__ import annotations

from core.inputs import PAGE_MAX
from core.openapi import (
    BEARER,
    array,
    body,
    empty_response,
    header,
    integer,
    json_response,
    nullable,
    obj,
    operation,
    page_of,
    path_id,
    path_string,
    query,
    response_header,
    string,
)
from tender.rules import MAX_LOTS, Status
from tender.inputs import CATEGORIES, REGIMES

TAGS = ["tenders"]
BID_TAGS = ["bids"]
TUS_TAGS = ["uploads (tus 1.0.0)"]

TIME = string(format="date-time")
MONEY = string(pattern=r"^-?[0-9]+(\.[0-9]+)?$", description="Yuan, a decimal string.")
SHA256 = string(pattern="^[0-9a-f]{64}$")
TENDER_ID = path_id("tender_id", "The tender's id.")
BID_ID = path_id("bid_id", "The bid's id.")
UPLOAD_ID = path_string("upload_id", "The upload's id, from the Location of its creation.", minLength=1)
LOT = query("lot", integer(1, MAX_LOTS), "The lot the bid is for (default 1).")

TENDER = obj({
    "id": integer(), "project_code": string(), "title": string(), "regime": string(enum=list(REGIMES)),
    "category": string(enum=list(CATEGORIES)), "region": string(),
    "status": string(enum=[s.value for s in Status]), "currency": string(), "estimated_price": MONEY,
    "deposit": MONEY, "published_at": nullable(TIME), "download_start": TIME, "download_end": TIME,
    "deadline": TIME, "cancelled_at": nullable(TIME)})
TENDER_ITEM = {**TENDER, "properties": {**TENDER["properties"], "url": string(format="uri-reference")},
               "required": [*TENDER["required"], "url"]}
TENDER_DETAIL = {**TENDER, "properties": {
    **TENDER["properties"],
    "description": string(), "qualification": string(), "evaluation_method": string(),
    "cancel_reason": nullable(string()),
    "opening_key": nullable(obj({"recipient": string(), "threshold": integer(1), "shares": integer(1)})),
    "rules": {"type": "object", "description": "The tender's rule settings and where they depart from the "
                                               "legal defaults.", "required": ["departures_from_defaults"]},
    "lots": array(obj({"number": integer(1, MAX_LOTS), "name": string(), "estimated_price": MONEY})),
    "documents": array(obj({"id": integer(), "filename": string(), "content_type": string(), "size": integer(),
                            "sha256": SHA256})),
    "required_documents": array(obj({"name": string(), "types": array(string()), "max_mb": integer(1)})),
    "amendments": array(obj({"number": integer(1), "text": string(), "published_at": TIME,
                             "old_deadline": TIME, "new_deadline": TIME})),
    "questions": array(obj({"id": integer(), "text": string(), "asked_at": TIME, "answer": string(),
                            "answered_at": nullable(TIME)})),
}, "required": [*TENDER["required"], "description", "qualification", "evaluation_method", "cancel_reason",
                "opening_key", "rules", "lots", "documents", "required_documents", "amendments",
                "questions"]}

RECEIPT = {"type": "object", "description": "The signed receipt (docs/sealed-bids.md, Receipts).",
           "properties": {"receipt": {"type": "object"}, "signature": string(), "key": string(),
                          "entry": {"type": "object"}, "proof": string()},
           "required": ["receipt", "signature", "key"]}
BID_STATUS = string(description="submitted, superseded, withdrawn, …")
BID = obj({"id": integer(), "lot": integer(1, MAX_LOTS), "sha256": SHA256, "size": integer(),
           "status": BID_STATUS, "received_at": TIME})
BID_WITH_RECEIPT = {**BID, "properties": {**BID["properties"], "receipt": RECEIPT},
                    "required": [*BID["required"], "receipt"]}

TUS_RESUMABLE = header("Tus-Resumable", string(enum=["1.0.0"]), "The tus version; only 1.0.0.", required=True)
SIZE = integer(0, 10**18 - 1)
TUS_ANSWER = {"Tus-Resumable": response_header(string(enum=["1.0.0"]), "The tus version spoken.")}
OFFSETS = {**TUS_ANSWER,
           "Upload-Offset": response_header(SIZE, "Bytes received so far."),
           "Upload-Length": response_header(SIZE, "The declared size of the upload.")}
UPLOAD_STATUS = string(enum=["open", "complete", "refused", "expired", "terminated", "replaced", "abandoned"])
EXPIRES = {"Upload-Expires": response_header(string(), "tus expiration: when the unfinished upload is abandoned "
                                                       "unless more bytes arrive (an HTTP date; at the latest the "
                                                       "bid deadline).")}
UPLOAD = obj({"id": string(), "tender_id": integer(), "lot": integer(1, MAX_LOTS), "length": integer(),
              "offset": integer(), "status": UPLOAD_STATUS, "refusal": nullable(string()),
              "created_at": TIME, "updated_at": TIME, "bid": nullable(BID_WITH_RECEIPT)})
DISCOVERY = {**TUS_ANSWER,
             "Tus-Version": response_header(string(), "The tus versions the server speaks (1.0.0)."),
             "Tus-Extension": response_header(string(), "creation,expiration,termination"),
             "Tus-Max-Size": response_header(integer(), "The largest upload, in bytes (the bid limit).")}


def _discovery(what: str, path_parameter: dict) -> dict:
    return operation(f"tus discovery ({what})", tags=TUS_TAGS, parameters=[path_parameter],
                     ok={204: empty_response("What the server speaks.", DISCOVERY)})


PATHS = {
    "/api/v1/tenders": {
        "get": operation("Published tenders, newest first", tags=TAGS, errors=[400], parameters=[
            query("q", string(maxLength=1000), "Words in the title, project code or description."),
            query("category", string(), f"One of {', '.join(CATEGORIES)} (anything else: no filter)."),
            query("region", string(maxLength=1000), "The region, exactly."),
            query("status", string(), "A status (published, closed, opened, failed, cancelled); else all."),
            query("page", integer(1, PAGE_MAX), "The page, from 1."),
            query("per_page", integer(1, 100), "Items per page (default 20)."),
        ], ok={200: json_response("A page of tenders.", page_of(TENDER_ITEM))}),
    },
    "/api/v1/tenders/{tender_id}": {
        "get": operation("One published tender with its lots, documents, amendments and answered questions",
                         tags=TAGS, errors=[404], parameters=[TENDER_ID],
                         ok={200: json_response("The tender.", TENDER_DETAIL)}),
    },
    "/api/v1/tenders/{tender_id}/bids": {
        "get": operation("The caller's own bids for the tender", tags=BID_TAGS, security=BEARER,
                         errors=[403, 404], parameters=[TENDER_ID],
                         ok={200: json_response("The caller's bids.", obj({"items": array(BID)}))}),
        "post": operation(
            "Submit a sealed bid in one request", tags=BID_TAGS, security=BEARER,
            errors=[400, 403, 404, 409, 413], parameters=[TENDER_ID, LOT],
            description="The body is the sealed bid: an age v1 file encrypted to the tender's opening key "
                        "(`sunbid bid submit` makes one). Refused before any byte is stored when the tender "
                        "takes no bids from the caller.",
            request_body=body("application/octet-stream", string(contentMediaType="application/octet-stream"),
                              "The age file."),
            ok={201: json_response("The bid, with its signed receipt.", BID_WITH_RECEIPT)}),
    },
    "/api/v1/bids/{bid_id}/receipt": {
        "get": operation("The bid's signed receipt (a JSON download)", tags=BID_TAGS, security=BEARER,
                         errors=[403, 404], parameters=[BID_ID],
                         ok={200: json_response("The receipt.", RECEIPT)}),
    },
    "/api/v1/bids/{bid_id}/withdraw": {
        "post": operation("Withdraw the caller's bid before the deadline", tags=BID_TAGS, security=BEARER,
                          errors=[403, 404, 409], parameters=[BID_ID],
                          ok={200: json_response("The bid's new status.",
                                                 obj({"id": integer(), "status": BID_STATUS}))}),
    },
    "/api/v1/tenders/{tender_id}/uploads": {
        "options": _discovery("creation", TENDER_ID),
        "post": operation(
            "tus creation: start a resumable upload of a sealed bid", tags=TUS_TAGS, security=BEARER,
            errors=[400, 403, 404, 409, 412, 413],
            parameters=[TENDER_ID, LOT, TUS_RESUMABLE,
                        header("Upload-Length", SIZE, "The size of the sealed bid in bytes (not 0, not over "
                                                      "Tus-Max-Size).", required=True)],
            ok={201: empty_response("Created.", {
                **TUS_ANSWER, "Location": response_header(string(format="uri-reference"), "The upload's address."),
                "Upload-Offset": response_header(integer(0, 0), "0"), **EXPIRES})}),
    },
    "/api/v1/uploads/{upload_id}": {
        "options": _discovery("an upload", UPLOAD_ID),
        "head": operation("tus: the upload's offset", tags=TUS_TAGS, security=BEARER,
                          errors=[404, 410, 412], parameters=[UPLOAD_ID, TUS_RESUMABLE],
                          ok={200: empty_response("The offset and length.", {**OFFSETS, **EXPIRES})}),
        "get": operation("The upload's progress, status, and the bid with its receipt once finished",
                         tags=TUS_TAGS, security=BEARER, errors=[404], parameters=[UPLOAD_ID],
                         ok={200: json_response("The upload.", UPLOAD, {**OFFSETS, **EXPIRES})}),
        "patch": operation(
            "tus: append bytes at Upload-Offset", tags=TUS_TAGS, security=BEARER,
            errors=[400, 404, 409, 410, 412, 413, 415, 423],
            description="The request that brings the last byte makes the bid (Sunbid-Bid-Id). A broken "
                        "connection keeps the bytes that arrived: ask HEAD and continue.",
            parameters=[UPLOAD_ID, TUS_RESUMABLE,
                        header("Upload-Offset", SIZE, "Where these bytes go: the offset the server has.",
                               required=True)],
            request_body=body("application/offset+octet-stream",
                              string(contentMediaType="application/offset+octet-stream"), "The next bytes."),
            ok={204: empty_response("Appended.", {
                **TUS_ANSWER, "Upload-Offset": response_header(SIZE, "The new offset."),
                "Sunbid-Bid-Id": response_header(integer(), "The bid made, when the upload is finished."),
                **EXPIRES})}),
        "delete": operation("tus termination: close the upload and delete its bytes", tags=TUS_TAGS,
                            security=BEARER, errors=[404, 409, 412], parameters=[UPLOAD_ID, TUS_RESUMABLE],
                            ok={204: empty_response("Terminated.", TUS_ANSWER)}),
        "post": operation(
            "tus: another method through X-HTTP-Method-Override", tags=TUS_TAGS, security=BEARER,
            errors=[400, 404, 405, 409, 410, 412, 413, 415, 423],
            description="For clients and proxies that send only GET and POST: the request acts as the method "
                        "the header names (PATCH, DELETE, HEAD, GET); a plain POST is 405.",
            parameters=[UPLOAD_ID, TUS_RESUMABLE,
                        header("X-HTTP-Method-Override", string(enum=["PATCH", "DELETE", "HEAD", "GET"]),
                               "The method this request stands for.", required=True)],
            ok={200: empty_response("As HEAD or GET."), 204: empty_response("As PATCH or DELETE.", TUS_ANSWER)}),
    },
}
