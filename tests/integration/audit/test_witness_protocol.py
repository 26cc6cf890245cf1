"""c2sp.org/tlog-witness over real HTTP: the bundled witness served live on localhost, and the log pushing its
checkpoints to it after commit, storing the cosignatures it verified."""
from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.serving import make_server

from audit import merkle, notes, service
from audit.models import AuditCosignature, AuditEntry, AuditWitness
from audit.witness import EMPTY_ROOT, AddCheckpoint, KnownLog
from audit.witness_push import parse_witnesses, push_witnesses
from audit.witness_server import WitnessStore, make_app
from core.actor import Actor
from core.config import ConfigError
from core.db import unit_of_work

WHO = Actor(user_id=None, name="clerk", role="system", address="127.0.0.1")


class LiveWitness:
    """The bundled witness on a free local port."""

    def __init__(self, tmp_path, logs, name="witness.example/w1"):
        skey, self.vkey = notes.generate_witness(name)
        self.signer = notes.WitnessSigner.from_skey(skey)
        self.store = WitnessStore(tmp_path / f"{name.replace('/', '_')}.sqlite")
        self.server = make_server("127.0.0.1", 0, make_app(signer=self.signer, logs=logs, store=self.store),
                                  threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def post(self, body: bytes, path: str = "/add-checkpoint", method: str = "POST"):
        req = urllib.request.Request(self.url + path, data=body, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers["Content-Type"], r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers["Content-Type"], e.read().decode()

    def close(self):
        self.server.shutdown()


# ---------------------------------------------------------------- the witness, for any log

ORIGIN = "example.com/behind-the-sofa"
LEAVES = [os.urandom(16) for _ in range(40)]


@pytest.fixture
def foreign(tmp_path):
    skey, vkey = notes.generate_signer("example.com/sofa-key")  # the key's name is not the origin
    w = LiveWitness(tmp_path, [KnownLog.of(ORIGIN, [vkey])])
    w.log = notes.Signer.from_skey(skey)
    yield w
    w.close()


def _note(w, size, root=None, origin=ORIGIN):
    root = merkle.root_hash(LEAVES[:size]) if root is None else root
    return notes.sign_note(notes.Checkpoint(origin, size, root).body(), w.log)


def _body(w, old, size, **kw):
    proof = merkle.consistency_proof(LEAVES[:size], old) if 0 < old < size else []
    return AddCheckpoint(old, tuple(proof), _note(w, size, **kw)).body()


def test_each_status_code_of_add_checkpoint(foreign):
    w = foreign
    status, ctype, text = w.post(_body(w, 0, 5))
    assert status == 200 and ctype.startswith("text/plain")
    assert text.startswith("— witness.example/w1 ") and text.endswith("\n") and text.count("\n") == 1
    note = _note(w, 5)
    ts = notes.verify_cosignature(note + text, w.vkey)
    assert ts is not None and abs(ts - __import__("time").time()) < 60
    assert w.post(_body(w, 5, 12))[0] == 200
    assert w.post(_body(w, 12, 12))[0] == 200  # the same checkpoint again
    # 409: an old size that is not the latest cosigned, with the size as text/x.tlog.size
    assert w.post(_body(w, 5, 20)) == (409, "text/x.tlog.size", "12\n")
    assert w.post(_body(w, 0, 20)) == (409, "text/x.tlog.size", "12\n")
    assert w.post(AddCheckpoint(12, (), _note(w, 12, root=os.urandom(32))).body())[:2] == (409, "text/x.tlog.size")
    # 422: a proof that does not verify (a fork of the same size range)
    forked = [os.urandom(16) for _ in range(20)]
    bad = AddCheckpoint(12, tuple(merkle.consistency_proof(forked, 12)), _note(w, 20, root=merkle.root_hash(forked)))
    assert w.post(bad.body())[0] == 422
    # 404: unknown origin; 403: not signed by the log's key; 400: malformed, or old above the size
    other = notes.Signer.from_skey(notes.generate_signer("elsewhere.example/log")[0])
    unknown = notes.sign_note(notes.Checkpoint("elsewhere.example/log", 3, merkle.root_hash(LEAVES[:3])).body(), other)
    assert w.post(AddCheckpoint(0, (), unknown).body())[0] == 404
    impostor = notes.Signer.from_skey(notes.generate_signer("example.com/sofa-key")[0])
    assert w.post(AddCheckpoint(12, (), notes.sign_note(notes.Checkpoint(ORIGIN, 12, merkle.root_hash(
        LEAVES[:12])).body(), impostor)).body())[0] == 403
    assert w.post(b"old 12\n")[0] == 400
    assert w.post(AddCheckpoint(13, (), _note(w, 12)).body())[0] == 400
    assert w.post(b"", path="/add-checkpoint", method="GET")[0] == 405
    assert w.post(_body(w, 12, 20), path="/other")[0] == 404
    # none of the refusals moved the record
    assert w.store.latest(ORIGIN)[0].size == 12
    assert w.post(_body(w, 12, 20))[0] == 200 and w.store.latest(ORIGIN)[0].size == 20


def test_size_0_needs_the_empty_root(foreign):
    w = foreign
    assert w.post(AddCheckpoint(0, (), _note(w, 0, root=merkle.root_hash(LEAVES[:4]))).body()) == \
        (409, "text/x.tlog.size", "0\n")
    assert w.store.latest(ORIGIN) is None
    assert w.post(AddCheckpoint(0, (), _note(w, 0, root=EMPTY_ROOT)).body())[0] == 200
    assert w.post(_body(w, 0, 3))[0] == 200


def test_concurrent_requests_cannot_both_advance_from_one_old_size(foreign):
    w = foreign
    assert w.post(_body(w, 0, 4))[0] == 200
    for _round in range(3):
        old = w.store.latest(ORIGIN)[0].size
        sizes = [old + 1 + i for i in range(8)]
        results: dict[int, tuple] = {}
        barrier = threading.Barrier(len(sizes))

        def send(size, old=old, barrier=barrier, results=results):
            body = _body(w, old, size)
            barrier.wait()
            results[size] = w.post(body)

        threads = [threading.Thread(target=send, args=(s,)) for s in sizes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [s for s, r in results.items() if r[0] == 200]
        assert len(winners) == 1, results
        stored = w.store.latest(ORIGIN)[0].size
        assert stored == winners[0]
        for s, r in results.items():
            if s != winners[0]:
                assert r[:2] == (409, "text/x.tlog.size") and int(r[2]) in sizes


# ---------------------------------------------------------------- Sunbid's log pushing to it


def _append(session, clock, n):
    for i in range(n):
        with unit_of_work(session):
            service.record(session, actor=WHO, action="test.event", object_type="t", object_id=i, now=clock.now())


@pytest.fixture
def pushing(settings, clock, connection, tmp_path):
    """Sunbid's app with SUNBID_WITNESSES naming the bundled witness, served live."""
    from audit.keys import load_or_create
    from sunbid.app import create_app

    signer = load_or_create(settings.key_file, settings.log_origin)
    w = LiveWitness(tmp_path, [KnownLog.of(settings.log_origin, [signer.vkey()])])
    app = create_app(settings.with_(witnesses=f"{w.url} {w.vkey}"), clock=clock, bind=connection,
                     session_options={"join_transaction_mode": "create_savepoint"})
    yield app, w
    w.close()


def test_the_log_pushes_new_checkpoints_and_keeps_the_verified_cosignatures(pushing, clock):
    app, w = pushing
    client = app.test_client()
    session = app.extensions["sunbid"].sessions()
    _append(session, clock, 4)
    note = client.get("/audit/checkpoint").get_data(as_text=True)  # issues a checkpoint: pushed after commit
    cp = notes.open_checkpoint(note, app.extensions["sunbid"].signer.verifier())
    cosigs = session.scalars(select(AuditCosignature)).all()
    assert [(c.witness, c.checkpoint_id) for c in cosigs] == [("witness.example/w1", cosigs[0].checkpoint_id)]
    assert notes.verify_cosignature(note + cosigs[0].line, w.vkey) == cosigs[0].timestamp
    assert w.store.latest(cp.origin)[0].size == cp.size == 4
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions[-2:] == ["witness.registered", "checkpoint.cosigned"]
    assert session.scalar(select(AuditWitness.vkey)) == w.vkey
    # the log grows: the next checkpoint goes with a consistency proof from size 4
    _append(session, clock, 5)
    clock.advance(timedelta(hours=1))
    second = notes.open_checkpoint(client.get("/audit/checkpoint").get_data(as_text=True),
                                   app.extensions["sunbid"].signer.verifier())
    assert second.size == 4 + 2 + 5 and w.store.latest(cp.origin)[0].size == second.size
    assert len(session.scalars(select(AuditCosignature)).all()) == 2
    # the public list shows them
    listed = client.get("/api/v1/audit/checkpoints").json["items"]
    assert all(i["cosignatures"] for i in listed)
    # nothing new to push
    assert [r.outcome for r in push_witnesses(app.extensions["sunbid"])] == ["up_to_date"]
    session.close()


def test_a_witness_that_lost_its_state_answers_409_and_the_push_resumes_from_its_size(pushing, clock, tmp_path):
    app, w = pushing
    client = app.test_client()
    session = app.extensions["sunbid"].sessions()
    _append(session, clock, 3)
    client.get("/audit/checkpoint")
    assert len(session.scalars(select(AuditCosignature)).all()) == 1
    os.unlink(w.store.path)  # the witness starts afresh: it holds nothing (size 0)
    w.store.__init__(w.store.path)
    _append(session, clock, 2)
    clock.advance(timedelta(hours=1))
    client.get("/audit/checkpoint")
    assert len(session.scalars(select(AuditCosignature)).all()) == 2
    session.close()


def test_an_unreachable_witness_is_retried_by_the_cli(settings, clock, connection, tmp_path):
    from sunbid.app import create_app
    from sunbid.cli import main

    skey, vkey = notes.generate_witness("witness.example/late")
    port_holder = make_server("127.0.0.1", 0, lambda env, start: [], threaded=False)
    port = port_holder.server_port
    port_holder.server_close()  # nothing listens there yet
    app = create_app(settings.with_(witnesses=f"http://127.0.0.1:{port} {vkey}"), clock=clock, bind=connection,
                     session_options={"join_transaction_mode": "create_savepoint"})
    platform = app.extensions["sunbid"]
    session = platform.sessions()
    _append(session, clock, 2)
    assert app.test_client().get("/audit/checkpoint").status_code == 200  # the push failed, the request did not
    assert session.scalars(select(AuditCosignature)).all() == []
    from flask.cli import ScriptInfo

    def cli():
        with app.app_context():
            return CliRunner().invoke(main, ["audit", "push-witnesses"], obj=ScriptInfo(create_app=lambda: app))

    failed = cli()
    assert failed.exit_code == 2 and "witness.example/late: unreachable" in failed.output, failed.output
    store = WitnessStore(tmp_path / "late.sqlite")
    served = make_server("127.0.0.1", port, make_app(signer=notes.WitnessSigner.from_skey(skey),
                                                       logs=[KnownLog.of(settings.log_origin,
                                                                         [platform.signer.vkey()])],
                                                       store=store), threaded=True)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    try:
        retried = cli()
        assert retried.exit_code == 0 and "witness.example/late: cosigned (tree size 2)" in retried.output
        assert len(session.scalars(select(AuditCosignature)).all()) == 1
        assert [(r.witness, r.outcome) for r in push_witnesses(platform)] == [("witness.example/late", "up_to_date")]
    finally:
        served.shutdown()
    session.close()


def test_a_cosignature_from_another_key_is_not_kept(settings, clock, connection, tmp_path):
    """The witness answers with a line signed by a key other than the configured one: refused, nothing stored."""
    from sunbid.app import create_app

    from audit.keys import load_or_create

    _skey, configured_vkey = notes.generate_witness("witness.example/w1")
    signer = load_or_create(settings.key_file, settings.log_origin)
    w = LiveWitness(tmp_path, [KnownLog.of(settings.log_origin, [signer.vkey()])])  # same name, another key
    try:
        platform_app = create_app(settings.with_(witnesses=f"{w.url} {configured_vkey}"), clock=clock,
                                  bind=connection, session_options={"join_transaction_mode": "create_savepoint"})
        session = platform_app.extensions["sunbid"].sessions()
        _append(session, clock, 2)
        platform_app.test_client().get("/audit/checkpoint")
        assert session.scalars(select(AuditCosignature)).all() == []
        results = push_witnesses(platform_app.extensions["sunbid"])
        assert results[0].outcome == "refused" and "no valid cosignature" in results[0].detail
        session.close()
    finally:
        w.close()


def test_witness_configuration_is_checked():
    _s, vkey = notes.generate_witness("witness.example/w1")
    assert [w.name for w in parse_witnesses(f"https://w1.example/ {vkey}\n; https://w2.example {vkey}")] == \
        ["witness.example/w1"] * 2
    for bad in ("w1.example " + vkey, "https://w1.example", "https://w1.example notakey",
                "https://w1.example " + notes.generate_signer("log.example")[1]):
        with pytest.raises(ConfigError):
            parse_witnesses(bad)
    # a vkey states its key ID and it must match the key: a colliding pair cannot even be written down here
    # (the refusal of two keys of one name and ID is tested on verifier sets, tests/unit/audit/test_notes.py)
