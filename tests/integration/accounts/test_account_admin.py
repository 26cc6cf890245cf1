"""Administrators edit users and organisations and reset passwords — over HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import json

from sqlalchemy import select

from audit.models import AuditEntry
from audit.service import verify
from accounts import service
from core.actor import Actor
from core.db import unit_of_work
from accounts.models import ApiToken, LoginSession, Organisation, RoleRequest, User
from tests.conftest import PASSWORD, login


def _entries(session, action):
    return [json.loads(e.payload) for e in session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                                           .order_by(AuditEntry.seq))]


def _admin(client, make, username="root"):
    who = make.user("admin", username=username)
    assert login(client, username).status_code == 302
    return who


def _form(user: User, **kw):
    data = {"display_name": user.display_name, "email": user.email, "organisation_id": user.organisation_id,
            "role": user.role, "active": "y" if user.active else ""}
    data.update(kw)
    return {k: v for k, v in data.items() if v != ""}


def test_the_token_help_shows_the_header_literally_in_both_languages(client, make):
    make.user("bidder", username="dave")
    login(client, "dave")
    for lang in ("en", "zh_CN"):
        page = client.get(f"/account?lang={lang}").get_data(as_text=True)
        assert "Authorization: Bearer &lt;token&gt;" in page, lang
        assert "<token>" not in page, lang


def test_the_new_user_form_proposes_the_least_privileged_role_in_real_selects(client, make):
    _admin(client, make)
    page = client.get("/admin/users").get_data(as_text=True)
    form = page.split('<h2 class="h5">')[1]
    assert '<option selected value="bidder">' in form
    for name in ("role", "organisation_id"):
        tag = form.split(f'name="{name}"')[0].rsplit("<", 1)[1]
        assert tag.startswith("select") and 'class="form-select' in tag, tag


def test_an_admin_edits_a_user_in_one_audited_step(client, make, session):
    _admin(client, make)
    bob = make.user("bidder", username="bob")
    other = make.org("bidder", name="滨海二建")
    user = session.get(User, bob.user_id)
    page = client.get(f"/admin/users/{bob.user_id}").get_data(as_text=True)
    assert 'value="Bidder' in page and 'class="form-select' in page
    resp = client.post(f"/admin/users/{bob.user_id}", data=_form(user, display_name="李四", email="Li@Example.CN",
                                                                  organisation_id=other.id))
    assert resp.status_code == 302
    session.expire_all()
    user = session.get(User, bob.user_id)
    assert (user.display_name, user.email, user.organisation_id) == ("李四", "Li@example.cn", other.id)
    [entry] = _entries(session, "user.updated")
    assert entry["changes"]["display_name"][1] == "李四" and entry["changes"]["email"] == ["", "Li@example.cn"]
    assert set(entry["changes"]) == {"display_name", "email", "organisation_id"}
    assert verify(session) > 0


def test_a_wrong_organisation_is_refused_with_a_translated_message(client, make, session):
    _admin(client, make)
    bob = make.user("bidder", username="bob")
    agency = make.org("agency")
    user = session.get(User, bob.user_id)
    for lang, text in (("en", "cannot belong to an organisation of kind Tendering agency"),
                       ("zh_CN", "招标代理机构")):
        resp = client.post(f"/admin/users/{bob.user_id}?lang={lang}", data=_form(user, organisation_id=agency.id))
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200 and text in page, lang
        message = page.split('class="invalid-feedback">')[1].split("<")[0]
        assert "kind Tendering agency" in message if lang == "en" else not any(c in message for c in "abcdefghijklmnopqrstuvwxyz")
    session.expire_all()
    assert session.get(User, bob.user_id).organisation_id != agency.id
    assert not _entries(session, "user.updated")


def test_the_last_admin_cannot_demote_or_deactivate_themself(client, make, session):
    root = _admin(client, make)
    me = session.get(User, root.user_id)
    resp = client.post(f"/admin/users/{root.user_id}", data=_form(me, role="supervisor"))
    assert resp.status_code == 200 and "without an active administrator" in resp.get_data(as_text=True)
    resp = client.post(f"/admin/users/{root.user_id}", data=_form(me, active=""))
    assert "You cannot deactivate your own account" in resp.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, root.user_id).role == "admin" and session.get(User, root.user_id).active


def test_a_custodian_role_by_edit_waits_for_a_second_person(client, make, session):
    _admin(client, make)
    staff = make.user("agency", username="clerk")
    user = session.get(User, staff.user_id)
    resp = client.post(f"/admin/users/{staff.user_id}", data=_form(user, role="custodian"),
                       follow_redirects=True)
    assert "takes effect once a supervisor approves it" in resp.get_data(as_text=True)
    session.expire_all()
    user = session.get(User, staff.user_id)
    assert user.role == "custodian" and user.role_approved_at is None and not user.active  # not granted
    [req] = session.scalars(select(RoleRequest).where(RoleRequest.user_id == user.id)).all()
    assert req.decision is None and req.change == "grant"
    [entry] = _entries(session, "user.role_changed")
    assert entry["changes"]["role"] == ["agency", "custodian"] and entry["role_request"] == req.id
    assert login(client.application.test_client(), "clerk").status_code == 401  # unusable until approved
    supervisor = make.supervisor()
    with unit_of_work(session):
        service.decide_role_change(session, actor=supervisor, request_id=req.id, approve=True, now=make.clock.now())
    assert login(client.application.test_client(), "clerk").status_code == 302


def test_an_approved_supervisor_cannot_be_edited_into_another_role(client, make, session):
    _admin(client, make)
    sup = make.supervisor()
    user = session.get(User, sup.user_id)
    resp = client.post(f"/admin/users/{sup.user_id}", data=_form(user, role="admin"))
    assert "only by a request that another supervisor approves" in resp.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, sup.user_id).role == "supervisor"


def test_a_password_reset_is_shown_once_ends_access_and_forces_a_new_password(client, make, session):
    _admin(client, make)
    bob = make.user("bidder", username="bob")
    bob_client = client.application.test_client()
    login(bob_client, "bob")
    token = make.api_token(bob)
    assert bob_client.get("/account").status_code == 200
    resp = client.post(f"/admin/users/{bob.user_id}/password")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    temporary = page.split('data-testid="temporary-password-value">')[1].split("<")[0]
    assert len(temporary) == 23
    assert temporary not in client.get(f"/admin/users/{bob.user_id}").get_data(as_text=True)  # shown once
    [entry] = _entries(session, "user.password_reset")
    assert entry == {"sessions_ended": 1, "tokens_revoked": 1}
    assert temporary not in "".join(e.payload for e in session.scalars(select(AuditEntry)))
    assert bob_client.get("/account").status_code == 302  # the old session has ended …
    assert bob_client.get("/api/v1/me", headers=token).status_code == 401  # … and so has the token
    assert login(bob_client, "bob").status_code == 401  # the old password no longer works
    resp = login(bob_client, "bob", temporary)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account#password")
    blocked = bob_client.get("/tenders/1/documents/1")  # any page that needs a sign-in waits for the new password
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account#password")
    assert 'data-testid="must-change-password"' in bob_client.get("/account").get_data(as_text=True)
    tk = bob_client.post("/account", data={"tk-name": "x"}).get_data(as_text=True)
    assert "choose a new one first" in tk and 'data-testid="new-token"' not in tk
    ok = bob_client.post("/account", data={"pw-old_password": temporary, "pw-new_password": "Fresh-Orchid-Lamp-93"})
    assert ok.status_code == 302
    session.expire_all()
    assert not session.get(User, bob.user_id).must_change_password


def test_no_reset_of_ones_own_or_a_supervisors_password(client, make, session):
    root = _admin(client, make)
    sup = make.supervisor()
    for uid, text in ((root.user_id, "Change your own password"), (sup.user_id, "does not reset a supervisor")):
        page = client.post(f"/admin/users/{uid}/password", follow_redirects=True).get_data(as_text=True)
        assert text in page
    assert not _entries(session, "user.password_reset")


def test_an_admin_edits_an_organisation_checked_and_audited(client, make, session):
    _admin(client, make)
    org = make.org("bidder")
    make.user("bidder", org=org)
    taken = make.org("bidder")
    data = {"kind": "bidder", "name": "滨海市第三建筑有限公司", "credit_code": org.credit_code, "region": "滨海",
            "contact": ""}
    assert client.post(f"/admin/organisations/{org.id}", data=data).status_code == 302
    bad = client.post(f"/admin/organisations/{org.id}?lang=zh_CN", data={**data, "credit_code": "91350100M000100Y44"})
    assert "统一社会信用代码" in bad.get_data(as_text=True)
    dup = client.post(f"/admin/organisations/{org.id}", data={**data, "credit_code": taken.credit_code})
    assert "already exists" in dup.get_data(as_text=True)
    kind = client.post(f"/admin/organisations/{org.id}?lang=zh_CN", data={**data, "kind": "agency"})
    assert "投标人" in kind.get_data(as_text=True).split('class="invalid-feedback">')[1].split("</div>")[0]
    session.expire_all()
    org = session.get(Organisation, org.id)
    assert (org.name, org.kind, org.region) == ("滨海市第三建筑有限公司", "bidder", "滨海")
    [entry] = _entries(session, "organisation.updated")
    assert set(entry["changes"]) == {"name", "region"}


def test_edits_are_for_admins_only_and_unknown_ids_are_404(client, make):
    bob = make.user("bidder", username="bob")
    org = make.org("agency")
    login(client, "bob")
    for url in (f"/admin/users/{bob.user_id}", f"/admin/organisations/{org.id}"):
        assert client.get(url).status_code == 403
        assert client.post(url, data={}).status_code == 403
    assert client.post(f"/admin/users/{bob.user_id}/password").status_code == 403
    client.post("/logout")
    _admin(client, make)
    for url in ("/admin/users/999999", "/admin/organisations/999999"):
        assert client.get(url).status_code == 404
    assert client.post("/admin/users/999999/password").status_code == 404
    assert client.get("/admin/users/abc").status_code == 404


def test_every_edit_form_needs_its_csrf_token(csrf_app, make):
    make.user("admin", username="root")
    bob = make.user("bidder", username="bob")
    c = csrf_app.test_client()
    page = c.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert c.post("/login", data={"username": "root", "password": PASSWORD, "csrf_token": csrf}).status_code == 302
    assert c.get(f"/admin/users/{bob.user_id}").status_code == 200
    for url in (f"/admin/users/{bob.user_id}", f"/admin/users/{bob.user_id}/password",
                f"/admin/organisations/{bob.organisation_id}"):
        assert c.post(url, data={"display_name": "x", "name": "x"}).status_code == 400, url
    edit = c.get(f"/admin/users/{bob.user_id}").get_data(as_text=True)
    forms = edit.split("<form")[1:]
    assert len(forms) >= 3 and all('name="csrf_token"' in f.split("</form>")[0] for f in forms)  # edit, reset, logout
