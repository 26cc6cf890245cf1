"""The audit log's costs, each against a baseline measured in the same run.

    uv run python benchmarks/bench_audit.py [--entries 1000000] [--appends 2000]
        [--backends sqlite,postgresql] [--skip-pymerkle] [--pm-entries 100000] ...

(part 4 needs the ``bench`` dependency group: ``uv sync --group bench`` once, or ``uv run --group bench ...``)

1. Append: ``audit.service.record`` in one transaction per entry (payload ~200 bytes), 1 and 8 writers
   (threads, one session each), on SQLite (temp file, migrated, the app's engine setup: WAL, busy_timeout)
   and PostgreSQL (a database of its own, migrated) → entries/s; baseline: a plain INSERT of rows of the
   same size into a scratch table, same number of transactions and writers.  Goal: ratio >= 0.5.
2. Verify: an export of ``--entries`` entries in the format ``sunbid audit export`` writes, with a signed
   checkpoint of the whole log, checked by ``audit.verify.verify_export`` (streamed, in a subprocess)
   → entries/s, MB/s and peak RSS; baseline: SHA-256 of the same file's bytes.  Goal: RSS flat, <= 200 MB.
3. Proofs on a log of ``--entries`` entries bulk-loaded into audit_entry / audit_node (real entries, the same
   ones as the export; perfect-subtree hashes computed with merkle.perfect_subtrees_completed + node_hash):
   inclusion and consistency proofs through ``audit.service.inclusion`` / ``consistency`` (what the API serves), p50/p95 in ms; baseline: one
   primary-key read of a leaf hash through the same kind of session.  Goal: p50 < 5 ms.
4. Sunbid's merkle module (an in-memory SubtreeSource storing perfect subtrees as they complete, as
   audit.service does) vs pymerkle's InmemoryTree: appends/s and inclusion proofs/s, roots compared.

Nothing here is a timed test; it prints figures.  It creates (and drops) its own PostgreSQL database,
never the one named in --pg-url.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ORIGIN = "bench.sunbid.localhost/audit"  # the log's name in checkpoints (a valid SUNBID_LOG_ORIGIN)
FORMAT = "sunbid-audit-log/1"           # as audit/cli.py writes it
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ACTIONS = ("tender.amended", "document.downloaded", "question.answered", "bid.submitted", "tender.viewed")
NOTE = ("Amendment to the tender documents: section 3.2 technical requirements revised, see the attached "
        "clarification; deadline unchanged. ")
PROTECTED_DBS = {"test", "postgres", "template0", "template1"}

SUMMARY: list[str] = []


def payload_for(i: int) -> dict:
    """~200 bytes once canonical (RFC 8785)."""
    return {"amount": f"{1000000 + i % 900000}.{i % 100:02d}", "lot": i % 13, "note": NOTE[:128],
            "ref": f"ZB-2026-{i:07d}"}


def actor():
    from core.actor import Actor

    return Actor(user_id=7, name="agency1", role="agency", organisation_id=3, address="10.0.0.7")


def out(line: str = "", summary: bool = False) -> None:
    print(line, flush=True)
    if summary:
        SUMMARY.append(line)


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("MET" if ok else "NOT MET")


def pct(data: list[float], p: int) -> float:
    return statistics.quantiles(data, n=100, method="inclusive")[p - 1] if len(data) > 1 else data[0]


# ============================================================================= PostgreSQL plumbing

class Postgres:
    """A scratch database of our own on the server named by --pg-url; dropped at the end."""

    def __init__(self, base_url: str, name: str):
        from sqlalchemy.engine import make_url

        if name.lower() in PROTECTED_DBS:
            raise SystemExit(f"refusing to use database {name!r}: pick another --pg-db")
        self.base = make_url(base_url)
        if self.base.database and self.base.database.lower() == name.lower():
            raise SystemExit("--pg-db must differ from the database in --pg-url")
        self.name = name
        self.url = self.base.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False)
        self.created = False

    def conninfo(self, dbname: str) -> dict:
        info = {"host": self.base.host or "127.0.0.1", "port": self.base.port or 5432,
                "user": self.base.username or "postgres", "dbname": dbname}
        if self.base.password:
            info["password"] = self.base.password
        return info

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(**self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def fresh(self) -> str:
        """Drop and recreate the scratch database, migrate it, return its URL."""
        from core.migrate import upgrade

        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.created = True
        upgrade(self.url)
        return self.url

    def drop(self) -> None:
        if self.created:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.created = False


def fresh_sqlite(work: Path, name: str) -> str:
    from core.migrate import upgrade

    path = work / name
    for p in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm")):
        p.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


# ============================================================================= 1. appends

def is_lock_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def run_writers(sessions, writers: int, total: int, txn) -> tuple[float, int]:
    """``total`` transactions split over ``writers`` threads (one session each); a transaction that fails
    with SQLite's "database is locked" is rolled back and retried.  Returns (seconds, retries)."""
    per = [total // writers + (1 if w < total % writers else 0) for w in range(writers)]
    barrier = threading.Barrier(writers + 1)
    retries = [0] * writers
    errors: list[BaseException] = []

    def work(w: int) -> None:
        s = sessions()
        try:
            barrier.wait()
            for k in range(per[w]):
                while True:
                    try:
                        txn(s, w * 1_000_000 + k)
                        break
                    except Exception as exc:  # noqa: BLE001
                        if not is_lock_error(exc):
                            raise
                        retries[w] += 1
                    finally:
                        # as in the app, where a session lives for one request: nothing loaded in one unit of
                        # work is carried into the next (record() reads audit_head through the identity map,
                        # and SELECT ... FOR UPDATE does not refresh an AuditHead still held there)
                        s.expunge_all()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return elapsed, sum(retries)


def bench_append(backend: str, url: str, appends: int, writer_counts: list[int]) -> None:
    from sqlalchemy import Column, Integer, MetaData, Table, Text, func, insert, select

    from audit import merkle
    from audit.models import AuditEntry
    from audit.service import record, root_at, tree_size, verify
    from core.db import UTCDateTime, make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(url)  # exactly as the app makes it (SQLite: WAL, busy_timeout, foreign keys)
    sessions = make_sessionmaker(engine)
    scratch = Table("bench_scratch", MetaData(), Column("id", Integer, primary_key=True, autoincrement=True),
                    Column("at", UTCDateTime()), Column("data", Text))
    scratch.create(engine)
    who = actor()

    def audit_txn(s, k: int) -> None:
        with unit_of_work(s):
            record(s, actor=who, action="tender.amended", object_type="tender", object_id=k % 977 + 1,
                   now=datetime.now(UTC), payload=payload_for(k), tender_id=k % 977 + 1)

    with sessions() as s:  # warm up, and measure the size of an audit row to give the scratch rows
        for k in range(10):
            audit_txn(s, k)
        row = s.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
        row_bytes = sum(len(str(getattr(row, c)).encode()) for c in
                        ("seq", "actor_id", "actor", "role", "address", "action", "object_type", "object_id",
                         "subject_kind", "subject_id", "payload", "prev_hash", "hash", "leaf_hash"))
    filler = (NOTE * 8).encode()

    def plain_txn(s, k: int) -> None:
        data = (f"{k:012d}".encode() + hashlib.sha256(str(k).encode()).hexdigest().encode() + filler)[:row_bytes]
        with unit_of_work(s):
            s.execute(insert(scratch).values(at=datetime.now(UTC), data=data.decode()))

    with sessions() as s:
        for k in range(10):
            plain_txn(s, k)
    out(f"  [{backend}] audit row ≈ {row_bytes} bytes of column data (payload "
        f"{len(row.payload.encode())} bytes); scratch rows: id + timestamp + {row_bytes} bytes of text, "
        f"primary key only")
    for writers in writer_counts:
        t_plain, r_plain = run_writers(sessions, writers, appends, plain_txn)
        t_audit, r_audit = run_writers(sessions, writers, appends, audit_txn)
        rate_a, rate_p = appends / t_audit, appends / t_plain
        ratio = rate_a / rate_p
        label = f"append {backend:<10} {writers} writer{'s' if writers > 1 else ' '}"
        out(f"{label:<32} record(): {rate_a:8.0f} entries/s | plain INSERT: {rate_p:8.0f} rows/s | "
            f"ratio record()/INSERT {ratio:5.2f} (goal ≥ 0.5) {verdict(ratio >= 0.5)}", summary=True)
        if r_audit or r_plain:
            out(f"{'':<32} 'database is locked' rollbacks retried: record() {r_audit} "
                f"({r_audit / (r_audit + appends):.0%} of attempts), plain INSERT {r_plain} "
                f"— the app does not retry: each would have been an error for its request", summary=True)
    with sessions() as s:  # the log those concurrent appends left must be whole
        n = tree_size(s)
        assert verify(s) == n == s.scalar(select(func.count()).select_from(AuditEntry)), "chain broken"
        leaves = [bytes.fromhex(h) for h in s.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq))]
        assert root_at(s, n) == merkle.root_from_leaf_hashes(leaves), "stored subtrees disagree with leaves"
    out(f"  [{backend}] after the runs: chain of {n} entries verifies, stored-subtree root == root of leaves")
    engine.dispose()


# ============================================================================= 2./3. the 1M-entry log

def make_entry(seq: int, prev: str):
    from audit.rules import Entry

    return Entry(seq=seq, at=T0 + timedelta(milliseconds=seq), actor_id=7, actor="agency1", role="agency",
                 address="10.0.0.7", action=ACTIONS[seq % len(ACTIONS)], object_type="tender",
                 object_id=str(seq % 977 + 1), payload=payload_for(seq), prev_hash=prev)


class Generated:
    def __init__(self):
        self.n = 0
        self.root = b""
        self.last_hash = ""
        self.vkey = ""
        self.leaves: dict[int, bytes] = {}   # sampled index -> leaf hash (checked against the proofs)
        self.roots: dict[int, bytes] = {}    # sampled size -> root (for the consistency proofs)
        self.encoded: list[bytes] = []       # the first --pm-entries canonical entries (part 4)
        self.seconds = 0.0
        self.export_bytes = 0


def generate(work: Path, n: int, *, want_leaves: set[int], want_roots: set[int], keep_encoded: int,
             write_db_files: bool) -> Generated:
    """Write export.jsonl (exactly the format of ``sunbid audit export``), and the rows of audit_entry and
    audit_node as tab-separated files for bulk loading, in one pass over ``n`` chained entries."""
    from audit import merkle, notes
    from audit.rules import GENESIS, canonical, jsonable
    from audit.verify import CompactRange

    skey, vkey = notes.generate_signer(ORIGIN)
    signer = notes.Signer.from_skey(skey)
    g = Generated()
    g.n, g.vkey = n, vkey

    def checkpoint_line(root: bytes) -> bytes:
        note = notes.sign_checkpoint(notes.Checkpoint(origin=ORIGIN, size=n, root=root), signer)
        return (json.dumps({"checkpoint": note}, ensure_ascii=False) + "\n").encode()

    placeholder_len = len(checkpoint_line(b"\0" * 32))  # the signed note's length depends on the size only
    header = {"format": FORMAT, "origin": ORIGIN, "vkey": vkey, "tree_size": n, "scope": "full",
              "tender_id": None, "entries": n}
    export = open(work / "export.jsonl", "wb", buffering=1 << 20)
    entries_tsv = open(work / "audit_entry.tsv", "w", encoding="utf-8", buffering=1 << 20) if write_db_files else None
    nodes_tsv = open(work / "audit_node.tsv", "w", encoding="utf-8", buffering=1 << 20) if write_db_files else None
    export.write((json.dumps(header, ensure_ascii=False) + "\n").encode())
    cp_offset = export.tell()
    export.write(b" " * (placeholder_len - 1) + b"\n")  # overwritten below once the root is known

    tree = CompactRange()
    edge: dict[tuple[int, int], bytes] = {}  # the right edge's perfect subtrees, as audit.service stores them
    prev = GENESIS
    dumps, sha256, leaf_hash, node_hash = json.dumps, hashlib.sha256, merkle.leaf_hash, merkle.node_hash
    completed = merkle.perfect_subtrees_completed
    lines: list[str] = []
    rows: list[str] = []
    nodes: list[str] = []
    t0 = time.perf_counter()
    for seq in range(1, n + 1):
        e = make_entry(seq, prev)
        doc = e.document()
        encoded = canonical(doc)
        digest = sha256(encoded).hexdigest()
        leaf = leaf_hash(encoded)
        lh = leaf.hex()
        lines.append(dumps({"index": seq - 1, "entry": doc, "hash": digest, "leaf_hash": lh}, ensure_ascii=False))
        tree.append(leaf)
        if write_db_files:
            payload = dumps(jsonable(e.payload), ensure_ascii=False, sort_keys=True)
            at = e.at.strftime("%Y-%m-%d %H:%M:%S.%f")
            rows.append(f"{seq}\t{at}+00\t7\tagency1\tagency\t10.0.0.7\t{e.action}\ttender\t{e.object_id}\t"
                        f"tender\t{e.object_id}\t{payload}\t{prev}\t{digest}\t{lh}")
            edge[(seq - 1, 1)] = leaf
            for start, size in completed(seq):  # smallest first, as audit.service._store_completed_subtrees
                half = size // 2
                h = node_hash(edge.pop((start, half)), edge.pop((start + half, half)))
                edge[(start, size)] = h
                nodes.append(f"{start}\t{size}\t{h.hex()}")
        if seq - 1 in want_leaves:
            g.leaves[seq - 1] = leaf
        if seq in want_roots:
            g.roots[seq] = tree.root()
        if seq <= keep_encoded:
            g.encoded.append(encoded)
        prev = digest
        if len(lines) >= 5000 or seq == n:
            export.write(("\n".join(lines) + "\n").encode())
            lines.clear()
            if write_db_files:
                entries_tsv.write("\n".join(rows) + "\n")
                if nodes:
                    nodes_tsv.write("\n".join(nodes) + "\n")
                rows.clear()
                nodes.clear()
    g.seconds = time.perf_counter() - t0
    g.root, g.last_hash = tree.root(), prev
    if write_db_files:
        class _Edge:
            def subtree(self, start: int, size: int) -> bytes:
                return edge[(start, size)]

        assert merkle.root_at(_Edge(), n) == g.root, "node hashes disagree with CompactRange"
        entries_tsv.close()
        nodes_tsv.close()
    line = checkpoint_line(g.root)
    assert len(line) == placeholder_len, "signed checkpoint length changed"
    export.seek(cp_offset)
    export.write(line)
    export.close()
    g.export_bytes = (work / "export.jsonl").stat().st_size
    return g


VERIFY_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from audit.verify import verify_export

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0

path, vkey, every = sys.argv[2], sys.argv[3], int(sys.argv[4])
samples = []

def lines(f):
    for i, line in enumerate(f, 1):
        if i % every == 0:
            samples.append([i, round(status("VmRSS"), 1)])
        yield line

before = status("VmHWM")
t0 = time.perf_counter()
with open(path, encoding="utf-8") as f:
    report = verify_export(lines(f), vkey)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "entries": report.entries, "tree_size": report.tree_size,
                  "root": report.root.hex(), "checkpoints": report.checkpoints, "hwm_before": before,
                  "hwm": status("VmHWM"), "samples": samples}))
"""


def bench_verify(work: Path, g: Generated) -> None:
    path = work / "export.jsonl"
    mb = g.export_bytes / 1024 / 1024
    # baseline: SHA-256 of the same bytes, 1 MB reads (the file is in the page cache for both)
    t0 = time.perf_counter()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    sha_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", VERIFY_CHILD, str(ROOT), str(path), g.vkey,
                           str(max(1, g.n // 10))], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"verify_export failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout)
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KB on Linux
    assert r["entries"] == g.n and r["tree_size"] == g.n and r["root"] == g.root.hex() and r["checkpoints"] == 1
    v_s = r["seconds"]
    ratio = sha_s / v_s
    out(f"  export: {g.n} entries, {mb:.0f} MB, 1 signed checkpoint of the whole log (format of "
        f"`sunbid audit export`); verified OK, root {g.root.hex()[:16]}…")
    out(f"{'verify ' + str(g.n) + ' entries':<32} verify_export: {g.n / v_s:9.0f} entries/s "
        f"({mb / v_s:6.1f} MB/s, {v_s:.1f} s; {wall:.1f} s with interpreter start) | "
        f"sha256 of the file: {mb / sha_s:7.1f} MB/s ({g.n / sha_s:.0f} entries/s, {sha_s:.2f} s) | "
        f"ratio verify/sha256 (same bytes) {ratio:6.3f}", summary=True)
    peak = r["hwm"]
    rss = ", ".join(f"{i // 1000}k:{v:.0f}" for i, v in r["samples"])
    growth = r["samples"][-1][1] - r["samples"][0][1] if r["samples"] else 0.0
    out(f"{'verify peak RSS':<32} {peak:6.0f} MB VmHWM of the verifying process | its RSS once imports were "
        f"done: {r['hwm_before']:.0f} MB (ratio {peak / r['hwm_before']:.2f}); growth from 10% to 100% of the file "
        f"{growth:+.0f} MB | goal flat, ≤ 200 MB {verdict(peak <= 200 and growth < 20)}", summary=True)
    out(f"{'':<32} (ru_maxrss via RUSAGE_CHILDREN says {children_peak:.0f} MB: Linux counts the parent's pages "
        f"that the child held between fork and exec, so the child's own VmHWM is the figure)")
    out(f"{'':<32} RSS (MB) along the file, at lines  {rss}")


def load_postgres(pg: Postgres, work: Path, g: Generated) -> float:
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(**pg.conninfo(pg.name)) as conn:
        with conn.cursor() as cur:
            for table, cols, name in (
                    ("audit_entry", "seq, at, actor_id, actor, role, address, action, object_type, object_id, "
                                    "subject_kind, subject_id, payload, prev_hash, hash, leaf_hash", "audit_entry.tsv"),
                    ("audit_node", "start, size, hash", "audit_node.tsv")):
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy, open(work / name, "rb") as f:
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
            cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (g.n, g.last_hash))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE audit_entry")
        conn.execute("VACUUM ANALYZE audit_node")
    return time.perf_counter() - t0


def load_sqlite(url: str, work: Path, g: Generated) -> float:
    path = url.removeprefix("sqlite:///")
    t0 = time.perf_counter()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN")
    sql = ("INSERT INTO audit_entry (seq, at, actor_id, actor, role, address, action, object_type, object_id, "
           "subject_kind, subject_id, payload, prev_hash, hash, leaf_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
    batch: list[tuple] = []
    with open(work / "audit_entry.tsv", encoding="utf-8") as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            # SQLAlchemy's SQLite DateTime storage: naive UTC "YYYY-MM-DD HH:MM:SS.ffffff"
            batch.append((int(c[0]), c[1][:-3], int(c[2]), c[3], c[4], c[5], c[6], c[7], c[8], c[9],
                          c[10], c[11], c[12], c[13], c[14]))
            if len(batch) >= 20000:
                con.executemany(sql, batch)
                batch.clear()
    con.executemany(sql, batch)
    batch.clear()
    with open(work / "audit_node.tsv", encoding="utf-8") as f:
        for line in f:
            s, z, h = line.rstrip("\n").split("\t")
            batch.append((int(s), int(z), h))
            if len(batch) >= 50000:
                con.executemany("INSERT INTO audit_node (start, size, hash) VALUES (?,?,?)", batch)
                batch.clear()
    con.executemany("INSERT INTO audit_node (start, size, hash) VALUES (?,?,?)", batch)
    con.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (g.n, g.last_hash))
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return time.perf_counter() - t0


def bench_proofs(backend: str, url: str, g: Generated, inc_idx: list[int], cons_m: list[int],
                 load_s: float) -> None:
    from sqlalchemy import select

    from audit import merkle
    from audit.models import AuditEntry
    from audit.service import TreeSource, root_at, tree_size
    from core.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    n = g.n
    with sessions() as s:
        assert tree_size(s) == n
        root = root_at(s, n)
    assert root == g.root, f"{backend}: root from the database differs from the generated log's root"
    out(f"  [{backend}] {n} entries bulk-loaded in {load_s:.0f} s; root_at(n) from audit_node/audit_entry == "
        f"the export's signed root")

    def timed(params: list[int], one) -> tuple[list[float], list[int], int]:
        times, reads, checked = [], [], 0
        for b in range(0, len(params), 100):  # a fresh session every 100
            with sessions() as s:
                for j, p in enumerate(params[b:b + 100], start=b):
                    src = TreeSource(s)
                    t0 = time.perf_counter()
                    result = one(s, src, p)
                    times.append((time.perf_counter() - t0) * 1000)
                    reads.append(len(src.cache))
                    if j % 10 == 0:
                        checked += check(s, p, result)
        return times, reads, checked

    def lookup(s, src, seq):
        return s.scalar(select(AuditEntry.leaf_hash).where(AuditEntry.seq == seq))

    def inclusion(s, src, idx):  # what GET /api/v1/audit/proof/inclusion does: the subtrees read in two queries
        from audit import service as audit_service

        _leaf, path, _root = audit_service.inclusion(s, idx, n)
        src.cache.update({(i, 0): b"" for i in range(2)})  # two queries (see audit.service._batched)
        return path

    def consistency(s, src, m):  # what GET /api/v1/audit/proof/consistency does
        from audit import service as audit_service

        path, _old, _new = audit_service.consistency(s, m, n)
        src.cache.update({(i, 0): b"" for i in range(2)})
        return path

    state = {}

    def check(s, p, result) -> int:
        kind = state["kind"]
        if kind == "lookup":
            return 1
        if kind == "inclusion":
            ok = merkle.verify_inclusion(g.leaves[p], p, n, result, root)
        else:
            old = g.roots[p]
            ok = old == root_at(s, p) and merkle.verify_consistency(p, n, old, root, result)
        assert ok, f"{backend}: {kind} proof for {p} does not verify"
        return 1

    results = {}
    for kind, fn, params in (("lookup", lookup, [i + 1 for i in inc_idx]), ("inclusion", inclusion, inc_idx),
                             ("consistency", consistency, cons_m)):
        state["kind"] = kind
        results[kind] = timed(params, fn)
    base50 = statistics.median(results["lookup"][0])
    out(f"  [{backend}] baseline, one primary-key read of a leaf hash (ORM select, same sessions): "
        f"p50 {base50:.3f} ms, p95 {pct(results['lookup'][0], 95):.3f} ms")
    for kind in ("inclusion", "consistency"):
        times, reads, checked = results[kind]
        p50, p95 = statistics.median(times), pct(times, 95)
        label = f"{kind} proof {backend}"
        out(f"{label:<32} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms ({len(times)} proofs, n={n}, "
            f"{statistics.mean(reads):.1f} queries avg) | one PK read p50 {base50:.3f} ms | "
            f"ratio proof/read {p50 / base50:5.1f} | goal p50 < 5 ms {verdict(p50 < 5)}", summary=True)
        out(f"{'':<32} {checked} of them verified with merkle.verify_{kind} against the signed root"
            + (" and roots at m taken from the generated log (equal to root_at(m) from the db)"
               if kind == "consistency" else ""))
    engine.dispose()


# ============================================================================= 4. pymerkle

class MemorySource:
    """Sunbid's tree in memory: leaf hashes and perfect subtrees stored as they complete, exactly as
    audit.service.record + _store_completed_subtrees do in audit_entry / audit_node."""

    def __init__(self):
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0

    def subtree(self, start: int, size: int) -> bytes:
        return self.nodes[(start, size)]

    def append(self, encoded: bytes) -> None:
        from audit import merkle

        nodes = self.nodes
        nodes[(self.size, 1)] = merkle.leaf_hash(encoded)
        self.size += 1
        for start, size in merkle.perfect_subtrees_completed(self.size):
            half = size // 2
            nodes[(start, size)] = merkle.node_hash(nodes[(start, half)], nodes[(start + half, half)])


def bench_pymerkle(encoded: list[bytes], proofs: int, seed: int) -> None:
    try:
        import pymerkle
    except ImportError:
        out("pymerkle                         SKIPPED: not installed — run `uv sync --group bench` "
            "(or `uv run --group bench python benchmarks/bench_audit.py`)", summary=True)
        return
    from importlib.metadata import version

    from audit import merkle

    n = len(encoded)
    gc.collect()
    t0 = time.perf_counter()
    src = MemorySource()
    for e in encoded:
        src.append(e)
    sb_append = time.perf_counter() - t0
    gc.collect()
    t0 = time.perf_counter()
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    for e in encoded:
        tree.append_entry(e)
    pm_append = time.perf_counter() - t0

    rng = random.Random(seed + 4)
    idx = [rng.randrange(n) for _ in range(proofs)]
    gc.collect()
    t0 = time.perf_counter()
    sb_paths = [merkle.inclusion_path(src, i, n) for i in idx]
    sb_prove = time.perf_counter() - t0
    gc.collect()
    t0 = time.perf_counter()
    pm_proofs = [tree.prove_inclusion(i + 1, n) for i in idx]  # pymerkle counts leaves from one
    pm_prove = time.perf_counter() - t0

    # agreement: roots (whole tree and some earlier sizes), leaf hashes, proof paths, both verifiers
    sb_root, pm_root = merkle.root_at(src, n), tree.get_root()
    sizes = sorted({1, 2, 3, n // 3, n // 2 + 1, n - 1, n} - {0})
    roots_agree = sb_root == pm_root == merkle.root_hash(encoded) and all(
        merkle.root_at(src, m) == tree.get_root(m) for m in sizes)
    paths_agree = verified = 0
    for i, path, proof in list(zip(idx, sb_paths, pm_proofs))[:1000]:
        leaf = src.subtree(i, 1)
        paths_agree += proof.path[0] == leaf == tree.get_leaf(i + 1) and proof.path[1:] == path
        try:
            pymerkle.verify_inclusion(leaf, pm_root, proof)
            verified += merkle.verify_inclusion(leaf, i, n, path, sb_root)
        except pymerkle.InvalidProof:
            pass
    checked = min(1000, proofs)
    out(f"  pymerkle {version('pymerkle')} InmemoryTree(algorithm='sha256') (defaults: 0x00/0x01 prefixes) vs "
        f"Sunbid audit.merkle over an in-memory SubtreeSource, the same {n} canonical entries")
    a_ratio, p_ratio = pm_append / sb_append, pm_prove / sb_prove
    out(f"{'in-memory appends':<32} Sunbid: {n / sb_append:9.0f} entries/s | pymerkle: {n / pm_append:9.0f} "
        f"entries/s | ratio Sunbid/pymerkle {a_ratio:5.2f} (goal > 1: Sunbid faster) {verdict(a_ratio > 1)}",
        summary=True)
    out(f"{'in-memory inclusion proofs':<32} Sunbid: {proofs / sb_prove:9.0f} proofs/s  | pymerkle: "
        f"{proofs / pm_prove:9.0f} proofs/s  | ratio Sunbid/pymerkle {p_ratio:5.2f} (goal > 1: Sunbid faster) "
        f"{verdict(p_ratio > 1)}", summary=True)
    out(f"{'RFC 9162 roots agree':<32} {'YES' if roots_agree else 'NO'}: root at n={n} "
        f"{sb_root.hex()[:16]}… (Sunbid) vs {pm_root.hex()[:16]}… (pymerkle), also at sizes {sizes}; "
        f"inclusion paths identical (pymerkle path minus its leading leaf hash) for {paths_agree}/{checked}, "
        f"accepted by both verifiers {verified}/{checked}", summary=True)


# ============================================================================= main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=1_000_000, help="size of the exported / loaded log (parts 2, 3)")
    ap.add_argument("--appends", type=int, default=2000, help="transactions per append run (part 1)")
    ap.add_argument("--writers", default="1,8", help="writer counts for part 1")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--proofs", type=int, default=1000, help="inclusion and consistency proofs each (part 3)")
    ap.add_argument("--pm-entries", type=int, default=100_000, help="entries for the pymerkle comparison")
    ap.add_argument("--pm-proofs", type=int, default=10_000, help="inclusion proofs for the pymerkle comparison")
    ap.add_argument("--skip-pymerkle", action="store_true")
    ap.add_argument("--skip-append", action="store_true")
    ap.add_argument("--skip-verify", action="store_true")
    ap.add_argument("--skip-proofs", action="store_true")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                    help="server to use (its database is only used to create and drop --pg-db)")
    ap.add_argument("--pg-db", default="sunbid_bench", help="scratch database, created and dropped here")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--workdir", default=None, help="where the temporary files go (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary files")
    args = ap.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in backends:
        if b not in ("sqlite", "postgresql"):
            raise SystemExit(f"unknown backend {b!r}")
    if args.entries < 16:
        raise SystemExit("--entries must be at least 16")
    writer_counts = [int(w) for w in args.writers.split(",")]
    pg = Postgres(args.pg_url, args.pg_db) if "postgresql" in backends else None
    work = Path(tempfile.mkdtemp(prefix="sunbid-bench-audit-", dir=args.workdir))
    started = time.perf_counter()
    out(f"Sunbid audit-log benchmark — Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, backends "
        f"{', '.join(backends)}; temp dir {work}")
    try:
        if not args.skip_append:
            out(f"\n== 1. append: audit.service.record, one entry per transaction, {args.appends} transactions per "
                f"run (plain INSERT baseline first, then record())")
            for b in backends:
                url = fresh_sqlite(work, "append.db") if b == "sqlite" else pg.fresh()
                bench_append(b, url, args.appends, writer_counts)

        n = args.entries
        rng = random.Random(args.seed)
        inc_idx = [rng.randrange(n) for _ in range(args.proofs)]
        cons_m = [rng.randrange(1, n) for _ in range(args.proofs)]
        need_db = not args.skip_proofs and bool(backends)
        need_log = need_db or not args.skip_verify
        keep = 0 if args.skip_pymerkle else args.pm_entries
        g = None
        if need_log:
            out(f"\n== building the {n}-entry log for parts 2 and 3 (audit.rules.Entry, chained; export + bulk-load files)")
            g = generate(work, n, want_leaves={i for k, i in enumerate(inc_idx) if k % 10 == 0},
                         want_roots={m for k, m in enumerate(cons_m) if k % 10 == 0}, keep_encoded=keep,
                         write_db_files=need_db)
            out(f"  generated in {g.seconds:.0f} s ({n / g.seconds:.0f} entries/s), export {g.export_bytes / 2**20:.0f} MB")
        if not args.skip_verify:
            out("\n== 2. verify: audit.verify.verify_export over the export, streamed, in a subprocess")
            bench_verify(work, g)
        if need_db:
            out(f"\n== 3. proofs on a {n}-entry log through audit.service.inclusion/consistency (the API's path) "
                f"({args.proofs} inclusion at size n, {args.proofs} consistency m < n; a fresh session every 100)")
            for b in backends:
                if b == "sqlite":
                    url = fresh_sqlite(work, "proofs.db")
                    load_s = load_sqlite(url, work, g)
                else:
                    url = pg.fresh()
                    load_s = load_postgres(pg, work, g)
                bench_proofs(b, url, g, inc_idx, cons_m, load_s)
                if b == "sqlite":
                    for suffix in ("", "-wal", "-shm"):
                        Path(str(work / "proofs.db") + suffix).unlink(missing_ok=True)
                else:
                    pg.drop()
        if not args.skip_pymerkle:
            out(f"\n== 4. in memory: Sunbid audit.merkle vs pymerkle, {args.pm_entries} entries, "
                f"{args.pm_proofs} inclusion proofs at size n")
            encoded = g.encoded if g is not None else []
            prev = "0" * 64
            from audit.rules import canonical

            while len(encoded) < args.pm_entries:  # only when --pm-entries > --entries or the log was skipped
                seq = len(encoded) + 1
                e = make_entry(seq, prev)
                encoded.append(canonical(e.document()))
                prev = hashlib.sha256(encoded[-1]).hexdigest()
            bench_pymerkle(encoded[:args.pm_entries], args.pm_proofs, args.seed)
    finally:
        if pg is not None:
            pg.drop()
        if args.keep:
            out(f"(kept {work})")
        else:
            shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - started
    out("\n" + "=" * 30 + " SUMMARY " + "=" * 30)
    for line in SUMMARY:
        print(line)
    print(f"total run time {total / 60:.1f} min; sizes: --entries {args.entries} --appends {args.appends} "
          f"--pm-entries {args.pm_entries} --proofs {args.proofs} --pm-proofs {args.pm_proofs}")


if __name__ == "__main__":
    main()
