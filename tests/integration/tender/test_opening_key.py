"""Publication makes an opening key that only k custodians together can rebuild."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pyrage
import pytest
from sqlalchemy import select, text

from audit.models import AuditEntry
from core.db import unit_of_work
from accounts.models import User
from tender import publication, sealing
from tender.models import KeyShare, OpeningKey
from tests.conftest import login


def test_published_tender_has_a_recipient_and_sealed_shares(make, session, client):
    t, _agency = make.tender(publish=True)
    key = session.get(OpeningKey, t.id)
    assert key.recipient.startswith("age1") and (key.threshold, key.shares) == (2, 3)
    shares = session.scalars(select(KeyShare).where(KeyShare.tender_id == t.id).order_by(KeyShare.position)).all()
    assert len(shares) == 3
    public = client.get(f"/api/v1/tenders/{t.id}").json
    keys = make.custodians()
    holders = [session.get(User, s.custodian_id) for s in shares]
    # the notice names each share's custodian and the fingerprint of the recipient it is sealed to: the first
    # 16 hex digits of SHA-256 over the recipient string, which anyone recomputes from a custodian's own key
    fingerprints = [hashlib.sha256(pyrage.x25519.Identity.from_str(keys[u.username]).to_public().__str__()
                                   .encode()).hexdigest()[:16] for u in holders]
    assert public["opening_key"] == {"recipient": key.recipient, "threshold": 2, "shares": 3, "custodians": [
        {"position": i, "name": u.display_name, "organisation": u.organisation.name, "recipient_fingerprint": f}
        for i, (u, f) in enumerate(zip(holders, fingerprints), start=1)]}
    page = client.get(f"/tenders/{t.id}").get_data(as_text=True)
    assert key.recipient in page
    for u, f in zip(holders, fingerprints):
        assert u.display_name in page and u.organisation.name in page and f in page
    # the publication's audit entry names them too
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "tender.published",
                                                    AuditEntry.tender_id == t.id))
    logged = json.loads(entry.payload)["opening_key"]["custodians"]
    assert [(c["name"], c["organisation"], c["recipient_fingerprint"]) for c in logged] == [
        (u.display_name, u.organisation.name, f) for u, f in zip(holders, fingerprints)]


def test_two_custodians_rebuild_the_identity_and_open_a_bid_sealed_with_real_age(make, session, tmp_path):
    t, _agency = make.tender(publish=True)
    keys = make.custodians()
    key = session.get(OpeningKey, t.id)
    rows = session.scalars(select(KeyShare).where(KeyShare.tender_id == t.id).order_by(KeyShare.position)).all()
    from accounts.models import User

    opened = []
    for row in rows[1:]:  # custodians 2 and 3 come; custodian 1 is away
        username = session.get(User, row.custodian_id).username
        opened.append(sealing.open_share(row.sealed, identity=keys[username]))
    identity = sealing.combine_shares(opened, recipient=key.recipient)
    with pytest.raises(sealing.NotEnoughShares):
        sealing.combine_shares(opened[:1], recipient=key.recipient)
    with pytest.raises(sealing.ShareUnreadable):  # a custodian's identity opens only that custodian's share
        sealing.open_share(rows[0].sealed, identity=keys[session.get(User, rows[1].custodian_id).username])
    if shutil.which("age") is None:
        pytest.skip("the age binary is not installed")
    bid = tmp_path / "bid.zip"
    bid.write_bytes(b"PK\x03\x04 a bid")
    subprocess.run(["age", "-r", key.recipient, "-o", str(tmp_path / "bid.age"), str(bid)], check=True)
    sealing.open_file(tmp_path / "bid.age", tmp_path / "out.zip", identity)
    assert (tmp_path / "out.zip").read_bytes() == bid.read_bytes()


def test_nothing_stored_can_rebuild_the_identity(make, session, connection):
    make.tender(publish=True)
    dump = []
    for table in ("tender_key_share", "tender_opening_key", "audit_entry", "tender_tender", "core_user"):
        for row in connection.execute(text(f"SELECT * FROM {table}")):
            dump.append(" ".join(str(v) for v in row))
    everything = "\n".join(dump)
    assert "AGE-SECRET-KEY" not in everything.upper() and "sunbid-share-v1" not in everything


def test_sealed_share_is_only_for_its_custodian(make, session, client):
    t, agency = make.tender(publish=True)
    keys = make.custodians()
    first, second = list(keys)[:2]
    login(client, first)
    resp = client.get(f"/tenders/{t.id}/key-share.age")
    assert resp.status_code == 200
    share = sealing.open_share(resp.data, identity=keys[first])
    assert share.startswith("sunbid-share-v1:" + t.project_code)
    other = client.application.test_client()
    login(other, agency.name)
    assert other.get(f"/tenders/{t.id}/key-share.age").status_code == 403
    draft, _ = make.tender(agency)
    assert client.get(f"/tenders/{draft.id}/key-share.age").status_code == 404


def test_publication_without_enough_custodians_is_refused(make, session, connection, clock):
    t, _agency = make.tender()
    connection.execute(text("DELETE FROM tender_custodian_key"))
    session.expire_all()
    from core.errors import DomainError

    with pytest.raises(DomainError) as exc:
        with unit_of_work(session):
            publication.publish_tender(session, actor=_agency, tender_id=t.id, now=clock.now())
    assert "3 key custodians" in str(exc.value)
