"""Document upload through the HTTP endpoint vs. ``cp`` of the same bytes, and the server's peak memory.

    uv run python benchmarks/bench_upload.py [--mb 200]

Starts a real Sunbid server (gunicorn, one worker) on a free local port with its own SQLite database
and data directory, logs in as agency staff, uploads one large PDF to a draft tender as a streamed
multipart body, and prints: upload seconds and MB/s, ``cp`` seconds and MB/s for the same file in the
same run, their ratio, and the server's peak RSS before and after (VmHWM).  Nothing here is a timed
test; it prints figures.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._serve import gunicorn, peak_rss_mb  # noqa: E402


def session_cookie(resp: http.client.HTTPResponse, default: str) -> str:
    for header in resp.msg.get_all("Set-Cookie") or []:
        if header.startswith("session="):
            return header.split(";")[0]
    return default


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sunbid-bench-"))
    try:
        run(work, args.mb)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, mb: int) -> None:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from core import rules as core_rules
    from accounts import service
    from core.actor import Actor
    from core.db import make_engine, make_sessionmaker, unit_of_work
    from core.migrate import upgrade
    from tender import inputs, publication

    url = f"sqlite:///{work / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        now = datetime.now(UTC)
        with unit_of_work(s):
            org = service.create_organisation(s, actor=Actor.system(), kind="agency", name="Bench agency",
                                              credit_code=core_rules.make_credit_code("91350200MA0000001"), now=now)
            user = service.create_user(s, actor=Actor.system(), username="bench", display_name="Bench",
                                       password="Upload-secret-91", role="agency", organisation_id=org.id, now=now)
        agency = Actor(user.id, user.username, user.role, org.id)
        with unit_of_work(s):
            t = publication.create_tender(s, actor=agency, now=now, data=inputs.TenderInput(
                title="Bench", regime="works", category="works", region="X", estimated_price=Decimal(1000000),
                deposit=Decimal(0), download_start=now + timedelta(hours=1), download_end=now + timedelta(days=7),
                deadline=now + timedelta(days=21)))
        tender_id = t.id
    engine.dispose()

    payload = work / "big.pdf"
    with payload.open("wb") as f:
        f.write(b"%PDF-1.7\n")
        block = os.urandom(1024 * 1024)
        for _ in range(mb):
            f.write(block)
    size = payload.stat().st_size

    t0 = time.perf_counter()
    subprocess.run(["cp", str(payload), str(work / "copy.pdf")], check=True)
    os.sync()
    cp_s = time.perf_counter() - t0
    (work / "copy.pdf").unlink()

    env = {**os.environ, "SUNBID_DATABASE_URL": url, "SUNBID_DATA_DIR": str(work / "data"),
           "SUNBID_SECRET_KEY": secrets.token_urlsafe(48), "SUNBID_UPLOAD_LIMIT_MB": str(mb + 10)}
    with gunicorn(env) as (port, server):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.request("GET", "/login")
        resp = conn.getresponse()
        body = resp.read().decode()
        cookie = session_cookie(resp, "")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1)
        form = f"csrf_token={token}&username=bench&password=Upload-secret-91"
        conn.request("POST", "/login", body=form, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                           "Cookie": cookie})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 302:
            raise SystemExit(f"login failed: HTTP {resp.status}")
        cookie = session_cookie(resp, cookie)
        conn.request("GET", f"/tenders/{tender_id}", headers={"Cookie": cookie})
        resp = conn.getresponse()
        body = resp.read().decode()
        cookie = session_cookie(resp, cookie)  # the CSRF secret is put in the session on first use
        token = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
        worker = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
        rss_before = peak_rss_mb(worker)

        boundary = uuid.uuid4().hex
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
                f"Content-Type: application/pdf\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        t0 = time.perf_counter()
        conn.putrequest("POST", f"/agency/tenders/{tender_id}/documents")
        conn.putheader("Cookie", cookie)
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        conn.send(head)
        with payload.open("rb") as f:
            while chunk := f.read(1024 * 1024):
                conn.send(chunk)
        conn.send(tail)
        resp = conn.getresponse()
        answer = resp.read().decode(errors="replace")
        if os.environ.get("BENCH_DEBUG"):
            print(answer[-3000:])
        up_s = time.perf_counter() - t0
        rss_after = peak_rss_mb(worker)
        stored = list((work / "data" / "blobs").rglob("*"))
        status = resp.status
        ok = resp.status == 302 and any(p.is_file() and p.stat().st_size == size for p in stored)

    size_mb = size / 1024 / 1024
    print(f"file: {size_mb:.0f} MB  stored: {'yes' if ok else 'NO (HTTP ' + str(status) + ')'}")
    print(f"cp (baseline):        {cp_s:7.2f} s  {size_mb / cp_s:8.1f} MB/s")
    print(f"HTTP upload (Sunbid): {up_s:7.2f} s  {size_mb / up_s:8.1f} MB/s")
    print(f"throughput ratio upload/cp: {cp_s / up_s:.2f}")
    print(f"server worker peak RSS: {rss_before:.0f} MB before, {rss_after:.0f} MB after "
          f"(growth {rss_after - rss_before:.0f} MB for a {size_mb:.0f} MB upload)")


if __name__ == "__main__":
    main()
