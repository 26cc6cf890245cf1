"""tender.bidpackage: the bid package format (sunbid-bid/1), packing, validation, and agreement
with the published JSON Schema (docs/bid-package.schema.json)."""
from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.rules import make_credit_code
from tender import bidpackage as B
from tests.unit.sunbid.test_purity import violations

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "docs" / "bid-package.schema.json").read_text(encoding="utf-8"))
CODE = make_credit_code("91110108MA01ABCD2")
OTHER_CODE = make_credit_code("91310000MA1FL0000")
WRONG_CHECK = CODE[:17] + ("0" if CODE[17] != "0" else "1")
SHA = hashlib.sha256(b"x").hexdigest()

ARGS = {"tender": "SB-2026-00012", "lot": 1, "bidder_name": "北京示例建设工程有限公司", "credit_code": CODE,
        "price": "12345678.90", "duration_days": 365, "validity_days": 90}


def form_dict(**changes) -> dict:
    d = {"format": "sunbid-bid/1", "tender": "SB-2026-00012", "lot": 1,
         "bidder": {"name": "北京示例建设工程有限公司", "credit_code": CODE},
         "price": "12345678.90", "currency": "CNY", "duration_days": 365, "validity_days": 90,
         "files": [{"name": "技术标/施工组织设计.pdf", "sha256": SHA, "size": 1}]}
    d.update(changes)
    return d


def encode(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "商务标/报价一览表.pdf": b"%PDF-1.7 price schedule",
        "技术标/施工组织设计.pdf": b"%PDF-1.7 " + os.urandom(3 * 1024 * 1024 + 17),  # spans several chunks
        "技术标/附件/资质证书 (1).jpg": b"\xff\xd8\xff" + b"\0" * 100,
        "a/b/c/d/empty.txt": b"",
        "readme.txt": b"hello",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


@pytest.fixture
def tree(tmp_path) -> tuple[Path, dict[str, bytes]]:
    d = tmp_path / "bid"
    d.mkdir()
    return d, make_tree(d)


@pytest.fixture
def package(tmp_path, tree) -> Path:
    out = tmp_path / "bid.zip"
    B.pack(tree[0], output=out, **ARGS)
    return out


def rewrite(src: Path, dst: Path, change) -> Path:
    """Copy a ZIP entry by entry; ``change(name, data)`` returns the list of (name, data) to write."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            for name, data in change(info.filename, zin.read(info)):
                zout.writestr(name, data)
    return dst


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def manifest(files: dict[str, bytes], **changes) -> bytes:
    listed = [{"name": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in files.items()]
    return encode(form_dict(files=listed, **changes))


def validate_bytes(data: bytes) -> B.BidForm:
    return B.validate_stream(io.BytesIO(data))


# ---------------------------------------------------------------- round trip

def test_pack_then_validate_round_trip(tmp_path, tree):
    directory, files = tree
    out = tmp_path / "bid.zip"
    form = B.pack(directory, output=out, created_at="2026-03-20T10:15:00+08:00", **ARGS)
    assert form == B.validate_package(out)
    assert [f.name for f in form.files] == sorted(files)
    assert {f.name: (f.size, f.sha256) for f in form.files} == {
        n: (len(d), hashlib.sha256(d).hexdigest()) for n, d in files.items()}
    assert (form.tender, form.lot, form.bidder_name, form.credit_code, form.currency) == (
        "SB-2026-00012", 1, "北京示例建设工程有限公司", CODE, "CNY")
    assert form.price == Decimal("12345678.90") and form.price_fen == 1234567890
    assert (form.duration_days, form.validity_days, form.created_at) == (365, 90, "2026-03-20T10:15:00+08:00")
    with zipfile.ZipFile(out) as zf:
        infos = zf.infolist()
        assert infos[0].filename == "bid.json"
        assert [i.filename for i in infos[1:]] == sorted(files)
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)  # stored: bid files are mostly compressed already
        assert all(zf.read(n) == d for n, d in files.items())
        assert B.parse_bid_json(zf.read("bid.json")) == form
        assert json.loads(zf.read("bid.json"))["price"] == "12345678.90"


def test_pack_is_reproducible(tmp_path, tree):
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    B.pack(tree[0], output=a, **ARGS)
    B.pack(tree[0], output=b, **ARGS)
    assert a.read_bytes() == b.read_bytes()


def test_pack_takes_typed_values_and_writes_them_canonically(tmp_path, tree):
    form = B.pack(tree[0], output=tmp_path / "bid.zip",
                  **{**ARGS, "credit_code": f" {CODE.lower()} ", "price": "¥1,234.5"})
    assert form.credit_code == CODE and str(form.price) == "1234.50"
    assert B.validate_package(tmp_path / "bid.zip") == form


def test_pack_skips_old_bid_json_links_and_its_own_output(tmp_path, tree):
    directory, files = tree
    (directory / "bid.json").write_text("{old}")
    (directory / "sub").mkdir()
    (directory / "sub" / "bid.json").write_text("nested is a document")
    (directory / "link.pdf").symlink_to(directory / "readme.txt")
    (directory / "linked-dir").symlink_to(directory / "技术标", target_is_directory=True)
    out = directory / "bid.zip"
    B.pack(directory, output=out, **ARGS)
    form = B.pack(directory, output=out, **ARGS)  # again: the first output is not packed into the second
    assert [f.name for f in form.files] == sorted([*files, "sub/bid.json"])
    assert B.validate_package(out) == form
    assert [p.name for p in directory.iterdir() if p.name.endswith(".tmp")] == []


def test_pack_refuses_an_empty_directory(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "bid.json").write_text("{}")
    with pytest.raises(B.MalformedBidForm) as e:
        B.pack(tmp_path / "empty", output=tmp_path / "bid.zip", **ARGS)
    assert e.value.params["reason"] == "files"
    assert not (tmp_path / "bid.zip").exists()


@pytest.mark.parametrize("change, reason", [
    ({"credit_code": WRONG_CHECK}, "bidder.credit_code"),
    ({"price": "-1"}, "price"),
    ({"price": "0"}, "price"),
    ({"tender": "x"}, "tender"),
    ({"lot": 0}, "lot"),
    ({"duration_days": 0}, "duration_days"),
    ({"bidder_name": " "}, "bidder.name"),
])
def test_pack_refuses_a_bad_header_and_writes_nothing(tmp_path, tree, change, reason):
    with pytest.raises(B.MalformedBidForm) as e:
        B.pack(tree[0], output=tmp_path / "bid.zip", **{**ARGS, **change})
    assert e.value.params["reason"] == reason
    assert list(tmp_path.glob("*.zip")) == [] and list(tmp_path.glob(".*tmp")) == []


def test_pack_refuses_unsafe_file_names(tmp_path):
    d = tmp_path / "bid"
    d.mkdir()
    (d / "a:b.pdf").write_bytes(b"x")
    with pytest.raises(B.MalformedBidForm) as e:
        B.pack(d, output=tmp_path / "bid.zip", **ARGS)
    assert e.value.params["reason"] == "files[0].name"


def test_pack_refuses_names_equal_but_for_case(tmp_path):
    d = tmp_path / "bid"
    d.mkdir()
    (d / "Report.pdf").write_bytes(b"x")
    (d / "report.pdf").write_bytes(b"y")
    with pytest.raises(B.MalformedBidForm, match="more than once"):
        B.pack(d, output=tmp_path / "bid.zip", **ARGS)


def test_pack_refuses_a_file_that_changes_while_packing(tmp_path, tree, monkeypatch):
    directory, _ = tree
    real = B._hash_file
    monkeypatch.setattr(B, "_hash_file", lambda p: ("0" * 64, real(p)[1]) if p.name == "readme.txt" else real(p))
    with pytest.raises(B.ManifestMismatch) as e:
        B.pack(directory, output=tmp_path / "bid.zip", **ARGS)
    assert e.value.params == {"file": "readme.txt", "reason": "sha256"}
    assert list(tmp_path.glob("*.zip")) == [] and list(tmp_path.glob(".*tmp")) == []


# ---------------------------------------------------------------- the package's failure modes

def test_tampered_content_is_a_sha256_mismatch_naming_the_file(tmp_path, package):
    bad = rewrite(package, tmp_path / "bad.zip",
                  lambda n, d: [(n, b"HELLO" if n == "readme.txt" else d)])  # same size, new CRC
    with pytest.raises(B.ManifestMismatch) as e:
        B.validate_package(bad)
    assert e.value.params == {"file": "readme.txt", "reason": "sha256"}
    assert e.value.code == "manifest_mismatch" and "readme.txt" in str(e.value)


def test_bytes_changed_in_place_are_a_sha256_mismatch(tmp_path):
    data = bytearray(zip_bytes({"bid.json": manifest({"a.txt": b"original text"}), "a.txt": b"original text"}))
    i = data.index(b"original text")  # stored, so the content is in the clear: the CRC no longer matches
    data[i:i + 8] = b"ORIGINAL"
    with pytest.raises(B.ManifestMismatch) as e:
        validate_bytes(bytes(data))
    assert e.value.params == {"file": "a.txt", "reason": "sha256"}


def test_size_mismatch(tmp_path, package):
    bad = rewrite(package, tmp_path / "bad.zip", lambda n, d: [(n, d + b"!" if n == "readme.txt" else d)])
    with pytest.raises(B.ManifestMismatch) as e:
        B.validate_package(bad)
    assert e.value.params == {"file": "readme.txt", "reason": "size"}


def test_missing_file(tmp_path, package):
    bad = rewrite(package, tmp_path / "bad.zip", lambda n, d: [] if n == "商务标/报价一览表.pdf" else [(n, d)])
    with pytest.raises(B.ManifestMismatch) as e:
        B.validate_package(bad)
    assert e.value.params == {"file": "商务标/报价一览表.pdf", "reason": "missing"}


def test_unlisted_extra_file(tmp_path, package):
    bad = rewrite(package, tmp_path / "bad.zip",
                  lambda n, d: [(n, d), ("extra.exe", b"MZ")] if n == "readme.txt" else [(n, d)])
    with pytest.raises(B.ManifestMismatch) as e:
        B.validate_package(bad)
    assert e.value.params == {"file": "extra.exe", "reason": "unlisted"}


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "/etc/passwd", "a\\..\\evil", "C:evil", "a//b",
                                  "./a"])
def test_unsafe_entry_in_the_zip(name):
    files = {"a.txt": b"a"}
    data = zip_bytes({"bid.json": manifest(files), "a.txt": b"a", name: b"evil"})
    with pytest.raises(B.ManifestMismatch) as e:
        validate_bytes(data)
    assert e.value.params["reason"] == "unsafe"


def test_unsafe_name_in_bid_json():
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(encode(form_dict(files=[{"name": "../evil", "sha256": SHA, "size": 1}])))
    assert e.value.params["reason"] == "files[0].name"
    assert "../evil" in str(e.value)


def test_symlink_entry_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("bid.json", manifest({"a.txt": b"/etc/passwd"}))
        info = zipfile.ZipInfo("a.txt")
        info.create_system = 3
        info.external_attr = (0o120777) << 16  # a symbolic link whose target is the content
        zf.writestr(info, b"/etc/passwd")
    with pytest.raises(B.ManifestMismatch) as e:
        validate_bytes(buf.getvalue())
    assert e.value.params == {"file": "a.txt", "reason": "unsafe"}


def test_entry_stored_twice_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("bid.json", manifest({"a.txt": b"a"}))
        zf.writestr("a.txt", b"a")
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("a.txt", b"b")
    with pytest.raises(B.ManifestMismatch) as e:
        validate_bytes(buf.getvalue())
    assert e.value.params == {"file": "a.txt", "reason": "duplicate"}


def test_folder_entries_are_allowed():
    files = {"技术标/a.txt": b"a"}
    data = zip_bytes({"技术标/": b"", "bid.json": manifest(files), **files})
    assert [f.name for f in validate_bytes(data).files] == ["技术标/a.txt"]


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04" + b"\0" * 40, os.urandom(2000)])
def test_not_a_zip(tmp_path, data):
    (tmp_path / "x.zip").write_bytes(data)
    with pytest.raises(B.NotAZip) as e:
        B.validate_package(tmp_path / "x.zip")
    assert e.value.code == "not_a_zip"


def test_bid_json_missing(tmp_path, package):
    bad = rewrite(package, tmp_path / "bad.zip", lambda n, d: [] if n == "bid.json" else [(n, d)])
    with pytest.raises(B.MalformedBidForm) as e:
        B.validate_package(bad)
    assert e.value.params["reason"] == "bid.json"


def test_bid_json_in_a_folder_is_not_the_form():
    files = {"a.txt": b"a"}
    with pytest.raises(B.MalformedBidForm) as e:
        validate_bytes(zip_bytes({"sub/bid.json": manifest(files), **files}))
    assert e.value.params["reason"] == "bid.json"


def test_bid_json_larger_than_1_mib():
    body = manifest({"a.txt": b"a"})
    padded = body[:-1] + b" " * (B.MAX_FORM_BYTES + 1 - len(body)) + b"}"
    assert B.parse_bid_json(padded)  # valid JSON, only too large
    with pytest.raises(B.MalformedBidForm) as e:
        validate_bytes(zip_bytes({"bid.json": padded, "a.txt": b"a"}))
    assert e.value.params["reason"] == "bid.json"


def test_names_not_in_utf8_are_refused_clearly():
    name = "技术标.txt"
    placeholder = "X" * len(name.encode("gbk")[:-4]) + ".txt"
    data = zip_bytes({"bid.json": manifest({name: b"a"}), placeholder: b"a"})
    data = data.replace(placeholder.encode(), name.encode("gbk"))  # as Windows' zip on a Chinese system writes it
    with pytest.raises(B.NotAZip, match="UTF-8"):
        validate_bytes(data)


def test_validate_stream_needs_a_seekable_file(package):
    class Pipe(io.RawIOBase):
        def seekable(self):
            return False
    with pytest.raises(ValueError):
        B.validate_stream(Pipe())
    with package.open("rb") as f:
        assert B.validate_stream(f) == B.validate_package(package)


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP zip is not installed")
def test_a_package_zipped_by_hand_with_info_zip_validates(tmp_path, tree):
    directory, files = tree
    (directory / "bid.json").write_bytes(manifest(files))
    out = tmp_path / "hand.zip"
    subprocess.run(["zip", "-qr", str(out), "."], cwd=directory, check=True)
    assert {f.name for f in B.validate_package(out).files} == set(files)


@pytest.mark.skipif(shutil.which("age") is None or shutil.which("age-keygen") is None,
                    reason="the age / age-keygen binaries are not installed")
def test_sealing_as_documented_with_age(tmp_path, package):
    keys = []
    for who in ("tender", "own"):
        path = tmp_path / f"{who}.txt"
        subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
        keys.append((path, subprocess.run(["age-keygen", "-y", str(path)], check=True,
                                          capture_output=True, text=True).stdout.strip()))
    sealed = tmp_path / "bid.age"
    subprocess.run(["age", "-r", keys[0][1], "-r", keys[1][1], "-o", str(sealed), str(package)], check=True)
    for identity, _ in keys:
        opened = tmp_path / f"opened-{identity.stem}.zip"
        subprocess.run(["age", "-d", "-i", str(identity), "-o", str(opened), str(sealed)], check=True)
        assert B.validate_package(opened) == B.validate_package(package)


# ---------------------------------------------------------------- bid.json

def test_parse_valid_form():
    form = B.parse_bid_json(encode(form_dict(created_at="2026-03-20T02:15:00Z")))
    assert form.files == (B.FileEntry("技术标/施工组织设计.pdf", SHA, 1),)
    assert form.created_at == "2026-03-20T02:15:00Z" and form.price_fen == 1234567890
    assert B.parse_bid_json(form.to_json_bytes()) == form


def test_a_byte_order_mark_is_tolerated():
    assert B.parse_bid_json(b"\xef\xbb\xbf" + encode(form_dict())).lot == 1


@pytest.mark.parametrize("credit_code", [WRONG_CHECK, CODE[:17], CODE + "0", CODE.lower(), " " + CODE,
                                         "91110108MA01ABCDI" + CODE[17], 91110108, None])
def test_bad_credit_code(credit_code):
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(encode(form_dict(bidder={"name": "甲公司", "credit_code": credit_code})))
    assert e.value.params["reason"] == "bidder.credit_code" and e.value.code == "malformed_bid_form"


def test_bad_credit_code_keeps_the_rules_message():
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(encode(form_dict(bidder={"name": "甲公司", "credit_code": WRONG_CHECK})))
    assert "check character" in e.value.message and e.value.params["code"] == WRONG_CHECK


@pytest.mark.parametrize("price, words", [
    ("-1", "negative"), ("abc", "number"), ("1.234", "two decimal"), ("0", "more than zero"),
    ("0.00", "more than zero"), ("", "Enter an amount"), ("1,234", "quoted string"), ("¥12", "quoted string"),
    (" 12", "quoted string"), ("012", "quoted string"), ("+12", "quoted string"), ("１２", "quoted string"),
    (1234, "quoted string"), (12.5, "quoted string"), (None, "quoted string"), ("1e3", "number"),
    ("99999999999999", "too large"),
])
def test_bad_price(price, words):
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(encode(form_dict(price=price)))
    assert e.value.params["reason"] == "price"
    assert words in str(e.value)


@pytest.mark.parametrize("price, fen", [("0.01", 1), ("12", 1200), ("12.5", 1250), ("10000000000000", 10**15)])
def test_good_price(price, fen):
    assert B.parse_bid_json(encode(form_dict(price=price))).price_fen == fen


@pytest.mark.parametrize("tag", ["sunbid-bid/2", "sunbid-bid", "", None, 1])
def test_wrong_format_tag(tag):
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(encode(form_dict(format=tag)))
    assert e.value.params["reason"] == "format"


@pytest.mark.parametrize("field", ["format", "tender", "lot", "bidder", "price", "currency", "duration_days",
                                   "validity_days", "files"])
def test_missing_field(field):
    d = form_dict()
    del d[field]
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(encode(d))
    assert e.value.params["reason"] == field


@pytest.mark.parametrize("change, reason", [
    ({"lot": True}, "lot"), ({"lot": 1.0}, "lot"), ({"lot": "1"}, "lot"), ({"lot": 10000}, "lot"),
    ({"duration_days": -5}, "duration_days"), ({"validity_days": None}, "validity_days"),
    ({"currency": "RMB"}, "currency"), ({"tender": "SB 2026"}, "tender"), ({"tender": 12}, "tender"),
    ({"bidder": "甲公司"}, "bidder"), ({"bidder": {"name": "甲公司"}}, "bidder.credit_code"),
    ({"bidder": {"name": "", "credit_code": CODE}}, "bidder.name"),
    ({"bidder": {"name": "甲\u202e公司", "credit_code": CODE}}, "bidder.name"),
    ({"bidder": {"name": "甲", "credit_code": CODE, "extra": 1}}, "bidder.extra"),
    ({"bid_price": "1"}, "bid_price"),
    ({"files": []}, "files"), ({"files": {}}, "files"),
    ({"files": [{"name": "a", "sha256": SHA.upper(), "size": 1}]}, "files[0].sha256"),
    ({"files": [{"name": "a", "sha256": SHA, "size": -1}]}, "files[0].size"),
    ({"files": [{"name": "a", "sha256": SHA, "size": "1"}]}, "files[0].size"),
    ({"files": [{"name": "a", "sha256": SHA}]}, "files[0].size"),
    ({"files": [{"name": "a", "sha256": SHA, "size": 1, "mtime": 0}]}, "files[0].mtime"),
    ({"files": ["a"]}, "files[0]"),
    ({"created_at": "2026-03-20T10:15:00"}, "created_at"), ({"created_at": "2026-03-20"}, "created_at"),
    ({"created_at": "2026-02-30T10:15:00+08:00"}, "created_at"), ({"created_at": None}, "created_at"),
])
def test_bad_fields(change, reason):
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(encode(form_dict(**change)))
    assert e.value.params["reason"] == reason


@pytest.mark.parametrize("name", ["../evil", "a/../evil", "..", ".", "/abs", "a\\b", "a//b", "a/", "C:x",
                                  "bid.json", "a\nb", "a\u202eb", "x" * 256, "a/" * 600, ""])
def test_unsafe_file_names(name):
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(encode(form_dict(files=[{"name": "ok.pdf", "sha256": SHA, "size": 1},
                                                 {"name": name, "sha256": SHA, "size": 1}])))
    assert e.value.params["reason"] == "files[1].name"


@pytest.mark.parametrize("second", ["a.pdf", "A.PDF", "e\u0301.pdf"])
def test_duplicate_file_names(second):
    first = "é.pdf" if "\u0301" in second else "a.pdf"
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(encode(form_dict(files=[{"name": first, "sha256": SHA, "size": 1},
                                                 {"name": second, "sha256": SHA, "size": 1}])))
    assert e.value.params["reason"] == "files[1].name"


def test_at_most_1000_files():
    files = [{"name": f"f{i}.pdf", "sha256": SHA, "size": 1} for i in range(1000)]
    assert len(B.parse_bid_json(encode(form_dict(files=files))).files) == 1000
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(encode(form_dict(files=[*files, {"name": "one-more.pdf", "sha256": SHA, "size": 1}])))
    assert e.value.params["reason"] == "files"


@pytest.mark.parametrize("data", [
    b"", b"not json", b"[]", b"null", b'"sunbid-bid/1"', b"\xff\xfe{}", "{}".encode("utf-16"),
    b'{"format": "sunbid-bid/1", "format": "sunbid-bid/1"}',
    encode(form_dict())[:-1] + b', "price": "1.00"}',  # a second price: refused, never "last one wins"
    b'{"lot": NaN}', b"[" * 100000,
])
def test_not_json_or_ambiguous(data):
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(data)
    assert e.value.params["reason"] == "json"


def test_error_messages_render_with_their_parameters():
    with pytest.raises(B.MalformedBidForm) as e:
        B.parse_bid_json(encode(form_dict(lot=0)))
    out = e.value.to_dict()
    assert out == {"code": "malformed_bid_form",
                   "message": "The field lot of bid.json must be a whole number from 1 to 9999."}
    assert B.ManifestMismatch(file="a", reason="size").to_dict()["message"] == B.ManifestMismatch.default_message


def test_module_is_pure():
    assert violations((ROOT / "tender" / "bidpackage.py").read_text(encoding="utf-8")) == []


# ---------------------------------------------------------------- random file sets

PART = st.text(alphabet="abcXYZ019-_ .招标技术商务标文件（）", min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..") and s.strip() == s and s != "bid.json")
NAME = st.lists(PART, min_size=1, max_size=3).map("/".join)


def _consistent(names: list[str]) -> bool:
    """Names that can all exist together in a folder: no name is a folder of another."""
    keys = {n.casefold() for n in names}
    return not any("/".join(n.casefold().split("/")[:i]) in keys for n in names for i in range(1, n.count("/") + 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.dictionaries(NAME, st.binary(max_size=300), min_size=1, max_size=6,
                             dict_class=dict).filter(lambda d: _consistent(list(d))
                                                     and len({n.casefold() for n in d}) == len(d)),
       victim=st.integers(min_value=0))
def test_random_file_sets_round_trip_and_any_change_is_caught(files, victim):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        d = root / "bid"
        for name, data in files.items():
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            (d / name).write_bytes(data)
        out = root / "bid.zip"
        form = B.pack(d, output=out, **ARGS)
        assert B.validate_package(out) == form
        assert [f.name for f in form.files] == sorted(files)
        with zipfile.ZipFile(out) as zf:
            assert {n: zf.read(n) for n in files} == files

        name = sorted(files)[victim % len(files)]
        changed = rewrite(out, root / "changed.zip",
                          lambda n, data: [(n, bytes([data[0] ^ 1]) + data[1:] if data else b"!")] if n == name
                          else [(n, data)])
        with pytest.raises(B.ManifestMismatch) as e:
            B.validate_package(changed)
        assert e.value.params == {"file": name, "reason": "sha256" if files[name] else "size"}


# ---------------------------------------------------------------- the published schema agrees with the code

def test_schema_identity():
    assert SCHEMA["$id"] == B.SCHEMA_ID == "https://sunbid.example/schemas/bid-package-v1.json"
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_fields_are_the_codes():
    p = SCHEMA["properties"]
    assert list(p) == list(B.TOP_FIELDS) and SCHEMA["required"] == list(B.REQUIRED_TOP_FIELDS)
    assert list(p["bidder"]["properties"]) == p["bidder"]["required"] == list(B.BIDDER_FIELDS)
    item = p["files"]["items"]
    assert list(item["properties"]) == item["required"] == list(B.FILE_FIELDS)
    assert p["format"]["const"] == B.FORMAT and p["currency"]["const"] == B.CURRENCY
    assert p["files"]["maxItems"] == B.MAX_FILES
    assert p["lot"]["maximum"] == B.MAX_LOT and p["duration_days"]["maximum"] == B.MAX_DAYS
    assert item["properties"]["size"]["maximum"] == B.MAX_SIZE
    assert p["tender"]["pattern"] == "^" + B.PROJECT_CODE.pattern + "$"
    assert p["price"]["pattern"] == "^" + B.PRICE.pattern + "$"
    assert p["bidder"]["properties"]["credit_code"]["pattern"] == "^" + B.CREDIT_CODE.pattern + "$"
    assert item["properties"]["sha256"]["pattern"] == "^" + B.SHA256.pattern + "$"
    assert p["created_at"]["pattern"] == "^" + B.CREATED_AT.pattern + "$"


_TYPES = {"object": dict, "array": list, "string": str}


def schema_accepts(schema: dict, value) -> bool:
    """The few JSON Schema keywords the bid-package schema uses (ECMA-262 ``$`` is the end of text)."""
    if "const" in schema and not (value == schema["const"] and type(value) is type(schema["const"])):
        return False
    kind = schema.get("type")
    if kind == "integer":
        if not (isinstance(value, int) and not isinstance(value, bool)):
            return False
    elif kind and not isinstance(value, _TYPES[kind]):
        return False
    if (isinstance(value, (int, float)) and not isinstance(value, bool)
            and not schema.get("minimum", value) <= value <= schema.get("maximum", value)):
        return False
    if isinstance(value, str):
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
            return False
        if "pattern" in schema and not re.search(schema["pattern"].replace("$", r"\Z"), value):
            return False
    if isinstance(value, list):
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
            return False
        if "items" in schema and not all(schema_accepts(schema["items"], v) for v in value):
            return False
    if isinstance(value, dict):
        props = schema.get("properties", {})
        if any(k not in value for k in schema.get("required", ())):
            return False
        if schema.get("additionalProperties") is False and any(k not in props for k in value):
            return False
        if not all(schema_accepts(props[k], v) for k, v in value.items() if k in props):
            return False
    return True


def code_accepts(obj) -> bool:
    try:
        B.parse_bid_json(encode(obj))
        return True
    except B.MalformedBidForm:
        return False


def _file(name="a.pdf", sha=SHA, size=1) -> dict:
    return {"name": name, "sha256": sha, "size": size}


def _without(key: str, d: dict | None = None) -> dict:
    d = copy.deepcopy(d or form_dict())
    del d[key]
    return d


VALID = [
    form_dict(),
    form_dict(created_at="2026-03-20T10:15:00+08:00"),
    form_dict(created_at="2026-03-20T02:15:00.123Z"),
    form_dict(price="0.01"), form_dict(price="12.5"), form_dict(price="10000000000000"),
    form_dict(lot=9999, duration_days=36500, validity_days=1),
    form_dict(bidder={"name": "A", "credit_code": OTHER_CODE}),
    form_dict(files=[_file("技术标/第一章 (终稿).pdf"), _file("a/b/c/d.txt", size=0), _file(".hidden"),
                     _file("sub/bid.json"), _file("..a"), _file("x" * 255)]),
    form_dict(files=[_file(f"{i}.pdf") for i in range(1000)]),
]

INVALID_FOR_BOTH = [
    *[_without(k) for k in B.REQUIRED_TOP_FIELDS],
    form_dict(extra=1), form_dict(format="sunbid-bid/2"), form_dict(currency="USD"),
    form_dict(tender="ab"), form_dict(tender="-SB-1"), form_dict(tender="SB/1"),
    form_dict(lot=0), form_dict(lot="1"), form_dict(lot=True), form_dict(lot=1.5), form_dict(lot=10000),
    form_dict(duration_days=0), form_dict(validity_days=36501),
    form_dict(price=1234), form_dict(price="1,234"), form_dict(price="1.234"), form_dict(price="-1"),
    form_dict(price="abc"), form_dict(price="01"), form_dict(price="1."), form_dict(price=".5"),
    form_dict(price="12\n"),
    form_dict(bidder={"name": "", "credit_code": CODE}), form_dict(bidder={"name": "   ", "credit_code": CODE}),
    form_dict(bidder={"name": "A" * 201, "credit_code": CODE}),
    form_dict(bidder={"name": "A", "credit_code": CODE.lower()}),
    form_dict(bidder={"name": "A", "credit_code": CODE[:17]}),
    form_dict(bidder={"name": "A", "credit_code": CODE[:16] + "I" + CODE[17]}),
    form_dict(bidder={"name": "A", "credit_code": CODE + "\n"}),
    form_dict(bidder={"name": "A"}), form_dict(bidder={"name": "A", "credit_code": CODE, "x": 1}),
    form_dict(files=[]), form_dict(files=[_file(f"{i}.pdf") for i in range(1001)]),
    form_dict(files=[_file(sha=SHA.upper())]), form_dict(files=[_file(sha=SHA[:63])]),
    form_dict(files=[_file(size=-1)]), form_dict(files=[_file(size=True)]), form_dict(files=[_file(size=2**53)]),
    form_dict(files=[{"name": "a", "sha256": SHA}]), form_dict(files=[{**_file(), "x": 1}]),
    *[form_dict(files=[_file(n)]) for n in ("../evil", "a/../b", "..", ".", "a/./b", "/abs", "a\\b", "a//b", "a/",
                                            "C:x", "bid.json", "a\tb", "a\nb", "a\x7fb", "", "a" * 1025)],
    form_dict(created_at="2026-03-20T10:15:00"), form_dict(created_at="2026-03-20"),
    form_dict(created_at="2026-03-20 10:15:00+08:00"), form_dict(created_at=20260320),
]

REFUSED_ONLY_BY_THE_CODE = [  # what the schema documents in words but cannot express
    form_dict(bidder={"name": "A", "credit_code": WRONG_CHECK}),
    form_dict(price="0"), form_dict(price="0.00"), form_dict(price="99999999999999"),
    form_dict(files=[_file("a.pdf"), _file("a.pdf")]), form_dict(files=[_file("a.pdf"), _file("A.PDF")]),
    form_dict(files=[_file("a\u202eb.pdf")]), form_dict(files=[_file("a/" + "x" * 256)]),
    form_dict(bidder={"name": "A\u200b\u202e", "credit_code": CODE}),
    form_dict(created_at="2026-02-30T10:15:00+08:00"),
]


@pytest.mark.parametrize("obj", VALID)
def test_schema_and_code_accept(obj):
    assert schema_accepts(SCHEMA, obj) and code_accepts(obj)


@pytest.mark.parametrize("obj", INVALID_FOR_BOTH)
def test_schema_and_code_refuse(obj):
    assert not schema_accepts(SCHEMA, obj)
    assert not code_accepts(obj)


@pytest.mark.parametrize("obj", REFUSED_ONLY_BY_THE_CODE)
def test_checks_beyond_the_schema(obj):
    assert schema_accepts(SCHEMA, obj) and not code_accepts(obj)


def test_the_documented_example_is_valid():
    text = (ROOT / "docs" / "bid-package.md").read_text(encoding="utf-8")
    example = json.loads(re.search(r"```json\n(.*?)```", text, re.DOTALL).group(1))
    assert schema_accepts(SCHEMA, example) and code_accepts(example)
