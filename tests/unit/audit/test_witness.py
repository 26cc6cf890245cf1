"""c2sp.org/tlog-witness add-checkpoint: the request format and the witness's checks, with their status codes."""
from __future__ import annotations

import os

import pytest

from audit import merkle, notes
from audit.witness import EMPTY_ROOT, AddCheckpoint, KnownLog, Record, WitnessError, check_request, parse_request

# another log than Sunbid's: its key's name is not its origin (allowed by c2sp.org/tlog-checkpoint)
ORIGIN = "example.com/behind-the-sofa"
LOG_SKEY, LOG_VKEY = notes.generate_signer("example.com/sofa-key-2026")
LOG = notes.Signer.from_skey(LOG_SKEY)
LOGS = {ORIGIN: KnownLog.of(ORIGIN, [LOG_VKEY])}
LEAVES = [os.urandom(16) for _ in range(20)]


def signed(size: int, root: bytes | None = None, signer: notes.Signer = LOG, origin: str = ORIGIN) -> str:
    root = merkle.root_hash(LEAVES[:size]) if root is None else root
    return notes.sign_note(notes.Checkpoint(origin, size, root).body(), signer)


def request(old: int, size: int, **kw) -> AddCheckpoint:
    proof = merkle.consistency_proof(LEAVES[:size], old) if 0 < old < size else []
    return AddCheckpoint(old, tuple(proof), signed(size, **kw))


def record(size: int) -> Record:
    return Record(size, merkle.root_hash(LEAVES[:size]))


def status(req: AddCheckpoint, rec: Record | None) -> int:
    with pytest.raises(WitnessError) as e:
        check_request(req, logs=LOGS, record=rec)
    return e.value.status


def test_the_body_round_trips_and_reads_as_the_spec_shows():
    req = request(5, 12)
    assert parse_request(req.body()) == req
    text = req.body().decode()
    assert text.startswith("old 5\n") and f"\n\n{ORIGIN}\n12\n" in text
    assert text.count("\n", 0, text.index("\n\n") + 1) == 1 + len(req.proof)


@pytest.mark.parametrize("body", [
    b"", b"old 5", b"old 05\n\n", b"old -1\n\n", b"old  5\n\n", b"new 5\n\n", b"old 5\nnot-base64!\n\n",
    b"old 5\n" + notes.b64encode(b"short").encode() + b"\n\n", b"old 5\n" + b"\xff\n\n",
    b"old 5\n" + (notes.b64encode(bytes(32)) + "\n").encode() * 64 + b"\n",
    b"old 5\n" + notes.b64encode(bytes(32)).encode(),  # no empty line
])
def test_malformed_bodies_are_400(body):
    with pytest.raises(WitnessError) as e:
        parse_request(body)
    assert e.value.status == 400


def test_growth_is_cosigned_with_a_key_whose_name_is_not_the_origin():
    cp = check_request(request(0, 5), logs=LOGS, record=None)
    assert (cp.origin, cp.size) == (ORIGIN, 5)
    assert check_request(request(5, 12), logs=LOGS, record=record(5)).size == 12
    assert check_request(request(12, 12), logs=LOGS, record=record(12)).size == 12  # the same again


def test_unknown_origin_is_404():
    other = notes.Signer.from_skey(notes.generate_signer("elsewhere.example/log")[0])
    assert status(request(0, 3, signer=other, origin="elsewhere.example/log"), None) == 404


def test_no_valid_signature_from_the_logs_key_is_403():
    impostor = notes.Signer.from_skey(notes.generate_signer("example.com/sofa-key-2026")[0])
    assert status(request(0, 3, signer=impostor), None) == 403  # same name, other key: an unknown key
    good = signed(3)
    forged = good.replace(f"\n3\n", "\n4\n", 1)  # the log's key, a signature that does not verify
    assert status(AddCheckpoint(0, (), forged), None) == 403


def test_an_old_size_above_the_checkpoint_is_400():
    assert status(AddCheckpoint(9, (), signed(5)), record(9)) == 400


def test_an_old_size_that_is_not_the_record_is_409_with_the_records_size():
    with pytest.raises(WitnessError) as e:
        check_request(request(3, 12), logs=LOGS, record=record(5))
    assert (e.value.status, e.value.size) == (409, 5)
    with pytest.raises(WitnessError) as e:
        check_request(request(5, 12), logs=LOGS, record=None)  # never cosigned: the size is 0
    assert (e.value.status, e.value.size) == (409, 0)


def test_the_same_size_with_another_root_is_409():
    with pytest.raises(WitnessError) as e:
        check_request(AddCheckpoint(5, (), signed(5, root=os.urandom(32))), logs=LOGS, record=record(5))
    assert (e.value.status, e.value.size) == (409, 5)


def test_a_size_0_checkpoint_must_have_the_empty_root():
    assert check_request(AddCheckpoint(0, (), signed(0, root=EMPTY_ROOT)), logs=LOGS, record=None).size == 0
    assert EMPTY_ROOT == merkle.root_hash([])
    with pytest.raises(WitnessError) as e:
        check_request(AddCheckpoint(0, (), signed(0, root=merkle.root_hash(LEAVES[:3]))), logs=LOGS, record=None)
    assert e.value.status == 409


def test_a_proof_that_does_not_verify_is_422():
    good = request(5, 12)
    assert status(AddCheckpoint(5, (os.urandom(32),) + good.proof[1:], good.note), record(5)) == 422
    assert status(AddCheckpoint(5, good.proof[:-1], good.note), record(5)) == 422
    forked = [os.urandom(16) for _ in range(12)]
    note = signed(12, root=merkle.root_hash(forked))
    assert status(AddCheckpoint(5, tuple(merkle.consistency_proof(forked, 5)), note), record(5)) == 422
    assert status(AddCheckpoint(0, (os.urandom(32),), signed(5)), None) == 422  # from 0 the proof is empty


def test_two_keys_of_one_name_and_id_for_a_log_are_refused():
    impostor = notes.Verifier.from_vkey(notes.generate_signer("example.com/sofa-key-2026")[1])
    real = notes.Verifier.from_vkey(LOG_VKEY)
    impostor.key_id = real.key_id
    with pytest.raises(notes.AmbiguousKeys):
        notes.open_checkpoint(signed(3), [real, impostor], origin=ORIGIN)


def test_sunbids_own_log_still_requires_the_origin_to_be_the_key_name():
    with pytest.raises(notes.OriginMismatch):
        notes.open_checkpoint(signed(3), notes.Verifier.from_vkey(LOG_VKEY))
    assert notes.open_checkpoint(signed(3), [notes.Verifier.from_vkey(LOG_VKEY)], origin=ORIGIN).size == 3
    with pytest.raises(notes.OriginMismatch):
        notes.open_checkpoint(signed(3), [notes.Verifier.from_vkey(LOG_VKEY)], origin="example.com/other")


def test_the_pull_form_refuses_a_size_0_checkpoint_with_a_non_empty_root():
    from audit.witness import WitnessRefusal, witness

    own_skey, own_vkey = notes.generate_signer("sunbid.example/audit")
    own = notes.Signer.from_skey(own_skey)
    signer = notes.WitnessSigner.from_skey(notes.generate_witness("witness.example/w1")[0])
    verifier = notes.Verifier.from_vkey(own_vkey)
    bad = notes.sign_checkpoint(notes.Checkpoint("sunbid.example/audit", 0, merkle.root_hash(LEAVES[:2])), own)
    with pytest.raises(WitnessRefusal, match="fork"):
        witness(new_note=bad, previous_note=None, log_verifier=verifier, signer=signer, timestamp=1,
                consistency=lambda old, new: [])
    good = notes.sign_checkpoint(notes.Checkpoint("sunbid.example/audit", 0, EMPTY_ROOT), own)
    assert witness(new_note=good, previous_note=None, log_verifier=verifier, signer=signer, timestamp=1,
                   consistency=lambda old, new: []).checkpoint.size == 0
