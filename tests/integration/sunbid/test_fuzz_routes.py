"""Every HTML and API route of the URL map, driven by hypothesis with hostile input: path values built from
each rule's converters (ids beyond 64 bits, ``²``, NUL, negative, very long strings), hostile query
parameters, form fields with a valid CSRF token, odd Authorization and tus headers, as a logged-in user of
each role and anonymously.  No answer may be a 5xx.  On SQLite and PostgreSQL.

Bounded for CI (``EXAMPLES`` per route and method, derandomized); ``SUNBID_FUZZ_EXAMPLES=200`` runs longer."""
from __future__ import annotations

import io
import os
import re
from urllib.parse import quote

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD, pdf_bytes

EXAMPLES = int(os.environ.get("SUNBID_FUZZ_EXAMPLES", "10"))
ROLES = ("anonymous", "admin", "agency", "bidder", "expert", "custodian", "supervisor")
SKIP = ("static", "bootstrap.static")

HOSTILE = ["99999999999999999999", str(2**63), str(2**63 - 1), str(2**31), "²", "-1", "0", "1\x00", "\x00",
           "١٢", "1e3", " 1", "1.5", "x" * 300, "", "%", "../", "<script>", "'; --", "0x10", "NaN", "∞",
           "9999-12-31T23:59", "0001-01-01T00:00", "2026-02-30T10:00", "00000000000000000000001"]
hostile_text = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(HOSTILE), st.text(max_size=30),
                         st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=3000),
                         st.integers().map(str))
QUERY_NAMES = ["page", "per_page", "q", "status", "category", "region", "lot", "index", "size", "from", "to",
               "start", "end", "tender", "actor", "action", "role", "next", "lang", "mode"]
FORM_NAMES = ["username", "password", "title", "regime", "category", "region", "estimated_price", "deposit",
              "download_start", "download_end", "deadline", "project_code", "description", "qualification",
              "evaluation_method", "lot_name_1", "lot_price_1", "lot_name_2", "lot_price_2", "min_issue_days",
              "min_download_days", "amendment_notice_days", "deposit_cap_percent", "min_bids", "new_deadline",
              "text", "answer", "reason", "share", "objection", "lot", "mode", "self_recipient", "revoke",
              "tk-name", "pw-old_password", "pw-new_password", "age-age_recipient", "kind", "name",
              "credit_code", "contact", "display_name", "role", "organisation_id", "active", "q"]
AUTH = [None, "Bearer \x00", "Bearer sb_" + "A" * 40, "Bearer ", "Bearer " + "x" * 5000, "Basic Zm9vOmJhcg==",
        "Bearer sb_²", "bearer", "Bearer sb_\u00e9\u4e2d"]
TUS_HEADERS = ["Tus-Resumable", "Upload-Length", "Upload-Offset", "Upload-Defer-Length", "Upload-Metadata"]
CONVERTER_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert m, page[:500]
    return m.group(1)


class Fuzz:
    """The app, a little real data (so some ids exist), one logged-in session per role, the figures."""

    def __init__(self, app, make):
        self.app = app
        agency = make.user("agency", username="fz_agency")
        published, _ = make.tender(agency, publish=True)
        draft, _ = make.tender(agency)
        self.ids = [published.id, draft.id, published.documents[0].id, draft.documents[0].id, 1]
        self.cookies: dict[str, tuple[str, str, str]] = {}
        for role in ROLES[1:]:
            if role != "agency":
                make.user(role, username=f"fz_{role}")
            c = app.test_client()
            token = _csrf(c.get("/login").get_data(as_text=True))
            resp = c.post("/login", data={"username": f"fz_{role}", "password": PASSWORD, "csrf_token": token})
            assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
            form_token = _csrf(c.get("/").get_data(as_text=True))
            cookie = c.get_cookie("session")
            self.cookies[role] = (cookie.key, cookie.value, form_token)
        self.sent, self.failures = 0, []

    def client(self, role: str):
        c = self.app.test_client()
        token = ""
        if role != "anonymous":
            key, value, token = self.cookies[role]
            c.set_cookie(key, value)
        return c, token


def _path_values(rule, ids):
    values = {}
    for conv, name in CONVERTER_ARG.findall(rule.rule):
        if conv in ("int", "id"):
            values[name] = st.one_of(st.sampled_from([str(i) for i in ids]), st.sampled_from(HOSTILE),
                                     st.integers().map(str))
        elif conv == "path":
            values[name] = st.text(min_size=1, max_size=50)
        else:
            values[name] = st.one_of(st.sampled_from(HOSTILE[:-3] + ["a" * 64]), st.text(min_size=1, max_size=80))
    return st.fixed_dictionaries(values)


def _url(rule, values) -> str:
    def sub(m):
        return quote(values[m.group(2)], safe="")

    return CONVERTER_ARG.sub(sub, rule.rule)


def _drive(fuzz: Fuzz, rule, method: str) -> None:
    request = st.fixed_dictionaries({
        "path": _path_values(rule, fuzz.ids),
        "role": st.sampled_from(ROLES),
        "query": st.dictionaries(st.one_of(st.sampled_from(QUERY_NAMES), st.text(max_size=10)), hostile_text,
                                 min_size=1, max_size=4),
        "form": st.dictionaries(st.one_of(st.sampled_from(FORM_NAMES), st.text(max_size=10)), hostile_text,
                                max_size=8),
        "multipart": st.booleans(),
        "auth": st.sampled_from(AUTH),
        "tus": st.dictionaries(st.sampled_from(TUS_HEADERS), st.sampled_from(["1.0.0", "0.2", "²", "-1", "99" * 20,
                                                                               "10", "0", "", "x y"]), max_size=3),
    })

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(request)
    def one(r):
        client, token = fuzz.client(r["role"])
        headers = {k: v for k, v in r["tus"].items()}
        if r["auth"] is not None:
            headers["Authorization"] = r["auth"]
        kwargs = {"query_string": r["query"], "headers": headers}
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            form = dict(r["form"])
            if token:
                form["csrf_token"] = token
            if method == "PATCH":
                headers["Content-Type"] = "application/offset+octet-stream"
                kwargs["data"] = b"age-encryption.org/v1\n" + b"\x00" * 32
            elif r["multipart"]:
                form["file"] = (io.BytesIO(pdf_bytes()), r["form"].get("name", "f.pdf")[:50] or "f.pdf")
                kwargs["data"], kwargs["content_type"] = form, "multipart/form-data"
            else:
                kwargs["data"] = form
        url = _url(rule, r["path"])
        try:
            resp = client.open(url, method=method, **kwargs)
            status = resp.status_code
        except Exception as exc:  # an exception that escaped the error handlers is a 5xx too
            status = f"raised {type(exc).__name__}: {exc}"[:200]
        fuzz.sent += 1
        if not isinstance(status, int) or status >= 500:
            fuzz.failures.append((method, url[:120], r["role"], dict(r["query"]), sorted(r["form"])[:5], status))

    one()


def test_no_route_answers_5xx_to_hostile_input(csrf_app, make, backend):
    fuzz = Fuzz(csrf_app, make)
    rules = sorted((r for r in csrf_app.url_map.iter_rules() if r.endpoint not in SKIP), key=lambda r: r.rule)
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD"}):
            _drive(fuzz, rule, method)
    print(f"\nfuzz[{backend}]: {fuzz.sent} requests, {len(fuzz.failures)} answers of 5xx")
    assert fuzz.sent >= len(rules) * EXAMPLES
    assert fuzz.failures == [], "\n".join(map(str, fuzz.failures[:40]))
