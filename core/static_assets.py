"""Subresource integrity of the platform's own static files.

A page loading a vendored library names its digest (``<script src=… integrity="sha384-…">``), so a browser
refuses a file changed on the server.  ``static_integrity("vendor/age-encryption/age.min.js")`` computes that
value from the file itself, the one place it comes from (the vendored library's README states the same value,
and a test keeps the two equal).

No Flask and no database: paths are relative to ``static/`` of the checkout.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import os
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
CHUNK = 1 << 20


def static_path(path: str) -> Path:
    """The file ``path`` (``/`` between folders) under ``static/``; ``ValueError`` for one outside it or missing."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path:
        raise ValueError(f"not a path under static/: {path!r}")
    full = (STATIC / path).resolve()
    if STATIC.resolve() not in full.parents or not full.is_file():
        raise ValueError(f"no static file {path!r}")
    return full


def static_integrity(path: str) -> str:
    """``sha384-<base64>`` of the static file ``path``, for a tag's ``integrity`` attribute.  Computed once per
    version of the file (its size and modification time), so a rebuilt file gets its new value."""
    full = static_path(path)
    st = os.stat(full)
    return _integrity(str(full), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _integrity(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha384()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return "sha384-" + base64.b64encode(digest.digest()).decode("ascii")
