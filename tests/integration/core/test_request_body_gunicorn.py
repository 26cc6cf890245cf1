"""core.web.request_body under a real gunicorn (sync and threaded workers): the body is read from the client
socket directly, byte for byte what was sent, and the connection stays in step for the next request whether
the application read the whole body, a part of it, or the client went away."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import time

import pytest

from tests.conftest import gunicorn


@pytest.fixture(params=["sync", "gthread"], scope="module")
def server(request):
    with gunicorn("tests.integration.core.gunicorn_echo_app:app", worker=request.param) as port:
        yield port


def post(conn: http.client.HTTPConnection, body: bytes, query: str = "") -> dict:
    conn.request("POST", f"/echo{query}", body=body, headers={"Content-Type": "application/octet-stream"})
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    assert resp.status == 200, answer
    return answer


@pytest.mark.parametrize("size,piece", [(0, 1 << 20), (1, 7), (5000, 1000), (3 * (1 << 20) + 17, 1 << 20),
                                        (2 * (1 << 20), 100_000)])
def test_the_body_arrives_byte_for_byte_from_the_socket(server, size, piece):
    body = os.urandom(size)
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    answer = post(conn, body, f"?piece={piece}")
    assert answer["fast"] is True
    assert answer["size"] == size and answer["sha256"] == hashlib.sha256(body).hexdigest()
    assert answer["largest"] <= piece
    # the same connection goes on with the next request
    again = post(conn, b"next")
    assert again["sha256"] == hashlib.sha256(b"next").hexdigest()
    conn.close()


def test_large_reads_are_whole_pieces(server):
    body = os.urandom(8 * (1 << 20))
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    answer = post(conn, body)
    assert answer["largest"] == 1 << 20 and answer["sha256"] == hashlib.sha256(body).hexdigest()
    conn.close()


def test_a_body_read_in_part_leaves_the_connection_in_step(server, request):
    if "sync" in request.node.callspec.id:
        pytest.skip("gunicorn's sync worker closes every connection after its response")
    # gunicorn skips up to 64 KiB left unread to keep the connection; it must skip exactly the rest of this
    # body, no more, no less, for the next request on the connection to parse
    body = os.urandom(150_000)
    with socket.create_connection(("127.0.0.1", server), timeout=30) as s:
        s.sendall(b"POST /echo?stop=100000&piece=65536 HTTP/1.1\r\nHost: x\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        reader = s.makefile("rb")
        status, answer = read_response(reader)
        assert status == 200 and answer["size"] == 100000
        assert answer["sha256"] == hashlib.sha256(body[:100000]).hexdigest()
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nafter")
        status, answer = read_response(reader)
        assert status == 200 and answer["sha256"] == hashlib.sha256(b"after").hexdigest()


def read_response(reader) -> tuple[int, dict]:
    """One HTTP/1.1 response with a Content-Length from ``reader``: (status, JSON body)."""
    status = int(reader.readline().split()[1])
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, json.loads(reader.read(length))


def test_pipelined_requests_each_get_their_own_body(server):
    first, second = os.urandom(3000), os.urandom(2 * (1 << 20))
    raw = b"".join(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        + f"Content-Length: {len(b)}\r\n\r\n".encode() + b
        for b in (first, second))
    with socket.create_connection(("127.0.0.1", server), timeout=30) as s:
        s.sendall(raw)
        reader = s.makefile("rb")
        answers = [read_response(reader), read_response(reader)]
    assert answers == [(200, {"fast": True, "size": len(b), "sha256": hashlib.sha256(b).hexdigest(),
                              "largest": min(len(b), 1 << 20)}) for b in (first, second)]


def test_a_client_that_goes_away_mid_body_is_a_disconnection_and_the_server_goes_on(server):
    with socket.create_connection(("127.0.0.1", server), timeout=30) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n" + b"x" * 1_500_000)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    conn.request("GET", "/seen")
    seen = json.loads(conn.getresponse().read())
    assert "disconnected after 1500000" in seen  # each worker process has its own list: one worker here
    assert post(conn, b"still serving")["size"] == len(b"still serving")


def test_a_client_that_resets_the_connection_mid_body_is_a_disconnection_too(server):
    import struct

    with socket.create_connection(("127.0.0.1", server), timeout=30) as s:
        s.sendall(b"POST /echo?piece=65536 HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n"
                  + b"y" * 700_000)
        time.sleep(0.3)  # the server is reading
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    deadline = time.monotonic() + 10
    while True:
        conn.request("GET", "/seen")
        seen = json.loads(conn.getresponse().read())
        if any(s.startswith("disconnected after") and s != "disconnected after 1500000" for s in seen):
            break  # Werkzeug's ClientDisconnected, as for a clean close, not a server error
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)
    assert post(conn, b"still serving")["size"] == len(b"still serving")
