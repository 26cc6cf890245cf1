"""Bid opening vs. ``age -d`` of the same ciphertexts, and sealed-bid ingest over HTTP vs. ``cat``.

    uv run python benchmarks/bench_opening.py [--bids 200] [--bid-mb 20] [--ingest-mb 500]
                                              [--skip-opening] [--skip-ingest]

1. Opening: in a fresh SQLite database (migrated) and data directory, sets up through the services a
   published tender with ``--bids`` bidders, each of whom downloaded the documents and submitted one
   sealed bid package (``bidpackage.pack`` over a folder with the same ``--bid-mb`` MB random file
   plus a small per-bidder file, sealed with ``sealing.seal_file`` to the tender's recipient,
   ``bids.store_sealed`` + ``bids.submit_bid``).  After the deadline, a subprocess presents 2 key
   shares and runs ``opening.open_bids``; it reports its own time and peak RSS (VmHWM).  Baseline in
   the same run: ``age -d -i identity -o /dev/null`` over the same ciphertexts, one after another
   (the identity rebuilt from the shares here, which only a benchmark may do); also printed: ``age -d``
   on every core at once (``xargs -P``), since the opening decrypts on a pool of one process per core.
2. Ingest: starts a real Sunbid server (gunicorn, one worker) on a free port with its own database,
   and POSTs one ``--ingest-mb`` MB age file to ``/api/v1/tenders/<id>/bids`` with an API token,
   sent with sendfile on a connection of its own, three times; prints throughput vs. ``cat file > other`` (+ sync; GNU cat copies with
   copy_file_range, in the kernel) and vs. ``cat file | cat > other`` (+ sync; the bytes through a
   process, as a server's are), and the worker's peak RSS growth.

Nothing here is a timed test; it prints figures (goals: opening/age ≤ 2, opening peak RSS ≤ 150 MB,
ingest worker RSS growth ≤ 100 MB, ingest throughput ≥ 50 % of cat).
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "Opening-secret-91"
MiB = 1024 * 1024

from benchmarks._serve import gunicorn, peak_rss_mb  # noqa: E402


def pdf_bytes(text: str) -> bytes:
    body = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n"
            b"4 0 obj<</Length " + str(len(body)).encode() + b">>stream\n" + body
            + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def random_file(path: Path, mb: int) -> None:
    with path.open("wb") as f:
        for _ in range(mb):
            f.write(os.urandom(MiB))


class World:
    """A migrated database and data directory with custodians and one published tender (made through the services)."""

    def __init__(self, work: Path, created: datetime, url: str | None = None):
        from accounts import service
        from core.actor import Actor
        from core.blobs import BlobStore
        from core.db import make_engine, make_sessionmaker
        from core.migrate import upgrade

        self.work, self.data = work, work / "data"
        work.mkdir(parents=True, exist_ok=True)
        self.url = url or f"sqlite:///{work / 'bench.db'}"
        upgrade(self.url)
        self.engine = make_engine(self.url)
        self.s = make_sessionmaker(self.engine)()
        self.blobs = BlobStore(self.data)
        self.n = 0
        self.pw_hash = service.hash_password(PASSWORD)
        self.system = Actor.system()
        self.custodian_keys: dict[int, tuple[Actor, str]] = {}  # user id → (actor, age identity)
        self.make_tender(created)

    def _next(self) -> int:
        self.n += 1
        return self.n

    def org(self, kind: str, now: datetime):
        from core import rules
        from accounts import service
        from core.db import unit_of_work

        i = self._next()
        code = rules.make_credit_code(f"91350200{i:09d}") if kind in ("agency", "bidder") else None
        with unit_of_work(self.s):
            return service.create_organisation(self.s, actor=self.system, kind=kind, name=f"{kind} org {i}",
                                               credit_code=code, now=now)

    def user(self, role: str, now: datetime, org=None):
        from accounts import service
        from core.actor import Actor
        from core.db import unit_of_work

        org = org or self.org({"agency": "agency", "bidder": "bidder"}.get(role, "platform"), now)
        i = self._next()
        with unit_of_work(self.s):
            u = service.create_user(self.s, actor=self.system, username=f"{role}{i}", display_name=f"{role} {i}",
                                    password=PASSWORD, password_hash=self.pw_hash, role=role,
                                    organisation_id=org.id, now=now)
        return Actor(u.id, u.username, u.role, u.organisation_id, "127.0.0.1"), org

    def make_tender(self, now: datetime) -> None:
        import pyrage

        from core.db import unit_of_work
        from tender import inputs, publication

        from tender.demo import enrol_custodian

        supervisor, _ = self.user("supervisor", now)
        for _ in range(3):  # three custodians of three organisations, approved and registered by the proof
            who, _ = self.user("custodian", now)
            identity = pyrage.x25519.Identity.generate()
            enrol_custodian(self.s, custodian=who, identity=str(identity), supervisor=supervisor, now=now)
            self.custodian_keys[who.user_id] = (who, str(identity))
        self.agency, _ = self.user("agency", now)
        with unit_of_work(self.s):
            t = publication.create_tender(self.s, actor=self.agency, now=now, data=inputs.TenderInput(
                title="Bench opening", regime="works", category="works", region="X",
                estimated_price=Decimal(1000000), deposit=Decimal(0), download_start=now + timedelta(hours=1),
                download_end=now + timedelta(days=7), deadline=now + timedelta(days=21)))
        with unit_of_work(self.s):
            publication.add_document(self.s, actor=self.agency, tender_id=t.id, filename="doc.pdf",
                                     stream=io.BytesIO(pdf_bytes("bench")), blobs=self.blobs, limit=10**7, now=now)
        with unit_of_work(self.s):
            publication.publish_tender(self.s, actor=self.agency, tender_id=t.id, now=now)
        self.tender_id, self.project_code, self.deadline = t.id, t.project_code, t.deadline
        self.doc_id = t.documents[0].id
        from tender.models import OpeningKey

        self.recipient = self.s.get(OpeningKey, t.id).recipient

    def bidder(self, now: datetime):
        from core.db import unit_of_work
        from tender import downloads

        actor, org = self.user("bidder", now)
        with unit_of_work(self.s):
            downloads.download_document(self.s, actor=actor, tender_id=self.tender_id, document_id=self.doc_id,
                                        now=now)
        return actor, org

    def shares(self) -> list[tuple[object, str]]:
        """(custodian actor, share text) for every custodian, opened from their sealed copies."""
        from sqlalchemy import select

        from tender import sealing
        from tender.models import KeyShare

        rows = self.s.scalars(select(KeyShare).where(KeyShare.tender_id == self.tender_id)
                              .order_by(KeyShare.position)).all()
        out = []
        for row in rows:
            who, identity = self.custodian_keys[row.custodian_id]
            out.append((who, sealing.open_share(row.sealed, identity=identity)))
        return out

    def close(self) -> None:
        self.s.close()
        self.engine.dispose()


# The opening runs in its own process so that its peak RSS (VmHWM) is the opening's alone.
CHILD = r"""
import json, sys, time
from datetime import datetime
from pathlib import Path
sys.path.insert(0, sys.argv[1])
args = json.loads(sys.stdin.read())
from core.actor import Actor
from core.blobs import BlobStore
from core.db import make_engine, make_sessionmaker, unit_of_work
from tender import opening
engine = make_engine(args["url"])
now = datetime.fromisoformat(args["now"])
agency = Actor(*args["agency"])
with make_sessionmaker(engine)() as s:
    t0 = time.perf_counter()
    for who, share in args["shares"]:
        with unit_of_work(s):
            opening.submit_share(s, actor=Actor(*who), tender_id=args["tender_id"], share=share, now=now)
    with unit_of_work(s):
        results = opening.open_bids(s, actor=agency, tender_id=args["tender_id"], now=now,
                                    blobs=BlobStore(Path(args["data"])), workdir=Path(args["workdir"]))
        statuses = {}
        for r in results:
            key = r.status if r.status == "valid" else f"{r.status}:{r.reason}"
            statuses[key] = statuses.get(key, 0) + 1
    seconds = time.perf_counter() - t0
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
import resource
workers_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest decrypting worker, if any
print(json.dumps({"seconds": seconds, "vmhwm_kb": hwm, "workers_kb": workers_kb, "statuses": statuses}))
"""


def bench_opening(work: Path, n_bids: int, bid_mb: int) -> dict:
    from audit.keys import load_or_create
    from core.config import Settings
    from core.db import unit_of_work
    from tender import bidpackage, bids, sealing

    t_setup = time.perf_counter()
    created = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    w = World(work, created)
    signer = load_or_create(w.data / "keys" / "platform.skey", Settings(database_url=w.url).log_origin)
    content = work / "content.bin"
    random_file(content, bid_mb)
    ciphertexts: list[Path] = []
    plain_total = 0
    for i in range(n_bids):
        when = created + timedelta(hours=2, seconds=i)
        actor, org = w.bidder(when)
        folder = work / "pkg" / f"b{i}"
        folder.mkdir(parents=True)
        os.link(content, folder / "technical.bin")  # the same big content for everybody
        (folder / "letter.txt").write_text(f"bidder {i} {org.name} {os.urandom(8).hex()}\n")
        package = work / "pkg" / f"b{i}.zip"
        bidpackage.pack(folder, tender=w.project_code, lot=1, bidder_name=org.name, credit_code=org.credit_code,
                        price=f"{900000 + i}.00", duration_days=180, validity_days=90, output=package)
        plain_total += package.stat().st_size
        sealed = work / "pkg" / f"b{i}.age"
        sealing.seal_file(package, sealed, [w.recipient])
        with sealed.open("rb") as f:
            stored = bids.store_sealed(f, blobs=w.blobs, limit=(bid_mb + 10) * MiB)
        with unit_of_work(w.s):
            bids.submit_bid(w.s, actor=actor, tender_id=w.tender_id, lot=1, stored=stored, now=when, signer=signer)
        ciphertexts.append(w.blobs.path(stored.sha256))
        shutil.rmtree(folder)
        package.unlink()
        sealed.unlink()
        if (i + 1) % 25 == 0:
            print(f"  set up {i + 1}/{n_bids} bids ({time.perf_counter() - t_setup:.0f} s)", flush=True)
    setup_s = time.perf_counter() - t_setup
    cipher_total = sum(p.stat().st_size for p in ciphertexts)

    shares = w.shares()[:2]
    identity = sealing.combine_shares([s for _, s in shares], recipient=w.recipient, tender_ref=w.project_code)
    (work / "identity.txt").write_text(identity + "\n")
    del identity
    agency = w.agency
    open_at = w.deadline + timedelta(minutes=1)
    tender_id, url = w.tender_id, w.url
    w.close()

    os.sync()
    t0 = time.perf_counter()
    for p in ciphertexts:
        subprocess.run(["/usr/bin/age", "-d", "-i", str(work / "identity.txt"), "-o", "/dev/null", str(p)],
                       check=True)
    age_s = time.perf_counter() - t0
    os.sync()
    t0 = time.perf_counter()  # the same, one age process per core at a time
    subprocess.run(["xargs", "-0", "-P", str(os.cpu_count() or 1), "-n", "1", "/usr/bin/age", "-d", "-i",
                    str(work / "identity.txt"), "-o", "/dev/null"],
                   input=b"\0".join(os.fsencode(p) for p in ciphertexts), check=True)
    age_par_s = time.perf_counter() - t0

    os.sync()
    (work / "opening-tmp").mkdir()
    payload = {"url": url, "data": str(work / "data"), "workdir": str(work / "opening-tmp"),
               "tender_id": tender_id, "now": open_at.isoformat(),
               "agency": [agency.user_id, agency.name, agency.role, agency.organisation_id, agency.address],
               "shares": [[[a.user_id, a.name, a.role, a.organisation_id, a.address], s] for a, s in shares]}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(ROOT)], input=json.dumps(payload), cwd=ROOT,
                          capture_output=True, text=True)
    child_wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"opening subprocess failed:\n{proc.stderr}")
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"bids": n_bids, "bid_mb": bid_mb, "setup_s": setup_s, "plain_mb": plain_total / MiB,
            "cipher_mb": cipher_total / MiB, "age_s": age_s, "open_s": child["seconds"],
            "child_wall_s": child_wall, "rss_mb": child["vmhwm_kb"] / 1024,
            "worker_rss_mb": child["workers_kb"] / 1024, "age_par_s": age_par_s, "statuses": child["statuses"]}


def bench_ingest(work: Path, mb: int, repeat: int = 3) -> dict:
    from accounts import service
    from core.db import unit_of_work

    now = datetime.now(UTC).replace(microsecond=0)
    w = World(work, now - timedelta(hours=3))
    bidder, _org = w.bidder(now - timedelta(minutes=2))
    with unit_of_work(w.s):
        _tok, token = service.create_api_token(w.s, actor=bidder, name="bench", now=now - timedelta(minutes=1))
    tender_id, recipient, url = w.tender_id, w.recipient, w.url
    w.close()

    plain = work / "ingest.bin"
    random_file(plain, mb)
    sealed = work / "ingest.age"
    subprocess.run(["/usr/bin/age", "-r", recipient, "-o", str(sealed), str(plain)], check=True)
    plain.unlink()
    size = sealed.stat().st_size

    def shell_to_disk(command: str) -> float:
        os.sync()
        t0 = time.perf_counter()
        subprocess.run(command, shell=True, check=True)
        os.sync()
        elapsed = time.perf_counter() - t0
        (work / "copy.age").unlink()
        return elapsed

    # GNU cat (coreutils ≥ 9) copies file to file with copy_file_range(2): the kernel copies, the bytes never
    # pass through a process.  A server's bytes do (socket → process → file), as they do through a pipe.
    # Disk writes on a shared machine vary from one run to the next: each measure is taken ``repeat`` times,
    # interleaved, and the medians are compared.
    cat_runs, pipe_runs, up_runs = [], [], []
    env = {**os.environ, "SUNBID_DATABASE_URL": url, "SUNBID_DATA_DIR": str(work / "data"),
           "SUNBID_SECRET_KEY": secrets.token_urlsafe(48), "SUNBID_BID_LIMIT_MB": str(mb + 10)}
    with gunicorn(env) as (port, server):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.request("GET", f"/api/v1/tenders/{tender_id}")  # the worker has loaded the app
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SystemExit(f"tender API: HTTP {resp.status}")
        conn.close()
        worker = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
        rss_before = peak_rss_mb(worker)
        ok, status = True, 201
        for _ in range(repeat):
            cat_runs.append(shell_to_disk(f"cat '{sealed}' > '{work / 'copy.age'}'"))
            pipe_runs.append(shell_to_disk(f"cat '{sealed}' | cat > '{work / 'copy.age'}'"))
            os.sync()
            # A connection of its own: gunicorn closes one idle for longer than its keep-alive (2 s) while
            # the baselines run.
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            t0 = time.perf_counter()
            conn.putrequest("POST", f"/api/v1/tenders/{tender_id}/bids")
            conn.putheader("Authorization", f"Bearer {token}")
            conn.putheader("Content-Type", "application/octet-stream")
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            with sealed.open("rb") as f:  # sendfile: the client's own copying left out of the measure
                conn.sock.sendfile(f)
            resp = conn.getresponse()
            answer = resp.read().decode(errors="replace")
            up_runs.append(time.perf_counter() - t0)
            status = resp.status
            if not (status == 201 and json.loads(answer).get("size") == size):
                ok = False
                print(f"  ingest answer: HTTP {status} {answer[:2000]}")
            conn.close()
        rss_after = peak_rss_mb(worker)
    cat_s, pipe_s, up_s = (statistics.median(r) for r in (cat_runs, pipe_runs, up_runs))
    return {"mb": size / MiB, "ok": ok, "status": status, "cat_s": cat_s, "pipe_s": pipe_s, "up_s": up_s,
            "repeat": repeat,
            "rss_before": rss_before, "rss_after": rss_after}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bids", type=int, default=200)
    ap.add_argument("--bid-mb", type=int, default=20)
    ap.add_argument("--ingest-mb", type=int, default=500)
    ap.add_argument("--ingest-repeat", type=int, default=3, help="measures of each kind; medians compared")
    ap.add_argument("--skip-opening", action="store_true")
    ap.add_argument("--skip-ingest", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sunbid-bench-opening-"))
    summary: list[str] = []
    try:
        if not args.skip_opening:
            print(f"== opening: {args.bids} bids of {args.bid_mb} MB", flush=True)
            o = bench_opening(work / "opening", args.bids, args.bid_mb)
            ratio = o["open_s"] / o["age_s"]
            print(f"set up (services: pack + seal + store + submit): {o['setup_s']:.1f} s")
            print(f"ciphertexts: {o['bids']} files, {o['cipher_mb']:.0f} MB in all "
                  f"(packages {o['plain_mb']:.0f} MB)")
            print(f"results: {o['statuses']}")
            print(f"age -d (baseline), sequential: {o['age_s']:7.2f} s  {o['cipher_mb'] / o['age_s']:8.1f} MB/s")
            print(f"Sunbid 2 shares + open_bids:   {o['open_s']:7.2f} s  {o['cipher_mb'] / o['open_s']:8.1f} MB/s "
                  f"(subprocess wall incl. start-up {o['child_wall_s']:.2f} s)")
            print(f"ratio opening/age: {ratio:.2f}")
            print(f"age -d on all {os.cpu_count()} cores (xargs -P): {o['age_par_s']:7.2f} s  "
                  f"ratio opening/that: {o['open_s'] / o['age_par_s']:.2f}")
            print(f"opening process peak RSS (VmHWM): {o['rss_mb']:.0f} MB; largest decrypting worker process: "
                  f"{o['worker_rss_mb']:.0f} MB")
            summary += [f"opening  {o['bids']} x {o['bid_mb']} MB: {o['open_s']:.2f} s vs age {o['age_s']:.2f} s, "
                        f"ratio {ratio:.2f} (goal <= 2: {'OK' if ratio <= 2 else 'MISSED'})",
                        f"opening  peak RSS {o['rss_mb']:.0f} MB (goal <= 150 MB: "
                        f"{'OK' if o['rss_mb'] <= 150 else 'MISSED'})",
                        f"opening  all bids valid: {'yes' if o['statuses'] == {'valid': o['bids']} else 'NO'}"]
        if not args.skip_ingest:
            print(f"== ingest: one {args.ingest_mb} MB sealed bid over HTTP", flush=True)
            g = bench_ingest(work / "ingest", args.ingest_mb, args.ingest_repeat)
            ratio = g["cat_s"] / g["up_s"]
            growth = g["rss_after"] - g["rss_before"]
            print(f"medians of {g['repeat']} interleaved runs each")
            print(f"file: {g['mb']:.0f} MB  stored: {'yes' if g['ok'] else 'NO (HTTP ' + str(g['status']) + ')'}")
            pipe_ratio = g["pipe_s"] / g["up_s"]
            print(f"cat file > copy + sync (baseline; copy_file_range, in the kernel): {g['cat_s']:7.2f} s  "
                  f"{g['mb'] / g['cat_s']:8.1f} MB/s")
            print(f"cat file | cat > copy + sync (the bytes through a process): {g['pipe_s']:7.2f} s  "
                  f"{g['mb'] / g['pipe_s']:8.1f} MB/s")
            print(f"HTTP bid POST (Sunbid; on disk, fsynced, before it answers): {g['up_s']:7.2f} s  "
                  f"{g['mb'] / g['up_s']:8.1f} MB/s")
            print(f"throughput ratio POST/cat: {ratio:.2f}; POST/(cat | cat): {pipe_ratio:.2f}")
            print(f"server worker peak RSS: {g['rss_before']:.0f} MB before, {g['rss_after']:.0f} MB after "
                  f"(growth {growth:.0f} MB)")
            summary += [f"ingest   {g['mb']:.0f} MB: stored {'yes' if g['ok'] else 'NO'}, throughput "
                        f"{100 * ratio:.0f} % of cat (goal >= 50 %: {'OK' if ratio >= 0.5 else 'MISSED'}), "
                        f"{100 * pipe_ratio:.0f} % of cat | cat",
                        f"ingest   worker RSS growth {growth:.0f} MB (goal <= 100 MB: "
                        f"{'OK' if growth <= 100 else 'MISSED'})"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("== SUMMARY")
    for line in summary:
        print(line)


if __name__ == "__main__":
    main()
