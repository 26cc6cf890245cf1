"""A submitted bid's receipt carries its audit entry and a c2sp.org/tlog-proof against a checkpoint signed in
the submission's transaction: `sunbid receipt verify` checks it all with no database, names any tampering,
and the proof agrees with the live /api/v1/audit/proof/inclusion."""
from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from audit import merkle, notes, proofs
from audit.models import AuditCheckpoint
from audit.rules import canonical
from tender.models import Bid, OpeningKey

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:9/none"


@pytest.fixture
def open_tender(make, session, clock):
    """A published tender, a bidder who obtained the documents, that bidder's API token, the opening key."""
    t, _agency = make.tender(publish=True)
    return t, make.api_token(make.bidder_of(t)), session.get(OpeningKey, t.id).recipient


def sealed(recipient: str, content: bytes = b"PK\x03\x04 bid") -> bytes:
    import pyrage

    return pyrage.encrypt(content, [pyrage.x25519.Recipient.from_str(recipient)])


def submit(client, t, auth, recipient, content: bytes = b"PK\x03\x04 bid") -> tuple[dict, str]:
    resp = client.post(f"/api/v1/tenders/{t.id}/bids", data=sealed(recipient, content), headers=auth)
    assert resp.status_code == 201, resp.json
    text = client.get(f"/api/v1/bids/{resp.json['id']}/receipt", headers=auth).get_data(as_text=True)
    return resp.json, text


def run_verify(tmp_path, monkeypatch, receipt: str, vkey: str, name: str = "receipt.json"):
    """`sunbid receipt verify` with no database: the configured one is unreachable and the app is never made."""
    from sunbid.cli import main

    def no_app():
        raise AssertionError("receipt verify must not create the application")

    monkeypatch.setattr(main, "create_app", no_app)
    (tmp_path / name).write_text(receipt, encoding="utf-8")
    (tmp_path / "platform.pub").write_text(vkey + "\n", encoding="utf-8")
    args = ["receipt", "verify", str(tmp_path / name), "--key", str(tmp_path / "platform.pub")]
    return CliRunner().invoke(main, args, env={"SUNBID_DATABASE_URL": UNREACHABLE})


def test_the_receipt_is_complete_at_once_and_verifies_offline(client, app, open_tender, session, tmp_path,
                                                             monkeypatch):
    t, auth, recipient = open_tender
    answer, text = submit(client, t, auth, recipient)
    data = json.loads(text)
    bid = session.scalars(select(Bid).where(Bid.public_id == answer["id"])).one()
    assert text == bid.receipt and answer["receipt"] == data  # the API answer carries the same complete receipt
    seq = data["receipt"]["audit_seq"]
    assert seq == bid.audit_seq and data["entry"]["seq"] == seq and data["entry"]["action"] == "bid.submitted"
    assert data["entry"]["payload"]["tender"] == t.project_code

    proof = proofs.parse(data["proof"])
    assert data["proof"].startswith(f"c2sp.org/tlog-proof@v1\nindex {seq - 1}\n") and proof.index == seq - 1
    stored = session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.note == proof.checkpoint))
    # signed with the submission, for this receipt only: not in the public list, which would count the bids
    assert stored is not None and stored.reason == "receipt" and stored.size == seq and not stored.listed

    vkey = app.extensions["sunbid"].signer.vkey()
    out = run_verify(tmp_path, monkeypatch, text, vkey)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith(f"OK: bid {bid.public_id} for tender {t.project_code} lot 1")
    origin = app.extensions["sunbid"].settings.log_origin
    assert lines[1] == (f"OK: audit entry {seq} is in the log at index {seq - 1}, proven against the checkpoint "
                        f"of {origin} at tree size {seq}, signed by the same key.")


def test_the_proof_agrees_with_the_live_api(client, app, open_tender, tmp_path, monkeypatch):
    t, auth, recipient = open_tender
    _first, text = submit(client, t, auth, recipient, b"PK\x03\x04 first")
    data = json.loads(text)
    proof = proofs.parse(data["proof"])
    vkey = app.extensions["sunbid"].signer.vkey()
    checkpoint = notes.open_checkpoint(proof.checkpoint, notes.Verifier.from_vkey(vkey))
    leaf = merkle.leaf_hash(canonical(data["entry"]))

    live = client.get(f"/api/v1/audit/proof/inclusion?index={proof.index}&size={checkpoint.size}").json
    assert live["leaf_hash"] == leaf.hex() and live["root"] == checkpoint.root.hex()
    assert live["proof"] == [h.hex() for h in proof.hashes]
    listed = client.get("/api/v1/audit/checkpoints?per_page=200").json["items"]
    assert listed and all("reason" not in c for c in listed)  # a checkpoint says nothing of why it was made

    # The log grows (a later bid supersedes this one): the first receipt still verifies as it is, the live
    # proof at the new size includes the same leaf, and the new tree is consistent with the receipt's.
    _second, later = submit(client, t, auth, recipient, b"PK\x03\x04 second")
    size = json.loads(later)["receipt"]["audit_seq"]
    assert size > checkpoint.size
    assert run_verify(tmp_path, monkeypatch, text, vkey).exit_code == 0
    assert run_verify(tmp_path, monkeypatch, later, vkey, "later.json").exit_code == 0
    grown = client.get(f"/api/v1/audit/proof/inclusion?index={proof.index}&size={size}").json
    assert merkle.verify_inclusion(leaf, proof.index, size, [bytes.fromhex(h) for h in grown["proof"]],
                                   bytes.fromhex(grown["root"]))
    consistency = client.get(f"/api/v1/audit/proof/consistency?from={checkpoint.size}&to={size}").json
    assert merkle.verify_consistency(checkpoint.size, size, checkpoint.root, bytes.fromhex(grown["root"]),
                                     [bytes.fromhex(h) for h in consistency["proof"]])


def _edit(text: str, fn) -> str:
    data = json.loads(text)
    fn(data)
    return json.dumps(data, ensure_ascii=False, indent=2)


def _resign_checkpoint(data: dict, signer: notes.Signer) -> None:
    p = proofs.parse(data["proof"])
    body = p.checkpoint.split("\n\n")[0] + "\n"
    data["proof"] = proofs.TlogProof(index=p.index, hashes=p.hashes, checkpoint=notes.sign_note(body, signer)).encode()


def _replace_hash_line(data: dict) -> None:
    lines = data["proof"].split("\n")
    assert lines[2], "the test needs a proof with at least one hash"
    lines[2] = "A" * 43 + "="
    data["proof"] = "\n".join(lines)


def _change_root(data: dict) -> None:
    head, _sep, note = data["proof"].partition("\n\n")
    origin, size, root, rest = note.split("\n", 3)
    other = base64.b64encode(b"\x01" * 32).decode()
    assert other != root
    data["proof"] = head + "\n\n" + "\n".join([origin, size, other, rest])


def test_tampering_with_each_part_is_named(client, app, open_tender, tmp_path, monkeypatch):
    t, auth, recipient = open_tender
    submit(client, t, auth, recipient, b"PK\x03\x04 earlier")  # so the bid's entry has a non-empty path
    _answer, text = submit(client, t, auth, recipient)
    vkey = app.extensions["sunbid"].signer.vkey()
    origin = app.extensions["sunbid"].settings.log_origin
    seq = json.loads(text)["receipt"]["audit_seq"]
    cases = [
        ("receipt field", lambda d: d["receipt"].update(size=d["receipt"]["size"] + 1),
         "the signature does not match the platform key"),
        ("entry", lambda d: d["entry"].update(address="10.6.6.6"),
         "the audit entry was altered: its SHA-256 is not the audit_hash the receipt signs"),
        ("entry payload", lambda d: d["entry"]["payload"].update(sha256="0" * 64),
         "the audit entry was altered"),
        ("proof hash", _replace_hash_line,
         f"inclusion proof: the inclusion path from index {seq - 1} does not lead to the signed root of the "
         f"checkpoint of size {seq}"),
        ("proof index", lambda d: d.update(proof=d["proof"].replace(f"index {seq - 1}\n", f"index {seq - 2}\n")),
         f"inclusion proof: the proof is for index {seq - 2}, not for index {seq - 1}"),
        ("checkpoint root", _change_root,
         "inclusion proof: the checkpoint's signature does not match its text (the checkpoint was altered)"),
        ("checkpoint key", lambda d: _resign_checkpoint(d, notes.Signer.generate(origin)),
         "inclusion proof: the checkpoint carries no signature by the key"),
        ("missing checkpoint", lambda d: d.update(proof=d["proof"].split("\n\n")[0] + "\n"),
         "inclusion proof: the checkpoint is missing"),
        ("truncated checkpoint", lambda d: d.update(proof=d["proof"][:-20]),
         "inclusion proof: the checkpoint is not a well-formed signed note"),
        ("missing proof", lambda d: d.pop("proof"), "it carries the audit entry but not its inclusion proof"),
    ]
    for name, mutate, message in cases:
        out = run_verify(tmp_path, monkeypatch, _edit(text, mutate), vkey, f"{name.replace(' ', '-')}.json")
        assert out.exit_code == 1, (name, out.output)
        assert out.output.startswith("INVALID: The receipt does not verify: ") and message in out.output, \
            (name, out.output)


def test_a_receipt_without_proof_still_verifies_and_says_so(client, app, open_tender, tmp_path, monkeypatch):
    t, auth, recipient = open_tender
    _answer, text = submit(client, t, auth, recipient)
    old = _edit(text, lambda d: (d.pop("entry"), d.pop("proof")))
    out = run_verify(tmp_path, monkeypatch, old, app.extensions["sunbid"].signer.vkey())
    assert out.exit_code == 0, out.output
    assert out.output.startswith("OK: bid ") and "NOTE: this receipt carries no inclusion proof" in out.output


def test_a_foreign_or_malformed_key_file_is_refused(client, app, open_tender, tmp_path, monkeypatch):
    t, auth, recipient = open_tender
    _answer, text = submit(client, t, auth, recipient)
    other = notes.Signer.generate(app.extensions["sunbid"].settings.log_origin).vkey()
    out = run_verify(tmp_path, monkeypatch, text, other)
    assert out.exit_code == 1 and "the signature does not match the platform key" in out.output
    out = run_verify(tmp_path, monkeypatch, text, "not a key")
    assert out.exit_code != 0 and "not a platform verifier key" in out.output


def test_the_receipts_entry_is_salted_and_still_verifies_offline(client, app, open_tender, session, tmp_path,
                                                               monkeypatch):
    """The entry a receipt carries is format version 2, with its salt, so the bidder can hash it offline;
    without the salt (or with another) it is no longer the entry the log and the receipt signed."""
    t, auth, recipient = open_tender
    _answer, text = submit(client, t, auth, recipient)
    data = json.loads(text)
    entry = data["entry"]
    assert entry["v"] == 2 and len(entry["salt"]) == 64 and bytes.fromhex(entry["salt"])
    from audit.models import AuditEntry

    row = session.get(AuditEntry, entry["seq"])
    assert row.salt == entry["salt"] and row.leaf_hash == merkle.leaf_hash(canonical(entry)).hex()
    vkey = app.extensions["sunbid"].signer.vkey()
    assert run_verify(tmp_path, monkeypatch, text, vkey).exit_code == 0
    for changed in ({k: v for k, v in entry.items() if k not in ("salt", "v")},
                    {**entry, "salt": "0" * 64}):
        bad = json.dumps({**data, "entry": changed})
        out = run_verify(tmp_path, monkeypatch, bad, vkey, name="bad.json")
        assert out.exit_code != 0 and "audit entry was altered" in out.output, out.output
