"""core.web.request_body: read straight from the WSGI input, within Content-Length, no transaction held."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import text
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from core.web import db, request_body


def test_the_request_transaction_ends_before_the_body_is_read(app):
    with app.test_request_context("/api/v1/anything", method="POST", data=b"sealed bytes"):
        db().execute(text("SELECT 1"))  # as the login or token lookup does
        assert db().in_transaction()
        body = request_body()
        assert not db().in_transaction()  # on SQLite it would hold the write lock while the bytes arrive
        assert body.read(5) + body.read() == b"sealed bytes" and body.read(1) == b""


def test_never_past_the_content_length_and_a_short_body_is_a_disconnection(app):
    stream = io.BytesIO(b"0123456789 and the next request")
    with app.test_request_context("/api/v1/anything", method="POST", input_stream=stream,
                                  environ_overrides={"CONTENT_LENGTH": "10"}):
        assert request_body().read() == b"0123456789"
    with app.test_request_context("/api/v1/anything", method="POST", input_stream=io.BytesIO(b"short"),
                                  environ_overrides={"CONTENT_LENGTH": "100"}):
        body = request_body()
        assert body.read(100) == b"short"
        with pytest.raises(ClientDisconnected):
            body.read(100)


def test_over_the_limit_is_413_before_anything_is_read(app):
    with app.test_request_context("/api/v1/anything", method="POST", data=b"x" * 3000):
        from flask import request

        request.max_content_length = 1000
        with pytest.raises(RequestEntityTooLarge):
            request_body()


def test_a_server_that_ends_the_input_itself_still_cannot_pass_a_short_body_for_a_whole_one(app):
    # gunicorn sets wsgi.input_terminated; Werkzeug's stream then takes an early end for the end of the body
    with app.test_request_context("/api/v1/anything", method="POST", input_stream=io.BytesIO(b"short"),
                                  environ_overrides={"CONTENT_LENGTH": "100", "wsgi.input_terminated": True}):
        body = request_body()
        assert body.read(0) == b"" and body.read(100) == b"short"
        with pytest.raises(ClientDisconnected):
            body.read(100)
    with app.test_request_context("/api/v1/anything", method="POST", input_stream=io.BytesIO(b"0123456789"),
                                  environ_overrides={"CONTENT_LENGTH": "10", "wsgi.input_terminated": True}):
        assert request_body().read() == b"0123456789"
