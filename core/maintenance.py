"""Keeping the data directory tidy: blobs nothing refers to any more.

A blob is stored before the transaction that refers to it commits (the upload streams first); when
that transaction fails — the deadline passed while a bid was uploading, a database error — the file
stays, named by nobody.  ``collect_blobs`` removes such blobs once they are old enough that no
transaction can still be about to name them, and the temporary files of uploads that never finished.
A blob any record names is never touched (procurement records are kept at least 15 years).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.service import record
from core.actor import Actor
from core.blobs import BLOB_REFERENCES, BlobStore

LISTED = 1000  # blob hashes named in the audit event, at most


@dataclass
class Collected:
    blobs: list[str] = field(default_factory=list)
    bytes: int = 0
    leftovers: int = 0
    paths: list[tuple[Path, float]] = field(default_factory=list)  # with the modification time seen

    def delete(self) -> int:
        """Remove the files, once the transaction that recorded their removal has committed.  A file
        written again since it was found (the same content uploaded anew: a new file under the same name)
        is left alone.  Returns how many were removed."""
        removed = 0
        for path, mtime in self.paths:
            try:
                if path.stat().st_mtime == mtime:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
        return removed


def referenced(session: Session) -> set[str]:
    names: set[str] = set()
    for column in BLOB_REFERENCES:
        names.update(session.scalars(select(column).distinct()))
    return names


def names_blob(session: Session, sha256: str) -> bool:
    """Whether any record names the blob ``sha256`` (any column of ``BLOB_REFERENCES``)."""
    return any(session.scalar(select(column).where(column == sha256).limit(1)) is not None
               for column in BLOB_REFERENCES)


def collect_blobs(session: Session, *, store: BlobStore, actor: Actor, now: datetime,
                  min_age: timedelta = timedelta(hours=24), dry_run: bool = False,
                  wall_clock: float | None = None) -> Collected:
    """Find unreferenced blobs and upload leftovers last modified before ``now - min_age`` and record one
    audit event (``blobs.collected``) naming them; the caller commits, then calls ``delete()`` on the
    result.  ``dry_run`` only reports.  File ages are judged by the wall clock (``wall_clock``, default
    now), the time files are stamped with."""
    cutoff = (time.time() if wall_clock is None else wall_clock) - min_age.total_seconds()
    keep = referenced(session)
    found = Collected()
    for sha, path in store.stored():
        stat = path.stat()
        if sha not in keep and stat.st_mtime < cutoff:
            found.blobs.append(sha)
            found.bytes += stat.st_size
            found.paths.append((path, stat.st_mtime))
    leftovers = [(p, p.stat().st_mtime) for p in store.leftovers()]
    leftovers = [(p, m) for p, m in leftovers if m < cutoff]
    found.leftovers = len(leftovers)
    found.paths += leftovers
    if dry_run or not found.paths:
        found.paths = [] if dry_run else found.paths
        return found
    record(session, actor=actor, action="blobs.collected", object_type="blob_store", object_id="blobs", now=now,
           payload={"count": len(found.blobs), "bytes": found.bytes, "leftovers": found.leftovers,
                    "min_age_seconds": int(min_age.total_seconds()),
                    "sha256": found.blobs[:LISTED], "more": max(0, len(found.blobs) - LISTED)})
    return found
