"""The expert pool's pages: an expert's own profile, and the administrators' pool (import, suspend, reinstate)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.errors import DomainError, NotFound
from core.i18n import current_locale, error_dict
from core.inputs import page_arg
from core.roles import Role
from core.web import actor, db, now, permission, transaction
from experts import rules, service
from experts.labels import STATUSES
from experts.models import ExpertProfile

bp = Blueprint("experts", __name__, url_prefix="/experts")
PER_PAGE = 50
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _id_key() -> bytes:
    return service.id_key_of(db())


def _message(exc: DomainError) -> str:
    return error_dict(exc)["message"]


def _specialty_names(codes) -> list[str]:
    known, locale = rules.specialties(), current_locale()
    return [" › ".join(s.name(locale) for s in rules.specialty_path(c)) if c in known else c for c in codes]


@bp.route("/me", methods=["GET", "POST"])
@permission(Role.EXPERT)
def my_profile():
    """The expert's own profile (found by the signed-in account: nobody else's can be asked for)."""
    me = actor()
    if request.method == "POST":
        try:
            with transaction() as s:
                service.update_contact(s, actor=me, phone=request.form.get("phone", ""),
                                       email=request.form.get("email", ""), now=now())
            flash(_("Your contact details were saved."), "success")
            return redirect(url_for("experts.my_profile"))
        except DomainError as exc:
            flash(_message(exc), "danger")
    profile = service.profile_of_user(db(), me.user_id)
    return render_template("experts/my_profile.html", profile=profile, statuses=STATUSES,
                           specialties=_specialty_names([s.code for s in profile.specialties]) if profile else [])


@bp.get("/admin")
@permission(Role.ADMIN)
def admin_pool():
    page = page_arg()
    s = db()
    total = s.scalar(select(func.count()).select_from(ExpertProfile)) or 0
    rows = s.scalars(select(ExpertProfile).order_by(ExpertProfile.number)
                     .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("experts/admin_pool.html", profiles=rows, total=total, page=page,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), statuses=STATUSES, problems=None,
                           columns=service.COLUMNS)


@bp.post("/admin/import")
@permission(Role.ADMIN)
def admin_import():
    upload = request.files.get("file")
    raw = upload.read(MAX_IMPORT_BYTES + 1) if upload is not None else b""
    problems = None
    try:
        if not raw:
            raise service.InvalidInput(_("Choose a CSV or XLSX file."), field="file")
        if len(raw) > MAX_IMPORT_BYTES:
            raise service.InvalidInput(_("The file is too large."), field="file")
        if raw[:4] == b"PK\x03\x04":  # a zip container: an XLSX workbook
            source = {"xlsx": raw}
        else:
            try:
                source = {"text": raw.decode("utf-8")}
            except UnicodeDecodeError:
                raise service.InvalidInput(_("The file must be UTF-8 text."), field="file") from None
        with transaction() as s:
            profiles = service.import_experts(s, actor=actor(), id_key=_id_key(), now=now(), **source)
        flash(_("%(count)s experts imported.", count=len(profiles)), "success")
        return redirect(url_for("experts.admin_pool"))
    except service.ImportRefused as exc:
        flash(_message(exc), "danger")
        problems = [(p.line, p.field, _(p.message) % p.params if p.params else _(p.message)) for p in exc.problems]
    except DomainError as exc:
        flash(_message(exc), "danger")
    total = db().scalar(select(func.count()).select_from(ExpertProfile)) or 0
    rows = db().scalars(select(ExpertProfile).order_by(ExpertProfile.number).limit(PER_PAGE)).all()
    return render_template("experts/admin_pool.html", profiles=rows, total=total, page=1,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), statuses=STATUSES, problems=problems,
                           columns=service.COLUMNS), 400


@bp.get("/admin/<id:expert_number>")
@permission(Role.ADMIN)
def admin_expert(expert_number: int):
    profile = db().scalar(select(ExpertProfile).where(ExpertProfile.number == expert_number))
    if profile is None:
        abort(404)
    return render_template("experts/admin_expert.html", profile=profile, statuses=STATUSES,
                           specialties=_specialty_names([s.code for s in profile.specialties]))


@bp.post("/admin/<id:expert_number>/status")
@permission(Role.ADMIN)
def admin_expert_status(expert_number: int):
    if not 1 <= expert_number <= 999_999:
        abort(404)
    expert = rules.pseudonym(expert_number)
    reason = request.form.get("reason", "")
    try:
        with transaction() as s:
            if request.form.get("action") == "suspend":
                text = request.form.get("until", "").strip()
                try:
                    until = date.fromisoformat(text) if text else None
                except ValueError:
                    raise service.InvalidInput(_("The date must be YYYY-MM-DD."), field="until") from None
                service.suspend_expert(s, actor=actor(), expert=expert, reason=reason, until=until, now=now())
                flash(_("The expert was suspended."), "success")
            elif request.form.get("action") == "reinstate":
                service.reinstate_expert(s, actor=actor(), expert=expert, reason=reason, now=now())
                flash(_("The expert was reinstated."), "success")
            else:
                abort(400)
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(_message(exc), "danger")
    return redirect(url_for("experts.admin_expert", expert_number=expert_number))
