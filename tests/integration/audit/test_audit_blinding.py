"""The public audit log gives away nothing of who takes part in an open tender.

The attack of the secrecy issue, repeated: for an open tender before its deadline, with several bidders
downloading its documents and submitting bids, an anonymous client (and a rival bidder) reads the public
API, guesses the fields of every download and bid entry — knowing even more than an outsider could (every
user, every object id, the exact times, the true payloads and previous hashes) — hashes each guess as the old
format would and finds nothing.  After the (current) deadline the entries become readable and verify.
"""
from __future__ import annotations

import ast
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from audit import merkle
from audit.disclosure import Action, Actions
from audit.models import AuditEntry
from audit.rules import Disclosure, Entry, canonical
from core.db import unit_of_work
from accounts.models import Organisation, User
from tender.models import Bid, Document, OpeningKey

ROOT = Path(__file__).resolve().parents[3]


def sealed(recipient: str, content: bytes) -> bytes:
    import pyrage

    return pyrage.encrypt(content, [pyrage.x25519.Recipient.from_str(recipient)])


def open_tender_with_bidders(make, session, client, clock, bidders: int = 3):
    """A published tender; ``bidders`` bidders each download its documents and submit a bid over the API,
    a few seconds apart.  Returns (tender, bidder tokens)."""
    t, _agency = make.tender(publish=True, documents=2)
    recipient = session.get(OpeningKey, t.id).recipient
    tokens = []
    for i in range(bidders):
        clock.advance(timedelta(seconds=7))
        who = make.bidder_of(t)
        auth = make.api_token(who)
        tokens.append(auth)
        clock.advance(timedelta(seconds=3))
        resp = client.post(f"/api/v1/tenders/{t.id}/bids", data=sealed(recipient, b"PK\x03\x04 bid %d" % i),
                           headers=auth)
        assert resp.status_code == 201, resp.json
    clock.advance(timedelta(seconds=1))  # the attacker reads afterwards
    return t, tokens


def public_view(client, headers=None) -> tuple[dict, dict, str]:
    entries = client.get("/api/v1/audit/entries?start=0&end=1000", headers=headers or {})
    checkpoints = client.get("/api/v1/audit/checkpoints?per_page=200", headers=headers or {})
    assert entries.status_code == 200 and checkpoints.status_code == 200
    return entries.json, checkpoints.json, entries.get_data(as_text=True) + checkpoints.get_data(as_text=True)


def guesses(session, row: AuditEntry, documents, bids, times):
    """Every v1 (unsalted) entry the attacker would try for this index: each user as actor, each of the
    actions that tell who takes part, each document or bid as object, each time any entry was made, the true
    payload of each download and bid, and — more than an outsider could know — the true previous hash."""
    users = session.scalars(select(User)).all()
    bid_rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "bid.submitted")).all()
    payloads = ([("document", str(d.id), {"sha256": d.sha256}) for d in documents]
                + [("bid", r.object_id, json.loads(r.payload)) for r in bid_rows])
    for user in users:
        for action in ("document.downloaded", "bid.submitted"):
            for object_type, object_id, payload in payloads:
                for at in times:
                    yield Entry(seq=row.seq, at=at, actor_id=user.id, actor=user.username, role=user.role,
                                address="127.0.0.1", action=action, object_type=object_type, object_id=object_id,
                                payload=payload, prev_hash=row.prev_hash)


def test_guessing_the_entries_of_an_open_tender_finds_nothing(client, make, session, clock):
    t, tokens = open_tender_with_bidders(make, session, client, clock)
    documents = session.scalars(select(Document).where(Document.tender_id == t.id)).all()
    bids = session.scalars(select(Bid).where(Bid.tender_id == t.id)).all()
    secret = session.scalars(select(AuditEntry).where(
        AuditEntry.action.in_(("document.downloaded", "bid.submitted")))).all()
    assert len(secret) == 6 and len(bids) == 3
    times = sorted({r.at for r in session.scalars(select(AuditEntry))})

    for headers in (None, tokens[0]):  # anonymous, and a rival bidder with its API token
        entries, checkpoints, text = public_view(client, headers)
        published = {item["index"]: item for item in entries["entries"]}
        assert not entries["detailed"] and len(published) == entries["tree_size"]
        leaves = {item["leaf_hash"] for item in entries["entries"]}
        tried = 0
        for row in secret:
            item = published[row.seq - 1]
            assert item == {"index": row.seq - 1, "leaf_hash": row.leaf_hash}  # nothing but its place and hash
            truth = Entry(seq=row.seq, at=row.at, actor_id=row.actor_id, actor=row.actor, role=row.role,
                          address=row.address, action=row.action, object_type=row.object_type,
                          object_id=row.object_id, payload=json.loads(row.payload), prev_hash=row.prev_hash)
            found_truth = False
            for guess in guesses(session, row, documents, bids, times):
                tried += 1
                found_truth |= guess == truth
                assert merkle.leaf_hash(guess.encode()).hex() not in leaves, f"entry {row.seq} guessed"
            # the guesses were complete: the true fields were among them, and only the salt defeats them
            assert found_truth
            salted = Entry(**{**truth.__dict__, "salt": row.salt})
            assert merkle.leaf_hash(salted.encode()).hex() == row.leaf_hash
        assert tried > 1000
        # and the output names no bidder, no action and no time of the entries withheld
        names = [o.name for o in session.scalars(select(Organisation).where(Organisation.kind == "bidder"))]
        codes = [o.credit_code for o in session.scalars(select(Organisation).where(Organisation.kind == "bidder"))]
        usernames = [u.username for u in session.scalars(select(User).where(User.role == "bidder"))]
        for needle in [*names, *codes, *usernames, "document.downloaded", "bid.submitted", '"bidder"',
                       *(r.at.strftime("%Y-%m-%dT%H:%M:%S") for r in secret), *(r.hash for r in secret)]:
            assert needle not in text, needle
        assert all("reason" not in c for c in checkpoints["items"])


def test_after_the_current_deadline_the_entries_are_readable(client, make, session, clock, app):
    t, tokens = open_tender_with_bidders(make, session, client, clock, bidders=2)
    agency = make.user("agency", org=session.get(Organisation, t.agency_id))
    original = t.deadline
    with unit_of_work(session):  # an amendment moves the deadline out by a week
        from tender import publication

        publication.amend_tender(session, actor=agency, tender_id=t.id, text="补充说明", now=clock.now(),
                                 requested_deadline=original + timedelta(days=7))
    session.refresh(t)
    assert t.deadline == original + timedelta(days=7)
    downloads = session.scalars(select(AuditEntry).where(AuditEntry.action == "document.downloaded")).all()

    def shown() -> dict[int, dict]:
        return {i["index"]: i for i in client.get("/api/v1/audit/entries?start=0&end=1000").json["entries"]}

    clock.set(original + timedelta(hours=1))  # past the first deadline, not the current one: still withheld
    assert all("entry" not in shown()[r.seq - 1] for r in downloads)
    clock.set(t.deadline)
    now_shown = shown()
    for r in downloads:
        item = now_shown[r.seq - 1]
        entry = item["entry"]
        assert entry["action"] == "document.downloaded" and entry["actor"]["name"] == r.actor
        assert entry["v"] == 2 and entry["salt"] == r.salt
        assert merkle.leaf_hash(canonical(entry)).hex() == item["leaf_hash"] == r.leaf_hash
    # accounts' entries stay with supervisors whatever the time
    logins = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.created")).all()
    assert logins and all(now_shown[r.seq - 1].keys() == {"index", "leaf_hash"} for r in logins)


def test_supervisors_read_everything_at_once(client, make, session, clock):
    t, _tokens = open_tender_with_bidders(make, session, client, clock, bidders=1)
    supervisor = make.api_token(make.user("supervisor"))
    body = client.get("/api/v1/audit/entries?start=0&end=1000", headers=supervisor).json
    assert body["detailed"] and all("entry" in i and "prev_hash" in i for i in body["entries"])
    assert "bid.submitted" in {i["entry"]["action"] for i in body["entries"]}


# ---------------------------------------------------------------- every action has a rule

def recorded_actions() -> set[str]:
    """Every action name the code passes to audit.service.record (string literals, also inside a
    conditional expression), found by reading the source."""
    found: set[str] = set()
    for path in ROOT.glob("*/*.py"):
        if path.parts[-2] in ("tests", "migrations", "benchmarks", ".venv"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "record":
                for kw in node.keywords:
                    if kw.arg == "action":
                        found |= {c.value for c in ast.walk(kw.value)
                                  if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return found


def test_every_action_the_code_records_has_a_disclosure_rule(app):
    actions = recorded_actions()
    assert {"document.downloaded", "bid.submitted", "user.logged_in", "opening.confirmed",
            "opening.objection", "witness.registered"} <= actions  # the scan sees them all
    registered = app.extensions["sunbid"].audit_actions.rules
    assert sorted(actions - registered.keys()) == []
    # who is bidding: never public at once
    for name in ("document.downloaded", "bid.submitted", "bid.upload_created", "question.asked", "user.logged_in"):
        assert registered[name] is not Disclosure.PUBLIC


def test_an_unregistered_action_is_for_supervisors_and_a_rule_cannot_be_changed():
    actions = Actions()
    actions.register(Action("tender.published", Disclosure.PUBLIC))
    assert actions.rule("tender.publishd") is Disclosure.SUPERVISORS
    actions.register(Action("tender.published", Disclosure.PUBLIC))  # the same again is fine
    with pytest.raises(ValueError):
        actions.register(Action("tender.published", Disclosure.AFTER_DEADLINE))
    with pytest.raises(TypeError):
        actions.register(Action("x.y", "public"))  # type: ignore[arg-type]


def test_an_unregistered_action_is_withheld_from_the_public(client, app, session, clock):
    from audit import service
    from core.actor import Actor

    with unit_of_work(session):
        service.record(session, actor=Actor.system(), action="experts.drawn", object_type="tender", object_id=1,
                       now=clock.now(), tender_id=None)
    item = client.get("/api/v1/audit/entries?start=0&end=1000").json["entries"][-1]
    assert item.keys() == {"index", "leaf_hash"}


# ---------------------------------------------------------------- the count

def world(data_dir, acts: list[str]):
    """A platform of its own: an open tender with three bidders who obtained its documents; then each bidder
    in turn, ten seconds apart, does ``acts[i]`` — "bid" (submits a bid) or "login" (logs in and nothing
    more), one audit entry either way.  Returns what the public and a bidder read afterwards."""
    from tests.conftest import login, standalone

    data_dir.mkdir()
    app, session, clock, make = standalone(data_dir)
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        t, _agency = make.tender(publish=True)
        recipient = session.get(OpeningKey, t.id).recipient
        bidders = [make.bidder_of(t) for _ in range(3)]
        tokens = [make.api_token(b) for b in bidders]
        session.commit()
        session.close()
        for who, auth, act in zip(bidders, tokens, acts, strict=True):
            clock.advance(timedelta(seconds=10))
            client = app.test_client()
            if act == "bid":
                resp = client.post(f"/api/v1/tenders/{t.id}/bids", data=sealed(recipient, b"PK\x03\x04 bid"),
                                   headers=auth)
                assert resp.status_code == 201, resp.json
            else:
                assert login(client, who.name).status_code == 302
        clock.advance(timedelta(seconds=1))
        return public_view(app.test_client()), public_view(app.test_client(), tokens[0])
    finally:
        session.close()


def shape(view) -> tuple:
    """Everything in a public view but the hash values (random salts make those differ between any two logs)."""
    entries, checkpoints, _text = view
    return ([(i["index"], sorted(i), i.get("entry", {}).get("action"), i.get("entry", {}).get("time"),
              i.get("entry", {}).get("actor")) for i in entries["entries"]], entries["tree_size"],
            [(c["tree_size"], c["created_at"], sorted(c), len(c["cosignatures"])) for c in checkpoints["items"]],
            checkpoints["total"])


def test_the_public_log_does_not_count_the_bids(tmp_path):
    """Three bids or one bid and two logins: the same number of entries, and nothing else public differs —
    the same indexes withheld, the same checkpoints at the same sizes and times, the same lengths."""
    three = world(tmp_path / "three", ["bid", "bid", "bid"])
    one = world(tmp_path / "one", ["bid", "login", "login"])
    for a, b in zip(three, one, strict=True):
        assert shape(a) == shape(b)
        assert len(a[2]) == len(b[2])  # the very response sizes
    entries = three[0][0]["entries"]
    assert sum("entry" not in i for i in entries) >= 3 and any("entry" in i for i in entries)
