"""Bid packages: the ZIP a bidder seals with age (``sunbid-bid/1``).

A bid package is a ZIP holding ``bid.json`` — the bidder's declared form (tender, lot, bidder,
price, periods) and a manifest of every other file with its size and SHA-256 — plus those
files.  The format is described for bidders in ``docs/bid-package.md`` and, as a JSON Schema
for outside tools, in ``docs/bid-package.schema.json``; this module checks it by hand (no
schema library), and a unit test keeps the two in agreement.

Pure apart from files: no Flask, no database, no clock.  ``pack`` reads a directory and writes
a ZIP; ``validate_package`` / ``validate_stream`` read a ZIP; everything else works on bytes.
"""
from __future__ import annotations

import hashlib
import json
import lzma
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from core.errors import N_, DomainError, InvalidInput
from core.money import parse_money, to_fen
from core.rules import validate_credit_code

FORMAT = "sunbid-bid/1"
SCHEMA_ID = "https://sunbid.example/schemas/bid-package-v1.json"
FORM_NAME = "bid.json"
CURRENCY = "CNY"
MAX_FILES = 1000
MAX_FORM_BYTES = 1 << 20
"""bid.json may be at most 1 MiB."""
CHUNK = 1 << 20
"""Files are hashed and copied in 1 MiB chunks, never read whole."""
MAX_LOT = 9999
MAX_DAYS = 36500
MAX_SIZE = 2**53 - 1
"""The largest integer every JSON reader keeps exactly."""
MAX_NAME = 1024
MAX_NAME_PART = 255
MAX_BIDDER_NAME = 200

TOP_FIELDS = ("format", "tender", "lot", "bidder", "price", "currency", "duration_days", "validity_days",
              "files", "created_at")
REQUIRED_TOP_FIELDS = TOP_FIELDS[:-1]
BIDDER_FIELDS = ("name", "credit_code")
FILE_FIELDS = ("name", "sha256", "size")

PROJECT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{2,39}")
"""Same rule as ``tender.inputs.PROJECT_CODE``, written without its anchors (it is used with ``fullmatch``)."""
PRICE = re.compile(r"(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?")
SHA256 = re.compile(r"[0-9a-f]{64}")
CREDIT_CODE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{18}")
CREATED_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})")
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
READ_ERRORS = (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError,
               zlib.error, lzma.LZMAError)
"""What reading a damaged entry raises: bad CRC, broken compressed stream, overlapping entries..."""


# ---------------------------------------------------------------- errors

class MalformedBidForm(InvalidInput):
    """bid.json is missing, not JSON or breaks the format; ``reason`` names the field
    (``price``, ``bidder.credit_code``, ``files[2].name``; ``json`` and ``bid.json`` for the file)."""

    code = "malformed_bid_form"
    default_message = N_("The field %(reason)s of bid.json is not valid.")


class ManifestMismatch(InvalidInput):
    """The ZIP does not hold exactly the files bid.json lists; params ``file`` and ``reason``
    (``missing``, ``size``, ``sha256``, ``unlisted``; also ``unsafe`` for an entry with a dangerous
    name or type and ``duplicate`` for an entry stored twice)."""

    code = "manifest_mismatch"
    default_message = N_("The bid package does not match its bid.json.")


class NotAZip(InvalidInput):
    code = "not_a_zip"
    default_message = N_("The file is not a ZIP bid package.")


# ---------------------------------------------------------------- the form

@dataclass(frozen=True)
class FileEntry:
    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class BidForm:
    """The declared form of a bid (bid.json), checked."""

    tender: str
    lot: int
    bidder_name: str
    credit_code: str
    price: Decimal
    currency: str
    duration_days: int
    validity_days: int
    files: tuple[FileEntry, ...]
    created_at: str | None = None

    @property
    def price_fen(self) -> int:
        return to_fen(self.price)

    def to_json_dict(self) -> dict[str, Any]:
        """The bid.json object of this form (fields in the documented order)."""
        out: dict[str, Any] = {
            "format": FORMAT, "tender": self.tender, "lot": self.lot,
            "bidder": {"name": self.bidder_name, "credit_code": self.credit_code},
            "price": str(self.price), "currency": self.currency,
            "duration_days": self.duration_days, "validity_days": self.validity_days,
            "files": [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in self.files],
        }
        if self.created_at is not None:
            out["created_at"] = self.created_at
        return out

    def to_json_bytes(self) -> bytes:
        return (json.dumps(self.to_json_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _bad(reason: str, message: str | None = None, **params: object) -> MalformedBidForm:
    return MalformedBidForm(message, reason=reason, **params)


def _wrap(reason: str, error: DomainError) -> MalformedBidForm:
    """A rule's own refusal (translated message and parameters kept) as a bid form error."""
    return MalformedBidForm(error.message, reason=reason, **error.params)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(obj: dict, key: str, reason: str, lo: int, hi: int) -> int:
    value = obj[key]
    if not _is_int(value) or not lo <= value <= hi:
        raise _bad(reason, N_("The field %(reason)s of bid.json must be a whole number from %(min)s to %(max)s."),
                   min=lo, max=hi)
    return value


def _object(value: object, reason: str, keys: tuple[str, ...], required: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise _bad(reason, N_("The field %(reason)s of bid.json must be a JSON object."))
    prefix = "" if reason == "bid.json" else reason + "."
    for key in value:
        if key not in keys:
            raise _bad(prefix + key, N_("bid.json has a field %(reason)s that the format does not define."))
    for key in required:
        if key not in value:
            raise _bad(prefix + key, N_("bid.json lacks the field %(reason)s."))
    return value


def _unsafe_char(c: str) -> bool:
    """Control, format (e.g. right-to-left override), surrogate, private-use or unassigned
    characters and line/paragraph separators."""
    return unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")


def _shown(name: str) -> str:
    """A name safe to put in a message: unsafe characters escaped."""
    return "".join(f"\\u{ord(c):04x}" if _unsafe_char(c) else c for c in name)


def is_safe_name(name: str) -> bool:
    """A file's path inside the package: relative, ``/`` between folders, no empty, ``.`` or
    ``..`` parts, no backslash or colon (drive letters, Windows streams), no unsafe characters,
    at most 255 characters a part and 1024 in all, and not ``bid.json`` itself."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME or name == FORM_NAME:
        return False
    if "\\" in name or ":" in name or any(_unsafe_char(c) for c in name):
        return False
    return all(part not in ("", ".", "..") and len(part) <= MAX_NAME_PART for part in name.split("/"))


def _name_key(name: str) -> str:
    """Names that would land on the same file on a case-insensitive or normalising file system."""
    return unicodedata.normalize("NFC", name).casefold()


def _text(obj: dict, key: str, reason: str) -> str:
    value = obj[key]
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_BIDDER_NAME:
        raise _bad(reason, N_("The field %(reason)s of bid.json must be text of 1 to %(max)s characters."),
                   max=MAX_BIDDER_NAME)
    if not value.strip() or any(_unsafe_char(c) for c in value):
        raise _bad(reason)
    return value


def _const(obj: dict, key: str, expected: str) -> str:
    if obj[key] != expected or not isinstance(obj[key], str):
        raise _bad(key, N_("The field %(reason)s of bid.json must be %(expected)s."), expected=json.dumps(expected))
    return expected


def _price(value: object) -> Decimal:
    if isinstance(value, str):
        try:
            amount = parse_money(value, field="price")
        except InvalidInput as e:
            raise _wrap("price", e) from None
        if amount <= 0:
            raise _bad("price", N_("The bid price must be more than zero."))
        if PRICE.fullmatch(value):
            return amount
    raise _bad("price", N_('Write the bid price in bid.json as a quoted string of digits with at most two '
                           'decimals, e.g. "1234567.89".'))


def _credit_code(value: object) -> str:
    reason = "bidder.credit_code"
    if not isinstance(value, str):
        raise _bad(reason)
    try:
        code = validate_credit_code(value)
    except InvalidInput as e:
        raise _wrap(reason, e) from None
    if code != value or not CREDIT_CODE.fullmatch(code):
        raise _bad(reason)  # e.g. lower case or surrounding spaces: bid.json holds the code as printed
    return code


def _created_at(value: object) -> str:
    if isinstance(value, str) and CREATED_AT.fullmatch(value):
        try:
            datetime.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise _bad("created_at")


def _files(value: object) -> tuple[FileEntry, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_FILES:
        raise _bad("files", N_("The field %(reason)s of bid.json must be a list of 1 to %(max)s files."),
                   max=MAX_FILES)
    out: list[FileEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        where = f"files[{i}]"
        entry = _object(item, where, FILE_FIELDS, FILE_FIELDS)
        name = entry["name"]
        if not is_safe_name(name):
            raise _bad(f"{where}.name",
                       N_("The file name %(name)s in bid.json is not allowed: use a relative path with / between "
                          "folders, other than bid.json, without '..', '\\', ':' or control characters."),
                       name=_shown(name) if isinstance(name, str) else json.dumps(name))
        if _name_key(name) in seen:
            raise _bad(f"{where}.name", N_("The file %(name)s is listed more than once in bid.json."), name=name)
        seen.add(_name_key(name))
        if not isinstance(entry["sha256"], str) or not SHA256.fullmatch(entry["sha256"]):
            raise _bad(f"{where}.sha256")
        size = _int(entry, "size", f"{where}.size", 0, MAX_SIZE)
        out.append(FileEntry(name, entry["sha256"], size))
    return tuple(out)


def form_from_object(obj: object) -> BidForm:
    """Check a decoded bid.json object; fields are checked in the documented order."""
    obj = _object(obj, "bid.json", TOP_FIELDS, REQUIRED_TOP_FIELDS)
    _const(obj, "format", FORMAT)
    if not isinstance(obj["tender"], str) or not PROJECT_CODE.fullmatch(obj["tender"]):
        raise _bad("tender", N_("Project codes are 3–40 letters, digits, dots, dashes or underscores."))
    lot = _int(obj, "lot", "lot", 1, MAX_LOT)
    bidder = _object(obj["bidder"], "bidder", BIDDER_FIELDS, BIDDER_FIELDS)
    name = _text(bidder, "name", "bidder.name")
    code = _credit_code(bidder["credit_code"])
    price = _price(obj["price"])
    currency = _const(obj, "currency", CURRENCY)
    duration = _int(obj, "duration_days", "duration_days", 1, MAX_DAYS)
    validity = _int(obj, "validity_days", "validity_days", 1, MAX_DAYS)
    files = _files(obj["files"])
    created_at = _created_at(obj["created_at"]) if "created_at" in obj else None
    return BidForm(tender=obj["tender"], lot=lot, bidder_name=name, credit_code=code, price=price,
                   currency=currency, duration_days=duration, validity_days=validity, files=files,
                   created_at=created_at)


class _JSONRefused(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:  # two readers could take different values: refuse the ambiguity
            raise _JSONRefused(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _JSONRefused(name)  # NaN, Infinity, -Infinity are not JSON


def parse_bid_json(data: bytes) -> BidForm:
    """The checked form from the bytes of bid.json: UTF-8 (a byte-order mark is tolerated), one
    JSON object, no duplicate keys, no unknown fields."""
    try:
        obj = json.loads(data.decode("utf-8-sig"), object_pairs_hook=_no_duplicate_keys,
                         parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError and _JSONRefused are ValueErrors
        raise _bad("json", N_("bid.json must be a JSON object in UTF-8 text.")) from None
    if not isinstance(obj, dict):
        raise _bad("json", N_("bid.json must be a JSON object in UTF-8 text."))
    return form_from_object(obj)


# ---------------------------------------------------------------- packing

def _walk(directory: Path, skip: set[Path]) -> list[tuple[str, Path]]:
    """(name in the package, path) of every regular file under ``directory``, sorted by name;
    symbolic links and special files are left out and linked folders are not followed."""
    found: list[tuple[str, Path]] = []

    def fail(error: OSError) -> None:
        raise error

    for root, dirs, names in os.walk(directory, onerror=fail):
        dirs.sort()
        for n in names:
            path = Path(root, n)
            if not stat.S_ISREG(os.lstat(path).st_mode) or path.resolve() in skip:
                continue
            rel = unicodedata.normalize("NFC", path.relative_to(directory).as_posix())
            if rel == FORM_NAME:
                continue  # a bid.json left from an earlier run is replaced, never packed as a document
            found.append((rel, path))
    return sorted(found)


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    while chunk := f.read(CHUNK):
        yield chunk


def _hash_file(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        for chunk in _chunks(f):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _entry(name: str, size: int = 0) -> zipfile.ZipInfo:
    """A ZIP entry with fixed metadata (1980-01-01, Unix, mode 644): the same files give the
    same package bytes.  Stored, not deflated: bid documents (PDF, DOCX, scans) are compressed already,
    and the opening reads every byte back to check it, so compressing again only costs time."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.file_size = size  # lets zipfile choose ZIP64 up front for large files
    return info


def pack(directory: Path, *, tender: str, lot: int, bidder_name: str, credit_code: str, price: str,
         duration_days: int, validity_days: int, output: Path, created_at: str | None = None) -> BidForm:
    """Write the bid package of every regular file under ``directory`` to ``output``.

    ``credit_code`` and ``price`` are taken as typed by a person (``91110108...`` in lower case,
    ``1,234,567.80``, ``¥12``) and written in their canonical form.  Files are listed and
    stored sorted by name (NFC), a top-level ``bid.json`` and ``output`` itself are skipped,
    symbolic links and special files are left out (the returned form lists exactly what was
    packed).  Each file is hashed, then copied into the ZIP in 1 MiB chunks and hashed again;
    a file that changed in between is refused.  ``output`` is replaced only on success.
    """
    directory = Path(directory)
    output = Path(output)
    try:
        credit_code = validate_credit_code(credit_code)
    except InvalidInput as e:
        raise _wrap("bidder.credit_code", e) from None
    try:
        amount = parse_money(price, field="price")
    except InvalidInput as e:
        raise _wrap("price", e) from None
    header: dict[str, Any] = {
        "format": FORMAT, "tender": tender, "lot": lot,
        "bidder": {"name": bidder_name, "credit_code": credit_code},
        "price": str(amount), "currency": CURRENCY,
        "duration_days": duration_days, "validity_days": validity_days,
        "files": [{"name": "check", "sha256": "0" * 64, "size": 0}],
    }
    if created_at is not None:
        header["created_at"] = created_at
    form_from_object(header)  # refuse a bad header before hashing a large folder

    found = _walk(directory, skip={output.resolve()})
    if not found:
        raise _bad("files", N_("The folder %(directory)s has no files to pack."), directory=str(directory))
    if len(found) > MAX_FILES:
        raise _bad("files", N_("The field %(reason)s of bid.json must be a list of 1 to %(max)s files."),
                   max=MAX_FILES)
    listed = []
    for name, path in found:
        digest, size = _hash_file(path)
        listed.append({"name": name, "sha256": digest, "size": size})
    form = form_from_object({**header, "files": listed})  # names, duplicates
    paths = dict(found)

    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(_entry(FORM_NAME), form.to_json_bytes())
            for entry in form.files:
                h, size = hashlib.sha256(), 0
                with paths[entry.name].open("rb") as src, zf.open(_entry(entry.name, entry.size), "w") as dst:
                    for chunk in _chunks(src):
                        h.update(chunk)
                        size += len(chunk)
                        dst.write(chunk)
                if size != entry.size or h.hexdigest() != entry.sha256:
                    raise ManifestMismatch(N_("The file %(file)s changed while the package was being written; "
                                              "pack again."), file=entry.name, reason="sha256")
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return form


# ---------------------------------------------------------------- validating

def _unreadable(name: str) -> NotAZip:
    return NotAZip(N_("The bid package cannot be read: the entry %(file)s is damaged, encrypted or compressed "
                      "with an unsupported method."), file=_shown(name))


def _check_entries(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Every file entry by name, after refusing unsafe, duplicated and unreadable entries;
    folder entries (``docs/``) are allowed and left out."""
    entries: dict[str, zipfile.ZipInfo] = {}
    keys: set[str] = set()
    for info in zf.infolist():
        name = info.orig_filename
        kind = stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0  # 0: not recorded
        folder = name.endswith("/") and info.file_size == 0
        if folder:
            safe = is_safe_name(name[:-1]) and kind in (0, stat.S_IFDIR)
        else:
            safe = (name == FORM_NAME or is_safe_name(name)) and kind in (0, stat.S_IFREG)
        if not safe or name != info.filename:
            raise ManifestMismatch(N_("The package holds an entry that is not allowed (unsafe name, link or "
                                      "special file): %(file)s."), file=_shown(name), reason="unsafe")
        if folder:
            continue
        if _name_key(name) in keys:
            raise ManifestMismatch(N_("The package holds the entry %(file)s more than once."),
                                   file=name, reason="duplicate")
        keys.add(_name_key(name))
        if info.flag_bits & 0x1 or info.compress_type not in READABLE_METHODS:
            raise _unreadable(name)
        entries[name] = info
    return entries


def _read_form(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> BidForm:
    info = entries.get(FORM_NAME)
    if info is None:
        raise _bad("bid.json", N_("The bid package has no bid.json at its top level."))
    too_large = _bad("bid.json", N_("bid.json may be at most %(max)s."), max="1 MiB")
    if info.file_size > MAX_FORM_BYTES:
        raise too_large
    try:
        with zf.open(info) as f:
            data = f.read(MAX_FORM_BYTES + 1)
    except READ_ERRORS:
        raise _unreadable(FORM_NAME) from None
    if len(data) > MAX_FORM_BYTES:
        raise too_large
    return parse_bid_json(data)


def _content_matches(zf: zipfile.ZipFile, info: zipfile.ZipInfo, entry: FileEntry) -> bool:
    h, size = hashlib.sha256(), 0
    try:
        with zf.open(info) as f:
            for chunk in _chunks(f):
                h.update(chunk)
                size += len(chunk)
    except READ_ERRORS:
        return False  # a bad CRC or a broken compressed stream: the content is not what was listed
    return size == entry.size and h.hexdigest() == entry.sha256


def _validate(zf: zipfile.ZipFile) -> BidForm:
    entries = _check_entries(zf)
    form = _read_form(zf, entries)
    listed = {f.name for f in form.files}
    for name in entries:
        if name != FORM_NAME and name not in listed:
            raise ManifestMismatch(N_("The package holds a file %(file)s that bid.json does not list."),
                                   file=name, reason="unlisted")
    for entry in form.files:  # the cheap checks for every file before reading any content
        info = entries.get(entry.name)
        if info is None:
            raise ManifestMismatch(N_("The file %(file)s listed in bid.json is not in the package."),
                                   file=entry.name, reason="missing")
        if info.file_size != entry.size:
            raise ManifestMismatch(N_("The file %(file)s in the package does not have the size listed in bid.json."),
                                   file=entry.name, reason="size")
    for entry in form.files:
        if not _content_matches(zf, entries[entry.name], entry):
            raise ManifestMismatch(N_("The file %(file)s in the package does not match its SHA-256 in bid.json: "
                                      "it was changed after packing."), file=entry.name, reason="sha256")
    return form


def open_zip(fileobj: IO[bytes]) -> zipfile.ZipFile:
    """A bid package opened for reading, names decoded as UTF-8 whether or not an entry carries
    the ZIP's UTF-8 flag (Info-ZIP ``zip`` and macOS write UTF-8 names without it).  Use it, not
    a bare ``ZipFile``, to read files from a validated package: the names then match bid.json."""
    if not fileobj.seekable():
        raise ValueError("a bid package is read from a seekable file")
    try:
        return zipfile.ZipFile(fileobj, metadata_encoding="utf-8")
    except UnicodeDecodeError:
        raise NotAZip(N_("The bid package stores file names in an encoding other than UTF-8 (e.g. GBK). Make "
                         "it with Sunbid's packer, or with 7-Zip using the option cu (UTF-8 names).")) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError):
        raise NotAZip() from None  # NotImplementedError: a "zip file version" zipfile does not read


def validate_stream(fileobj: IO[bytes]) -> BidForm:
    """Check a bid package read from an open, seekable binary file: bid.json present (at most
    1 MiB) and valid, every listed file present with its size and SHA-256, nothing unlisted,
    no unsafe, duplicated, encrypted or unreadable entry.  Returns the declared form."""
    with open_zip(fileobj) as zf:
        return _validate(zf)


def validate_package(path: Path) -> BidForm:
    """``validate_stream`` on the file at ``path``."""
    with Path(path).open("rb") as f:
        return validate_stream(f)
