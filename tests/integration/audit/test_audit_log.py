"""The audit log as a Merkle tree: stored subtrees, signed checkpoints, proofs over HTTP, concurrency."""
from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from audit import merkle, notes
from audit.models import AuditCheckpoint, AuditEntry
from audit.service import record, root_at, to_entry, tree_size, verify
from core.actor import Actor
from core.db import make_sessionmaker, unit_of_work
from tests.conftest import empty_database

ALICE = Actor(user_id=None, name="alice", role="system", address="127.0.0.1")


def _append(session, n: int, now) -> None:
    for i in range(n):
        with unit_of_work(session):
            record(session, actor=ALICE, action="test.event", object_type="test", object_id=i, now=now,
                   payload={"i": i})


def _leaves(session) -> list[bytes]:
    return [to_entry(r).encode() for r in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def test_stored_tree_matches_the_rfc_definition(session, clock):
    _append(session, 37, clock.now())
    leaves = _leaves(session)
    for size in (1, 2, 3, 8, 13, 32, 37):
        assert root_at(session, size) == merkle.root_hash(leaves[:size])
    assert verify(session) == 37


def test_an_append_reads_only_the_head_and_writes_the_completed_subtrees(session, clock):
    from audit.models import AuditHead, AuditNode

    _append(session, 12, clock.now())
    head = session.get(AuditHead, 1)
    leaves = _leaves(session)
    assert head.frontier.split(",") == [merkle.root_hash(leaves[s:s + z]).hex() for s, z in merkle.range_subtrees(12)]
    nodes = {(n.start, n.size): n.hash for n in session.scalars(select(AuditNode))}
    assert set(nodes) == {(s, z) for n in range(1, 13) for s, z in merkle.perfect_subtrees_completed(n)}
    assert all(nodes[(s, z)] == merkle.root_hash(leaves[s:s + z]).hex() for s, z in nodes)


def test_a_head_without_compact_range_is_rebuilt_from_the_stored_subtrees(session, clock):
    """A log written before the head kept its compact range (migration 0002) goes on growing correctly."""
    _append(session, 11, clock.now())
    session.execute(text("UPDATE audit_head SET frontier = NULL"))
    session.expire_all()
    _append(session, 10, clock.now())
    leaves = _leaves(session)
    for size in (11, 16, 21):
        assert root_at(session, size) == merkle.root_hash(leaves[:size])
    assert verify(session) == 21


def test_proofs_over_http_verify(client, session, clock):
    _append(session, 21, clock.now())
    leaves = _leaves(session)
    root = merkle.root_hash(leaves)
    for index in (0, 7, 20):
        body = client.get(f"/api/v1/audit/proof/inclusion?index={index}&size=21").json
        assert body["root"] == root.hex() and body["leaf_hash"] == merkle.leaf_hash(leaves[index]).hex()
        assert merkle.verify_inclusion(bytes.fromhex(body["leaf_hash"]), index, 21,
                                       [bytes.fromhex(h) for h in body["proof"]], root)
    body = client.get("/api/v1/audit/proof/consistency?from=6&to=21").json
    assert merkle.verify_consistency(6, 21, bytes.fromhex(body["old_root"]), bytes.fromhex(body["new_root"]),
                                     [bytes.fromhex(h) for h in body["proof"]])
    assert body["old_root"] == merkle.root_hash(leaves[:6]).hex()


@pytest.mark.parametrize("url", [
    "/api/v1/audit/proof/inclusion?index=5&size=5", "/api/v1/audit/proof/inclusion?index=0&size=99",
    "/api/v1/audit/proof/inclusion?index=-1&size=3", "/api/v1/audit/proof/inclusion?index=a&size=3",
    "/api/v1/audit/proof/inclusion?size=3", "/api/v1/audit/proof/consistency?from=4&to=2",
    "/api/v1/audit/proof/consistency?from=0&to=2", "/api/v1/audit/proof/consistency?from=1&to=999",
    "/api/v1/audit/entries?start=5&end=2", "/api/v1/audit/checkpoints?page=0",
    "/api/v1/audit/proof/inclusion?index=1&size=99999999999999999999999",
])
def test_bad_proof_requests_are_clear_4xx(client, session, clock, url):
    _append(session, 5, clock.now())
    resp = client.get(url)
    assert resp.status_code == 400 and resp.json["error"]["message"]


def test_signed_checkpoint_and_verifier_key(client, session, clock):
    _append(session, 4, clock.now())
    vkey = client.get("/audit/vkey").get_data(as_text=True).strip()
    note = client.get("/audit/checkpoint").get_data(as_text=True)
    cp = notes.open_checkpoint(note, notes.Verifier.from_vkey(vkey))
    assert cp.size == 4 and cp.root == root_at(session, 4)
    listed = client.get("/api/v1/audit/checkpoints").json
    assert listed["items"][0]["note"] == note and listed["items"][0]["tree_size"] == 4


def test_publication_issues_a_checkpoint(client, make, session, clock):
    from tests.conftest import login

    t, agency = make.tender()
    login(client, agency.name)
    client.post(f"/agency/tenders/{t.id}/publish")
    cp = session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()))
    assert cp is not None and cp.reason == "tender.published" and cp.size == tree_size(session)


def test_entries_hashes_for_everyone_payload_for_supervisors(client, make, session, clock):
    _append(session, 3, clock.now())
    public = client.get("/api/v1/audit/entries?start=0&end=3").json
    assert [e["index"] for e in public["entries"]] == [0, 1, 2] and "entry" not in public["entries"][0]
    make.user("supervisor", username="sup")
    from accounts import service as accounts
    from accounts.models import User

    sup = session.scalar(select(User).where(User.username == "sup"))
    with unit_of_work(session):
        _row, token = accounts.create_api_token(session, actor=Actor(sup.id, "sup", "supervisor", sup.organisation_id),
                                                name="t", now=clock.now())
    detailed = client.get("/api/v1/audit/entries?start=0&end=3", headers={"Authorization": f"Bearer {token}"}).json
    assert detailed["entries"][0]["entry"]["payload"] == {"i": 0}


@pytest.mark.skipif(not os.environ.get("SUNBID_TEST_DATABASE_URL"), reason="needs PostgreSQL for real concurrency")
def test_eight_concurrent_writers_make_a_gapless_chain_on_postgresql(engines, tmp_path_factory):
    from tests.conftest import _engine_for

    engine = _engine_for("postgresql", engines, tmp_path_factory)
    sessions = make_sessionmaker(engine)
    with sessions() as s, unit_of_work(s):
        empty_database(s)
    barrier = threading.Barrier(8)
    now = datetime(2026, 3, 2, tzinfo=UTC)

    def writer(w: int) -> None:
        with sessions() as s:
            barrier.wait()
            for i in range(25):
                with unit_of_work(s):
                    record(s, actor=ALICE, action="test.concurrent", object_type="writer", object_id=w,
                           now=now + timedelta(milliseconds=i), payload={"w": w, "i": i})

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    try:
        with sessions() as s:
            seqs = list(s.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
            assert seqs == list(range(1, 201))  # no gap, no duplicate
            assert verify(s) == 200
            assert root_at(s, 200) == merkle.root_hash(_leaves(s))
    finally:
        with sessions() as s, unit_of_work(s):
            empty_database(s)
