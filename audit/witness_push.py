"""The log's side of c2sp.org/tlog-witness: push each new checkpoint to the configured witnesses.

``SUNBID_WITNESSES`` names them: ``URL VKEY`` per witness (separated by ``;`` or newlines), ``URL`` the
witness's submission prefix (``<URL>/add-checkpoint`` is posted to) and ``VKEY`` its cosignature key
(``name+id+base64``, type 0x04).  After a transaction that issued a checkpoint commits, the latest
checkpoint is pushed to every witness that has not cosigned it, with a consistency proof from the size
it last cosigned (a 409 names the size the witness holds, and the push is made again from it, once); a
returned cosignature is verified against the witness's key before it is kept (one transaction per
cosignature, with its ``checkpoint.cosigned`` audit entry).  Nothing is sent inside a request's
transaction.  ``sunbid audit push-witnesses`` pushes again (after a witness was unreachable).
"""
from __future__ import annotations

import logging
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from audit import notes
from audit.models import AuditCheckpoint
from audit.witness import SIZE_CONTENT_TYPE, AddCheckpoint
from core.config import ConfigError
from core.db import unit_of_work
from core.errors import DomainError

log = logging.getLogger(__name__)
TIMEOUT = 15


@dataclass(frozen=True)
class ConfiguredWitness:
    url: str
    verifier: notes.WitnessVerifier

    @property
    def name(self) -> str:
        return self.verifier.name

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/add-checkpoint"


def parse_witnesses(text: str) -> list[ConfiguredWitness]:
    """``SUNBID_WITNESSES``; ``ConfigError`` for a bad URL or key, or two keys of one name and ID."""
    out = []
    for item in filter(None, (part.strip() for part in re.split(r"[;\n]", text or ""))):
        url, _, vkey = item.partition(" ")
        if not re.fullmatch(r"https?://[^\s]+", url) or not vkey.strip():
            raise ConfigError(f"SUNBID_WITNESSES: '{item}' is not 'URL VKEY'.")
        try:
            verifier = notes.WitnessVerifier.from_vkey(vkey.strip())
        except notes.NoteError as exc:
            raise ConfigError(f"SUNBID_WITNESSES: the key of {url} is not a witness key ({exc}).") from None
        out.append(ConfiguredWitness(url, verifier))
    try:
        notes._verifier_map(w.verifier for w in out)
    except notes.AmbiguousKeys as exc:
        raise ConfigError(f"SUNBID_WITNESSES: {exc}") from None
    return out


@dataclass(frozen=True)
class PushResult:
    witness: str
    outcome: str  # cosigned, up_to_date, refused, unreachable
    size: int | None = None
    detail: str = ""


Post = Callable[[str, bytes], tuple[int, str, bytes]]


def http_post(url: str, body: bytes) -> tuple[int, str, bytes]:
    """POST ``body``; (status, content type, response body).  ``OSError`` when the witness is unreachable."""
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "text/plain; charset=utf-8", "User-Agent": "sunbid"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read(64 * 1024)


def push_one(platform, witness: ConfiguredWitness, *, post: Post = http_post) -> PushResult:
    from audit import service

    old: int | None = None
    for _attempt in range(2):
        with platform.sessions() as s:
            plan = service.witness_push(s, witness=witness.name, old=old)
            s.rollback()
        if plan is None:
            return PushResult(witness.name, "up_to_date")
        body = AddCheckpoint(plan.old, plan.proof, plan.note).body()
        try:
            status, ctype, answer = post(witness.endpoint, body)
        except OSError as exc:
            return PushResult(witness.name, "unreachable", plan.size, str(exc))
        if status == 409 and ctype.split(";")[0].strip() == SIZE_CONTENT_TYPE and old is None:
            text = answer.decode("ascii", "replace")
            if re.fullmatch(r"(0|[1-9][0-9]*)\n", text) and int(text) != plan.old and int(text) <= plan.size:
                old = int(text)  # the witness holds another size: prove consistency from that one
                continue
        if status != 200:
            return PushResult(witness.name, "refused", plan.size,
                              f"HTTP {status}: {answer.decode('utf-8', 'replace').strip()[:200]}")
        try:
            with platform.sessions() as s, unit_of_work(s):
                s.info[_PUSHING] = True  # a checkpoint this transaction may issue waits for the next push
                service.store_pushed_cosignature(s, witness_vkey=witness.verifier.vkey(),
                                                 checkpoint_id=plan.checkpoint_id,
                                                 response=answer.decode("utf-8", "replace"), now=platform.clock.now())
        except IntegrityError:  # stored meanwhile by a concurrent push
            return PushResult(witness.name, "up_to_date", plan.size)
        except DomainError as exc:
            return PushResult(witness.name, "refused", plan.size, str(exc))
        return PushResult(witness.name, "cosigned", plan.size)
    return PushResult(witness.name, "refused", None, "the witness's size changed again")


def push_witnesses(platform, *, post: Post = http_post) -> list[PushResult]:
    """Push the latest checkpoint to every configured witness that has not cosigned it."""
    results = []
    with platform.witness_push_lock:
        for witness in parse_witnesses(platform.settings.witnesses):
            result = push_one(platform, witness, post=post)
            if result.outcome in ("refused", "unreachable"):
                log.warning("witness %s: %s %s", result.witness, result.outcome, result.detail)
            results.append(result)
    return results


_NEW_CHECKPOINT = "sunbid.new_checkpoint"
_PUSHING = "sunbid.witness_push"


def install(platform) -> None:
    """Push after every commit that issued a checkpoint: in a thread of its own (inline when testing, so
    a test sees the outcome), never inside the committing transaction."""
    witnesses = parse_witnesses(platform.settings.witnesses)  # ConfigError at start-up, not at the first push
    platform.witness_push_lock = threading.Lock()
    if not witnesses:
        return

    @event.listens_for(platform.sessions, "after_flush")
    def _seen(session, _flush_context):
        if any(isinstance(obj, AuditCheckpoint) and obj.listed for obj in session.new):
            session.info[_NEW_CHECKPOINT] = True

    @event.listens_for(platform.sessions, "after_soft_rollback")
    def _forget(session, _previous):
        session.info.pop(_NEW_CHECKPOINT, None)

    @event.listens_for(platform.sessions, "after_commit")
    def _push(session):
        if not session.info.pop(_NEW_CHECKPOINT, False) or session.info.get(_PUSHING):
            return  # (a push's own transaction never starts another push: no cosign-checkpoint-push loop)
        if platform.settings.testing:
            push_witnesses(platform)
        else:
            threading.Thread(target=push_witnesses, args=(platform,), name="witness-push", daemon=True).start()
