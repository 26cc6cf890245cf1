"""tus 1.0.0 over HTTP: the request handling shared by the two sets of resumable-upload routes.

- ``tender/api.py``, under ``/api/v1``: the caller is the owner of a bearer token (``sunbid bid submit``, any
  tus client);
- ``tender/views/bidding.py``, the bid form's uploads from the browser (``static/js/bid-upload.js``): the caller
  is the logged-in bidder of the session, and every request that changes something carries the form's CSRF
  token in the ``X-CSRFToken`` header.

Each route is one call into here.  This module reads the tus headers, calls ``tender/uploads.py`` (which does
the work and the object checks: only the creator of an upload may see or touch it) and writes the tus answers.
Who the caller is and how the request was authenticated are the routes' business (``core.web.actor()``), and
so is the form of an error (both answer JSON ``{"error": {"code", "message"}}``).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import MethodNotAllowed

from core.inputs import int_arg
from core.roles import Role
from core.web import actor, db, now, permission, platform, public, request_body, transaction
from tender import rules as rules_
from tender import uploads
from tender.rules import MAX_LOTS as LOT_MAX

ENDPOINTS = ("upload_options", "upload_item_options", "create_upload", "upload_status", "upload_append",
             "upload_terminate", "upload_overridden")

OVERRIDE = "X-HTTP-Method-Override"
ITEM_METHODS = ("HEAD", "GET", "PATCH", "DELETE", "OPTIONS")


def method() -> str:
    """The request's method as tus reads it: ``X-HTTP-Method-Override`` when given (for clients and proxies
    that can only send GET and POST), the actual method otherwise."""
    override = (request.headers.get(OVERRIDE) or "").strip()
    return override.upper() if override else request.method


def add_routes(bp: Blueprint, *, status_endpoint: str) -> None:
    """The six tus routes on ``bp`` (the API's, or the bid form's browser uploads), each a call into here:

        OPTIONS /tenders/<id>/uploads, /uploads/<id>   discovery (public, as the protocol expects)
        POST    /tenders/<id>/uploads?lot=N            create (Upload-Length) → 201, Location
        HEAD    /uploads/<id>                          Upload-Offset, Upload-Length
        GET     /uploads/<id>                          the same, and JSON: status, the bid with its receipt
        PATCH   /uploads/<id>                          append at Upload-Offset → 204 (+ Sunbid-Bid-Id at the end)
        DELETE  /uploads/<id>                          terminate → 204

    A request with ``X-HTTP-Method-Override`` is the method it names, whatever it was sent as (tus 1.0.0: "the
    actual method of the request MUST be ignored"): e.g. ``POST /uploads/<id>`` with ``X-HTTP-Method-Override:
    PATCH`` appends.  The upload's routes therefore all dispatch on :func:`method`; a plain POST there is 405.

    ``status_endpoint`` names the GET route as ``url_for`` knows it (for the Location header)."""

    def upload_options(tender_id: int) -> Response:
        return options()

    def upload_item_options(upload_id: str) -> Response:
        return options()

    def create_upload(tender_id: int) -> Response:
        if method() == "OPTIONS":
            return options()
        if method() != "POST":
            raise MethodNotAllowed(valid_methods=["POST", "OPTIONS"])
        return create(tender_id, status_endpoint=status_endpoint)

    def upload_item(upload_id: str) -> Response:
        handler = {"HEAD": status, "GET": status, "PATCH": append, "DELETE": terminate,
                   "OPTIONS": lambda _id: options()}.get(method())
        if handler is None:
            raise MethodNotAllowed(valid_methods=list(ITEM_METHODS))
        return handler(upload_id)

    bidder = permission(Role.BIDDER)
    item = bidder(upload_item)
    rules = [("/tenders/<id:tender_id>/uploads", public(upload_options), ["OPTIONS"]),
             ("/uploads/<upload_id>", public(upload_item_options), ["OPTIONS"]),
             ("/tenders/<id:tender_id>/uploads", bidder(create_upload), ["POST"]),
             ("/uploads/<upload_id>", item, ["GET"]),  # Flask answers HEAD with GET's headers
             ("/uploads/<upload_id>", item, ["PATCH"]),
             ("/uploads/<upload_id>", item, ["DELETE"]),
             ("/uploads/<upload_id>", item, ["POST"])]  # only with X-HTTP-Method-Override
    for (rule, view, methods), endpoint in zip(rules, ENDPOINTS, strict=True):
        bp.add_url_rule(rule, endpoint, view, methods=methods,
                        provide_automatic_options=False if methods != ["OPTIONS"] else None)


def bid_limit() -> int:
    """The largest bid, in bytes (``SUNBID_BID_LIMIT_MB``)."""
    return platform().settings.bid_limit_mb * 1024 * 1024


def quota() -> rules_.Quota:
    """The tenders' storage quotas (``SUNBID_BIDDER_QUOTA_MB``, ``SUNBID_TENDER_QUOTA_MB``)."""
    settings = platform().settings
    return rules_.Quota(bidder=settings.bidder_quota_mb * rules_.MB, tender=settings.tender_quota_mb * rules_.MB)


def idle() -> timedelta:
    """How long an upload may go untouched before it is abandoned (``SUNBID_UPLOAD_IDLE_MINUTES``)."""
    return timedelta(minutes=platform().settings.upload_idle_minutes)


def store_limit(tender_id: int, limit: int) -> tuple[int, Callable[[], None]]:
    """For a bid whose size is known only once it has arrived (the direct endpoint, the bid form): the bytes it
    may have, the bid limit or the room left in the tender's quota, whichever is smaller, and what to call
    when the store stops at that limit (raises the quota's refusal when the quota was the smaller).  A bid
    that cannot fit at all is refused before a byte is read."""
    from tender import bids

    q = quota()
    with transaction() as s:
        room = bids.room(s, actor=actor(), tender_id=tender_id, quota=q)
        if room <= 0:
            bids.check_quota(s, actor=actor(), tender_id=tender_id, size=max(request.content_length or 1, 1),
                             quota=q)

    def over() -> None:
        if room < limit:
            with transaction() as s:
                bids.check_quota(s, actor=actor(), tender_id=tender_id, size=room + 1, quota=q)

    return min(limit, room), over


def discard_refused(stored) -> None:
    """A bid refused after its bytes were stored: its blob goes at once unless a record names it (its own short
    transaction, right after the refusal's).  A failure here is left to the collector."""
    from tender import bids

    try:
        with transaction() as s:
            columns = [column for area in platform().areas for column in area.blob_references()]
            bids.discard_refused(s, blobs=platform().blobs, stored=stored, columns=columns)
    except Exception:  # noqa: BLE001 - the refusal is the answer; sunbid blobs gc removes what stays
        current_app.logger.exception("could not delete the blob of a refused bid")


def http_date(when: datetime) -> str:
    """An HTTP date (RFC 9110), as tus ``Upload-Expires`` has it: ``Wed, 25 Jun 2026 16:00:00 GMT``."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def add_headers(resp: Response) -> Response:
    """What every tus answer carries (the routes' ``after_request``)."""
    resp.headers["Tus-Resumable"] = uploads.TUS_VERSION
    if method() == "OPTIONS" or resp.status_code == 412:
        resp.headers["Tus-Version"] = uploads.TUS_VERSION
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def options() -> Response:
    """tus discovery (OPTIONS): extensions and largest size; ``add_headers`` adds the version."""
    return Response(status=204, headers={"Tus-Extension": uploads.TUS_EXTENSIONS, "Tus-Max-Size": str(bid_limit())})


def create(tender_id: int, *, status_endpoint: str) -> Response:
    """tus creation (POST): ``Upload-Length`` bytes for ``?lot=N`` (default 1), refused like a direct
    submission; answers 201 with the upload's address, made with ``status_endpoint``.  ``Upload-Metadata``,
    if given, must be well formed; it is kept as sent and echoed by HEAD."""
    uploads.check_tus_version(request.headers.get("Tus-Resumable"))
    lot = int_arg("lot", 1, minimum=1, maximum=LOT_MAX)
    if "Upload-Length" not in request.headers and "Upload-Defer-Length" in request.headers:
        raise uploads.DeferredLengthUnsupported(field="Upload-Length")
    length = uploads.parse_size(request.headers.get("Upload-Length"), "Upload-Length")
    metadata = uploads.parse_metadata(request.headers.get("Upload-Metadata"))
    with transaction() as s:
        up, replaced = uploads.create_upload(s, actor=actor(), tender_id=tender_id, lot=lot, length=length,
                                             limit=bid_limit(), now=now(), metadata=metadata, quota=quota())
        upload_id, until = up.id, uploads.expires(s, up, idle())
    data_dir = platform().settings.data_dir
    for old in replaced:
        uploads.discard_part(data_dir, old)
    location = url_for(status_endpoint, upload_id=upload_id, _external=True)
    return Response(status=201, headers={"Location": location, "Upload-Offset": "0",
                                         "Upload-Expires": http_date(until)})


def status(upload_id: str) -> Response:
    """HEAD: the tus offset, and the ``Upload-Metadata`` given at creation.  GET (Sunbid's own): the same
    headers and a JSON body with the upload's status, and once it is finished the bid with its signed
    receipt."""
    s, t = db(), now()
    up = uploads.own_upload(s, actor=actor(), upload_id=upload_id)
    headers = {"Upload-Length": str(up.upload_length), "Upload-Offset": str(up.upload_offset)}
    if up.upload_metadata:
        headers["Upload-Metadata"] = up.upload_metadata
    if (until := uploads.expires(s, up, idle())) is not None:
        headers["Upload-Expires"] = http_date(until)
    if method() == "HEAD":
        uploads.check_tus_version(request.headers.get("Tus-Resumable"))
        uploads.check_resumable(s, up, t, idle())
        return Response(status=200, headers=headers)
    resp = jsonify(uploads.describe(s, up, t, idle()))
    resp.headers.update(headers)
    return resp


def append(upload_id: str) -> Response:
    """tus PATCH: the body (``application/offset+octet-stream``) is appended at ``Upload-Offset`` as it arrives.
    The request that brings the last byte makes the bid and says so with ``Sunbid-Bid-Id``.

    Nothing before this has read the body or opened ``request.stream``: its size limit is set here, the bid
    limit (a chunk may be the whole bid; the upload's declared length limits it further)."""
    uploads.check_tus_version(request.headers.get("Tus-Resumable"))
    if request.mimetype != uploads.CONTENT_TYPE:
        raise uploads.WrongContentType()
    offset = uploads.parse_size(request.headers.get("Upload-Offset"), "Upload-Offset")
    request.max_content_length = bid_limit()
    p = platform()
    who = actor()
    done = uploads.append(transaction, actor=who, upload_id=upload_id, offset=offset, stream=request_body(),
                          content_length=request.content_length, clock=p.clock.now, data_dir=p.settings.data_dir,
                          blobs=p.blobs, signer=p.signer, idle=idle(), quota=quota())
    headers = {"Upload-Offset": str(done.offset)}
    if done.bid is not None:
        headers["Sunbid-Bid-Id"] = done.bid.public_id
    elif done.expires is not None:
        headers["Upload-Expires"] = http_date(done.expires)
    return Response(status=204, headers=headers)


def terminate(upload_id: str) -> Response:
    """tus termination (DELETE): the upload is closed and its bytes deleted (a finished upload is a bid:
    withdraw it instead)."""
    uploads.check_tus_version(request.headers.get("Tus-Resumable"))
    with transaction() as s:
        uploads.terminate_upload(s, actor=actor(), upload_id=upload_id, now=now())
    uploads.discard_part(platform().settings.data_dir, upload_id)
    return Response(status=204)
