"""The deadline rush: N bidders upload a sealed bid within the last minute, through gunicorn and PostgreSQL.

    uv run python benchmarks/bench_rush.py [--bidders 300] [--mb 5] [--window 60]
        [--workers W] [--threads T] [--clients C] [--database-url postgresql+psycopg://…] [--seed 1]

In a PostgreSQL database (emptied and migrated; default ``bench_rush`` on 127.0.0.1) and a fresh data
directory, sets up through the services a published tender with custodians, and ``--bidders`` bidder
accounts, each with its documents downloaded and an API token.  Every bidder gets its own real sealed bid of
``--mb`` MB (random bytes sealed with pyrage to the tender's recipient).  The app is served by ``sunbid serve``
itself (gunicorn with its default workers and threads unless ``--workers`` / ``--threads`` are given) on a
free local port.  Client threads (at most ``--clients``, each bid on a connection of its own, sent with
sendfile) then POST the bids to ``/api/v1/tenders/<id>/bids`` at start times spread evenly over
``--window`` seconds (``--window 0``: all at once).  Afterwards it checks that nothing was lost: the database
has exactly one current bid per bidder, each with the SHA-256 and size that were sent, each blob on disk
hashes to it, and each receipt the server answered verifies against the platform key.

It prints p50/p95/p99/max latency, the count of 5xx answers and of lost bids, throughput, workers × threads
and cores, and the baseline measured in the same run on the same disk: writing the same bytes with ``cat``
(one file per bid, into the data directory's file system) followed by ``sync``, and the ratio.  Nothing here
is a timed test; it prints figures (goal: 300 bidders in 60 s, 0 lost, 0 5xx, p99 < 2 s).
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._serve import free_port  # noqa: E402
from benchmarks.bench_opening import World  # noqa: E402

MiB = 1024 * 1024
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_rush"


def fresh_database(url: str) -> None:
    """Empty the benchmark's own database (never anyone else's: the name must contain ``bench``)."""
    from sqlalchemy import create_engine, text

    if "bench" not in url.rsplit("/", 1)[-1]:
        raise SystemExit(f"refusing to empty {url}: use a database whose name contains 'bench'")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def setup(work: Path, url: str, bidders: int, mb: int) -> dict:
    import pyrage

    from audit.keys import load_or_create
    from accounts import service
    from core.config import Settings
    from core.db import unit_of_work

    fresh_database(url)
    now = datetime.now(UTC).replace(microsecond=0)
    w = World(work, now - timedelta(hours=3), url=url)
    signer = load_or_create(w.data / "keys" / "platform.skey", Settings(database_url=url).log_origin)
    recipient = pyrage.x25519.Recipient.from_str(w.recipient)
    bids_dir = work / "bids"
    bids_dir.mkdir()
    clients = []
    t0 = time.perf_counter()
    for i in range(bidders):
        actor, org = w.bidder(now - timedelta(minutes=30))
        with unit_of_work(w.s):
            _tok, token = service.create_api_token(w.s, actor=actor, name="rush", now=now - timedelta(minutes=20))
        sealed = pyrage.encrypt(os.urandom(mb * MiB - 200), [recipient])  # about mb MiB once sealed
        path = bids_dir / f"b{i}.age"
        path.write_bytes(sealed)
        clients.append({"token": token, "path": path, "size": len(sealed), "org": org.id,
                        "sha256": hashlib.sha256(sealed).hexdigest()})
        if (i + 1) % 50 == 0:
            print(f"  set up {i + 1}/{bidders} bidders ({time.perf_counter() - t0:.0f} s)", flush=True)
    out = {"tender_id": w.tender_id, "vkey": signer.vkey(), "clients": clients, "data": w.data}
    w.close()
    return out


def baseline(work: Path, files: list[Path], target: Path) -> float:
    """``cat`` each bid into a new file in ``target`` (the data directory's file system), then ``sync``."""
    target.mkdir(parents=True, exist_ok=True)
    os.sync()
    script = "".join(f"cat '{p}' > '{target / p.name}'\n" for p in files) + "sync\n"
    t0 = time.perf_counter()
    subprocess.run(["sh", "-c", script], check=True)
    elapsed = time.perf_counter() - t0
    shutil.rmtree(target)
    return elapsed


def serve(env: dict[str, str], workers: int | None, threads: int | None, log: Path):
    port = free_port()
    cmd = [sys.executable, "-m", "sunbid.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers:
        cmd += ["--workers", str(workers)]
    if threads:
        cmd += ["--threads", str(threads)]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    return port, server


def wait_ready(port: int, server: subprocess.Popen, tender_id: int, workers: int) -> None:
    """Until every worker answers: as many successful requests in a row as there are workers, and more."""
    deadline = time.monotonic() + 120
    ok = 0
    while ok < 4 * workers:
        if server.poll() is not None:
            raise SystemExit("the server exited at start-up (see its log)")
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start within 120 s")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", f"/api/v1/tenders/{tender_id}")
            resp = conn.getresponse()
            resp.read()
            conn.close()
            ok = ok + 1 if resp.status == 200 else 0
        except OSError:
            ok = 0
            time.sleep(0.2)


def gunicorn_shape(server: subprocess.Popen) -> int:
    """The number of worker processes running: the master's children (every thread's, read from /proc)."""
    children = set()
    for task in Path(f"/proc/{server.pid}/task").iterdir():
        children.update((task / "children").read_text().split())
    return len(children)


def configured_threads(threads: int | None) -> int:
    from sunbid.cli import serve as command

    return threads or next(p.default for p in command.params if p.name == "threads")


def submit(port: int, tender_id: int, client: dict, at: float, timeout: float) -> dict:
    delay = at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    started = time.monotonic()
    result = {"late": started - at, "status": 0, "body": None, "error": ""}
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.putrequest("POST", f"/api/v1/tenders/{tender_id}/bids")
        conn.putheader("Authorization", f"Bearer {client['token']}")
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(client["size"]))
        conn.endheaders()
        with client["path"].open("rb") as f:
            conn.sock.sendfile(f)
        resp = conn.getresponse()
        raw = resp.read()
        result["status"] = resp.status
        try:
            result["body"] = json.loads(raw)
        except ValueError:
            result["error"] = raw[:300].decode(errors="replace")
        conn.close()
    except (OSError, http.client.HTTPException) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["seconds"] = time.monotonic() - started
    result["done"] = time.monotonic()
    return result


def verify(url: str, data: Path, tender_id: int, vkey: str, clients: list[dict], results: list[dict]) -> list[str]:
    """What was lost or wrong, one line each (empty: every bid is stored and every receipt verifies)."""
    from sqlalchemy import select

    from core.blobs import BlobStore
    from core.db import make_engine, make_sessionmaker
    from tender.models import Bid
    from tender.receipts import verify_complete

    problems = []
    engine = make_engine(url)
    blobs = BlobStore(data)
    with make_sessionmaker(engine)() as s:
        current = {b.organisation_id: b for b in s.scalars(select(Bid).where(Bid.tender_id == tender_id,
                                                                             Bid.status == "current"))}
        if len(current) != len(clients):
            problems.append(f"{len(current)} current bids in the database, {len(clients)} sent")
        for i, (c, r) in enumerate(zip(clients, results)):
            bid = current.get(c["org"])
            if bid is None:
                problems.append(f"bidder {i}: no current bid stored (HTTP {r['status']} {r['error']})")
                continue
            if (bid.sha256, bid.size) != (c["sha256"], c["size"]):
                problems.append(f"bidder {i}: stored {bid.sha256[:12]}…/{bid.size}, sent {c['sha256'][:12]}…")
            digest = hashlib.sha256()
            with blobs.path(bid.sha256).open("rb") as f:
                while chunk := f.read(MiB):
                    digest.update(chunk)
            if digest.hexdigest() != c["sha256"]:
                problems.append(f"bidder {i}: the blob on disk does not hash to its SHA-256")
            body = r["body"] or {}
            if r["status"] != 201 or body.get("sha256") != c["sha256"]:
                problems.append(f"bidder {i}: answered HTTP {r['status']} {r['error'] or body}")
                continue
            if str(body.get("id")) != str(bid.id) and body.get("id") != getattr(bid, "public_id", None):
                problems.append(f"bidder {i}: answered bid id {body.get('id')!r}, stored {bid.id}")
            try:
                v = verify_complete(json.dumps(body["receipt"]), vkey)
                if v.receipt.get("sha256") != c["sha256"]:
                    problems.append(f"bidder {i}: the receipt names another SHA-256")
            except Exception as exc:  # noqa: BLE001 - any failure is a finding to print
                problems.append(f"bidder {i}: the receipt does not verify: {exc}")
    engine.dispose()
    return problems


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bidders", type=int, default=300)
    ap.add_argument("--mb", type=int, default=5)
    ap.add_argument("--window", type=float, default=60, help="seconds the submissions are spread over")
    ap.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: sunbid serve's)")
    ap.add_argument("--threads", type=int, default=None, help="threads per worker (default: sunbid serve's)")
    ap.add_argument("--clients", type=int, default=400, help="most client threads at once")
    ap.add_argument("--timeout", type=float, default=120, help="per request, seconds")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_RUSH_DATABASE_URL", DEFAULT_URL))
    ap.add_argument("--keep", action="store_true", help="keep the work directory (printed)")
    ap.add_argument("--profile", metavar="FILE", help="record the server's workers with py-spy during the rush "
                    "into FILE (collapsed stacks, idle threads included); run with uv run --with py-spy")
    args = ap.parse_args()
    if not 1 <= args.bidders <= 2000 or not 1 <= args.clients <= 1000 or not 0 <= args.window <= 600:
        raise SystemExit("--bidders 1..2000, --clients 1..1000, --window 0..600")
    work = Path(tempfile.mkdtemp(prefix="sunbid-bench-rush-", dir=os.environ.get("BENCH_RUSH_DIR")))
    try:
        run(work, args)
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(work: Path, args) -> None:
    print(f"== deadline rush: {args.bidders} bidders × {args.mb} MB over {args.window:g} s", flush=True)
    t0 = time.perf_counter()
    world = setup(work, args.database_url, args.bidders, args.mb)
    clients, tender_id = world["clients"], world["tender_id"]
    total_mb = sum(c["size"] for c in clients) / MiB
    print(f"set up (services + sealing): {time.perf_counter() - t0:.1f} s; {total_mb:.0f} MB of sealed bids")

    cat_s = baseline(work, [c["path"] for c in clients], world["data"] / "baseline")

    env = {**os.environ, "SUNBID_DATABASE_URL": args.database_url, "SUNBID_DATA_DIR": str(world["data"]),
           "SUNBID_SECRET_KEY": "r" * 48, "SUNBID_BID_LIMIT_MB": str(args.mb + 10)}
    log = work / "server.log"
    port, server = serve(env, args.workers, args.threads, log)
    try:
        wait_ready(port, server, tender_id, args.workers or 2 * (os.cpu_count() or 1) + 1)
        workers, threads = gunicorn_shape(server), configured_threads(args.threads)
        spy = None
        if args.profile:
            spy = subprocess.Popen([shutil.which("py-spy") or "py-spy", "record", "--pid", str(server.pid),
                                    "--subprocesses", "--idle", "--threads", "--format", "raw", "--rate", "50",
                                    "--output", args.profile, "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(2)
        load_before = os.getloadavg()
        n = len(clients)
        start = time.monotonic() + 1.0
        step = args.window / n if n > 1 else 0
        times = [start + i * step for i in range(n)]
        with ThreadPoolExecutor(max_workers=min(args.clients, n)) as pool:
            futures = [pool.submit(submit, port, tender_id, c, at, args.timeout) for c, at in zip(clients, times)]
            results = [f.result() for f in futures]
        load_after = os.getloadavg()
        if spy is not None:
            spy.send_signal(2)  # py-spy writes its output on SIGINT
            spy.wait(60)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    wall = max(r["done"] for r in results) - start
    errors = [line for line in log.read_text(errors="replace").splitlines()
              if "Traceback" in line or "ERROR" in line or "WORKER TIMEOUT" in line]

    problems = verify(args.database_url, world["data"], tender_id, world["vkey"], clients, results)
    lat = [r["seconds"] for r in results]
    five = sum(1 for r in results if r["status"] >= 500)
    failed = sum(1 for r in results if r["status"] != 201)
    lost = sum(1 for p in problems if "no current bid" in p)
    late = max(r["late"] for r in results)
    p99 = pct(lat, 99)
    print(f"server: sunbid serve, {workers} workers × {threads} threads; cores: {os.cpu_count()}")
    print(f"load average before / after: {' '.join(f'{x:.2f}' for x in load_before)} / "
          f"{' '.join(f'{x:.2f}' for x in load_after)}")
    print(f"latency: p50 {pct(lat, 50):.2f} s  p95 {pct(lat, 95):.2f} s  p99 {p99:.2f} s  max {max(lat):.2f} s  "
          f"mean {statistics.mean(lat):.2f} s  (client start at most {late:.2f} s late)")
    print(f"answers: {n - failed} × 201, {failed} other ({five} × 5xx); server log errors: {len(errors)}")
    print(f"throughput: {n} bids, {total_mb:.0f} MB in {wall:.1f} s = {total_mb / wall:.1f} MB/s, "
          f"{n / wall:.1f} bids/s")
    print(f"cat each bid to a file + sync on the same disk (baseline): {cat_s:.2f} s = {total_mb / cat_s:.1f} MB/s; "
          f"ratio rush wall / cat: {wall / cat_s:.1f} (the window is {args.window:g} s)")
    print(f"lost: {lost}; problems: {len(problems)}")
    for p in problems[:20]:
        print(f"  {p}")
    for e in errors[:10]:
        print(f"  server: {e}")
    print("== SUMMARY")
    print(f"rush {n} × {args.mb} MB in {args.window:g} s, {workers}×{threads} on "
          f"{os.cpu_count()} cores: p99 {p99:.2f} s (goal < 2 s: {'OK' if p99 < 2 else 'MISSED'}), "
          f"lost {lost}, 5xx {five} (goal 0: {'OK' if lost == 0 and five == 0 and not problems else 'MISSED'}); "
          f"cat + sync {cat_s:.2f} s")


if __name__ == "__main__":
    main()
