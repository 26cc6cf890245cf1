"""Configuration and HTTP headers: random secret keys only, a local bind by default, cookies and HSTS under
TLS, a Content-Security-Policy the pages keep (no inline script), no-store for what is one user's, and
absolute URLs from SUNBID_BASE_URL only, whatever Host the client sends."""
from __future__ import annotations

import dataclasses
import re
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.config import DEV_SECRET, ConfigError, Settings, from_env, secret_key_problem
from tests.conftest import PASSWORD, login

ROOT = Path(__file__).resolve().parents[3]
BASE = "https://trade.example.gov.cn"
FORGED = {"Host": "evil.example"}


def _app(settings, clock, connection, **changes):
    from sunbid.app import create_app

    app = create_app(dataclasses.replace(settings, **changes), clock=clock, bind=connection,
                     session_options={"join_transaction_mode": "create_savepoint"})
    app.config["WTF_CSRF_ENABLED"] = False
    return app


# ------------------------------------------------------------------ secret keys and the bind address

@pytest.mark.parametrize("key", [" " * 32, "0" * 32, "0" * 64, "x" * 48, "abcdefgh" * 6, DEV_SECRET,
                                 secrets.token_urlsafe(16)])
def test_keys_that_are_not_random_are_refused(key, tmp_path):
    assert secret_key_problem(key) is not None
    settings = Settings(database_url="sqlite://", data_dir=tmp_path, secret_key=key)
    with pytest.raises(ConfigError):
        settings.check_production()
    if key != DEV_SECRET:  # a key someone set is refused at every start, not only by `sunbid serve`
        with pytest.raises(ConfigError, match="SUNBID_SECRET_KEY"):
            from_env({"SUNBID_SECRET_KEY": key, "SUNBID_DATA_DIR": str(tmp_path)})


@pytest.mark.parametrize("key", [secrets.token_urlsafe(48), secrets.token_urlsafe(32), secrets.token_hex(32)])
def test_random_keys_are_accepted(key, tmp_path):
    assert secret_key_problem(key) is None
    from_env({"SUNBID_SECRET_KEY": key, "SUNBID_DATA_DIR": str(tmp_path)}).check_production()


@pytest.mark.parametrize("key", [" " * 32, "0" * 32])
def test_serve_and_the_wsgi_entry_refuse_a_key_that_is_not_random(key, monkeypatch, tmp_path):
    import subprocess
    import sys

    from sunbid.cli import main

    monkeypatch.setenv("SUNBID_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUNBID_SECRET_KEY", key)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0 and "SUNBID_SECRET_KEY" in result.output
    env = {"PATH": "/usr/bin:/bin", "SUNBID_DATA_DIR": str(tmp_path), "SUNBID_SECRET_KEY": key}
    wsgi = subprocess.run([sys.executable, "-c", "import core.wsgi"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert wsgi.returncode != 0 and "SUNBID_SECRET_KEY" in wsgi.stderr
    env.pop("SUNBID_SECRET_KEY")  # the development value: refused by the production entry point too
    wsgi = subprocess.run([sys.executable, "-c", "import core.wsgi"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert wsgi.returncode != 0 and "development value" in wsgi.stderr


def test_serve_binds_the_loopback_address_unless_told():
    from sunbid.cli import serve

    host = next(p for p in serve.params if p.name == "host")
    assert host.default == "127.0.0.1"


@pytest.mark.parametrize("url", ["trade.example.gov.cn", "ftp://x.example", "https://x.example/sunbid",
                                 "https://x.example/?a=1", "https://user@x.example"])
def test_the_base_url_must_be_an_origin(url, tmp_path):
    with pytest.raises(ConfigError, match="SUNBID_BASE_URL"):
        from_env({"SUNBID_BASE_URL": url, "SUNBID_DATA_DIR": str(tmp_path)})
    assert from_env({"SUNBID_BASE_URL": "HTTPS://Trade.Example.gov.cn:8443/",
                     "SUNBID_DATA_DIR": str(tmp_path)}).base_url == "https://trade.example.gov.cn:8443"


# ------------------------------------------------------------------ headers

def test_every_answer_carries_the_security_headers(client):
    for path in ("/", "/tenders", "/login", "/api/v1/tenders", "/static/css/sunbid.css", "/no-such-page"):
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert "default-src 'self'" in csp and "object-src 'none'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in resp.headers  # plain http: HSTS would mean nothing


def test_under_tls_hsts_is_sent_and_the_cookie_is_secure(settings, clock, connection, make):
    make.user("agency", username="tls")
    behind_proxy = _app(settings, clock, connection, proxy_hops=1).test_client()
    resp = behind_proxy.post("/login", data={"username": "tls", "password": PASSWORD},
                             headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.1"})
    assert resp.status_code == 302 and resp.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    plain = _app(settings, clock, connection, proxy_hops=1).test_client()
    resp = login(plain, "tls")
    assert "Secure" not in resp.headers["Set-Cookie"] and "HttpOnly" in resp.headers["Set-Cookie"]

    configured = _app(settings, clock, connection, base_url=BASE).test_client()  # an https base URL: always TLS
    resp = login(configured, "tls")
    assert "Secure" in resp.headers["Set-Cookie"] and "Strict-Transport-Security" in resp.headers
    # without trusted proxies a client's X-Forwarded-Proto changes nothing
    untrusted = _app(settings, clock, connection).test_client()
    resp = untrusted.post("/login", data={"username": "tls", "password": PASSWORD},
                          headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in resp.headers["Set-Cookie"] and "Strict-Transport-Security" not in resp.headers


def test_what_one_user_sees_is_never_stored_by_a_cache(client, make):
    who = make.user("bidder", username="nostore")
    auth = make.api_token(who)
    assert "no-store" not in client.get("/tenders").headers.get("Cache-Control", "")  # public, anonymous
    login(client, "nostore")
    for path in ("/account", "/tenders", "/"):
        assert client.get(path).headers["Cache-Control"] == "no-store"
    api = client.application.test_client()
    for path in ("/api/v1/me", "/api/v1/tenders", "/api/v1/tokens"):
        assert api.get(path, headers=auth).headers["Cache-Control"] == "no-store"


# ------------------------------------------------------------------ no inline script

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"\sstyle\s*=", re.I)
PRINTED = {"core/print_base.html", "audit/_print.html", "tender/opening_print.html"}  # rendered to PDF, never served as a page


def test_no_template_has_inline_script_handlers_or_styles():
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text()
        name = path.relative_to(ROOT / "templates").as_posix()
        assert not INLINE_SCRIPT.search(text), name
        assert not INLINE_HANDLER.search(text), name
        if name not in PRINTED:
            assert not INLINE_STYLE.search(text), name


# ------------------------------------------------------------------ absolute URLs from the base URL only

def test_a_forged_host_never_reaches_links_or_the_tus_location(settings, clock, connection, make, session):
    from tender.models import OpeningKey

    app = _app(settings, clock, connection, base_url=BASE)
    t, _agency = make.tender(publish=True)
    bidder = make.bidder_of(t)
    auth = make.api_token(bidder)
    client = app.test_client()
    listing = client.get("/api/v1/tenders", headers=FORGED).json
    assert listing["items"] and all(i["url"].startswith(f"{BASE}/api/v1/tenders/") for i in listing["items"])
    feed = client.get("/tenders/feed.atom", headers=FORGED).get_data(as_text=True)
    assert "evil.example" not in feed and f"{BASE}/tenders/feed.atom" in feed
    assert session.get(OpeningKey, t.id) is not None
    created = client.post(f"/api/v1/tenders/{t.id}/uploads", headers={
        **auth, **FORGED, "Tus-Resumable": "1.0.0", "Upload-Length": "1000"})
    assert created.status_code == 201 and created.headers["Location"].startswith(f"{BASE}/api/v1/uploads/")

    unset = _app(settings, clock, connection).test_client()  # no base URL: root-relative, still not the Host
    created = unset.post(f"/api/v1/tenders/{t.id}/uploads", headers={
        **auth, **FORGED, "Tus-Resumable": "1.0.0", "Upload-Length": "1000"})
    assert created.status_code == 201 and created.headers["Location"].startswith("/api/v1/uploads/")
    assert all(i["url"].startswith("/api/v1/tenders/")
               for i in unset.get("/api/v1/tenders", headers=FORGED).json["items"])
