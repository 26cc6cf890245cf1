"""Every route states its permission; the app starts with migrations only; the demo seeds."""
from __future__ import annotations



def test_every_route_has_a_permission(app):
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "bootstrap.static"):
            continue
        view = app.view_functions[rule.endpoint]
        if not getattr(view, "_permission", None):
            missing.append(rule.rule)
    assert missing == []


def test_language_switch_and_both_languages(client):
    zh = client.get("/?lang=zh_CN").get_data(as_text=True)
    en = client.get("/?lang=en").get_data(as_text=True)
    assert "公共资源交易平台" in zh and "Public Resource Trading Platform" in en
    client.get("/lang/en")
    assert "Latest announcements" in client.get("/").get_data(as_text=True)
    client.get("/lang/zh_CN")
    assert "最新公告" in client.get("/").get_data(as_text=True)
    assert client.get("/lang/fr").status_code == 404
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"


def test_sandbox_banner_on_every_page(settings, clock, connection):
    from sunbid.app import create_app

    app = create_app(settings.with_(sandbox=True), clock=clock, bind=connection,
                     session_options={"join_transaction_mode": "create_savepoint"})
    body = app.test_client().get("/tenders").get_data(as_text=True)
    assert 'data-testid="sandbox-banner"' in body


def test_chosen_language_survives_login_and_logout(client, make):
    make.user("agency", username="agent")
    client.get("/lang/zh_CN")
    client.post("/login", data={"username": "agent", "password": "Correct-Horse-42"})
    page = client.get("/").get_data(as_text=True)
    assert "我的招标项目" in page and "退出" in page  # logged in, still in Chinese
    client.post("/logout")
    assert "最新公告" in client.get("/").get_data(as_text=True)
