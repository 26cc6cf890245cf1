"""Bidding: the bid form's submission (its body read as it streams, sealed on the way), the bid form's resumable
uploads (tus, a child blueprint: endpoints ``tender.uploads.*``), where the form's script lands after an upload,
withdrawal and the signed receipt."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from core.blobs import FileTooLarge
from core.errors import N_, DomainError, InvalidInput
from core.inputs import check_text, reads_body_itself
from core.roles import Role
from core.rules import whole_number
from core.web import (acting_user, actor, check_form_csrf, db, idle_db, now, permission, platform,
                      register_error_handlers, transaction)
from tender import bids, formupload, rules, tus, uploads
from tender.models import Bid
from tender.views.common import bp, error_message, run_operation


@bp.post("/tenders/<id:tender_id>/bids")
@permission(Role.BIDDER)
@reads_body_itself
def submit_bid(tender_id: int):
    """Upload a bid, one of two ways (the form's ``mode``): ``sealed``, a file the bidder sealed to the tender's
    recipient (an age file), stored as it is; or ``package``, the plaintext bid package (bid.zip), sealed here
    to the tender's recipient, and to the bidder's own (``self_recipient``) if given, while it streams in.

    The body is read here, as it arrives, not by Werkzeug's form parser, which spools a large file part to a
    temporary file on disk: the fields come first (the CSRF token among them, checked before any byte of the
    file is used), then the file part goes piece by piece to the blob store, or through the age encryptor
    and then to the blob store.  The plaintext is never written to disk nor held whole in memory; either way
    the blob store keeps the sealed file exactly as for an upload sealed by the bidder (age header checked,
    size-limited, hashed while written)."""
    limit = platform().settings.bid_limit_mb * 1024 * 1024
    request.max_content_length = limit + 64 * 1024
    idle_db()  # the login lookup's transaction must not stay open while the body arrives
    upload = formupload.MultipartUpload.of(request)
    try:
        fields, part = upload.fields_until_file() if upload else (request.form.to_dict(), None)
        check_form_csrf(fields)
        check_text(fields)
        mode = fields.get("mode") or "sealed"
        lot = _lot(fields)  # refused before a byte of the file is stored
        with transaction() as s:
            bids.check_submission(s, actor=actor(), tender_id=tender_id, now=now())
            recipients = bids.sealing_recipients(s, tender_id=tender_id, mode=mode,
                                                 self_recipient=fields.get("self_recipient", ""))
            if mode == "package":  # its bid.json is read as it passes: for this tender, lot and bidder
                expected = bids.package_binding(s, actor=actor(), tender_id=tender_id, lot=lot)
            else:  # the platform cannot read it: the bidder confirms what it is for
                bids.check_confirmation(s, actor=actor(), tender_id=tender_id, lot=lot,
                                        confirm_tender=fields.get("confirm_tender"),
                                        confirm_lot=fields.get("confirm_lot"))
        if part is None or not part.filename:
            flash(_("Choose the bid package (.zip) to upload.") if mode == "package" else
                  _("Choose the sealed bid file (.age) to upload."), "danger")
            formupload.discard(upload)
            return redirect(url_for("tender.detail", tender_id=tender_id, _anchor="bid"))
        blobs = platform().blobs
        declared = None
        room, over_quota = tus.store_limit(tender_id, limit)
        try:
            if mode == "package":
                check = formupload.PackageCheck(upload, expected)
                stored = formupload.seal_upload(check, recipients, blobs=blobs, limit=room)
                declared = formupload.binding_of(check.form)
            else:
                stored = formupload.store_sealed(upload, blobs=blobs, limit=room)
        except FileTooLarge:
            over_quota()
            raise
        try:
            later = upload.rest()
            check_text(later)
            if "lot" in later and _lot(later) != lot:  # the lot is chosen before the file, as the page sends it
                raise InvalidInput(N_("Choose the lot before the file (the lot field comes first in the form)."),
                                   field="lot")
            with transaction() as s:
                bid = bids.submit_bid(s, actor=actor(), tender_id=tender_id, lot=lot, stored=stored, now=now(),
                                      signer=platform().signer, declared=declared, quota=tus.quota())
        except BaseException:
            tus.discard_refused(stored)  # refused after it was stored: nothing keeps its bytes
            raise
        when = format_datetime(bid.received_at, "yyyy-MM-dd HH:mm:ss")
        if mode == "package":
            flash(_("Your bid package was sealed to the opening key and received at %(when)s. SHA-256 of the "
                    "sealed file %(sha)s. Download and keep your signed receipt.", when=when, sha=bid.sha256),
                  "success")
        else:
            flash(_("Bid received at %(when)s. SHA-256 %(sha)s. Download and keep your signed receipt.",
                    when=when, sha=bid.sha256), "success")
    except CSRFError:
        formupload.discard(upload)
        raise
    except DomainError as exc:
        formupload.discard(upload)
        if exc.status == 404 or exc.code == "nul_in_text":
            raise
        flash(error_message(exc), "danger")
    return redirect(url_for("tender.detail", tender_id=tender_id, _anchor="bid"))


def _lot(fields: dict[str, str]) -> int:
    return whole_number(fields.get("lot"), field="lot", minimum=1, maximum=rules.MAX_LOTS, default=1)


@bp.record_once
def _exempt_bid_upload(state) -> None:
    # The bid form checks its CSRF token itself (core.web.check_form_csrf): Flask-WTF's global check reads request.form,
    # which would make Werkzeug parse the whole upload, and spool it to disk, before the view runs.
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(f"{submit_bid.__module__}.{submit_bid.__name__}")


# ---------------------------------------------------------------- resumable uploads from the bid form (tus 1.0.0)
#
# The bid form's "file I sealed myself" upload from the browser (static/js/bid-upload.js): the same tus protocol
# as the API's (request handling in tender/tus.py, the work in tender/uploads.py), for the logged-in bidder of
# the session.  A child blueprint of this one (endpoints tender.uploads.*), so that it can have its own
# before_request (login, CSRF header) and error handlers (JSON, which the script shows).
#
#   OPTIONS /tenders/<id>/uploads, /uploads/<upload id>     what the server speaks (public)
#   POST    /tenders/<id>/uploads?lot=N                      create (Upload-Length) → 201, Location
#   HEAD    /uploads/<upload id>                             Upload-Offset, Upload-Length
#   PATCH   /uploads/<upload id>                             append at Upload-Offset → 204 (+ Sunbid-Bid-Id at the end)
#   DELETE  /uploads/<upload id>                             terminate → 204
#   GET     /uploads/<upload id>                             JSON: progress, status, the bid with its receipt
#   GET     /uploads/<upload id>/done                        (in the tender blueprint itself) the tender page, result flashed

uploads_bp = Blueprint("uploads", __name__)


@uploads_bp.record_once
def _exempt_uploads(state) -> None:
    # Checked in _session_and_csrf instead, from the X-CSRFToken header alone.  Flask-WTF's global check would
    # look at request.form first: for a PATCH body (application/offset+octet-stream) that parses nothing and
    # reads nothing, but it opens request.stream with the pages' upload limit before tus.append can set the
    # bid limit, so a chunk larger than SUNBID_UPLOAD_LIMIT_MB would be refused (413).  A form-encoded body
    # sent here would even be parsed, spooled, before any check.
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(uploads_bp)


@uploads_bp.before_request
def _session_and_csrf() -> None:
    """Every request but OPTIONS needs the login session (401 rather than the pages' redirect to the login
    page, which a script cannot follow); every one that changes something, the CSRF token of the session in
    the X-CSRFToken header, checked before the body is touched."""
    if request.method == "OPTIONS":
        return
    if acting_user() is None:
        abort(401)
    methods = current_app.config.get("WTF_CSRF_METHODS", ("POST", "PUT", "PATCH", "DELETE"))
    if tus.method() in methods:  # the method tus reads: X-HTTP-Method-Override when given
        check_form_csrf({})
    if request.endpoint == "tender.uploads.create_upload" and actor().role == Role.BIDDER:
        # the bid page's confirmation of what a file sealed offline is for
        bids.check_confirmation(db(), actor=actor(), tender_id=request.view_args["tender_id"],
                                lot=_lot(request.args),
                                confirm_tender=request.args.get("confirm_tender"),
                                confirm_lot=request.args.get("confirm_lot"))


@uploads_bp.after_request
def _uploads_tus_headers(resp: Response) -> Response:
    return tus.add_headers(resp)


register_error_handlers(uploads_bp, as_json=True)  # a script reads these answers, never a person


tus.add_routes(uploads_bp, status_endpoint="tender.uploads.upload_status")


bp.register_blueprint(uploads_bp)


@bp.get("/uploads/<upload_id>/done")
@permission(Role.BIDDER)
def upload_done(upload_id: str):
    """Where the bid form's script goes once its upload has finished: the tender page, with the same message as
    after the plain form (or, for an upload that is no bid, why not).  Only the upload's creator; 404 otherwise."""
    s = db()
    up = uploads.own_upload(s, actor=actor(), upload_id=upload_id)
    if up.status == uploads.COMPLETE:
        bid = s.get(Bid, up.bid_id)
        when = format_datetime(bid.received_at, "yyyy-MM-dd HH:mm:ss")
        if bid.status == "current":
            flash(_("Bid received at %(when)s. SHA-256 %(sha)s. Download and keep your signed receipt.",
                    when=when, sha=bid.sha256), "success")
        else:  # an old upload of the same file, found again by the browser
            flash(_("This file had already been received at %(when)s, but that bid is no longer current. Submit "
                    "the file again to make it your bid.", when=when), "warning")
    else:
        try:
            uploads.check_resumable(s, up, now(), tus.idle())
        except DomainError as exc:
            flash(error_message(exc), "danger")
        else:
            flash(_("The upload is not finished: choose the same file again and submit it to continue where it "
                    "stopped."), "warning")
    return redirect(url_for("tender.detail", tender_id=up.tender_id, _anchor="bid"))


@bp.post("/bids/<bid_id>/withdraw")
@permission(Role.BIDDER)
def withdraw_bid(bid_id: str):
    """Withdraw the bidder's current bid; back to the tender page, or to the bidder's own page of the tender
    (``back=form``, the page it was withdrawn from)."""
    bid = bids.own_bid(db(), actor=actor(), bid_id=bid_id)
    back = request.form.get("back") == "form"
    return run_operation(bid.tender_id, lambda s: bids.withdraw_bid(s, actor=actor(), bid_id=bid_id, now=now()),
                         _("Your bid is withdrawn."), "my-bids" if back else "bid",
                         endpoint="tender.bid_form" if back else "tender.detail")


@bp.get("/bids/<bid_id>/receipt.json")
@permission(Role.BIDDER)
def bid_receipt(bid_id: str):
    """The bidder's signed receipt as a JSON download; also ``GET /api/v1/bids/<bid id>/receipt`` (tender.api)."""
    bid = bids.own_bid(db(), actor=actor(), bid_id=bid_id)
    return Response(bid.receipt, mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename=receipt-{bid.public_id}.json"})
