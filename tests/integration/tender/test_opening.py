"""The opening ceremony with real age-sealed bid packages: k shares after the deadline, one bad bid, the record."""
from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import unit_of_work
from core.errors import DomainError
from tender import bidpackage, bids, downloads, opening, sealing, service
from tender.models import KeyShare, OpeningKey
from tests.conftest import login

pytestmark = pytest.mark.skipif(shutil.which("age") is None, reason="the age binary is not installed")


def _package(tmp_path, t, org, price: str, name: str):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "投标函.pdf").write_bytes(b"%PDF-1.4 " + name.encode())
    out = tmp_path / f"{name}.zip"
    bidpackage.pack(folder, tender=t.project_code, lot=1, bidder_name=org.name, credit_code=org.credit_code,
                    price=price, duration_days=180, validity_days=90, output=out)
    return out


def _bid(session, app, clock, t, tmp_path, name, price, recipient, make):
    from accounts.models import Organisation

    bidder = make.user("bidder")
    with unit_of_work(session):
        downloads.download_document(session, actor=bidder, tender_id=t.id, document_id=t.documents[0].id,
                                    now=clock.now())
    org = session.get(Organisation, bidder.organisation_id)
    package = _package(tmp_path, t, org, price, name)
    sealed_file = tmp_path / f"{name}.age"
    subprocess.run(["age", "-r", recipient, "-o", str(sealed_file), str(package)], check=True)
    platform = app.extensions["sunbid"]
    with sealed_file.open("rb") as f:
        stored = bids.store_sealed(f, blobs=platform.blobs, limit=10**8)
    with unit_of_work(session):
        bids.submit_bid(session, actor=bidder, tender_id=t.id, lot=1, stored=stored, now=clock.now(),
                        signer=platform.signer)
    return org


@pytest.fixture
def ceremony(app, make, session, clock, tmp_path):
    t, agency = make.tender(publish=True)
    keys = make.custodians()
    clock.advance(timedelta(hours=2))
    recipient = session.get(OpeningKey, t.id).recipient
    for i, price in enumerate(("980000.00", "965500.50", "990000")):
        _bid(session, app, clock, t, tmp_path, f"b{i}", price, recipient, make)
    wrong = str(sealing.new_opening_key().recipient)  # a bidder who sealed to the wrong key
    _bid(session, app, clock, t, tmp_path, "wrong", "900000", wrong, make)
    from accounts.models import User

    shares = {}
    for row in session.scalars(select(KeyShare).where(KeyShare.tender_id == t.id)):
        user = session.get(User, row.custodian_id)
        shares[user.username] = (user, sealing.open_share(row.sealed, identity=keys[user.username]), row.position)
    return t, agency, shares


def _present_and_open(session, clock, app, t, agency, shares):
    """At the deadline two custodians present their shares and the agency opens the bids."""
    clock.set(t.deadline)
    for user, share, _pos in list(shares.values())[:2]:
        with unit_of_work(session):
            opening.submit_share(session, actor=_actor(user), tender_id=t.id, share=share, now=clock.now())
    with unit_of_work(session):
        return opening.open_bids(session, actor=agency, tender_id=t.id, now=clock.now(),
                                 blobs=app.extensions["sunbid"].blobs)


def _actor(user):
    from core.actor import Actor

    return Actor(user.id, user.username, user.role, user.organisation_id, "127.0.0.1")


def test_shares_before_the_deadline_are_refused(ceremony, session, clock):
    t, agency, shares = ceremony
    user, share, _pos = next(iter(shares.values()))
    with pytest.raises(DomainError) as exc:
        with unit_of_work(session):
            opening.submit_share(session, actor=_actor(user), tender_id=t.id, share=share, now=clock.now())
    assert exc.value.code == "opening_not_due"


def test_full_opening_with_a_failed_decryption(ceremony, session, clock, app, client):
    t, agency, shares = ceremony
    clock.set(t.deadline)
    (u1, s1, _), (u2, s2, _), (u3, s3, _) = shares.values()
    with unit_of_work(session):
        opening.submit_share(session, actor=_actor(u1), tender_id=t.id, share=s1, now=clock.now())
    with pytest.raises(DomainError) as exc:  # the same share twice
        with unit_of_work(session):
            opening.submit_share(session, actor=_actor(u1), tender_id=t.id, share=s1, now=clock.now())
    assert exc.value.code == "conflict"
    with pytest.raises(DomainError) as exc:  # someone else's share
        with unit_of_work(session):
            opening.submit_share(session, actor=_actor(u2), tender_id=t.id, share=s3, now=clock.now())
    assert exc.value.status == 400
    with pytest.raises(DomainError) as exc:  # one share is not enough
        with unit_of_work(session):
            opening.open_bids(session, actor=agency, tender_id=t.id, now=clock.now(), blobs=app.extensions["sunbid"].blobs)
    assert exc.value.code == "not_enough_shares"
    with unit_of_work(session):
        opening.submit_share(session, actor=_actor(u2), tender_id=t.id, share=s2, now=clock.now())
    with unit_of_work(session):
        results = opening.open_bids(session, actor=agency, tender_id=t.id, now=clock.now(),
                                    blobs=app.extensions["sunbid"].blobs)
    assert [(r.status, r.reason) for r in results] == [("valid", "")] * 3 + [("failed", "no_matching_key")]
    assert [r.price_fen for r in results[:3]] == [98000000, 96550050, 99000000]
    assert results[3].failure_kind == "withdrawal_after_deadline"
    session.expire_all()
    assert service.status(session.get(type(t), t.id), clock.now()).value == "opened"
    assert opening.presented(session, t.id) == []  # the presented shares are gone
    page = client.get(f"/tenders/{t.id}/opening").get_data(as_text=True)  # the record is public
    assert "¥965,500.50" in page and "sealed to a wrong key" in page


def test_opening_on_worker_processes_gives_the_same_record(ceremony, session, clock, app):
    """Many or large bids are decrypted by a pool of processes (one per core); the record is the same and in
    bid order, the failed bid included, and no plaintext is left in the work directory."""
    t, agency, shares = ceremony
    clock.set(t.deadline)
    for user, share, _pos in list(shares.values())[:2]:
        with unit_of_work(session):
            opening.submit_share(session, actor=_actor(user), tender_id=t.id, share=share, now=clock.now())
    work = app.extensions["sunbid"].settings.data_dir / "opening-work"
    work.mkdir()
    with unit_of_work(session):
        results = opening.open_bids(session, actor=agency, tender_id=t.id, now=clock.now(),
                                    blobs=app.extensions["sunbid"].blobs, workdir=work, workers=2)
    assert [(r.status, r.reason) for r in results] == [("valid", "")] * 3 + [("failed", "no_matching_key")]
    assert [r.price_fen for r in results[:3]] == [98000000, 96550050, 99000000]
    assert [r.bid_id for r in results] == sorted(r.bid_id for r in results)
    assert all(len(r.plaintext_sha256) == 64 for r in results[:3]) and results[3].plaintext_sha256 == ""
    own = work / str(t.id)  # the tender's private work directory: nothing but its (empty) lock files
    assert list(work.iterdir()) == [own] and (own.stat().st_mode & 0o777) == 0o700
    assert sorted(p.name for p in own.iterdir()) == ["opening.lock", "workers.lock"]
    assert all((p.stat().st_mode & 0o777) == 0o600 and p.stat().st_size == 0 for p in own.iterdir())


def test_too_few_valid_bids_fail_the_tender(app, make, session, clock, tmp_path):
    t, agency = make.tender(publish=True)
    keys = make.custodians()
    clock.advance(timedelta(hours=2))
    recipient = session.get(OpeningKey, t.id).recipient
    for i in range(2):
        _bid(session, app, clock, t, tmp_path, f"f{i}", "1000", recipient, make)
    clock.set(t.deadline + timedelta(minutes=1))
    from accounts.models import User

    for row in list(session.scalars(select(KeyShare).where(KeyShare.tender_id == t.id)))[:2]:
        user = session.get(User, row.custodian_id)
        with unit_of_work(session):
            opening.submit_share(session, actor=_actor(user), tender_id=t.id, now=clock.now(),
                                 share=sealing.open_share(row.sealed, identity=keys[user.username]))
    with unit_of_work(session):
        opening.open_bids(session, actor=agency, tender_id=t.id, now=clock.now(), blobs=app.extensions["sunbid"].blobs)
    session.expire_all()
    assert service.status(session.get(type(t), t.id), clock.now()).value == "failed"


def test_opening_pages(ceremony, client, clock, session):
    t, agency, shares = ceremony
    clock.set(t.deadline)
    user, share, _pos = next(iter(shares.values()))
    login(client, user.username)
    resp = client.post(f"/tenders/{t.id}/opening/shares", data={"share": share}, follow_redirects=True)
    assert "1 of 2" in resp.get_data(as_text=True) or "1 / 2" in resp.get_data(as_text=True)
    other = client.application.test_client()
    login(other, agency.name)
    resp = other.post(f"/tenders/{t.id}/opening/open", follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert "2 shares are needed" in body
    title = body.split("<title>")[1].split("</title>")[0]
    assert "<" not in title and "Bid opening" in title


def test_opening_record_pdf_reads_back_in_chinese(ceremony, session, clock, app, client):
    from core.pdf import pdf_text

    t, agency, shares = ceremony
    _present_and_open(session, clock, app, t, agency, shares)
    resp = client.get(f"/tenders/{t.id}/opening.pdf?lang=zh_CN")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf_text(resp.data, joined=True)
    assert "开标记录" in text and "965,500.50" in text and "加密至错误的公钥" in text, text


def test_replay_recomputes_the_opening(ceremony, session, clock, app):
    from audit.replay import replay_tender
    from tender.area import AREA as TENDER

    t, agency, shares = ceremony
    _present_and_open(session, clock, app, t, agency, shares)
    result = replay_tender(session, t.id, clock.now(), replayers=TENDER.replayers)
    assert result.consistent, result.mismatches
    assert result.replayed["status"] == "opened" and len(result.replayed["opening"]) == 4


def test_bidders_confirm_or_object_within_the_window(ceremony, session, clock, app, make):
    from sqlalchemy import select

    from core.actor import Actor
    from tender.models import Bid

    t, agency, shares = ceremony
    _present_and_open(session, clock, app, t, agency, shares)
    from accounts.models import User

    submitters = [session.scalar(select(User).where(User.id == b.user_id)) for b in
                  session.scalars(select(Bid).where(Bid.tender_id == t.id))]
    first, second = (Actor(u.id, u.username, u.role, u.organisation_id) for u in submitters[:2])
    clock.advance(timedelta(minutes=2))
    with unit_of_work(session):
        opening.respond(session, actor=first, tender_id=t.id, objection="", now=clock.now())
    with unit_of_work(session):
        row = opening.respond(session, actor=second, tender_id=t.id, objection="报价读错了", now=clock.now())
    with unit_of_work(session):
        opening.answer_objection(session, actor=agency, tender_id=t.id, objection_id=row.id, answer="已复核，无误。",
                                 now=clock.now())
    outsider = make.user("bidder")
    with pytest.raises(DomainError):
        with unit_of_work(session):
            opening.respond(session, actor=outsider, tender_id=t.id, objection="x", now=clock.now())
    clock.advance(timedelta(minutes=4))  # 6 minutes after the opening: the window (5) has closed
    with pytest.raises(DomainError) as exc:
        with unit_of_work(session):
            opening.respond(session, actor=first, tender_id=t.id, objection="late", now=clock.now())
    assert exc.value.code == "objection_window_closed"
    assert [r.kind for r in opening.responses(session, t.id)] == ["confirmed", "objection"]


def test_stopping_an_opening_early_ends_its_worker_processes(tmp_path):
    import multiprocessing

    from tender import unseal

    key = sealing.new_opening_key()
    work = tmp_path / "work"
    work.mkdir()
    sealed = []
    for i in range(4):
        plain = tmp_path / f"p{i}.bin"
        plain.write_bytes(b"not a bid package %d" % i)
        sealed_path = tmp_path / f"b{i}.age"
        sealing.seal_file(plain, sealed_path, [key.recipient])
        sealed.append((str(sealed_path), f"bid-{i}.zip"))
    results = unseal.open_all([p for p, _ in sealed], key.identity, work, workers=2)
    assert next(results).reason == "malformed_package"  # decrypted, then found not to be a package
    results.close()  # the opening stopped (say, a database error while recording)
    assert multiprocessing.active_children() == []
    assert [p.name for p in work.iterdir()] == ["workers.lock"]  # the plaintext had no name; the lock is empty


def _hold_lock(path) -> subprocess.Popen:
    """Another process holding ``path`` locked (shared), as a decrypting worker of an earlier opening does."""
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time\n"
                             f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
                             "fcntl.flock(fd, fcntl.LOCK_SH)\nprint('held', flush=True)\ntime.sleep(120)\n"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_an_opening_refuses_to_start_while_workers_of_an_earlier_one_live(ceremony, session, clock, app):
    from tender import unseal

    t, agency, shares = ceremony
    own = unseal.work_root(app.extensions["sunbid"].settings.data_dir) / str(t.id)
    own.mkdir(parents=True)
    (own / "bid-7.zip").write_bytes(b"PK\x03\x04 plaintext left by an opening interrupted before")
    holder = _hold_lock(own / unseal.WORKERS_LOCK)
    try:
        with pytest.raises(DomainError) as exc:
            _present_and_open(session, clock, app, t, agency, shares)
        assert exc.value.code == "opening_busy" and exc.value.status == 409
    finally:
        holder.kill()
        holder.wait()
    assert opening.presented(session, t.id) != []  # nothing of the refused opening was kept
    with unit_of_work(session):
        results = opening.open_bids(session, actor=agency, tender_id=t.id, now=clock.now(),
                                    blobs=app.extensions["sunbid"].blobs)
    assert [r.status for r in results] == ["valid"] * 3 + ["failed"]
    assert sorted(p.name for p in own.iterdir()) == ["opening.lock", "workers.lock"]  # the leftover is gone


def test_start_up_sweeps_what_interrupted_openings_left(settings, tmp_path):
    from sunbid.app import create_app
    from tender import unseal

    root = unseal.work_root(settings.data_dir)
    idle, busy = root / "3", root / "4"
    for d in (idle, busy):
        (d / "sub").mkdir(parents=True)
        (d / "bid-1.zip").write_bytes(b"plaintext")
        (d / "sub" / "part").write_bytes(b"plaintext")
    os.chmod(root, 0o755)
    holder = _hold_lock(busy / unseal.OPENING_LOCK)  # an opening running in another server process
    try:
        create_app(settings)
    finally:
        holder.kill()
        holder.wait()
    assert sorted(p.name for p in idle.iterdir()) == ["opening.lock", "workers.lock"]
    assert (busy / "bid-1.zip").exists()  # left to the opening that owns it
    assert (root.stat().st_mode & 0o777) == 0o700
