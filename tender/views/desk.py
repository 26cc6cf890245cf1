"""The agency's desk: its tenders, drafting and editing, documents, publishing, amending, cancelling and answering
questions."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core import money
from core.errors import DomainError
from core.i18n import local_input, parse_local_datetime, platform_tz
from core.inputs import page_arg
from core.roles import Role
from core.web import actor, db, now, permission, platform, transaction
from tender import inputs, portal, publication, rules, service
from tender.models import Tender
from tender.views.common import PER_PAGE, bp, error_message, run_operation


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
    data = {k: getattr(tender, k) for k in ("title", "project_code", "regime", "category", "region",
                                            "description", "qualification", "evaluation_method")}
    data.update(estimated_price=str(money.from_fen(tender.estimated_price_fen)),
                deposit=str(money.from_fen(tender.deposit_fen)),
                download_start=local_input(tender.download_start), download_end=local_input(tender.download_end),
                deadline=local_input(tender.deadline))
    settings = rules.settings_to_dict(service.settings_of(tender))
    data.update({name: str(settings[name]) for name in inputs.SETTING_FIELDS})
    for i, doc in enumerate(tender.required_documents, start=1):
        data.update({f"req_name_{i}": doc["name"], f"req_types_{i}": ", ".join(doc["types"]),
                     f"req_mb_{i}": str(doc["max_mb"])})
    if len(tender.lots) > 1:
        for lot in tender.lots:
            data[f"lot_name_{lot.number}"] = lot.name
            data[f"lot_price_{lot.number}"] = str(money.from_fen(lot.estimated_price_fen))
    return data


def _upload_limit() -> int:
    return platform().settings.upload_limit_mb * 1024 * 1024


def _back(tender_id: int, anchor: str = ""):
    return redirect(url_for("tender.detail", tender_id=tender_id, _anchor=anchor or None))


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
        return _form_page(None, request.form, {exc.field or "_": error_message(exc)})


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
        return _form_page(tender, request.form, {exc.field or "_": error_message(exc)})


@bp.post("/agency/tenders/<id:tender_id>/documents")
@permission(Role.AGENCY)
def upload_document(tender_id: int):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to upload."), "danger")
        return _back(tender_id, "documents")
    return run_operation(tender_id, lambda s: publication.add_document(
        s, actor=actor(), tender_id=tender_id, filename=upload.filename, stream=upload.stream,
        blobs=platform().blobs, limit=_upload_limit(), now=now()), _("Document uploaded."), "documents")


@bp.post("/agency/tenders/<id:tender_id>/documents/<id:document_id>/delete")
@permission(Role.AGENCY)
def delete_document(tender_id: int, document_id: int):
    return run_operation(tender_id, lambda s: publication.remove_document(s, actor=actor(), tender_id=tender_id,
                                                                         document_id=document_id, now=now()),
                         _("Document removed."), "documents")


@bp.post("/agency/tenders/<id:tender_id>/publish")
@permission(Role.AGENCY)
def publish(tender_id: int):
    return run_operation(tender_id, lambda s: publication.publish_tender(s, actor=actor(), tender_id=tender_id,
                                                                        now=now()),
                         _("The tender announcement is published."))


@bp.post("/agency/tenders/<id:tender_id>/amend")
@permission(Role.AGENCY)
def amend(tender_id: int):
    requested = None
    if request.form.get("new_deadline"):
        try:
            requested = parse_local_datetime(request.form["new_deadline"], field="new_deadline", tz=platform_tz())
        except DomainError as exc:
            flash(error_message(exc), "danger")
            return _back(tender_id, "amend")
    upload = request.files.get("file")
    document = None
    if upload is not None and upload.filename:
        document = (upload.filename, upload.stream, platform().blobs, _upload_limit())
    return run_operation(tender_id, lambda s: publication.amend_tender(s, actor=actor(), tender_id=tender_id,
                                                                      text=request.form.get("text", ""), now=now(),
                                                                      requested_deadline=requested, document=document),
                         _("The amendment is published."), "amendments")


@bp.post("/agency/tenders/<id:tender_id>/cancel")
@permission(Role.AGENCY)
def cancel(tender_id: int):
    return run_operation(tender_id, lambda s: publication.cancel_tender(s, actor=actor(), tender_id=tender_id,
                                                                       reason=request.form.get("reason", ""),
                                                                       now=now()),
                         _("The tender is cancelled."))


@bp.post("/agency/tenders/<id:tender_id>/questions/<id:question_id>/answer")
@permission(Role.AGENCY)
def answer(tender_id: int, question_id: int):
    return run_operation(tender_id, lambda s: publication.answer_question(s, actor=actor(), tender_id=tender_id,
                                                                         question_id=question_id,
                                                                         answer=request.form.get("answer", ""),
                                                                         now=now()),
                         _("The answer is published."), "questions")
