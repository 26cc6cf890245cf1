"""Opening one sealed bid: decrypt, hash, check the package.  No database, no Flask.

The opening ceremony (``tender.opening.open_bids``) calls ``open_sealed`` for every current bid,
in this process for a few small bids, or in a pool of worker processes (one per core) when there
is much to decrypt; it then records the results in bid order in its own transaction.  A worker
receives the rebuilt opening identity once, when it starts (through the pool's pipe, never a
file), keeps it in memory only and exits when the opening ends.  It also dies with the process
that started it, however that one ends (``kill -9`` included): on Linux the kernel kills it
(``PR_SET_PDEATHSIG``), elsewhere a watchdog thread; and it exits at once if its parent is gone
before it starts.

Work files live in the tender's own directory under ``<data dir>/opening-work/<tender id>/`` (0700),
never in the system's temporary directory.  The plaintext goes to an anonymous file there (0600,
``O_TMPFILE`` on Linux: it has no name and vanishes when its process ends, even killed), is hashed
as it is written, checked against the package's manifest and closed before the next bid.  The
directory holds two lock files: ``opening.lock`` (held by the opening) and ``workers.lock`` (held,
shared, by each of its workers).  An opening refuses to start while either is held — by an opening
running elsewhere or by workers of an earlier one that have not ended yet — and clears the directory
before it starts; ``sweep`` clears every idle tender's directory when the application starts.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from core.errors import N_, Conflict, DomainError
from tender import bidpackage, sealing

WORK_DIR = "opening-work"
OPENING_LOCK = "opening.lock"
WORKERS_LOCK = "workers.lock"
LOCKS = (OPENING_LOCK, WORKERS_LOCK)

# Below these, a pool's start-up (a fresh interpreter per core) costs more than it saves.
POOL_MIN_BIDS = 4
POOL_MIN_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Unsealed:
    """What one sealed bid turned out to hold."""

    status: str  # "valid" or "failed"
    reason: str | None = None  # no_matching_key, corrupt, manifest_mismatch, malformed_package, unreadable
    plaintext_sha256: str | None = None
    tender: str | None = None
    credit_code: str | None = None
    lot: int | None = None
    price_fen: int | None = None
    duration_days: int | None = None
    validity_days: int | None = None
    files: tuple[str, ...] = ()  # the names of the package's files (bid.json's list), for a valid package


class OpeningBusy(Conflict):
    code = "opening_busy"
    default_message = N_("An opening of this tender is still running, or the processes of an interrupted one "
                         "have not ended yet. Try again in a moment.")


# ---------------------------------------------------------------- the work directory

def work_root(data_dir: str | os.PathLike[str]) -> Path:
    """Where openings keep their work files: ``<data dir>/opening-work``."""
    return Path(data_dir) / WORK_DIR


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _lock_file(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def _try_lock(fd: int, kind: int) -> bool:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _clear(directory: Path) -> None:
    """Everything in a tender's work directory but its lock files (left by an interrupted opening)."""
    for path in directory.iterdir():
        if path.name in LOCKS and path.is_file() and not path.is_symlink():
            continue
        if path.is_dir() and not path.is_symlink():
            _clear(path)
            path.rmdir()
        else:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def work_area(root: str | os.PathLike[str], tender_id: int) -> Iterator[Path]:
    """The tender's private work directory, cleared and locked for one opening (``OpeningBusy`` when another
    opening, or a worker of an earlier one, still holds it); cleared again at the end."""
    root = Path(root)
    _private_dir(root)
    directory = root / str(int(tender_id))
    _private_dir(directory)
    lock = _lock_file(directory / OPENING_LOCK)
    try:
        if not _try_lock(lock, fcntl.LOCK_EX):
            raise OpeningBusy()
        workers = _lock_file(directory / WORKERS_LOCK)
        try:
            if not _try_lock(workers, fcntl.LOCK_EX):  # workers of an earlier opening are alive
                raise OpeningBusy()
        finally:
            os.close(workers)  # released: this opening's workers take it, shared
        _clear(directory)
        try:
            yield directory
        finally:
            _clear(directory)
    finally:
        os.close(lock)


def sweep(root: str | os.PathLike[str]) -> int:
    """Clear what interrupted openings left under ``root`` (a tender's directory only when no opening and
    none of its workers holds it); returns how many tender directories were looked at."""
    root = Path(root)
    if not root.is_dir():
        return 0
    os.chmod(root, 0o700)
    seen = 0
    for directory in root.iterdir():
        if directory.is_symlink() or not directory.is_dir():
            directory.unlink(missing_ok=True)
            continue
        seen += 1
        os.chmod(directory, 0o700)
        lock = _lock_file(directory / OPENING_LOCK)
        try:
            if not _try_lock(lock, fcntl.LOCK_EX):
                continue  # an opening is running (another server process)
            workers = _lock_file(directory / WORKERS_LOCK)
            try:
                if _try_lock(workers, fcntl.LOCK_EX):
                    _clear(directory)
            finally:
                os.close(workers)
        finally:
            os.close(lock)
    return seen


# ---------------------------------------------------------------- one bid

def open_sealed(ciphertext: str | os.PathLike[str], identity: str, workdir: str | os.PathLike[str]) -> Unsealed:
    """Decrypt ``ciphertext`` with ``identity`` into an anonymous file in ``workdir``, check it, close it."""
    digest = None
    try:
        sealing.check_age_file(ciphertext)  # the upload's header check again: what age refuses is not opened
        with tempfile.TemporaryFile(dir=workdir) as plain:  # O_TMPFILE where the system has it; mode 0600
            digest = sealing.open_to(ciphertext, plain, identity)
            plain.seek(0)
            form = bidpackage.validate_stream(plain)
        return Unsealed("valid", None, digest, form.tender, form.credit_code, form.lot, form.price_fen,
                        form.duration_days, form.validity_days, tuple(f.name for f in form.files))
    except sealing.Undecryptable as exc:
        return Unsealed("failed", exc.reason)
    except sealing.NotAgeFile:  # a malformed age file is as damaged as one that fails to decrypt
        return Unsealed("failed", "corrupt")
    except bidpackage.ManifestMismatch:
        return Unsealed("failed", "manifest_mismatch", digest)
    except (bidpackage.MalformedBidForm, bidpackage.NotAZip):
        return Unsealed("failed", "malformed_package", digest)
    except (FileNotFoundError, DomainError):
        return Unsealed("failed", "unreadable", digest)


# ---------------------------------------------------------------- the pool

_identity: str | None = None  # a pool worker's copy, set once when it starts
_workers_lock: int | None = None  # held (shared) as long as the worker lives
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """End this process when ``parent`` ends (on Linux the kernel sends SIGKILL; elsewhere a thread watches),
    and at once if it has ended already."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            os._exit(70)
    else:  # pragma: no cover - not Linux
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.2)
            os._exit(70)

        threading.Thread(target=watch, daemon=True, name="parent-watch").start()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(70)


def _start_worker(identity: str, parent: int, workdir: str) -> None:
    global _identity, _workers_lock
    _die_with_parent(parent)
    _workers_lock = _lock_file(Path(workdir) / WORKERS_LOCK)
    fcntl.flock(_workers_lock, fcntl.LOCK_SH)
    _identity = identity


def _open_in_worker(ciphertext: str, workdir: str) -> Unsealed:
    assert _identity is not None
    return open_sealed(ciphertext, _identity, workdir)


def open_all(ciphertexts: Sequence[str], identity: str, workdir: str | os.PathLike[str], *,
             workers: int | None = None) -> Iterator[Unsealed]:
    """``open_sealed`` for each ciphertext path, results in the same order as they come; ``workdir`` is the
    tender's work directory (``work_area``).  Close the generator when stopping early (``contextlib.closing``):
    the pool ends then.  ``workers``: processes to use (default: one per core when the bids are many or large
    enough to be worth it; 1 opens them here)."""
    if workers is None:
        total = sum(os.path.getsize(p) for p in ciphertexts if os.path.exists(p))
        big = len(ciphertexts) >= POOL_MIN_BIDS and total >= POOL_MIN_BYTES
        workers = min(os.cpu_count() or 1, len(ciphertexts)) if big else 1
    if workers <= 1:
        for path in ciphertexts:
            yield open_sealed(path, identity, workdir)
        return
    # spawn: a fresh interpreter, nothing inherited from a threaded web worker (locks, connections)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(identity, os.getpid(), os.fspath(workdir)))
    try:
        yield from pool.map(_open_in_worker, list(ciphertexts), [os.fspath(workdir)] * len(ciphertexts))
    finally:  # also when the caller stops early (close()): no worker outlives the opening
        pool.shutdown(wait=True, cancel_futures=True)
