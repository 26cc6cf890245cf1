"""core.blobs: streamed, hashed, size-limited, durable, and nothing left behind on failure."""
from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest

from core import blobs as blobs_module
from core.blobs import CHUNK, BlobStore, FileTooLarge


class Trickle(io.RawIOBase):
    """A stream that hands out its bytes in odd-sized reads, and can fail part way."""

    def __init__(self, data: bytes, fail_at: int | None = None):
        self.data, self.pos, self.fail_at = data, 0, fail_at

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.fail_at is not None and self.pos >= self.fail_at:
            raise ConnectionResetError("the client went away")
        size = min(size if size > 0 else len(self.data), 77_777)
        out = self.data[self.pos:self.pos + size]
        self.pos += len(out)
        return out


def leftovers(store: BlobStore) -> list[str]:
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())


def test_a_stream_is_stored_under_its_hash_and_synced(tmp_path, monkeypatch):
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(blobs_module.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    store = BlobStore(tmp_path)
    data = os.urandom(3 * CHUNK + 12345)
    stored = store.put_stream(Trickle(data), limit=10 * CHUNK)
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert store.path(stored.sha256).read_bytes() == data
    assert len(synced) >= 2  # the file's content, then the directory holding its new name
    assert leftovers(store) == [str(store.path(stored.sha256).relative_to(store.root))]


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise on this system")
def test_a_large_stream_is_handed_to_the_disk_as_it_arrives(tmp_path, monkeypatch):
    advised: list[tuple[int, int, int]] = []
    real = os.posix_fadvise

    def advise(fd, offset, length, advice):
        advised.append((offset, length, os.fstat(fd).st_size))
        return real(fd, offset, length, advice)

    monkeypatch.setattr(blobs_module, "_ADVISE", advise)
    store = BlobStore(tmp_path)
    data = os.urandom(2 * blobs_module.WRITEBACK + 3 * CHUNK + 5)
    stored = store.put_stream(Trickle(data), limit=len(data))
    assert store.path(stored.sha256).read_bytes() == data
    # each stretch once, in order, each already written to the file when its writeback is asked for
    assert len(advised) == 2 and advised[0][0] == 0
    assert advised[1][0] == advised[0][0] + advised[0][1]
    assert all(blobs_module.WRITEBACK <= n < blobs_module.WRITEBACK + CHUNK for _o, n, _size in advised)
    assert all(size >= o + n for o, n, size in advised)


def test_a_file_system_that_refuses_the_writeback_advice_still_stores_the_file(tmp_path, monkeypatch):
    calls = []

    def refuse(fd, offset, length, advice):
        calls.append(offset)
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(blobs_module, "_ADVISE", refuse)
    store = BlobStore(tmp_path)
    data = os.urandom(3 * blobs_module.WRITEBACK)
    stored = store.put_stream(Trickle(data), limit=len(data))
    assert store.path(stored.sha256).read_bytes() == data
    assert calls == [0]  # asked once, then never again for that file


@pytest.mark.parametrize("stream, error", [
    (Trickle(os.urandom(5 * CHUNK)), FileTooLarge),
    (Trickle(os.urandom(5 * CHUNK), fail_at=2 * CHUNK), ConnectionResetError),
])
def test_a_refused_or_broken_upload_leaves_nothing_and_no_thread(tmp_path, stream, error):
    store = BlobStore(tmp_path)
    before = threading.active_count()
    with pytest.raises(error):
        store.put_stream(stream, limit=3 * CHUNK)
    assert leftovers(store) == []
    assert threading.active_count() == before


def test_a_failing_write_is_reported_to_the_reader(tmp_path, monkeypatch):
    store = BlobStore(tmp_path)

    class Full(Exception):
        pass

    real = blobs_module._Sink._write
    calls = []

    def disk_full(self, chunk):
        calls.append(chunk)
        if len(calls) == 2:
            raise Full("no space left on device")
        return real(self, chunk)

    monkeypatch.setattr(blobs_module._Sink, "_write", disk_full)
    before = threading.active_count()
    with pytest.raises(Full):
        store.put_stream(Trickle(os.urandom(6 * CHUNK)), limit=10 * CHUNK)
    assert leftovers(store) == []
    assert threading.active_count() == before
