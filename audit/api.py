"""The audit log's public interface: verifier key, checkpoints, proofs, entries.

Everything here is readable without login so that outsiders can build their own verifiers.
An entry is shown in full to supervisors, and to everyone else once its action's disclosure rule allows
(audit.disclosure); until then only its index and leaf hash.  Checkpoints say nothing of why they were made.
"""
from __future__ import annotations


from flask import Blueprint, Response, jsonify, request
from sqlalchemy import func, select

from audit import service
from audit.models import AuditCheckpoint, AuditCosignature, AuditEntry
from audit.rules import withheld
from core.errors import N_, InvalidInput
from core.inputs import check_text, int_arg, page_arg
from core.roles import SUPERVISING
from core.web import acting_user, db, now, platform, public, transaction

bp = Blueprint("audit_api", __name__, url_prefix="/api/v1/audit")
text_bp = Blueprint("audit_text", __name__, url_prefix="/audit")
MAX_ENTRIES = 1000


def _int(name: str, *, minimum: int = 0, default: int | None = None) -> int:
    return int_arg(name, default, minimum=minimum, maximum=10**18)


def _size_within_log(size: int, field: str) -> None:
    current = service.tree_size(db())
    if size > current:
        raise InvalidInput(N_("The log has only %(size)s entries."), field=field, size=current)


@text_bp.get("/vkey")
@public
def vkey():
    return Response(platform().signer.vkey() + "\n", mimetype="text/plain")


@text_bp.get("/certificate")
@public
def certificate():
    """The certificate of the key that signs the PDFs the platform issues (PEM; audit.signing)."""
    from audit import signing

    return Response(signing.identity(platform().settings).certificate_pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": "inline; filename=sunbid-documents.pem"})


def _keep_schedule(s) -> None:
    """Sign the checkpoint the schedule calls for, if any, before showing the checkpoints: the schedule is
    kept by whoever reads them, never by a write, so a checkpoint's time is not the time of an act."""
    settings = platform().settings
    service.checkpoint_if_due(s, signer=platform().signer, origin=settings.log_origin, now=now(),
                              every_entries=settings.checkpoint_every, every_seconds=settings.checkpoint_seconds,
                              key_actions=platform().audit_actions.key_actions)


@text_bp.get("/checkpoint")
@public
def checkpoint():
    settings = platform().settings
    with transaction() as s:
        _keep_schedule(s)
        latest = service.latest_checkpoint(s)
        if latest is None:  # an empty log still has a signed checkpoint
            latest = service.issue_checkpoint(s, signer=platform().signer, origin=settings.log_origin, now=now(),
                                              reason="empty")
        body = latest.note
    return Response(body, mimetype="text/plain")


@bp.get("/checkpoints")
@public
def checkpoints():
    page = page_arg()  # bounded (PAGE_MAX): a huge page overflowed the OFFSET (5xx)
    per_page = min(_int("per_page", minimum=1, default=50), 200)
    with transaction() as s:
        _keep_schedule(s)
    s = db()
    listed = AuditCheckpoint.listed.is_(True)
    total = s.scalar(select(func.count()).select_from(AuditCheckpoint).where(listed)) or 0
    rows = s.scalars(select(AuditCheckpoint).where(listed).order_by(AuditCheckpoint.id.desc())
                     .limit(per_page).offset((page - 1) * per_page)).all()
    cosigs: dict[int, list[AuditCosignature]] = {}
    if rows:
        for c in s.scalars(select(AuditCosignature).where(AuditCosignature.checkpoint_id.in_([r.id for r in rows]))):
            cosigs.setdefault(c.checkpoint_id, []).append(c)
    return jsonify(
        items=[{"id": r.id, "tree_size": r.size, "root": r.root, "created_at": r.created_at.isoformat(), "note": r.note,
                "cosignatures": [{"witness": c.witness, "timestamp": c.timestamp, "line": c.line}
                                 for c in cosigs.get(r.id, [])]} for r in rows],
        page=page, per_page=per_page, total=total, pages=max((total + per_page - 1) // per_page, 1))


@bp.get("/proof/inclusion")
@public
def inclusion():
    index, size = _int("index"), _int("size", minimum=1)
    if index >= size:
        raise InvalidInput(N_("The index must be smaller than the tree size."), field="index")
    _size_within_log(size, "size")
    leaf, path, root = service.inclusion(db(), index, size)
    return jsonify(index=index, tree_size=size, leaf_hash=leaf.hex(), proof=[h.hex() for h in path], root=root.hex())


@bp.get("/proof/consistency")
@public
def consistency():
    old, new = _int("from", minimum=1), _int("to", minimum=1)
    if old > new:
        raise InvalidInput(N_("'from' must not be larger than 'to'."), field="from")
    _size_within_log(new, "to")
    path, old_root, new_root = service.consistency(db(), old, new)
    return jsonify(**{"from": old, "to": new}, proof=[h.hex() for h in path], old_root=old_root.hex(),
                   new_root=new_root.hex())


@bp.get("/entries")
@public
def entries():
    start = _int("start", default=0)
    end = _int("end", minimum=1, default=start + 100)
    if end <= start:
        raise InvalidInput(N_("'end' must be larger than 'start'."), field="end")
    end = min(end, start + MAX_ENTRIES)
    user = acting_user()
    role = user.role if user is not None else None
    detailed = role in SUPERVISING
    rows = db().scalars(select(AuditEntry).where(AuditEntry.seq > start, AuditEntry.seq <= end)
                        .order_by(AuditEntry.seq)).all()
    readable = platform().audit_actions.readable(db(), rows, role=role, now=now())
    out = []
    for r, ok in zip(rows, readable, strict=True):
        if not ok:  # not yet disclosed: its index and leaf hash, nothing that could be matched or counted
            out.append(withheld(r.seq - 1, r.leaf_hash))
            continue
        item = {"index": r.seq - 1, "leaf_hash": r.leaf_hash, "hash": r.hash,
                "entry": service.to_entry(r).document()}
        if detailed:
            item["prev_hash"] = r.prev_hash
            item["tender_id"] = r.tender_id
        out.append(item)
    return jsonify(entries=out, start=start, end=end, detailed=detailed,
                   tree_size=service.tree_size(db()))


@bp.post("/cosignatures")
@public
def cosignature():
    """A witness delivers its cosignature: body = the checkpoint's signed note with the cosignature line
    appended (text/plain).  Only a registered witness's valid signature is accepted."""
    body = request.get_data(as_text=True, cache=False)
    if not body or len(body) > 64 * 1024:
        raise InvalidInput(N_("Send the cosigned checkpoint note as the request body."))
    check_text([("body", body)])  # a text body: no NUL (PostgreSQL cannot compare it, no note holds one)
    with transaction() as s:
        cosig = service.add_cosignature(s, cosigned_note=body, now=now())
        result = {"checkpoint_id": cosig.checkpoint_id, "witness": cosig.witness, "timestamp": cosig.timestamp}
    return jsonify(result), 201
