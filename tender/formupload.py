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

import struct
import zipfile
import zlib
from collections import deque
from threading import Condition, Thread

from flask import request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from core.blobs import BlobStore, StoredBlob
from core.errors import N_, DomainError
from tender import bidpackage, rules, sealing

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


class _BidJsonFinder:
    """Finds ``bid.json`` in a ZIP as its bytes pass, in order, without holding the ZIP: it walks the local file
    headers, skipping each entry's data by its compressed size (or, for an entry written with a data
    descriptor, by inflating it to its end), and keeps the bytes of the top-level ``bid.json`` entry only
    (at most 1 MiB and a little).  ``form()`` at the end of the file gives its checked form."""

    LOCAL = b"PK\x03\x04"
    ENDS = (b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06")  # central directory: no more entries
    MAX_RATIO = 100
    """Entries written with a data descriptor are inflated to find their end, up to this ratio (and 64 MiB)."""
    FORM_SLACK = 64 * 1024
    """Compressed, bid.json may be a little larger than its 1 MiB limit (stored data cannot grow more)."""

    def __init__(self):
        self._buf = bytearray()
        self._state = "header"  # header, skip, inflate, descriptor, scan, done, lost
        self._left = 0  # bytes of the current entry's data still to skip or keep
        self._entry: dict = {}
        self._inflater = None
        self._compressed = self._inflated = 0
        self._kept: bytearray | None = None  # the bid.json entry's data (compressed, or inflated for a descriptor)
        self._found: dict | None = None
        self._refusal: DomainError | None = None

    def feed(self, data: bytes) -> None:
        if self._state in ("done", "lost") or not data:
            return
        self._buf += data
        while self._step():
            pass
        if len(self._buf) > 1 << 20 and self._state == "header":  # an extra field cannot be this large
            self._state = "lost"

    def _take(self, n: int) -> bytes:
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _step(self) -> bool:
        """One move of the walk; False when more bytes are needed."""
        if self._state == "header":
            if len(self._buf) < 30:
                return False
            sig = bytes(self._buf[:4])
            if sig in self.ENDS:
                self._state = "done"
                return False
            if sig != self.LOCAL:
                self._state = "lost"
                return False
            flags, method, csize, usize, nlen, xlen = struct.unpack("<2xHH8xIIHH", self._buf[4:30])
            if len(self._buf) < 30 + nlen + xlen:
                return False
            header = self._take(30 + nlen + xlen)
            name, extra = header[30:30 + nlen], header[30 + nlen:]
            zip64 = self._zip64(extra)
            if zip64 is not None and (csize == 0xFFFFFFFF or usize == 0xFFFFFFFF):
                usize, csize = zip64
            entry = {"name": name, "flags": flags, "method": method, "csize": csize, "zip64": zip64 is not None}
            self._entry = entry
            form = name == bidpackage.FORM_NAME.encode()
            if form and self._found is None:
                if flags & 0x1:
                    self._refusal = _unreadable_form()
                    self._state = "done"
                    return False
                self._kept = bytearray()
            else:
                self._kept = None
            if flags & 0x8:  # sizes in a data descriptor after the data
                if method == zipfile.ZIP_DEFLATED:
                    self._inflater = zlib.decompressobj(-15)
                    self._state = "inflate"
                elif method == zipfile.ZIP_STORED:  # the data ends at a descriptor whose CRC and size match it
                    self._crc, self._count, self._state = 0, 0, "scan"
                else:
                    self._state = "lost"
                    return False
            else:
                if form and csize > bidpackage.MAX_FORM_BYTES + self.FORM_SLACK:
                    self._refusal = _form_too_large()
                    self._state = "done"
                    return False
                self._left, self._state = csize, "skip"
            return True
        if self._state == "skip":
            n = min(self._left, len(self._buf))
            if self._kept is not None:
                self._kept += self._take(n)
            else:
                del self._buf[:n]
            self._left -= n
            if self._left:
                return False
            self._entry_done(inflated=False)
            return True
        if self._state == "inflate":
            if not self._buf:
                return False
            piece = self._take(len(self._buf))
            self._compressed += len(piece)
            while piece:  # at most 1 MiB of output at a time, whatever the ratio
                try:
                    out = self._inflater.decompress(piece, 1 << 20)
                except zlib.error:
                    self._state = "lost"
                    return False
                self._inflated += len(out)
                if self._kept is not None:
                    self._kept += out
                    if len(self._kept) > bidpackage.MAX_FORM_BYTES:
                        self._refusal = _form_too_large()
                        self._state = "done"
                        return False
                elif self._inflated > self.MAX_RATIO * self._compressed + (64 << 20):
                    self._state = "lost"  # a ZIP bomb is not inflated to find what follows it
                    return False
                piece = b"" if self._inflater.eof else self._inflater.unconsumed_tail
            if not self._inflater.eof:
                return False
            self._buf[:0] = self._inflater.unused_data
            self._inflater = None
            self._state = "descriptor"
            return True
        if self._state == "scan":
            at = self._buf.find(b"PK\x07\x08")
            if at < 0:
                return self._stored(max(0, len(self._buf) - 3)) and False  # a signature may straddle pieces
            if not self._stored(at):
                return False
            size = 24 if self._entry["zip64"] else 16
            if len(self._buf) < size:
                return False
            crc, csize, usize = struct.unpack("<IQQ" if size == 24 else "<III", self._buf[4:size])
            if crc == self._crc and csize == usize == self._count:
                del self._buf[:size]
                self._entry_done(inflated=False)
                return True
            return self._stored(1)  # those bytes were data
        if self._state == "descriptor":
            size = 24 if self._entry["zip64"] else 16  # signature, CRC-32, compressed and uncompressed sizes
            if len(self._buf) < size:
                return False
            if bytes(self._buf[:4]) != b"PK\x07\x08":
                size -= 4  # the signature is optional
            del self._buf[:size]
            self._entry_done(inflated=True)
            return True
        return False

    def _stored(self, n: int) -> bool:
        """``n`` bytes of a stored entry's data whose length is not known yet; False when bid.json is too large."""
        piece = self._take(n)
        self._crc, self._count = zlib.crc32(piece, self._crc), self._count + n
        if self._kept is not None:
            self._kept += piece
            if len(self._kept) > bidpackage.MAX_FORM_BYTES:
                self._refusal = _form_too_large()
                self._state = "done"
                return False
        return True

    @staticmethod
    def _zip64(extra: bytes) -> tuple[int, int] | None:
        i = 0
        while i + 4 <= len(extra):
            tag, size = struct.unpack("<HH", extra[i:i + 4])
            if tag == 1 and size >= 16:
                return struct.unpack("<QQ", extra[i + 4:i + 20])
            i += 4 + size
        return None

    def _entry_done(self, *, inflated: bool) -> None:
        if self._kept is not None:
            self._found = {**self._entry, "data": bytes(self._kept), "inflated": inflated}
            self._kept = None
            self._state = "done"  # what follows does not matter here; the opening checks the whole package
        else:
            self._state = "header"

    def form(self):
        """The checked form of the package's bid.json, or the refusal saying why there is none."""
        if self._refusal is not None:
            raise self._refusal
        if self._found is None:
            if self._state == "lost":
                raise bidpackage.NotAZip(N_("The platform cannot find bid.json in this package while it uploads "
                                            "(an entry before it was written without its size). Make the "
                                            "package with “sunbid bid pack”, or seal it yourself and upload the "
                                            "sealed file."), field="file")
            raise bidpackage.MalformedBidForm(N_("The bid package has no bid.json at its top level."),
                                              reason="bid.json", field="file")
        found = self._found
        data = found["data"]
        if not found["inflated"] and found["method"] != zipfile.ZIP_STORED:
            try:
                data = zipfile._get_decompressor(found["method"]).decompress(data)  # noqa: SLF001
            except Exception:  # an unknown method, or damaged: bid.json cannot be read
                raise _unreadable_form() from None
        if len(data) > bidpackage.MAX_FORM_BYTES:
            raise _form_too_large()
        form = bidpackage.parse_bid_json(data)
        return form


def _unreadable_form():
    return bidpackage.NotAZip(N_("The bid package cannot be read: the entry %(file)s is damaged, encrypted or compressed "
                      "with an unsupported method."), file="bid.json", field="file")


def _form_too_large():
    return bidpackage.MalformedBidForm(N_("bid.json may be at most %(max)s."), reason="bid.json", max="1 MiB", field="file")


class PackageCheck:
    """The uploaded bid package on its way to the encryptor, passed on unchanged and checked in passing: not
    empty, starting like a ZIP (a local file header) and ending like one (an end-of-central-directory
    record), and, with ``expected``, its bid.json naming that tender, lot and bidder
    (``rules.check_package_binding``).  The last 64 KiB and bid.json are looked at; nothing else is kept.
    A refusal is raised from ``read`` at the end of the file, so the sealed file is never stored; ``form``
    is then the package's declared form."""

    def __init__(self, source, expected: rules.PackageBinding | None = None):
        self._source = source
        self._started = False
        self._tail = bytearray()
        self._finder = _BidJsonFinder()
        self._expected = expected
        self.form = None

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
            self._finder.feed(data)
            self._tail += data
            if len(self._tail) > 2 * ZIP_END_WINDOW:
                del self._tail[:-ZIP_END_WINDOW]
        elif self.form is None:
            if self._tail.rfind(ZIP_END, max(0, len(self._tail) - ZIP_END_WINDOW)) < 0:
                from tender.bidpackage import NotAZip

                raise NotAZip(N_("The bid package ends before its ZIP directory: the file is incomplete or "
                                 "damaged. Make it again with “sunbid bid pack”."), field="file")
            form = self._finder.form()
            if self._expected is not None:
                rules.check_package_binding(binding_of(form), self._expected)
            self.form = form
        return data


def binding_of(form) -> rules.PackageBinding:
    """What a bid package's form (``bidpackage.BidForm``) says it is for."""
    return rules.PackageBinding(tender=form.tender, lot=form.lot, credit_code=form.credit_code)


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
