"""What a bid package is for (tender, lot, bidder): the pure rules, and bid.json found in a ZIP as it streams."""
from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import DomainError
from core.rules import make_credit_code
from tender import bidpackage, rules
from tender.formupload import _BidJsonFinder

CODE = make_credit_code("91350200000000001")
OTHER = make_credit_code("91350200000000002")
BINDING = rules.PackageBinding(tender="SB-2026-00026", lot=2, credit_code=CODE)


@given(tender=st.sampled_from(["SB-2026-00026", "SB-2026-00022", "sb-2026-00026"]), lot=st.integers(1, 3),
       code=st.sampled_from([CODE, OTHER]))
def test_a_package_is_refused_exactly_when_a_field_differs(tender, lot, code):
    declared = rules.PackageBinding(tender=tender, lot=lot, credit_code=code)
    differs = rules.binding_mismatch(declared, BINDING)
    assert differs == tuple(name for name, same in (("tender", tender == BINDING.tender), ("lot", lot == 2),
                                                    ("bidder", code == CODE)) if not same)
    if differs:
        with pytest.raises(rules.PackageForAnotherBid) as exc:
            rules.check_package_binding(declared, BINDING)
        assert exc.value.code == "package_mismatch" and exc.value.params["tender"] == tender
    else:
        rules.check_package_binding(declared, BINDING)


@pytest.mark.parametrize("tender,lot,ok", [("SB-2026-00026", "2", True), (" SB-2026-00026 ", " 2 ", True),
                                           ("SB-2026-00026", "1", False), ("SB-2026-00022", "2", False),
                                           ("sb-2026-00026", "2", False), ("", "2", False), (None, None, False),
                                           ("SB-2026-00026", "２", False), ("SB-2026-00026", "²", False),
                                           ("SB-2026-00026", "02", True)])
def test_the_sealed_file_confirmation(tender, lot, ok):
    if ok:
        rules.check_sealed_confirmation("SB-2026-00026", 2, confirm_tender=tender, confirm_lot=lot)
    else:
        with pytest.raises(rules.ConfirmationMismatch):
            rules.check_sealed_confirmation("SB-2026-00026", 2, confirm_tender=tender, confirm_lot=lot)


def test_a_wrong_package_at_the_opening_is_the_bidders_failure():
    assert rules.decryption_failure_kind("wrong_package") == "withdrawal_after_deadline"


def _package(tmp_path_factory, name: str, method: int, *, streamed: bool, form_last: bool) -> bytes:
    folder = tmp_path_factory.mktemp(name)
    (folder / "a.pdf").write_bytes(b"%PDF-1.4 " + bytes(range(256)) * 300)
    (folder / "b" / "c.txt").parent.mkdir()
    (folder / "b" / "c.txt").write_bytes(b"PK\x03\x04bid.json inside a document" * 50)
    made = folder.parent / f"{name}.zip"
    bidpackage.pack(folder, tender="SB-2026-00026", lot=2, bidder_name="某公司", credit_code=CODE,
                    price="1.00", duration_days=1, validity_days=1, output=made)
    with zipfile.ZipFile(made) as zf:
        members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    if form_last:
        members = members[1:] + members[:1]
    out = io.BytesIO()

    class Unseekable(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            return out.write(b)

    with zipfile.ZipFile(Unseekable() if streamed else out, "w", method) as zf:
        for n, data in members:
            zf.writestr(n, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    return [_package(tmp_path_factory, f"p{i}", method, streamed=streamed, form_last=last)
            for i, (method, streamed, last) in enumerate([
                (zipfile.ZIP_STORED, False, False), (zipfile.ZIP_DEFLATED, False, True),
                (zipfile.ZIP_DEFLATED, True, True), (zipfile.ZIP_BZIP2, False, True),
                (zipfile.ZIP_LZMA, False, False), (zipfile.ZIP_STORED, True, False)])]


@settings(max_examples=60, deadline=None)
@given(which=st.integers(0, 5), cuts=st.lists(st.integers(1, 5000), max_size=30))
def test_bid_json_is_found_whatever_the_pieces(packages, which, cuts):
    data = packages[which]
    expected = bidpackage.validate_stream(io.BytesIO(data))
    finder, at = _BidJsonFinder(), 0
    for cut in cuts:
        finder.feed(data[at:at + cut])
        at += cut
    finder.feed(data[at:])
    assert finder.form() == expected


def test_what_cannot_be_walked_is_refused_with_its_reason(tmp_path_factory):
    unwalkable = _package(tmp_path_factory, "bz", zipfile.ZIP_BZIP2, streamed=True, form_last=True)
    finder = _BidJsonFinder()
    finder.feed(unwalkable)
    with pytest.raises(bidpackage.NotAZip) as exc:
        finder.form()
    assert "cannot find bid.json" in exc.value.message
    finder = _BidJsonFinder()
    finder.feed(b"PK\x03\x04" + b"\x00" * 26)  # an entry with nothing after it, then the file ends
    with pytest.raises(DomainError):
        finder.form()
    finder = _BidJsonFinder()
    finder.feed(b"%PDF" + b"\x00" * 40)
    with pytest.raises(bidpackage.NotAZip):
        finder.form()


def test_a_zip_bomb_before_bid_json_is_not_inflated_to_the_end():
    out = io.BytesIO()

    class Unseekable(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            return out.write(b)

    with zipfile.ZipFile(Unseekable(), "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("zeros.bin", "w") as f:  # 1 GiB of zeros, about a megabyte compressed
            block = bytes(1 << 20)
            for _ in range(1024):
                f.write(block)
        zf.writestr("bid.json", b"{}")
    data = out.getvalue()
    assert len(data) < 2 << 20
    finder = _BidJsonFinder()
    for i in range(0, len(data), 65536):
        finder.feed(data[i:i + 65536])
    with pytest.raises(bidpackage.NotAZip) as exc:
        finder.form()
    assert "cannot find bid.json" in exc.value.message
