"""Bids are named by opaque public ids: random, not a counter, and the internal integer key never reaches a bidder
(URLs, API answers, tus headers, receipts, pages, the audit entry, the CLI)."""
from __future__ import annotations

import base64
import json
import re
from urllib.parse import urlsplit

import pyrage
from click.testing import CliRunner
from sqlalchemy import select, text

from audit.models import AuditEntry
from core.db import unit_of_work
from tender.models import Bid, OpeningKey, new_public_id
from tests.conftest import login
from tests.integration.sunbid.test_secrecy_sweep import normalised

OPAQUE = re.compile(r"[A-Za-z0-9_-]{22}")
TUS = {"Tus-Resumable": "1.0.0"}
BIG = 48151623  # the internal ids of the bids made here start after this: a number no page has by chance


def seal(recipient: str, seed: bytes) -> bytes:
    return pyrage.encrypt(b"PK\x03\x04 " + seed * 50, [pyrage.x25519.Recipient.from_str(recipient)])


def start_bid_ids_after(session, make, clock, n: int) -> None:
    """Make the next internal bid id ``n + 1`` (PostgreSQL: the sequence; SQLite: a row with id ``n``, as a new
    row gets the largest rowid plus one)."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('tender_bid', 'id'), :n)"), {"n": n})
        return
    other, _agency = make.tender(publish=True)
    someone = make.bidder_of(other)
    with unit_of_work(session):
        session.add(Bid(id=n, public_id=new_public_id(), tender_id=other.id, lot=1,
                        organisation_id=someone.organisation_id, user_id=someone.user_id, sha256="0" * 64, size=1,
                        received_at=clock.now(), status="withdrawn"))


def is_opaque(value) -> bool:
    return (isinstance(value, str) and OPAQUE.fullmatch(value) is not None and not value.isdigit()
            and len(base64.urlsafe_b64decode(value + "==")) == 16)


def test_public_ids_are_random_and_tell_no_order_or_count(client, make, session, clock):
    t, _agency = make.tender(publish=True)
    recipient = session.get(OpeningKey, t.id).recipient
    ids = []
    for i in range(10):  # ten bids in a row, by ten bidders
        bidder = make.bidder_of(t)
        resp = client.post(f"/api/v1/tenders/{t.id}/bids", data=seal(recipient, b"%d" % i), headers=make.api_token(bidder))
        assert resp.status_code == 201, resp.json
        ids.append(resp.json["id"])
    assert all(is_opaque(i) for i in ids), ids  # 128 random bits, URL-safe: no integer
    assert len(set(ids)) == len(ids)
    # Not increasing (nor decreasing) in any order one could compare them by: ten random ids come out sorted
    # with a chance of 2 in 10! ≈ 5.5e-7.
    for key in (str, lambda v: base64.urlsafe_b64decode(v + "==")):
        ranked = sorted(ids, key=key)
        assert ids != ranked and ids != ranked[::-1]
    receipts = [json.loads(session.scalar(select(Bid.receipt).where(Bid.public_id == i)))["receipt"] for i in ids]
    assert [r["bid_id"] for r in receipts] == ids  # the receipt names the bid by the same opaque id


def test_new_public_ids_are_distinct():
    ids = {new_public_id() for _ in range(5000)}
    assert len(ids) == 5000 and all(is_opaque(i) for i in ids)


def test_no_bidder_facing_answer_carries_the_internal_id(app, client, make, session, clock, tmp_path):
    start_bid_ids_after(session, make, clock, BIG)
    t, _agency = make.tender(publish=True)
    recipient = session.get(OpeningKey, t.id).recipient
    bidder = make.bidder_of(t)
    auth = make.api_token(bidder)
    seen: list[str] = []

    def keep(resp):
        seen.append(resp.get_data(as_text=True))
        seen.append("\n".join(f"{k}: {v}" for k, v in resp.headers.items()))
        return resp

    direct = keep(client.post(f"/api/v1/tenders/{t.id}/bids", data=seal(recipient, b"one"), headers=auth))
    assert direct.status_code == 201
    first = direct.json["id"]
    keep(client.get(f"/api/v1/tenders/{t.id}/bids", headers=auth))
    keep(client.get(f"/api/v1/bids/{first}/receipt", headers=auth))

    body = seal(recipient, b"two")  # the same bidder again, over tus: supersedes the first
    created = keep(client.post(f"/api/v1/tenders/{t.id}/uploads", headers={**auth, **TUS, "Upload-Length": str(len(body))}))
    url = urlsplit(created.headers["Location"]).path
    last = keep(client.patch(url, data=body, headers={**auth, **TUS, "Content-Type": "application/offset+octet-stream",
                                                       "Upload-Offset": "0"}))
    second = last.headers["Sunbid-Bid-Id"]
    keep(client.head(url, headers={**auth, **TUS}))
    keep(client.get(url, headers=auth))
    keep(client.patch(url, data=b"", headers={**auth, **TUS, "Content-Type": "application/offset+octet-stream",
                                               "Upload-Offset": str(len(body))}))  # 409 naming the bid
    keep(client.delete(url, headers={**auth, **TUS}))  # 409 too
    keep(client.get(f"/api/v1/tenders/{t.id}/bids", headers=auth))
    keep(client.post(f"/api/v1/bids/{second}/withdraw", headers=auth))

    login(client, bidder.name)
    keep(client.get(f"/tenders/{t.id}"))
    keep(client.get(f"/bids/{second}/receipt.json"))
    keep(client.get(f"/api/v1/tenders/{t.id}"))

    rows = session.scalars(select(Bid).where(Bid.tender_id == t.id).order_by(Bid.id)).all()
    assert [b.id for b in rows] == [BIG + 1, BIG + 2]  # the check below can fail
    assert [b.public_id for b in rows] == [first, second] and all(is_opaque(b.public_id) for b in rows)
    receipt = json.loads(rows[1].receipt)
    assert receipt["receipt"]["bid_id"] == second and receipt["entry"]["object"]["id"] == second
    payload = json.loads(session.scalars(select(AuditEntry.payload).where(AuditEntry.action == "bid.submitted")
                                         .order_by(AuditEntry.seq.desc())).first())
    assert payload["supersedes"] == [first]  # the log names bids by their public ids too

    path = tmp_path / "receipt.json"
    path.write_text(rows[1].receipt)
    (tmp_path / "platform.pub").write_text(app.extensions["sunbid"].signer.vkey())
    from sunbid.cli import main

    out = CliRunner().invoke(main, ["receipt", "verify", str(path), "--key", str(tmp_path / "platform.pub")])
    assert out.exit_code == 0 and out.output.startswith(f"OK: bid {second} "), out.output
    seen.append(out.output)

    assert second in "".join(seen) and first in "".join(seen)
    for internal in (BIG + 1, BIG + 2):
        leaks = [s for s in seen if str(internal) in s]
        assert leaks == [], (internal, leaks)


def test_a_rival_probing_a_bid_gets_what_a_missing_bid_gets(client, make, session):
    t, _agency = make.tender(publish=True)
    recipient = session.get(OpeningKey, t.id).recipient
    owner, rival = make.bidder_of(t), make.bidder_of(t)
    mine = client.post(f"/api/v1/tenders/{t.id}/bids", data=seal(recipient, b"x"), headers=make.api_token(owner)).json
    rival_auth = make.api_token(rival)
    for path in ("/api/v1/bids/{}/receipt", "/api/v1/bids/{}/withdraw"):
        method = client.get if path.endswith("receipt") else client.post
        answers = [method(path.format(bid_id), headers=rival_auth) for bid_id in (mine["id"], new_public_id(), "1")]
        assert {a.status_code for a in answers} == {404}
        assert len({a.get_data() for a in answers}) == 1  # the same body: nothing tells an existing bid apart
    body = seal(recipient, b"y")  # an upload of the owner's, probed by the rival
    created = client.post(f"/api/v1/tenders/{t.id}/uploads", headers={**make.api_token(owner), **TUS,
                                                                        "Upload-Length": str(len(body))})
    upload = urlsplit(created.headers["Location"]).path.rsplit("/", 1)[1]
    for sent, extra in (("HEAD", {}), ("GET", {}), ("DELETE", {}),
                        ("PATCH", {"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})):
        answers = [client.open(f"/api/v1/uploads/{upload_id}", method=sent, data=b"x" if sent == "PATCH" else None,
                               headers={**rival_auth, **TUS, **extra})
                   for upload_id in (upload, new_public_id() + new_public_id())]
        assert [a.status_code for a in answers] == [404, 404], sent
        assert answers[0].get_data() == answers[1].get_data()
        assert sorted(answers[0].headers.items()) == sorted(answers[1].headers.items())
    login(client, rival.name)
    withdrawn = [client.post(f"/bids/{bid_id}/withdraw") for bid_id in (mine["id"], new_public_id())]
    assert [w.status_code for w in withdrawn] == [404, 404]
    assert session.scalar(select(Bid.status).where(Bid.public_id == mine["id"])) == "current"
    probes = (mine["id"], new_public_id())
    pages = [client.get(f"/bids/{bid_id}/receipt.json") for bid_id in probes]
    assert [p.status_code for p in pages] == [404, 404]
    bodies = {normalised(p.get_data(as_text=True)).replace(bid_id, "ID") for p, bid_id in zip(pages, probes)}
    assert len(bodies) == 1  # the page names the address asked for (the language links), nothing more
