"""The bid form seals a plaintext bid package on the server while it uploads.

Everything goes through the real form (Flask test client, CSRF on as in production) and the sealed files
are opened with the real ``age -d`` and the tender's identity, rebuilt from the custodians' shares as at
an opening.  The request bodies are generated piece by piece from files on disk (no temporary files on
the client side), so what is written to disk during a request — every file opened for writing, seen
through Python's audit hook, and the contents of the temporary and data directories — is the server's.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import tracemalloc
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tender import bidpackage, sealing
from tender.models import Bid, KeyShare, OpeningKey
from tender.receipts import verify_receipt
from tests.conftest import PASSWORD

AGE = shutil.which("age")
pytestmark = pytest.mark.skipif(AGE is None or shutil.which("age-keygen") is None,
                                reason="the age and age-keygen tools are not installed")
MiB = 1024 * 1024


# ---------------------------------------------------------------- request bodies


class Body:
    """A multipart/form-data body made on the fly from fields and files, read in pieces: parts are
    ``(name, value)`` for fields and ``(name, filename, path_or_bytes)`` for files, in the order sent."""

    def __init__(self, parts):
        self.boundary = "sunbid-" + uuid.uuid4().hex
        self._segments: list[bytes | Path] = []
        for part in parts:
            if len(part) == 2:
                name, value = part
                head = f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                self._segments += [head.encode(), str(value).encode("utf-8"), b"\r\n"]
            else:
                name, filename, content = part
                head = (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n')
                self._segments += [head.encode(), content, b"\r\n"]
        self._segments.append(f"--{self.boundary}--\r\n".encode())
        self.length = sum(s.stat().st_size if isinstance(s, Path) else len(s) for s in self._segments)
        self._index, self._current = 0, None
        self._pos, self._at_end = 0, False

    # The test client measures the body by seeking to its end and back; nothing is read for that.
    def tell(self) -> int:
        return self.length if self._at_end else self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if (offset, whence) == (0, 2):
            self._at_end = True
        elif (offset, whence) == (self._pos, 0):
            self._at_end = False
        else:
            raise OSError("this body is read once, in order")
        return self.tell()

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def read(self, size: int = -1) -> bytes:
        data = self._read(64 * 1024 if size is None or size < 0 else size)
        self._pos += len(data)
        return data

    def _read(self, size: int) -> bytes:
        while self._index < len(self._segments):
            segment = self._segments[self._index]
            if isinstance(segment, Path):
                if self._current is None:
                    self._current = segment.open("rb")
                data = self._current.read(size)
                if data:
                    return data
                self._current.close()
                self._current = None
                self._index += 1
            else:
                self._index += 1
                if len(segment) > size:  # hand out the rest on the next calls
                    self._index -= 1
                    self._segments[self._index] = segment[size:]
                    return segment[:size]
                if segment:
                    return segment
        return b""


def post(client, tender_id: int, body: Body, **kw):
    return client.post(f"/tenders/{tender_id}/bids", input_stream=body, content_length=body.length,
                       content_type=body.content_type, follow_redirects=True, **kw)


def csrf_token(client, tender_id: int) -> str:
    page = client.get(f"/tenders/{tender_id}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def package_body(token: str, package, *, mode: str = "package", own: str | None = None, lot: int | None = None,
                 confirm: tuple[str, int] | None = None):
    """The bid form's body; ``confirm``: the bid page's confirmation (project code, lot) for a sealed file."""
    parts = [("csrf_token", token), ("mode", mode)]
    if lot is not None:
        parts.append(("lot", lot))
    if confirm is not None:
        parts += [("confirm_tender", confirm[0]), ("confirm_lot", str(confirm[1]))]
    if own is not None:
        parts.append(("self_recipient", own))
    parts.append(("file", "bid.zip", package))
    return Body(parts)


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def web(csrf_app):
    """The app as in production (CSRF checks on), its client and its platform object."""
    return csrf_app, csrf_app.test_client(), csrf_app.extensions["sunbid"]


@pytest.fixture
def open_tender(make, session, clock, web):
    """A published tender, a logged-in bidder who obtained its documents, and the bidder's company."""
    from accounts.models import Organisation

    _app, client, _platform = web
    t, _agency = make.tender(publish=True)
    bidder = make.bidder_of(t)
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    assert client.post("/login", data={"username": bidder.name, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return t, bidder, session.get(Organisation, bidder.organisation_id)


def tender_key_file(session, make, t, tmp_path) -> Path:
    """The tender's age identity rebuilt from two custodians' shares (as at the opening), in a key file."""
    keys = make.custodians()
    from accounts.models import User

    shares = [sealing.open_share(row.sealed, identity=keys[session.get(User, row.custodian_id).username])
              for row in session.scalars(select(KeyShare).where(KeyShare.tender_id == t.id))]
    identity = sealing.combine_shares(shares[:2], recipient=session.get(OpeningKey, t.id).recipient,
                                      tender_ref=t.project_code)
    path = tmp_path / "tender-key.txt"
    path.write_text(identity + "\n")
    return path


def own_key(tmp_path) -> tuple[Path, str]:
    """A bidder's own key made with the real age-keygen: (identity file, recipient)."""
    path = tmp_path / "own-key.txt"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    recipient = re.search(r"public key: (age1[0-9a-z]+)", path.read_text()).group(1)
    return path, recipient


def make_package(tmp_path, t, org, *, name: str = "pkg", extra_bytes: int = 0, price: str = "980000.00") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "投标函.pdf").write_bytes(b"%PDF-1.4 " + name.encode())
    if extra_bytes:
        with _new(folder / "技术标" / "scan.bin") as f:
            left = extra_bytes
            while left:
                chunk = os.urandom(min(left, MiB))
                f.write(chunk)
                left -= len(chunk)
    out = tmp_path / f"{name}.zip"
    bidpackage.pack(folder, tender=t.project_code, lot=1, bidder_name=org.name, credit_code=org.credit_code,
                    price=price, duration_days=180, validity_days=90, output=out)
    return out


def _new(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


def age_decrypt(key: Path, sealed: Path, out: Path) -> bytes:
    subprocess.run([AGE, "-d", "-i", str(key), "-o", str(out), str(sealed)], check=True, capture_output=True)
    return out.read_bytes() if out.stat().st_size < MiB else b""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


def stored_files(data_dir: Path) -> set[str]:
    return {str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file()}


def bid_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Bid))


def flashes(page: str, kind: str) -> str:
    return " ".join(re.findall(rf'alert-{kind}[^>]*>(.*?)<', page, re.S))


# ---------------------------------------------------------------- sealing on the server


def test_package_is_sealed_here_and_opens_with_the_real_age(web, open_tender, session, make, tmp_path):
    app, client, platform = web
    t, bidder, org = open_tender
    package = make_package(tmp_path, t, org)
    own_identity, own_recipient = own_key(tmp_path)
    page = client.get(f"/tenders/{t.id}").get_data(as_text=True)
    assert session.get(OpeningKey, t.id).recipient in page and 'value="package"' in page and 'value="sealed"' in page

    resp = post(client, t.id, package_body(csrf_token(client, t.id), package, own=own_recipient.upper()))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "sealed to the opening key and received" in page, flashes(page, "danger")
    bid = session.scalars(select(Bid).where(Bid.tender_id == t.id)).one()
    blob = platform.blobs.path(bid.sha256)
    sealed_bytes = blob.read_bytes()
    assert sealed_bytes.startswith(b"age-encryption.org/v1\n") and bid.size == len(sealed_bytes)
    assert hashlib.sha256(sealed_bytes).hexdigest() == bid.sha256
    assert sealing.age_recipients_stanza_count(sealed_bytes[:65536]) == 2  # the tender's and the bidder's own
    assert b"bid.json" not in sealed_bytes and b"sunbid-bid/1" not in sealed_bytes

    key = tender_key_file(session, make, t, tmp_path)
    opened = age_decrypt(key, blob, tmp_path / "opened.zip")
    assert opened == package.read_bytes()  # exactly the uploaded bytes
    assert bidpackage.validate_package(tmp_path / "opened.zip").credit_code == org.credit_code
    assert age_decrypt(own_identity, blob, tmp_path / "mine.zip") == package.read_bytes()  # --self

    # the same receipt, audit event and supersede as a bid sealed by the bidder
    receipt = client.get(f"/bids/{bid.public_id}/receipt.json").get_data(as_text=True)
    fields = verify_receipt(receipt, platform.signer.vkey())
    assert fields["sha256"] == bid.sha256 and fields["size"] == bid.size and fields["tender"] == t.project_code
    from audit.models import AuditEntry

    event = session.scalars(select(AuditEntry).where(AuditEntry.action == "bid.submitted",
                                                     AuditEntry.object_id == bid.public_id)).one()
    assert bid.sha256 in event.payload
    again = post(client, t.id, package_body(csrf_token(client, t.id), package))
    assert "received" in again.get_data(as_text=True)
    statuses = dict(session.execute(select(Bid.id, Bid.status).where(Bid.tender_id == t.id)).all())
    assert statuses[bid.id] == "superseded" and sorted(statuses.values()) == ["current", "superseded"]
    newer = session.scalars(select(Bid).where(Bid.status == "current")).one()
    assert newer.sha256 != bid.sha256  # a fresh file key each time: new ciphertext for the same package
    assert age_decrypt(key, platform.blobs.path(newer.sha256), tmp_path / "again.zip") == package.read_bytes()


def test_a_file_sealed_by_the_bidder_still_goes_through_the_same_form(web, open_tender, session, tmp_path):
    app, client, platform = web
    t, bidder, org = open_tender
    package = make_package(tmp_path, t, org)
    sealed_file = tmp_path / "bid.age"
    subprocess.run([AGE, "-r", session.get(OpeningKey, t.id).recipient, "-o", str(sealed_file), str(package)],
                   check=True)
    resp = post(client, t.id, package_body(csrf_token(client, t.id), sealed_file, mode="sealed",
                                                 confirm=(t.project_code, 1)))
    assert "Bid received" in resp.get_data(as_text=True)
    bid = session.scalars(select(Bid)).one()
    assert platform.blobs.path(bid.sha256).read_bytes() == sealed_file.read_bytes()  # stored as it is


def _scan(dirs: list[Path], needles: list[bytes], whole_sha: str) -> list[str]:
    """Files under ``dirs`` holding any needle, or whose SHA-256 is the plaintext's."""
    found = []
    width = max(len(n) for n in needles)
    for root in dirs:
        for path in root.rglob("*"):
            if not path.is_file():
                continue
            tail = b""
            with path.open("rb") as f:
                while chunk := f.read(MiB):
                    window = tail + chunk
                    if any(n in window for n in needles):
                        found.append(str(path))
                        break
                    tail = window[-width:]
            if sha256_file(path) == whole_sha:
                found.append(str(path))
    return found


class PeakRSS:
    """The largest resident set size of this process seen while running (sampled every 2 ms)."""

    def __init__(self):
        self.peak = self.start = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.002)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


class WritesToDisk:
    """Every file this process opens for writing while running, through Python's audit hook (which also sees
    the anonymous temporary files ``tempfile.TemporaryFile`` makes, invisible in a directory listing)."""

    _active: list[WritesToDisk] = []
    _installed = False
    _WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_TMPFILE", 0)

    def __init__(self):
        self.paths: list[str] = []
        if not WritesToDisk._installed:  # an audit hook stays for the process; it only records when asked
            import sys

            sys.addaudithook(WritesToDisk._hook)
            WritesToDisk._installed = True

    @staticmethod
    def _hook(event: str, args: tuple) -> None:
        if event != "open" or not WritesToDisk._active:
            return
        path, mode, flags = args
        if path is None or isinstance(path, int):
            return
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & WritesToDisk._WRITE)
        if writing:
            for recorder in WritesToDisk._active:
                recorder.paths.append(os.fsdecode(path))

    def __enter__(self):
        WritesToDisk._active.append(self)
        return self

    def __exit__(self, *exc):
        WritesToDisk._active.remove(self)


def test_a_large_package_never_touches_the_disk_and_memory_stays_flat(web, open_tender, session, make, tmp_path,
                                                                       monkeypatch, settings):
    app, client, platform = web
    t, bidder, org = open_tender
    post(client, t.id, package_body(csrf_token(client, t.id), make_package(tmp_path, t, org, name="warm")))
    size = 30 * MiB
    source = tmp_path / "client"  # the client's files, outside the directories scanned
    source.mkdir()
    package = make_package(source, t, org, name="big", extra_bytes=size)
    plain = package.read_bytes()
    needles = [plain[i:i + 48] for i in (len(plain) // 4, len(plain) // 2, 3 * len(plain) // 4)]
    plain_sha = hashlib.sha256(plain).hexdigest()
    del plain
    token = csrf_token(client, t.id)

    spool = tmp_path / "tmpdir"  # the only temporary directory during the request
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    monkeypatch.setenv("TMPDIR", str(spool))
    body = package_body(token, package)
    tracemalloc.start()
    try:
        with PeakRSS() as rss, WritesToDisk() as writes:
            resp = post(client, t.id, body)
        _now, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "sealed to the opening key and received" in resp.get_data(as_text=True)
    bid = session.scalars(select(Bid).where(Bid.status == "current")).one()
    assert bid.size > size

    # the one file written during the request is the blob store's temporary file, which received ciphertext
    assert len(writes.paths) == 1 and Path(writes.paths[0]).parent == platform.blobs.tmp, writes.paths
    assert _scan([spool, settings.data_dir], needles, plain_sha) == [] and list(spool.iterdir()) == []
    assert not any((platform.blobs.tmp).iterdir())
    assert python_peak < 4 * MiB, python_peak  # Python objects: a few 64 KiB pieces at a time
    assert rss.peak - rss.start < 8 * MiB, (rss.peak - rss.start)  # everything, age included; the file is 30 MiB

    opened = tmp_path / "opened.zip"
    age_decrypt(tender_key_file(session, make, t, tmp_path), platform.blobs.path(bid.sha256), opened)
    assert sha256_file(opened) == plain_sha

    # the check does catch plaintext written to disk: Werkzeug's own form parser spools the same body to an
    # anonymous temporary file there (which no directory listing would show)
    from werkzeug.formparser import parse_form_data
    from werkzeug.test import EnvironBuilder

    again = package_body(token, package)
    environ = EnvironBuilder(method="POST", input_stream=again, content_type=again.content_type,
                             content_length=again.length).get_environ()
    with WritesToDisk() as control:
        _stream, _form, files = parse_form_data(environ, silent=False)
    files["file"].close()
    assert [p for p in control.paths if Path(p) == spool or spool in Path(p).parents]


# ---------------------------------------------------------------- refusals leave nothing


def _refused(client, session, platform, settings, t, body, message: str):
    before = stored_files(settings.data_dir)
    resp = post(client, t.id, body)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and message in flashes(page, "danger"), flashes(page, "danger") or page[:500]
    assert bid_count(session) == 0
    assert not [f for f in stored_files(settings.data_dir) - before if f.startswith("blobs")]
    assert not platform.blobs.tmp.exists() or not any(platform.blobs.tmp.iterdir())


def test_not_a_zip_empty_already_sealed_and_truncated_are_refused(web, open_tender, session, settings, tmp_path):
    app, client, platform = web
    t, bidder, org = open_tender
    token = csrf_token(client, t.id)
    package = make_package(tmp_path, t, org).read_bytes()
    sealed_already = pyrage_seal(package, session.get(OpeningKey, t.id).recipient)
    cases = [
        (b"%PDF-1.4 a bid that is not packed", "not a ZIP bid package"),
        (b"", "The bid package is empty."),
        (b"PK", "not a ZIP bid package"),
        (sealed_already, "already sealed with age"),
        (package[: len(package) - 30], "ends before its ZIP directory"),
    ]
    for content, message in cases:
        _refused(client, session, platform, settings, t, package_body(token, content), message)
    _refused(client, session, platform, settings, t, package_body(token, package, own="age1notarecipient"),
             "Your own age recipient is not valid")
    _refused(client, session, platform, settings, t, package_body(token, package, mode="sealed",
                                                                   confirm=(t.project_code, 1)),
             "This is a bid package that is not sealed")
    no_file = Body([("csrf_token", token), ("mode", "package"), ("file", "", b"")])
    _refused(client, session, platform, settings, t, no_file, "Choose the bid package (.zip) to upload.")


def pyrage_seal(data: bytes, recipient: str) -> bytes:
    import pyrage

    return pyrage.encrypt(data, [pyrage.x25519.Recipient.from_str(recipient)])


def test_a_sealed_file_larger_than_the_limit_is_refused_while_sealing(web, open_tender, session, settings,
                                                                      tmp_path):
    app, client, platform = web
    t, bidder, org = open_tender
    platform.settings = dataclasses.replace(platform.settings, bid_limit_mb=1)
    package = make_package(tmp_path, t, org, extra_bytes=MiB - 1000)  # the package fits the limit, the age
    assert MiB - 200 < package.stat().st_size < MiB  # file (header, tags) does not
    _refused(client, session, platform, settings, t, package_body(csrf_token(client, t.id), package),
             "larger than the limit of 1 MB")


def test_after_the_deadline_nothing_is_sealed(web, open_tender, session, settings, clock, tmp_path):
    app, client, platform = web
    t, bidder, org = open_tender
    package = make_package(tmp_path, t, org)
    token = csrf_token(client, t.id)
    clock.set(t.deadline)
    _refused(client, session, platform, settings, t, package_body(token, package), "deadline")


def test_csrf_is_enforced_before_anything_is_read(web, open_tender, session, settings, tmp_path):
    app, client, platform = web
    t, bidder, org = open_tender
    package = make_package(tmp_path, t, org)
    token = csrf_token(client, t.id)
    before = stored_files(settings.data_dir)
    bodies = [
        Body([("mode", "package"), ("file", "bid.zip", package)]),  # no token
        package_body("not-the-token", package),
        Body([("mode", "package"), ("file", "bid.zip", package), ("csrf_token", token)]),  # token after the file
    ]
    for body in bodies:
        resp = post(client, t.id, body)
        assert resp.status_code == 400 and "security token" in resp.get_data(as_text=True)
    assert bid_count(session) == 0 and stored_files(settings.data_dir) == before
    assert "received" in post(client, t.id, package_body(token, package)).get_data(as_text=True)
    assert bid_count(session) == 1


def test_a_part_without_a_name_is_refused_cleanly(web, open_tender, session):
    """A hand-made body whose field has no name: the missing token is reported, never a server error."""
    _app, client, _platform = web
    t, _bidder, _org = open_tender
    body = (b"--b0\r\nContent-Disposition: form-data\r\n\r\nwho am I\r\n"
            b"--b0\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\nsealed\r\n--b0--\r\n")
    resp = client.post(f"/tenders/{t.id}/bids", data=body, content_type="multipart/form-data; boundary=b0")
    assert resp.status_code == 400 and "security token" in resp.get_data(as_text=True)
    assert bid_count(session) == 0
