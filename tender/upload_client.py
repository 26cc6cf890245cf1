"""The client side of resumable bid uploads (tus 1.0.0, tender/uploads.py), for ``sunbid bid submit``.

Standard library only (http.client), so the command runs wherever Sunbid's CLI does.  The upload's URL is
kept in a small state file next to the bid (``bid.age.upload.json``: the server, tender, lot, size and
SHA-256 of the file, and the URL; never the token), so that running the same command again after a crash
continues the same upload instead of starting over.  Within one run, a broken connection or a server that
is briefly away is retried: wait, ask the server for its offset (HEAD), continue from there.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urljoin, urlsplit

TUS = {"Tus-Resumable": "1.0.0"}
STATE_SUFFIX = ".upload.json"
RECEIPT_SUFFIX = ".receipt.json"
NETWORK_ERRORS = (OSError, http.client.HTTPException)  # refused, reset, broken pipe, timeout, bad answer
# Refusals after which the same upload goes on (after a HEAD): another transfer still running or just
# ended, a connection that broke while the server read it, a retried request that had already finished it.
RESUME_CODES = {"upload_offset_mismatch", "upload_busy", "upload_interrupted", "upload_finished"}
# the upload is gone, not the bid: a new upload may follow
START_OVER_CODES = {"upload_closed", "upload_lost", "upload_abandoned"}
FINAL_CODES = {"deadline_passed", "upload_expired", "not_age_file"}  # this upload can never become a bid


def _transient(status: int) -> bool:
    """The server or a proxy in front of it is briefly unable to answer."""
    return status >= 500 or status == 429


class SubmitError(Exception):
    """The submission cannot go on; the message says why (the server's own words when it refused)."""


class Refused(SubmitError):
    def __init__(self, status: int, code: str | None, message: str):
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> dict:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def error(self) -> Refused:
        err = self.json().get("error") or {}
        message = err.get("message") or f"the server answered HTTP {self.status}"
        return Refused(self.status, err.get("code"), message)


@dataclass(frozen=True)
class Result:
    bid_id: str
    """The bid's public id (opaque)."""
    sha256: str
    size: int
    received_at: str
    receipt_path: Path
    resumed: bool
    """Whether this run continued an upload begun by an earlier run (from the state file)."""


class _Slice:
    """Reads ``count`` bytes of a file from where it stands, reporting each piece as it is sent."""

    def __init__(self, f: BinaryIO, count: int, sent: Callable[[int], None]):
        self.f, self.left, self.sent = f, count, sent

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.f.read(self.left if size is None or size < 0 else min(size, self.left))
        self.left -= len(data)
        if data:
            self.sent(len(data))
        return data


class Server:
    def __init__(self, base_url: str, token: str, *, timeout: float = 60.0):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SubmitError(f"the server URL must be http(s)://host[:port][/path], not {base_url!r}")
        self.base = base_url.rstrip("/") + "/"
        self.token, self.timeout = token, timeout

    def url(self, path: str) -> str:
        return urljoin(self.base, path.lstrip("/"))

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                body: object = None) -> Answer:
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=self.timeout, blocksize=64 * 1024)
        try:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            conn.request(method, target, body=body,
                         headers={"Authorization": f"Bearer {self.token}", **TUS, **(headers or {})})
            resp = conn.getresponse()
            return Answer(resp.status, resp.headers, resp.read())
        finally:
            conn.close()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def state_path(bid_file: Path) -> Path:
    return bid_file.with_name(bid_file.name + STATE_SUFFIX)


def receipt_path(bid_file: Path) -> Path:
    return bid_file.with_name(bid_file.name + RECEIPT_SUFFIX)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _load_state(path: Path, expected: dict) -> str | None:
    """The upload URL of an earlier run for this very file, server, tender and lot, else None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or any(data.get(k) != v for k, v in expected.items()):
        return None
    url = data.get("url")
    return url if isinstance(url, str) and url else None


def submit(bid_file: Path, *, server: Server, tender_id: int, lot: int = 1, chunk_size: int = 8 * 1024 * 1024,
           retries: int = 10, retry_wait: float = 2.0, progress: Callable[[int], None] = lambda offset: None,
           notice: Callable[[str], None] = lambda text: None, sleep: Callable[[float], None] = time.sleep) -> Result:
    """Upload ``bid_file`` as a sealed bid and return the bid with its receipt written next to the file.

    ``progress(offset)`` is told how far the upload stands (it may go back after a resume); ``notice`` gets
    one line about each retry.  ``retries`` failed attempts in a row (no byte confirmed in between) give up,
    waiting ``retry_wait`` seconds, doubling up to a minute, between attempts."""
    from tender import sealing

    bid_file = Path(bid_file)
    size = bid_file.stat().st_size
    if size == 0:
        raise SubmitError(f"{bid_file} is empty")
    with open(bid_file, "rb") as f:
        try:
            sealing.check_age_header(f.read(64 * 1024), size=size)
        except sealing.NotAgeFile as exc:  # refused here rather than after uploading every byte
            raise SubmitError(f"{bid_file}: {exc}") from None
    sha = sha256_of(bid_file)
    state_file = state_path(bid_file)
    identity = {"server": server.base, "tender": tender_id, "lot": lot, "size": size, "sha256": sha}

    url = _load_state(state_file, identity)
    resumed = url is not None
    failures = 0

    def failed(reason: str) -> None:
        nonlocal failures
        failures += 1
        if failures > retries:
            raise SubmitError(f"giving up after {retries} retries: {reason}; run the same command again later "
                              f"to continue from where the server stands")
        wait = min(retry_wait * 2 ** (failures - 1), 60.0)
        notice(f"{reason}; retrying in {wait:g} s")
        sleep(wait)

    offset: int | None = None
    while True:
        try:
            if url is None:
                answer = server.request("POST", server.url(f"api/v1/tenders/{tender_id}/uploads?lot={lot}"),
                                        {"Upload-Length": str(size), "Content-Length": "0"})
                if answer.status != 201:
                    if _transient(answer.status):
                        failed(f"the server answered HTTP {answer.status}")
                        continue
                    raise answer.error()
                url = urljoin(server.base, answer.headers.get("Location", ""))
                _write_json(state_file, {**identity, "url": url})
                offset = 0
            if offset is None:
                answer = server.request("HEAD", url)
                if answer.status in (404, 410):  # ended (terminated, replaced, abandoned, refused, expired)
                    info = server.request("GET", url).json()
                    if info.get("status") in ("expired", "refused"):
                        state_file.unlink(missing_ok=True)
                        raise SubmitError(f"the upload was {info['status']} ({info.get('refusal') or 'no reason'})"
                                          f"; it can no longer become a bid")
                    notice("the earlier upload is no longer open; starting a new one")
                    url, resumed = None, False
                    continue
                if answer.status != 200:
                    if _transient(answer.status):
                        failed(f"the server answered HTTP {answer.status}")
                        continue
                    raise answer.error()
                offset = int(answer.headers.get("Upload-Offset", "0"))
                if int(answer.headers.get("Upload-Length", str(size))) != size:
                    raise SubmitError("the server's upload has another length than the file; delete "
                                      f"{state_file} and run the command again")
            progress(offset)
            if offset == size:
                info = server.request("GET", url).json()
                if info.get("bid"):
                    return _done(bid_file, server, info["bid"], sha, size, state_file, resumed)
            count = min(chunk_size, size - offset)
            start = offset

            def sent(n: int) -> None:
                nonlocal start
                start += n
                progress(start)

            with open(bid_file, "rb") as f:
                f.seek(offset)
                answer = server.request("PATCH", url, {"Content-Type": "application/offset+octet-stream",
                                                       "Upload-Offset": str(offset),
                                                       "Content-Length": str(count)},
                                        body=_Slice(f, count, sent))
            if answer.status == 204:
                new = int(answer.headers.get("Upload-Offset", str(offset)))
                if new > offset:
                    failures = 0
                offset = new
                if answer.headers.get("Sunbid-Bid-Id"):
                    progress(offset)
                    info = server.request("GET", url).json()
                    return _done(bid_file, server, info["bid"], sha, size, state_file, resumed)
                continue
            refusal = answer.error()
            if refusal.code in RESUME_CODES or _transient(answer.status):
                offset = None
                failed(str(refusal))
                continue
            if refusal.code in START_OVER_CODES:
                notice(f"{refusal}; starting a new upload")
                url, offset, resumed = None, None, False
                continue
            if refusal.code in FINAL_CODES:
                state_file.unlink(missing_ok=True)
            raise refusal
        except NETWORK_ERRORS as exc:
            offset = None
            failed(f"connection problem ({_describe(exc)})")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    return str(exc) or type(exc).__name__


def _done(bid_file: Path, server: Server, bid: dict, sha: str, size: int, state_file: Path,
          resumed: bool) -> Result:
    if bid.get("sha256") != sha or bid.get("size") != size:
        raise SubmitError(f"the server recorded bid {bid.get('id')} with SHA-256 {bid.get('sha256')}, which is not "
                          f"the file's ({sha}); check your bids on the tender page")
    answer = server.request("GET", server.url(f"api/v1/bids/{quote(str(bid['id']), safe='')}/receipt"))
    if answer.status != 200:
        raise answer.error()
    out = receipt_path(bid_file)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(answer.body)
    os.replace(tmp, out)
    state_file.unlink(missing_ok=True)
    return Result(bid_id=str(bid["id"]), sha256=sha, size=size, received_at=str(bid.get("received_at")),
                  receipt_path=out, resumed=resumed)
