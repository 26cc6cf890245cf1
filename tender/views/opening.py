"""The opening (开标): the opening page, the shares presented, the opening of the bids,
bidders' confirmations and objections with the agency's answers, and the opening record as PDF."""
from __future__ import annotations

from datetime import timedelta

from flask import Response, abort, render_template, request
from flask_babel import gettext as _

from core.actor import Actor
from core.pdf import html_to_pdf, print_context
from core.roles import Role
from core.web import actor, db, now, permission, platform, public, transaction
from tender import custody, opening, policy, service
from tender.bids import own_bids
from tender.labels import failure_reason
from tender.opening_record import issue_record_pdf, record_sheet
from tender.views.common import bp, run_operation


@bp.get("/tenders/<id:tender_id>/opening")
@public
def opening_page(tender_id: int):
    """The opening (开标): shares presented so far, and after opening the public opening record."""
    s, who = db(), actor()
    tender = service.get_tender(s, who, tender_id)
    settings = service.settings_of(tender)
    ended = tender.opened_at or tender.failed_at
    window_open = ended is not None and now() <= ended + timedelta(minutes=settings.objection_minutes) / max(
        settings.accelerator, 1)
    results = opening.opening_record(s, tender.id)
    return render_template("tender/opening.html", tender=tender, key=custody.opening_key_dict(tender),
                           state=service.status(tender, now()), sheet=record_sheet(s, tender, results),
                           presented=opening.presented(s, tender.id), results=results,
                           owner=policy.owns_tender(who, tender),
                           held=custody.own_share(s, actor=who, tender_id=tender.id),
                           responses=opening.responses(s, tender.id), window_open=window_open,
                           my_bid=bool(own_bids(s, actor=who, tender_id=tender.id)), settings=settings)


@bp.post("/tenders/<id:tender_id>/opening/respond")
@permission(Role.BIDDER)
def opening_respond(tender_id: int):
    return run_operation(tender_id, lambda s: opening.respond(s, actor=actor(), tender_id=tender_id, now=now(),
                                                             objection=request.form.get("objection", "")),
                         lambda row: _("Your objection is recorded; the agency answers on the spot.")
                         if row.kind == "objection" else _("You confirmed the opening record."),
                         endpoint="tender.opening_page", anchor="objections")


@bp.post("/tenders/<id:tender_id>/opening/objections/<id:objection_id>/answer")
@permission(Role.AGENCY)
def opening_answer(tender_id: int, objection_id: int):
    return run_operation(tender_id, lambda s: opening.answer_objection(s, actor=actor(), tender_id=tender_id,
                                                                      now=now(), objection_id=objection_id,
                                                                      answer=request.form.get("answer", "")),
                         _("The answer is recorded."), endpoint="tender.opening_page", anchor="objections")


@bp.get("/tenders/<id:tender_id>/opening.pdf")
@public
def opening_pdf(tender_id: int):
    """The opening record (开标记录) as PDF, once the bids are opened: signed by the platform (its certificate at
    /audit/certificate), issued once per content and language, its SHA-256 in the audit log."""
    s = db()
    tender = service.get_tender(s, actor(), tender_id)
    results = opening.opening_record(s, tender.id)
    if not results:
        abort(404)
    context = dict(tender=tender, results=results, sheet=record_sheet(s, tender, results),
                   key=custody.opening_key_dict(tender), settings=service.settings_of(tender),
                   failure_reason=failure_reason, place=request.url_root.rstrip("/"), state=service.status(tender, now()))

    def page(issued_at):
        return render_template("tender/opening_print.html", **print_context(), **context, printed_at=issued_at)

    with transaction():
        pdf = issue_record_pdf(s, actor=Actor.system(), tender=tender, page=page, to_pdf=html_to_pdf,
                               settings=platform().settings, blobs=platform().blobs, now=now(),
                               reason=_("Opening record of %(code)s", code=tender.project_code))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=opening-record-{tender.project_code}.pdf"})


@bp.post("/tenders/<id:tender_id>/opening/shares")
@permission(Role.CUSTODIAN)
def present_share(tender_id: int):
    return run_operation(tender_id, lambda s: opening.submit_share(s, actor=actor(), tender_id=tender_id, now=now(),
                                                                  share=request.form.get("share", "")),
                         _("Your share is recorded."), endpoint="tender.opening_page")


@bp.post("/tenders/<id:tender_id>/opening/open")
@permission(Role.AGENCY)
def open_bids(tender_id: int):
    return run_operation(tender_id, lambda s: opening.open_bids(s, actor=actor(), tender_id=tender_id, now=now(),
                                                               blobs=platform().blobs),
                         _("The bids are opened; the opening record is published."),
                         endpoint="tender.opening_page")
