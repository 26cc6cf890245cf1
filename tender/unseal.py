"""Opening one sealed bid: decrypt, hash, check the package.  No database, no Flask.

The opening ceremony (``tender.opening.open_bids``) calls ``open_sealed`` for every current bid,
in this process for a few small bids, or in a pool of worker processes (one per core) when there
is much to decrypt; it then records the results in bid order in its own transaction.  A worker
receives the rebuilt opening identity once, when it starts (through the pool's pipe, never a
file), keeps it in memory only and exits when the opening ends.

The plaintext is written to a temporary file in the opening's private work directory (a ZIP is
read from its end, so it needs a file), hashed as it is written, checked against the package's
manifest and deleted before the next bid; whatever fails, nothing of it is left behind.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from core.errors import DomainError
from tender import bidpackage, sealing

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


def open_sealed(ciphertext: str | os.PathLike[str], identity: str, workdir: str | os.PathLike[str],
                name: str) -> Unsealed:
    """Decrypt ``ciphertext`` with ``identity`` into ``workdir/name``, check it, delete it."""
    plain = Path(workdir) / name
    digest = None
    try:
        sealing.check_age_file(ciphertext)  # the upload's header check again: what age refuses is not opened
        digest = sealing.open_file(ciphertext, plain, identity)
        form = bidpackage.validate_package(plain)
        return Unsealed("valid", None, digest, form.tender, form.credit_code, form.lot, form.price_fen,
                        form.duration_days, form.validity_days)
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
    finally:
        plain.unlink(missing_ok=True)


_identity: str | None = None  # a pool worker's copy, set once when it starts


def _start_worker(identity: str) -> None:
    global _identity
    _identity = identity


def _open_in_worker(ciphertext: str, workdir: str, name: str) -> Unsealed:
    assert _identity is not None
    return open_sealed(ciphertext, _identity, workdir, name)


def open_all(ciphertexts: Sequence[tuple[str, str]], identity: str, workdir: str | os.PathLike[str], *,
             workers: int | None = None) -> Iterator[Unsealed]:
    """``open_sealed`` for each ``(ciphertext path, work file name)``, results in the same order as
    they come.  Close the generator when stopping early (``contextlib.closing``): the pool ends then.  ``workers``: processes to use (default: one per core when the bids are many or large
    enough to be worth it; 1 opens them here)."""
    if workers is None:
        total = sum(os.path.getsize(p) for p, _ in ciphertexts if os.path.exists(p))
        big = len(ciphertexts) >= POOL_MIN_BIDS and total >= POOL_MIN_BYTES
        workers = min(os.cpu_count() or 1, len(ciphertexts)) if big else 1
    if workers <= 1:
        for path, name in ciphertexts:
            yield open_sealed(path, identity, workdir, name)
        return
    # spawn: a fresh interpreter, nothing inherited from a threaded web worker (locks, connections)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(identity,))
    try:
        yield from pool.map(_open_in_worker, [p for p, _ in ciphertexts],
                            [os.fspath(workdir)] * len(ciphertexts), [n for _, n in ciphertexts])
    finally:  # also when the caller stops early (close()): no worker outlives the opening
        pool.shutdown(wait=True, cancel_futures=True)
