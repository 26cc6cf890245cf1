"""Supervisor pages: the log browser, an entry with its inclusion proof, a tender's replay."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from audit import labels, merkle, notes, service
from audit.models import AuditCosignature, AuditEntry
from audit.replay import replay_tender
from audit.rules import ChainBroken
from core.i18n import platform_tz
from core.roles import SUPERVISING, Role
from core.rules import bounded_time
from core.inputs import page_arg
from core.pdf import render_pdf
from core.web import db, now, permission, platform

bp = Blueprint("audit", __name__, url_prefix="/audit")
PER_PAGE = 50


@bp.app_context_processor
def _labels() -> dict:
    return {"action_label": labels.action_label, "object_label": labels.object_label,
            "actor_role": labels.role_label, "field_label": labels.field_label, "show_value": labels.show_value,
            "ordered_fields": labels.ordered_fields}


def _checkpoint_status(session) -> dict:
    """Is the latest signed checkpoint signed by our key and does it match the stored tree? O(log n)."""
    latest = service.latest_checkpoint(session)
    if latest is None:
        return {"state": "none", "checkpoint": None}
    try:
        cp = notes.open_checkpoint(latest.note, platform().signer.verifier())
        ok = cp.size <= service.tree_size(session) and service.root_at(session, cp.size) == cp.root
    except (notes.NoteError, LookupError):
        ok = False
    cosigs = session.scalar(select(func.count()).where(AuditCosignature.checkpoint_id == latest.id)) or 0
    return {"state": "ok" if ok else "bad", "checkpoint": latest, "cosignatures": cosigs}


def _date(name: str):
    raw = request.args.get(name) or ""
    try:
        day = datetime.combine(datetime.strptime(raw, "%Y-%m-%d").date(), time(), tzinfo=platform_tz()) if raw else None
    except ValueError:
        return None
    return bounded_time(day, field=name) if day is not None else None


@bp.get("/log")
@permission(SUPERVISING)
def log():
    s = db()
    verified = None
    # Verifying the whole chain changes nothing, so it is a GET: a POST would be followed by the
    # after-request checkpoint work, which on SQLite waited for this request's own write lock (10 s).
    if request.args.get("verify"):
        try:
            verified = {"ok": True, "entries": service.verify(s)}
        except ChainBroken as exc:
            verified = {"ok": False, "message": str(exc)}
    args = {k: v for k, v in request.args.items() if k != "verify"}
    stmt, notice = _filtered(s, args)
    page = page_arg()
    total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = s.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    actions = sorted(s.scalars(select(AuditEntry.action).distinct()), key=labels.action_label)
    return render_template("audit/log.html", rows=rows, total=total, page=page,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), args=args, actions=actions,
                           status=_checkpoint_status(s), verified=verified, size=service.tree_size(s),
                           notice=notice)


def _filtered(s, args: dict[str, str]):
    """The log's filters: a tender by its project code or id, an actor by exact user name, an action, dates.
    A tender that cannot be found matches nothing (with a notice), never the whole log."""
    stmt, notice = select(AuditEntry), None
    tender = (args.get("tender") or "").strip()
    if tender:
        found = int(tender) if tender.isascii() and tender.isdigit() and len(tender) < 10 else None
        if found is None:
            found = labels.find_tender(s, tender[:64])
        if found is None:
            notice = _("No tender has the project code or number %(code)s.", code=tender[:64])
            found = -1
        stmt = stmt.where(AuditEntry.tender_id == found)
    if actor := (args.get("actor") or "").strip():
        stmt = stmt.where(AuditEntry.actor == actor[:100])
    if args.get("action"):
        stmt = stmt.where(AuditEntry.action.startswith(args["action"][:64]))
    if (start := _date("from")) is not None:
        stmt = stmt.where(AuditEntry.at >= start)
    if (end := _date("to")) is not None:
        stmt = stmt.where(AuditEntry.at < end + timedelta(days=1))
    return stmt, notice


@bp.get("/log/<id:seq>")
@permission(SUPERVISING)
def entry(seq: int):
    s = db()
    row = s.get(AuditEntry, seq)
    if row is None:
        return render_template("error.html", status=404, message=_("The page or object was not found.")), 404
    latest = service.latest_checkpoint(s)
    proof = None
    if latest is not None and latest.size >= seq:
        source = service.TreeSource(s)
        path = merkle.inclusion_path(source, seq - 1, latest.size)
        proof = {"checkpoint": latest, "path": [h.hex() for h in path],
                 "ok": merkle.verify_inclusion(bytes.fromhex(row.leaf_hash), seq - 1, latest.size, path,
                                               bytes.fromhex(latest.root))}
    import json

    document = json.dumps(service.to_entry(row).document(), ensure_ascii=False, indent=2, sort_keys=True)
    return render_template("audit/entry.html", row=row, document=document, proof=proof)


@bp.get("/tenders/<id:tender_id>/replay")
@permission(Role.SUPERVISOR)  # the replay names who downloaded and bid, before the deadline too
def replay(tender_id: int):
    result = replay_tender(db(), tender_id, now(), replayers=_replayers())
    if not result.timeline and result.live is None:
        return render_template("error.html", status=404, message=_("The page or object was not found.")), 404
    return render_template("audit/replay.html", result=result, pdf=False)


@bp.get("/tenders/<id:tender_id>/replay.pdf")
@permission(Role.SUPERVISOR)
def replay_pdf(tender_id: int):
    result = replay_tender(db(), tender_id, now(), replayers=_replayers())
    if not result.timeline and result.live is None:
        return render_template("error.html", status=404, message=_("The page or object was not found.")), 404
    return Response(render_replay_pdf(result), mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=replay-tender-{tender_id}.pdf"})


def render_replay_pdf(result) -> bytes:
    """The replay as a supervisor's report: signed by the platform like every PDF it gives out, but not issued
    (it is made anew for each request, from the log as it stands, so it is not logged)."""
    from audit import signing

    settings = current_app.extensions["sunbid"].settings
    return signing.sign_pdf(render_pdf("audit/replay.html", result=result), signing.identity(settings),
                            reason=_("Replay of the audit log"))


def _replayers():
    return current_app.extensions["sunbid"].audit_actions.replayers
