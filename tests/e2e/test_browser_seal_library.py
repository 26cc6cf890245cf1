"""static/js/bid-seal.js in headless Chromium, against the platform's Python side and the real age tool.

The page is one of the platform's own (served for real, under its Content-Security-Policy); the vendored age bundle
is loaded with its subresource-integrity value and bid-seal.js from /static/.  Files reach the page as a bidder's
do, chosen in a file input (``set_input_files`` with real files on disk), and what the page writes to its private
file system (OPFS) comes back as a download.  Checked: the package the browser builds is byte for byte the one
``tender.bidpackage.pack`` writes from the same folder; a file sealed in the browser opens with ``age -d`` and with
the platform's own opening code; the capital numerals and the price check agree with ``core.money``."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.money import capital_yuan, parse_money
from core.rules import make_credit_code
from core.static_assets import static_integrity
from tests.conftest import ROOT, serving, standalone

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("age") is None, reason="the age tool is not installed")]

BUNDLE = "vendor/age-encryption/age.min.js"
CREDIT_CODE = make_credit_code("91110108MA01ABCD2")
FORM = dict(tender="SB-2026-00012", lot=2, bidder={"name": "北京示例建设工程有限公司", "credit_code": CREDIT_CODE},
            price="12345678.90", duration_days=365, validity_days=90)
MB = 1024 * 1024


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app, s, _clock, _make = standalone(tmp_path_factory.mktemp("live-seal-library"))
    s.close()
    with serving(app) as url:
        yield url


@pytest.fixture
def seal_page(page, site):
    """A page of the platform with the age bundle (with its integrity value) and bid-seal.js loaded."""
    page.goto(f"{site}/")
    page.evaluate("""async ([bundle, integrity]) => {
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
        input.multiple = true;
        input.id = 'files';
        document.body.append(input);
    }""", [f"/static/{BUNDLE}", static_integrity(BUNDLE)])
    assert page.evaluate("() => window.SunbidSeal.supported()")
    return page


def choose(page, paths: list[Path]) -> None:
    """The files chosen in the page's file input, in this order (input.files[i] is paths[i])."""
    page.set_input_files("#files", [str(p) for p in paths])
    assert page.evaluate("() => document.getElementById('files').files.length") == len(paths)


def download(page, name: str, target: Path) -> bytes:
    """The File or Blob the page keeps as window[name], saved as the bidder would save it."""
    with page.expect_download() as info:
        page.evaluate("""(name) => {
            const a = document.createElement('a');
            a.href = URL.createObjectURL(window[name]);
            a.download = name;
            document.body.append(a);
            a.click();
            a.remove();
        }""", name)
    info.value.save_as(str(target))
    return target.read_bytes()


PACK_IN_PAGE = """async ([form, names, opfsName]) => {
    const input = document.getElementById('files');
    const files = names.map((name, i) => ({name, file: input.files[i]}));
    const out = await SunbidSeal.openOpfsFile(opfsName);
    const phases = new Set();
    try {
        const result = await SunbidSeal.packBid(form, files, out.writable, (p) => phases.add(p.phase));
        await out.close();
        window[opfsName] = await out.file();
        return {...result, phases: [...phases]};
    } catch (e) {
        await out.abort();
        return {error: e.code || String(e), params: e.params || null};
    }
}"""


def bid_folder(root: Path, big_mb: int = 20) -> list[tuple[str, Path]]:
    """Chinese names, nested folders, an empty file, a large file, and names whose order differs between code
    points and UTF-16 units (U+FF21 sorts before U+1F600 in Python, after it in a naive JavaScript sort); one name
    written decomposed (NFD)."""
    files = {
        "投标函.pdf": b"%PDF-1.4 bid letter\n" * 100,
        "技术标/施工组织设计.pdf": os.urandom(300_000),
        "技术标/图纸/总平面图.dwg": os.urandom(70_000),
        "商务标/报价一览表.xlsx": os.urandom(5000),
        "商务标/空白.txt": b"",
        "资格证明文件/营业执照.jpg": os.urandom(123_457),
        "Ａ全角.txt": b"full-width A",
        "\U0001F600.txt": b"grinning face",
        "cafe\u0301.txt": b"decomposed name",
        "readme.txt": b"plain ASCII name",
        "大文件/扫描件.pdf": os.urandom(big_mb * MB),
    }
    out = []
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out.append((name, path))
    return out


def python_pack(folder: Path, output: Path, form: dict, **extra) -> None:
    from tender import bidpackage

    bidpackage.pack(folder, tender=form["tender"], lot=form["lot"], bidder_name=form["bidder"]["name"],
                    credit_code=form["bidder"]["credit_code"], price=form["price"],
                    duration_days=form["duration_days"], validity_days=form["validity_days"], output=output, **extra)


def members(data: bytes) -> list[tuple]:
    with zipfile.ZipFile(io.BytesIO(data), metadata_encoding="utf-8") as zf:
        return [(i.filename, i.compress_type, i.date_time, i.create_system, i.create_version, i.extract_version,
                 i.flag_bits, i.external_attr, i.CRC, i.file_size, zf.read(i)) for i in zf.infolist()]


def test_the_browser_packs_the_same_bytes_as_sunbid_bid_pack(seal_page, tmp_path):
    from jsonschema import Draft202012Validator

    from tender import bidpackage

    folder = tmp_path / "bid"
    listed = bid_folder(folder)
    python_zip = tmp_path / "python.zip"
    python_pack(folder, python_zip, FORM)
    expected = python_zip.read_bytes()

    choose(seal_page, [path for _name, path in listed])
    result = seal_page.evaluate(PACK_IN_PAGE, [FORM, [name for name, _path in listed], "bid.zip"])
    assert "error" not in result, result
    browser = download(seal_page, "bid.zip", tmp_path / "browser.zip")

    assert members(browser) == members(expected)  # names, order, metadata and contents, then every byte
    assert browser == expected
    assert result["sha256"] == hashlib.sha256(browser).hexdigest() and result["size"] == len(browser)
    assert result["phases"] == ["hash", "write"]

    names = [f["name"] for f in result["form"]["files"]]
    assert names == sorted(names) and "caf\u00e9.txt" in names  # by code point, NFC
    assert names.index("Ａ全角.txt") < names.index("\U0001F600.txt")
    with zipfile.ZipFile(io.BytesIO(browser), metadata_encoding="utf-8") as zf:
        form_bytes = zf.read("bid.json")
    assert zf.namelist()[0] == "bid.json"
    assert json.loads(form_bytes) == result["form"] and form_bytes.decode() == result["json"]
    schema = json.loads((ROOT / "docs" / "bid-package.schema.json").read_text(encoding="utf-8"))
    assert not list(Draft202012Validator(schema).iter_errors(result["form"]))
    form = bidpackage.validate_package(tmp_path / "browser.zip")
    assert form.price == Decimal("12345678.90") and form.lot == 2 and len(form.files) == len(listed)


def test_typed_values_are_written_as_pack_writes_them(seal_page, tmp_path):
    """A price typed in full-width digits, a credit code in lower case, a name with quotes and a backslash,
    created_at: the same bid.json as pack()."""
    folder = tmp_path / "bid"
    listed = [("a.txt", folder / "a.txt"), ("b/c.txt", folder / "b" / "c.txt")]
    for name, path in listed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode() * 1000)
    form = dict(FORM, price="１２３４.5", bidder={"name": '示例 "公司" \\ 分部', "credit_code": CREDIT_CODE.lower()})
    python_zip = tmp_path / "python.zip"
    python_pack(folder, python_zip, form, created_at="2026-03-20T10:15:00+08:00")
    choose(seal_page, [path for _n, path in listed])
    result = seal_page.evaluate(PACK_IN_PAGE, [dict(form, created_at="2026-03-20T10:15:00+08:00"),
                                               [n for n, _p in listed], "typed.zip"])
    assert "error" not in result, result
    assert result["form"]["price"] == "1234.50" and result["form"]["bidder"]["credit_code"] == CREDIT_CODE
    assert download(seal_page, "typed.zip", tmp_path / "browser.zip") == python_zip.read_bytes()


ZIP_RECORDS = """([entries, start]) => {
    const Z = SunbidSeal._zip, hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    const made = entries.map(([name, size, crc, offset]) => Z.entry(name, size, crc, offset));
    const central = made.map((e) => hex(Z.centralRecord(e))).join('');
    return {local: made.map((e) => hex(Z.localHeader(e))),
            tail: central + hex(Z.endRecords(made.length, start, central.length / 2))};
}"""


class _Counted(io.RawIOBase):
    """A writer that only keeps what it is given, starting at ``start`` (a central directory past 4 GiB)."""

    def __init__(self, start: int):
        self.start, self.data = start, bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.data += b
        return len(b)

    def tell(self) -> int:
        return self.start + len(self.data)


def cpython_records(entries: list[tuple[str, int, int, int]], start: int) -> dict:
    """The local headers, and the central directory with the end records, that CPython's zipfile writes for these
    entries (name, size, CRC, offset) of tender.bidpackage's kind, the directory starting at ``start``."""
    from tender import bidpackage

    infos, local = [], []
    for name, size, crc, offset in entries:
        info = bidpackage._entry(name, size)
        info.flag_bits, info.CRC, info.compress_size, info.header_offset = 0, crc, size, offset
        local.append(info.FileHeader(size * 1.05 > zipfile.ZIP64_LIMIT).hex())  # _open_to_write's choice
        infos.append(info)
    zf = zipfile.ZipFile(io.BytesIO(), "w")
    zf.filelist, zf.start_dir, zf.fp = infos, start, _Counted(start)
    zf._write_end_record()
    tail = bytes(zf.fp.data)
    zf.fp = None  # nothing more to write
    return {"local": local, "tail": tail.hex()}


@pytest.mark.parametrize("entries, start", [
    ([("bid.json", 400, 0x12345678, 0), ("a.pdf", 10, 1, 438)], 500),
    ([("bid.json", 400, 7, 0), ("技术标/大.pdf", 2045222520, 0xFFFFFFFF, 438)], 2045223000),  # just under ZIP64
    ([("bid.json", 400, 7, 0), ("big.bin", 2045222521, 0xDEADBEEF, 438)], 2045223000),  # local ZIP64 only
    ([("bid.json", 400, 7, 0), ("big.bin", 2147483647, 3, 438)], 2147484200),  # central directory past 2 GiB
    ([("bid.json", 400, 7, 0), ("big.bin", 2147483648, 3, 438), ("后.txt", 5, 9, 2147484200)], 2147484300),
    ([("bid.json", 400, 7, 0), ("big.bin", 5_000_000_000, 3, 438), ("after.txt", 5, 9, 5_000_000_500),
      ("end.txt", 0, 0, 5_000_000_600)], 5_000_000_700),
])
def test_zip_records_are_cpythons_past_two_gib(seal_page, entries, start):
    """The ZIP64 rules without writing gigabytes: the records the page makes for large sizes and offsets are the
    ones zipfile makes."""
    assert seal_page.evaluate(ZIP_RECORDS, [entries, start]) == cpython_records(entries, start)


SEAL_IN_PAGE = """async ([index, recipients, opfsName]) => {
    const file = document.getElementById('files').files[index];
    const out = await SunbidSeal.openOpfsFile(opfsName);
    let last = null;
    try {
        const result = await SunbidSeal.seal(file, recipients, out.writable, (p) => { last = p; });
        await out.close();
        window[opfsName] = await out.file();
        return {...result, plain_sha256: await SunbidSeal.sha256(file), last};
    } catch (e) {
        await out.abort();
        return {error: e.code || String(e)};
    }
}"""


def test_a_file_sealed_in_the_browser_opens_with_age_and_at_the_opening(seal_page, tmp_path):
    import pyrage

    from tender import sealing

    subprocess.run(["age-keygen", "-o", str(tmp_path / "tender-key.txt")], check=True, capture_output=True)
    tender_recipient = subprocess.run(["age-keygen", "-y", str(tmp_path / "tender-key.txt")], check=True,
                                      capture_output=True, text=True).stdout.strip()
    own = pyrage.x25519.Identity.generate()
    plain = tmp_path / "bid.zip"
    plain.write_bytes(os.urandom(5 * MB + 12345))
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    choose(seal_page, [plain, empty])

    result = seal_page.evaluate(SEAL_IN_PAGE, [0, [tender_recipient, str(own.to_public())], "bid.age"])
    assert "error" not in result, result
    sealed = download(seal_page, "bid.age", tmp_path / "bid.age")
    assert result["sha256"] == hashlib.sha256(sealed).hexdigest() and result["size"] == len(sealed)
    assert result["plain_sha256"] == hashlib.sha256(plain.read_bytes()).hexdigest()
    assert result["last"] == {"phase": "seal", "done": plain.stat().st_size, "total": plain.stat().st_size}
    assert sealed.startswith(b"age-encryption.org/v1\n")
    assert sealing.check_age_file(tmp_path / "bid.age").x25519_count == 2  # the server's strict header check

    opened = subprocess.run(["age", "-d", "-i", str(tmp_path / "tender-key.txt"), str(tmp_path / "bid.age")],
                            check=True, capture_output=True).stdout
    assert opened == plain.read_bytes()
    digest = sealing.open_file(tmp_path / "bid.age", tmp_path / "opened.zip", str(own))  # the opening's code
    assert (tmp_path / "opened.zip").read_bytes() == plain.read_bytes()
    assert digest == hashlib.sha256(plain.read_bytes()).hexdigest()

    result = seal_page.evaluate(SEAL_IN_PAGE, [1, [tender_recipient], "empty.age"])
    download(seal_page, "empty.age", tmp_path / "empty.age")
    assert result["sha256"] == hashlib.sha256((tmp_path / "empty.age").read_bytes()).hexdigest()
    assert subprocess.run(["age", "-d", "-i", str(tmp_path / "tender-key.txt"), str(tmp_path / "empty.age")],
                          check=True, capture_output=True).stdout == b""


def test_a_package_packed_and_sealed_in_the_browser_opens_as_a_bid(seal_page, tmp_path):
    """Pack, then seal the package the page wrote, then open it as the opening does and validate it."""
    from tender import bidpackage, sealing

    identity = sealing.new_opening_key()
    folder = tmp_path / "bid"
    listed = bid_folder(folder, big_mb=2)
    choose(seal_page, [p for _n, p in listed])
    result = seal_page.evaluate("""async ([form, names, recipient]) => {
        const input = document.getElementById('files');
        const zip = await SunbidSeal.openOpfsFile('p.zip');
        const packed = await SunbidSeal.packBid(form, names.map((name, i) => ({name, file: input.files[i]})),
                                                zip.writable);
        await zip.close();
        const age = await SunbidSeal.openOpfsFile('p.age');
        const sealed = await SunbidSeal.seal(await zip.file(), [recipient], age.writable);
        await age.close();
        window['p.age'] = await age.file();
        return {packed: packed.sha256, sealed: sealed.sha256, again: await SunbidSeal.sha256(await zip.file())};
    }""", [FORM, [n for n, _p in listed], identity.recipient])
    sealed = download(seal_page, "p.age", tmp_path / "p.age")
    assert result["sealed"] == hashlib.sha256(sealed).hexdigest() and result["again"] == result["packed"]
    assert sealing.open_file(tmp_path / "p.age", tmp_path / "p.zip", identity.identity) == result["packed"]
    assert bidpackage.validate_package(tmp_path / "p.zip").price == Decimal("12345678.90")


# ---------------------------------------------------------------- capital numerals and prices: JS == Python

def _amounts():
    """Amounts in fen with many zeros in them (the interesting cases), from 0 to just under 10^16 yuan."""
    digit = st.sampled_from("0000123456789")
    return st.one_of(
        st.integers(0, 10**18 - 1),
        st.lists(digit, min_size=1, max_size=18).map(lambda ds: int("".join(ds))),
        st.integers(0, 10**6),
    ).map(lambda fen: Decimal(fen).scaleb(-2).quantize(Decimal("0.01")))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(amounts=st.lists(_amounts(), min_size=300, max_size=300))
def test_capital_numerals_agree_with_core_money(seal_page, amounts):
    got = seal_page.evaluate("(xs) => xs.map((x) => SunbidSeal.capitalYuan(x))", [str(a) for a in amounts])
    assert got == [capital_yuan(a) for a in amounts]


def _python_price(text: str) -> str | None:
    """The canonical price pack() writes for what was typed, or None when the platform refuses it or the page's
    stricter rule does (no thousands separators)."""
    from core.money import InvalidAmount

    if "," in __import__("unicodedata").normalize("NFKC", text):
        return None
    try:
        amount = parse_money(text, field="price")
    except InvalidAmount:
        return None
    return str(amount) if amount > 0 else None


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(texts=st.lists(st.one_of(st.text("0123456789.,-+ ¥１２３．", max_size=18),
                                st.from_regex(r"\A[+-]?[0-9]{1,15}(\.[0-9]{0,3})?\Z")), min_size=300, max_size=300))
def test_the_price_check_agrees_with_parse_money(seal_page, texts):
    got = seal_page.evaluate("(xs) => xs.map((x) => SunbidSeal.checkPrice(x))", texts)
    for text, answer in zip(texts, got, strict=True):
        assert answer.get("value") == _python_price(text), (text, answer)


@pytest.mark.parametrize("text, code", [
    ("1.234", "price_decimals"), ("0.001", "price_decimals"), ("-5", "price_negative"), ("-0.01", "price_negative"),
    ("0", "price_zero"), ("0.00", "price_zero"), ("-0", "price_zero"), ("abc", "price_not_number"),
    ("1e5", "price_not_number"), ("NaN", "price_not_number"), (".5", "price_not_number"), ("", "price_empty"),
    ("  ", "price_empty"), ("1,234.50", "price_separators"), ("1 234", "price_separators"),
    ("10000000000000.01", "price_too_large"), ("123456789012345", "price_too_large"),
])
def test_bad_prices_are_refused_with_their_code(seal_page, text, code):
    assert seal_page.evaluate("(x) => SunbidSeal.checkPrice(x)", text) == {"error": code}


def test_a_bad_price_refuses_the_package(seal_page, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"a")
    choose(seal_page, [tmp_path / "a.txt"])
    for price, code in [("1.234", "price_decimals"), ("-1", "price_negative"), ("0", "price_zero"),
                        ("12万", "price_not_number")]:
        assert seal_page.evaluate(PACK_IN_PAGE, [dict(FORM, price=price), ["a.txt"], "bad.zip"])["error"] == code


@pytest.mark.parametrize("names, code", [
    (["../a.txt"], "bad_name"), (["a//b.txt"], "bad_name"), (["/a.txt"], "bad_name"), (["bid.json"], "bad_name"),
    (["C:a.txt"], "bad_name"), (["a\\b.txt"], "bad_name"), (["a\u202eb.txt"], "bad_name"), (["a/"], "bad_name"),
    (["技术标/A.pdf", "技术标/a.pdf"], "duplicate_name"),
])
def test_bad_names_are_refused(seal_page, tmp_path, names, code):
    paths = []
    for i, _name in enumerate(names):
        (tmp_path / f"{i}.txt").write_bytes(b"x")
        paths.append(tmp_path / f"{i}.txt")
    choose(seal_page, paths)
    assert seal_page.evaluate(PACK_IN_PAGE, [FORM, names, "bad.zip"])["error"] == code


@pytest.mark.parametrize("change, value", [
    ("tender", "S"), ("lot", 0), ("duration_days", 36501), ("validity_days", "x"), ("created_at", "2026-02-30T10:00:00Z"),
])
def test_a_bad_form_is_refused_naming_its_field(seal_page, tmp_path, change, value):
    (tmp_path / "a.txt").write_bytes(b"a")
    choose(seal_page, [tmp_path / "a.txt"])
    result = seal_page.evaluate(PACK_IN_PAGE, [dict(FORM, **{change: value}), ["a.txt"], "bad.zip"])
    assert result == {"error": "bad_form", "params": {"field": change}}
    bad_code = dict(FORM, bidder={"name": "x", "credit_code": CREDIT_CODE[:-1] + ("0" if CREDIT_CODE[-1] != "0" else "1")})
    assert seal_page.evaluate(PACK_IN_PAGE, [bad_code, ["a.txt"], "bad.zip"])["params"] == {"field": "bidder.credit_code"}


def test_a_file_changed_on_disk_between_the_two_readings_is_refused(seal_page, tmp_path):
    """The real file the bidder chose changes after it was hashed: the copy is refused, as pack() refuses it."""
    (tmp_path / "a.pdf").write_bytes(os.urandom(300_000))
    (tmp_path / "b.pdf").write_bytes(os.urandom(1000))
    seal_page.expose_function("changeOnDisk", lambda: (tmp_path / "a.pdf").write_bytes(os.urandom(300_001)))
    choose(seal_page, [tmp_path / "a.pdf", tmp_path / "b.pdf"])
    result = seal_page.evaluate("""async (form) => {
        const input = document.getElementById('files');
        let reads = 0;
        const changing = {size: input.files[0].size, stream() {  // the real File, changed before its second reading
            reads += 1;
            if (reads < 2) { return input.files[0].stream(); }
            let reader;
            return new ReadableStream({
                async start() { await window.changeOnDisk(); reader = input.files[0].stream().getReader(); },
                async pull(c) { const n = await reader.read(); if (n.done) { c.close(); } else { c.enqueue(n.value); } },
            });
        }};
        const chunks = [];
        try {
            await SunbidSeal.packBid(form, [{name: 'a.pdf', file: changing}, {name: 'b.pdf', file: input.files[1]}],
                                     {write: (b) => { chunks.push(b.length); }});
            return {error: null};
        } catch (e) { return {error: e.code, params: e.params, reads}; }
    }""", FORM)
    assert result == {"error": "file_changed", "params": {"name": "a.pdf"}, "reads": 2}


def test_content_that_differs_on_the_second_reading_is_refused(seal_page):
    """Same size, other bytes (a Blob-like whose second stream differs): the second SHA-256 refuses it."""
    result = seal_page.evaluate("""async (form) => {
        let reads = 0;
        const fickle = {size: 100000, stream() {
            reads += 1;
            const bytes = new Uint8Array(100000).fill(reads === 1 ? 1 : 2);
            return new Blob([bytes]).stream();
        }};
        try {
            await SunbidSeal.packBid(form, [{name: 'x.bin', file: fickle}], {write: () => {}});
            return {error: null};
        } catch (e) { return {error: e.code, params: e.params}; }
    }""", FORM)
    assert result == {"error": "file_changed", "params": {"name": "x.bin"}}


def test_bad_recipients_are_refused(seal_page):
    for recipients in (["age1notarecipient"], [], "age1x", ["age1pq1" + "q" * 60],
                       ["age1" + "q" * 58]):  # the last has the right shape but a wrong checksum
        code = seal_page.evaluate("""async (r) => {
            try { await SunbidSeal.seal(new Blob(['x']), r, {write: () => {}}); return null; }
            catch (e) { return e.code; }
        }""", recipients)
        assert code == "invalid_recipient", recipients


def test_a_browser_without_what_is_needed_is_told(seal_page):
    assert seal_page.evaluate("() => [SunbidSeal.supported(), SunbidSeal.missingFeatures(), SunbidSeal.opfsAvailable()]") \
        == [True, [], True]
    assert seal_page.evaluate("""() => {
        delete FileSystemFileHandle.prototype.createWritable;
        window.sunbidAge = undefined;
        return [SunbidSeal.supported(), SunbidSeal.missingFeatures(), SunbidSeal.opfsAvailable()];
    }""") == [False, ["opfs", "age"], False]
