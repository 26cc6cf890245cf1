"""The platform's Ed25519 signing key for checkpoints (and, later, receipts).

Kept in a file readable only by the platform's user (``SUNBID_PLATFORM_KEY_FILE``, default
``<data dir>/keys/platform.skey``), made on first use, never logged.  Its public half is the
C2SP verifier key published at ``/audit/vkey``; ``platform.pub`` files hold the same text.
"""
from __future__ import annotations

import os
from pathlib import Path

from audit import notes


def load_or_create(path: Path, name: str) -> notes.Signer:
    path = Path(path)
    if path.exists():
        signer = notes.Signer.from_skey(path.read_text().strip())
        if signer.name != name:
            raise RuntimeError(f"the key in {path} is named {signer.name!r}, but the log origin is {name!r}")
        return signer
    path.parent.mkdir(parents=True, exist_ok=True)
    skey, _vkey = notes.generate_signer(name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first
        return load_or_create(path, name)
    with os.fdopen(fd, "w") as f:
        f.write(skey + "\n")
    return notes.Signer.from_skey(skey)
