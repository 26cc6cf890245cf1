"""Content-addressed blob store: files live under ``<data dir>/blobs/ab/cd/<sha256>``.

Uploads stream through ``put_stream`` in fixed-size chunks: hashed while written to a
temporary file, size-limited, then renamed into place.  A refused upload leaves nothing.
"""
from __future__ import annotations

import errno
import hashlib
import os
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from core.errors import N_, DomainError

CHUNK = 1024 * 1024
PIPELINE = 4  # chunks read ahead of the writer at most
WRITEBACK = 16 * CHUNK
"""A stored file's bytes are handed to the disk in the background every this many bytes (see ``_Sink``)."""
_ADVISE = getattr(os, "posix_fadvise", None)  # not on every system (macOS has none)


class FileTooLarge(DomainError):
    code = "file_too_large"
    status = 413
    default_message = N_("The file is larger than the limit of %(limit_mb)s MB.")


class BlobMissing(DomainError):
    code = "blob_missing"
    status = 404
    default_message = N_("The file is not available.")


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    created: tuple[int, int] | None = field(default=None, compare=False)
    """(inode, modification time in ns) of the file when this store call created it; None when the same bytes
    were there already (a content-addressed store shares them: never this caller's to delete)."""


class BlobStore:
    def __init__(self, root: Path):
        self.root = Path(root) / "blobs"
        self.tmp = self.root / "tmp"

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise BlobMissing()
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put_stream(self, stream: BinaryIO, *, limit: int, check_head: Callable[[bytes], object] | None = None,
                   head_size: int = 8) -> StoredBlob:
        """Store a stream; ``check_head`` sees at least the first ``head_size`` bytes (fewer only when the
        stream is shorter) before anything is kept, and may raise.

        Reading and writing overlap: this thread reads the stream while a second one hashes and writes
        what was read (both release the GIL), at most ``PIPELINE`` chunks apart, so memory stays flat."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp)
        sink = _Sink(os.fdopen(fd, "wb"))
        try:
            first = True
            while True:
                chunk = stream.read(CHUNK)
                if first and check_head is not None:
                    while chunk and len(chunk) < head_size:  # a short read is not the end of the stream
                        more = stream.read(CHUNK)
                        if not more:
                            break
                        chunk += more
                    check_head(chunk or b"")
                first = False
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(limit_mb=limit // (1024 * 1024))
                sink.put(chunk)
            sha = sink.finish()
            final = self.path(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            created = _publish(tmp_name, final, size)
            fsync_dir(final.parent)  # the new name too survives a crash
            return StoredBlob(sha, size, created)
        except BaseException:
            sink.abort()
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def adopt(self, path: Path, sha256: str) -> None:
        """Take the finished file at ``path``, whose SHA-256 the caller computed, into the store: a hard link
        (the file stays where it is until the caller removes it, so a transaction that fails after this loses
        nothing), or a copy when the store is on another file system."""
        final = self.path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, final)
        except FileExistsError:  # the same content is there already: renewed, so the collector leaves it
            try:
                os.utime(final)
                return
            except FileNotFoundError:  # collected in between: link it again
                os.link(path, final)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            with open(path, "rb") as f:
                self.put_stream(f, limit=os.fstat(f.fileno()).st_size)
            return
        fsync_dir(final.parent)

    def remove_created(self, stored: StoredBlob) -> bool:
        """Delete the file ``stored`` describes if it is still the very file its store call created (same inode,
        same modification time): bytes stored again since then, by anyone, are left alone.  Returns whether it
        was deleted.  The caller has checked that no record names it."""
        if stored.created is None:
            return False
        path = self.path(stored.sha256)
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        if (st.st_ino, st.st_mtime_ns) != stored.created:
            return False
        path.unlink()
        return True

    def stored(self) -> Iterator[tuple[str, Path]]:
        """Every blob as (SHA-256, path)."""
        if not self.root.is_dir():
            return
        for path in self.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
            if path.is_file() and len(path.name) == 64:
                yield path.name, path

    def leftovers(self) -> Iterator[Path]:
        """Temporary files of uploads that never finished (a crashed process leaves them)."""
        if self.tmp.is_dir():
            yield from (p for p in self.tmp.iterdir() if p.is_file())

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError as exc:
            raise BlobMissing() from exc

    def iter_chunks(self, sha256: str) -> Iterator[bytes]:
        with self.open(sha256) as f:
            while chunk := f.read(CHUNK):
                yield chunk


def _publish(tmp_name: str, final: Path, size: int) -> tuple[int, int] | None:
    """Give the finished temporary file its name in the store.  When a file of that name and size is there
    already (the same content, stored earlier or by a concurrent request), it is kept (its modification time
    renewed, so neither the collector nor an earlier storer's clean-up removes it now) and nothing of it
    belongs to this caller (None); a file of that name but another size is damaged and is replaced.  Returns
    (inode, mtime in ns) of the file created."""
    for _attempt in range(3):
        try:
            os.link(tmp_name, final)  # atomic: fails if the name exists
        except FileExistsError:
            try:
                if os.stat(final).st_size == size:
                    os.utime(final)
                    os.unlink(tmp_name)
                    return None
            except FileNotFoundError:
                continue  # removed in between: link ours
            os.replace(tmp_name, final)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):  # no hard links here: rename
                raise
            os.replace(tmp_name, final)
        else:
            os.unlink(tmp_name)
        st = os.stat(final)
        return st.st_ino, st.st_mtime_ns
    os.replace(tmp_name, final)
    st = os.stat(final)
    return st.st_ino, st.st_mtime_ns


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Sink:
    """Hashes and writes chunks on two threads of their own while the caller's thread reads on (hashing and
    writing both release the GIL, so the three overlap); ``finish`` returns the SHA-256 (hex) once the file is
    on disk (fsync).  The writer asks the kernel to start writing back every ``WRITEBACK`` bytes
    (``posix_fadvise(DONTNEED)`` starts writeback of dirty pages without waiting for it, and drops the pages
    already clean from the cache), so the final fsync waits for little and a large upload does not crowd
    the page cache."""

    _END = None

    def __init__(self, out: BinaryIO):
        self.out, self.digest = out, hashlib.sha256()
        self.error: BaseException | None = None
        self.written = self.flushed = 0
        self.advise = _ADVISE is not None
        self.workers = [self._start(self._write, "blob-writer"), self._start(self.digest.update, "blob-hasher")]

    def _start(self, step, name: str) -> tuple[queue.Queue, threading.Thread]:
        chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=PIPELINE)
        thread = threading.Thread(target=self._run, args=(chunks, step), name=name, daemon=True)
        thread.start()
        return chunks, thread

    def _write(self, chunk: bytes | None) -> None:
        if chunk is not None:
            self.out.write(chunk)
            self.written += len(chunk)
            if self.advise and self.written - self.flushed >= WRITEBACK:
                # Start writing what came so far to disk now, in the background, rather than all of it at the
                # final fsync: the disk works while the rest arrives, so the fsync has little left to wait for.
                # (PostgreSQL starts its writeback the same way where sync_file_range is missing.)  Only advice:
                # a file system that refuses it gets none from then on, and the fsync below does it all.
                self.out.flush()
                try:
                    _ADVISE(self.out.fileno(), self.flushed, self.written - self.flushed, os.POSIX_FADV_DONTNEED)
                except OSError:
                    self.advise = False
                self.flushed = self.written
        else:  # the end: on disk before anyone is told it was received
            self.out.flush()
            os.fsync(self.out.fileno())

    def _run(self, chunks: queue.Queue, step) -> None:
        ended = False
        try:
            while (chunk := chunks.get()) is not self._END:
                if self.error is None:
                    step(chunk)
            ended = True
            if self.error is None and step == self._write:
                step(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            self.error = exc
            while not ended and chunks.get() is not self._END:  # drain, so the reader never blocks
                pass

    def put(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        for chunks, _thread in self.workers:
            chunks.put(chunk)

    def _end(self) -> None:
        for chunks, thread in self.workers:
            if thread.is_alive():
                chunks.put(self._END)
        for _chunks, thread in self.workers:
            thread.join()
        self.out.close()

    def finish(self) -> str:
        self._end()
        if self.error is not None:
            raise self.error
        return self.digest.hexdigest()

    def abort(self) -> None:
        self.error = self.error or _Aborted()
        if not self.out.closed:
            self._end()


class _Aborted(Exception):
    pass


def names_blob(session, sha256: str, columns) -> bool:
    """Whether any record names the blob ``sha256`` in one of ``columns`` (the blob columns the areas declare,
    ``Area.blob_references()``)."""
    from sqlalchemy import select

    return any(session.scalar(select(column).where(column == sha256).limit(1)) is not None for column in columns)
