"""An opening interrupted by ``kill -9`` of the server leaves nothing behind: its decrypting workers die with
it, no plaintext and no key material stay on disk, and a restarted server opens the bids, once in the log."""
from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from audit.models import AuditEntry
from core.db import unit_of_work
from tender import bidpackage, bids, opening, sealing, unseal
from tender.models import KeyShare, OpeningKey, OpeningResult, Tender
from tests.conftest import PASSWORD, ROOT, free_port, standalone

BIDS = 4
BID_MIB = 20  # 4 × 20 MiB: the opening decrypts on its pool of worker processes (tender.unseal)


def _processes_with(marker: str) -> dict[int, str]:
    """pid → command line of every process whose environment holds ``marker`` (this server's own data dir)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker.encode() in environ.split(b"\0"):
            found[int(entry)] = cmdline
    return found


def _holds(pid: int, name: str) -> bool:
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").endswith(name) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def _files_holding(roots: list[Path], needles: list[bytes], since: float) -> list[str]:
    hits = []
    for root in roots:
        for dirpath, _dirs, names in os.walk(root):
            for n in names:
                path = os.path.join(dirpath, n)
                try:
                    st = os.lstat(path)
                    if not os.path.isfile(path) or os.path.islink(path) or st.st_mtime < since:
                        continue
                    with open(path, "rb") as f:
                        tail = b""
                        while chunk := f.read(1 << 20):
                            block = tail + chunk
                            if any(x in block for x in needles):
                                hits.append(path)
                                break
                            tail = block[-64:]
                except OSError:
                    continue
    return hits


class Server:
    """``sunbid``'s WSGI app under a real gunicorn (one gthread worker), its data dir and database given."""

    def __init__(self, env: dict[str, str]):
        self.env, self.port = env, free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", "2",
                                      "--timeout", "300", "-b", f"127.0.0.1:{self.port}", "core.wsgi:app"],
                                     cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 60
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", self.port, timeout=5).request("GET", "/login")
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(self.output())
                time.sleep(0.1)
        self.cookie = ""

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def request(self, method: str, path: str, form: dict | None = None, timeout: float = 300):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode(errors="replace")
        for value in resp.headers.get_all("Set-Cookie") or []:
            self.cookie = value.split(";", 1)[0]
        return resp.status, resp.headers, text

    def token(self, path: str) -> str:
        _status, _headers, page = self.request("GET", path)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    def login(self, username: str) -> None:
        status, _h, _t = self.request("POST", "/login", {"csrf_token": self.token("/login"), "username": username,
                                                         "password": PASSWORD})
        assert status == 302, self.output()

    def open_bids(self, tender_id: int):
        token = self.token(f"/tenders/{tender_id}/opening")
        return self.request("POST", f"/tenders/{tender_id}/opening/open", {"csrf_token": token})

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture
def prepared(tmp_path):
    """A tender whose deadline passed (real clock), four 20 MiB sealed bids, two shares presented."""
    data = tmp_path / "live"
    data.mkdir()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    app, session, clock, make = standalone(data, start=start)
    t, agency = make.tender(publish=True)
    keys = make.custodians()
    recipient = session.get(OpeningKey, t.id).recipient
    marker = f"plaintext-{uuid.uuid4()}".encode()
    platform = app.extensions["sunbid"]
    work = tmp_path / "packing"
    for i in range(BIDS):
        bidder = make.bidder_of(t)
        org = session.get(__import__("accounts.models", fromlist=["Organisation"]).Organisation, bidder.organisation_id)
        folder = work / f"b{i}"
        folder.mkdir(parents=True)
        (folder / "投标函.txt").write_bytes(marker + b" bid %d" % i)
        (folder / "技术标.bin").write_bytes(os.urandom(BID_MIB << 20))
        package = work / f"b{i}.zip"
        bidpackage.pack(folder, tender=t.project_code, lot=1, bidder_name=org.name, credit_code=org.credit_code,
                        price=f"{900000 + i}.00", duration_days=180, validity_days=90, output=package)
        sealed_file = work / f"b{i}.age"
        sealing.seal_file(package, sealed_file, [recipient])
        with sealed_file.open("rb") as f:
            stored = bids.store_sealed(f, blobs=platform.blobs, limit=10**9)
        with unit_of_work(session):
            bids.submit_bid(session, actor=bidder, tender_id=t.id, lot=1, stored=stored, now=clock.now(),
                            signer=platform.signer)
    subprocess.run(["rm", "-rf", str(work)], check=True)  # no plaintext of the bids left but the platform's
    clock.set(t.deadline)
    from core.actor import Actor
    from accounts.models import User

    presented = []
    for row in list(session.scalars(select(KeyShare).where(KeyShare.tender_id == t.id)))[:2]:
        user = session.get(User, row.custodian_id)
        share = sealing.open_share(row.sealed, identity=keys[user.username])
        presented.append(share)
        with unit_of_work(session):
            opening.submit_share(session, actor=Actor(user.id, user.username, user.role, user.organisation_id,
                                                      "127.0.0.1"), tender_id=t.id, share=share, now=clock.now())
    session.close()
    env = {"SUNBID_DATABASE_URL": platform.settings.database_url, "SUNBID_DATA_DIR": str(data),
           "SUNBID_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex, "SUNBID_DEFAULT_LOCALE": "en"}
    identity = sealing.combine_shares(presented, recipient=recipient, tender_ref=t.project_code)  # what the
    return {"app": app, "data": data, "tender": t.id, "agency": agency.name, "env": env,  # opening rebuilds
            "needles": [marker, identity.encode(), identity.lower().encode()]}


def _count(app, tender_id: int, action: str) -> int:
    with app.extensions["sunbid"].sessions() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action,
                                                                           AuditEntry.tender_id == tender_id))


def test_kill_9_mid_opening_leaves_no_worker_no_plaintext_and_a_restart_opens_once(prepared):
    data, tender_id, app = prepared["data"], prepared["tender"], prepared["app"]
    marker_env = f"SUNBID_DATA_DIR={data}"
    since = time.time()
    server = Server(prepared["env"])
    try:
        server.login(prepared["agency"])
        answer: dict = {}

        def run() -> None:
            try:
                answer["status"] = server.open_bids(tender_id)[0]
            except (OSError, http.client.HTTPException) as exc:  # the server died under the request
                answer["error"] = exc

        opener = threading.Thread(target=run, daemon=True)
        opener.start()
        # wait for a decrypting worker that holds the opening identity (it takes the workers' lock then)
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while not workers:
            assert time.monotonic() < deadline and "status" not in answer, (answer, server.output())
            workers = [pid for pid, cmd in _processes_with(marker_env).items()
                       if "spawn_main" in cmd and _holds(pid, unseal.WORKERS_LOCK)]
            time.sleep(0.005)
        serving = [pid for pid, cmd in _processes_with(marker_env).items() if "gunicorn" in cmd]
        for pid in serving:  # the whole server, master and worker, as a crash or an OOM kill would
            os.kill(pid, signal.SIGKILL)
        server.proc.wait(10)
        opener.join(30)
        assert "error" in answer, answer  # it was killed mid-opening, not after it
        # every process of that server is gone, its decrypting workers (holding the identity) included
        deadline = time.monotonic() + 10
        while (left := _processes_with(marker_env)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert left == {}, left
    finally:
        server.stop()
    # the interrupted opening wrote nothing: no result, no audit entry, the tender not opened
    with app.extensions["sunbid"].sessions() as s:
        t = s.get(Tender, tender_id)
        assert t.opened_at is None and t.failed_at is None
        assert s.scalar(select(func.count()).select_from(OpeningResult)) == 0
    assert _count(app, tender_id, "opening.completed") == 0 and _count(app, tender_id, "bid.opened") == 0
    # nothing decrypted and no key anywhere on disk, in the data dir or the system's temporary directory
    assert _files_holding([data], [b"AGE-SECRET-KEY-1"], 0) == []
    needles = prepared["needles"]  # the bids' plaintext, the tender's opening identity
    assert _files_holding([data, Path(tempfile.gettempdir())], needles, since - 60) == []
    own = unseal.work_root(data) / str(tender_id)
    assert sorted(p.name for p in own.iterdir()) <= ["opening.lock", "workers.lock"]
    assert (own.stat().st_mode & 0o777) == 0o700 and (own.parent.stat().st_mode & 0o777) == 0o700

    # a restarted server opens the bids; the log shows the opening once
    server = Server(prepared["env"])
    try:
        server.login(prepared["agency"])
        status, headers, _text = server.open_bids(tender_id)
        assert status == 302 and headers["Location"].endswith(f"/tenders/{tender_id}/opening"), server.output()
        assert [pid for pid, cmd in _processes_with(marker_env).items() if "spawn_main" in cmd] == []
    finally:
        server.stop()
    with app.extensions["sunbid"].sessions() as s:
        assert s.get(Tender, tender_id).opened_at is not None
        results = s.scalars(select(OpeningResult).where(OpeningResult.tender_id == tender_id)).all()
        assert sorted(r.status for r in results) == ["valid"] * BIDS
        assert sorted(r.price_fen for r in results) == [(900000 + i) * 100 for i in range(BIDS)]
    assert _count(app, tender_id, "opening.completed") == 1 and _count(app, tender_id, "bid.opened") == BIDS
    assert _files_holding([data, Path(tempfile.gettempdir())], needles, since - 60) == []
