"""Accounts, login throttling, API tokens, admin pages — on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from audit.service import verify
from accounts import service
from core.actor import Actor
from core.db import unit_of_work
from core.errors import DomainError
from tests.conftest import PASSWORD, login


def test_login_logout_and_whoami(client, make):
    make.user("agency", username="alice")
    resp = login(client, "alice")
    assert resp.status_code == 302
    page = client.get("/account")
    assert page.status_code == 200 and "alice" in page.get_data(as_text=True)
    assert client.post("/logout").status_code == 302
    assert client.get("/account").status_code == 302  # back to the login page


RIVAL = {"REMOTE_ADDR": "203.0.113.9"}
OWNER = {"REMOTE_ADDR": "198.51.100.20"}


def _login_from(client, username, password, where, **kw):
    return client.post("/login", data={"username": username, "password": password}, environ_base=where, **kw)


def test_a_rivals_failures_from_another_address_never_stop_the_owner(client, make, clock, session):
    make.user("bidder", username="bob")
    rival = client.application.test_client()
    answers = []
    for _ in range(20):  # a rival hammering bob's account at the deadline
        answers.append(_login_from(rival, "bob", "wrong-password", RIVAL).status_code)
        clock.advance(timedelta(seconds=1))
    assert answers[:3] == [401, 401, 401] and 429 in answers  # the rival is slowed down …
    assert _login_from(client, "bob", PASSWORD, OWNER).status_code == 302  # … bob, from his own address, is not
    assert verify(session) > 0  # every failure was recorded in a chain that verifies


def test_failures_grow_a_delay_for_that_name_and_address_never_a_lock(client, make, clock):
    make.user("bidder", username="bob")
    for _ in range(3):
        assert _login_from(client, "bob", "wrong-password", RIVAL).status_code == 401
    early = _login_from(client, "bob", PASSWORD, RIVAL)  # even the right password waits its turn
    assert early.status_code == 429 and "Try again in 2 seconds" in early.get_data(as_text=True)
    clock.advance(timedelta(seconds=2))
    assert _login_from(client, "bob", "wrong-password", RIVAL).status_code == 401
    assert _login_from(client, "bob", PASSWORD, RIVAL).status_code == 429  # 4 failures: 4 seconds now
    clock.advance(timedelta(seconds=4))
    assert _login_from(client, "bob", PASSWORD, RIVAL).status_code == 302
    client.post("/logout")
    assert _login_from(client, "bob", "wrong-password", RIVAL).status_code == 401  # a success starts afresh


def _answer(client, username, password, where):
    resp = _login_from(client, username, password, where)
    return resp.status_code, resp.get_data(as_text=True).replace(f'value="{username}"', 'value="…"')


def test_an_unknown_user_is_answered_exactly_as_a_wrong_password(client, make, session, clock):
    import time

    bidder = make.user("bidder", username="carol")
    make.user("bidder", username="dora")
    with unit_of_work(session):
        service.set_user_active(session, actor=Actor.system(), user_id=bidder.user_id, active=False,
                                now=clock.now())
    wrong = _answer(client, "dora", "wrong-password", OWNER)
    assert wrong[0] == 401
    assert _answer(client, "nobody", "wrong-password", OWNER) == wrong  # same status, same body
    assert _answer(client, "carol", PASSWORD, OWNER) == wrong  # inactive: the same again
    for name in ("dora", "nobody"):  # and the same delay once failures pile up, known name or not
        for _ in range(3):
            _login_from(client, name, "x-wrong-password", RIVAL)
    assert _answer(client, "dora", "x", RIVAL) == _answer(client, "nobody", "x", RIVAL)
    assert _answer(client, "dora", "x", RIVAL)[0] == 429

    def took(name, address):
        start = time.perf_counter()
        _login_from(client, name, "wrong-password", {"REMOTE_ADDR": address})
        return time.perf_counter() - start

    known = sorted(took("dora", f"192.0.2.{i}") for i in range(5))[2]
    unknown = sorted(took(f"nobody{i}", f"192.0.2.{i}") for i in range(5))[2]
    assert unknown > 0.5 * known  # the password hash runs for unknown users too


def test_the_per_address_limit_answers_429_in_both_languages(settings, clock, connection, make):
    import dataclasses

    from sunbid.app import create_app

    make.user("bidder", username="erin")
    app = create_app(dataclasses.replace(settings, login_rate_limit="3 per minute"), clock=clock, bind=connection,
                     session_options={"join_transaction_mode": "create_savepoint"})
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    for i in range(3):  # other names, so the per-name throttle never comes into it
        assert _login_from(client, f"guess{i}", "wrong-password", RIVAL).status_code == 401
    refused = _login_from(client, "erin", PASSWORD, RIVAL)
    assert refused.status_code == 429
    assert "Too many requests from your address" in refused.get_data(as_text=True)
    zh = client.post("/login?lang=zh_CN", data={"username": "erin", "password": PASSWORD}, environ_base=RIVAL)
    assert zh.status_code == 429 and "您的地址请求过于频繁" in zh.get_data(as_text=True)
    assert _login_from(client, "erin", PASSWORD, OWNER).status_code == 302  # another address is not limited
    api = app.test_client()  # bad bearer tokens from one address are limited the same way
    codes = [api.get("/api/v1/me", headers={"Authorization": "Bearer sb_guess"}, environ_base=RIVAL).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]


# ------------------------------------------------------------------ sessions end on the server

def _cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(app, cookie: str):
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/account")


def test_a_cookie_kept_after_logout_signs_no_one_in(client, make):
    make.user("agency", username="alice")
    login(client, "alice")
    kept = _cookie(client)
    assert _replay(client.application, kept).status_code == 200  # the copy works while the session lives
    assert client.post("/logout").status_code == 302
    assert _replay(client.application, kept).status_code == 302  # ended on the server: back to the login page


def test_a_password_change_ends_every_session_and_token(app, make, session):
    from sqlalchemy import select

    from audit.models import AuditEntry

    who = make.user("bidder", username="frank")
    token = make.api_token(who)
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "frank")
    login(phone, "frank")
    laptop_before, phone_cookie = _cookie(laptop), _cookie(phone)
    resp = laptop.post("/account", data={"pw-old_password": PASSWORD, "pw-new_password": "Fresh-Lantern-77"})
    assert resp.status_code == 302
    assert laptop.get("/account").status_code == 200  # the browser that changed it stays signed in …
    assert _replay(app, laptop_before).status_code == 302  # … but a copy of its old cookie does not
    assert _replay(app, phone_cookie).status_code == 302
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 401
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.password_changed")).one()
    assert json.loads(entry.payload) == {"sessions_ended": 2, "tokens_revoked": 1}


def test_deactivation_ends_every_session_and_token(app, make, session, clock):
    who = make.user("bidder", username="gina")
    token = make.api_token(who)
    browser = app.test_client()
    login(browser, "gina")
    with unit_of_work(session):
        service.set_user_active(session, actor=Actor.system(), user_id=who.user_id, active=False, now=clock.now())
        service.set_user_active(session, actor=Actor.system(), user_id=who.user_id, active=True, now=clock.now())
    assert browser.get("/account").status_code == 302  # reactivating brings neither back
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 401


def test_password_policy_and_credit_code_checked(session, make, clock):
    org = make.org("bidder")
    with pytest.raises(DomainError) as exc:
        with unit_of_work(session):
            service.create_user(session, actor=Actor.system(), username="weak", display_name="W", password="short",
                                role="bidder", organisation_id=org.id, now=clock.now())
    assert exc.value.code == "weak_password"
    with pytest.raises(DomainError) as exc:
        with unit_of_work(session):
            service.create_organisation(session, actor=Actor.system(), kind="bidder", name="X",
                                        credit_code="91350100M000100Y44", now=clock.now())
    assert exc.value.code == "invalid_credit_code"
    with pytest.raises(DomainError) as exc:  # a bidder user cannot belong to an agency
        with unit_of_work(session):
            service.create_user(session, actor=Actor.system(), username="mixed", display_name="M",
                                password=PASSWORD, role="bidder", organisation_id=make.org("agency").id,
                                now=clock.now())
    assert exc.value.status == 400


def test_api_token_shown_once_stored_hashed_and_revocable(client, make, session):
    make.user("bidder", username="dave")
    login(client, "dave")
    page = client.post("/account", data={"tk-name": "ci"}).get_data(as_text=True)
    token = page.split('data-testid="new-token">')[1].split("<")[0]
    assert token.startswith("sb_")
    from sqlalchemy import select

    from accounts.models import ApiToken

    stored = session.scalars(select(ApiToken)).all()
    assert len(stored) == 1 and token not in (stored[0].token_hash, stored[0].prefix)
    api = client.application.test_client()  # no cookie session: the token alone
    assert api.get("/api/v1/me").status_code == 401
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["username"] == "dave"
    assert token not in client.get("/account").get_data(as_text=True)  # never shown again
    client.post("/account", data={"revoke": str(stored[0].id)})
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_admin_pages_create_org_and_user(client, make, session):
    make.user("admin", username="root1")
    login(client, "root1")
    resp = client.post("/admin/organisations", data={"kind": "bidder", "name": "滨海宏达建设工程有限公司",
                                                     "credit_code": "91350100M000100Y43", "region": "东湖区"})
    assert resp.status_code == 302
    listing = client.get("/admin/organisations?q=宏达").get_data(as_text=True)
    assert "滨海宏达建设工程有限公司" in listing
    from sqlalchemy import select

    from accounts.models import Organisation

    org = session.scalar(select(Organisation).where(Organisation.credit_code == "91350100M000100Y43"))
    resp = client.post("/admin/users", data={"username": "newbidder", "display_name": "新用户", "role": "bidder",
                                             "organisation_id": str(org.id), "password": PASSWORD})
    assert resp.status_code == 302
    assert login(client.application.test_client(), "newbidder").status_code == 302
    bad = client.post("/admin/organisations", data={"kind": "bidder", "name": "Bad", "credit_code": "123"})
    assert bad.status_code == 200 and "credit code" in bad.get_data(as_text=True).lower()


def test_non_admin_cannot_reach_admin_pages(client, make):
    make.user("agency", username="eve")
    login(client, "eve")
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/organisations", data={"kind": "bidder", "name": "x"}).status_code == 403


@pytest.mark.parametrize("hops, expected", [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_the_logged_address_is_the_proxys_client_only_when_proxies_are_trusted(settings, clock, connection,
                                                                                  make, session, hops, expected):
    import dataclasses

    from sqlalchemy import select

    from audit.models import AuditEntry
    from sunbid.app import create_app

    user = make.user("agency")
    app = create_app(dataclasses.replace(settings, proxy_hops=hops), clock=clock, bind=connection,
                     session_options={"join_transaction_mode": "create_savepoint"})
    app.config["WTF_CSRF_ENABLED"] = False
    resp = app.test_client().post("/login", data={"username": user.name, "password": PASSWORD},
                                  headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert resp.status_code == 302
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.logged_in")
                            .order_by(AuditEntry.seq.desc())).first()
    assert entry.address == expected


# ------------------------------------------------------------------ API tokens expire and tell when last used

def _new_token(client, **data) -> str:
    page = client.post("/account", data={"tk-name": "ci", **data}).get_data(as_text=True)
    return page.split('data-testid="new-token">')[1].split("<")[0]


def test_a_token_expires_when_chosen_at_creation(client, make, clock, session):
    from sqlalchemy import select

    from accounts.models import ApiToken

    make.user("bidder", username="hana")
    login(client, "hana")
    week, default = _new_token(client, **{"tk-days": "7"}), _new_token(client)
    expiry = {t.prefix: t.expires_at for t in session.scalars(select(ApiToken))}
    assert expiry[week[:10]] == clock.now() + timedelta(days=7)
    assert expiry[default[:10]] == clock.now() + timedelta(days=90)
    refused = client.post("/account", data={"tk-name": "ci", "tk-days": "400"})
    assert refused.status_code == 200 and 'data-testid="new-token"' not in refused.get_data(as_text=True)
    api = client.application.test_client()
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {week}"}).status_code == 200
    clock.advance(timedelta(seconds=1))
    expired = api.get("/api/v1/me", headers={"Authorization": f"Bearer {week}"})
    assert expired.status_code == 401 and expired.json["error"]["code"] == "invalid_token"
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {default}"}).status_code == 200
    assert "Expired" in client.get("/account").get_data(as_text=True)


def test_last_use_is_written_at_most_once_a_minute(app, make, clock, session):
    from accounts.models import ApiToken

    who = make.user("bidder", username="ivan")
    auth = make.api_token(who)
    api = app.test_client()
    row = lambda: session.get(ApiToken, session.query(ApiToken.id).filter_by(user_id=who.user_id).scalar())  # noqa: E731
    assert row().last_used_at is None
    api.get("/api/v1/me", headers=auth)
    session.expire_all()
    first = row().last_used_at
    assert first == clock.now()
    clock.advance(timedelta(seconds=59))
    api.get("/api/v1/me", headers=auth)
    session.expire_all()
    assert row().last_used_at == first  # a read within the minute writes nothing
    clock.advance(timedelta(seconds=1))
    listing = api.get("/api/v1/tokens", headers=auth).json["items"]
    assert listing[0]["last_used_at"] == clock.now().isoformat().replace("+00:00", "Z")
    assert listing[0]["expires_at"] == (first + timedelta(days=90)).isoformat().replace("+00:00", "Z")


def test_a_token_made_through_the_api_never_outlives_its_maker(app, make, clock):
    who = make.user("bidder", username="jade")
    with unit_of_work(make.session):
        _row, parent = service.create_api_token(make.session, actor=who, name="short", days=3, now=clock.now())
    api = app.test_client()
    auth = {"Authorization": f"Bearer {parent}"}
    made = api.post("/api/v1/tokens", json={"name": "child", "expires_in_days": 30}, headers=auth)
    assert made.status_code == 201
    assert made.json["expires_at"] == (clock.now() + timedelta(days=3)).isoformat().replace("+00:00", "Z")
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {made.json['token']}"}).status_code == 200
    bad = api.post("/api/v1/tokens", json={"name": "x", "expires_in_days": 1000}, headers=auth)
    assert bad.status_code == 400 and bad.json["error"]["field"] == "days"
    assert api.post("/api/v1/tokens", json={"name": "x"}).status_code == 401  # a cookie or nothing: no


# ------------------------------------------------------------------ weak passwords refused, with the reason

@pytest.mark.parametrize("password", ["password1", "12345678", "Password1!", "P@ssw0rd2026"])
def test_weak_passwords_are_refused_at_creation(session, make, clock, password):
    org = make.org("bidder")
    with pytest.raises(DomainError) as exc:
        with unit_of_work(session):
            service.create_user(session, actor=Actor.system(), username="weakling", display_name="W",
                                password=password, role="bidder", organisation_id=org.id, now=clock.now())
    assert exc.value.code == "weak_password"


def test_a_weak_new_password_is_refused_and_the_reason_shown_in_both_languages(client, make):
    make.user("bidder", username="kim")
    login(client, "kim")
    en = client.post("/account", data={"pw-old_password": PASSWORD, "pw-new_password": "Password1!"})
    assert en.status_code == 200 and "This is similar to a commonly used password." in en.get_data(as_text=True)
    zh = client.post("/account?lang=zh_CN", data={"pw-old_password": PASSWORD, "pw-new_password": "Password1!"})
    text = zh.get_data(as_text=True)
    assert "这与常用密码相似" in text and "commonly used" not in text
    assert login(client.application.test_client(), "kim").status_code == 302  # the old password still works
