"""The public portal: home, the list of tenders, the Atom feed, a tender's page, its documents' downloads and
the bidders' questions."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _

from core.errors import DomainError
from core.inputs import page_arg
from core.roles import Role
from core.web import actor, db, now, permission, platform, public, transaction
from tender import custody, downloads, policy, portal, publication, rules, service
from tender.bids import own_bids
from tender.models import Tender
from tender.views.common import PER_PAGE, bp, error_message


@bp.app_template_filter("setting_label")
def setting_label(name: str) -> str:
    return {"min_issue_days": _("days from documents to deadline"),
            "min_download_days": _("days the documents are available"),
            "amendment_notice_days": _("days of notice for amendments"),
            "deposit_cap_percent": _("deposit cap"), "min_bids": _("minimum number of bids")}.get(name, name)


@bp.app_template_global("days_unopened")
def _days_unopened(tender: Tender, at):
    return portal.days_unopened(tender, at)


@bp.get("/")
@public
def home():
    s, t = db(), now()
    latest = portal.search_public(s, now=t, page=1, per_page=8)
    open_now = portal.search_public(s, now=t, status_filter="published", order="deadline", page=1, per_page=6)
    overdue = portal.overdue_openings(s, actor=actor(), now=t)
    return render_template("tender/home.html", latest=latest.items, open_now=open_now.items, overdue=overdue,
                           figures=portal.key_figures(s, t), now=t, status=service.status)


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
    return dict(tender=tender, now=t, state=service.status(tender, t), owner=owner,
                my_share=custody.own_share(s, actor=who, tender_id=tender.id),
                my_bids=own_bids(s, actor=who, tender_id=tender.id),
                opening_key=custody.opening_key_dict(tender),
                settings=settings, departures=rules.departures_from_defaults(settings),
                downloads=downloads.downloads_for(s, who, tender, t),
                downloaded=who.role == Role.BIDDER and downloads.has_downloaded(
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


@bp.post("/tenders/<id:tender_id>/questions")
@permission(Role.BIDDER)
def ask(tender_id: int):
    try:
        with transaction() as s:
            publication.ask_question(s, actor=actor(), tender_id=tender_id, text=request.form.get("text", ""),
                                     now=now())
        flash(_("Your question was sent. The answer will be published here for every bidder."), "success")
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(error_message(exc), "danger")
    return redirect(url_for("tender.detail", tender_id=tender_id, _anchor="questions"))
