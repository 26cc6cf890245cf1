"""The accounts' pages: login, language, account and API tokens, role requests, administration of accounts."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from accounts import service
from accounts.hooks import hooks_of
from core.config import LOCALES
from core.errors import DomainError
from core.i18n import error_dict
from core.inputs import page_arg
from accounts.forms import (LoginForm, OrganisationEditForm, OrganisationForm, PasswordForm, PasswordResetForm,
                            RoleDecisionForm, RoleRequestForm, TokenForm, ToggleForm, UserEditForm, UserForm)
from accounts.models import ApiToken, Organisation, RoleRequest, User
from accounts.rules import APPROVED_ROLES
from core.roles import SUPERVISING, Role
from core.rules import whole_number
from core.web import actor, client_address, db, now, permission, public, transaction

bp = Blueprint("core", __name__)
bp.add_app_template_global(Role, "Role")  # every template compares roles as values: user.role == Role.AGENCY


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("tender.home")


def form_errors(form, exc: DomainError) -> None:
    """Attach a domain error to the form field it names (or flash it) so nothing typed is lost."""
    message = error_dict(exc)["message"]
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
    else:
        flash(message, "danger")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    if form.validate_on_submit():
        with transaction() as s:
            result = service.login(s, username=form.username.data, password=form.password.data,
                                   address=client_address(), now=now())
        if result.user is not None:
            _sign_in(result.user, result.session_key)
            if result.user.must_change_password:
                flash(_("An administrator reset your password: choose a new one before you go on."), "warning")
                return redirect(url_for("core.account", _anchor="password"))
            return redirect(_safe_next(request.args.get("next")) if request.args.get("next") else url_for("sunbid.desk"))
        flash(error_dict(result.error)["message"], "danger")
        status = result.error.status
        return render_template("accounts/login.html", form=form), status
    return render_template("accounts/login.html", form=form)


def _sign_in(user, key: str) -> None:
    """A fresh cookie session (no fixation) naming the server-side session ``key``."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    session["_sid"] = key


@bp.route("/logout", methods=["POST"])
@permission()
def logout():
    with transaction() as s:
        service.logout(s, actor=actor(), key=session.get("_sid"), now=now())
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("tender.home"))


@bp.route("/lang/<code>")
@public
def set_language(code: str):
    if code not in LOCALES:
        abort(404)
    session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/account", methods=["GET", "POST"])
@permission()
def account():
    """The user's own account: who they are, their password and API tokens, and the sections other areas add
    (``accounts.hooks.AccountSection``: a key custodian's age key), each posting its own forms here."""
    pw_form, token_form = PasswordForm(prefix="pw"), TokenForm(prefix="tk")
    sections = [make() for make in hooks_of(current_app).account_sections]
    new_token = None
    if request.method == "POST":
        posted_to = next((section for section in sections if section.owns()), None)
        try:
            if posted_to is not None:
                answer = posted_to.post()
                if answer is not None:
                    return answer
            if "pw-new_password" in request.form and pw_form.validate_on_submit():
                me = current_user._get_current_object()
                with transaction() as s:
                    key = service.change_password(s, actor=actor(), user_id=actor().user_id,
                                                  old_password=pw_form.old_password.data,
                                                  new_password=pw_form.new_password.data, now=now())
                _sign_in(me, key)
                flash(_("Your password was changed. Every other session and all your API tokens have ended."),
                      "success")
                return redirect(url_for("core.account"))
            if "tk-name" in request.form and token_form.validate_on_submit():
                with transaction() as s:
                    _token, new_token = service.create_api_token(s, actor=actor(), name=token_form.name.data,
                                                                 days=token_form.days.data, now=now())
            if "revoke" in request.form and token_form.validate_on_submit() is not None:
                with transaction() as s:
                    service.revoke_api_token(s, actor=actor(), token_id=whole_number(request.form["revoke"], field="revoke"), now=now())
                flash(_("The token was revoked."), "info")
                return redirect(url_for("core.account"))
        except DomainError as exc:
            form_errors(posted_to.error_form() if posted_to is not None else
                        pw_form if "pw-new_password" in request.form else token_form, exc)
        except ValueError:
            abort(400)
    tokens = db().scalars(select(ApiToken).where(ApiToken.user_id == actor().user_id)
                          .order_by(ApiToken.id.desc())).all()
    for section in sections:
        section.prepare()
    me = db().get(User, actor().user_id)
    return render_template("accounts/account.html", pw_form=pw_form, token_form=token_form, tokens=tokens,
                           new_token=new_token, now=now(), me=me, sections=sections)


@bp.route("/admin/organisations", methods=["GET", "POST"])
@permission(Role.ADMIN)
def admin_organisations():
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            with transaction() as s:
                org = service.create_organisation(s, actor=actor(), kind=form.kind.data, name=form.name.data,
                                                  credit_code=form.credit_code.data or None,
                                                  region=form.region.data or "", contact=form.contact.data or "",
                                                  now=now())
            flash(_("Organisation %(name)s created.", name=org.name), "success")
            return redirect(url_for("core.admin_organisations"))
        except DomainError as exc:
            form_errors(form, exc)
    q = (request.args.get("q") or "").strip()
    stmt = select(Organisation).order_by(Organisation.kind, Organisation.name)
    if q:
        stmt = stmt.where(Organisation.name.contains(q) | Organisation.credit_code.contains(q.upper()))
    page = page_arg()
    total = db().scalar(select(func.count()).select_from(stmt.subquery()))
    orgs = db().scalars(stmt.limit(50).offset((page - 1) * 50)).all()
    return render_template("accounts/admin_organisations.html", form=form, orgs=orgs, q=q, page=page,
                           pages=max((total + 49) // 50, 1), total=total)


def _organisation_choices() -> list[SelectChoice]:
    from accounts.forms import ORG_KIND_LABELS

    return [SelectChoice(o.id, f"{o.name} ({ORG_KIND_LABELS.get(o.kind, o.kind)})")
            for o in db().scalars(select(Organisation).order_by(Organisation.kind, Organisation.name))]


@bp.route("/admin/users", methods=["GET", "POST"])
@permission(Role.ADMIN)
def admin_users():
    form = UserForm()
    form.organisation_id.choices = _organisation_choices()
    if form.validate_on_submit():
        try:
            with transaction() as s:
                user = service.create_user(s, actor=actor(), username=form.username.data,
                                           display_name=form.display_name.data, password=form.password.data,
                                           role=form.role.data, organisation_id=form.organisation_id.data,
                                           now=now())
            if user.active:
                flash(_("User %(name)s created.", name=user.username), "success")
            else:
                flash(_("User %(name)s created. The role takes effect once a supervisor approves it; until then "
                        "the account cannot be used.", name=user.username), "warning")
            return redirect(url_for("core.admin_users"))
        except DomainError as exc:
            form_errors(form, exc)
    q = (request.args.get("q") or "").strip()
    role = request.args.get("role") or ""
    stmt = select(User).order_by(User.role, User.username)
    if q:
        stmt = stmt.where(User.username.contains(q) | User.display_name.contains(q))
    if role:
        stmt = stmt.where(User.role == role)
    page = page_arg()
    total = db().scalar(select(func.count()).select_from(stmt.subquery()))
    users = db().scalars(stmt.limit(50).offset((page - 1) * 50)).all()
    return render_template("accounts/admin_users.html", form=form, users=users, q=q, role=role, page=page,
                           pages=max((total + 49) // 50, 1), total=total, now=now(), approved_roles=APPROVED_ROLES,
                           request_form=RoleRequestForm())


@bp.route("/admin/users/<id:user_id>/active", methods=["POST"])
@permission(Role.ADMIN)
def admin_user_active(user_id: int):
    form = ToggleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with transaction() as s:
            user = service.set_user_active(s, actor=actor(), user_id=user_id, active=bool(form.active.data),
                                           now=now())
    except DomainError as exc:
        flash(exc.to_dict(_)["message"], "danger")
        return redirect(url_for("core.admin_users", q=request.args.get("q", ""), page=request.args.get("page", 1)))
    flash(_("User %(name)s is now %(state)s.", name=user.username,
            state=_("active") if user.active else _("inactive")), "info")
    return redirect(url_for("core.admin_users", q=request.args.get("q", ""), page=request.args.get("page", 1)))


@bp.post("/admin/users/<id:user_id>/role-request")
@permission(Role.ADMIN)
def admin_role_request(user_id: int):
    """An administrator asks for a custodian (or supervisor) role to be granted or removed; a supervisor decides."""
    form = RoleRequestForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with transaction() as s:
            service.request_role_change(s, actor=actor(), user_id=user_id, change=form.change.data,
                                        reason=form.reason.data or "", now=now())
        flash(_("The request is recorded; it takes effect once a supervisor approves it."), "info")
    except DomainError as exc:
        flash(exc.to_dict(_)["message"], "danger")
    return redirect(url_for("core.role_requests"))


@bp.get("/role-requests")
@permission(SUPERVISING)
def role_requests():
    """Role changes waiting for a supervisor, and the latest decisions."""
    pending = service.pending_role_requests(db())
    decided = db().scalars(select(RoleRequest).where(RoleRequest.decision.is_not(None))
                           .order_by(RoleRequest.decided_at.desc(), RoleRequest.id.desc()).limit(50)).all()
    names = {u.id: u for u in db().scalars(select(User).where(User.id.in_(
        {r.requested_by for r in [*pending, *decided] if r.requested_by} | {r.decided_by for r in decided if r.decided_by})))}
    return render_template("accounts/role_requests.html", pending=pending, decided=decided, names=names,
                           form=RoleDecisionForm())


@bp.post("/role-requests/<id:request_id>/decision")
@permission(Role.SUPERVISOR)
def decide_role_request(request_id: int):
    form = RoleDecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with transaction() as s:
            req = service.decide_role_change(s, actor=actor(), request_id=request_id,
                                             approve=form.decision.data == "approve", note=form.note.data or "",
                                             now=now())
        flash(_("Approved.") if req.decision == "approved" else _("Refused."), "info")
    except DomainError as exc:
        flash(exc.to_dict(_)["message"], "danger")
    return redirect(url_for("core.role_requests"))


@bp.route("/admin/users/<id:user_id>", methods=["GET", "POST"])
@permission(Role.ADMIN)
def admin_user_edit(user_id: int):
    """Edit an account (full name, e-mail, organisation, role, active) and reset its password."""
    user = db().get(User, user_id)
    if user is None:
        abort(404)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    form.organisation_id.choices = _organisation_choices()
    if form.validate_on_submit():
        try:
            with transaction() as s:
                changed = service.update_user(s, actor=actor(), user_id=user_id, display_name=form.display_name.data,
                                              email=form.email.data or "", organisation_id=form.organisation_id.data,
                                              role=form.role.data, active=bool(form.active.data), now=now())
                waiting = changed.role in APPROVED_ROLES and changed.role_approved_at is None
                name = changed.username
            if waiting:
                flash(_("User %(name)s saved. The new role takes effect once a supervisor approves it; until then "
                        "the account cannot be used.", name=name), "warning")
            else:
                flash(_("User %(name)s saved.", name=name), "success")
            return redirect(url_for("core.admin_user_edit", user_id=user_id))
        except DomainError as exc:
            form_errors(form, exc)
    user = db().get(User, user_id)
    return render_template("accounts/admin_user_edit.html", form=form, user=user, reset_form=PasswordResetForm(),
                           temporary=None, approved_roles=APPROVED_ROLES)


@bp.post("/admin/users/<id:user_id>/password")
@permission(Role.ADMIN)
def admin_user_password(user_id: int):
    """Reset a user's password to a one-time one, shown in this answer only (never stored in plain text)."""
    form = PasswordResetForm()
    if db().get(User, user_id) is None:
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    temporary = None
    try:
        with transaction() as s:
            _user, temporary = service.reset_password(s, actor=actor(), user_id=user_id, now=now())
    except DomainError as exc:
        flash(error_dict(exc)["message"], "danger")
        return redirect(url_for("core.admin_user_edit", user_id=user_id))
    user = db().get(User, user_id)
    edit = UserEditForm(obj=user)
    edit.organisation_id.choices = _organisation_choices()
    resp = Response(render_template("accounts/admin_user_edit.html", form=edit, user=user,
                                    reset_form=PasswordResetForm(), temporary=temporary,
                                    approved_roles=APPROVED_ROLES))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/admin/organisations/<id:organisation_id>", methods=["GET", "POST"])
@permission(Role.ADMIN)
def admin_organisation_edit(organisation_id: int):
    org = db().get(Organisation, organisation_id)
    if org is None:
        abort(404)
    form = OrganisationEditForm(obj=org if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            with transaction() as s:
                saved = service.update_organisation(s, actor=actor(), organisation_id=organisation_id,
                                                    kind=form.kind.data, name=form.name.data,
                                                    credit_code=form.credit_code.data or None,
                                                    region=form.region.data or "", contact=form.contact.data or "",
                                                    now=now())
                name = saved.name
            flash(_("Organisation %(name)s saved.", name=name), "success")
            return redirect(url_for("core.admin_organisation_edit", organisation_id=organisation_id))
        except DomainError as exc:
            form_errors(form, exc)
    org = db().get(Organisation, organisation_id)
    members = db().scalar(select(func.count()).where(User.organisation_id == org.id))
    return render_template("accounts/admin_organisation_edit.html", form=form, org=org, members=members)
