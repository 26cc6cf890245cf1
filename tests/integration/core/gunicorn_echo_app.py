"""A tiny Flask app for tests that read request bodies under a real gunicorn: ``POST /echo`` reads the body
through ``core.web.request_body`` in pieces of ``?piece=`` bytes (all of it, or the first ``?stop=`` bytes)
and answers what it saw."""
from __future__ import annotations

import hashlib

from flask import Flask, jsonify, request
from werkzeug.exceptions import ClientDisconnected

from core.bodyreader import SocketBody
from core.web import request_body

app = Flask(__name__)
SEEN: list[str] = []  # what each request ended with, for /seen


@app.post("/echo")
def echo():
    piece = int(request.args.get("piece", 1 << 20))
    stop = int(request.args.get("stop", -1))
    body = request_body()
    digest, size, largest = hashlib.sha256(), 0, 0
    try:
        while stop < 0 or size < stop:
            chunk = body.read(piece if stop < 0 else min(piece, stop - size))
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
            largest = max(largest, len(chunk))
    except ClientDisconnected:
        SEEN.append(f"disconnected after {size}")
        return jsonify(error="disconnected"), 400
    SEEN.append(f"read {size}")
    return jsonify(fast=isinstance(body, SocketBody), size=size, sha256=digest.hexdigest(), largest=largest)


@app.get("/seen")
def seen():
    return jsonify(SEEN)
