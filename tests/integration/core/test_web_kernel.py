"""core.web: the one error answer (JSON under /api/ and on the browser's uploads, the error page elsewhere)
and the CSRF check of forms a view streams itself, against the configured base URL when there is one."""
from __future__ import annotations

import dataclasses

import pytest
from flask_wtf.csrf import CSRFError, generate_csrf
from werkzeug.exceptions import NotFound

from core.errors import InvalidInput
from core.web import check_form_csrf, error_body, render_error

BASE = "https://trade.example.gov.cn"


def _app(settings, clock, connection, **changes):
    from sunbid.app import create_app

    return create_app(dataclasses.replace(settings, **changes), clock=clock, bind=connection,
                      session_options={"join_transaction_mode": "create_savepoint"})


def _check(app, *, url, headers):
    with app.test_request_context("/tenders/1/bids", method="POST", base_url=url, headers=headers):
        check_form_csrf({"csrf_token": generate_csrf()})


def test_streamed_form_over_tls_must_come_from_the_request_host(settings, clock, connection):
    app = _app(settings, clock, connection)
    _check(app, url="https://sunbid.local", headers={"Referer": "https://sunbid.local/tenders/1"})
    _check(app, url="https://sunbid.local", headers={"Origin": "https://sunbid.local"})
    with pytest.raises(CSRFError, match="does not match"):
        _check(app, url="https://sunbid.local", headers={"Origin": "https://evil.example"})
    with pytest.raises(CSRFError, match="missing"):
        _check(app, url="https://sunbid.local", headers={})
    _check(app, url="http://sunbid.local", headers={})  # plain http without a base URL: the token alone


def test_streamed_form_with_a_base_url_must_come_from_it(settings, clock, connection):
    app = _app(settings, clock, connection, base_url=BASE)
    _check(app, url="http://10.0.0.5:8000", headers={"Origin": BASE})  # a proxy ends TLS, Host is internal
    _check(app, url="http://10.0.0.5:8000", headers={"Referer": BASE + "/tenders/1"})
    for other in ("http://10.0.0.5:8000", "https://10.0.0.5:8000", "https://evil.example", "http://trade.example.gov.cn"):
        with pytest.raises(CSRFError, match="does not match"):
            _check(app, url="http://10.0.0.5:8000", headers={"Origin": other})
    with pytest.raises(CSRFError, match="missing"):  # behind TLS even though the request itself is plain
        _check(app, url="http://10.0.0.5:8000", headers={})
    with pytest.raises(CSRFError, match="does not match"):  # the request's own Host is not enough any more
        _check(app, url="https://sunbid.local", headers={"Origin": "https://sunbid.local"})


def test_streamed_form_needs_its_token(settings, clock, connection):
    app = _app(settings, clock, connection, base_url=BASE)
    with app.test_request_context("/tenders/1/bids", method="POST", headers={"Origin": BASE}):
        with pytest.raises(CSRFError):
            check_form_csrf({"csrf_token": "forged"})


def test_one_error_answer(app):
    with app.test_request_context("/api/v1/tenders"):
        body, status = error_body(InvalidInput(field="x"))
        assert status == 400 and body["code"] == "invalid_input" and body["field"] == "x"
        response, status = render_error(NotFound())
        assert status == 404 and response.get_json() == {
            "error": {"code": "not_found", "message": "The page or object was not found."}}
    with app.test_request_context("/tenders/1"):
        page, status = render_error(NotFound())
        assert status == 404 and "The page or object was not found." in page and "<html" in page
        response, status = render_error(CSRFError(), as_json=True)
        assert status == 400 and response.get_json()["error"]["code"] == "csrf"
        body, status = error_body(RuntimeError("bug"))
        assert status == 500 and body["code"] == "internal_error"


def test_the_browser_uploads_answer_in_json(client):
    answer = client.get("/uploads/nope")
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"
    page = client.get("/tenders/999999")
    assert page.status_code == 404 and page.mimetype == "text/html"
