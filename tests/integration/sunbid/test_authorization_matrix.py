"""The authorization matrix (tests/authz_matrix.py) against the URL map: every route and method is requested
as a user of every role and anonymously, and each answer is an allow or a deny exactly as its row says.  A
route without a row, or a row without a route, fails; so does a row that allows more than the route's
``@permission`` declares.  On SQLite and PostgreSQL.

Deny is 401 or 403, or a redirect to the login page; anything else (a 2xx, another redirect, a 4xx such as
404 for an object that is not the caller's or 409 for a state that does not allow the act) is an allow.
Every request runs in a savepoint rolled back afterwards, so each one meets the same data."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from core.roles import USER_ROLES
from tests.authz_matrix import ANONYMOUS, EVERYONE, LOGGED_IN, MATRIX
from tests.conftest import PASSWORD

WHO = (ANONYMOUS, *(str(r) for r in USER_ROLES))
SKIP = ("static", "bootstrap.static")
ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def routes(app) -> dict[tuple[str, str], str]:
    """(endpoint, method) → URL rule, every method a route answers (HEAD and automatic OPTIONS aside)."""
    found = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"}) or ["OPTIONS"]
        for method in methods:
            found[(rule.endpoint, method)] = rule.rule
    return found


def allowed(row) -> set[str]:
    if row == EVERYONE:
        return set(WHO)
    if row == LOGGED_IN:
        return set(WHO) - {ANONYMOUS}
    return {str(r) for r in row}


def declared(app, endpoint: str) -> set[str]:
    marks = {str(m) for m in app.view_functions[endpoint]._permission}
    if "public" in marks:
        return set(WHO)
    if "logged_in" in marks:
        return set(WHO) - {ANONYMOUS}
    return marks


class World:
    """One user of each role, logged in with a browser session and holding an API token, and the objects the
    routes name: a published tender of the agency with a document, key shares sealed to the custodian, a
    bidder that downloaded the documents."""

    def __init__(self, app, make, session):
        self.app = app
        custodian_name = next(iter(make.custodians()))
        agency = make.user("agency", username="mx_agency")
        tender, _ = make.tender(agency, publish=True)
        bidder = make.bidder_of(tender)
        from accounts.models import User

        custodian = session.query(User).filter_by(username=custodian_name).one()
        people = {"agency": agency, "bidder": bidder, "supervisor": make.supervisor(),
                  "admin": make.user("admin", username="mx_admin"), "expert": make.user("expert", username="mx_expert")}
        self.names = {role: who.name for role, who in people.items()} | {"custodian": custodian_name}
        self.tokens = {role: make.api_token(who) for role, who in people.items()}
        from core.actor import Actor

        self.tokens["custodian"] = make.api_token(Actor(user_id=custodian.id, name=custodian.username, role="custodian",
                                                        organisation_id=custodian.organisation_id))
        self.values = {"tender_id": tender.id, "document_id": tender.documents[0].id, "user_id": bidder.user_id,
                       "organisation_id": bidder.organisation_id,
                       "question_id": 1, "objection_id": 1, "request_id": 1, "seq": 1, "bid_id": "b_nope",
                       "upload_id": "u_nope", "code": "en", "expert_number": 1}
        self.cookies = {}
        for role, name in self.names.items():
            c = app.test_client()
            resp = c.post("/login", data={"username": name, "password": PASSWORD})
            assert resp.status_code == 302 and "/login" not in resp.headers["Location"], (role, resp.status_code)
            cookie = c.get_cookie("session")
            self.cookies[role] = (cookie.key, cookie.value)

    def url(self, rule: str) -> str:
        return ARG.sub(lambda m: str(self.values[m.group(2)]), rule)

    def request(self, who: str, method: str, rule: str):
        c = self.app.test_client()
        headers = {}
        if who != ANONYMOUS:
            if rule.startswith("/api/"):
                headers.update(self.tokens[who])
            else:
                c.set_cookie(*self.cookies[who])
        return c.open(self.url(rule), method=method, headers=headers)


@contextmanager
def rolled_back(connection) -> Iterator[None]:
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()


def denied(resp) -> bool:
    if resp.status_code in (401, 403):
        return True
    return resp.status_code in (301, 302, 303, 307, 308) and "/login" in resp.headers.get("Location", "")


def test_every_route_has_a_row_and_every_row_a_route(app):
    found = set(routes(app))
    assert sorted(found - set(MATRIX)) == [], "routes without a row in tests/authz_matrix.py"
    assert sorted(set(MATRIX) - found) == [], "rows of tests/authz_matrix.py without a route"


def test_no_row_allows_more_than_its_route_declares(app):
    wider = {key: sorted(allowed(row) - declared(app, key[0])) for key, row in MATRIX.items()
             if key[0] in app.view_functions and allowed(row) - declared(app, key[0])}
    assert wider == {}


def test_the_matrix(app, make, session, connection):
    world = World(app, make, session)
    session.commit()
    wrong = []
    for (endpoint, method), rule in sorted(routes(app).items()):
        expected = allowed(MATRIX.get((endpoint, method), ()))
        for who in WHO:
            with rolled_back(connection):
                resp = world.request(who, method, rule)
                resp.get_data()  # a streamed answer runs to its end inside the savepoint
                resp.close()
            assert resp.status_code < 500, (endpoint, method, who, resp.status_code)
            if denied(resp) == (who in expected):
                wrong.append(f"{endpoint} {method} as {who}: {resp.status_code} "
                             f"({'denied' if denied(resp) else 'allowed'}, expected the other)")
    assert wrong == [], "\n".join(wrong)
