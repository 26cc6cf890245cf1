"""The OpenAPI description of /api/v1 (``core/openapi.py`` and the areas' tables): a valid OpenAPI 3.1
document, exactly the routes of the URL map under /api/v1 with their methods, and schemathesis run against it
through the WSGI app, as a bidder, a supervisor and anonymously, on SQLite and PostgreSQL.  No answer may be
a 5xx, and every answer must match its documented schema.

Bounded for CI (``EXAMPLES`` per operation, generation mode and caller, derandomized);
``SUNBID_OPENAPI_EXAMPLES=200 uv run pytest tests/integration/sunbid/test_openapi.py`` runs longer."""
from __future__ import annotations

import os
import re
from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from core.openapi import API_PREFIX
from core.rules import MAX_ID

EXAMPLES = int(os.environ.get("SUNBID_OPENAPI_EXAMPLES", "12"))
SPEC_URL = "/api/v1/openapi.json"
RULE_ARG = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _spec(client) -> dict:
    resp = client.get(SPEC_URL)
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return resp.get_json()


def _documented_methods(rule) -> set[str]:
    """What a route answers that must be described: its methods without the OPTIONS and HEAD that Flask and
    Werkzeug add by themselves."""
    methods = set(rule.methods)
    if getattr(rule, "provide_automatic_options", False):
        methods.discard("OPTIONS")
    if "GET" in methods:
        methods.discard("HEAD")
    return methods


def test_description_is_a_valid_openapi_3_1_document(client):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    spec = _spec(client)
    assert spec["openapi"].startswith("3.1")
    OpenAPIV31SpecValidator(spec).validate()  # raises on any error


def test_no_route_undocumented_and_no_documented_route_missing(app, client):
    documented: dict[str, set[str]] = {}
    for path, item in _spec(client)["paths"].items():
        documented[path] = {m.upper() for m in item if m in METHODS}
    routes: dict[str, set[str]] = {}
    path_kinds: dict[str, dict[str, str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule == API_PREFIX or rule.rule.startswith(API_PREFIX + "/"):
            path = RULE_ARG.sub(r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(_documented_methods(rule))
            path_kinds[path] = {a: type(c).__name__ for a, c in rule._converters.items()}
    undocumented = {f"{m} {p}" for p, ms in routes.items() for m in ms - {x for x in documented.get(p, set())}}
    missing = {f"{m} {p}" for p, ms in documented.items()
               for m in ms - routes.get(p, set()) - ({"HEAD"} if "GET" in routes.get(p, set()) else set())}
    assert not undocumented, f"routes without an OpenAPI description: {sorted(undocumented)}"
    assert not missing, f"described in OpenAPI but not routes: {sorted(missing)}"
    # every <id:…> is documented as the bounded integer the converter accepts
    spec = _spec(client)
    for path, kinds in path_kinds.items():
        for name, kind in kinds.items():
            for method, op in spec["paths"][path].items():
                params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}
                assert name in params, f"{method} {path}: path parameter {name} not described"
                if kind == "IdConverter":
                    assert params[name]["schema"] == {"type": "integer", "minimum": 0, "maximum": MAX_ID}


def test_the_description_is_public_and_describes_itself(client):
    spec = _spec(client)
    assert spec["paths"][SPEC_URL]["get"]["security"] == []
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["bearer"]
        ["description"]}
    # operations that need a token say so, and say that it may be refused (401)
    me = spec["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearer": []}] and "401" in me["responses"]


class Tally:
    def __init__(self):
        self.requests, self.status = 0, Counter()
        self.server_errors: list[str] = []
        self.nonconforming: list[str] = []


def _runner(strategy, auth: dict, caller: str, tally: Tally, checks):
    """A hypothesis test sending ``EXAMPLES`` cases of ``strategy`` as ``caller`` and keeping the figures."""

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        case.headers = {**(case.headers or {}), **auth}
        response = case.call()
        tally.requests += 1
        tally.status[response.status_code] += 1
        label = f"{caller} {case.method} {case.formatted_path} -> {response.status_code}"
        if response.status_code >= 500:
            tally.server_errors.append(f"{label}: {case.as_curl_command()}")
            return
        try:
            case.validate_response(response, checks=checks)
        except Exception as exc:  # schemathesis raises its failures (one or a group of them)
            tally.nonconforming.append(f"{label}: {str(exc)[:600]}")

    return run


def _fuzz(app, make, session, clock) -> Tally:
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    from core.db import unit_of_work
    from tender import uploads

    t, _agency = make.tender(publish=True)
    bidder = make.bidder_of(t)
    supervisor = make.user("supervisor")
    with unit_of_work(session):  # an open upload of the bidder, so the upload routes get past the lookup
        up, _ = uploads.create_upload(session, actor=bidder, tender_id=t.id, lot=1, length=1000, limit=10**7,
                                      now=clock.now())
        upload_id = up.id
    callers = {"bidder": make.api_token(bidder), "supervisor": make.api_token(supervisor), "anonymous": {}}
    known = {"tender_id": t.id, "upload_id": upload_id, "bid_id": 1}

    # The fuzzer sends thousands of malformed tokens from one address: lift the per-address limit on bad
    # tokens for this run, or nearly every answer would be a 429 and nothing past it would be tried.
    from limits import parse_many

    limiter, _rate = app.extensions["sunbid"].bad_token_limit
    app.extensions["sunbid"].bad_token_limit = (limiter, parse_many("1000000 per minute"))
    schema = schemathesis.openapi.from_wsgi(SPEC_URL, app)
    tally = Tally()
    checks = [not_a_server_error, response_schema_conformance]
    # tus PATCH bodies: raw bytes (schemathesis knows application/octet-stream, not this one)
    schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=2048))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for op in operations:
        own_params = {p for p in known if "{" + p + "}" in op.path}
        for caller, auth in callers.items():
            variants = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
            if own_params:  # and with ids that exist, to reach past the lookups
                variants.append((GenerationMode.POSITIVE, {p: known[p] for p in own_params}))
            for mode, path_parameters in variants:
                strategy = op.as_strategy(generation_mode=mode, path_parameters=path_parameters)
                try:
                    _runner(strategy, auth, caller, tally, checks)()
                except Unsatisfiable:  # a negative mode with nothing to negate
                    pass
    return tally


def test_schemathesis_finds_no_server_error_and_every_answer_matches_the_description(app, make, session, clock,
                                                                                     backend, capsys):
    tally = _fuzz(app, make, session, clock)
    with capsys.disabled():
        print(f"\nschemathesis on {backend}: {tally.requests} requests, statuses {dict(sorted(tally.status.items()))}")
    assert tally.requests > 300
    assert tally.status.get(429, 0) < tally.requests // 10  # the operations were reached, not throttled
    assert not tally.server_errors, "\n".join(tally.server_errors[:20])
    assert not tally.nonconforming, "\n".join(tally.nonconforming[:20])


def test_a_huge_page_of_checkpoints_is_refused_not_a_server_error(client):
    for page in ("999999999999999999", "100001"):
        resp = client.get(f"/api/v1/audit/checkpoints?page={page}")
        assert resp.status_code == 400 and resp.json["error"]["field"] == "page"
