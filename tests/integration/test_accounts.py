"""Accounts, login throttling, API tokens, admin pages — on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest

from audit.service import verify
from core import service
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


def test_wrong_password_burst_locks_the_account(client, make, clock, session):
    make.user("bidder", username="bob")
    for _ in range(5):
        assert login(client, "bob", "wrong-password").status_code == 401
    resp = login(client, "bob")  # right password, but locked now
    assert resp.status_code == 429
    clock.advance(timedelta(minutes=16))
    assert login(client, "bob").status_code == 302
    assert verify(session) > 0  # every failure was recorded in a chain that verifies


def test_unknown_user_and_inactive_user_are_refused_alike(client, make, session, clock):
    bidder = make.user("bidder", username="carol")
    with unit_of_work(session):
        service.set_user_active(session, actor=Actor.system(), user_id=bidder.user_id, active=False,
                                now=clock.now())
    assert login(client, "nobody").status_code == 401
    assert login(client, "carol").status_code == 401


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

    from core.models import ApiToken

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

    from core.models import Organisation

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
    from core.app import create_app

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
