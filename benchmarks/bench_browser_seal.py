"""Sealing a bid in the browser (static/js/bid-seal.js, typage) vs. the ``age`` tool on the same file, and the page's
peak memory.

    uv run python benchmarks/bench_browser_seal.py [--mb 200] [--runs 1] [--no-verify]

Serves the platform (its own SQLite file and data directory) on a free local port, opens one of its pages in
headless Chromium (Debian's, through Playwright) with the vendored age bundle (loaded with its integrity value) and
bid-seal.js, chooses a file of ``--mb`` MB of random bytes in a file input, and seals it to a fresh X25519 recipient
into the origin's private file system (OPFS), as the bid form will; the same run seals the same file with
``age -r <recipient> -o …``.  Prints the seconds and MB/s of each, their ratio (goal: at least 0.5), how fast the page
hashes the same file with SHA-256 alone (the sealed file's digest is computed as it is written), and the memory:

- the renderer process's resident memory (VmRSS from /proc, sampled every 20 ms, and its VmHWM) above what it held
  idle with the page loaded, just before sealing (goal: under 64 MB);
- the page's JavaScript heap (``performance.memory.usedJSHeapSize``, precise with ``--enable-precise-memory-info``),
  sampled as the page reports progress;
- the growth of Chromium's other processes (the browser process writes OPFS files for the page).

Unless ``--no-verify``, the sealed file is saved from the page and opened with ``age -d``; its plaintext must be
the file.  Nothing here is a timed test; it prints figures.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--enable-precise-memory-info"]
BUNDLE = "vendor/age-encryption/age.min.js"
MB = 1024 * 1024

LOAD = """async ([bundle, integrity]) => {
    const load = (src, integrity) => new Promise((resolve, reject) => {
        const s = document.createElement('script');
        s.src = src;
        if (integrity) { s.integrity = integrity; }
        s.onload = resolve;
        s.onerror = () => reject(new Error('could not load ' + src));
        document.head.append(s);
    });
    await load(bundle, integrity);
    await load('/static/js/bid-seal.js');
    const input = document.createElement('input');
    input.type = 'file';
    input.id = 'file';
    document.body.append(input);
    return SunbidSeal.missingFeatures();
}"""

SEAL = """async ([recipient, name]) => {
    const file = document.getElementById('file').files[0];
    const heap = () => performance.memory ? performance.memory.usedJSHeapSize : 0;
    const heap0 = heap();
    let heapPeak = heap0, calls = 0;
    const out = await SunbidSeal.openOpfsFile(name);
    const t0 = performance.now();
    const result = await SunbidSeal.seal(file, [recipient], out.writable, () => {
        if (++calls % 16 === 0) { heapPeak = Math.max(heapPeak, heap()); }
    });
    await out.close();
    const seconds = (performance.now() - t0) / 1000;
    window.sealed = await out.file();
    return {...result, seconds, heap0, heapPeak};
}"""

HASH = """async () => {
    const file = document.getElementById('file').files[0];
    const t0 = performance.now();
    const digest = await SunbidSeal.sha256(file);
    return {digest, seconds: (performance.now() - t0) / 1000};
}"""

SAVE = """() => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(window.sealed);
    a.download = 'bid.age';
    document.body.append(a);
    a.click();
    a.remove();
}"""


def status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def descendants(root: int) -> list[int]:
    """Every process under ``root`` (by parent id, from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid:
                found.append(child)
                frontier.append(child)
    return found


def chromium_processes() -> dict[int, str]:
    """Chromium's processes started by this benchmark: pid → type (renderer, gpu-process, utility, browser)."""
    out = {}
    for pid in descendants(os.getpid()):
        try:  # Chromium rewrites its command line as one string with spaces
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if b"chrom" not in cmd.split(b" ", 1)[0]:
            continue
        kind = re.search(rb"--type=([a-z-]+)", cmd)
        out[pid] = kind[1].decode() if kind else "browser"
    return out


class Sampler:
    """VmRSS of some processes every ``interval`` seconds, in a thread; keeps each one's peak."""

    def __init__(self, pids: list[int], interval: float = 0.02):
        self.pids, self.interval = pids, interval
        self.peak = {pid: status_kb(pid, "VmRSS") for pid in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], status_kb(pid, "VmRSS"))
            time.sleep(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def serve(work: Path):
    """The platform served in a thread on a free port (werkzeug); returns (base URL, server)."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from core.config import Settings
    from core.migrate import upgrade
    from sunbid.app import create_app

    url = f"sqlite:///{work / 'bench.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, data_dir=work / "data", testing=True))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200, help="size of the file to seal, in MB (default 200)")
    ap.add_argument("--runs", type=int, default=1, help="seal this many times each way (medians are printed)")
    ap.add_argument("--no-verify", action="store_true", help="do not open the browser's sealed file with age -d")
    args = ap.parse_args()
    for tool in ("age", "age-keygen"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install age)")
    work = Path(tempfile.mkdtemp(prefix="sunbid-bench-seal-"))
    try:
        run(work, args.mb, args.runs, not args.no_verify)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, mb: int, runs: int, verify: bool) -> None:
    from playwright.sync_api import sync_playwright

    from core.static_assets import static_integrity

    plain = work / "bid.zip"
    with plain.open("wb") as f:
        for _ in range(mb):
            f.write(os.urandom(MB))
    size = plain.stat().st_size
    plain_sha = hashlib.sha256(plain.read_bytes()).hexdigest()
    subprocess.run(["age-keygen", "-o", str(work / "key.txt")], check=True, capture_output=True)
    recipient = subprocess.run(["age-keygen", "-y", str(work / "key.txt")], check=True, capture_output=True,
                               text=True).stdout.strip()
    base, server = serve(work)
    age_s, page_s, wall_s, hash_s, rss_growth, hwm_growth, heap_growth, others_growth = ([] for _ in range(8))
    ok = True
    try:
        with sync_playwright() as p:
            for i in range(runs):
                out = work / "age.age"
                t0 = time.perf_counter()
                subprocess.run(["age", "-r", recipient, "-o", str(out), str(plain)], check=True)
                age_s.append(time.perf_counter() - t0)
                out.unlink()

                # A new browser each run, so that each idle figure is a fresh page's; a profile on disk, as a
                # bidder's browser has (an incognito-like context would keep OPFS in memory).
                browser = p.chromium.launch_persistent_context(str(work / f"profile-{i}"), executable_path=CHROMIUM,
                                                               args=CHROMIUM_ARGS, accept_downloads=True)
                page = browser.new_page()
                page.goto(f"{base}/")
                missing = page.evaluate(LOAD, [f"/static/{BUNDLE}", static_integrity(BUNDLE)])
                if missing:
                    raise SystemExit(f"this Chromium lacks {missing}")
                page.set_input_files("#file", str(plain))
                processes = chromium_processes()
                renderers = [pid for pid, kind in processes.items() if kind == "renderer"]
                time.sleep(1)  # let the renderer settle before taking its idle figures
                idle = {pid: status_kb(pid, "VmRSS") for pid in processes}
                hwm_before = {pid: status_kb(pid, "VmHWM") for pid in renderers}
                t0 = time.perf_counter()
                with Sampler(list(processes)) as sampler:
                    result = page.evaluate(SEAL, [recipient, "bench.age"])
                wall_s.append(time.perf_counter() - t0)
                page_s.append(result["seconds"])
                hwm_after = {pid: status_kb(pid, "VmHWM") for pid in renderers}
                rss_growth.append(max(sampler.peak[pid] - idle[pid] for pid in renderers) / 1024)
                hwm_growth.append(max(hwm_after[pid] - max(hwm_before[pid], idle[pid]) for pid in renderers) / 1024)
                heap_growth.append((result["heapPeak"] - result["heap0"]) / MB)
                others = [pid for pid in processes if pid not in renderers]
                others_growth.append(max((sampler.peak[pid] - idle[pid] for pid in others), default=0) / 1024)
                if verify and i == 0:
                    with page.expect_download() as d:
                        page.evaluate(SAVE)
                    sealed = work / "browser.age"
                    d.value.save_as(str(sealed))
                    ok = result["sha256"] == hashlib.sha256(sealed.read_bytes()).hexdigest() and \
                        result["size"] == sealed.stat().st_size
                    opened = subprocess.run(["age", "-d", "-i", str(work / "key.txt"), str(sealed)], check=True,
                                            capture_output=True).stdout
                    ok = ok and hashlib.sha256(opened).hexdigest() == plain_sha
                    del opened
                    sealed.unlink()
                hashed = page.evaluate(HASH)
                hash_s.append(hashed["seconds"])
                ok = ok and hashed["digest"] == plain_sha
                browser.close()
                shutil.rmtree(work / f"profile-{i}", ignore_errors=True)
    finally:
        server.shutdown()

    size_mb = size / MB
    each = lambda xs: ", ".join(f"{x:.1f}" for x in xs)  # noqa: E731
    a, b, w, h = (statistics.median(x) for x in (age_s, page_s, wall_s, hash_s))
    print(f"file: {size_mb:.0f} MB random, {runs} run(s), medians; sealed file "
          f"{'verified (age -d gives the file back, SHA-256s match)' if verify and ok else 'OK' if ok else 'WRONG'}")
    print(f"age -r (baseline):           {a:7.2f} s  {size_mb / a:8.1f} MB/s")
    print(f"browser seal to OPFS:        {b:7.2f} s  {size_mb / b:8.1f} MB/s   (bid-seal.js + typage, headless "
          f"Chromium; {w:.2f} s seen from Python; runs: {each(page_s)} s)")
    print(f"throughput ratio browser/age: {a / b:.3f}   (goal >= 0.5: {'met' if a / b >= 0.5 else 'NOT met'})")
    print(f"browser SHA-256 alone:       {h:7.2f} s  {size_mb / h:8.1f} MB/s   (@noble/hashes; the seal hashes "
          f"its output too)")
    worst = max(max(rss_growth), max(hwm_growth))
    print(f"renderer RSS above idle: peak {statistics.median(rss_growth):.1f} MB sampled every 20 ms "
          f"(runs: {each(rss_growth)}), VmHWM growth {statistics.median(hwm_growth):.1f} MB (runs: {each(hwm_growth)}) "
          f"from /proc/<renderer>/status; goal < 64 MB: {'met' if worst < 64 else 'NOT met'} (worst run {worst:.1f})")
    print(f"page JS heap above idle: peak {statistics.median(heap_growth):.1f} MB (runs: {each(heap_growth)}; "
          f"performance.memory)")
    print(f"other Chromium processes (browser, utility, GPU): largest RSS growth "
          f"{statistics.median(others_growth):.1f} MB (runs: {each(others_growth)})")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
