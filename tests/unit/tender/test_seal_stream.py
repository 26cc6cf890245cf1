"""sealing.seal_stream: reader → age → writer, in pieces, opened by the real age tool."""
from __future__ import annotations

import io
import os
import shutil
import subprocess

import pyrage
import pytest

from tender import sealing


class Pieces:
    """A reader giving at most ``most`` bytes per call, counting the calls."""

    def __init__(self, data: bytes, most: int):
        self._data, self._most, self.calls = io.BytesIO(data), most, 0

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        return self._data.read(min(size, self._most) if size >= 0 else self._most)


class Writes:
    """A writer that keeps the largest piece it was given and returns nothing, like many file-likes."""

    def __init__(self):
        self.out, self.largest = bytearray(), 0

    def write(self, data: bytes) -> None:
        self.out += data
        self.largest = max(self.largest, len(data))


def test_round_trip_in_small_pieces_to_two_recipients():
    first, second = pyrage.x25519.Identity.generate(), pyrage.x25519.Identity.generate()
    data = os.urandom(300_000)
    reader, writer = Pieces(data, 1000), Writes()
    sealing.seal_stream(reader, writer, [str(first.to_public()), str(second.to_public()).upper()])
    assert reader.calls > 300 and writer.largest <= 64 * 1024 + 16  # age's 64 KiB chunks plus their tag
    assert sealing.age_recipients_stanza_count(bytes(writer.out[:65536])) == 2
    assert pyrage.decrypt(bytes(writer.out), [first]) == data == pyrage.decrypt(bytes(writer.out), [second])


@pytest.mark.skipif(shutil.which("age") is None, reason="the age tool is not installed")
def test_the_real_age_opens_it(tmp_path):
    identity = pyrage.x25519.Identity.generate()
    (tmp_path / "key.txt").write_text(f"{identity}\n")
    data = b"PK\x03\x04" + os.urandom(200_000)
    out = io.BytesIO()
    sealing.seal_stream(io.BytesIO(data), out, [str(identity.to_public())])
    (tmp_path / "bid.age").write_bytes(out.getvalue())
    opened = subprocess.run(["age", "-d", "-i", str(tmp_path / "key.txt"), str(tmp_path / "bid.age")],
                            check=True, capture_output=True).stdout
    assert opened == data


def test_empty_input_is_a_valid_age_file():
    identity = pyrage.x25519.Identity.generate()
    out = io.BytesIO()
    sealing.seal_stream(io.BytesIO(b""), out, [str(identity.to_public())])
    assert pyrage.decrypt(out.getvalue(), [identity]) == b""


class Refused(Exception):
    pass


def test_errors_of_the_reader_and_the_writer_come_out_unchanged():
    recipient = str(pyrage.x25519.Identity.generate().to_public())

    class Reader:
        def __init__(self):
            self.n = 0

        def read(self, size: int = -1) -> bytes:
            self.n += 1
            if self.n == 3:
                raise Refused("not a bid package")
            return b"x" * size

    with pytest.raises(Refused, match="not a bid package"):
        sealing.seal_stream(Reader(), io.BytesIO(), [recipient])

    class Full:
        def write(self, data: bytes) -> int:
            raise Refused("disk full")

    with pytest.raises(Refused, match="disk full"):  # a small file is one write, whose error pyrage loses
        sealing.seal_stream(io.BytesIO(b"data"), Full(), [recipient])
    with pytest.raises(Refused, match="disk full"):
        sealing.seal_stream(io.BytesIO(b"x" * 200_000), Full(), [recipient])


def test_short_writes_are_completed_and_a_writer_taking_nothing_fails():
    identity = pyrage.x25519.Identity.generate()

    class Trickle:
        def __init__(self):
            self.out = bytearray()

        def write(self, data: bytes) -> int:
            self.out += data[:1000]
            return min(len(data), 1000)

    writer = Trickle()
    sealing.seal_stream(io.BytesIO(b"y" * 150_000), writer, [str(identity.to_public())])
    assert pyrage.decrypt(bytes(writer.out), [identity]) == b"y" * 150_000

    class Stuck:
        def write(self, data: bytes) -> int:
            return 0

    with pytest.raises(OSError, match="accepted no bytes"):
        sealing.seal_stream(io.BytesIO(b"z"), Stuck(), [str(identity.to_public())])


def test_recipients_are_checked():
    with pytest.raises(sealing.InvalidRecipient):
        sealing.seal_stream(io.BytesIO(b"x"), io.BytesIO(), [])
    with pytest.raises(sealing.InvalidRecipient):
        sealing.seal_stream(io.BytesIO(b"x"), io.BytesIO(), ["age1notarecipient"])
    with pytest.raises(TypeError):
        sealing.seal_stream(io.BytesIO(b"x"), io.BytesIO(), str(pyrage.x25519.Identity.generate().to_public()))
