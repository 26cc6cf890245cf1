"""Witnesses cosign only checkpoints that extend what they saw; the platform keeps their cosignatures."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from audit import merkle, notes, service
from audit.witness import WitnessRefusal, witness
from core.actor import Actor
from core.db import unit_of_work

WHO = Actor(user_id=None, name="clerk", role="system", address="127.0.0.1")


def _append(session, clock, n):
    for i in range(n):
        with unit_of_work(session):
            service.record(session, actor=WHO, action="test.event", object_type="t", object_id=i, now=clock.now())


def _checkpoint(app, session, clock):
    p = app.extensions["sunbid"]
    with unit_of_work(session):
        return service.issue_checkpoint(session, signer=p.signer, origin=p.settings.log_origin, now=clock.now(),
                                        reason="test").note


def _proofs(session):
    source = service.TreeSource(session)
    return lambda old, new: merkle.consistency_path(source, old, new)


def test_witness_cosigns_growth_and_refuses_forks_and_rollbacks(app, session, clock):
    p = app.extensions["sunbid"]
    skey, _vkey = notes.generate_witness("witness.example/w1")
    signer = notes.WitnessSigner.from_skey(skey)
    verifier = p.signer.verifier()
    _append(session, clock, 5)
    first = _checkpoint(app, session, clock)
    one = witness(new_note=first, previous_note=None, log_verifier=verifier, signer=signer, timestamp=100,
                  consistency=_proofs(session))
    assert notes.verify_cosignature(one.cosigned_note, signer.vkey()) == 100
    _append(session, clock, 7)
    second = _checkpoint(app, session, clock)
    two = witness(new_note=second, previous_note=first, log_verifier=verifier, signer=signer, timestamp=200,
                  consistency=_proofs(session))
    assert two.checkpoint.size == 12
    with pytest.raises(WitnessRefusal, match="rollback"):
        witness(new_note=first, previous_note=second, log_verifier=verifier, signer=signer, timestamp=300,
                consistency=_proofs(session))
    # a forked log: same size as `second`, another history, signed by the same (compromised) platform key
    forked = notes.sign_checkpoint(notes.Checkpoint(p.settings.log_origin, 12, merkle.root_hash([b"x"] * 12)),
                                   p.signer)
    with pytest.raises(WitnessRefusal, match="fork"):
        witness(new_note=forked, previous_note=second, log_verifier=verifier, signer=signer, timestamp=300,
                consistency=_proofs(session))
    bigger_fork = notes.sign_checkpoint(notes.Checkpoint(p.settings.log_origin, 16, merkle.root_hash([b"x"] * 16)),
                                        p.signer)
    with pytest.raises(WitnessRefusal, match="fork"):
        witness(new_note=bigger_fork, previous_note=second, log_verifier=verifier, signer=signer, timestamp=300,
                consistency=lambda old, new: merkle.consistency_proof([b"x"] * 16, old))
    _skey, other_vkey = notes.generate_signer(p.settings.log_origin)
    with pytest.raises(WitnessRefusal, match="not signed"):
        witness(new_note=second, previous_note=None, log_verifier=notes.Verifier.from_vkey(other_vkey),
                signer=signer, timestamp=300, consistency=_proofs(session))


def test_platform_stores_registered_witness_cosignatures_only(app, client, session, clock):
    skey, vkey = notes.generate_witness("witness.example/w2")
    signer = notes.WitnessSigner.from_skey(skey)
    _append(session, clock, 3)
    note = _checkpoint(app, session, clock)
    cp = notes.open_checkpoint(note, app.extensions["sunbid"].signer.verifier())
    cosigned = note + notes.cosign(cp, signer, 1700000000)
    assert client.post("/api/v1/audit/cosignatures", data=cosigned).status_code == 400  # not registered yet
    with unit_of_work(session):
        service.register_witness(session, actor=Actor.system(), vkey=vkey, now=clock.now())
    resp = client.post("/api/v1/audit/cosignatures", data=cosigned)
    assert resp.status_code == 201 and resp.json["witness"] == "witness.example/w2"
    tampered = cosigned.replace(f"\n{cp.size}\n", f"\n{cp.size + 1}\n", 1)
    assert client.post("/api/v1/audit/cosignatures", data=tampered).status_code == 400
    listed = client.get("/api/v1/audit/checkpoints").json["items"]
    mine = next(i for i in listed if i["note"] == note)
    assert mine["cosignatures"][0]["timestamp"] == 1700000000
    assert notes.verify_cosignature(note + mine["cosignatures"][0]["line"], vkey) == 1700000000


def test_witness_command_against_a_live_server(app, session, clock, tmp_path):
    """`sunbid audit witness` over real HTTP: cosigns, keeps state, and cosigns again after growth."""
    from sunbid.cli import main

    _append(session, clock, 4)
    runner = CliRunner()
    wkey = tmp_path / "w.skey"
    vkey = runner.invoke(main, ["audit", "witness-keygen", "witness.example/w3", "-o", str(wkey)]).output.strip()
    with unit_of_work(session):
        service.register_witness(session, actor=Actor.system(), vkey=vkey, now=clock.now())
    (tmp_path / "platform.pub").write_text(app.extensions["sunbid"].signer.vkey())
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        args = ["audit", "witness", "--log", f"http://127.0.0.1:{server.server_port}", "--key",
                str(tmp_path / "platform.pub"), "--witness-key", str(wkey), "--state", str(tmp_path / "state")]
        first = runner.invoke(main, args)
        assert first.exit_code == 0, first.output
        assert "Cosigned tree size 5" in first.output  # 4 entries + the witness registration
        _append(session, clock, 3)
        clock.advance(timedelta(hours=1))  # the next checkpoint is due by time
        second = runner.invoke(main, args)
        assert second.exit_code == 0 and "Cosigned tree size 9" in second.output, second.output  # + cosignature + 3
    finally:
        server.shutdown()
