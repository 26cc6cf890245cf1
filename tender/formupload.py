"""The bid form's upload, read as it streams (``POST /tenders/<id>/bids``).

Werkzeug's form parser would spool a large file part to a temporary file on disk before the view
runs; for a plaintext bid package that would write the bid in clear.  So the bid form's
``multipart/form-data`` body is read here with Werkzeug's sans-IO ``MultipartDecoder``, piece by
piece: the short fields first (the view checks the CSRF token and the deadline before any byte
of the file is used), then the file part goes either straight to the blob store (a file the bidder
sealed) or through ``sealing.seal_stream`` (age) and then to the blob store, the two joined by a
small in-memory pipe and a second thread.  The plaintext is never written to disk nor held whole.
"""
from __future__ import annotations

from collections import deque
from threading import Condition, Thread

from flask import request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from core.blobs import BlobStore, StoredBlob
from core.errors import N_
from tender import sealing

UPLOAD_PIECE = 64 * 1024
"""The request body is read in pieces of this size."""
FIELD_LIMIT = 8 * 1024
"""The bid form's fields (token, choice, lot, recipient) are short; a longer one is refused."""
PIPE_DEPTH = 8
"""Ciphertext pieces (64 KiB each) waiting between the encryptor and the blob store, at most."""
ZIP_START = b"PK\x03\x04"
ZIP_END = b"PK\x05\x06"
ZIP_END_WINDOW = 22 + 0xFFFF
"""A ZIP ends with its end-of-central-directory record: 22 bytes and a comment of at most 64 KiB."""


def store_sealed(upload: MultipartUpload, *, blobs: BlobStore, limit: int) -> StoredBlob:
    """A file the bidder sealed, stored as it is; a bid package sent unsealed by mistake is refused saying so."""
    from tender import bids

    first = bytearray()

    class _Watched:
        def read(self, size: int = -1) -> bytes:
            data = upload.read(size)
            if len(first) < len(ZIP_START):
                first.extend(data[:len(ZIP_START) - len(first)])
            return data

    try:
        return bids.store_sealed(_Watched(), blobs=blobs, limit=limit)
    except sealing.NotAgeFile:
        if bytes(first) == ZIP_START:
            raise sealing.NotAgeFile(N_("This is a bid package that is not sealed: choose the option to have it "
                                        "sealed here, or seal it yourself first."), field="file") from None
        raise


def discard(upload: MultipartUpload | None) -> None:
    """Read what is left of a refused upload, so that the browser gets the answer rather than a broken
    connection; the length is bounded by the request's size limit."""
    try:
        stream = upload.stream if upload is not None else request.stream
        while stream.read(UPLOAD_PIECE):
            pass
    except Exception:  # the client went away or sent too much: nothing to keep either way
        pass


class MultipartUpload:
    """A multipart/form-data body read in order as it arrives (werkzeug's sans-IO decoder): the fields before
    the file part, then the file part through ``read`` in pieces of at most 64 KiB, then the rest.  Nothing
    of the file part is kept here."""

    def __init__(self, stream, boundary: bytes):
        self.stream = stream
        self._decoder = MultipartDecoder(boundary, max_form_memory_size=4 * UPLOAD_PIECE, max_parts=64)
        self._ended = False
        self._in_file = False
        self._piece, self._offset = b"", 0

    @classmethod
    def of(cls, req) -> MultipartUpload | None:
        if req.mimetype != "multipart/form-data":
            return None
        try:
            boundary = req.mimetype_params["boundary"].encode("ascii")
        except (KeyError, UnicodeEncodeError):
            raise BadRequest() from None
        return cls(req.stream, boundary)

    def _event(self):
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError:  # malformed, or the body ended inside a part
                raise BadRequest() from None
            if not isinstance(event, NeedData):
                return event
            data = self.stream.read(UPLOAD_PIECE)
            self._decoder.receive_data(data or None)

    def _value(self) -> str:
        value, size = [], 0
        while True:
            event = self._event()
            if not isinstance(event, Data):
                raise BadRequest()
            size += len(event.data)
            if size > FIELD_LIMIT:
                raise RequestEntityTooLarge()
            value.append(event.data)
            if not event.more_data:
                return b"".join(value).decode("utf-8", "replace")

    def _fields(self, *, stop_at_file: bool) -> tuple[dict[str, str], File | None]:
        fields: dict[str, str] = {}
        while not self._ended:
            while self.read(UPLOAD_PIECE):  # the rest of a file part that is not used
                pass
            event = self._event()
            if isinstance(event, Field):
                value = self._value()
                if event.name:  # a part without a name is no field of the form
                    fields[event.name] = value
            elif isinstance(event, File):
                self._in_file = True
                if stop_at_file and event.name == "file":
                    return fields, event
            elif isinstance(event, Epilogue):
                self._ended = True
        return fields, None

    def fields_until_file(self) -> tuple[dict[str, str], File | None]:
        """The fields before the part named ``file`` and that part (None when there is none); its content
        is then read with ``read``."""
        return self._fields(stop_at_file=True)

    def rest(self) -> dict[str, str]:
        """The fields after the file part (the rest of the file part is skipped)."""
        return self._fields(stop_at_file=False)[0]

    def read(self, size: int = -1) -> bytes:
        """The next bytes of the current file part, at most ``size``; ``b""`` at its end."""
        while self._offset >= len(self._piece):
            if not self._in_file or size == 0:
                return b""
            event = self._event()
            if not isinstance(event, Data):
                raise BadRequest()
            self._in_file = event.more_data
            self._piece, self._offset = event.data, 0
        end = len(self._piece) if size is None or size < 0 else min(len(self._piece), self._offset + size)
        out = self._piece if self._offset == 0 and end == len(self._piece) else self._piece[self._offset:end]
        self._offset = end
        return out


class PackageCheck:
    """The uploaded bid package on its way to the encryptor, passed on unchanged and checked in passing: not
    empty, starting like a ZIP (a local file header) and ending like one (an end-of-central-directory
    record).  Only the first 4 bytes and the last 64 KiB are looked at; nothing else is kept."""

    def __init__(self, source):
        self._source = source
        self._started = False
        self._tail = bytearray()

    def _check_start(self, head: bytes) -> None:
        from tender.bidpackage import NotAZip
        from tender.bids import EmptyBid

        if not head:
            raise EmptyBid(N_("The bid package is empty."), field="file")
        if head == sealing.AGE_INTRO[:len(head)] or head == sealing.ARMOR_BEGIN[:len(head)]:
            raise NotAZip(N_("This file is already sealed with age: to upload it, choose the option for a file "
                             "you sealed yourself."), field="file")
        if head != ZIP_START:
            raise NotAZip(N_("The file is not a ZIP bid package: make one with “sunbid bid pack”, or choose the "
                             "option for a file you sealed yourself."), field="file")

    def read(self, size: int = -1) -> bytes:
        if not self._started:
            data = b""
            while len(data) < len(ZIP_START):
                more = self._source.read(len(ZIP_START) - len(data))
                if not more:
                    break
                data += more
            self._started = True
            self._check_start(data)
        else:
            data = self._source.read(size)
        if data:
            self._tail += data
            if len(self._tail) > 2 * ZIP_END_WINDOW:
                del self._tail[:-ZIP_END_WINDOW]
        elif self._tail.rfind(ZIP_END, max(0, len(self._tail) - ZIP_END_WINDOW)) < 0:
            from tender.bidpackage import NotAZip

            raise NotAZip(N_("The bid package ends before its ZIP directory: the file is incomplete or damaged. "
                             "Make it again with “sunbid bid pack”."), field="file")
        return data


class _StoreStopped(Exception):
    """The blob store stopped reading the ciphertext (it refused it, or failed)."""


class _SealingStopped(Exception):
    """The sealing stopped before the end of the plaintext (it was refused, or the client went away)."""


class _Pipe:
    """A small in-memory pipe: the age encryptor writes the ciphertext in, the blob store reads it out in
    another thread.  At most ``PIPE_DEPTH`` pieces wait in it, so memory stays flat whatever the size."""

    def __init__(self):
        self._pieces: deque[bytes] = deque()
        self._ready = Condition()
        self._closed = False
        self._failure: BaseException | None = None
        self._reader_gone = False
        self._rest = b""

    def write(self, data: bytes) -> int:
        data = bytes(data)
        with self._ready:
            while len(self._pieces) >= PIPE_DEPTH and not self._reader_gone:
                self._ready.wait()
            if self._reader_gone:
                raise _StoreStopped()
            self._pieces.append(data)
            self._ready.notify_all()
        return len(data)

    def flush(self) -> None:
        pass

    def close(self, failure: BaseException | None = None) -> None:
        """No more ciphertext: the end of the file, or with ``failure`` an end the reader must refuse."""
        with self._ready:
            self._closed, self._failure = True, failure
            self._ready.notify_all()

    def read(self, size: int = -1) -> bytes:
        if not self._rest:
            with self._ready:
                while not self._pieces and not self._closed:
                    self._ready.wait()
                if self._pieces:
                    self._rest = self._pieces.popleft()
                    self._ready.notify_all()
                elif self._failure is not None:
                    raise self._failure
        if size is None or size < 0 or size >= len(self._rest):
            out, self._rest = self._rest, b""
        else:
            out, self._rest = self._rest[:size], self._rest[size:]
        return out

    def leave(self) -> None:
        """The reader stops reading; a writer waiting or writing next gets ``_StoreStopped``."""
        with self._ready:
            self._reader_gone = True
            self._pieces.clear()
            self._ready.notify_all()


def seal_upload(plaintext, recipients: list[str], *, blobs: BlobStore, limit: int) -> StoredBlob:
    """Seal ``plaintext`` (read piece by piece) with age to ``recipients`` while the blob store takes the
    ciphertext from the other end of a ``_Pipe`` in a helper thread, through the same path as a bid sealed
    by the bidder (``bids.store_sealed``: age header checked, size-limited, hashed while written, kept only
    when complete).  A refusal on either side stops both, and nothing is kept."""
    from tender import bids

    pipe = _Pipe()
    outcome: dict[str, object] = {}

    def store() -> None:
        try:
            outcome["stored"] = bids.store_sealed(pipe, blobs=blobs, limit=limit)
        except BaseException as exc:  # handed to the request's thread below
            outcome["error"] = exc
        finally:
            pipe.leave()

    worker = Thread(target=store, name="bid-sealing", daemon=True)
    worker.start()
    failure: BaseException | None = None
    try:
        sealing.seal_stream(plaintext, pipe, recipients)
    except _StoreStopped:
        pass  # the store's own error says why
    except BaseException as exc:
        failure = exc
    finally:
        pipe.close(_SealingStopped() if failure is not None else None)
        worker.join()
    if failure is not None:
        raise failure
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    if "stored" not in outcome:
        raise RuntimeError("the sealed bid was not stored")
    return outcome["stored"]  # type: ignore[return-value]
