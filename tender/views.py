"""Tender pages: the public portal (home, list, detail, feed) and the agency's desk."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from core import money
from core.blobs import FileTooLarge
from core.errors import N_, DomainError, InvalidInput
from core.i18n import error_dict, platform_tz
from core.inputs import check_text, page_arg, reads_body_itself
from core.roles import Role
from core.rules import whole_number
from core.web import (acting_user, actor, check_form_csrf, db, idle_db, now, permission, platform, public,
                      register_error_handlers, transaction)
from tender import custody, downloads, formupload, inputs, policy, portal, publication, rules, service, tus
from tender.models import Tender

bp = Blueprint("tender", __name__)


@bp.app_template_filter("setting_label")
def setting_label(name: str) -> str:
    return {"min_issue_days": _("days from documents to deadline"),
            "min_download_days": _("days the documents are available"),
            "amendment_notice_days": _("days of notice for amendments"),
            "deposit_cap_percent": _("deposit cap"), "min_bids": _("minimum number of bids")}.get(name, name)
PER_PAGE = 20


def _error_message(exc: DomainError) -> str:
    return error_dict(exc)["message"]


def _upload_limit() -> int:
    return platform().settings.upload_limit_mb * 1024 * 1024


@bp.get("/")
@public
def home():
    s, t = db(), now()
    latest = portal.search_public(s, now=t, page=1, per_page=8)
    open_now = portal.search_public(s, now=t, status_filter="published", order="deadline", page=1, per_page=6)
    overdue = portal.overdue_openings(s, actor=actor(), now=t)
    return render_template("tender/home.html", latest=latest.items, open_now=open_now.items, overdue=overdue,
                           figures=portal.key_figures(s, t), now=t, status=service.status)


@bp.app_template_global("days_unopened")
def _days_unopened(tender: Tender, at):
    return portal.days_unopened(tender, at)


@bp.get("/tenders")
@public
def tender_list():
    s, t = db(), now()
    args = request.args
    result = portal.search_public(s, now=t, q=args.get("q", ""), category=args.get("category", ""),
                                  region=args.get("region", ""), status_filter=args.get("status", ""),
                                  page=page_arg(), per_page=PER_PAGE)
    return render_template("tender/list.html", result=result, regions=portal.regions(s), args=args, now=t,
                           status=service.status)


@bp.get("/tenders/feed.atom")
@public
def feed():
    t = now()
    result = portal.search_public(db(), now=t, page=1, per_page=50)
    body = render_template("tender/feed.xml", tenders=result.items, now=t, status=service.status)
    return Response(body, mimetype="application/atom+xml")


def _detail_context(tender: Tender, **extra):
    s, t, who = db(), now(), actor()
    owner = policy.owns_tender(who, tender)
    settings = service.settings_of(tender)
    my_share = None
    if who.role == "custodian":
        try:
            my_share = custody.sealed_share_for(s, actor=who, tender_id=tender.id)
        except DomainError:
            my_share = None
    from tender.bids import own_bids

    return dict(tender=tender, now=t, state=service.status(tender, t), owner=owner, my_share=my_share,
                my_bids=own_bids(s, actor=who, tender_id=tender.id),
                opening_key=custody.opening_key_dict(tender),
                settings=settings, departures=rules.departures_from_defaults(settings), downloads=downloads.downloads_for(s, who, tender, t),
                downloaded=who.role == "bidder" and downloads.has_downloaded(
                    s, organisation_id=who.organisation_id, tender_id=tender.id),
                unanswered=[q for q in tender.questions if q.answer is None] if owner else [],
                answered=[q for q in tender.questions if q.answer is not None], form={}, errors={}, **extra)


@bp.get("/tenders/<id:tender_id>")
@public
def detail(tender_id: int):
    tender = service.get_tender(db(), actor(), tender_id)
    return render_template("tender/detail.html", **_detail_context(tender))


@bp.get("/tenders/<id:tender_id>/documents/<id:document_id>")
@permission()
def download(tender_id: int, document_id: int):
    with transaction() as s:
        doc = downloads.download_document(s, actor=actor(), tender_id=tender_id, document_id=document_id, now=now())
    blobs = platform().blobs
    chunks = blobs.iter_chunks(doc.sha256)
    resp = Response(stream_with_context(chunks), mimetype=doc.content_type)
    resp.headers["Content-Length"] = str(doc.size)
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(doc.filename)}"
    resp.headers["ETag"] = doc.sha256
    return resp


@bp.get("/tenders/<id:tender_id>/key-share.age")
@permission(Role.CUSTODIAN)
def key_share(tender_id: int):
    """A custodian's own share of the opening key, sealed to the custodian's age recipient."""
    share = custody.sealed_share_for(db(), actor=actor(), tender_id=tender_id)
    return Response(share.sealed, mimetype="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=tender-{tender_id}-share-{share.position}.age"})


@bp.get("/custodian/shares")
@permission(Role.CUSTODIAN)
def my_key_shares():
    """The tenders whose opening-key shares are sealed to this custodian, each with the fingerprint of the
    recipient it was sealed to, so a custodian sees a share sealed to a key that is not theirs."""
    from accounts.models import User
    from core.rules import recipient_fingerprint

    who = actor()
    me = db().get(User, who.user_id)
    mine = recipient_fingerprint(me.age_recipient) if me.age_recipient else None
    rows = [(share, tender, recipient_fingerprint(share.recipient) if share.recipient else None)
            for share, tender in custody.shares_held_by(db(), actor=who)]
    return render_template("tender/key_shares.html", rows=rows, mine=mine, now=now(), state=service.status)


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
    from tender import bids

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
        flash(_error_message(exc), "danger")
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
    if request.endpoint == "tender.uploads.create_upload" and actor().role == "bidder":
        # the bid page's confirmation of what a file sealed offline is for
        from tender import bids

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
    from tender import uploads
    from tender.models import Bid

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
            flash(_error_message(exc), "danger")
        else:
            flash(_("The upload is not finished: choose the same file again and submit it to continue where it "
                    "stopped."), "warning")
    return redirect(url_for("tender.detail", tender_id=up.tender_id, _anchor="bid"))


@bp.post("/bids/<bid_id>/withdraw")
@permission(Role.BIDDER)
def withdraw_bid(bid_id: str):
    from tender import bids

    bid = bids.own_bid(db(), actor=actor(), bid_id=bid_id)
    return _run(bid.tender_id, lambda s: bids.withdraw_bid(s, actor=actor(), bid_id=bid_id, now=now()),
                _("Your bid is withdrawn."), "bid")


@bp.get("/bids/<bid_id>/receipt.json")
@permission(Role.BIDDER)
def bid_receipt(bid_id: str):
    """The bidder's signed receipt as a JSON download; also ``GET /api/v1/bids/<bid id>/receipt`` (tender.api)."""
    from tender import bids

    bid = bids.own_bid(db(), actor=actor(), bid_id=bid_id)
    return Response(bid.receipt, mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename=receipt-{bid.public_id}.json"})


@bp.get("/tenders/<id:tender_id>/opening")
@public
def opening_page(tender_id: int):
    """The opening (开标): shares presented so far, and after opening the public opening record."""
    from tender import opening

    s, who = db(), actor()
    tender = service.get_tender(s, who, tender_id)
    key = custody.opening_key_dict(tender)
    held = None
    if who.role == "custodian":
        try:
            held = custody.sealed_share_for(s, actor=who, tender_id=tender.id)
        except DomainError:
            held = None
    from tender.bids import own_bids

    settings = service.settings_of(tender)
    ended = tender.opened_at or tender.failed_at
    window_open = ended is not None and now() <= ended + timedelta(minutes=settings.objection_minutes) / max(
        settings.accelerator, 1)
    return render_template("tender/opening.html", tender=tender, key=key, state=service.status(tender, now()),
                           presented=opening.presented(s, tender.id), results=opening.opening_record(s, tender.id),
                           owner=policy.owns_tender(who, tender), held=held,
                           responses=opening.responses(s, tender.id), window_open=window_open,
                           my_bid=bool(own_bids(s, actor=who, tender_id=tender.id)), settings=settings)


@bp.post("/tenders/<id:tender_id>/opening/respond")
@permission(Role.BIDDER)
def opening_respond(tender_id: int):
    from tender import opening

    return _run(tender_id, lambda s: opening.respond(s, actor=actor(), tender_id=tender_id, now=now(),
                                                    objection=request.form.get("objection", "")),
                lambda row: _("Your objection is recorded; the agency answers on the spot.")
                if row.kind == "objection" else _("You confirmed the opening record."),
                endpoint="tender.opening_page", anchor="objections")


@bp.post("/tenders/<id:tender_id>/opening/objections/<id:objection_id>/answer")
@permission(Role.AGENCY)
def opening_answer(tender_id: int, objection_id: int):
    from tender import opening

    return _run(tender_id, lambda s: opening.answer_objection(s, actor=actor(), tender_id=tender_id, now=now(),
                                                             objection_id=objection_id,
                                                             answer=request.form.get("answer", "")),
                _("The answer is recorded."), endpoint="tender.opening_page", anchor="objections")


@bp.get("/tenders/<id:tender_id>/opening.pdf")
@public
def opening_pdf(tender_id: int):
    """The opening record (开标记录) as PDF, once the bids are opened."""
    from core.pdf import render_pdf
    from tender import opening

    s = db()
    tender = service.get_tender(s, actor(), tender_id)
    results = opening.opening_record(s, tender.id)
    if not results:
        abort(404)
    from tender.labels import failure_reason
    from tender.opening_record import record_sheet

    pdf = render_pdf("tender/opening_print.html", tender=tender, results=results,
                     sheet=record_sheet(s, tender, results), key=custody.opening_key_dict(tender),
                     settings=service.settings_of(tender), failure_reason=failure_reason,
                     place=request.url_root.rstrip("/"), state=service.status(tender, now()), printed_at=now())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=opening-record-{tender.project_code}.pdf"})


@bp.post("/tenders/<id:tender_id>/opening/shares")
@permission(Role.CUSTODIAN)
def present_share(tender_id: int):
    from tender import opening

    return _run(tender_id, lambda s: opening.submit_share(s, actor=actor(), tender_id=tender_id, now=now(),
                                                         share=request.form.get("share", "")),
                _("Your share is recorded."), endpoint="tender.opening_page")


@bp.post("/tenders/<id:tender_id>/opening/open")
@permission(Role.AGENCY)
def open_bids(tender_id: int):
    from tender import opening

    return _run(tender_id, lambda s: opening.open_bids(s, actor=actor(), tender_id=tender_id, now=now(),
                                                      blobs=platform().blobs),
                _("The bids are opened; the opening record is published."), endpoint="tender.opening_page")


@bp.post("/tenders/<id:tender_id>/questions")
@permission(Role.BIDDER)
def ask(tender_id: int):
    try:
        with transaction() as s:
            publication.ask_question(s, actor=actor(), tender_id=tender_id, text=request.form.get("text", ""), now=now())
        flash(_("Your question was sent. The answer will be published here for every bidder."), "success")
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(_error_message(exc), "danger")
    return redirect(url_for("tender.detail", tender_id=tender_id, _anchor="questions"))


# ---------------------------------------------------------------- agency desk

@bp.get("/agency/tenders")
@permission(Role.AGENCY)
def my_tenders():
    s, t = db(), now()
    result = portal.search_public(s, now=t, agency_id=actor().organisation_id, q=request.args.get("q", ""),
                                  status_filter=request.args.get("status", ""),
                                  page=page_arg(), per_page=PER_PAGE)
    return render_template("tender/mine.html", result=result, args=request.args, now=t, status=service.status)


def _form_page(tender: Tender | None, form, errors):
    return render_template("tender/form.html", tender=tender, form=form, errors=errors,
                           settings=service.settings_of(tender) if tender else rules.RuleSettings(
                               accelerator=platform().settings.accelerator)), 400 if errors else 200


def _prefill(tender: Tender) -> dict[str, str]:
    from core.i18n import local_input

    data = {k: getattr(tender, k) for k in ("title", "project_code", "regime", "category", "region",
                                            "description", "qualification", "evaluation_method")}
    data.update(estimated_price=str(money.from_fen(tender.estimated_price_fen)),
                deposit=str(money.from_fen(tender.deposit_fen)),
                download_start=local_input(tender.download_start), download_end=local_input(tender.download_end),
                deadline=local_input(tender.deadline))
    settings = rules.settings_to_dict(service.settings_of(tender))
    data.update({name: str(settings[name]) for name in inputs.SETTING_FIELDS})
    if len(tender.lots) > 1:
        for lot in tender.lots:
            data[f"lot_name_{lot.number}"] = lot.name
            data[f"lot_price_{lot.number}"] = str(money.from_fen(lot.estimated_price_fen))
    return data


@bp.route("/agency/tenders/new", methods=["GET", "POST"])
@permission(Role.AGENCY)
def new_tender():
    if request.method == "GET":
        defaults = rules.settings_to_dict(rules.RuleSettings())
        return _form_page(None, {"regime": "works", "category": "works",
                                 **{name: str(defaults[name]) for name in inputs.SETTING_FIELDS}}, {})
    try:
        data = inputs.parse_tender_input(request.form, tz=platform_tz())
        with transaction() as s:
            tender = publication.create_tender(s, actor=actor(), data=data, now=now(),
                                               accelerator=platform().settings.accelerator)
        flash(_("Draft saved. Upload the tender documents, then publish."), "success")
        return redirect(url_for("tender.detail", tender_id=tender.id))
    except DomainError as exc:
        return _form_page(None, request.form, {exc.field or "_": _error_message(exc)})


@bp.route("/agency/tenders/<id:tender_id>/edit", methods=["GET", "POST"])
@permission(Role.AGENCY)
def edit_tender(tender_id: int):
    tender = service.get_tender(db(), actor(), tender_id)
    if tender.agency_id != actor().organisation_id:
        abort(404)
    if request.method == "GET":
        return _form_page(tender, _prefill(tender), {})
    try:
        data = inputs.parse_tender_input(request.form, tz=platform_tz())
        with transaction() as s:
            publication.update_tender(s, actor=actor(), tender_id=tender_id, data=data, now=now())
        flash(_("Draft saved."), "success")
        return redirect(url_for("tender.detail", tender_id=tender_id))
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _form_page(tender, request.form, {exc.field or "_": _error_message(exc)})


def _back(tender_id: int, anchor: str = ""):
    return redirect(url_for("tender.detail", tender_id=tender_id, _anchor=anchor or None))


def _run(tender_id: int, op, success, anchor: str = "", endpoint: str = "tender.detail"):
    """Run one service operation from a page; refusals come back as a flashed message.
    ``success`` is the message, or a function of the operation's result giving it."""
    try:
        with transaction() as s:
            result = op(s)
        flash(success(result) if callable(success) else success, "success")
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(_error_message(exc), "danger")
    return redirect(url_for(endpoint, tender_id=tender_id, _anchor=anchor or None))


@bp.post("/agency/tenders/<id:tender_id>/documents")
@permission(Role.AGENCY)
def upload_document(tender_id: int):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to upload."), "danger")
        return _back(tender_id, "documents")
    return _run(tender_id, lambda s: publication.add_document(
        s, actor=actor(), tender_id=tender_id, filename=upload.filename, stream=upload.stream,
        blobs=platform().blobs, limit=_upload_limit(), now=now()), _("Document uploaded."), "documents")


@bp.post("/agency/tenders/<id:tender_id>/documents/<id:document_id>/delete")
@permission(Role.AGENCY)
def delete_document(tender_id: int, document_id: int):
    return _run(tender_id, lambda s: publication.remove_document(s, actor=actor(), tender_id=tender_id,
                                                                 document_id=document_id, now=now()),
                _("Document removed."), "documents")


@bp.post("/agency/tenders/<id:tender_id>/publish")
@permission(Role.AGENCY)
def publish(tender_id: int):
    return _run(tender_id, lambda s: publication.publish_tender(s, actor=actor(), tender_id=tender_id, now=now()),
                _("The tender announcement is published."))


@bp.post("/agency/tenders/<id:tender_id>/amend")
@permission(Role.AGENCY)
def amend(tender_id: int):
    requested = None
    if request.form.get("new_deadline"):
        from core.i18n import parse_local_datetime

        try:
            requested = parse_local_datetime(request.form["new_deadline"], field="new_deadline", tz=platform_tz())
        except DomainError as exc:
            flash(_error_message(exc), "danger")
            return _back(tender_id, "amend")
    upload = request.files.get("file")
    document = None
    if upload is not None and upload.filename:
        document = (upload.filename, upload.stream, platform().blobs, _upload_limit())
    return _run(tender_id, lambda s: publication.amend_tender(s, actor=actor(), tender_id=tender_id,
                                                              text=request.form.get("text", ""), now=now(),
                                                              requested_deadline=requested, document=document),
                _("The amendment is published."), "amendments")


@bp.post("/agency/tenders/<id:tender_id>/cancel")
@permission(Role.AGENCY)
def cancel(tender_id: int):
    return _run(tender_id, lambda s: publication.cancel_tender(s, actor=actor(), tender_id=tender_id,
                                                               reason=request.form.get("reason", ""), now=now()),
                _("The tender is cancelled."))


@bp.post("/agency/tenders/<id:tender_id>/questions/<id:question_id>/answer")
@permission(Role.AGENCY)
def answer(tender_id: int, question_id: int):
    return _run(tender_id, lambda s: publication.answer_question(s, actor=actor(), tender_id=tender_id,
                                                                 question_id=question_id,
                                                                 answer=request.form.get("answer", ""), now=now()),
                _("The answer is published."), "questions")
