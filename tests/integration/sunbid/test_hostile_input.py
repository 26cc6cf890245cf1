"""Each class of hostile input the fuzzers found, sent to every route of the URL map: a 4xx with a clear
message, decided where the input enters (the id converter, the whole-number helper, the NUL guard, the
bounded date parser), never a 5xx.  On SQLite and PostgreSQL."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from core.inputs import IdConverter
from tender.models import Bid
from tests.conftest import login
from tests.integration.tender.test_tender_flow import form_for

SKIP = ("static", "bootstrap.static")
ARG = re.compile(r"<(?:(\w+):)?(\w+)>")
HUGE_IDS = ["99999999999999999999", str(2**63), str(2**31), "%C2%B2", "-1", "1%00", "%D9%A3"]
INT_PARAMS = ["page", "per_page", "index", "size", "from", "to", "lot", "start", "end", "tender"]


def _rules(app):
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint not in SKIP), key=lambda r: r.rule)


def _methods(rule):
    return sorted(rule.methods - {"HEAD"})


def _url(rule, value_for):
    return ARG.sub(lambda m: value_for(m.group(1), m.group(2)), rule.rule)


def _role_of(app, rule):
    roles = getattr(app.view_functions[rule.endpoint], "_permission", ("public",))
    return next((r for r in roles if r not in ("public", "logged_in")), "bidder" if "logged_in" in roles else None)


@pytest.fixture
def clients(app, make):
    """A logged-in client per role, and an anonymous one."""
    out = {None: app.test_client()}
    for role in ("admin", "agency", "bidder", "expert", "custodian", "supervisor"):
        make.user(role, username=f"h_{role}")
        c = app.test_client()
        assert login(c, f"h_{role}").status_code == 302
        out[role] = c
    return out


def test_every_integer_in_a_route_is_an_id(app):
    """No route takes Werkzeug's unbounded ``int``: every integer path part is ``<id:…>``."""
    for rule in _rules(app):
        for name, converter in rule._converters.items():
            assert type(converter).__name__ != "IntegerConverter", rule.rule
            if name.endswith("_id") or name == "seq":
                assert isinstance(converter, IdConverter) or type(converter).__name__ == "UnicodeConverter", rule.rule


def test_ids_beyond_the_database_range_or_not_ascii_are_404_everywhere(app, clients):
    checked = 0
    for rule in _rules(app):
        if not any(c == "id" for c, _ in ARG.findall(rule.rule)):
            continue
        for bad in HUGE_IDS:
            url = _url(rule, lambda conv, name: bad if conv == "id" else "x")
            for method in _methods(rule):
                resp = clients[_role_of(app, rule)].open(url, method=method)
                assert resp.status_code in (404, 405), (method, url, resp.status_code)  # matches no route
                checked += 1
    assert checked > 150
    # the largest id is a valid id that merely does not exist
    assert clients["supervisor"].get("/tenders/2147483647").status_code == 404
    assert clients[None].get("/api/v1/tenders/2147483647").json["error"]["code"] == "not_found"


def test_nul_in_the_query_string_is_400_on_every_route(app, clients):
    for rule in _rules(app):
        url = _url(rule, lambda conv, name: "1")
        for method in _methods(rule):
            for query in ("q=%00", "%00=1", "lang=en%00"):
                resp = clients[_role_of(app, rule)].open(f"{url}?{query}", method=method)
                assert resp.status_code == 400, (method, url, query, resp.status_code)
    resp = clients[None].get("/tenders?q=%00")
    assert "NUL" in resp.get_data(as_text=True)
    assert clients[None].get("/api/v1/tenders?q=a%00b").json["error"]["code"] == "nul_in_text"


def test_nul_in_form_fields_is_400_on_every_post_route(app, clients):
    for rule in _rules(app):
        if "POST" not in rule.methods:
            continue
        url = _url(rule, lambda conv, name: "1")
        client = clients[_role_of(app, rule)]
        for data in ({"text": "a\x00b"}, {"x\x00": "1"}, {"username": "\x00", "password": "\x00"}):
            resp = client.post(url, data=data)
            assert resp.status_code == 400, (url, data, resp.status_code)
        resp = client.post(url, data={"lot": "1", "q": "\x00", "file": (io.BytesIO(b"age"), "a.age")},
                           content_type="multipart/form-data")
        assert resp.status_code == 400, (url, "multipart", resp.status_code)
    assert clients[None].post("/login", data={"username": "a\x00", "password": "x"}).status_code == 400


def test_non_ascii_and_huge_integers_in_query_strings_are_never_5xx(app, clients):
    for rule in _rules(app):
        url = _url(rule, lambda conv, name: "1")
        for method in _methods(rule):
            for name in INT_PARAMS:
                for value in ("%C2%B2", "99999999999999999999"):
                    resp = clients[_role_of(app, rule)].open(f"{url}?{name}={value}", method=method)
                    assert resp.status_code < 500, (method, url, name, value, resp.status_code)


@pytest.mark.parametrize("url,name", [
    ("/tenders?page={}", "page"), ("/api/v1/tenders?per_page={}", "per_page"), ("/api/v1/tenders?page={}", "page"),
    ("/admin/users?page={}", "page"), ("/admin/organisations?page={}", "page"), ("/agency/tenders?page={}", "page"),
    ("/audit/log?page={}", "page"),
    ("/api/v1/audit/entries?start={}", "start"), ("/api/v1/audit/entries?end={}", "end"), ("/api/v1/audit/proof/inclusion?index={}&size=1", "index"),
    ("/api/v1/audit/proof/inclusion?index=0&size={}", "size"), ("/api/v1/audit/proof/consistency?from={}&to=1", "from"),
    ("/api/v1/audit/proof/consistency?from=1&to={}", "to"),
])
def test_bad_integers_are_400_naming_the_parameter(clients, url, name):
    client = clients["admin"] if "/admin/" in url else clients["agency"] if "/agency/" in url else clients["supervisor"]
    for value in ("%C2%B2", "99999999999999999999", "abc", "1.5"):
        resp = client.get(url.format(value))
        assert resp.status_code == 400, (url, value, resp.status_code)
        assert name in resp.get_data(as_text=True)


def test_the_logs_tender_filter_takes_any_text_as_a_project_code(clients):
    """The log's tender filter accepts a project code or a number: anything else matches no tender, with a
    notice, never the whole log and never a server error."""
    for value in ("%C2%B2", "99999999999999999999", "abc", "1.5", "%00"):
        resp = clients["supervisor"].get(f"/audit/log?tender={value}")
        assert resp.status_code in (200, 400), (value, resp.status_code)
        if resp.status_code == 200:
            assert "No tender has the project code or number" in resp.get_data(as_text=True)


def test_bid_form_with_a_bad_lot_is_refused_before_anything_is_stored(app, client, make, session):
    t, _ = make.tender(publish=True)
    bidder = make.bidder_of(t)
    login(client, bidder.name)
    blobs = app.extensions["sunbid"].blobs.root
    before = sorted(p for p in blobs.rglob("*") if p.is_file())
    for lot in ("²", "99999999999999999999", "-1", "0"):
        resp = client.post(f"/tenders/{t.id}/bids", data={"mode": "sealed", "lot": lot,
                                                          "file": (io.BytesIO(b"age-encryption.org/v1\n" + b"x" * 99),
                                                                   "bid.age")},
                           content_type="multipart/form-data", follow_redirects=True)
        assert resp.status_code == 200 and "lot" in resp.get_data(as_text=True)
    assert sorted(p for p in blobs.rglob("*") if p.is_file()) == before
    assert session.scalar(select(func.count()).select_from(Bid)) == 0


@pytest.mark.parametrize("field,value", [
    ("deadline", "9999-12-31T23:59"), ("download_start", "0001-01-01T00:00"), ("download_end", "1900-01-01T00:00"),
    ("min_issue_days", "99999999999999999999"), ("min_bids", "²"), ("deposit_cap_percent", "NaN"),
    ("deposit_cap_percent", "Infinity"), ("lot_price_1", "1e400"), ("estimated_price", "9" * 40),
])
def test_tender_form_odd_values_are_400(client, make, clock, field, value):
    make.user("agency", username="agent")
    login(client, "agent")
    resp = client.post("/agency/tenders/new", data=form_for(clock, **{field: value}))
    assert resp.status_code == 400, resp.get_data(as_text=True)[:500]


def test_tender_edit_and_amend_with_dates_out_of_range_are_400(client, make, clock):
    t, agency = make.tender(publish=True)
    draft, _ = make.tender(agency)
    login(client, agency.name)
    assert client.post(f"/agency/tenders/{draft.id}/edit", data=form_for(clock, deadline="9999-12-31T23:59")
                       ).status_code == 400
    resp = client.post(f"/agency/tenders/{t.id}/amend", data={"text": "x", "new_deadline": "9999-12-31T23:59"},
                       follow_redirects=True)
    assert resp.status_code == 200 and "2000" in resp.get_data(as_text=True)


@pytest.mark.parametrize("header", ["Bearer \x00", "Bearer sb_²", "Bearer " + "x" * 10000, "Basic Zm9v", "Bearer",
                                    "Bearer sb_\u4e2d\u6587"])
def test_malformed_authorization_is_401_or_refused(client, header):
    for url in ("/api/v1/me", "/api/v1/tenders", "/api/v1/tenders/1/bids"):
        resp = client.get(url, headers={"Authorization": header})
        assert resp.status_code in (200, 401, 404, 405), (url, header, resp.status_code)


@pytest.mark.parametrize("headers", [
    {"Tus-Resumable": "1.0.0", "Upload-Length": "²"}, {"Tus-Resumable": "1.0.0", "Upload-Length": "9" * 40},
    {"Tus-Resumable": "\u00b2"}, {"Tus-Resumable": "1.0.0", "Upload-Length": "-1"},
])
def test_malformed_tus_headers_are_4xx(client, make, headers):
    t, _ = make.tender(publish=True)
    bidder = make.bidder_of(t)
    auth = make.api_token(bidder)
    for lot in ("1", "²", "99999999999999999999"):
        resp = client.post(f"/api/v1/tenders/{t.id}/uploads?lot={lot}", headers={**auth, **headers})
        assert 400 <= resp.status_code < 500, (headers, lot, resp.status_code)
